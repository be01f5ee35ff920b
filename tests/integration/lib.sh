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
