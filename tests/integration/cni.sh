#!/usr/bin/env bash
# Integration test: podlane-cni driven exactly as a container runtime drives
# a CNI plugin (CNI_* environment, network config on stdin; scripts/cnitool.py
# runs a conflist the way libcni does, chaining Debian's `tuning` plugin after
# podlane-cni) against podlaned in a node namespace and real pod namespaces:
#   * VERSION, and spec error results for bad input;
#   * 20 concurrent ADDs: distinct addresses, configured interfaces, the
#     chained plugin's sysctl, pods reaching each other;
#   * CHECK passes on a healthy pod and fails on a broken one;
#   * DEL/ADD churn leaks no address; DEL is idempotent;
#   * podlaned killed and restarted in the middle of ADDs: ADD answers "try
#     again later" while it is down, recorded pods come back with their
#     addresses, no address is ever given twice;
#   * DEL while podlaned is down succeeds, and podlaned releases the
#     address when it is back; hostPorts without an uplink are refused;
#   * GC releases what the runtime no longer knows; STATUS;
#   * a vhost-user pod (dpdk-testpmd on net_virtio_user in the pod's
#     namespace) answers pings from a TAP pod.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
CNI_PLUGIN=$(realpath "$3")
source "$(dirname "$0")/lib.sh"
REPO=$(realpath "$(dirname "$0")/../..")
CNITOOL=("$REPO/scripts/cnitool.py")

id=$$
NODE=plc-node-$id
GW=10.203.0.1
SOCK=$PL_TMP/api.sock
export PODLANE_SOCKET=$SOCK
CONF=$PL_TMP/podlane.conflist
export CNI_PATH="$(dirname "$CNI_PLUGIN"):/usr/lib/cni"
CACHE=$PL_TMP/cni-cache
N=20

pl_netns "$NODE"

cat > "$PL_TMP/node.yaml" <<YAML
node: {name: cni-node}
dataplane:
  main_lcore: 0
  worker_lcores: [1]
  file_prefix: podlane-cni-$id
  mbufs: 16383
  rx_ring_size: 256
  tx_ring_size: 256
  idle_sleep_us: 100
network:
  pod_cidr: 10.203.0.0/24
  gateway_ip: $GW
ipam: {state_dir: $PL_TMP/ipam}
api: {socket: $SOCK}
YAML

# Debian's reference plugins speak CNI up to 1.0.0: the chained network is a
# 1.0.0 conflist. GC, STATUS and vhost-user (socketPath) need 1.1.0: a
# podlane-only network ($CONF11) on the same podlaned.
cat > "$CONF" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "podlane",
  "plugins": [
    {"type": "podlane-cni", "socket": "$SOCK", "vhostSocketDir": "$PL_TMP/vhost",
     "capabilities": {"portMappings": true, "ips": true, "mac": true, "vhostUser": true},
     "args": {"cni": {"labels": [{"key": "app", "value": "cni-test"}]}}},
    {"type": "tuning", "sysctl": {"net.core.somaxconn": "1234"}}
  ]
}
JSON
CONF11=$PL_TMP/podlane-1.1.conflist
jq '.cniVersion = "1.1.0" | .plugins |= [.[0]]' "$CONF" > "$CONF11"

