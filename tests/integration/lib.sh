# Shared helpers for podlane's integration tests (sourced, not run).
# Every namespace a test makes is registered here and deleted on exit, pass
# or fail; nothing is configured in the root namespace.

PL_NETNS=()
PL_PIDS=()
PL_TMP=$(mktemp -d /tmp/podlane-it.XXXXXX)

pl_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
pl_fail() { pl_log "FAIL: $*"; exit 1; }

pl_cleanup() {
  local rc=$?
  for pid in "${PL_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PL_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ns in "${PL_NETNS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ $rc -ne 0 ] && [ -f "$PL_TMP/podlaned.log" ]; then
    echo "---- podlaned log ----"; tail -n 50 "$PL_TMP/podlaned.log"
  fi
  rm -rf "$PL_TMP"
  exit $rc
}
trap pl_cleanup EXIT INT TERM

# pl_netns NAME: creates a namespace that is deleted on exit.
pl_netns() {
  ip netns add "$1"
  PL_NETNS+=("$1")
  ip -n "$1" link set lo up
}

# pl_wait_for DESCRIPTION SECONDS COMMAND...: retries COMMAND until it succeeds.
pl_wait_for() {
  local what=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  pl_fail "timed out after ${secs}s waiting for $what"
}

# pl_json FILTER: runs jq on stdin, failing loudly on a null result.
pl_json() { jq -er "$1"; }

