#!/usr/bin/env bash
# Integration test: podlane-cni under a real container runtime. Debian's
# podman 4.3 with its CNI network backend and runc runs containers on a
# podlane network, configured entirely in a private directory
# (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF;
# storage, runroot, tmp dir, events and CNI config under $PL_TMP, removed on
# exit; nothing written to /etc or /var/lib/containers):
#   * a busybox image built here from Debian's busybox-static (podman import);
#   * two containers get PodCIDR addresses; endpoint ids are the container
#     names (podman sends K8S_POD_NAME only);
#   * ping and HTTP (busybox httpd and wget) between them;
#   * a `-p` port mapping reached from outside through the node IP (uplink);
#   * stop / rm release the addresses; a re-run with a static --ip and
#     --mac-address gets them;
#   * DEL while podlaned is down: podman stop succeeds, podlaned releases
#     the address when it is back and re-attaches the running container.
# Without podman, runc or busybox-static the test fails (scripts/install-deps.sh
# installs them); it never skips.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
CNI_PLUGIN=$(realpath "$3")
source "$(dirname "$0")/lib.sh"

for tool in podman runc busybox; do
  command -v "$tool" >/dev/null || pl_fail "$tool is not installed: run scripts/install-deps.sh (podman runc busybox-static)"
done
[ -x /usr/lib/cni/loopback ] || pl_fail "/usr/lib/cni/loopback missing: install containernetworking-plugins"

id=$$
NODE=plpm-node-$id
EXT=plpm-ext-$id
NODE_IP=192.168.63.2
EXT_IP=192.168.63.1
GW=10.204.0.1
NET=podlane-$id
HOST_PORT=$((18000 + id % 1000))
SOCK=$PL_TMP/api.sock
export PODLANE_SOCKET=$SOCK

pl_log "node $NODE with an uplink to $EXT"
pl_netns "$NODE"
pl_netns "$EXT"
ip link add up0 netns "$NODE" type veth peer name ext0 netns "$EXT"
ip -n "$NODE" link set up0 up
ip -n "$EXT" addr add "$EXT_IP/24" dev ext0
ip -n "$EXT" link set ext0 up
ip netns exec "$EXT" ethtool -K ext0 tx off >/dev/null # no partial checksums towards an af_packet peer

cat > "$PL_TMP/node.yaml" <<YAML
node: {name: podman-node, ip: $NODE_IP}
dataplane: {main_lcore: 0, worker_lcores: [1], file_prefix: podlane-pm-$id, mbufs: 8191,
            rx_ring_size: 256, tx_ring_size: 256, idle_sleep_us: 100}
network: {pod_cidr: 10.204.0.0/24, gateway_ip: $GW}
uplinks:
  - {name: eth0, devargs: "net_af_packet0,iface=up0", subnet: 192.168.63.0/24}
host: {enabled: false}
ipam: {state_dir: $PL_TMP/ipam}
api: {socket: $SOCK}
YAML
start_podlaned() { pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"; }
allocated() { "$PODLANE" cni status -o json | jq -r .allocated; }

# ---- podman, configured in $PL_TMP only ----
PM=$PL_TMP/podman
mkdir -p "$PM/cni" "$PM/tmp"
cat > "$PM/containers.conf" <<TOML
[containers]
# podman's default rlimits for root (nproc 4194304...) are more than runc
# may set on this kind of machine (EPERM, "error setting rlimit type 6");
# modest ones are always allowed
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PM/events.log"
tmp_dir = "$PM/tmp"
[network]
network_backend = "cni"
cni_plugin_dirs = ["$(dirname "$CNI_PLUGIN")", "/usr/lib/cni"]
network_config_dir = "$PM/cni"
TOML
cat > "$PM/storage.conf" <<TOML
[storage]
driver = "vfs"
graphroot = "$PM/root"
runroot = "$PM/runroot"
TOML
echo 'unqualified-search-registries = []' > "$PM/registries.conf"
export CONTAINERS_CONF=$PM/containers.conf CONTAINERS_STORAGE_CONF=$PM/storage.conf \
  CONTAINERS_REGISTRIES_CONF=$PM/registries.conf
# What podman 4.3 writes outside its configured directories, whatever the
# config says: its shared-memory lock segment, libcni's result cache
# (/var/lib/cni) and containers/image's blob-info cache
# (/var/lib/containers/cache). Removed on exit when this test made them;
# otherwise only this network's cache entries are.
MACHINE_PATHS=(/dev/shm/libpod_lock /var/lib/cni /var/lib/containers)
MADE_PATHS=()
for p in "${MACHINE_PATHS[@]}"; do [ -e "$p" ] || MADE_PATHS+=("$p"); done
cat > "$PM/cni/$NET.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$NET",
  "plugins": [
    {"type": "podlane-cni", "socket": "$SOCK",
     "capabilities": {"portMappings": true, "ips": true, "mac": true},
     "args": {"cni": {"labels": [{"key": "app", "value": "podman-test"}]}}}
  ]
}
JSON
pm() { podman "$@"; }
pm_cleanup() {
  podman rm -af -t 0 >/dev/null 2>&1 || true
  podman rmi -af >/dev/null 2>&1 || true
  # anything podman left mounted under its private dirs
  grep -o " $PM[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  # conmon runs `podman container cleanup` after a container exits: wait for
  # every process of this podman (its paths are on their command lines)
  for _ in $(seq 100); do
    grep -qs -- "$PM" /proc/[0-9]*/cmdline || break
    sleep 0.1
  done
  rm -f /var/lib/cni/results/"$NET"-* 2>/dev/null || true
  local p
  for p in "${MADE_PATHS[@]}"; do rm -rf "$p"; done
}
pl_on_exit pm_cleanup

