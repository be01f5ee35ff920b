#!/usr/bin/env bash
# Integration test: LB IPAM with the file source. One podlaned, a pool
# "blue" of two addresses (172.16.5.0/30, first and last reserved) and a
# pool "red" overlapping it (conflicting), four LoadBalancer services:
#   lbipam/a           -> 172.16.5.1 (the first free address)
#   lbipam/b  key k    -> 172.16.5.2
#   lbipam/c  key k    -> 172.16.5.2 too (port 81 beside b's 80: shared)
#   lbipam/d           -> pending: pool blue has no free address
# Checked through `podlane lb-ipam pools -o json` and `podlane service list
# -o json`; a second podlaned (another node) given the services in the
# opposite order arrives at the same assignment; a client pod curls both
# assigned addresses; a reload of the file
# adding an unrelated service moves nothing; after a podlaned restart the
# assignment is the same; a reload growing the pool gives lbipam/d its
# address without a restart.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

id=$$
NODE=plt-lbnode-$id CLIENT=plt-lbc-$id WEB=plt-lbw-$id
export PODLANE_SOCKET=$PL_TMP/api.sock
pl_netns "$NODE"; pl_netns "$CLIENT"; pl_netns "$WEB"

svc() { # NAME CLUSTER_IP PORT NODE_PORT [EXTRA]
  echo "  - {name: lbipam/$1, type: LoadBalancer, cluster_ip: $2, ports: [{port: $3, target_port: 8080, node_port: $4}], backends: [{ip: 10.208.0.21}]${5:+, $5}}"
}
write_config() { # EXTRA_SERVICE_LINES
cat > "$PL_TMP/node.yaml.new" <<YAML
node: {name: lbipam-node}
dataplane: {worker_lcores: [1], lcore_map: "0@0,1@1", file_prefix: podlane-lbipam-$id, idle_sleep_us: 100}
network: {pod_cidr: 10.208.0.0/24, gateway_ip: 10.208.0.1}
api: {socket: $PODLANE_SOCKET}
metrics: {enabled: false}
source: {file: {poll_ms: 100}}
endpoints:
  - {id: lbipam/client, ip: 10.208.0.11, netns: $CLIENT}
  - {id: lbipam/web, ip: 10.208.0.21, netns: $WEB}
lb_ipam:
  pools:
    - {name: blue, blocks: [${BLUE:-172.16.5.0/30}]}
    - {name: red, blocks: [172.16.5.2-172.16.5.3]}
services:
$(svc a 10.96.8.1 80 30081)
$(svc b 10.96.8.2 80 30082 "lbipam_sharing_key: k")
$(svc c 10.96.8.3 81 30083 "lbipam_sharing_key: k")
$(svc d 10.96.8.4 80 30084)
$1
YAML
mv "$PL_TMP/node.yaml.new" "$PL_TMP/node.yaml"
}
write_config ""
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
NODE1_PID=$PL_PODLANED_PID
ip netns exec "$WEB" python3 "$HERE/whoami_server.py" 0.0.0.0 8080 web > "$PL_TMP/web.log" 2>&1 &
PL_PIDS+=("$!")

check_assignment() {
  local pools services
  pools=$("$PODLANE" lb-ipam pools -o json)
  services=$("$PODLANE" service list -o json)
  echo "$pools" | jq -e '.pools[] | select(.name == "blue") | .ips_total == 2 and .ips_used == 2 and .ips_available == 0
                         and (.conflicting | not) and (.disabled | not)' > /dev/null ||
    pl_fail "pool blue: expected 2 used, 0 available: $pools"
  echo "$pools" | jq -e '.pools[] | select(.name == "red") | .conflicting and (.conflict | contains("overlaps pool blue"))' > /dev/null ||
    pl_fail "pool red: expected conflicting with blue: $pools"
  echo "$pools" | jq -e '.pending == [{"name": "lbipam/d", "reason": "pool blue has no free address"}]' > /dev/null ||
    pl_fail "expected lbipam/d pending on an exhausted pool: $pools"
  lb_of() { echo "$services" | jq -r --arg n "$1" '[.[] | select(.name == $n and .type == "LoadBalancer" and .frontend != null) | .frontend] | join(",")'; }
  [ "$(lb_of lbipam/a)" = "172.16.5.1:80/TCP" ] || pl_fail "lbipam/a: expected 172.16.5.1:80/TCP, got $(lb_of lbipam/a)"
  [ "$(lb_of lbipam/b)" = "172.16.5.2:80/TCP" ] || pl_fail "lbipam/b: expected 172.16.5.2:80/TCP, got $(lb_of lbipam/b)"
  [ "$(lb_of lbipam/c)" = "172.16.5.2:81/TCP" ] || pl_fail "lbipam/c: expected the shared 172.16.5.2:81/TCP, got $(lb_of lbipam/c)"
  echo "$services" | jq -e '.[] | select(.name == "lbipam/d" and .pending == "pool blue has no free address")' > /dev/null ||
    pl_fail "service list does not show lbipam/d pending: $services"
  echo "$services" | jq -e '[.[] | select(.name == "lbipam/a" and .type == "LoadBalancer")][0].lb_ipam_pool == "blue"' > /dev/null ||
    pl_fail "service list does not show lbipam/a's pool"
}
check_assignment

