#!/usr/bin/env bash
# Integration test: podlaned's Prometheus endpoint. Two pods ping each other
# and one pod pings an address no endpoint has; curl in the node namespace
# then scrapes /metrics and finds the traffic, the drop by reason, both pods'
# ports and the conntrack gauges. A second podlaned on the same address is
# refused with an error naming metrics.listen.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
source "$(dirname "$0")/lib.sh"

id=$$
NODE=plt-mnode-$id POD_A=plt-ma-$id POD_B=plt-mb-$id
A_IP=10.204.0.11 B_IP=10.204.0.12 NOWHERE=10.204.0.99
export PODLANE_SOCKET=$PL_TMP/api.sock

pl_netns "$NODE"; pl_netns "$POD_A"; pl_netns "$POD_B"

# node_yaml PREFIX SOCKET LISTEN [ENDPOINTS...]: a one-worker node config.
node_yaml() {
  cat <<YAML
node: {name: metrics-node}
dataplane: {worker_lcores: [1], lcore_map: "0@0,1@1", file_prefix: $1, idle_sleep_us: 100, rx_ring_size: 256, tx_ring_size: 256}
network: {pod_cidr: 10.204.0.0/24, gateway_ip: 10.204.0.1}
api: {socket: $2}
metrics: {listen: "$3"}
YAML
  shift 3
  [ $# -eq 0 ] || { echo "endpoints:"; printf '%s\n' "$@"; }
}
node_yaml "podlane-mit-$id" "$PODLANE_SOCKET" 127.0.0.1:0 \
  "  - {id: test/pod-a, ip: $A_IP, netns: $POD_A}" "  - {id: test/pod-b, ip: $B_IP, netns: $POD_B}" > "$PL_TMP/node.yaml"

pl_log "starting podlaned in $NODE with metrics on any free port"
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
ADDR=$("$PODLANE" status -o json | pl_json '.metrics')
case $ADDR in 127.0.0.1:0 | off | "") pl_fail "status shows metrics \"$ADDR\"" ;; 127.0.0.1:*) ;; *) pl_fail "unexpected metrics address $ADDR" ;; esac
"$PODLANE" status | grep -qE "^Metrics: +http://$ADDR/metrics$" || pl_fail "podlane status lacks the metrics URL"
grep -qF "metrics on http://$ADDR/metrics" "$PL_TMP/podlaned.log" || pl_fail "the start line lacks the metrics URL"
pl_log "metrics on $ADDR"

scrape() { ip netns exec "$NODE" curl -sf --max-time 5 "http://$ADDR/metrics" > "$PL_TMP/metrics.txt"; }
# value SERIES: the sample of SERIES (name with labels, exactly) in the last scrape; empty if absent.
value() { awk -v s="$1" '$1 == s { print $2 }' "$PL_TMP/metrics.txt"; }
# scraped_at_least SERIES N: scrapes until SERIES is at least N (the agent refreshes every 500 ms).
at_least() { scrape && awk -v s="$1" -v n="$2" '$1 == s { found = 1; ok = ($2 >= n) } END { exit !(found && ok) }' "$PL_TMP/metrics.txt"; }

pl_log "traffic: pod-a <-> pod-b, and one ping to $NOWHERE, which no endpoint has"
pl_ping "$POD_A" "$B_IP"
pl_ping "$POD_B" "$A_IP"
if ip netns exec "$POD_A" ping -n -c 1 -W 1 "$NOWHERE" > /dev/null; then pl_fail "ping to $NOWHERE was answered"; fi

pl_wait_for "the unknown_destination drop in /metrics" 10 at_least 'podlane_drop_count_total{reason="unknown_destination"}' 1
stats=$("$PODLANE" stats -o json)
grep -E '^podlane_(rx_packets_total|forward_count_total|drop_count_total\{reason="unknown_destination"|port_rx_packets_total|conntrack_)' "$PL_TMP/metrics.txt"
[ -z "${METRICS_KEEP:-}" ] || cp "$PL_TMP/metrics.txt" "$METRICS_KEEP"

