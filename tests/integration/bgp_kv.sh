#!/usr/bin/env bash
# Integration test: BGP configured from Cilium's objects in etcd (issue 17),
# the seed lab's CiliumBGPClusterConfig / CiliumBGPPeerConfig /
# CiliumBGPAdvertisement (scripts/lab.sh up --etcd --bgp writes them under
# /podlane/cilium.io/v2/; node configs carry only node.labels and
# bgp.run_dir). Two nodes, native routing, FRR (AS 65000) in the lab's
# external namespace. Asserted through FRR's JSON:
#   - both sessions Established with the peer config's hold 9 s /
#     keepalive 3 s and graceful restart time 15 s;
#   - each PodCIDR from its node; the LoadBalancer IP from both (ECMP), and
#     the external client curls it;
#   - a second CiliumBGPAdvertisement (ClusterIP, selector app=web) put into
#     etcd: the router learns the ClusterIP /32 from both nodes, no session
#     reset (connectionsEstablished unchanged);
#   - a bad CiliumBGPPeerConfig is named with its key in status, no session
#     reset;
#   - the CiliumBGPClusterConfig deleted: BGP stops (BIRD stopped, the routes
#     withdrawn); put back: Established again, the routes back.
#
#   tests/integration/bgp_kv.sh PODLANED PODLANE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PODLANED PODLANE" >&2; exit 2; }
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export PODLANED PODLANE
for tool in bird vtysh etcd etcdctl jq curl; do
  command -v "$tool" >/dev/null || pl_fail "$tool is missing (scripts/install-deps.sh installs it)"
done

N=2
P=plbk$$-
RUN=/run/podlane/lab-$P
FRR=/run/podlane-frr/lab-$P
LAB=$REPO/scripts/lab.sh
LB=172.16.0.10
ETCDCTL=(ip netns exec "${P}ext" etcdctl --endpoints http://192.168.50.2:2379)
CILIUM=/podlane/cilium.io/v2

node_ip() { echo "192.168.50.$((10 + $1))"; }
cli() { local i=$1; shift; "$PODLANE" --socket "$RUN/node$i.sock" "$@"; }
vty() { ip netns exec "${P}ext" vtysh --vty_socket "$FRR" "$@"; }
pass() { pl_log "PASS: $*"; }
teardown() {
  local i
  if [ "$PL_RC" -ne 0 ] && [ -d "$RUN" ]; then
    for i in $(seq $N); do
      echo "==== node$i ===="; cli "$i" bgp peers 2>&1 || true; tail -n 20 "$RUN/node$i.log" 2>/dev/null || true
    done
    vty -c 'show bgp summary' -c 'show ip bgp' 2>&1 || true
  fi
  "$LAB" down --prefix "$P" || true
}
pl_on_exit teardown
PL_NETNS+=("${P}fab" "${P}ext" "${P}etcd")
for i in $(seq $N); do PL_NETNS+=("${P}node$i" "${P}n${i}p1"); done

cat > "$PL_TMP/services.yaml" <<EOT
services:
  - name: default/web
    type: LoadBalancer
    cluster_ip: 10.96.0.10
    load_balancer_ips: [$LB]
    labels: {app: web}
    ports: [{port: 80, target_port: 8080, node_port: 30080}]
    backends: [{ip: 10.210.1.11}, {ip: 10.210.2.11}]
EOT
T0=$SECONDS
"$LAB" up --nodes $N --pods 1 --mode native --prefix "$P" --etcd --bgp --services "$PL_TMP/services.yaml" \
  > "$PL_TMP/lab-up.log" 2>&1 || { cat "$PL_TMP/lab-up.log"; pl_fail "scripts/lab.sh up --etcd --bgp failed"; }
pl_log "lab up took $((SECONDS - T0))s"
! grep -qE "^ +instances:" "$RUN/node1.yaml" || pl_fail "node1's config has BGP instances: they should come from etcd"
for i in $(seq $N); do
  ip netns exec "${P}n${i}p1" /usr/bin/python3 "$HERE/whoami_server.py" 0.0.0.0 8080 "n${i}p1" > /dev/null 2>&1 &
  PL_PIDS+=("$!")
done

established() {
  vty -c 'show bgp neighbors json' | jq -e --argjson n "$1" '[.[] | select(.bgpState == "Established")] | length == $n' >/dev/null
}
pl_wait_for "both sessions Established (BGP from Cilium's objects in etcd)" 45 established $N
NEIGH=$(vty -c 'show bgp neighbors json')
for i in $(seq $N); do
  jq -e --arg ip "$(node_ip "$i")" '.[$ip] | .bgpTimerHoldTimeMsecs == 9000 and .bgpTimerKeepAliveIntervalMsecs == 3000 and
      .remoteAs == 65001 and .gracefulRestartInfo.timers.receivedRestartTimer == 15' <<<"$NEIGH" >/dev/null ||
    pl_fail "node$i: not as CiliumBGPPeerConfig cilium-peer says: $(jq -c --arg ip "$(node_ip "$i")" '.[$ip] |
      {bgpTimerHoldTimeMsecs, bgpTimerKeepAliveIntervalMsecs, remoteAs, gr: .gracefulRestartInfo.timers}' <<<"$NEIGH")"
done
pass "hold 9 s, keepalive 3 s, graceful restart 15 s from CiliumBGPPeerConfig on both sessions"
conns() { vty -c 'show bgp neighbors json' | jq -c '[to_entries[] | {(.key): .value.connectionsEstablished}] | add'; }
CONNS=$(conns)

nexthops() { vty -c 'show bgp ipv4 unicast json' | jq -r --arg p "$1" '[.routes[$p][]?.nexthops[0].ip] | sort | join(" ")'; }
expect_nexthops() { # PREFIX SECONDS NODE...
  local prefix=$1 secs=$2 want; shift 2
  want=$(for i in "$@"; do node_ip "$i"; done | sort | paste -sd " ")
  local deadline=$((SECONDS + secs))
  until [ "$(nexthops "$prefix")" = "$want" ]; do
    [ $SECONDS -lt $deadline ] || pl_fail "$prefix: next hops \"$(nexthops "$prefix")\", expected \"$want\""
    sleep 0.1
  done
}
for i in $(seq $N); do expect_nexthops "10.210.$i.0/24" 15 "$i"; done
expect_nexthops "$LB/32" 10 1 2
pass "PodCIDRs from their nodes, $LB/32 from both (CiliumBGPAdvertisement bgp-advertisements)"
pl_wait_for "the whoami servers" 15 sh -c "ip netns exec ${P}n1p1 ss -Hltn 'sport = :8080' | grep -q LISTEN"
out=$(ip netns exec "${P}ext" curl -sS --max-time 5 "http://$LB/whoami") || pl_fail "curl http://$LB/whoami: $out"
pass "the external client reaches $LB over the learnt routes: $out"
cli 1 status | grep -E '^BGP: +1/1 peers established' || pl_fail "no 'BGP: 1/1 peers established' in node1's status"

pl_log "a second advertisement: ClusterIPs of services labelled app=web"
"${ETCDCTL[@]}" put "$CILIUM/ciliumbgpadvertisements/cluster-ips" '{"apiVersion":"cilium.io/v2","kind":"CiliumBGPAdvertisement",
  "metadata":{"name":"cluster-ips","labels":{"advertise":"bgp"}},"spec":{"advertisements":[{"advertisementType":"Service",
  "service":{"addresses":["ClusterIP"]},"selector":{"matchLabels":{"app":"web"}}}]}}' >/dev/null
