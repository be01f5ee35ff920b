#!/usr/bin/env bash
# bench/compare.sh: podlane vs OVS-DPDK vs the Linux kernel, side by side, on
# this machine in one run (bench/README.md, "Side-by-side"). The same
# scenarios (bench/compare/topology.sh) against each datapath, interleaved:
# each round brings up every arm in turn (podlane with 1 worker, podlane with
# 2, OVS-DPDK, kernel) and runs every scenario on it with podlane-gen (warm-up,
# then a timestamped measurement window). Medians over the rounds, Mpps per
# core, ratios, a PNG and a JSON file.
#
# usage: bench/compare.sh [--quick] [--rounds N] [--warmup S] [--window S]
#          [--scenarios "A B"] [--arms "podlane-1w podlane-2w ovs kernel"]
#          [--transport memif|vhost] [--json FILE] [--png FILE] [--build DIR]
#          [--no-huge]
# --transport: how the generator's two ports (the pod, node2 on the underlay)
# reach podlane and OVS. memif (default): the generator serves them over
# memif and the datapath is a zero-copy client, as a NIC's DMA would fill its
# buffers: the datapath's CPU copies no packet. vhost: vhost-user, where the
# datapath's CPU copies every packet in and out of the generator's rings.
# Environment: GEN_CPU (default 0) runs the generator, DP_CPU (default 1) the
# datapath; DP_CPUS=2,3,4,5 spreads podlane-Nw's workers on bigger machines.
# VIRTIO_OPTS (default empty) is appended to the generator's virtio_user
# devargs for podlane and OVS alike, e.g. ",packed_vq=1,in_order=1,mrg_rxbuf=0"
# to have both vhost-user datapaths negotiate packed rings.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/compare/topology.sh
. bench/compare/podlane.sh
. bench/compare/ovs.sh
. bench/compare/kernel.sh

ROUNDS=3 WARMUP=3 WINDOW=5
SCENARIOS=$SCENARIOS_ALL
ARMS="podlane-1w podlane-2w ovs kernel"
STAMP=$(date -u +%Y%m%d-%H%M%S)
JSON_OUT=bench/results/compare-$STAMP.json
PNG_OUT=bench/results/compare-$STAMP.png
BUILD=${BUILD:-build}
TRANSPORT=${TRANSPORT:-memif}
HUGE=auto
GEN_CPU=${GEN_CPU:-0}
DP_CPU=${DP_CPU:-1}

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) ROUNDS=1 WARMUP=1 WINDOW=2 ;;
    --rounds) ROUNDS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --window) WINDOW=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --arms) ARMS=$2; shift ;;
    --json) JSON_OUT=$2; shift ;;
    --png) PNG_OUT=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --no-huge) HUGE=0 ;;
    --transport) TRANSPORT=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 1 ;;
  esac
  shift
done
for s in $SCENARIOS; do scenario_gen_args "$s" >/dev/null; done
case $TRANSPORT in memif|vhost) ;; *) echo "compare.sh: --transport memif or vhost, not $TRANSPORT" >&2; exit 1 ;; esac
[ "$(id -u)" = 0 ] || { echo "compare.sh: run as root (DPDK, namespaces)" >&2; exit 1; }
for t in jq gnuplot iptables-restore ovsdb-server "$OVS_BIN"; do
  command -v "$t" >/dev/null || { echo "compare.sh: $t missing: run scripts/install-deps.sh" >&2; exit 1; }
done

GEN=$BUILD/bench/podlane-gen
PODLANED=$BUILD/podlaned
PODLANE_CLI=$BUILD/podlane
if [ ! -x "$GEN" ] || [ ! -x "$PODLANED" ] || [ ! -x "$PODLANE_CLI" ]; then
  [ "$BUILD" = build ] || { echo "compare.sh: $GEN, $PODLANED or $PODLANE_CLI missing" >&2; exit 1; }
  scripts/build.sh >/dev/null
fi
GEN=$(realpath "$GEN") PODLANED=$(realpath "$PODLANED") PODLANE_CLI=$(realpath "$PODLANE_CLI")

