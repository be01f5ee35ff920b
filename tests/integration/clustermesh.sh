#!/usr/bin/env bash
# Integration test: Cluster Mesh (docs/clustermesh.md) in scripts/lab.sh's
# two-cluster lab: west (id 1: node1, node2, PodCIDRs 10.210.<i>.0/24) and
# east (id 2: node3, node4, 10.211.<i>.0/24), one pod per node, VXLAN, each
# cluster with its own real etcd holding its state in Cilium's kvstore layout.
# Every pod runs tests/integration/whoami_server.py on 8080. Checked in order:
#   - bad cluster names and ids are refused by podlaned --check-config, naming the key
#   - every node shows its remote cluster ready (podlane clustermesh status,
#     the ClusterMesh: status line, the metrics)
#   - n1p1 (west) pings n3p1 and n4p1 (east) and n4p1 pings n1p1
#   - west's ipcache holds east's pods with identities in east's range
#     (2 << 16 .. 3 << 16); an ipcache entry east's etcd holds with an
#     identity of west's range is refused and counted
#   - global service lab/web (10.96.0.50:80 -> 8080): backends n2p1 in west,
#     n3p1 n4p1 in east; curls from n1p1 reach both clusters
#   - affinity local in west: only n2p1; west's backend deleted: east's; back: n2p1
#   - affinity remote in west: only east's; service list --clustermesh-affinity marks them
#   - shared: "false" in east: west sees only n2p1
#   - east's etcd stopped: west shows east disconnected and still reaches
#     east's backends; a global service added in east meanwhile; east's etcd
#     started again: ready, and the new service's backend reaches west
#
#   tests/integration/clustermesh.sh PODLANED PODLANE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PODLANED PODLANE" >&2; exit 2; }
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export PODLANED PODLANE
for tool in curl jq etcd python3; do
  command -v "$tool" >/dev/null || pl_fail "$tool is missing (scripts/install-deps.sh installs it)"
done

N=4
P=plm$$-
RUN=/run/podlane/lab-$P
LAB=$REPO/scripts/lab.sh
VIP=10.96.0.50
VIP2=10.96.0.51
EAST_ETCD=192.168.50.3

cli() { local i=$1; shift; "$PODLANE" --socket "$RUN/node$i.sock" "$@"; }
pod_ip() { if [ "$1" -le 2 ]; then echo "10.210.$1.11"; else echo "10.211.$1.11"; fi; }
pass() { pl_log "PASS: $*"; }

teardown() {
  local i pid
  for pid in "${PL_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ "$PL_RC" -ne 0 ] && [ -d "$RUN" ]; then
    for i in $(seq $N); do
      echo "==== node$i: clustermesh status, service list, log tail ===="
      cli "$i" clustermesh status 2>&1 || true
      cli "$i" service list --clustermesh-affinity 2>&1 || true
      tail -n 30 "$RUN/node$i.log" 2>/dev/null || true
    done
  fi
  "$LAB" down --prefix "$P" || true
}
pl_on_exit teardown
PL_NETNS+=("${P}fab" "${P}ext" "${P}etcd-west" "${P}etcd-east")
for i in $(seq $N); do PL_NETNS+=("${P}node$i" "${P}n${i}p1"); done

# ---- bad cluster names and ids: refused with the key named ----
base="network: {pod_cidr: 10.210.1.0/24, gateway_ip: 10.210.1.1}"
check_refused() { # YAML WANT
  local out
  printf '%s\n%s\n' "$base" "$1" > "$PL_TMP/bad.yaml"
  if out=$("$PODLANED" --check-config "$PL_TMP/bad.yaml" 2>&1); then pl_fail "accepted: $1"; fi
  grep -qF -- "$2" <<<"$out" || pl_fail "refusing '$1' did not say '$2': $out"
}
check_refused "cluster: {name: West_1, id: 1}" "cluster.name"
check_refused "cluster: {name: west, id: 256}" "cluster.id: 256 is out of range: expected 0..255"
check_refused "cluster: {name: west, id: 0}
clustermesh: {clusters: [{name: east, endpoints: ['http://$EAST_ETCD:2379']}]}" "cluster.id"
check_refused "cluster: {name: east, id: 1}
clustermesh: {clusters: [{name: east, endpoints: ['http://$EAST_ETCD:2379']}]}" "clustermesh.clusters[0].name"
pass "bad cluster names and ids are refused, naming the key"

T0=$SECONDS
"$LAB" up --clusters 2 --nodes $N --pods 1 --mode vxlan --prefix "$P" > "$PL_TMP/lab-up.log" 2>&1 ||
  { cat "$PL_TMP/lab-up.log"; pl_fail "scripts/lab.sh up --clusters 2 failed"; }
pl_log "lab up took $((SECONDS - T0))s"

for i in $(seq $N); do
  ip netns exec "${P}n${i}p1" /usr/bin/python3 "$HERE/whoami_server.py" 0.0.0.0 8080 "n${i}p1" \
    > "$PL_TMP/whoami-$i.log" 2>&1 &
  PL_PIDS+=("$!")