pl_log "podman $(podman version --format '{{.Client.Version}}'), runc $(runc --version | head -1 | awk '{print $3}'), CNI backend"
pm info --format '{{.Host.NetworkBackend}} {{.Host.OCIRuntime.Name}} {{.Store.GraphRoot}}' | tee "$PL_TMP/info"
read -r backend runtime root < "$PL_TMP/info"
[ "$backend" = cni ] && [ "$runtime" = runc ] && [ "$root" = "$PM/root" ] || pl_fail "podman is not configured as asked: $(cat "$PL_TMP/info")"
nets=$(pm network ls --format '{{.Name}}')
grep -qx "$NET" <<<"$nets" || pl_fail "podman does not see network $NET: $nets"

pl_log "busybox image from Debian's busybox-static"
ROOTFS=$PL_TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/www" "$ROOTFS/tmp" "$ROOTFS/etc"
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
for applet in sh ping wget httpd sleep cat ip hostname ls echo; do ln -s busybox "$ROOTFS/bin/$applet"; done
echo "root:x:0:0:root:/:/bin/sh" > "$ROOTFS/etc/passwd"
echo "hello from podman on podlane" > "$ROOTFS/www/index.html"
IMAGE=localhost/pl-busybox:$id
tar -C "$ROOTFS" -c . | pm import --change 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
pm image exists "$IMAGE" || pl_fail "podman import did not create $IMAGE"

pl_log "starting podlaned in $NODE"
start_podlaned

run_web() { # NAME [PODMAN RUN OPTIONS]: busybox httpd on :80, its port mapped to HOST_PORT on the node IP
  local name=$1; shift
  pm run -d --name "$name" --network "$NET" -p "$HOST_PORT:80/tcp" "$@" "$IMAGE" httpd -f -p 80 -h /www >/dev/null
}
run_client() {
  local name=$1; shift
  pm run -d --name "$name" --network "$NET" --cap-add NET_RAW "$@" "$IMAGE" sleep 600 >/dev/null
}
# http_get CONTAINER URL: the body, by busybox wget in CONTAINER. The timeout
# is outside: Debian 12's busybox-static wget crashes with -T.
http_get() { timeout 15 podman exec "$1" wget -qO- "$2" 2>&1; }
ip_of() { pm inspect "$1" --format "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}"; }

WEB=web-$id CLI=cli-$id
pl_log "two containers on $NET"
run_web "$WEB" || pl_fail "podman run $WEB failed"
run_client "$CLI" || pl_fail "podman run $CLI failed"
web_ip=$(ip_of "$WEB") cli_ip=$(ip_of "$CLI")
pl_log "$WEB: $web_ip, $CLI: $cli_ip"
for a in "$web_ip" "$cli_ip"; do [[ $a == 10.204.0.* ]] || pl_fail "address $a is not from the PodCIDR 10.204.0.0/24"; done
[ "$web_ip" != "$cli_ip" ] || pl_fail "both containers got $web_ip"
[ "$(allocated)" = 2 ] || pl_fail "cni status: allocated $(allocated), expected 2"
"$PODLANE" endpoint list -o json > "$PL_TMP/eps.json"
jq -e --arg w "$WEB" --arg c "$CLI" 'map(.id) - ["health"] | sort == ([$w, $c] | sort)' "$PL_TMP/eps.json" >/dev/null \
  || pl_fail "endpoint ids are not the container names: $(jq -c 'map(.id)' "$PL_TMP/eps.json")"
jq -e --arg w "$WEB" '.[] | select(.id == $w) | .labels.app == "podman-test"' "$PL_TMP/eps.json" >/dev/null \
  || pl_fail "$WEB lacks the conflist's label"
