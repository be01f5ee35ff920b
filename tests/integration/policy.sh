#!/usr/bin/env bash
# Integration test: network policy on a 3-node lab (scripts/lab.sh --etcd,
# two pods a node) in MODE vxlan, geneve or native. Policies modelled on the
# upstream Kubernetes network-policy e2e cases (allow by pod label, by
# namespace, deny all ingress, deny all egress, ports, endPort, egress to a
# CIDR with an except) and CiliumNetworkPolicy ones (fromEndpoints,
# toEntities) are written into etcd one at a time; for each, real TCP and
# UDP probes from every pod to every other pod give a reachability matrix
# that must equal the expected truth table. Then: denied flows are counted
# as policy_denied and shown by observe with their identities, endpoint list
# shows the enforcement, and allowed traffic loses nothing while policies
# change 100 times a second.
#
#   tests/integration/policy.sh MODE PODLANED PODLANE
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 vxlan|geneve|native PODLANED PODLANE" >&2; exit 2; }
MODE=$1
PODLANED=$(realpath "$2")
PODLANE=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export PODLANED PODLANE

N=3
P=plp$$-
RUN=/run/podlane/lab-$P
LAB=$REPO/scripts/lab.sh
PROBE=$HERE/policy_probe.py
ETCD_URL=http://192.168.50.2:2379
TCP_PORT=80
UDP_PORT=53

# The pods: node:pod -> namespace and role. Namespace pa carries team=alpha,
# pb team=beta (Cilium's io.cilium.k8s.namespace.labels.* on the pod).
PODS=(1:1 1:2 2:1 2:2 3:1 3:2)
declare -A NS=([1:1]=pa [1:2]=pb [2:1]=pa [2:2]=pb [3:1]=pa [3:2]=pb)
declare -A ROLE=([1:1]=client [1:2]=server [2:1]=server [2:2]=client [3:1]=db [3:2]=server)
team() { [ "$1" = pa ] && echo alpha || echo beta; }
ip_of() { echo "10.210.${1%%:*}.$((10 + ${1##*:}))"; }
pod_ns() { echo "${P}n${1%%:*}p${1##*:}"; }
cli() { local i=$1; shift; "$PODLANE" --socket "$RUN/node$i.sock" "$@"; }
etcdctl_() { ip netns exec "${P}ext" etcdctl --endpoints "$ETCD_URL" "$@"; }

teardown() {
  local pid i
  for pid in "${PL_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ "$PL_RC" -ne 0 ] && [ -d "$RUN" ]; then
    for i in $(seq $N); do
      echo "==== node$i: policy, stats, log tail ===="
      cli "$i" policy get 2>&1 || true
      cli "$i" stats 2>&1 | tail -n 25 || true
      tail -n 20 "$RUN/node$i.log" 2>/dev/null || true
    done
  fi
  "$LAB" down --prefix "$P" || true
}
pl_on_exit teardown
PL_NETNS+=("${P}fab" "${P}ext" "${P}etcd")
for i in $(seq $N); do PL_NETNS+=("${P}node$i"); done
for pod in "${PODS[@]}"; do PL_NETNS+=("$(pod_ns "$pod")"); done

T0=$SECONDS
labels=()
for pod in "${PODS[@]}"; do
  labels+=(--pod-labels "${pod}:${NS[$pod]}:role=${ROLE[$pod]},io.cilium.k8s.namespace.labels.team=$(team "${NS[$pod]}")")
done
pl_log "lab up: $N nodes, 2 pods each, $MODE, etcd, prefix $P"
"$LAB" up --nodes $N --pods 2 --mode "$MODE" --prefix "$P" --etcd "${labels[@]}"
pl_log "lab up took $((SECONDS - T0))s"

for pod in "${PODS[@]}"; do
  ip netns exec "$(pod_ns "$pod")" python3 "$PROBE" serve $TCP_PORT $UDP_PORT &
  PL_PIDS+=($!)
done

# Every node knows every other node's pods (etcd), with their namespace labels
# (the other nodes' health endpoints, identity 4 = reserved:health, aside).
remote_pods_known() { [ "$(cli "$1" ipcache list -o json | jq '[.[] | select(.source == "remote-endpoint" and .identity != 4)] | length')" = 4 ]; }
for i in $(seq $N); do
  pl_wait_for "node$i to know the 4 remote pods" 20 remote_pods_known "$i"
done

