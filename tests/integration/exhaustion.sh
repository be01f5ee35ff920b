#!/usr/bin/env bash
# Integration test: table exhaustion in the real pipeline, on one node with
# small tables (config), with real UDP clients in pods.
#
#   - conntrack full (conntrack.max_flows 1024, one worker): a flood of new
#     UDP flows to a ClusterIP fills the table; the new flows beyond it are
#     dropped and counted as ct_full, while a flow opened before keeps
#     flowing; once the flood's flows expire (udp_timeout_s) new flows get
#     through again. podlane refuses rather than evicts (docs/config.md).
#
#   tests/integration/exhaustion.sh PODLANED PODLANE
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

id=$$
NODE=plx-node-$id POD_A=plx-a-$id POD_B=plx-b-$id
A_IP=10.202.0.11 B_IP=10.202.0.12 GW=10.202.0.1 VIP=10.96.0.50
SOCK=$PL_TMP/api.sock
export PODLANE_SOCKET=$SOCK
MAX_FLOWS=1024 UDP_TIMEOUT=4
pl_netns "$NODE"; pl_netns "$POD_A"; pl_netns "$POD_B"

cat > "$PL_TMP/node.yaml" <<YAML
node: {name: exhaustion}
dataplane:
  main_lcore: 0
  worker_lcores: [1]
  lcore_map: "0@0,1@1"
  file_prefix: podlane-x-$id
  mbufs: 8191
  idle_sleep_us: 100
network:
  pod_cidr: 10.202.0.0/24
  gateway_ip: $GW
conntrack:
  max_flows: $MAX_FLOWS
  udp_timeout_s: $UDP_TIMEOUT
  gc_interval_ms: 200
api: {socket: $SOCK}
endpoints:
  - {id: test/a, ip: $A_IP, netns: $POD_A}
  - {id: test/b, ip: $B_IP, netns: $POD_B}
services:
  - name: default/echo
    cluster_ip: $VIP
    ports: [{protocol: UDP, port: 7, target_port: 7007}]
    backends: [{ip: $B_IP}]
YAML
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
ip netns exec "$POD_B" /usr/bin/python3 "$HERE/udp_echo.py" 0.0.0.0 7007 b "$PL_TMP/echo-b.log" &
PL_PIDS+=("$!")
pl_wait_for "the UDP echo server in pod b" 15 sh -c "ip netns exec $POD_B ss -Hlun 'sport = :7007' | grep -q 7007"
stat() { "$PODLANE" stats -o json | pl_json "$1"; }

# ------------------------------------------------------------- conntrack full
cap=$(stat .conntrack.capacity)
flood=$((cap + 300))
pl_log "conntrack full: one established flow, then $flood new flows to $VIP:7 (capacity $cap)"
full0=$(stat .totals.drops.ct_full)
out=$(ip netns exec "$POD_A" /usr/bin/python3 "$HERE/udp_fill.py" "$VIP" 7 "$flood")
pl_log "udp_fill: $out"
full1=$(stat .totals.drops.ct_full)
flows=$(stat .conntrack.flows)
jq -e '.established_before' <<<"$out" >/dev/null || pl_fail "the established flow got no answer before the flood: $out"
answered=$(pl_json .new_answered <<<"$out")
[ "$answered" -lt "$flood" ] || pl_fail "all $flood new flows were answered: the table of $cap never refused one"
[ "$answered" -ge $((cap - 64)) ] || pl_fail "only $answered of $flood new flows were answered; the table holds $cap"
refused=$((flood - answered))
[ $((full1 - full0)) -ge "$refused" ] ||
  pl_fail "$refused new flows got no answer but ct_full counted only $((full1 - full0))"
jq -e '.established_after' <<<"$out" >/dev/null ||
  pl_fail "the established flow stopped flowing when the table filled: $out"
pl_log "PASS: table full at $flows of $cap flows: $answered new flows answered, $refused refused and counted (ct_full +$((full1 - full0))); the established flow still answers"

pl_log "waiting for the flood's flows to expire (udp_timeout_s $UDP_TIMEOUT)"
pl_wait_for "the conntrack table to empty" $((UDP_TIMEOUT + 15)) sh -c "[ \$('$PODLANE' stats -o json | jq .conntrack.flows) -lt 10 ]"
out=$(ip netns exec "$POD_A" /usr/bin/python3 "$HERE/udp_fill.py" "$VIP" 7 50)
full2=$(stat .totals.drops.ct_full)
jq -e '.established_before and .new_answered == 50 and .established_after' <<<"$out" >/dev/null ||
  pl_fail "after expiry, new flows should all get through: $out"
[ "$full2" = "$full1" ] || pl_fail "ct_full grew after expiry: $full1 -> $full2"
pl_log "PASS: after expiry 50 new flows all answered, ct_full unchanged ($full2)"

pl_log "PASS (exhaustion)"
