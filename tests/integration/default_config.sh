#!/usr/bin/env bash
# Integration test: podlaned started without --config runs on its embedded
# default (configs/podlane.yaml, as `podlaned --print-default-config` shows
# it): node1, three pods in the namespaces pl-pod-a, pl-pod-b and pl-pod-c
# (created here, as scripts/demo.sh does), the API on its default socket
# /run/podlane/podlane.sock. Real pings cross it; `podlane status` and
# `podlane service list` answer on the default socket without --socket.
# Refuses to run while the demo (which uses the same names) is up.
#
#   tests/integration/default_config.sh PODLANED PODLANE
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
unset PODLANE_SOCKET
SOCK=/run/podlane/podlane.sock
for ns in pl-pod-a pl-pod-b pl-pod-c; do
  ! ip netns list | grep -qw "$ns" || pl_fail "namespace $ns exists: is the demo up? (scripts/demo.sh stop)"
done
! "$PODLANE" status >/dev/null 2>&1 || pl_fail "a podlaned already answers on $SOCK (scripts/demo.sh stop)"

"$PODLANED" --print-default-config > "$PL_TMP/default.yaml"
diff -B -q "$PL_TMP/default.yaml" "$(dirname "$0")/../../configs/podlane.yaml" >/dev/null ||
  pl_fail "--print-default-config differs from configs/podlane.yaml"
NODE=pld-node-$$
pl_netns "$NODE"; pl_netns pl-pod-a; pl_netns pl-pod-b; pl_netns pl-pod-c

pl_log "starting podlaned without --config in $NODE"
ip netns exec "$NODE" "$PODLANED" > "$PL_TMP/podlaned.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "podlaned on the default socket $SOCK" 30 "$PODLANE" status
st=$("$PODLANE" status -o json)
jq -e '.node == "node1" and .endpoints == 3' <<<"$st" >/dev/null ||
  pl_fail "status on the embedded default: expected node1 with 3 endpoints: $(jq -c '{node, endpoints}' <<<"$st")"
"$PODLANE" service list -o json | jq -e 'any(.[]; .name == "default/web" and .frontend == "10.96.0.10:80/TCP")' >/dev/null ||
  pl_fail "service list lacks the default config's default/web 10.96.0.10:80"
ip netns exec pl-pod-a ping -c 3 -i 0.2 -W 2 10.200.0.1 >/dev/null || pl_fail "pod-a cannot ping the gateway 10.200.0.1"
ip netns exec pl-pod-a ping -c 3 -i 0.2 -W 2 10.200.0.13 >/dev/null || pl_fail "pod-a cannot ping pod-c 10.200.0.13"
pl_log "PASS: the embedded default runs node1 with 3 pods on $SOCK; pods ping the gateway and each other"
