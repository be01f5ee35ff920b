#!/usr/bin/env bash
# Integration test: podlaned refuses what it cannot run, with a message an
# operator can act on and a non-zero exit, and leaves nothing behind.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
id=$$
NODE=plt-err-$id
pl_netns "$NODE"

base() {
  cat <<YAML
node: {name: err-node}
dataplane: {worker_lcores: [1], file_prefix: podlane-err-$id, idle_sleep_us: 100}
network: {pod_cidr: 10.203.0.0/24, gateway_ip: 10.203.0.1}
api: {socket: $PL_TMP/api.sock}
YAML
}

# expect_refusal NAME EXPECTED-TEXT [podlaned args...]: podlaned exits non-zero
# within 20 s and says EXPECTED-TEXT on stderr.
expect_refusal() {
  local name=$1 text=$2; shift 2
  local rc=0
  timeout 20 ip netns exec "$NODE" "$PODLANED" "$@" > "$PL_TMP/out.log" 2>&1 || rc=$?
  [ $rc -ne 0 ] || pl_fail "$name: podlaned exited 0"
  [ $rc -ne 124 ] || pl_fail "$name: podlaned did not exit"
  grep -qF -- "$text" "$PL_TMP/out.log" || { cat "$PL_TMP/out.log"; pl_fail "$name: message lacks \"$text\""; }
  pl_log "$name: exit $rc, \"$(grep -F -- "$text" "$PL_TMP/out.log" | head -n 1)\""
}

{ base; echo "dataplane: {burst_size: 500}"; } > "$PL_TMP/dup.yaml"
expect_refusal "duplicate section" "dataplane" --check-config "$PL_TMP/dup.yaml"

base | sed 's/gateway_ip: 10.203.0.1/gateway_ip: 10.9.0.1/' > "$PL_TMP/gw.yaml"
expect_refusal "gateway outside the pod CIDR" "10.9.0.1" --config "$PL_TMP/gw.yaml"

{ base; printf 'ports:\n  - {name: bogus, devargs: "net_nosuchdriver0"}\n'; } > "$PL_TMP/port.yaml"
expect_refusal "a port that cannot start" "net_nosuchdriver0" --config "$PL_TMP/port.yaml"

{ base; printf 'endpoints:\n  - {id: x, ip: 10.203.0.5, netns: plt-missing-%s}\n' "$id"; } > "$PL_TMP/ns.yaml"
expect_refusal "an endpoint whose netns is missing" "ip netns add plt-missing-$id" --config "$PL_TMP/ns.yaml"

base | sed 's/worker_lcores: \[1\]/worker_lcores: [1], eal_args: ["--no-such-eal-flag"]/' > "$PL_TMP/eal.yaml"
expect_refusal "EAL that cannot start" "cannot start DPDK EAL" --config "$PL_TMP/eal.yaml"

expect_refusal "unknown argument" "unknown or incomplete argument" --frobnicate

pl_log "nothing left behind: no TAP in the node namespace, no API socket"
[ -z "$(ip -n "$NODE" -o link show type tun 2>/dev/null)" ] || pl_fail "TAP interfaces left in $NODE"
[ ! -e "$PL_TMP/api.sock" ] || pl_fail "API socket left behind"
"$PODLANE" --socket "$PL_TMP/api.sock" status > "$PL_TMP/cli.log" 2>&1 && pl_fail "CLI reached a stopped podlaned"
grep -q "is podlaned running" "$PL_TMP/cli.log" || pl_fail "CLI error unclear: $(cat "$PL_TMP/cli.log")"
pl_log "PASS"
