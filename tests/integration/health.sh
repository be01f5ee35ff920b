#!/usr/bin/env bash
# Integration test: node health like cilium-health in a 3-node lab
# (scripts/lab.sh, vxlan). Every podlaned probes every node's IP and health
# endpoint (the last address of its PodCIDR, a pod of podlane's own) by ICMP
# and by HTTP on port 4240, every health.interval_ms (1 s here). Checks:
#  - `podlane health status` shows 3 nodes, each with host and endpoint
#    connectivity OK by ICMP and HTTP with RTTs, as cilium-health status does;
#  - `podlane status` says "Cluster health: 3/3 reachable";
#  - from outside podlane (the lab's external host), curl reaches the
#    responder on node IP:4240 and on a health endpoint, and ping the endpoint;
#  - node3's fabric link set down: node1 and node2 report 2/3 within two
#    probe intervals (node3 FAILED in the per-node view), and the metrics
#    podlane_unreachable_nodes / podlane_unreachable_health_endpoints say 1;
#  - link up again: 3/3.
#
#   tests/integration/health.sh PODLANED PODLANE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PODLANED PODLANE" >&2; exit 2; }
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export PODLANED PODLANE

N=3
P=plh$$-
RUN=/run/podlane/lab-$P
LAB=$REPO/scripts/lab.sh
INTERVAL_MS=1000
cli() { local i=$1; shift; "$PODLANE" --socket "$RUN/node$i.sock" "$@"; }
node_ip() { echo "192.168.50.$((10 + $1))"; }
health_ip() { echo "10.210.$1.254"; }

FRAG=$(mktemp)
teardown() {
  if [ "$PL_RC" -ne 0 ] && [ -d "$RUN" ]; then
    local i
    for i in $(seq $N); do
      echo "==== node$i: health status, log tail ===="
      cli "$i" health status 2>&1 || true
      tail -n 20 "$RUN/node$i.log" 2>/dev/null || true
    done
  fi
  "$LAB" down --prefix "$P" || true
  rm -f "$FRAG"
}
pl_on_exit teardown
PL_NETNS+=("${P}fab" "${P}ext")
for i in $(seq $N); do PL_NETNS+=("${P}node$i" "${P}n${i}p1"); done

cat > "$FRAG" <<EOT
health:
  interval_ms: $INTERVAL_MS
  timeout_ms: 400
EOT
pl_log "lab up: $N nodes, vxlan, health every ${INTERVAL_MS} ms"
"$LAB" up --nodes $N --mode vxlan --prefix "$P" --pods 1 --services "$FRAG"

# reachable_is I WANT: node I's last round says WANT/3 reachable.
reachable_is() {
  cli "$1" health status -o json | jq -e --argjson want "$2" '.rounds > 0 and .reachable == $want and .total == 3' >/dev/null
}

# ------------------------------------------------------------- all reachable
for i in $(seq $N); do
  pl_wait_for "node$i to report 3/3 reachable" 20 reachable_is "$i" 3
done
out=$(cli 1 health status)
pl_log "node1: podlane health status"; echo "$out"
for j in $(seq $N); do
  grep -q "Host connectivity to $(node_ip "$j"):" <<<"$out" || pl_fail "no host connectivity line for node$j"
  grep -q "Endpoint connectivity to $(health_ip "$j"):" <<<"$out" || pl_fail "no endpoint connectivity line for node$j"
done
[ "$(grep -cE '^      ICMP to stack:   OK, RTT=[0-9.]+(µs|ms)$' <<<"$out")" = 6 ] || pl_fail "expected 6 ICMP OK lines with an RTT"
[ "$(grep -cE '^      HTTP to agent:   OK, RTT=[0-9.]+(µs|ms)$' <<<"$out")" = 6 ] || pl_fail "expected 6 HTTP OK lines with an RTT"
grep -q "^  node1 (localhost):" <<<"$out" || pl_fail "node1 is not marked localhost"
st=$(cli 1 status)
grep -qE '^Cluster health: +3/3 reachable +\([0-9T:-]+Z\)$' <<<"$st" || pl_fail "status has no 'Cluster health: 3/3 reachable' line: $st"
verbose=$(cli 1 status --verbose)
grep -q "^    Endpoint connectivity to $(health_ip 3):" <<<"$verbose" || pl_fail "status --verbose has no per-node health"

