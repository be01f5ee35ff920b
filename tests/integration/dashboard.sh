#!/usr/bin/env bash
# Integration test: the Grafana dashboard (configs/grafana/podlane.json)
# against a real Prometheus (Debian's prometheus) scraping every node of a
# 3-node lab with the shipped scrape config (configs/prometheus/). Prometheus
# runs in the lab's external namespace and reaches each podlaned's metrics on
# its node IP (metrics.listen 0.0.0.0:9962, through the host path). Checks,
# through Prometheus's HTTP API (curl): every target is up, and every query of
# every dashboard panel parses and returns data.
#
#   tests/integration/dashboard.sh PODLANED PODLANE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PODLANED PODLANE" >&2; exit 2; }
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export PODLANED PODLANE
command -v prometheus >/dev/null || pl_fail "prometheus is missing (scripts/install-deps.sh installs Debian's)"

N=3
P=pld$$-
RUN=/run/podlane/lab-$P
LAB=$REPO/scripts/lab.sh
PROM=http://127.0.0.1:9090
WORK=$(mktemp -d)
PROM_PID=

teardown() {
  [ -z "$PROM_PID" ] || { kill -TERM "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null || true; }
  if [ "$PL_RC" -ne 0 ]; then
    tail -n 20 "$WORK/prometheus.log" 2>/dev/null || true
  fi
  "$LAB" down --prefix "$P" || true
  rm -rf "$WORK"
}
pl_on_exit teardown
PL_NETNS+=("${P}fab" "${P}ext")
for i in $(seq $N); do PL_NETNS+=("${P}node$i" "${P}n${i}p1"); done

cat > "$WORK/frag.yaml" <<EOT
metrics:
  listen: 0.0.0.0:9962
health:
  interval_ms: 1000
  timeout_ms: 400
EOT
pl_log "lab up: $N nodes, metrics on every node IP"
"$LAB" up --nodes $N --mode vxlan --prefix "$P" --pods 1 --services "$WORK/frag.yaml"

# The shipped config, scraping every second so that rate() has samples soon.
sed 's/^  scrape_interval: .*/  scrape_interval: 1s/' "$REPO/configs/prometheus/prometheus.yml" > "$WORK/prometheus.yml"
cp "$REPO/configs/prometheus/podlane-targets.json" "$WORK/"
ip netns exec "${P}ext" setsid prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address=127.0.0.1:9090 > "$WORK/prometheus.log" 2>&1 < /dev/null &
PROM_PID=$!
prom() { ip netns exec "${P}ext" curl -sf --max-time 5 "$@"; }
targets_up() {
  prom "$PROM/api/v1/targets" | jq -e '[.data.activeTargets[] | select(.health == "up")] | length == 3' >/dev/null
}
pl_wait_for "Prometheus to scrape the 3 podlaned" 30 targets_up

# Traffic across nodes, so that the rates are not all zero.
pl_ping_ok "${P}n1p1" 10.210.2.11
pl_ping_ok "${P}n2p1" 10.210.3.11
sleep 6 # rate()s over [1m] need two samples of every series

fails=0 n=0
while IFS=$'\t' read -r title expr; do
  n=$((n + 1))
  out=$(prom -G "$PROM/api/v1/query" --data-urlencode "query=$expr") || {
    pl_log "FAIL: panel '$title': query refused: $expr"; fails=$((fails + 1)); continue; }
  series=$(jq -r 'if .status == "success" then (.data.result | length) else -1 end' <<<"$out")
  if [ "$series" -le 0 ]; then
    pl_log "FAIL: panel '$title': no data ($series series): $expr"
    fails=$((fails + 1))
  else
    pl_log "ok: $series series: $expr"
  fi
done < <(jq -r '.panels[] | .title as $t | .targets[] | [$t, .expr] | @tsv' "$REPO/configs/grafana/podlane.json")
[ "$n" -gt 10 ] || pl_fail "only $n queries read from the dashboard"
[ "$fails" = 0 ] || pl_fail "$fails of $n dashboard queries failed"
# And the forwarding rate is really above zero on node1 (pods pinged across nodes).
prom -G "$PROM/api/v1/query" --data-urlencode 'query=sum(increase(podlane_forward_count_total[1m])) > 0' |
  jq -e '.data.result | length == 1' >/dev/null || pl_fail "no forwarded packets seen through Prometheus"
pl_log "PASS: $n dashboard queries parse and return data from 3 scraped nodes"