expect_nexthops "10.96.0.10/32" 10 1 2
[ "$(conns)" = "$CONNS" ] || pl_fail "a session was reset by the new advertisement: $CONNS -> $(conns)"
pass "10.96.0.10/32 (ClusterIP, app=web) from both nodes; no session reset ($CONNS)"

pl_log "a bad CiliumBGPPeerConfig is refused by name and key; the sessions stay"
"${ETCDCTL[@]}" put "$CILIUM/ciliumbgppeerconfigs/broken" '{"metadata":{"name":"broken"},"spec":{"timers":{"holdTimeSeconds":2}}}' >/dev/null
named() { cli 1 status -o json | jq -e '.source.last_error | contains("CiliumBGPPeerConfig broken: spec.timers.holdTimeSeconds: 2 is out of range")'; }
pl_wait_for "the bad peer config named in status" 5 named || pl_fail "status: $(cli 1 status -o json | jq -c .source)"
[ "$(conns)" = "$CONNS" ] || pl_fail "a session was reset by an unrelated bad object"

pl_log "the CiliumBGPClusterConfig deleted: BGP stops on both nodes; put back: Established again"
saved=$("${ETCDCTL[@]}" get "$CILIUM/ciliumbgpclusterconfigs/cilium-bgp" --print-value-only)
"${ETCDCTL[@]}" del "$CILIUM/ciliumbgpclusterconfigs/cilium-bgp" >/dev/null
gone() { [ -z "$(nexthops "$LB/32")" ]; }
pl_wait_for "$LB/32 withdrawn" 20 gone || pl_fail "$LB/32 still has next hops $(nexthops "$LB/32")"
off=$(cli 1 bgp peers 2>&1 || true)
grep -q "BGP is off" <<<"$off" || pl_fail "node1 still runs BGP: $off"
"${ETCDCTL[@]}" put "$CILIUM/ciliumbgpclusterconfigs/cilium-bgp" "$saved" >/dev/null
pl_wait_for "both sessions Established again" 45 established $N
expect_nexthops "$LB/32" 15 1 2
pass "BGP followed the CiliumBGPClusterConfig: off when deleted, back when put again"
vty -c 'show ip bgp'
pl_log "integration-bgp-kv: all checks passed"