# The health endpoint is an endpoint with Cilium's reserved health identity.
cli 1 endpoint list -o json | jq -e --arg ip "$(health_ip 1)" '[.[] | select(.id == "health" and .ip == $ip)] | length == 1' >/dev/null ||
  pl_fail "node1 lists no endpoint 'health' with $(health_ip 1)"
cli 1 identity list -o json | jq -e '[.[] | select(.id == 4 and .endpoints == 1)] | length == 1' >/dev/null ||
  pl_fail "identity 4 (reserved:health) has not one endpoint on node1"

# From outside podlane's prober: the lab's external host.
body=$(ip netns exec "${P}ext" curl -sf --max-time 3 "http://$(node_ip 2):4240/hello") || pl_fail "curl node2's IP:4240 failed"
[ "$body" = "podlane-health node=node2" ] || pl_fail "node2's responder said '$body'"
ip netns exec "${P}ext" ping -c 2 -W 2 "$(health_ip 2)" >/dev/null 2>&1 && pl_fail "the external host reached node2's health endpoint without a route (vxlan lab)"
body=$(ip netns exec "${P}n1p1" curl -sf --max-time 3 "http://$(health_ip 2):4240/") || pl_fail "pod n1p1 cannot curl node2's health endpoint"
[ "$body" = "podlane-health node=node2" ] || pl_fail "node2's health endpoint said '$body'"
pl_ping_ok "${P}n1p1" "$(health_ip 3)"

# ------------------------------------------------------------- node3 down
ip -n "${P}fab" link set node3 down
T0=$(date +%s%N)
for i in 1 2; do
  pl_wait_for "node$i to report 2/3 reachable" 10 reachable_is "$i" 2
done
took_ms=$((($(date +%s%N) - T0) / 1000000))
pl_log "2/3 reachable on node1 and node2 after ${took_ms} ms (probe interval ${INTERVAL_MS} ms)"
[ "$took_ms" -le $((2 * INTERVAL_MS + 1500)) ] || pl_fail "took ${took_ms} ms, more than two probe intervals (+ a round's timeout and polling)"
st=$(cli 1 status)
grep -qE '^Cluster health: +2/3 reachable' <<<"$st" || pl_fail "status does not say 2/3 reachable: $(grep Cluster <<<"$st")"
out=$(cli 1 health status)
awk '/^  node3:/{f=1} f' <<<"$out" | grep -q "ICMP to stack:   FAILED" || pl_fail "node3's ICMP is not FAILED: $out"
m=$(ip netns exec "${P}node1" curl -sf http://127.0.0.1:9962/metrics)
grep -qx 'podlane_unreachable_nodes 1' <<<"$m" || pl_fail "podlane_unreachable_nodes is not 1: $(grep unreachable <<<"$m")"
grep -qx 'podlane_unreachable_health_endpoints 1' <<<"$m" || pl_fail "podlane_unreachable_health_endpoints is not 1"
grep -q '^podlane_node_connectivity_latency_seconds{.*target_node_name="node2".*} [0-9.e-]*$' <<<"$m" ||
  pl_fail "no latency for node2 in the metrics"

# ------------------------------------------------------------- node3 back
ip -n "${P}fab" link set node3 up
for i in 1 2 3; do
  pl_wait_for "node$i to report 3/3 reachable again" 20 reachable_is "$i" 3
done
grep -qE '^Cluster health: +3/3 reachable' <<<"$(cli 1 status)" || pl_fail "status does not say 3/3 again"
pl_log "PASS: health 3/3 -> 2/3 in ${took_ms} ms -> 3/3"