# pl_on_exit COMMAND: evals COMMAND on exit, pass or fail, before the
# processes and namespaces above are cleaned up (last registered runs first).
# In COMMAND, $PL_RC is the test's exit status.
PL_ON_EXIT=()
PL_RC=0
pl_on_exit() {
  PL_ON_EXIT+=("$1")
  trap pl_cleanup_with_hooks EXIT INT TERM
}
pl_cleanup_with_hooks() {
  PL_RC=$?
  set +e
  trap - EXIT INT TERM
  local i
  for ((i = ${#PL_ON_EXIT[@]} - 1; i >= 0; i--)); do
    eval "${PL_ON_EXIT[i]}"
  done
  PL_ON_EXIT=()
  (exit "$PL_RC")
  pl_cleanup   # sees $PL_RC as $? and exits with it
}

# pl_capture_start NAME NETNS IFACE [FILTER...]: starts tcpdump on IFACE in
# NETNS, writing $PL_TMP/NAME.pcap, and returns once it is listening.
# pl_capture_stop NAME stops it and waits until the file is complete.
# --immediate-mode: with libpcap's default TPACKET_V3 ring, packets wait in
# a block for up to a second and those still waiting at SIGINT are never
# written: a lab fast enough to finish within that second captured nothing.
declare -A PL_CAPTURES=()
pl_capture_start() {
  local name=$1 ns=$2 ifc=$3; shift 3
  ip netns exec "$ns" tcpdump --immediate-mode -i "$ifc" -nn -U -w "$PL_TMP/$name.pcap" "$@" > "$PL_TMP/$name.tcpdump.log" 2>&1 &
  PL_CAPTURES[$name]=$!
  PL_PIDS+=("$!")
  pl_wait_for "tcpdump on $ifc in $ns" 10 grep -q "listening on" "$PL_TMP/$name.tcpdump.log"
}
pl_capture_stop() {
  local pid=${PL_CAPTURES[$1]}
  sleep 0.3   # the last packets' echo
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PL_CAPTURES[$1]"
}

# pl_ping_ok NETNS DST [PING ARGS...]: pings DST 3 times from NETNS; true if
# every echo was answered. The summary line is left in PL_PING_SUMMARY.
# pl_ping: the same, failing the test otherwise.
pl_ping_ok() {
  local ns=$1 dst=$2 out; shift 2
  out=$(ip netns exec "$ns" ping -n -q -c 3 -i 0.2 -W 2 "$@" "$dst" 2>&1) || true
  PL_PING_SUMMARY=$(grep -E 'packet loss|rror' <<<"$out" | paste -sd ' ')
  grep -q " 0% packet loss" <<<"$out"
}
pl_ping() {
  pl_ping_ok "$@" || pl_fail "ping ${*:3}${3:+ }$2 from $1 lost packets: $PL_PING_SUMMARY"
}

# pl_check_fail MESSAGE: records a failed check and goes on, so one run shows
# every independent problem; pl_checks_done fails the test if any was recorded.
PL_FAILED_CHECKS=()
pl_check_fail() {
  pl_log "FAIL (continuing): $*"
  PL_FAILED_CHECKS+=("$*")
}
pl_checks_done() {
  [ ${#PL_FAILED_CHECKS[@]} -eq 0 ] && return 0
  pl_log "${#PL_FAILED_CHECKS[@]} check(s) failed:"
  printf '  - %s\n' "${PL_FAILED_CHECKS[@]}"
  pl_fail "${#PL_FAILED_CHECKS[@]} check(s) failed"
}

# pl_start_icmpecho NETNS SOCKET MAC: a DPDK application in a pod, dpdk-testpmd
# answering ARP and ping (icmpecho) on net_virtio_user at the vhost-user
# SOCKET with MAC. Stopped on exit; its PID is in PL_ICMPECHO_PID, its output
# in $PL_TMP/testpmd.log.
pl_start_icmpecho() {
  local ns=$1 sock=$2 mac=$3 fifo
  # testpmd exits on a line of stdin: a FIFO nobody writes to.
  fifo=$(mktemp -u "$PL_TMP/testpmd.in.XXXXXX")
  mkfifo "$fifo"
  exec {PL_ICMPECHO_IN}<>"$fifo"
  ip netns exec "$ns" dpdk-testpmd -l 0,1 --no-huge -m 256 --no-pci --file-prefix "pl-pmd-$$" --no-telemetry \
    --vdev "net_virtio_user0,path=$sock,mac=$mac" -- --forward-mode=icmpecho --auto-start --stats-period 0 \
    --total-num-mbufs 4096 <&"$PL_ICMPECHO_IN" > "$PL_TMP/testpmd.log" 2>&1 &
  PL_ICMPECHO_PID=$!
  PL_PIDS+=("$PL_ICMPECHO_PID")
  # Not --in-memory: testpmd keeps a runtime directory; stop it, then remove that.
  pl_on_exit 'kill -TERM "$PL_ICMPECHO_PID" 2>/dev/null; wait "$PL_ICMPECHO_PID" 2>/dev/null; rm -rf "/var/run/dpdk/pl-pmd-$$"'
}

# pl_start_podlaned NETNS CONFIG [--log FILE] [--socket PATH] [--timeout SECONDS] [--no-wait]:
# starts $PODLANED in NETNS with CONFIG, its output appended to FILE (default
# $PL_TMP/podlaned.log), and waits until `$PODLANE status` answers on PATH
# (default: the CLI's own, e.g. $PODLANE_SOCKET) within SECONDS (default 30).
# If podlaned exits first or does not answer in time, the test fails with the
# log's tail. The PID is in PL_PODLANED_PID; podlaned is stopped on exit.
# --no-wait returns once started, to start several at once: then
# pl_wait_podlaned PID waits for each.
declare -A PL_PODLANED_LOG=() PL_PODLANED_SOCKET=() PL_PODLANED_TIMEOUT=()
pl_start_podlaned() {
  local ns=$1 config=$2 log=$PL_TMP/podlaned.log socket="" secs=30 wait=1; shift 2
  while [ $# -gt 0 ]; do
    case $1 in
      --log) log=$2; shift 2 ;;
      --socket) socket=$2; shift 2 ;;
      --timeout) secs=$2; shift 2 ;;
      --no-wait) wait=0; shift ;;
      *) pl_fail "pl_start_podlaned: unknown option $1" ;;
    esac
  done
  ip netns exec "$ns" "$PODLANED" --config "$config" >> "$log" 2>&1 &
  PL_PODLANED_PID=$!
  PL_PIDS+=("$PL_PODLANED_PID")
  PL_PODLANED_LOG[$PL_PODLANED_PID]=$log
  PL_PODLANED_SOCKET[$PL_PODLANED_PID]=$socket
  PL_PODLANED_TIMEOUT[$PL_PODLANED_PID]=$secs
  [ "$wait" = 0 ] || pl_wait_podlaned "$PL_PODLANED_PID"
}
pl_wait_podlaned() {
  local pid=$1 log=${PL_PODLANED_LOG[$1]} socket=${PL_PODLANED_SOCKET[$1]} secs=${PL_PODLANED_TIMEOUT[$1]} why=""
  local cli=("$PODLANE")
  [ -z "$socket" ] || cli+=(--socket "$socket")
  for _ in $(seq $((secs * 10))); do
    if "${cli[@]}" status >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then why="it exited"; break; fi
    sleep 0.1
  done
  # pl_cleanup shows the default log's tail itself
  if [ "$log" != "$PL_TMP/podlaned.log" ]; then echo "---- $log ----"; tail -n 50 "$log"; fi
  pl_fail "podlaned (pid $pid) did not come up: ${why:-its API did not answer within ${secs}s}"
}