# This script and what it starts run on the generator's CPU (the datapaths
# pin their own threads): its samplers and CLI calls must not take the
# datapath's CPU.
taskset -p -c "$GEN_CPU" $$ >/dev/null
WORK=$(mktemp -d /tmp/plcmp.XXXXXX)
HP_FILE=/proc/sys/vm/nr_hugepages
HP_BEFORE=$(cat $HP_FILE)
GEN_PID= STAT_PID=
cleanup() {
  set +e
  [ -n "$GEN_PID" ] && kill "$GEN_PID" 2>/dev/null && wait "$GEN_PID" 2>/dev/null
  [ -n "$STAT_PID" ] && kill "$STAT_PID" 2>/dev/null && wait "$STAT_PID" 2>/dev/null
  podlane_down; ovs_down; kernel_down
  rm -rf /var/run/dpdk/plcmp-gen /var/run/dpdk/plcmp-ovs "$WORK"
  [ "$(cat $HP_FILE)" != "$HP_BEFORE" ] && echo "$HP_BEFORE" > $HP_FILE
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Hugepages (2 MB): 1.5-2.7x faster than --no-huge for every DPDK arm. Take
# 1536 when fewer are free (restored at exit); fall back to --no-huge.
if [ "$HUGE" = auto ]; then
  HUGE=0
  if grep -q 'Hugepagesize: *2048 kB' /proc/meminfo; then
    free_hp=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
    [ "$free_hp" -lt 1536 ] && echo $((HP_BEFORE + 1536 - free_hp)) > $HP_FILE
    free_hp=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
    [ "$free_hp" -ge 1536 ] && HUGE=1
  fi
fi
if [ "$HUGE" = 1 ]; then
  GEN_EAL="-l $GEN_CPU --no-pci --in-memory --single-file-segments -m 512 --file-prefix plcmp-gen --log-level *:warning"
else
  GEN_EAL="-l $GEN_CPU --no-pci --no-huge -m 1024 --no-shconf --file-prefix plcmp-gen --log-level *:warning"
fi

arm_kind() { case $1 in podlane-*) echo podlane ;; *) echo "$1" ;; esac; }
# podlane-Nw: podlane with N workers (on $DP_CPUS when set, see podlane.sh).
arm_workers() { case $1 in podlane-*w) local n=${1#podlane-}; echo "${n%w}" ;; *) echo 1 ;; esac; }

arm_up() {
  case $1 in
    podlane-*) podlane_up "$(arm_workers "$1")" ;;
    ovs) ovs_up ;;
    kernel) kernel_up ;;
  esac
}
arm_down() { "$(arm_kind "$1")_down"; }
# setup_failed ARM ROUND [SCENARIO]: reports and records that ARM did not
# come up (its output in up.log), and takes down what it left.
setup_failed() {
  local where="$1${3:+ $3} round $2"
  echo "  $where did not come up: $(tail -5 "$WORK/up.log")" >&2
  jq -nc --arg a "$1" --argjson r "$2" --arg s "${3:-}" --arg e "$(tail -5 "$WORK/up.log")" \
    '{arm:$a, round:$r, error:("setup: " + $e)} + (if $s == "" then {} else {scenario:$s} end)' >> "$WORK/runs.jsonl"
  arm_down "$1" >/dev/null 2>&1 || true
}

# up_per_run ARM: brought up for each run, after the generator (memif).
up_per_run() { [ "$TRANSPORT" = memif ] && [ "$(arm_kind "$1")" != kernel ]; }