# -------------------------------------------------------------- expectations
# allowed CASE SRC DST PROTO: true if the case's policies allow SRC -> DST.
allowed() {
  local c=$1 s=$2 d=$3 proto=$4
  case $c in
    none) return 0 ;;
    pod-label) # pa: servers accept only pa clients
      [ "${NS[$d]}/${ROLE[$d]}" != pa/server ] || [ "${NS[$s]}/${ROLE[$s]}" = pa/client ] ;;
    namespace) # pb: servers accept only pods of namespaces labelled team=alpha (pa)
      [ "${NS[$d]}/${ROLE[$d]}" != pb/server ] || [ "${NS[$s]}" = pa ] ;;
    deny-ingress) [ "${NS[$d]}" != pa ] ;;
    deny-egress) [ "${NS[$s]}" != pb ] ;;
    ports) # pa servers: TCP 80 from anyone, nothing else
      [ "${NS[$d]}/${ROLE[$d]}" != pa/server ] || [ "$proto" = tcp ] ;;
    end-port) # pa servers: UDP 50-60 and TCP 81-90: the UDP probe (53) passes, TCP 80 does not
      [ "${NS[$d]}/${ROLE[$d]}" != pa/server ] || [ "$proto" = udp ] ;;
    cidr-except) # pa clients: egress to 10.210.0.0/16 except node2's 10.210.2.0/24
      [ "${NS[$s]}/${ROLE[$s]}" != pa/client ] || [ "${d%%:*}" != 2 ] ;;
    cnp-endpoints) # CNP in pb: servers accept only pb's role=client
      [ "${NS[$d]}/${ROLE[$d]}" != pb/server ] || [ "${NS[$s]}/${ROLE[$s]}" = pb/client ] ;;
    cnp-world) # CNP in pa: role=db may only reach world: no pod
      [ "${NS[$s]}/${ROLE[$s]}" != pa/db ] ;;
    *) pl_fail "no expectations for case $c" ;;
  esac
}

np() { # np NAME NAMESPACE SPEC-JSON
  jq -cn --arg n "$1" --arg ns "$2" --argjson spec "$3" \
    '{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: {name: $n, namespace: $ns}, spec: $spec}'
}
cnp() {
  jq -cn --arg n "$1" --arg ns "$2" --argjson spec "$3" \
    '{apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: {name: $n, namespace: $ns}, spec: $spec}'
}
policy_of() {
  case $1 in
    pod-label) np allow-client pa '{"podSelector": {"matchLabels": {"role": "server"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}]}' ;;
    namespace) np from-alpha pb '{"podSelector": {"matchLabels": {"role": "server"}}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "alpha"}}}]}]}' ;;
    deny-ingress) np deny-ingress pa '{"podSelector": {}, "policyTypes": ["Ingress"]}' ;;
    deny-egress) np deny-egress pb '{"podSelector": {}, "policyTypes": ["Egress"]}' ;;
    ports) np tcp-80 pa '{"podSelector": {"matchLabels": {"role": "server"}}, "ingress": [{"ports": [{"protocol": "TCP", "port": 80}]}]}' ;;
    end-port) np ranges pa '{"podSelector": {"matchLabels": {"role": "server"}}, "ingress": [{"ports": [{"protocol": "UDP", "port": 50, "endPort": 60}, {"protocol": "TCP", "port": 81, "endPort": 90}]}]}' ;;
    cidr-except) np cidr pa '{"podSelector": {"matchLabels": {"role": "client"}}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "10.210.0.0/16", "except": ["10.210.2.0/24"]}}]}]}' ;;
    cnp-endpoints) cnp only-clients pb '{"endpointSelector": {"matchLabels": {"role": "server"}}, "ingress": [{"fromEndpoints": [{"matchLabels": {"role": "client"}}]}]}' ;;
    cnp-world) cnp db-world pa '{"endpointSelector": {"matchLabels": {"role": "db"}}, "egress": [{"toEntities": ["world"]}]}' ;;
  esac
}

policies_are() { [ "$(cli "$1" policy get -o json | jq '.policies | length')" = "$2" ]; }
# wait_policies COUNT: every node has COUNT policies in force (and published them).
wait_policies() {
  local i
  for i in $(seq $N); do
    pl_wait_for "node$i to have $1 policies" 10 policies_are "$i" "$1"
  done
  sleep 0.5 # the publish that carries them
}