pl_log "a second node, with the services listed the other way round: the same assignment"
NODE2=plt-lbnode2-$id
pl_netns "$NODE2"
cat > "$PL_TMP/node2.yaml" <<YAML
node: {name: lbipam-node2}
dataplane: {worker_lcores: [1], lcore_map: "0@0,1@1", file_prefix: podlane-lbipam2-$id, idle_sleep_us: 100}
network: {pod_cidr: 10.208.1.0/24, gateway_ip: 10.208.1.1}
api: {socket: $PL_TMP/api2.sock}
metrics: {enabled: false}
lb_ipam:
  pools:
    - {name: blue, blocks: [172.16.5.0/30]}
    - {name: red, blocks: [172.16.5.2-172.16.5.3]}
services:
$(svc d 10.96.8.4 80 30084)
$(svc c 10.96.8.3 81 30083 "lbipam_sharing_key: k")
$(svc b 10.96.8.2 80 30082 "lbipam_sharing_key: k")
$(svc a 10.96.8.1 80 30081)
YAML
pl_start_podlaned "$NODE2" "$PL_TMP/node2.yaml" --socket "$PL_TMP/api2.sock" --log "$PL_TMP/podlaned2.log"
NODE2_PID=$PL_PODLANED_PID
lb_frontends() { "$PODLANE" "$@" service list -o json | jq -c '[.[] | select(.type == "LoadBalancer") | [.name, .frontend, .pending]] | sort'; }
[ "$("$PODLANE" --socket "$PL_TMP/api2.sock" lb-ipam pools -o json)" = "$("$PODLANE" lb-ipam pools -o json)" ] ||
  pl_fail "node 2's pools differ: $("$PODLANE" --socket "$PL_TMP/api2.sock" lb-ipam pools -o json)"
[ "$(lb_frontends --socket "$PL_TMP/api2.sock")" = "$(lb_frontends)" ] ||
  pl_fail "node 2's LoadBalancer addresses differ: $(lb_frontends --socket "$PL_TMP/api2.sock") vs $(lb_frontends)"
kill "$NODE2_PID"; wait "$NODE2_PID" 2>/dev/null || true

"$PODLANE" lb-ipam pools
"$PODLANE" service list | grep -E "LoadBalancer|NAME"

curl_lb() { ip netns exec "$CLIENT" curl -sf --max-time 2 "http://$1/whoami"; }
pl_wait_for "curl to lbipam/a's 172.16.5.1:80" 20 curl_lb 172.16.5.1:80
pl_wait_for "curl to lbipam/c's shared 172.16.5.2:81" 10 curl_lb 172.16.5.2:81
pl_wait_for "curl to lbipam/b's shared 172.16.5.2:80" 10 curl_lb 172.16.5.2:80

pl_log "reloading the file with one more (ClusterIP) service: nothing moves"
write_config "  - {name: lbipam/z-other, cluster_ip: 10.96.8.9, ports: [{port: 80, target_port: 8080}], backends: [{ip: 10.208.0.21}]}"
has_other() { "$PODLANE" service list -o json | jq -e 'any(.[]; .name == "lbipam/z-other")' > /dev/null; }
pl_wait_for "lbipam/z-other in service list" 5 has_other
check_assignment
curl_lb 172.16.5.1:80 > /dev/null || pl_fail "lbipam/a stopped answering after the reload"

pl_log "restarting podlaned: the same assignment"
before=$("$PODLANE" lb-ipam pools -o json)
kill "$NODE1_PID"
wait "$NODE1_PID" 2>/dev/null || true
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
[ "$("$PODLANE" lb-ipam pools -o json)" = "$before" ] || pl_fail "the pools differ after a restart"
check_assignment
pl_wait_for "curl to lbipam/a after the restart" 20 curl_lb 172.16.5.1:80
pl_log "reloading the file with pool blue grown to a /29: lbipam/d gets 172.16.5.3 without a restart"
pid_before=$PL_PODLANED_PID
BLUE=172.16.5.0/29 write_config ""
d_served() { "$PODLANE" service list -o json | jq -e 'any(.[]; .name == "lbipam/d" and .frontend == "172.16.5.3:80/TCP")' > /dev/null; }
pl_wait_for "lbipam/d on 172.16.5.3 after the reload" 5 d_served ||
  pl_fail "lbipam/d: $("$PODLANE" service list -o json | jq -c '[.[] | select(.name == "lbipam/d")]')"
"$PODLANE" lb-ipam pools -o json | jq -e '.pending == [] and ([.pools[] | select(.name == "blue")][0] | .ips_used == 3)' > /dev/null ||
  pl_fail "pools after the reload: $("$PODLANE" lb-ipam pools -o json | jq -c .)"
kill -0 "$pid_before" || pl_fail "podlaned restarted"
pl_wait_for "curl to lbipam/d's 172.16.5.3:80" 10 curl_lb 172.16.5.3:80
pl_log "PASS: LB IPAM assigned the first free address, shared one by key, reported the exhausted and conflicting pools, gave two nodes the same assignment, and kept it across a reload and a restart"