# dp_threads ARM: /proc stat files of the datapath's own threads (podlane's
# workers, OVS's PMD threads); none for the kernel, whose forwarding is the
# irq + softirq time of CPU $DP_CPU.
dp_threads() {
  local pid="" pat=""
  case $1 in
    podlane-*) pid=$P_PID pat='^rte-worker' ;;
    ovs) ovs_env; pid=$(cat "$OVS_RUNDIR/ovs-vswitchd.pid" 2>/dev/null) pat='^pmd' ;;
    *) return 0 ;;
  esac
  local t
  for t in /proc/"$pid"/task/*; do grep -q "$pat" "$t/comm" 2>/dev/null && echo "$t/stat"; done
  return 0
}

# dp_busy ARM: "busy_cycles packets": TSC cycles the datapath has spent in
# polling rounds that found packets (podlane stats busy_cycles, OVS's PMD
# processing cycles), and the packets it received, so far ("0 0" for the
# kernel). Read before and after a run, not during it: each read costs the
# generator's CPU.
dp_busy() {
  case $1 in
    podlane-*) podlane_busy ;;
    ovs) ovs_busy ;;
    *) echo "0 0" ;;
  esac
}

# sampler FILES...: every 0.25 s, "time cpu_irq_softirq_ticks thread_ticks".
sampler() {
  while :; do
    local th=0 f
    for f in "$@"; do th=$((th + $(awk '{print $14 + $15}' "$f" 2>/dev/null || echo 0))); done
    echo "$(date +%s.%N) $(awk -v c="cpu$DP_CPU" '$1 == c {print $7 + $8}' /proc/stat) $th"
    sleep 0.25
  done
}

# cores_used STATLOG START END COLUMN: CPUs' worth of time the datapath used
# between two UTC times (column 2: the kernel's irq + softirq on $DP_CPU,
# column 3: the datapath threads' user + system time), in clock ticks.
cores_used() {
  local s e
  s=$(date -d "$2" +%s.%N) e=$(date -d "$3" +%s.%N)
  awk -v s="$s" -v e="$e" -v col="$4" -v hz="$(getconf CLK_TCK)" '
    $1 >= s - 0.3 && $1 <= e + 0.3 { if (!n++) { t0 = $1; v0 = $col } ; t1 = $1; v1 = $col }
    END { if (n < 2 || t1 == t0) print 0; else printf "%.4f", (v1 - v0) / hz / (t1 - t0) }' "$1"
}

run_one() {  # ARM SCENARIO ROUND
  local arm=$1 sc=$2 round=$3 kind workers
  kind=$(arm_kind "$arm") workers=$(arm_workers "$arm")
  local pod_mac ul_mac dst_mac args out=$WORK/$arm-$sc-$round.json
  args=$(scenario_gen_args "$sc")
  dst_mac=$("${kind}_pod_side_mac")
  local resolve=""
  case $sc in nodeport-*) resolve="--resolve $NODE1_IP" ;; esac
  local prefix; prefix=$("${kind}_gen_prefix")
  set +e
  # shellcheck disable=SC2086
  $prefix "$GEN" $GEN_EAL -- $("${kind}_gen_ports" "$workers") --queues "$workers" $args \
    --src-mac "$POD_MAC" --dst-mac "$dst_mac" --arp-reply "$NODE2_IP" $resolve --link-timeout 30 \
    --warmup "$WARMUP" --duration "$WINDOW" --json "$out" --quiet > "$WORK/gen.log" 2>&1 &
  GEN_PID=$!
  set -e
  if up_per_run "$arm"; then
    # The generator serves the memif sockets: the datapath connects to them
    # once they are there, and is brought up anew for every run (neither
    # OVS nor DPDK's memif client reconnects to a restarted server).
    # For OVS the generator is stopped while its memif ports start: DPDK
    # 22.11's zero-copy memif client closes the EAL's memory descriptor when
    # a port has connected, so a port started after another has connected
    # offers the peer a stale descriptor (mmap fails, the link stays down).
    # With the server stopped, both ports connect into the sockets' backlog
    # and shake hands once both have started. (podlaned reopens those
    # descriptors itself, src/control/ports/memif_memory.h, and waits for each
    # zero-copy port to connect: it must find the generator running.)
    local sock
    for sock in $("${kind}_gen_sockets"); do
      for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
    done
    [ "$kind" = ovs ] && kill -STOP "$GEN_PID"
    local up=0
    arm_up "$arm" > "$WORK/up.log" 2>&1 || up=$?
    [ "$kind" = ovs ] && kill -CONT "$GEN_PID"
    if [ "$up" != 0 ]; then
      kill "$GEN_PID" 2>/dev/null; wait "$GEN_PID" 2>/dev/null; GEN_PID=
      setup_failed "$arm" "$round" "$sc"
      return 0
    fi
  fi
  local busy0; busy0=$(dp_busy "$arm")
  # shellcheck disable=SC2046
  sampler $(dp_threads "$arm") > "$WORK/stat.log" &
  STAT_PID=$!
  set +e
  wait "$GEN_PID"
  local rc=$?
  set -e
  GEN_PID=
  kill "$STAT_PID" 2>/dev/null; wait "$STAT_PID" 2>/dev/null || true
  STAT_PID=
  local busy1; busy1=$(dp_busy "$arm")
  if up_per_run "$arm"; then arm_down "$arm" >/dev/null 2>&1 || true; fi
  if [ $rc != 0 ] || [ ! -s "$out" ]; then
    echo "  $arm $sc round $round: generator failed (exit $rc): $(tail -2 "$WORK/gen.log" | tr '\n' ' ')" >&2
    jq -nc --arg a "$arm" --arg s "$sc" --argjson r "$round" --arg e "$(tail -2 "$WORK/gen.log")" \
      '{arm:$a, scenario:$s, round:$r, error:$e}' >> "$WORK/runs.jsonl"
    return 0
  fi
  local ws we cores busy col=3
  [ "$kind" = kernel ] && col=2
  ws=$(jq -r .window.start "$out") we=$(jq -r .window.end "$out")
  cores=$(cores_used "$WORK/stat.log" "$ws" "$we" "$col")
  # Cycles a packet in the datapath's busy rounds, over the whole run.
  busy=$(awk -v a="$busy0" -v b="$busy1" 'BEGIN { split(a, x, " "); split(b, y, " ");
    if (y[2] > x[2]) printf "%.1f", (y[1] - x[1]) / (y[2] - x[2]); else print 0 }')
  # Mpps per core: what came out of the far side of the datapath in the
  # window, per CPU-second the datapath itself used in it: its worker or PMD
  # threads' CPU time (DPDK), the forwarding CPU's irq + softirq time (kernel).
  # Other processes sharing the CPUs (a busy CI machine) then do not count
  # against it; the kernel's throttling af_packet generator neither.
  jq -c --arg a "$arm" --arg s "$sc" --argjson r "$round" --argjson cores "$cores" --argjson cpp "$busy" \
     --argjson w "$workers" --arg t "$TRANSPORT" '{
      arm:$a, scenario:$s, round:$r, window_start:.window.start, window_end:.window.end,
      tx_mpps, rx_mpps:.rx_marked_mpps, loss_pct,
      window_loss_pct: (if .tx_mpps > 0 then ([0, 100 * (1 - .rx_marked_mpps / .tx_mpps)] | max) else null end),
      flows_seen:.flows.seen_rx, tx_queue_full,
      p50_us:.latency_us.p50, p99_us:.latency_us.p99, workers:$w, transport:$t, cores_used:$cores,
      mpps_per_core: (if $cores > 0.02 then .rx_marked_mpps / $cores else 0 end),
      busy_cycles_per_packet: (if $cpp > 0 then $cpp else null end),
      mpps_per_busy_core: (if $cpp > 0 then .tsc_hz / $cpp / 1e6 else null end)}' "$out" | tee -a "$WORK/runs.jsonl" |
    jq -r '"  \(.arm) \(.scenario) round \(.round) [\(.window_start) .. \(.window_end)]: tx \(.tx_mpps*1000|round/1000) rx \(.rx_mpps*1000|round/1000) Mpps, loss \(.loss_pct*10|round/10)% (window \(.window_loss_pct*10|round/10)%), p99 \(.p99_us*10|round/10) us, datapath used \(.cores_used*100|round/100) cores -> \(.mpps_per_core*1000|round/1000) Mpps/core\(if .mpps_per_busy_core then " (\(.busy_cycles_per_packet|round) busy cycles a packet: \(.mpps_per_busy_core*1000|round/1000) Mpps per busy core)" else "" end)"'
}

echo "compare: arms [$ARMS], scenarios [$SCENARIOS], $ROUNDS round(s) of ${WARMUP}s warm-up + ${WINDOW}s window, transport $TRANSPORT," \
     "hugepages $([ "$HUGE" = 1 ] && echo on || echo off), generator on CPU $GEN_CPU, datapath on CPU $DP_CPU"
: > "$WORK/runs.jsonl"
for round in $(seq "$ROUNDS"); do
  for arm in $ARMS; do
    echo "round $round: $arm"
    if up_per_run "$arm"; then
      for sc in $SCENARIOS; do run_one "$arm" "$sc" "$round"; done
      continue
    fi
    if ! arm_up "$arm" > "$WORK/up.log" 2>&1; then
      setup_failed "$arm" "$round"
      continue
    fi
    for sc in $SCENARIOS; do run_one "$arm" "$sc" "$round"; done
    arm_down "$arm" >/dev/null 2>&1 || true
  done
done

mkdir -p "$(dirname "$JSON_OUT")" "$(dirname "$PNG_OUT")"
bench/compare/report.sh "$WORK/runs.jsonl" "$JSON_OUT" "$PNG_OUT" "$ROUNDS" "$WARMUP" "$WINDOW" "$HUGE" "$TRANSPORT"
