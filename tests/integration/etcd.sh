#!/usr/bin/env bash
# Integration test: the cluster runs from a real etcd (source.kind: etcd).
#  1. A 3-node lab whose node configs hold no other nodes and no services
#     (scripts/lab.sh up --etcd): nodes register and learn each other from
#     etcd, `podlane kvstore apply` writes the services; pods on different
#     nodes ping each other and a pod's curl to a ClusterIP reaches backends
#     on all three nodes.
#  2. A change written with kvstore apply reaches every node within seconds.
#  3. etcd stopped: the dataplane keeps serving (curl still answers), status
#     says disconnected; etcd restarted on the same data: the source resumes
#     its watch (reconnects >= 1, no relist) and a later change arrives.
#  4. ipam cluster-pool through etcd: three podlaned started at once claim
#     three different blocks; a restarted one gets its own block back.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"

id=$$
P=ple$((id % 100000))-
RUN=/run/podlane/lab-$P
export PODLANED PODLANE
pl_on_exit "[ \$PL_RC -eq 0 ] || { tail -n 20 $RUN/node1.log; tail -n 5 $RUN/etcd*.log; } 2>/dev/null; \"$REPO/scripts/lab.sh\" down --prefix $P > /dev/null 2>&1"

cli() { local n=$1; shift; "$PODLANE" --socket "$RUN/node$n.sock" "$@"; }
src() { cli "$1" status -o json | jq -c .source; }

pl_log "1. a 3-node lab from etcd alone"
"$REPO/scripts/lab.sh" up --etcd --nodes 3 --pods 2 --prefix "$P" --services "$HERE/services-lab.yaml" > "$PL_TMP/lab.log" 2>&1 ||
  { tail -n 30 "$PL_TMP/lab.log"; pl_fail "lab up --etcd failed"; }
for n in 1 2 3; do
  ! grep -qE '^(nodes|services):' "$RUN/node$n.yaml" || pl_fail "node$n's config lists nodes or services"
  src "$n" | jq -e '.kind == "etcd" and .state == "synced"' > /dev/null || pl_fail "node$n: source $(src "$n")"
  [ "$(cli "$n" status -o json | jq .remote_nodes)" = 2 ] || pl_fail "node$n did not learn both other nodes from etcd"
done
pl_ping "${P}n1p1" 10.210.3.11
pl_ping "${P}n3p2" 10.210.2.12
for i in 1 2 3; do for k in 1 2; do
  ip netns exec "${P}n${i}p$k" python3 "$HERE/whoami_server.py" 0.0.0.0 8080 "n${i}p$k" > /dev/null 2>&1 &
  PL_PIDS+=("$!")
  disown   # lab down kills it with its namespace; no job notice
