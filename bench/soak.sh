#!/usr/bin/env bash
# Soak test (not in CI): the three-node lab (scripts/lab.sh, VXLAN, 2 pods a
# node, tests/integration/services-lab.yaml) under mixed traffic for MINUTES:
#
#   - pod to pod across nodes: ping n1p1 -> n3p1, 5 a second
#   - service, UDP: 64 flows from n1p1 to the ClusterIP 10.96.0.17:7 (udp_echo
#     on n2p1), 200 datagrams a second (udp_flows.py)
#   - service, TCP: a new curl connection from n2p2 to 10.96.0.10 every 0.2 s
#   - masquerade: a new curl connection from n1p2 to the external host every 0.5 s
#   - fragments: three 4000-byte datagrams n1p1 -> 10.96.0.17:7 every 5 s
#   - 100 service updates a second over node1's API (service_churn.py: a UDP
#     service and 50 filler services)
#   - a pod added and deleted through podlane-cni (scripts/cnitool.py) on node1
#     every 10 s
#
# Every SOAK_INTERVAL seconds (default 60) it records, per node: podlaned's
# resident memory (kB), free mbufs, conntrack flows and the drops by reason,
# as CSV lines in $OUT (default bench/results/soak-<date>.csv), and prints
# them. At the end: the first and last samples side by side, the traffic
# loops' failures, and the drops by reason summed over the run.
#
#   bench/soak.sh [MINUTES]     (default 30; the issue asks for 30)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
MINUTES=${1:-30}
INTERVAL=${SOAK_INTERVAL:-60}
P=plsoak-
RUN=/run/podlane/lab-$P
HERE=$REPO/tests/integration
mkdir -p bench/results
OUT=${OUT:-$REPO/bench/results/soak-$(date +%Y%m%d-%H%M).csv}
PODLANE=${PODLANE:-$REPO/build/podlane}
EXT_IP=192.168.50.1
TMP=$(mktemp -d)
PIDS=()
EXTRA_NS=${P}n1p9

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$EXTRA_NS" 2>/dev/null || true
  scripts/lab.sh down --prefix "$P" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
cli() { local i=$1; shift; "$PODLANE" --socket "$RUN/node$i.sock" "$@"; }
pod_ns() { echo "${P}$1"; }

log "lab up (3 nodes, 2 pods each, vxlan, services-lab.yaml), prefix $P"
scripts/lab.sh up --nodes 3 --pods 2 --mode vxlan --prefix "$P" --services "$HERE/services-lab.yaml" \
  > "$TMP/lab.log" 2>&1 || { cat "$TMP/lab.log"; exit 1; }

# Servers: whoami on every pod and the external host, UDP echo on n2p1.
for i in 1 2 3; do for k in 1 2; do
  ip netns exec "$(pod_ns n${i}p$k)" python3 "$HERE/whoami_server.py" 0.0.0.0 8080 "n${i}p$k" >/dev/null 2>&1 &
  PIDS+=($!)
done; done
ip netns exec "${P}ext" python3 "$HERE/whoami_server.py" "$EXT_IP" 8080 ext >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec "$(pod_ns n2p1)" python3 "$HERE/udp_echo.py" 0.0.0.0 7007 n2p1 /dev/null >/dev/null 2>&1 &
PIDS+=($!)
sleep 2

SECS=$((MINUTES * 60))
# loop NAME INTERVAL CMD...: runs CMD every INTERVAL seconds until the end,
# counting runs and failures in $TMP/NAME.{runs,fails}.
loop() {
  local name=$1 every=$2; shift 2
  (end=$((SECONDS + SECS)); runs=0; fails=0
   while [ $SECONDS -lt $end ]; do
     runs=$((runs + 1))
     "$@" >/dev/null 2>&1 || fails=$((fails + 1))
     echo "$runs" > "$TMP/$name.runs"; echo "$fails" > "$TMP/$name.fails"
     sleep "$every"
   done) &
  PIDS+=($!)
}
ip netns exec "$(pod_ns n1p1)" ping -q -i 0.2 -w "$SECS" 10.210.3.11 > "$TMP/ping.out" 2>&1 &
PIDS+=($!)
ip netns exec "$(pod_ns n1p1)" python3 "$HERE/udp_flows.py" 10.96.0.17 7 64 200 "$SECS" > "$TMP/udp.json" 2>&1 &
PIDS+=($!)
loop tcp-service 0.2 ip netns exec "$(pod_ns n2p2)" curl -sf --max-time 3 http://10.96.0.10/whoami
loop masquerade 0.5 ip netns exec "$(pod_ns n1p2)" curl -sf --max-time 3 "http://$EXT_IP:8080/whoami"
loop fragments 5 ip netns exec "$(pod_ns n1p1)" python3 "$HERE/udp_big_echo.py" 10.96.0.17 7 4000 3
python3 "$HERE/service_churn.py" "$RUN/node1.sock" 100 "$SECS" "$TMP/churn.json" > "$TMP/churn.log" 2>&1 &
PIDS+=($!)
ip netns add "$EXTRA_NS"
cni() {
  "$REPO/scripts/cnitool.py" --cache-dir "$RUN/cni" --cni-path "$REPO/build:/usr/lib/cni" \
    --args "IgnoreUnknown=1;K8S_POD_NAMESPACE=lab;K8S_POD_NAME=n1p9" "$1" "$RUN/node1.conflist" lab-n1p9 "$EXTRA_NS"
}
loop cni-add-del 10 sh -c "$(declare -f cni); REPO='$REPO' RUN='$RUN' EXTRA_NS='$EXTRA_NS'; cni add && cni del"

echo "minute,node,rss_kb,mbufs_free,mbufs_total,ct_flows,frag_datagrams,drops" > "$OUT"
sample() {
  local m=$1 i pid rss st drops
  for i in 1 2 3; do
    pid=$(cat "$RUN/node$i.pid")
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    st=$(cli "$i" status -o json)
    drops=$(cli "$i" stats -o json | jq -r '.totals.drops | to_entries | map(select(.value > 0) | "\(.key)=\(.value)") | join(" ")')
    echo "$m,node$i,$rss,$(jq -r .mbufs_free <<<"$st"),$(jq -r .mbufs_total <<<"$st"),$(jq -r .services.conntrack.flows <<<"$st"),$(jq -r '.services.conntrack.fragments.datagrams // 0' <<<"$st"),\"$drops\"" >> "$OUT"
  done
  tail -n 3 "$OUT"
}
log "soaking for $MINUTES minute(s), a sample every ${INTERVAL}s into $OUT"
start=$SECONDS
n=0
sample 0
while [ $((SECONDS - start)) -lt "$SECS" ]; do
  sleep "$INTERVAL"
  n=$((n + 1))
  sample "$(awk -v s=$((SECONDS - start)) 'BEGIN {printf "%.1f", s / 60}')"
done
sleep 3
log "done. traffic:"
tail -n 2 "$TMP/ping.out"
cat "$TMP/udp.json"
for name in tcp-service masquerade fragments cni-add-del; do
  echo "  $name: $(cat "$TMP/$name.runs" 2>/dev/null || echo 0) runs, $(cat "$TMP/$name.fails" 2>/dev/null || echo 0) failed"
done
jq -c '{answered, errors, rate}' "$TMP/churn.json" 2>/dev/null || tail -n 3 "$TMP/churn.log"
log "first and last samples:"
head -n 4 "$OUT"
tail -n 3 "$OUT"
