#!/usr/bin/env bash
# Integration test: the config file is a hot-reloaded cluster-state source.
# podlaned starts with one service; the test then edits the file:
#   - adds a service: it shows in `podlane service list` and curl reaches it;
#   - breaks the YAML: status shows the error, the last good services stay
#     and keep answering;
#   - fixes it and removes the first service: the source is synced again and
#     the removed ClusterIP is gone (refused, like any address without a service).
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

id=$$
NODE=plt-rnode-$id CLIENT=plt-rc-$id WEB=plt-rw-$id
export PODLANE_SOCKET=$PL_TMP/api.sock
pl_netns "$NODE"; pl_netns "$CLIENT"; pl_netns "$WEB"

# write_config SERVICES_YAML: the node's config with the given services: list.
write_config() {
  cat > "$PL_TMP/node.yaml.new" <<YAML
node: {name: reload-node}
dataplane: {worker_lcores: [1], lcore_map: "0@0,1@1", file_prefix: podlane-rl-$id, idle_sleep_us: 100}
network: {pod_cidr: 10.207.0.0/24, gateway_ip: 10.207.0.1}
api: {socket: $PODLANE_SOCKET}
metrics: {enabled: false}
source: {file: {poll_ms: 100}}
endpoints:
  - {id: reload/client, ip: 10.207.0.11, netns: $CLIENT}
  - {id: reload/web, ip: 10.207.0.21, netns: $WEB}
$1
YAML
  mv "$PL_TMP/node.yaml.new" "$PL_TMP/node.yaml"   # one rename: the agent never reads half a file
}
svc() { echo "  - {name: reload/$1, cluster_ip: $2, ports: [{port: 80, target_port: 8080}], backends: [{ip: 10.207.0.21}]}"; }

write_config "services:
$(svc first 10.96.7.1)"
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
ip netns exec "$WEB" python3 "$HERE/whoami_server.py" 0.0.0.0 8080 web > "$PL_TMP/web.log" 2>&1 &
PL_PIDS+=("$!")
curl_vip() { ip netns exec "$CLIENT" curl -sf --max-time 2 "http://$1/whoami"; }
pl_wait_for "curl to the first service" 20 curl_vip 10.96.7.1
"$PODLANE" status | grep -E "^Cluster source: +file .*: synced" || pl_fail "status does not show the file source synced"

has_service() { "$PODLANE" service list -o json | jq -e --arg n "$1" 'any(.[]; .name == $n)'; }

pl_log "adding a second service to the file"
write_config "services:
$(svc first 10.96.7.1)
$(svc second 10.96.7.2)"
pl_wait_for "reload/second in service list" 5 has_service reload/second
pl_wait_for "curl to the second service" 10 curl_vip 10.96.7.2

pl_log "breaking the file"
gen_before=$("$PODLANE" status -o json | jq .snapshot_generation)
write_config "services: [ {name: broken"
pl_wait_for "the reload error in status" 5 sh -c "\"$PODLANE\" status -o json | jq -e '.source.state == \"error\" and (.source.last_error | contains(\"invalid YAML\"))'"
"$PODLANE" status | grep -A1 "Cluster source" 
has_service reload/first > /dev/null && has_service reload/second > /dev/null || pl_fail "a broken file emptied the services"
curl_vip 10.96.7.1 > /dev/null && curl_vip 10.96.7.2 > /dev/null || pl_fail "the last good services stopped answering"
[ "$("$PODLANE" status -o json | jq .snapshot_generation)" = "$gen_before" ] || pl_fail "a broken file was published"
grep -q "reload: .*invalid YAML" "$PL_TMP/podlaned.log" || pl_fail "podlaned did not log the reload error"

pl_log "fixing the file, without the first service"
write_config "services:
$(svc second 10.96.7.2)"
pl_wait_for "the source synced again" 5 sh -c "\"$PODLANE\" status -o json | jq -e '.source.state == \"synced\"'"
pl_wait_for "reload/first gone" 5 sh -c "! \"$PODLANE\" service list -o json | jq -e 'any(.[]; .name == \"reload/first\")'"
curl_vip 10.96.7.2 > /dev/null || pl_fail "the second service stopped answering"
if curl_vip 10.96.7.1 > /dev/null 2>&1; then pl_fail "the removed service still answers"; fi
resyncs=$("$PODLANE" status -o json | jq .source.resyncs)
[ "$resyncs" -ge 2 ] || pl_fail "status shows $resyncs reloads, expected at least 2"
pl_log "PASS: the file source added, kept (through a broken file) and removed services while running ($resyncs reloads)"
