#!/usr/bin/env bash
# Integration test: table exhaustion in the real pipeline, on one node with
# small tables (config), with real UDP clients in pods.
#
#   - conntrack full (conntrack.max_flows 1024, one worker): a flood of new
#     UDP flows to a ClusterIP fills the table; the new flows beyond it are
#     dropped and counted as ct_full, while a flow opened before keeps
#     flowing; once the flood's flows expire (udp_timeout_s) new flows get
#     through again. podlane refuses rather than evicts (docs/config.md).
#   - SNAT ports exhausted for one destination (a one-node scripts/lab.sh,
#     masquerade.port_range of 8 ports): new flows from a pod to the external
#     host's port 7007 beyond 8 are dropped and counted nat_port_exhausted,
#     while flows to another destination (port 7008) all get through
#   - the hold queue full: a burst to an address on the uplink's subnet that
#     never answers ARP fills the worker's hold queue (64 packets); the rest
#     is dropped and counted no_neighbour, and the pod's ping to the external
#     host goes on meanwhile
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

# ------------------------------------------------------ SNAT ports, hold queue
P=plx$$-
RUN=/run/podlane/lab-$P
LAB=$HERE/../../scripts/lab.sh
EXT_IP=192.168.50.1
cat > "$PL_TMP/lab-extra.yaml" <<YAML
masquerade:
  port_range: 40000-40007
YAML
lab_down() { "$LAB" down --prefix "$P" >/dev/null 2>&1 || true; }
pl_on_exit lab_down
PL_NETNS+=("${P}fab" "${P}ext" "${P}node1" "${P}n1p1")
pl_log "one-node lab with masquerade.port_range 40000-40007"
PODLANED=$PODLANED PODLANE=$PODLANE "$LAB" up --nodes 1 --pods 1 --mode vxlan --prefix "$P" --services "$PL_TMP/lab-extra.yaml" \
  > "$PL_TMP/lab.log" 2>&1 || { cat "$PL_TMP/lab.log"; pl_fail "scripts/lab.sh up failed"; }
lcli() { "$PODLANE" --socket "$RUN/node1.sock" "$@"; }
lstat() { lcli stats -o json | pl_json "$1"; }
for port in 7007 7008; do
  ip netns exec "${P}ext" /usr/bin/python3 "$HERE/udp_echo.py" "$EXT_IP" $port ext "$PL_TMP/echo-$port.log" &
  PL_PIDS+=("$!")
done
pl_wait_for "the UDP echo servers on the external host" 15 sh -c "ip netns exec ${P}ext ss -Hlun | grep -q ':7008'"

pl_log "SNAT ports: 20 new flows to $EXT_IP:7007 with 8 ports, then 5 to $EXT_IP:7008"
ex0=$(lstat .totals.drops.nat_port_exhausted)
out=$(ip netns exec "${P}n1p1" /usr/bin/python3 "$HERE/udp_fill.py" "$EXT_IP" 7007 20)
ex1=$(lstat .totals.drops.nat_port_exhausted)
jq -e '.established_before and .established_after and .new_answered == 7' <<<"$out" >/dev/null ||
  pl_fail "to $EXT_IP:7007: expected the established flow and 7 new ones (8 ports) answered: $out"
[ $((ex1 - ex0)) -ge 13 ] || pl_fail "13 new flows found no port, but nat_port_exhausted grew by $((ex1 - ex0))"
out2=$(ip netns exec "${P}n1p1" /usr/bin/python3 "$HERE/udp_fill.py" "$EXT_IP" 7008 5)
jq -e '.established_before and .new_answered == 5 and .established_after' <<<"$out2" >/dev/null ||
  pl_fail "another destination ($EXT_IP:7008) should not be affected: $out2"
pl_log "PASS: 8 ports to $EXT_IP:7007 in use, 13 more flows refused (nat_port_exhausted +$((ex1 - ex0))); all 6 flows to :7008 answered"

pl_log "hold queue: 400 datagrams to 192.168.50.99 (no such host) while n1p1 pings $EXT_IP"
h0=$(lstat .totals.held) nn0=$(lstat .totals.drops.no_neighbour)
ip netns exec "${P}n1p1" ping -c 10 -i 0.1 -W 2 "$EXT_IP" > "$PL_TMP/ping.log" 2>&1 &
ping_pid=$!
ip netns exec "${P}n1p1" /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(400):
    s.sendto(b"x" * 64, ("192.168.50.99", 9999))'
wait "$ping_pid" || pl_fail "the ping to $EXT_IP failed while the hold queue was full: $(tail -n 3 "$PL_TMP/ping.log")"
sleep 1.5 # held packets give up after 0.5 s
h1=$(lstat .totals.held) nn1=$(lstat .totals.drops.no_neighbour)
[ $((h1 - h0)) -ge 1 ] && [ $((h1 - h0)) -le 128 ] ||
  pl_fail "the hold queue (64 a worker) held $((h1 - h0)) of 400 packets"
[ $((nn1 - nn0)) -ge 300 ] || pl_fail "400 packets (300 at least reach podlane) to an unresolvable next hop, but no_neighbour grew by $((nn1 - nn0))"
pl_log "PASS: held $((h1 - h0)), no_neighbour +$((nn1 - nn0)) of 400; ping to $EXT_IP: $(grep -o '[0-9]* received' "$PL_TMP/ping.log")"

pl_log "PASS (exhaustion)"
