#!/usr/bin/env bash
# The summary of bench/compare.sh: medians per arm and scenario from the
# per-run records (one JSON object a line), the table with ratios on stdout,
# the JSON results file and the PNG (gnuplot).
# usage: report.sh RUNS.jsonl OUT.json OUT.png ROUNDS WARMUP WINDOW HUGE TRANSPORT
set -euo pipefail
runs=$1 json=$2 png=$3
jq -s --argjson rounds "$4" --argjson warmup "$5" --argjson window "$6" --argjson huge "$7" --arg transport "$8" \
   --arg host "$(hostname)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" '
  def median: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor]
                     else (.[length/2 - 1] + .[length/2]) / 2 end;
  def cell($a; $s): [.[] | select(.arm == $a and .scenario == $s and .error == null)];
  . as $all
  | ([.[] | select(.scenario) | .scenario] | unique) as $scen
  | ([.[] | .arm] | unique) as $arms
  | {
      method: {rounds: $rounds, warmup_s: $warmup, window_s: $window, hugepages: ($huge == 1),
               transport: $transport, host: $host, cpu: $cpu, cpus: 2,
               note: "medians over rounds; Mpps per core = packets out of the far side of the datapath per CPU-second the datapath used in the window (DPDK: the CPU time of its worker or PMD threads; kernel: irq + softirq time of the forwarding CPU); mpps_per_busy_core: per second of the DPDK threads busy cycles (polling rounds that found packets: podlane stats busy_cycles, OVS pmd-stats processing cycles)"},
      results: [ $scen[] as $s | $arms[] as $a | ($all | cell($a; $s)) as $c | select($c | length > 0) | {
          scenario: $s, arm: $a, runs: ($c | length),
          mpps_per_core: ([$c[].mpps_per_core] | median),
          rx_mpps: ([$c[].rx_mpps] | median), tx_mpps: ([$c[].tx_mpps] | median),
          loss_pct: ([$c[].loss_pct] | median), p99_us: ([$c[].p99_us] | median),
          cores_used: ([$c[].cores_used] | median),
          mpps_per_busy_core: ([$c[].mpps_per_busy_core // empty] | median),
          per_run_mpps_per_core: [$c[].mpps_per_core] } ],
      errors: [.[] | select(.error)],
      runs: [.[] | select(.error == null)]
    }
  | .ratios = [ .results as $r | ($r | map(.scenario) | unique)[] as $s
      | ($r | map(select(.scenario == $s)) | map({(.arm): .mpps_per_core}) | add) as $m
      | ($r | map(select(.scenario == $s)) | map({(.arm): .mpps_per_busy_core}) | add) as $b
      | {scenario: $s,
         podlane_vs_ovs: (if $m["podlane-1w"] and $m.ovs and $m.ovs > 0 then $m["podlane-1w"] / $m.ovs else null end),
         podlane_vs_kernel: (if $m["podlane-1w"] and $m.kernel and $m.kernel > 0 then $m["podlane-1w"] / $m.kernel else null end),
         podlane_vs_ovs_busy: (if $b["podlane-1w"] and $b.ovs and $b.ovs > 0 then $b["podlane-1w"] / $b.ovs else null end)} ]
  ' "$runs" > "$json"

order="vxlan-pod clusterip-1k clusterip-10k clusterip-100k nodeport-snat newconn-syn"
# For the tables: f a figure, r a ratio, g an arm's field k, q the scenario's ratio k.
defs='def f: if . == null then "–" else (. * 100 | round / 100 | tostring) end;
  def r: if . == null then "–" else ((. * 10 | round / 10 | tostring) + "×") end;
  def g($a; k): [.results[] | select(.scenario == $s and .arm == $a) | k][0];
  def q(k): [.ratios[] | select(.scenario == $s)][0] | k;'
echo
echo "Mpps per core (packets out per CPU-second the datapath used), median of $4 round(s) (${5}s warm-up, ${6}s windows), transport $8"
echo
echo "| scenario | podlane 1 worker | podlane 2 workers | OVS-DPDK | kernel | podlane/OVS | podlane/kernel |"
echo "|---|---|---|---|---|---|---|"
for s in $order; do
  jq -r --arg s "$s" "$defs"'
    select(any(.results[]; .scenario == $s))
    | "| \($s) | \(g("podlane-1w"; .mpps_per_core) | f) | \(g("podlane-2w"; .mpps_per_core) | f) | \(g("ovs"; .mpps_per_core) | f) | \(g("kernel"; .mpps_per_core) | f) | \(q(.podlane_vs_ovs) | r) | \(q(.podlane_vs_kernel) | r) |"' "$json"
done
echo
echo "Mpps per busy core (DPDK arms: per second of polling rounds that found packets)"
echo
echo "| scenario | podlane 1 worker | podlane 2 workers | OVS-DPDK | podlane/OVS |"
echo "|---|---|---|---|---|"
for s in $order; do
  jq -r --arg s "$s" "$defs"'
    select(any(.results[]; .scenario == $s))
    | "| \($s) | \(g("podlane-1w"; .mpps_per_busy_core) | f) | \(g("podlane-2w"; .mpps_per_busy_core) | f) | \(g("ovs"; .mpps_per_busy_core) | f) | \(q(.podlane_vs_ovs_busy) | r) |"' "$json"
done
nerr=$(jq '.errors | length' "$json")
[ "$nerr" = 0 ] || { echo; echo "$nerr run(s) failed:"; jq -r '.errors[] | "  \(.arm) \(.scenario // "setup") round \(.round): \(.error | gsub("\n"; " "))"' "$json"; }

dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
for s in $order; do
  jq -r --arg s "$s" '
    def g($a): ([.results[] | select(.scenario == $s and .arm == $a) | .mpps_per_core][0] // 0);
    select(any(.results[]; .scenario == $s)) | "\($s) \(g("podlane-1w")) \(g("podlane-2w")) \(g("ovs")) \(g("kernel"))"' "$json"
done > "$dat"
if [ -s "$dat" ]; then
  gnuplot <<GP || true
set terminal pngcairo size 820,380 font ",9"
set output "$png"
set title "Mpps per core, median of $4 round(s), $8 — podlane vs OVS-DPDK 3.1 vs Linux kernel (iptables + vxlan), 64-byte frames"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.05:*]
set ylabel "Mpps per core (log)"
set grid ytics
set key top right
set xtics rotate by -15 scale 0
nz(x) = x > 0 ? x : 0.001
plot "$dat" using (nz(\$2)):xtic(1) title "podlane (1 worker)" lc rgb "#1f77b4", \
     "" using (nz(\$3)) title "podlane (2 workers, per core)" lc rgb "#aec7e8", \
     "" using (nz(\$4)) title "OVS-DPDK" lc rgb "#ff7f0e", \
     "" using (nz(\$5)) title "kernel" lc rgb "#2ca02c"
GP
  [ -s "$png" ] || echo "(no plot: nothing above zero)"
  echo; echo "wrote $json and $png"
else
  echo; echo "wrote $json (no results to plot)"
fi