done
for i in $(seq $N); do
  pl_wait_for "whoami in n${i}p1" 15 sh -c "ip netns exec ${P}n${i}p1 ss -Hltn 'sport = :8080' | grep -q LISTEN"
done

# Endpoints: each remote node's pod and its health endpoint (control/health,
# the PodCIDR's last address with the reserved health identity, exported as
# Cilium exports its health endpoints).
ready() { cli "$1" clustermesh status -o json | jq -e '.clusters[0].ready == true and .clusters[0].nodes == 2 and .clusters[0].endpoints == 4' >/dev/null; }
for i in $(seq $N); do pl_wait_for "node$i: remote cluster ready with 2 nodes and 4 endpoints (2 pods, 2 health endpoints)" 30 ready "$i"; done
cli 1 clustermesh status | tee "$PL_TMP/cm.txt"
grep -q "^east: ready, 2 nodes, 4 endpoints" "$PL_TMP/cm.txt" || pl_fail "node1: clustermesh status does not show east ready"
cli 1 status | grep -q "^ClusterMesh: *1/1 remote clusters ready" || pl_fail "node1: no ClusterMesh: 1/1 line in status"
cli 3 clustermesh status -o json | jq -e '.clusters[0].name == "west" and .clusters[0].cluster_id == 1' >/dev/null ||
  pl_fail "node3 does not see west as cluster 1"