start_podlaned() { pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"; }

# cni COMMAND ARGS...: the runtime's view of one CNI operation.
cni() { "${CNITOOL[@]}" --cache-dir "$CACHE" "$@"; }
pod_ns() { echo "plc-p$1-$id"; }
# add_pod K [CNITOOL OPTIONS]: ADD container ctr-K (pod K of namespace "t") in its
# netns, with the CNI_ARGS containerd gives (IgnoreUnknown=1, K8S_POD_*).
add_pod() {
  local k=$1; shift
  cni "$@" --args "IgnoreUnknown=1;K8S_POD_NAMESPACE=t;K8S_POD_NAME=pod$k" add "$CONF" "ctr-$k" "$(pod_ns "$k")"
}
del_pod() { cni del "$CONF" "ctr-$1" "$(pod_ns "$1")"; }
ip_of() { jq -r '.ips[0].address | split("/")[0]' "$PL_TMP/add-$1.json"; }
allocated() { "$PODLANE" cni status -o json | jq -r .allocated; }

pl_log "starting podlaned in $NODE"
start_podlaned

pl_log "VERSION and errors for bad input, as the spec defines them"
out=$(echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION "$CNI_PLUGIN")
jq -e '.supportedVersions | index("1.0.0") and index("1.1.0")' <<<"$out" >/dev/null || pl_fail "VERSION: $out"
rc=0; out=$(CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_IFNAME=eth0 CNI_PATH=/ "$CNI_PLUGIN" < "$CONF") || rc=$?
[ "$rc" != 0 ] && jq -e '.code == 4 and (.msg | test("CNI_NETNS"))' <<<"$out" >/dev/null \
  || pl_fail "ADD without CNI_NETNS: rc $rc, $out"
rc=0; out=$(echo 'not json' | CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_NETNS=/proc/self/ns/net CNI_IFNAME=eth0 CNI_PATH=/ "$CNI_PLUGIN") || rc=$?
[ "$rc" != 0 ] && jq -e '.code == 6' <<<"$out" >/dev/null || pl_fail "ADD with bad JSON: rc $rc, $out"

pl_log "$N concurrent ADDs"
for k in $(seq $N); do pl_netns "$(pod_ns "$k")"; done
pids=()
for k in $(seq $N); do
  add_pod "$k" > "$PL_TMP/add-$k.json" 2> "$PL_TMP/add-$k.err" &
  pids+=($!)
done
for k in $(seq $N); do
  wait "${pids[$((k - 1))]}" || pl_fail "ADD of pod$k failed: $(cat "$PL_TMP/add-$k.err" "$PL_TMP/add-$k.json")"
done
ips=$(for k in $(seq $N); do ip_of "$k"; done | sort)
[ "$(sort -u <<<"$ips" | wc -l)" = $N ] || pl_fail "ADD gave duplicate addresses: $(echo $ips)"
[ "$("$PODLANE" endpoint list -o json | jq length)" = $N ] || pl_fail "podlaned does not list $N endpoints"
[ "$(allocated)" = $N ] || pl_fail "cni status: allocated $(allocated), expected $N"
for k in 1 7 $N; do
  ns=$(pod_ns "$k") ip=$(ip_of "$k")
  jq -e --arg ns "/run/netns/$ns" --arg gw "$GW" \
    '.interfaces[0].sandbox == $ns and .ips[0].gateway == $gw and
     (.routes | any(.dst == "0.0.0.0/0" and .gw == $gw)) and .cniVersion == "1.0.0"' "$PL_TMP/add-$k.json" >/dev/null \
    || pl_fail "ADD result of pod$k: $(cat "$PL_TMP/add-$k.json")"
  ip -n "$ns" -j addr show dev eth0 | jq -e --arg ip "$ip" '.[0].addr_info | any(.local == $ip)' >/dev/null \
    || pl_fail "pod$k eth0 lacks $ip"
  [ "$(ip -n "$ns" -j link show dev eth0 | jq '.[0].mtu')" = 1500 ] || pl_fail "pod$k eth0 MTU is not 1500"
  ip -n "$ns" route show default | grep -q "via $GW dev eth0" || pl_fail "pod$k has no default route via $GW"
  [ "$(ip netns exec "$ns" sysctl -n net.core.somaxconn)" = 1234 ] || pl_fail "tuning did not set somaxconn in pod$k"
done
"$PODLANE" endpoint list -o json | jq -e '.[] | select(.id == "t/pod1") | .labels.app == "cni-test" and
  .labels["io.kubernetes.pod.namespace"] == "t"' >/dev/null || pl_fail "t/pod1 lacks its labels"
pl_log "podlane cni list: every attachment, as JSON and as a table"
list=$("$PODLANE" cni list -o json)
[ "$(jq length <<<"$list")" = $N ] || pl_fail "cni list: expected $N attachments, got $(jq length <<<"$list")"
jq -e --arg ip "$(ip_of 1)" --arg ns "/run/netns/$(pod_ns 1)" '.[] | select(.endpoint_id == "t/pod1") |
  .ip == $ip and .netns == $ns and .container_id == "ctr-1" and .ifname == "eth0" and .attached == true' \
  <<<"$list" >/dev/null || pl_fail "cni list -o json: t/pod1 not as attached: $(jq -c '.[] | select(.endpoint_id == "t/pod1")' <<<"$list")"
table=$("$PODLANE" cni list)
[ "$(grep -c ' attached$' <<<"$table")" = $N ] || pl_fail "cni list: expected $N attached rows:"$'\n'"$table"
grep -qE "^t/pod1 +$(ip_of 1) " <<<"$table" || pl_fail "cni list: no row for t/pod1 with $(ip_of 1):"$'\n'"$table"
pl_ping "$(pod_ns 1)" "$(ip_of $N)"
pl_ping "$(pod_ns 10)" "$(ip_of 3)"

pl_log "CHECK: healthy pod passes, broken pod fails"
cni check "$CONF" ctr-1 "$(pod_ns 1)" || pl_fail "CHECK of a healthy pod failed"
ip -n "$(pod_ns 2)" addr flush dev eth0
rc=0; out=$(cni check "$CONF" ctr-2 "$(pod_ns 2)" 2>/dev/null) || rc=$?
[ "$rc" != 0 ] && jq -e '.code == 101 and (.msg | test("address|10\\.203"))' <<<"$out" >/dev/null \
  || pl_fail "CHECK of a pod without its address: rc $rc, $out"
pl_log "CHECK said: $(jq -r .msg <<<"$out")"

pl_log "DEL/ADD churn: 30 rounds on pods 2..4, no address leaked"
for round in $(seq 30); do
  k=$((2 + round % 3))
  del_pod "$k" || pl_fail "DEL of pod$k (round $round)"
  add_pod "$k" > "$PL_TMP/add-$k.json" || pl_fail "ADD of pod$k (round $round)"
done
[ "$(allocated)" = $N ] || pl_fail "after churn: allocated $(allocated), expected $N"
pl_ping "$(pod_ns 3)" "$(ip_of 1)"
del_pod 4
del_pod 4 || pl_fail "a second DEL of the same container failed"
cni del "$CONF" ctr-never-added "$(pod_ns 4)" || pl_fail "DEL of an unknown container failed"
[ "$(allocated)" = $((N - 1)) ] || pl_fail "after DEL: allocated $(allocated), expected $((N - 1))"
add_pod 4 > "$PL_TMP/add-4.json"

pl_log "podlaned killed in the middle of ADDs, then restarted"
for k in 21 22 23 24 25; do pl_netns "$(pod_ns "$k")"; done
pids=()
for k in 21 22 23 24; do
  add_pod "$k" > "$PL_TMP/add-$k.json" 2> "$PL_TMP/add-$k.err" &
  pids+=($!)
  # SIGKILL while ADDs are queued at or served by podlaned (each takes ~0.2 s).
  [ "$k" = 22 ] && { sleep 0.3; kill -9 "$PL_PODLANED_PID"; }
done
ok=(); failed=()
for i in 0 1 2 3; do
  k=$((21 + i))
  if wait "${pids[$i]}"; then ok+=("$k"); else failed+=("$k"); fi
done
pl_log "ADDs that succeeded before the kill: ${ok[*]:-none}; refused: ${failed[*]:-none}"
wait "$PL_PODLANED_PID" 2>/dev/null || true
rc=0; out=$(add_pod 25 2>/dev/null) || rc=$?
[ "$rc" != 0 ] && jq -e '.code == 11' <<<"$out" >/dev/null || pl_fail "ADD while podlaned is down: rc $rc, $out"
start_podlaned
grep -q "re-attached" "$PL_TMP/podlaned.log" || pl_fail "podlaned did not re-attach recorded pods"
# The runtime retries what failed (DEL, then ADD), as kubelet does.
for k in "${failed[@]}"; do
  del_pod "$k" 2>/dev/null || true
  add_pod "$k" > "$PL_TMP/add-$k.json" || pl_fail "ADD of pod$k after the restart"
done
want=$((N + 4))
[ "$(allocated)" = $want ] || pl_fail "after the restart: allocated $(allocated), expected $want"
[ "$("$PODLANE" endpoint list -o json | jq length)" = $want ] || pl_fail "after the restart: not $want endpoints"
ips=$(for k in $(seq 24); do ip_of "$k"; done | sort)
[ "$(sort -u <<<"$ips" | wc -l)" = 24 ] || pl_fail "an address was given twice: $(echo $ips)"
pl_ping "$(pod_ns 1)" "$(ip_of 24)"
pl_ping "$(pod_ns 21)" "$(ip_of 5)"
cni check "$CONF" ctr-5 "$(pod_ns 5)" || pl_fail "CHECK of a re-attached pod failed"

pl_log "DEL while podlaned is down: succeeds, recorded, released when podlaned is back"
kill -TERM "$PL_PODLANED_PID"; wait "$PL_PODLANED_PID" 2>/dev/null || true
del_pod 24 || pl_fail "DEL of pod24 while podlaned is down failed (DEL is best-effort)"
[ -e "$SOCK.pending-del/ctr-24%eth0" ] || pl_fail "DEL left no pending record in $SOCK.pending-del"
# pod24's namespace still exists, so only the record can release its address.
start_podlaned
grep -q "1 DEL(s) recorded while podlaned was down, 1 address(es) released" "$PL_TMP/podlaned.log" \
  || pl_fail "podlaned did not release the pending DEL: $(tail -n 5 "$PL_TMP/podlaned.log")"
[ -z "$(ls -A "$SOCK.pending-del")" ] || pl_fail "pending records left: $(ls "$SOCK.pending-del")"
want=$((N + 3))
[ "$(allocated)" = $want ] || pl_fail "after the pending DEL: allocated $(allocated), expected $want"
"$PODLANE" endpoint list -o json | jq -e 'map(.id) | index("t/pod24") == null' >/dev/null \
  || pl_fail "the pending DEL left t/pod24 attached"

pl_log "hostPorts on a node without an uplink are refused, naming why"
rc=0; out=$(cni --runtime-config '{"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}' \
  --args "IgnoreUnknown=1;K8S_POD_NAMESPACE=t;K8S_POD_NAME=pod25" add "$CONF" ctr-25 "$(pod_ns 25)" 2>/dev/null) || rc=$?
[ "$rc" != 0 ] && jq -e '.code == 100 and (.msg | test("hostPort 8080 cannot be served.*uplink"))' <<<"$out" >/dev/null \
  || pl_fail "ADD with a hostPort and no uplink: rc $rc, $out"
pl_log "ADD said: $(jq -r .msg <<<"$out")"
[ "$(allocated)" = $want ] || pl_fail "the refused ADD leaked an address: allocated $(allocated), expected $want"

pl_log "GC: attachments the runtime no longer knows are released"
valid=()
for k in $(seq 22); do valid+=(--valid "ctr-$k:eth0"); done
cni gc "$CONF11" "${valid[@]}" || pl_fail "GC failed"
[ "$(allocated)" = 22 ] || pl_fail "after GC: allocated $(allocated), expected 22"
"$PODLANE" endpoint list -o json | jq -e 'map(.id) | index("t/pod23") == null' >/dev/null || pl_fail "GC left t/pod23 attached"
cni status "$CONF11" || pl_fail "STATUS failed"

pl_log "a vhost-user pod: dpdk-testpmd in the pod's namespace answers pings from a TAP pod"
pl_netns "$(pod_ns 30)"
cni --runtime-config '{"vhostUser": true}' --args "IgnoreUnknown=1;K8S_POD_NAMESPACE=t;K8S_POD_NAME=pod30" \
  add "$CONF11" ctr-30 "$(pod_ns 30)" > "$PL_TMP/add-30.json" || pl_fail "vhost-user ADD failed"
sock=$(jq -r '.interfaces[0].socketPath' "$PL_TMP/add-30.json")
mac=$(jq -r '.interfaces[0].mac' "$PL_TMP/add-30.json")
[ -S "$sock" ] || pl_fail "no vhost-user socket at $sock"
pl_start_icmpecho "$(pod_ns 30)" "$sock" "$mac"
pl_wait_for "the vhost-user pod to answer" 30 pl_ping_ok "$(pod_ns 1)" "$(ip_of 30)"
pl_log "vhost-user pod $(ip_of 30): $PL_PING_SUMMARY"
cni check "$CONF11" ctr-30 "$(pod_ns 30)" || pl_fail "CHECK of the vhost-user pod failed"
kill "$PL_ICMPECHO_PID"
cni del "$CONF11" ctr-30 "$(pod_ns 30)" || pl_fail "DEL of the vhost-user pod"
[ ! -e "$sock" ] || pl_fail "DEL left the vhost-user socket $sock"

pl_log "PASS"