rx=$(value podlane_rx_packets_total)
[ -n "$rx" ] && [ "$rx" -gt 0 ] || pl_check_fail "podlane_rx_packets_total is \"$rx\", expected > 0"
[ "$rx" -le "$(pl_json '.totals.rx_packets' <<<"$stats")" ] || pl_check_fail "scraped rx $rx is above what stats said later"
fwd=$(value podlane_forward_count_total)
[ -n "$fwd" ] && [ "$fwd" -ge 12 ] || pl_check_fail "podlane_forward_count_total is \"$fwd\", expected the 12 pings"
drops=$(value 'podlane_drop_count_total{reason="unknown_destination"}')
[ "$drops" -le "$(pl_json '.totals.drops.unknown_destination' <<<"$stats")" ] || pl_check_fail "scraped drops above stats"
grep -q '^# HELP podlane_drop_count_total Packets the dataplane dropped, by reason' "$PL_TMP/metrics.txt" ||
  pl_check_fail "no HELP line for podlane_drop_count_total"
grep -qx '# TYPE podlane_drop_count_total counter' "$PL_TMP/metrics.txt" || pl_check_fail "no TYPE line for podlane_drop_count_total"
reasons=$(pl_json '.totals.drops | length' <<<"$stats")
series=$(grep -c '^podlane_drop_count_total{reason="' "$PL_TMP/metrics.txt" || true)
[ "$series" = "$reasons" ] || pl_check_fail "$series drop series, expected one per reason ($reasons), zeros included"
[ "$(value 'podlane_drop_count_total{reason="ttl_exceeded"}')" = 0 ] || pl_check_fail "no zero series for ttl_exceeded"

for pod in test/pod-a test/pod-b; do
  for stat in rx_packets tx_packets rx_bytes tx_bytes; do
    v=$(value "podlane_port_${stat}_total{port=\"$pod\"}")
    [ -n "$v" ] && [ "$v" -gt 0 ] || pl_check_fail "podlane_port_${stat}_total{port=\"$pod\"} is \"$v\", expected > 0"
  done
  [ -n "$(value "podlane_port_rx_missed_total{port=\"$pod\"}")" ] || pl_check_fail "no rx_missed series for $pod"
done

[ -n "$(value podlane_conntrack_flows)" ] || pl_check_fail "no podlane_conntrack_flows"
cap=$(value podlane_conntrack_capacity_flows)
[ "$cap" = "$(pl_json '.conntrack.capacity' <<<"$stats")" ] || pl_check_fail "podlane_conntrack_capacity_flows is \"$cap\""
[ -n "$(value podlane_conntrack_insert_failures_total)" ] || pl_check_fail "no podlane_conntrack_insert_failures_total"
[ "$(value podlane_endpoints)" = 2 ] || pl_check_fail "podlane_endpoints is not 2"
[ "$(value podlane_agent_up)" = 1 ] || pl_check_fail "podlane_agent_up is not 1"
[ -n "$(value podlane_snapshot_publish_seconds_count)" ] && [ "$(value podlane_snapshot_publish_seconds_count)" -ge 1 ] ||
  pl_check_fail "no snapshot publication observed"
pl_checks_done

pl_log "deleting pod-b: its port series go away"
"$PODLANE" endpoint delete test/pod-b
gone() { scrape && ! grep -qF 'port="test/pod-b"' "$PL_TMP/metrics.txt"; }
pl_wait_for "pod-b's port series to go" 5 gone
[ "$(value podlane_endpoints)" = 1 ] || pl_fail "podlane_endpoints is not 1 after the delete"

pl_log "a second podlaned on the same address is refused, naming metrics.listen"
node_yaml "podlane-mit2-$id" "$PL_TMP/api2.sock" "$ADDR" > "$PL_TMP/second.yaml"
rc=0
timeout 30 ip netns exec "$NODE" "$PODLANED" --config "$PL_TMP/second.yaml" > "$PL_TMP/second.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || { cat "$PL_TMP/second.log"; pl_fail "the second podlaned exited $rc, expected 1"; }
grep -qF "podlaned: metrics.listen: cannot listen on $ADDR: Address already in use" "$PL_TMP/second.log" ||
  { cat "$PL_TMP/second.log"; pl_fail "unclear bind error"; }
[ ! -e "$PL_TMP/api2.sock" ] || pl_fail "the second podlaned left its API socket"
scrape || pl_fail "the first podlaned stopped serving metrics"

pl_log "SIGTERM: clean stop; the endpoint closes"
kill -TERM "$PL_PODLANED_PID"
rc=0; wait "$PL_PODLANED_PID" || rc=$?
[ $rc -eq 0 ] || pl_fail "podlaned exited with $rc"
if scrape; then pl_fail "metrics still served after podlaned stopped"; fi
pl_log "PASS"