metrics=$(ip netns exec "${P}node1" curl -s http://127.0.0.1:9962/metrics)
grep -q '^podlane_clustermesh_remote_cluster_ready{target_cluster="east"} 1' <<<"$metrics" ||
  pl_fail "node1's metrics lack podlane_clustermesh_remote_cluster_ready{target_cluster=\"east\"} 1"
pass "every node has its remote cluster ready (status, clustermesh status, metrics)"

# ---- pod to pod across clusters ----
ip netns exec "${P}n1p1" ping -c 3 -i 0.2 -W 2 "$(pod_ip 3)" > /dev/null || pl_fail "n1p1 (west) cannot ping n3p1 (east)"
ip netns exec "${P}n1p1" ping -c 3 -i 0.2 -W 2 "$(pod_ip 4)" > /dev/null || pl_fail "n1p1 (west) cannot ping n4p1 (east)"
ip netns exec "${P}n4p1" ping -c 3 -i 0.2 -W 2 "$(pod_ip 1)" > /dev/null || pl_fail "n4p1 (east) cannot ping n1p1 (west)"
pass "pods ping across the clusters both ways"

# ---- identities ----
ids=$(cli 1 ipcache list -o json | jq -r --arg a "$(pod_ip 3)/32" --arg b "$(pod_ip 4)/32" \
  '[.[] | select(.prefix == $a or .prefix == $b) | .identity] | join(" ")')
[ "$(wc -w <<<"$ids")" = 2 ] || pl_fail "west's ipcache lacks east's pods: '$ids'"
for id in $ids; do
  [ "$id" -ge $((2 << 16)) ] && [ "$id" -lt $((3 << 16)) ] || pl_fail "east's pod identity $id lies outside east's range"
done
own=$(cli 1 ipcache list -o json | jq -r --arg a "$(pod_ip 1)/32" '.[] | select(.prefix == $a) | .identity')
[ "$own" -ge $((1 << 16)) ] && [ "$own" -lt $((2 << 16)) ] || pl_fail "west's own pod identity $own lies outside west's range"
# An entry in east's etcd claiming an identity of west's range (as a
# misbehaving cluster would write it): refused and counted by west.
b64() { printf '%s' "$1" | base64 -w0; }
bogus='{"IP":"10.211.3.99","Mask":null,"HostIP":"192.168.50.13","ID":65541,"Key":0,"Metadata":""}'
ip netns exec "${P}etcd-east" curl -sf -X POST "http://$EAST_ETCD:2379/v3/kv/put" \
  -d "{\"key\":\"$(b64 cilium/state/ip/v1/default/10.211.3.99)\",\"value\":\"$(b64 "$bogus")\"}" >/dev/null ||
  pl_fail "cannot write the bogus ipcache entry into east's etcd"
pl_wait_for "node1 counting the refused entry" 10 sh -c \
  "'$PODLANE' --socket '$RUN/node1.sock' clustermesh status -o json | jq -e '.clusters[0].refused_ipcache_entries == 1'"
cli 1 ipcache list -o json | jq -e '[.[] | select(.prefix == "10.211.3.99/32" and .source == "remote-endpoint")] | length == 0' >/dev/null ||
  pl_fail "node1 took the entry with a foreign identity into its ipcache"
pass "east's pods carry identities of east's range ($ids); a foreign one is refused and counted"

# ---- global services ----
svc() { # NAME VIP BACKEND_NODES EXTRA: one entry of a services: list
  local b="" i
  for i in $3; do b+="${b:+, }{ip: $(pod_ip "$i")}"; done
  printf '  - {name: %s, cluster_ip: %s, ports: [{port: 80, target_port: 8080}], global: true, backends: [%s]%s}\n' \
    "$1" "$2" "$b" "${4:+, $4}"
}
apply() { # CLUSTER(west|east) ENTRIES...: the services on each node of that cluster
  local nodes i c=$1
  shift
  nodes=$([ "$c" = west ] && echo "1 2" || echo "3 4")
  { echo "services:"; printf '%s\n' "$@"; } > "$PL_TMP/svc.yaml"
  for i in $nodes; do cli "$i" service update -f "$PL_TMP/svc.yaml" > /dev/null || pl_fail "service update on node$i"; done
}
# who N: the backends that answered N curls from n1p1 to the VIP, sorted unique.
who() {
  local n=$1 vip=${2:-$VIP} out=""
  for _ in $(seq "$n"); do
    out+="$(ip netns exec "${P}n1p1" curl -s --max-time 3 "http://$vip/whoami" | sed -n 's/^name=\([^ ]*\).*/\1/p') "
  done
  tr ' ' '\n' <<<"$out" | sed '/^$/d' | sort -u | paste -sd' '
}
expect_who() { # WANT N [VIP]
  local got
  for _ in $(seq 20); do
    got=$(who "$2" "${3:-$VIP}")
    [ "$got" = "$1" ] && return 0
    sleep 0.5
  done
  pl_fail "curls from n1p1 to ${3:-$VIP} reached '$got', expected '$1'"
}
apply west "$(svc lab/web $VIP 2)" "$(svc lab/web2 $VIP2 '')"
apply east "$(svc lab/web $VIP "3 4")"
expect_who "n2p1 n3p1 n4p1" 30
pass "global ClusterIP $VIP from west reaches backends of both clusters"

apply west "$(svc lab/web $VIP 2 'affinity: local')" "$(svc lab/web2 $VIP2 '')"
expect_who "n2p1" 15
cli 1 service list --clustermesh-affinity | tee "$PL_TMP/aff.txt"
grep -q "$(pod_ip 2) (west, active, preferred)" "$PL_TMP/aff.txt" || pl_fail "service list --clustermesh-affinity does not mark west's backend preferred"
apply west "$(svc lab/web $VIP '' 'affinity: local')" "$(svc lab/web2 $VIP2 '')"
expect_who "n3p1 n4p1" 20
apply west "$(svc lab/web $VIP 2 'affinity: local')" "$(svc lab/web2 $VIP2 '')"
expect_who "n2p1" 15
pass "affinity local: west's clients stay in west, fail over to east without west's backends, come back"

apply west "$(svc lab/web $VIP 2 'affinity: remote')" "$(svc lab/web2 $VIP2 '')"
expect_who "n3p1 n4p1" 20
cli 1 service list --clustermesh-affinity -o json |
  jq -e '[.[] | select(.name == "lab/web") | .clustermesh.backends[] | select(.cluster == "east" and .preferred)] | length == 2' >/dev/null ||
  pl_fail "affinity remote: east's backends are not marked preferred"
pass "affinity remote prefers east"

apply west "$(svc lab/web $VIP 2)" "$(svc lab/web2 $VIP2 '')"
apply east "$(svc lab/web $VIP "3 4" 'shared: false')"
expect_who "n2p1" 15
pass "shared: false keeps east's backends out of west"
apply east "$(svc lab/web $VIP "3 4")"
expect_who "n2p1 n3p1 n4p1" 30

# ---- east's etcd goes away and comes back ----
pid=$(cat "$RUN/etcd-east.pid")
mapfile -d '' etcd_cmd < "/proc/$pid/cmdline"
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
pl_wait_for "node1 to show east disconnected" 15 sh -c \
  "'$PODLANE' --socket '$RUN/node1.sock' clustermesh status -o json | jq -e '.clusters[0].connected == false'"
cli 1 clustermesh status | grep -q "^east: disconnected" || pl_fail "clustermesh status does not say east is disconnected"
expect_who "n2p1 n3p1 n4p1" 30
pass "east's etcd stopped: west shows it disconnected and keeps reaching east's backends"
apply east "$(svc lab/web $VIP "3 4")" "$(svc lab/web2 $VIP2 3)"
ip netns exec "${P}etcd-east" setsid "${etcd_cmd[@]}" >> "$RUN/etcd-east.log" 2>&1 < /dev/null &
echo $! > "$RUN/etcd-east.pid"
pl_wait_for "node1 to show east ready again" 30 ready 1
expect_who "n3p1" 10 "$VIP2"
cli 1 clustermesh status -o json | jq -e '.clusters[0].reconnects >= 1' >/dev/null || pl_fail "no reconnect counted"
pass "east's etcd back: ready again, and the service east added meanwhile reaches west"

pl_log "clustermesh test passed in $((SECONDS - T0))s"
echo "1 passed, 0 failed"
