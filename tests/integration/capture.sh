#!/usr/bin/env bash
# Integration test: podlane capture writes what podlane's ports receive to a
# pcapng file that tshark reads: a filtered ping capture stops at its count
# with exactly the echo requests and replies, each on the interface of the
# port it arrived on; a duration-bound capture of UDP to one port holds only
# those datagrams; bad filters and a second concurrent capture are refused.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
source "$(dirname "$0")/lib.sh"

id=$$
NODE=plcap-node-$id POD_A=plcap-a-$id POD_B=plcap-b-$id
A_IP=10.205.0.11 B_IP=10.205.0.12
SOCK=$PL_TMP/api.sock
export PODLANE_SOCKET=$SOCK
pl_netns "$NODE"; pl_netns "$POD_A"; pl_netns "$POD_B"

cat > "$PL_TMP/node.yaml" <<YAML
node: {name: cap-node}
dataplane: {main_lcore: 0, worker_lcores: [1], file_prefix: podlane-cap-$id, rx_ring_size: 256, tx_ring_size: 256, idle_sleep_us: 100}
network: {pod_cidr: 10.205.0.0/24, gateway_ip: 10.205.0.1}
api: {socket: $SOCK}
metrics: {enabled: false}
endpoints:
  - {id: test/a, ip: $A_IP, netns: $POD_A}
  - {id: test/b, ip: $B_IP, netns: $POD_B}
YAML
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
pl_ping "$POD_A" "$B_IP" # warm: neighbours resolved before the capture

pl_log "bad filters are refused with the reason"
for bad in "host 10.1.2" "port 70000" "pod nobody" "tcp or udp" "src tcp"; do
  rc=0; out=$("$PODLANE" capture -w "$PL_TMP/bad.pcapng" --filter "$bad" 2>&1) || rc=$?
  [ "$rc" != 0 ] && grep -q "capture filter" <<<"$out" || pl_fail "filter \"$bad\" was not refused: $out"
done
pl_log "e.g. $out"

pl_log "capture 'icmp and pod test/b' -c 6 while pod-a pings pod-b 3 times"
"$PODLANE" capture -w "$PL_TMP/ping.pcapng" --filter "icmp and pod test/b" -c 6 > "$PL_TMP/cap1.out" 2> "$PL_TMP/cap1.err" &
cap=$!
pl_wait_for "the capture to run" 10 sh -c "'$PODLANE' capture status | grep -q '^running'"
rc=0; out=$("$PODLANE" capture -w "$PL_TMP/other.pcapng" 2>&1) || rc=$?
[ "$rc" != 0 ] && grep -q "a capture is running" <<<"$out" || pl_fail "a second capture was not refused: $out"
# TCP to a closed port (SYN, RST): traffic between the same pods that must
# not be captured.
for _ in 1 2 3; do ip netns exec "$POD_A" timeout 2 bash -c "echo > /dev/tcp/$B_IP/9" 2>/dev/null || true; done
pl_ping "$POD_A" "$B_IP"
for _ in $(seq 50); do kill -0 $cap 2>/dev/null || break; sleep 0.1; done
kill -0 $cap 2>/dev/null && pl_fail "podlane capture did not stop after 6 packets: $(cat "$PL_TMP/cap1.err")"
wait $cap || pl_fail "podlane capture failed: $(cat "$PL_TMP/cap1.err" "$PL_TMP/cap1.out")"
cat "$PL_TMP/cap1.out"
grep -q "^6 packets written" "$PL_TMP/cap1.out" || pl_fail "summary: $(cat "$PL_TMP/cap1.out")"
tshark -r "$PL_TMP/ping.pcapng" -T fields -e frame.interface_name -e ip.src -e ip.dst -e icmp.type \
  > "$PL_TMP/ping.txt" 2> "$PL_TMP/tshark.err" || pl_fail "tshark cannot read the file: $(cat "$PL_TMP/tshark.err")"
cat "$PL_TMP/ping.txt"
[ "$(wc -l < "$PL_TMP/ping.txt")" = 6 ] || pl_fail "expected 6 packets in the file"
[ "$(awk -v a="$A_IP" -v b="$B_IP" '$2 == a && $3 == b && $4 == 8' "$PL_TMP/ping.txt" | wc -l)" = 3 ] ||
  pl_fail "expected 3 echo requests $A_IP -> $B_IP"
[ "$(awk -v a="$A_IP" -v b="$B_IP" '$2 == b && $3 == a && $4 == 0' "$PL_TMP/ping.txt" | wc -l)" = 3 ] ||
  pl_fail "expected 3 echo replies $B_IP -> $A_IP"
# Requests arrive on pod-a's port, replies on pod-b's: two interfaces.
req_if=$(awk '$4 == 8 {print $1}' "$PL_TMP/ping.txt" | sort -u)
rep_if=$(awk '$4 == 0 {print $1}' "$PL_TMP/ping.txt" | sort -u)
[ "$(wc -l <<<"$req_if")" = 1 ] && [ "$(wc -l <<<"$rep_if")" = 1 ] && [ "$req_if" != "$rep_if" ] ||
  pl_fail "requests on '$req_if', replies on '$rep_if': expected one interface each, different"
pl_log "requests on interface $req_if, replies on $rep_if"

pl_log "capture 'udp and dst port 7777' for 2 s while pod-a sends to ports 7777 and 7778"
"$PODLANE" capture -w "$PL_TMP/udp.pcapng" --filter "udp and dst port 7777" --duration 2 -o json > "$PL_TMP/cap2.json" &
cap=$!
pl_wait_for "the capture to run" 10 sh -c "'$PODLANE' capture status | grep -q '^running'"
ip netns exec "$POD_A" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(50):
    s.sendto(b'x' * 100, ('$B_IP', 7777)); s.sendto(b'y' * 100, ('$B_IP', 7778))"
wait $cap || pl_fail "the duration capture failed"
jq -e '.running == false and .packets == 50 and .lost == 0' "$PL_TMP/cap2.json" >/dev/null ||
  pl_fail "duration capture summary: $(cat "$PL_TMP/cap2.json")"
n=$(tshark -r "$PL_TMP/udp.pcapng" -Y "udp.dstport == 7777 && ip.src == $A_IP && frame.len == 142" 2>/dev/null | wc -l)
all=$(tshark -r "$PL_TMP/udp.pcapng" 2>/dev/null | wc -l)
[ "$n" = 50 ] && [ "$all" = 50 ] || pl_fail "udp.pcapng holds $all packets, $n of them pod-a -> :7777 (142 bytes); expected 50 and 50"
"$PODLANE" capture status | grep -q "^stopped: 50 packets" || pl_fail "capture status after the end: $("$PODLANE" capture status)"

pl_log "PASS"