done; done
curl_web() { ip netns exec "${P}n1p1" curl -s --max-time 2 http://10.96.0.10/whoami; }
pl_wait_for "the ClusterIP to answer" 10 curl_web
seen=$(for _ in $(seq 30); do curl_web | sed -E 's/name=([^ ]*).*/\1/'; done | sort -u | paste -sd ' ')
pl_log "default/web answered from: $seen"
[ "$seen" = "n1p2 n2p1 n3p1" ] || pl_fail "curl reached \"$seen\", expected the backends on all three nodes"

pl_log "1b. pods and identities shared through etcd: node1's ipcache and identities know node2's pods"
n2_id=$(cli 2 identity list -o json | jq -er '[.[] | select(.labels | index("node=node2")) | .id] | if length == 1 then .[0] else error("one") end')
remote_pod() { cli 1 ipcache list -o json | jq -e --argjson id "$n2_id" \
  'any(.[]; .prefix == "10.210.2.11/32" and .identity == $id and .tunnel_endpoint == "192.168.50.12" and .source == "remote-endpoint")'; }
pl_wait_for "node1's ipcache to carry node2's pod 10.210.2.11 with identity $n2_id" 5 remote_pod
cli 1 identity list -o json | jq -e --argjson id "$n2_id" 'any(.[]; .id == $id and .remote_endpoints == 2 and .endpoints == 0)' > /dev/null ||
  pl_fail "node1's identity list lacks node2's identity $n2_id with 2 remote endpoints: $(cli 1 identity list -o json | jq -c .)"
node3_key() { ip netns exec "${P}ext" etcdctl --endpoints http://192.168.50.2:2379 get --prefix /podlane/endpoints/ --keys-only |
  grep -q "^/podlane/endpoints/node3/10.210.3.12$"; }
pl_wait_for "etcd to hold the key of node3's pod 10.210.3.12" 5 node3_key
cli 2 endpoint delete lab/n2p2
gone() { ! cli 1 ipcache list -o json | jq -e 'any(.[]; .prefix == "10.210.2.12/32")' > /dev/null; }
pl_wait_for "node1 to forget node2's deleted pod 10.210.2.12" 5 gone
pl_log "node1 sees node2's pods with identity $n2_id; a deleted pod leaves its ipcache"

pl_log "2. a change written to etcd reaches every node"
cat > "$PL_TMP/web-node3.yaml" <<'YAML'
services:
  - name: default/web
    cluster_ip: 10.96.0.10
    ports: [{name: http, port: 80, target_port: 8080}]
    backends: [{ip: 10.210.3.11, node: node3}]
YAML
ip netns exec "${P}ext" "$PODLANE" kvstore apply -f "$PL_TMP/web-node3.yaml" --etcd http://192.168.50.2:2379
one_backend() { cli "$1" service list -o json | jq -e '[.[] | select(.name == "default/web")][0].backends | map(.address) == ["10.210.3.11:8080"]'; }
for n in 1 2 3; do pl_wait_for "node$n to see default/web's new backend set" 5 one_backend "$n"; done
seen=$(for _ in $(seq 10); do curl_web | sed -E 's/name=([^ ]*).*/\1/'; done | sort -u | paste -sd ' ')
[ "$seen" = n3p1 ] || pl_fail "after the change curl reached \"$seen\", expected n3p1 only"

pl_log "3. etcd stops: the last good state stays"
kill -TERM "$(cat "$RUN/etcd.pid")"
disconnected() { src 1 | jq -e '.state == "disconnected"'; }
pl_wait_for "node1's source to report disconnected" 10 disconnected
curl_web | grep -q "name=n3p1" || pl_fail "the ClusterIP stopped answering while etcd was down"
pl_ping "${P}n2p1" 10.210.1.11
pl_log "restarting etcd on the same data"
ip netns exec "${P}etcd" setsid etcd --name lab --data-dir "$RUN/etcd" \
  --listen-client-urls http://192.168.50.2:2379 --advertise-client-urls http://192.168.50.2:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster lab=http://127.0.0.1:2380 > "$RUN/etcd-restart.log" 2>&1 < /dev/null &
echo $! > "$RUN/etcd.pid"
resumed() { src "$1" | jq -e '.state == "synced" and .reconnects >= 1 and .resyncs == 0'; }
for n in 1 2 3; do pl_wait_for "node$n to resume its watch" 20 resumed "$n"; done
ip netns exec "${P}ext" "$PODLANE" kvstore apply -f "$HERE/services-lab.yaml" --etcd http://192.168.50.2:2379 2>/dev/null
three_backends() { cli "$1" service list -o json | jq -e '[.[] | select(.name == "default/web")][0].backends | length == 3'; }
for n in 1 2 3; do pl_wait_for "node$n to see the change made after the restart" 5 three_backends "$n"; done
pl_log "sources after the restart: $(src 1)"
"$REPO/scripts/lab.sh" down --prefix "$P" > /dev/null 2>&1

pl_log "4. ipam cluster-pool through etcd"
NS=plt-eipam-$id
pl_netns "$NS"
ip netns exec "$NS" etcd --name ipam --data-dir "$PL_TMP/etcd" --listen-client-urls http://127.0.0.1:23791 \
  --advertise-client-urls http://127.0.0.1:23791 --listen-peer-urls http://127.0.0.1:23801 \
  --initial-advertise-peer-urls http://127.0.0.1:23801 --initial-cluster ipam=http://127.0.0.1:23801 > "$PL_TMP/etcd-ipam.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "etcd for ipam" 10 ip netns exec "$NS" curl -sf http://127.0.0.1:23791/health
node_yaml() {
  cat <<YAML
node: {name: pool$1}
dataplane: {worker_lcores: [1], lcore_map: "0@0,1@1", file_prefix: podlane-eipam$1-$id, idle_sleep_us: 1000, mbufs: 2047}
routing: {native_routing_cidr: 10.0.0.0/8}
ipam: {mode: cluster-pool, cluster_pool_cidr: 10.230.0.0/22, mask_size: 24}
api: {socket: $PL_TMP/pool$1.sock}
metrics: {enabled: false}
source: {kind: etcd, etcd: {endpoints: [http://127.0.0.1:23791]}}
YAML
}
declare -A POOL_PID
start_pool() {
  node_yaml "$1" > "$PL_TMP/pool$1.yaml"
  pl_start_podlaned "$NS" "$PL_TMP/pool$1.yaml" --log "$PL_TMP/pool$1.log" --socket "$PL_TMP/pool$1.sock" --no-wait
  POOL_PID[$1]=$PL_PODLANED_PID
}
for n in 1 2 3; do start_pool "$n"; done
for n in 1 2 3; do pl_wait_podlaned "${POOL_PID[$n]}"; done
cidr() { "$PODLANE" --socket "$PL_TMP/pool$1.sock" status -o json | jq -r .pod_cidr; }
blocks=$(for n in 1 2 3; do cidr "$n"; done | sort | paste -sd ' ')
pl_log "blocks claimed at once: $blocks"
[ "$(tr ' ' '\n' <<<"$blocks" | sort -u | wc -l)" = 3 ] || pl_fail "two nodes share a block: $blocks"
for b in $blocks; do [[ $b =~ ^10\.230\.[0-3]\.0/24$ ]] || pl_fail "block $b is not a /24 of 10.230.0.0/22"; done
before=$(cidr 2)
kill -TERM "${POOL_PID[2]}"; wait "${POOL_PID[2]}" 2>/dev/null || true
start_pool 2
pl_wait_podlaned "${POOL_PID[2]}"
[ "$(cidr 2)" = "$before" ] || pl_fail "pool2 had $before and got $(cidr 2) after a restart"
pl_log "PASS: the lab ran from etcd alone, followed changes, kept serving without etcd and resumed; cluster-pool blocks $blocks"
