#!/usr/bin/env bash
# Integration test: hitless service updates. A pod sends steady UDP traffic
# (64 flows) to a ClusterIP while service_churn.py sends 1,000 service
# updates per second through the API for 5 s; every 20th moves the
# ClusterIP's backends between subsets of four backend pods, the rest change
# 50 other services. Passes when
#   - the updates ran at 1,000 per second (at least 950 answered per second),
#   - no datagram was lost (every one was answered by some backend),
#   - no backend received a datagram sent after the update that removed it
#     was answered (the publish and its grace period were over) and at least
#     QUEUE_MS before the update that brought it back was sent (a datagram may
#     wait that long in the pod's socket and TAP queues before a worker sees
#     it, and then rightly reach the backend again), and
#   - the dataplane dropped nothing.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

id=$$
NODE=plt-hnode-$id CLIENT=plt-hc-$id
B_NS=(plt-hb1-$id plt-hb2-$id plt-hb3-$id plt-hb4-$id)
B_IP=(10.205.0.21 10.205.0.22 10.205.0.23 10.205.0.24)
export PODLANE_SOCKET=$PL_TMP/api.sock
RATE=${HITLESS_RATE:-1000} SECONDS_RUN=${HITLESS_SECONDS:-5}

pl_netns "$NODE"; pl_netns "$CLIENT"
for ns in "${B_NS[@]}"; do pl_netns "$ns"; done

{
  cat <<YAML
node: {name: hitless-node}
dataplane: {worker_lcores: [1], lcore_map: "0@0,1@1", file_prefix: podlane-hit-$id, idle_sleep_us: 50}
network: {pod_cidr: 10.205.0.0/24, gateway_ip: 10.205.0.1}
api: {socket: $PODLANE_SOCKET}
metrics: {enabled: false}
services:
  - name: hitless/churn
    cluster_ip: 10.96.0.50
    ports: [{protocol: UDP, port: 53, target_port: 5353}]
    backends: [{ip: ${B_IP[0]}}, {ip: ${B_IP[1]}}, {ip: ${B_IP[2]}}, {ip: ${B_IP[3]}}]
endpoints:
  - {id: hitless/client, ip: 10.205.0.11, netns: $CLIENT}
YAML
  for i in 0 1 2 3; do echo "  - {id: hitless/b$((i + 1)), ip: ${B_IP[i]}, netns: ${B_NS[i]}}"; done
} > "$PL_TMP/node.yaml"

pl_log "starting podlaned with a client pod and four UDP echo backends"
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
for i in 0 1 2 3; do
  ip netns exec "${B_NS[i]}" python3 "$HERE/udp_echo.py" 0.0.0.0 5353 "b$((i + 1))" "$PL_TMP/b$((i + 1)).log" &
  PL_PIDS+=("$!")
done
# Every backend answers before the churn starts.
warm() { ip netns exec "$CLIENT" python3 "$HERE/udp_flows.py" 10.96.0.50 53 16 200 1 > "$PL_TMP/warm.json" &&
         jq -e '.lost_count == 0 and (.by_backend | length) == 4' "$PL_TMP/warm.json"; }
pl_wait_for "all four backends to answer through the ClusterIP" 20 warm
for i in 1 2 3 4; do : > "$PL_TMP/b$i.log"; done
base_drops=$("$PODLANE" stats -o json | jq '[.totals.drops[]] | add')

pl_log "traffic: 64 UDP flows at 2000 datagrams/s; updates: $RATE per second for ${SECONDS_RUN}s"
ip netns exec "$CLIENT" python3 "$HERE/udp_flows.py" 10.96.0.50 53 64 2000 $((SECONDS_RUN + 1)) > "$PL_TMP/traffic.json" &
traffic=$!
sleep 0.5
# Bounded: a podlaned that stops reading its API socket fails the test, not hangs it.
timeout 120 python3 "$HERE/service_churn.py" "$PODLANE_SOCKET" "$RATE" "$SECONDS_RUN" "$PL_TMP/churn.json" ||
  pl_fail "service_churn.py did not finish within 120 s (podlaned stopped answering service.update?)"
