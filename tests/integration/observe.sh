#!/usr/bin/env bash
# Integration test: flow events (podlane observe). Two pods and a ClusterIP
# whose backend is pod B; observe.sample_every 1, so every packet is an event.
# Real ping and curl, then checks that podlane observe shows
#   - FORWARDED ICMP between the pods, found by --pod and --protocol;
#   - the curl to the ClusterIP TRANSLATED to pod B's address and port;
#   - a DROPPED packet with its reason (a ping to an address no pod has);
#   - with -f, events that happen after it started, as JSON lines;
#   - aggregation (observe.aggregate_ms 1000): 3 datagrams of one flow within
#     a second are one event; the flow's next event, after the interval,
#     carries the count of those aggregated into it;
#   - source and destination identities (the ipcache's).
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

id=$$
NODE=plt-onode-$id POD_A=plt-oa-$id POD_B=plt-ob-$id
export PODLANE_SOCKET=$PL_TMP/api.sock
pl_netns "$NODE"; pl_netns "$POD_A"; pl_netns "$POD_B"
cat > "$PL_TMP/node.yaml" <<YAML
node: {name: observe-node}
dataplane: {worker_lcores: [1], lcore_map: "0@0,1@1", file_prefix: podlane-obs-$id, idle_sleep_us: 100}
network: {pod_cidr: 10.208.0.0/24, gateway_ip: 10.208.0.1}
api: {socket: $PODLANE_SOCKET}
metrics: {enabled: false}
observe: {sample_every: 1}
services:
  - {name: test/web, cluster_ip: 10.96.8.1, ports: [{port: 80, target_port: 8080}], backends: [{ip: 10.208.0.12}]}
endpoints:
  - {id: test/pod-a, ip: 10.208.0.11, netns: $POD_A}
  - {id: test/pod-b, ip: 10.208.0.12, netns: $POD_B}
YAML
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
ip netns exec "$POD_B" python3 "$HERE/whoami_server.py" 0.0.0.0 8080 pod-b > /dev/null 2>&1 &
PL_PIDS+=("$!")

pl_log "traffic: ping A -> B, curl A -> ClusterIP, ping A -> nowhere"
pl_ping "$POD_A" 10.208.0.12
curl_web() { ip netns exec "$POD_A" curl -sf --max-time 2 http://10.96.8.1/whoami; }
pl_wait_for "curl to the ClusterIP" 10 curl_web
if ip netns exec "$POD_A" ping -n -c 1 -W 1 10.208.0.99 > /dev/null; then pl_fail "10.208.0.99 answered"; fi
sleep 0.2   # the agent drains the rings every 10 ms

"$PODLANE" observe --pod test/pod-a --last 10
"$PODLANE" observe --pod test/pod-b --protocol icmp --last 100 -o json > "$PL_TMP/icmp.json"
jq -s -e 'any(.[]; .verdict == "FORWARDED" and .source.pod == "test/pod-a" and .destination.pod == "test/pod-b")' \
  "$PL_TMP/icmp.json" > /dev/null || pl_fail "no FORWARDED ICMP event from pod-a to pod-b"
jq -s -e 'all(.[]; .protocol == "ICMP")' "$PL_TMP/icmp.json" > /dev/null || pl_fail "--protocol icmp let other protocols through"

"$PODLANE" observe --verdict translated --to-ip 10.96.8.1 --last 100 -o json > "$PL_TMP/xlate.json"
jq -s -e 'any(.[]; .destination.ip == "10.96.8.1" and .destination.port == 80 and
              .post_destination.ip == "10.208.0.12" and .post_destination.port == 8080 and .protocol == "TCP")' \
  "$PL_TMP/xlate.json" > /dev/null || pl_fail "no TRANSLATED event from the ClusterIP to pod-b:8080"

"$PODLANE" observe --verdict dropped --last 100 -o json > "$PL_TMP/drop.json"
jq -s -e 'any(.[]; .destination.ip == "10.208.0.99" and .drop_reason == "unknown_destination" and .source.pod == "test/pod-a")' \
  "$PL_TMP/drop.json" > /dev/null || pl_fail "no DROPPED unknown_destination event for the ping to 10.208.0.99"
stats_drops=$("$PODLANE" stats -o json | jq '.totals.drops.unknown_destination')
observed_drops=$(jq -s '[.[] | select(.drop_reason == "unknown_destination")] | length' "$PL_TMP/drop.json")
[ "$observed_drops" -eq "$stats_drops" ] || pl_fail "observe shows $observed_drops unknown_destination drops, stats count $stats_drops"

pl_log "following"
"$PODLANE" observe -f --from-pod test/pod-b --protocol udp -o json > "$PL_TMP/follow.json" 2>&1 &
follower=$!
PL_PIDS+=("$follower")
sleep 0.5
ip netns exec "$POD_B" python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 40999))
for _ in range(3): s.sendto(b'x', ('10.208.0.11', 9999))
time.sleep(1.3)   # past observe.aggregate_ms
s.sendto(b'x', ('10.208.0.11', 9999))"
udp_counts() { jq -s -c '[.[] | select(.protocol == "UDP" and .destination.port == 9999) | .count]' "$PL_TMP/follow.json"; }
for _ in $(seq 50); do [ "$(udp_counts)" = "[1,3]" ] && break; sleep 0.1; done
[ "$(udp_counts)" = "[1,3]" ] || { cat "$PL_TMP/follow.json"; "$PODLANE" observe --last 5
  pl_fail "observe -f: the 4 datagrams of one flow (3, then 1 after the aggregation interval) gave counts $(udp_counts), expected [1,3]"; }
"$PODLANE" observe --from-pod test/pod-b --protocol udp --last 50 | grep -q "(3 events aggregated)" ||
  pl_fail "the text output does not show the aggregated count"
jq -s -e '.[0] | .source.identity > 255 and .destination.identity > 255' "$PL_TMP/follow.json" > /dev/null ||
  pl_fail "events between two pods do not carry the pods' identities: $(head -1 "$PL_TMP/follow.json")"
kill "$follower" 2>/dev/null || true
pl_log "PASS: observe showed forwarded, translated and dropped packets, followed new ones, aggregated a flow's events and named identities"
