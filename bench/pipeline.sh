#!/usr/bin/env bash
# Runs the pipeline microbenchmark the way bench/README.md reports it:
# 5 timed runs (median Mpps and TSC cycles/packet) plus one callgrind run for
# a stable instructions/packet figure. Usage: bench/pipeline.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
scripts/build.sh >/dev/null
bin=build/bench/bench_pipeline

echo "pipeline microbenchmark: $runs runs of 3 s, pinned to CPU ${BENCH_CPU:-1}"
results=()
for i in $(seq "$runs"); do
  r=$(taskset -c "${BENCH_CPU:-1}" "$bin" --seconds 3 --json)
  echo "  run $i: $(jq -r '"\(.mpps) Mpps, \(.tsc_cycles_per_packet) cycles/packet, \(.cost_vs_macswap)x macswap"' <<<"$r")"
  results+=("$r")
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mpps=$(printf '%s\n' "${results[@]}" | jq -r .mpps | median)
cpp=$(printf '%s\n' "${results[@]}" | jq -r .tsc_cycles_per_packet | median)
ratio=$(printf '%s\n' "${results[@]}" | jq -r .cost_vs_macswap | median)

iters=20000
out=$(mktemp)
valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*classify_burst*' \
  "$bin" --iterations $iters > /dev/null 2> "$out.log"
ir=$(grep -oP 'Collected : \K[0-9]+' "$out.log")
ipp=$(awk -v ir="$ir" -v p=$((iters * 32)) 'BEGIN {printf "%.1f", ir / p}')
rm -f "$out" "$out.log"

echo
echo "| figure | value |"
echo "|---|---|"
echo "| Mpps per core (median of $runs) | $mpps |"
echo "| TSC cycles/packet (median) | $cpp |"
echo "| instructions/packet (callgrind, classify_burst) | $ipp |"
echo "| cost relative to macswap in the same run (median) | ${ratio}x |"