wait "$traffic"

jq -c '{requested, answered, rate, seconds, errors, churn_updates: (.churn | length)}' "$PL_TMP/churn.json"
jq -c '{sent, received, lost_count, lost, by_backend}' "$PL_TMP/traffic.json"
jq -e '.errors == [] and .answered == .requested' "$PL_TMP/churn.json" > /dev/null ||
  pl_check_fail "some updates failed or went unanswered"
jq -e --argjson r "$RATE" '.rate >= 0.95 * $r' "$PL_TMP/churn.json" > /dev/null ||
  pl_check_fail "updates ran at $(jq .rate "$PL_TMP/churn.json")/s, below $RATE/s"
jq -e '.lost_count == 0 and .sent > 1000' "$PL_TMP/traffic.json" > /dev/null ||
  pl_check_fail "datagrams were lost during the updates"
jq -e '(.by_backend | length) == 4' "$PL_TMP/traffic.json" > /dev/null ||
  pl_check_fail "not every backend served traffic during the churn"

# A backend's forbidden windows: from the answer to an update without it to
# the sending of the next update with it.
python3 - "$PL_TMP" "${HITLESS_QUEUE_MS:-20}" <<'PY' || pl_check_fail "a removed backend received traffic after its removal was published"
import json, sys
tmp, queue_ns = sys.argv[1], float(sys.argv[2]) * 1e6
churn = json.load(open(f"{tmp}/churn.json"))["churn"]
ips = ["10.205.0.21", "10.205.0.22", "10.205.0.23", "10.205.0.24"]
bad = 0
windows_total = 0
sent_times = []
for b in range(1, 5):
    sent_times += [int(line.split()[1]) for line in open(f"{tmp}/b{b}.log")]
covered = 0
for b, ip in enumerate(ips, start=1):
    windows, start = [], None
    for u in churn:
        if ip not in u["backends"] and start is None:
            start = u["answered_ns"]
        elif ip in u["backends"] and start is not None:
            windows.append((start, u["sent_ns"] - queue_ns))
            start = None
    if start is not None:
        windows.append((start, float("inf")))
    windows_total += len(windows)
    covered += sum(1 for t in sent_times for lo, hi in windows if lo <= t < hi)
    seen = 0
    for line in open(f"{tmp}/b{b}.log"):
        seq, sent = line.split()
        sent = int(sent)
        seen += 1
        for lo, hi in windows:
            if lo <= sent < hi:
                bad += 1
                if bad <= 5:
                    print(f"b{b} got datagram {seq} sent {(sent - lo) / 1e6:.3f} ms after its removal was answered"
                          f" and {(hi - sent) / 1e6:.3f} ms before the window closed")
                break
    print(f"b{b}: {seen} datagrams, {len(windows)} removal windows")
print(f"{windows_total} removal windows; {covered} (datagram, window) pairs fell inside them, {bad} datagrams reached the removed backend")
if covered < 100:
    print("too few datagrams inside the removal windows for the check to mean anything")
sys.exit(1 if bad or covered < 100 else 0)
PY

drops=$("$PODLANE" stats -o json | jq '[.totals.drops[]] | add')
[ "$drops" -eq "$base_drops" ] || pl_check_fail "the dataplane dropped $((drops - base_drops)) packets during the churn: $("$PODLANE" stats -o json | jq -c '.totals.drops | with_entries(select(.value > 0))')"
"$PODLANE" status | grep -E "Cluster source|Snapshot generation"
pl_checks_done
pl_log "PASS: $(jq -r '"\(.answered) updates at \(.rate | floor)/s"' "$PL_TMP/churn.json"), $(jq -r '"\(.received)/\(.sent) datagrams answered"' "$PL_TMP/traffic.json"), no packet to a removed backend"
