#!/usr/bin/env bash
# Runs the pipeline microbenchmark the way bench/README.md reports it: for
# each scenario (local, encap, decap), RUNS timed runs pinned to one CPU
# (median Mpps, TSC cycles/packet and cost relative to a macswap peer measured
# in the same run) plus one callgrind run for a stable instructions/packet.
# Usage: bench/pipeline.sh [RUNS]   (BENCH_CPU picks the CPU, default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
scripts/build.sh >/dev/null
bin=build/bench/bench_pipeline
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

rows=()
for scenario in local encap decap; do
  echo "scenario $scenario: $runs runs of 3 s on CPU ${BENCH_CPU:-1}"
  results=()
  for i in $(seq "$runs"); do
    r=$(taskset -c "${BENCH_CPU:-1}" "$bin" --scenario "$scenario" --seconds 3 --json)
    echo "  run $i: $(jq -r '"\(.mpps) Mpps, \(.tsc_cycles_per_packet) cycles/packet, \(.cost_vs_macswap)x macswap"' <<<"$r")"
    results+=("$r")
  done
  mpps=$(printf '%s\n' "${results[@]}" | jq -r .mpps | median)
  cpp=$(printf '%s\n' "${results[@]}" | jq -r .tsc_cycles_per_packet | median)
  ratio=$(printf '%s\n' "${results[@]}" | jq -r .cost_vs_macswap | median)

  iters=20000
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*run_stages*' \
    "$bin" --scenario "$scenario" --iterations $iters > /dev/null 2> "$out.log"
  ir=$(grep -oP 'Collected : \K[0-9]+' "$out.log")
  ipp=$(awk -v ir="$ir" -v p=$((iters * 32)) 'BEGIN {printf "%.1f", ir / p}')
  rm -f "$out" "$out.log"
  rows+=("| $scenario | $mpps | $cpp | $ipp | ${ratio}x |")
done

echo
echo "| scenario | Mpps per core (median of $runs) | TSC cycles/packet | instructions/packet (callgrind) | cost vs macswap, same run |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
