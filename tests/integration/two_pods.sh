#!/usr/bin/env bash
# Integration test: podlaned in a node namespace attaches two pods over
# hot-plugged DPDK TAP ports (one from the config, one over the API); real
# ping and TCP (curl over HTTP, iperf3) cross the dataplane both ways;
# traceroute shows the gateway as podlane's hop; deleting
# an endpoint unplugs its port and its traffic is dropped as
# unknown_destination.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
source "$(dirname "$0")/lib.sh"

id=$$
NODE=plt-node-$id POD_A=plt-a-$id POD_B=plt-b-$id
A_IP=10.201.0.11 B_IP=10.201.0.12 GW=10.201.0.1
SOCK=$PL_TMP/api.sock
export PODLANE_SOCKET=$SOCK

pl_netns "$NODE"; pl_netns "$POD_A"; pl_netns "$POD_B"

cat > "$PL_TMP/node.yaml" <<YAML
node: {name: it-node}
dataplane:
  main_lcore: 0
  worker_lcores: [1, 2]      # two workers on this 2-CPU machine: pods land on different workers
  lcore_map: "0@0,1@1,2@0"
  file_prefix: podlane-it-$id
  mbufs: 8191
  rx_ring_size: 256
  tx_ring_size: 256
  idle_sleep_us: 100
network:
  pod_cidr: 10.201.0.0/24
  gateway_ip: $GW
api: {socket: $SOCK}
endpoints:
  - id: test/pod-a
    ip: $A_IP
    netns: $POD_A
    labels: {app: client}
YAML

pl_log "config check"
"$PODLANED" --check-config "$PL_TMP/node.yaml"

pl_log "starting podlaned in $NODE"
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
"$PODLANE" status

pl_log "attaching pod-b over the API"
"$PODLANE" endpoint add --id test/pod-b --ip "$B_IP" --netns "$POD_B" --label app=web
[ "$("$PODLANE" endpoint list -o json | pl_json 'length')" = 2 ] || pl_fail "expected 2 endpoints"
"$PODLANE" endpoint list

pl_log "pod interfaces: address, MAC and default route via the gateway"
ip -n "$POD_B" -j addr show dev eth0 | jq -e --arg ip "$B_IP" '.[0].addr_info | any(.local == $ip and .prefixlen == 32)' >/dev/null \
  || pl_fail "pod-b eth0 lacks $B_IP/32"
ip -n "$POD_B" -j link show dev eth0 | jq -e '.[0].address == "0a:58:0a:c9:00:0c"' >/dev/null \
  || pl_fail "pod-b eth0 has the wrong MAC"
ip -n "$POD_A" route show default | grep -q "via $GW" || pl_fail "pod-a has no default route via $GW"

pl_log "ping: gateway, A->B (captured in pod-b), B->A"
ip netns exec "$POD_A" ping -c 3 -i 0.2 -W 2 "$GW"
ip netns exec "$POD_B" tcpdump --immediate-mode -i eth0 -nn -e -v -c 5 -w "$PL_TMP/b.pcap" icmp and src host "$A_IP" \
  > "$PL_TMP/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
PL_PIDS+=("$TCPDUMP_PID")
pl_wait_for "tcpdump in pod-b" 10 grep -q "listening on" "$PL_TMP/tcpdump.log"
ip netns exec "$POD_A" ping -c 5 -i 0.2 -W 2 "$B_IP"
wait "$TCPDUMP_PID" || pl_fail "tcpdump in pod-b did not see 5 echo requests"
# On the wire in pod-b: from the gateway MAC to pod-b's MAC, TTL decremented once.
tcpdump -r "$PL_TMP/b.pcap" -nn -e -v 2>/dev/null > "$PL_TMP/b.txt"
cat "$PL_TMP/b.txt" | head -n 4
[ "$(grep -c "0a:58:0a:c9:00:01 > 0a:58:0a:c9:00:0c" "$PL_TMP/b.txt")" = 5 ] || pl_fail "frames in pod-b do not come from the gateway MAC"
[ "$(grep -c "ttl 63" "$PL_TMP/b.txt")" = 5 ] || pl_fail "TTL was not decremented exactly once"
ip netns exec "$POD_B" ping -c 5 -i 0.2 -W 2 "$A_IP"

pl_log "traceroute A->B: podlane's hop is the gateway (ICMP time exceeded for TTL 1), then B"
command -v traceroute >/dev/null || pl_fail "traceroute is missing (scripts/install-deps.sh installs it)"
tr=$(ip netns exec "$POD_A" traceroute -n -q 1 -w 2 -m 4 "$B_IP" 2>&1) || pl_fail "traceroute failed: $tr"
echo "$tr"
hops=$(awk 'NR > 1 {print $1 "=" $2}' <<<"$tr" | paste -sd' ')
[ "$hops" = "1=$GW 2=$B_IP" ] || pl_fail "traceroute A->B: expected hops 1=$GW 2=$B_IP, got: $hops"

