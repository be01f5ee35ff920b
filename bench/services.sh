#!/usr/bin/env bash
# Runs the service-path benchmark the way bench/README.md ("Services") reports
# it: for each packet scenario, RUNS timed runs pinned to one CPU (median Mpps
# per core, TSC cycles/packet and cost relative to a macswap peer measured in
# the same run) plus one callgrind run for a stable instructions/packet; then
# conntrack memory per flow and the Maglev table build. Prints a markdown
# table with the targets next to the figures.
# Usage: bench/services.sh [RUNS]   (BENCH_CPU picks the CPU, default 1;
#        BUILD_DIR an existing build directory, default: scripts/build.sh's build/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cpu=${BENCH_CPU:-1}
if [ -n "${BUILD_DIR:-}" ]; then
  ninja -C "$BUILD_DIR" bench/bench_services >/dev/null
  build=$BUILD_DIR
else
  scripts/build.sh >/dev/null
  build=build
fi
bin=$build/bench/bench_services
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# met VALUE OP TARGET -> "yes"/"no"
met() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {ok = (op == ">=") ? v >= t : v <= t; print ok ? "yes" : "**no**"}'; }

iters=20000
rows=()
# name | arguments | target (Mpps or M conn/s per core)
scenarios=(
  "ClusterIP + VXLAN, 1k flows|--scenario clusterip --flows 1024|15"
  "ClusterIP + VXLAN, 1M flows|--scenario clusterip --flows 1048576|6"
  "NodePort + SNAT + VXLAN, 1k flows|--scenario nodeport --flows 1024|15"
  "NodePort + SNAT + VXLAN, 1M flows|--scenario nodeport --flows 1048576|6"
  "new connections (TCP SYN to the ClusterIP)|--scenario newconn --flows 1048576 --ct-capacity 2097152|3"
)
for s in "${scenarios[@]}"; do
  IFS='|' read -r name args target <<<"$s"
  echo "$name: $runs runs on CPU $cpu"
  results=()
  for i in $(seq "$runs"); do
    # shellcheck disable=SC2086
    r=$(taskset -c "$cpu" "$bin" $args --seconds 3 --json)
    echo "  run $i: $(jq -r '"\(.mpps) Mpps (\(.wall_mpps) wall), \(.tsc_cycles_per_packet) cycles/packet, \(.cost_vs_macswap)x macswap"' <<<"$r")"
    results+=("$r")
  done
  mpps=$(printf '%s\n' "${results[@]}" | jq -r .mpps | median)
  cpp=$(printf '%s\n' "${results[@]}" | jq -r .tsc_cycles_per_packet | median)
  rcpp=$(printf '%s\n' "${results[@]}" | jq -r .restore_cycles_per_packet | median)
  ratio=$(printf '%s\n' "${results[@]}" | jq -r .cost_vs_macswap | median)

  out=$(mktemp)
  # shellcheck disable=SC2086
  valgrind --tool=callgrind --callgrind-out-file="$out" --instr-atstart=no --toggle-collect='*run_stages*' \
    "$bin" $args --iterations $iters > /dev/null 2> "$out.log"
  ir=$(grep -oP 'Collected : \K[0-9]+' "$out.log")
  ipp=$(awk -v ir="$ir" -v p=$((iters * 32)) 'BEGIN {printf "%.1f", ir / p}')
  rm -f "$out" "$out.log"
  unit="Mpps"; [[ $args == *newconn* ]] && unit="M conn/s"
  rows+=("| $name | $mpps $unit | ≥ $target $unit | $(met "$mpps" ">=" "$target") | $cpp ($rcpp restore) | $ipp | ${ratio}x |")
done

echo "conntrack memory"
mem=$("$bin" --scenario memory --json)
bpf=$(jq -r .bytes_per_flow <<<"$mem")
heap=$(jq -r .heap_bytes_per_flow <<<"$mem")
fill=$(jq -r '.fill_ratio * 100 | . * 100 | round / 100' <<<"$mem")
cap=$(jq -r .ct_capacity <<<"$mem")

echo "maglev: $runs runs on CPU $cpu"
mg=()
for i in $(seq "$runs"); do
  r=$(taskset -c "$cpu" "$bin" --scenario maglev --json)
  echo "  run $i: median $(jq -r .median_ms <<<"$r") ms of $(jq -r .runs <<<"$r") builds"
  mg+=("$(jq -r .median_ms <<<"$r")")
done
mgms=$(printf '%s\n' "${mg[@]}" | median)

echo
echo "| scenario | per core (median of $runs) | target | met | TSC cycles/packet | instructions/packet (callgrind) | cost vs macswap, same run |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo "| conntrack + NAT state at capacity ($cap flows) | $heap bytes/flow allocated ($bpf by Conntrack::bytes_per_flow()); $fill% of capacity filled before the first insert failure | ≤ 128 bytes/flow | $(met "$heap" "<=" 128) | | | |"
echo "| Maglev build, M = 65521, 1000 backends | $mgms ms (median of $runs medians of 11 builds) | ≤ 2 ms | $(met "$mgms" "<=" 2) | | | |"