# probe_matrix CASE: every pod probes every other pod, TCP and UDP; the
# matrix must equal the truth table. Prints the matrix.
probe_matrix() {
  local c=$1 s d proto ip res want got bad=0 pids=() out=$RUN/probe-$1
  mkdir -p "$out"
  for s in "${PODS[@]}"; do
    local targets=()
    for d in "${PODS[@]}"; do [ "$s" = "$d" ] || targets+=("$(ip_of "$d")"); done
    ip netns exec "$(pod_ns "$s")" python3 "$PROBE" probe 1.5 $TCP_PORT $UDP_PORT "${targets[@]}" > "$out/$s" &
    pids+=($!)
  done
  for s in "${pids[@]}"; do wait "$s"; done
  local line="case $c:"
  for s in "${PODS[@]}"; do
    for d in "${PODS[@]}"; do
      [ "$s" != "$d" ] || continue
      for proto in tcp udp; do
        got=$(awk -v ip="$(ip_of "$d")" -v p=$proto '$1 == ip && $2 == p {print $3}' "$out/$s")
        if allowed "$c" "$s" "$d" "$proto"; then want=ok; else want=fail; fi
        if [ "$got" != "$want" ]; then
          pl_log "  MISMATCH $c: n${s%%:*}p${s##*:} (${NS[$s]}/${ROLE[$s]}) -> n${d%%:*}p${d##*:} (${NS[$d]}/${ROLE[$d]}) $proto: got ${got:-nothing}, expected $want"
          bad=$((bad + 1))
        fi
      done
    done
  done
  local allowed_n denied_n
  allowed_n=$(cat "$out"/* | grep -c ' ok$' || true)
  denied_n=$(cat "$out"/* | grep -c ' fail$' || true)
  pl_log "$line $allowed_n probes passed, $denied_n were refused, $bad mismatches"
  [ "$bad" = 0 ] || pl_fail "case $c: the reachability matrix differs from the truth table"
}

CASES=(pod-label namespace deny-ingress deny-egress ports end-port cidr-except cnp-endpoints cnp-world)

T1=$SECONDS
wait_policies 0
probe_matrix none
denied_before=0
for i in $(seq $N); do
  denied_before=$((denied_before + $(cli "$i" stats -o json | jq '.totals.drops.policy_denied // 0')))
done
[ "$denied_before" = 0 ] || pl_fail "policy_denied drops without any policy: $denied_before"
for c in "${CASES[@]}"; do
  etcdctl_ put "/podlane/policies/$c" "$(policy_of "$c")" > /dev/null
  wait_policies 1
  if [ "$c" = pod-label ]; then
    # endpoint list shows the enforcement per direction (n2p1 is pa's server).
    row=$(cli 2 endpoint list | awk '$1 == "lab/n2p1" || $1 == "pa/n2p1"')
    grep -q "Enabled *Disabled *$" <<<"$row" || pl_fail "endpoint list: n2p1 should enforce ingress only: $row"
    cli 2 policy get | grep -q "NetworkPolicy  *pa  *allow-client" || pl_fail "policy get does not show pa/allow-client"
  fi
  probe_matrix "$c"
  etcdctl_ del "/podlane/policies/$c" > /dev/null
done
wait_policies 0
probe_matrix none
pl_log "${#CASES[@]} policies probed in $((SECONDS - T1))s"

# ------------------------------------------------- drops: counted and observed
denied=0
for i in $(seq $N); do
  denied=$((denied + $(cli "$i" stats -o json | jq '.totals.drops.policy_denied // 0')))
done
[ "$denied" -gt 0 ] || pl_fail "no policy_denied drop counted"
pl_log "policy_denied drops on the nodes: $denied"
obs=$(cli 2 observe --last 5000 -o json | jq -c 'select(.drop_reason == "policy_denied")' | tail -n 1)
[ -n "$obs" ] || pl_fail "observe on node2 shows no policy_denied drop"
jq -e '(.source.identity | numbers) and (.destination.identity | numbers)' <<<"$obs" > /dev/null ||
  pl_fail "observe's policy drop has no identities: $obs"
pl_log "observe: $obs"

# ------------------------------------------- hitless: 100 policy changes a second
# Allowed UDP traffic n1p1 -> n2p1 (pa/allow-client lets pa clients in)
# flows while another policy is put and deleted, 100 changes a second for 5
# seconds (over etcd's JSON gateway from one process); no datagram of it may
# be lost.
etcdctl_ put /podlane/policies/base "$(policy_of pod-label)" > /dev/null
wait_policies 1
ip netns exec "$(pod_ns 1:1)" python3 "$HERE/policy_hitless.py" send "$(ip_of 2:1)" $UDP_PORT 7 > "$RUN/hitless" &
SENDER=$!
sleep 0.5
ip netns exec "${P}ext" python3 "$HERE/policy_hitless.py" churn "$ETCD_URL" 500 100 > "$RUN/churn"
wait "$SENDER"
read -r lost sent < "$RUN/hitless"
read -r changes secs < "$RUN/churn"
pl_log "hitless: $changes policy changes in ${secs}s; allowed UDP flow: $sent datagrams, $lost lost"
[ "$sent" -gt 500 ] || pl_fail "the sender sent only $sent datagrams"
[ "$lost" = 0 ] || pl_fail "$lost of $sent allowed datagrams lost while policies changed"
pl_log "node2's policy revision after the churn: $(cli 2 policy get -o json | jq .revision)"
etcdctl_ del /podlane/policies/base > /dev/null

pl_log "PASS ($((SECONDS - T0))s)"