pl_log "TCP: HTTP download B->A, checked byte for byte"
mkdir -p "$PL_TMP/www"
head -c 2000000 /dev/urandom > "$PL_TMP/www/blob"
ip netns exec "$POD_B" /usr/bin/python3 "$(dirname "$0")/http_server.py" "$B_IP" 8080 "$PL_TMP/www" \
  > "$PL_TMP/http.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "the HTTP server in pod-b" 10 ip netns exec "$POD_A" curl -sf -o /dev/null "http://$B_IP:8080/"
ip netns exec "$POD_A" curl -sf --max-time 20 -o "$PL_TMP/blob.got" "http://$B_IP:8080/blob"
cmp "$PL_TMP/www/blob" "$PL_TMP/blob.got" || pl_fail "downloaded file differs"
grep -q "\"GET /blob HTTP/1.1\" 200" "$PL_TMP/http.log" || pl_fail "server did not log the download"
grep -q "^$A_IP " "$PL_TMP/http.log" || pl_fail "server did not see pod-a's IP as the client"

pl_log "TCP: iperf3 A->B"
ip netns exec "$POD_B" iperf3 -s -1 -B "$B_IP" > "$PL_TMP/iperf-server.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "iperf3 server" 10 sh -c "ip netns exec $POD_B ss -ltn | grep -q ':5201'"
ip netns exec "$POD_A" iperf3 -c "$B_IP" -t 2 -J > "$PL_TMP/iperf.json"
bps=$(pl_json '.end.sum_received.bits_per_second' < "$PL_TMP/iperf.json")
pl_log "iperf3 A->B: $(awk -v b="$bps" 'BEGIN{printf "%.1f Mbit/s", b/1e6}')"
awk -v b="$bps" 'BEGIN{exit !(b > 1e6)}' || pl_fail "iperf3 moved under 1 Mbit/s"

stats=$("$PODLANE" stats -o json)
fwd=$(pl_json '.totals.forwarded' <<<"$stats")
arp=$(pl_json '.totals.arp_replies' <<<"$stats")
[ "$fwd" -gt 1000 ] || pl_fail "expected over 1000 forwarded packets, got $fwd"
[ "$arp" -ge 2 ] || pl_fail "expected ARP replies from the gateway, got $arp"
"$PODLANE" stats

before=$(pl_json '.totals.drops.unknown_destination' <<<"$stats")
[ "$before" = 0 ] || pl_fail "$before packets went to unknown destinations before any delete"
pl_log "deleting pod-b: its port is unplugged and its traffic is dropped"
"$PODLANE" endpoint delete test/pod-b
if ip -n "$POD_B" link show eth0 >/dev/null 2>&1; then pl_fail "pod-b eth0 still exists after delete"; fi
[ "$("$PODLANE" endpoint list -o json | pl_json 'length')" = 1 ] || pl_fail "expected 1 endpoint"
if ip netns exec "$POD_A" ping -c 4 -i 0.2 -W 1 "$B_IP"; then pl_fail "ping to a deleted pod succeeded"; fi
after=$("$PODLANE" stats -o json | pl_json '.totals.drops.unknown_destination')
pl_log "unknown_destination drops: $before -> $after"
[ "$after" -ge $((before + 4)) ] || pl_fail "the 4 pings to the deleted pod were not counted as unknown_destination"
ip netns exec "$POD_A" ping -c 2 -i 0.2 -W 2 "$GW" >/dev/null || pl_fail "pod-a lost its gateway"

pl_log "deleting an unknown endpoint is a clear error"
if out=$("$PODLANE" endpoint delete test/nope 2>&1); then pl_fail "deleting an unknown endpoint succeeded"; fi
grep -q "does not exist" <<<"$out" || pl_fail "unclear error: $out"

pl_log "SIGTERM: clean stop with final counters"
kill -TERM "$PL_PODLANED_PID"
rc=0; wait "$PL_PODLANED_PID" || rc=$?
[ $rc -eq 0 ] || pl_fail "podlaned exited with $rc"
grep -q "final counters" "$PL_TMP/podlaned.log" || pl_fail "no final counters printed"
grep -q "unknown_destination" "$PL_TMP/podlaned.log" || pl_fail "final counters lack the drop reasons"
# Pod TAPs outlive podlaned (docs/restart.md): the next podlaned re-attaches them.
ip -n "$POD_A" -4 addr show dev eth0 | grep -q "inet $A_IP/32" || pl_fail "pod-a eth0 or its address did not outlive podlaned"
pl_log "PASS"