grep -q "inet $cli_ip/32" <<<"$(pm exec "$CLI" ip -4 addr show eth0)" || pl_fail "$CLI's eth0 lacks $cli_ip/32"

pl_log "ping and HTTP between the containers"
pm exec "$CLI" ping -c 3 -W 2 "$web_ip" | tail -2 | head -1 | tee "$PL_TMP/ping"
grep -q " 0% packet loss" "$PL_TMP/ping" || pl_fail "ping $CLI -> $WEB lost packets"
body=$(http_get "$CLI" "http://$web_ip/") || pl_fail "wget $CLI -> $WEB failed: $body"
[ "$body" = "hello from podman on podlane" ] || pl_fail "HTTP $CLI -> $WEB: $body"
pl_log "HTTP $CLI -> $WEB: $body"

pl_log "-p $HOST_PORT:80 from outside through the node IP $NODE_IP"
body=$(ip netns exec "$EXT" curl -sS --max-time 5 "http://$NODE_IP:$HOST_PORT/") || pl_fail "curl $NODE_IP:$HOST_PORT from $EXT failed"
[ "$body" = "hello from podman on podlane" ] || pl_fail "HTTP through the port mapping: $body"
pl_log "curl http://$NODE_IP:$HOST_PORT/ from $EXT: $body"

pl_log "stop and rm release the address; a re-run with a static --ip and --mac-address"
pm stop -t 0 "$WEB" >/dev/null || pl_fail "podman stop $WEB failed"
[ "$(allocated)" = 1 ] || pl_fail "after stop: allocated $(allocated), expected 1"
pm rm "$WEB" >/dev/null
STATIC_IP=10.204.0.200 STATIC_MAC=0a:58:0a:cc:00:c8
run_web "$WEB" --ip "$STATIC_IP" --mac-address "$STATIC_MAC" || pl_fail "podman run --ip $STATIC_IP failed"
[ "$(ip_of "$WEB")" = "$STATIC_IP" ] || pl_fail "re-run $WEB has $(ip_of "$WEB"), not $STATIC_IP"
grep -q "link/ether $STATIC_MAC" <<<"$(pm exec "$WEB" ip link show eth0)" || pl_fail "re-run $WEB lacks MAC $STATIC_MAC"
body=$(http_get "$CLI" "http://$STATIC_IP/") || pl_fail "wget $CLI -> re-run $WEB failed"
body=$(ip netns exec "$EXT" curl -sS --max-time 5 "http://$NODE_IP:$HOST_PORT/") || pl_fail "port mapping after the re-run failed"
[ "$(allocated)" = 2 ] || pl_fail "after the re-run: allocated $(allocated), expected 2"

pl_log "podman network reload keeps the containers reachable"
pm network reload "$WEB" >/dev/null || pl_fail "podman network reload failed"
http_get "$CLI" "http://$STATIC_IP/" >/dev/null || pl_fail "HTTP after network reload failed"

pl_log "DEL while podlaned is down: podman stop succeeds, podlaned releases the address when back"
kill -TERM "$PL_PODLANED_PID"; wait "$PL_PODLANED_PID" 2>/dev/null || true
pm stop -t 0 "$CLI" >/dev/null 2> "$PL_TMP/stop.err" || pl_fail "podman stop $CLI with podlaned down failed: $(cat "$PL_TMP/stop.err")"
[ ! -s "$PL_TMP/stop.err" ] || pl_fail "podman stop $CLI complained: $(cat "$PL_TMP/stop.err")"
pm rm "$CLI" >/dev/null || pl_fail "podman rm $CLI failed"
grep -q "%eth0$" <<<"$(ls "$SOCK.pending-del")" || pl_fail "no pending DEL recorded"
start_podlaned
grep -q "1 DEL(s) recorded while podlaned was down" "$PL_TMP/podlaned.log" || pl_fail "podlaned did not release the pending DEL"
[ "$(allocated)" = 1 ] || pl_fail "after podlaned came back: allocated $(allocated), expected 1"
"$PODLANE" endpoint list -o json | jq -e --arg w "$WEB" 'map(.id) - ["health"] == [$w]' >/dev/null || pl_fail "endpoints after the restart: $("$PODLANE" endpoint list -o json | jq -c 'map(.id)')"
body=$(ip netns exec "$EXT" curl -sS --max-time 5 "http://$NODE_IP:$HOST_PORT/") || pl_fail "port mapping after the podlaned restart failed"
pl_log "re-attached $WEB after the restart: $body"

pl_log "removing everything"
pm rm -f -t 0 "$WEB" >/dev/null
[ "$(allocated)" = 0 ] || pl_fail "after rm: allocated $(allocated), expected 0"
pl_log "PASS"
