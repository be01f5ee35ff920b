#!/usr/bin/env bash
# Integration test: BGP (issue 17) in a 3-node native-routing lab
# (scripts/lab.sh --bgp): every podlaned runs BIRD (AS 65001) and peers with
# FRR (AS 65000) in the lab's external namespace, whose zebra installs what it
# learns. No static route to a pod or LB IP exists there. Asserted through
# FRR's JSON (vtysh -c '... json'):
#   - every session Established, hold 9 s / keepalive 3 s applied;
#   - each PodCIDR learnt from its own node;
#   - default/web-cluster (externalTrafficPolicy Cluster) 172.16.0.10/32 from
#     every node (ECMP); default/web-local (Local, backends on node1 and
#     node2) 172.16.0.20/32 from node1 and node2 only;
#   - the node2 backend of web-local deleted (podlane service update on every
#     node): withdrawn from node2 within 1 s, announced again when it is back,
#     and no session reset on the way (connectionsEstablished unchanged);
#   - the external client curls both LB IPs and pings a pod over the learnt
#     routes;
#   - BIRD killed on node1: the router keeps node1's routes as stale
#     (graceful restart), podlaned starts BIRD again and the session and
#     routes come back;
#   - podlane bgp peers/routes, the BGP: status line and the metrics;
#   - node1's config file reloaded with ClusterIPs in its advertisement: the
#     router learns them from node1, no session reset.
#
#   tests/integration/bgp.sh PODLANED PODLANE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PODLANED PODLANE" >&2; exit 2; }
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export PODLANED PODLANE
command -v bird >/dev/null || pl_fail "bird is missing (scripts/install-deps.sh installs bird2)"
command -v vtysh >/dev/null || pl_fail "vtysh is missing (scripts/install-deps.sh installs frr)"

N=3
P=plb$$-
RUN=/run/podlane/lab-$P
FRR=/run/podlane-frr/lab-$P
LAB=$REPO/scripts/lab.sh
LB_CLUSTER=172.16.0.10
LB_LOCAL=172.16.0.20

node_ip() { echo "192.168.50.$((10 + $1))"; }
cli() { local i=$1; shift; "$PODLANE" --socket "$RUN/node$i.sock" "$@"; }
vty() { ip netns exec "${P}ext" vtysh --vty_socket "$FRR" "$@"; }
pass() { pl_log "PASS: $*"; }

teardown() {
  local pid i
  for pid in "${PL_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ "$PL_RC" -ne 0 ] && [ -d "$RUN" ]; then
    for i in $(seq $N); do
      echo "==== node$i: bgp peers, log tail, BIRD log tail ===="
      cli "$i" bgp peers 2>&1 || true
      tail -n 20 "$RUN/node$i.log" 2>/dev/null || true
      tail -n 20 "$RUN/bgp-node$i/bird.log" 2>/dev/null || true
    done
    echo "==== router ===="
    vty -c 'show bgp summary' -c 'show ip bgp' 2>&1 || true
    tail -n 30 "$FRR/frr.log" 2>/dev/null || true
  fi
  "$LAB" down --prefix "$P" || true
}
pl_on_exit teardown
PL_NETNS+=("${P}fab" "${P}ext")
for i in $(seq $N); do PL_NETNS+=("${P}node$i" "${P}n${i}p1"); done

# Two LoadBalancer services with backends on node1 and node2 (pod .11 of each).
services() { # services LOCAL_BACKENDS...: the services file, web-local with these backends
  cat <<EOT
services:
  - name: default/web-cluster
    type: LoadBalancer
    cluster_ip: 10.96.0.10
    load_balancer_ips: [$LB_CLUSTER]
    ports: [{port: 80, target_port: 8080, node_port: 30080}]
    backends: [{ip: 10.210.1.11}, {ip: 10.210.2.11}]
  - name: default/web-local
    type: LoadBalancer
    cluster_ip: 10.96.0.20
    load_balancer_ips: [$LB_LOCAL]
    external_traffic_policy: Local
    ports: [{port: 80, target_port: 8080, node_port: 30081}]
    backends: [$(printf '{ip: %s}, ' "$@" | sed 's/, $//')]
EOT
}
services 10.210.1.11 10.210.2.11 > "$PL_TMP/services.yaml"

T0=$SECONDS
pl_log "lab up: $N nodes, native routing, --bgp, prefix $P"
"$LAB" up --nodes $N --mode native --prefix "$P" --bgp --services "$PL_TMP/services.yaml" > "$PL_TMP/lab-up.log" 2>&1 ||
  { cat "$PL_TMP/lab-up.log"; pl_fail "scripts/lab.sh up --bgp failed"; }
pl_log "lab up took $((SECONDS - T0))s"
other=$(ip -n "${P}ext" route show | grep -vE 'proto (bgp|kernel)' | grep -v '^[[:space:]]') || true
[ -z "$other" ] || pl_fail "the router has routes that BGP did not bring: $other"

for i in $(seq $N); do
  ip netns exec "${P}n${i}p1" /usr/bin/python3 "$HERE/whoami_server.py" 0.0.0.0 8080 "n${i}p1" > "$PL_TMP/whoami-$i.log" 2>&1 &
  PL_PIDS+=("$!")
done

# ------------------------------------------------------------------ sessions
established() {
  vty -c 'show bgp neighbors json' |
    jq -e --argjson n $N '[.[] | select(.bgpState == "Established")] | length == $n' >/dev/null
}
pl_wait_for "every node's session Established on the router" 45 established
pass "$N sessions Established"
NEIGH=$(vty -c 'show bgp neighbors json')
for i in $(seq $N); do
  jq -e --arg ip "$(node_ip "$i")" '.[$ip] | .bgpTimerHoldTimeMsecs == 9000 and .bgpTimerKeepAliveIntervalMsecs == 3000 and
      .remoteAs == 65001 and .gracefulRestartInfo.timers.receivedRestartTimer == 15' <<<"$NEIGH" >/dev/null ||
    pl_fail "node$i: timers or graceful restart not as configured: $(jq -c --arg ip "$(node_ip "$i")" '.[$ip] |
      {bgpTimerHoldTimeMsecs, bgpTimerKeepAliveIntervalMsecs, remoteAs, gr: .gracefulRestartInfo.timers}' <<<"$NEIGH")"
done
pass "hold 9 s, keepalive 3 s, remote AS 65001 and graceful restart time 15 s applied on every session"
conns() { vty -c 'show bgp neighbors json' | jq -c '[to_entries[] | {(.key): .value.connectionsEstablished}] | add'; }
CONNS=$(conns)

# ------------------------------------------------------------------ routes
# nexthops PREFIX: the sorted next hops the router has for PREFIX, space-separated.
nexthops() {
  vty -c 'show bgp ipv4 unicast json' | jq -r --arg p "$1" '[.routes[$p][]?.nexthops[0].ip] | sort | join(" ")'
}
expect_nexthops() { # expect_nexthops PREFIX SECONDS NODE...
  local prefix=$1 secs=$2 want; shift 2
  want=$(for i in "$@"; do node_ip "$i"; done | sort | paste -sd " ")
  local deadline=$((SECONDS + secs))
  until [ "$(nexthops "$prefix")" = "$want" ]; do
    [ $SECONDS -lt $deadline ] || pl_fail "$prefix: next hops \"$(nexthops "$prefix")\", expected \"$want\""
    sleep 0.1
  done
}
for i in $(seq $N); do
  expect_nexthops "10.210.$i.0/24" 15 "$i"
done
pass "each PodCIDR learnt from its own node"
expect_nexthops "$LB_CLUSTER/32" 10 1 2 3
pass "$LB_CLUSTER/32 (Cluster) from every node: $(nexthops "$LB_CLUSTER/32")"
expect_nexthops "$LB_LOCAL/32" 10 1 2
pass "$LB_LOCAL/32 (Local) only from the backends' nodes: $(nexthops "$LB_LOCAL/32")"
ip -n "${P}ext" -j route show "$LB_CLUSTER" | jq -e '.[0].protocol == "bgp" and (.[0].nexthops | length) == 3' >/dev/null ||
  pl_fail "zebra did not install $LB_CLUSTER with 3 next hops: $(ip -n "${P}ext" route show "$LB_CLUSTER")"
pass "zebra installed $LB_CLUSTER/32 in the router's kernel with 3 ECMP next hops"

# ------------------------------------------------------------------ traffic
for i in $(seq $N); do
  pl_wait_for "the whoami server in ${P}n${i}p1" 15 sh -c "ip netns exec ${P}n${i}p1 ss -Hltn 'sport = :8080' | grep -q LISTEN"
done
for ip in $LB_CLUSTER $LB_LOCAL; do
  out=$(ip netns exec "${P}ext" curl -sS --max-time 5 "http://$ip/whoami") || pl_fail "curl http://$ip/whoami from ${P}ext: $out"
  [[ $out =~ ^name=n[12]p1\ client= ]] || pl_fail "curl http://$ip/whoami: unexpected answer \"$out\""
  pass "the external client reaches $ip over the learnt routes: $out"
done
pl_ping "${P}ext" 10.210.3.11
pass "the external client pings pod 10.210.3.11 over the learnt route"

# ------------------------------------------------------------------ Local: a backend goes and comes back
apply_services() {
  local i
  for i in $(seq $N); do cli "$i" service update -f "$1" >/dev/null || pl_fail "service update on node$i failed"; done
}
services 10.210.1.11 > "$PL_TMP/services-1.yaml"
t=$(date +%s%N)
apply_services "$PL_TMP/services-1.yaml"
expect_nexthops "$LB_LOCAL/32" 3 1
ms=$((($(date +%s%N) - t) / 1000000))
[ $ms -le 1000 ] || pl_fail "$LB_LOCAL/32 withdrawn from node2 only after $ms ms (expected within 1 s)"
pass "node2's last local backend of web-local gone: $LB_LOCAL/32 withdrawn from node2 in $ms ms"
apply_services "$PL_TMP/services.yaml"
expect_nexthops "$LB_LOCAL/32" 3 1 2
pass "the backend back: $LB_LOCAL/32 announced again from node2"
[ "$(conns)" = "$CONNS" ] || pl_fail "a session was reset by a route change: connectionsEstablished $CONNS -> $(conns)"
pass "no session reset across the route changes (connectionsEstablished $CONNS)"
cli 2 bgp routes -o json | jq -e --arg p "$LB_LOCAL/32" 'any(.[]; .prefix == $p and .kind == "LoadBalancerIP" and .service == "default/web-local")' >/dev/null ||
  pl_fail "podlane bgp routes on node2 does not list $LB_LOCAL/32: $(cli 2 bgp routes -o json | jq -c .)"

# ------------------------------------------------------------------ the CLI, status and metrics
PEERS=$(cli 1 bgp peers -o json)
jq -e '.peers | length == 1 and (.[0] | .state == "Established" and .hold_time_s == 9 and .keepalive_time_s == 3 and
      .advertised == 3 and .graceful_restart.enabled and .graceful_restart.negotiated and .uptime_s >= 0)' <<<"$PEERS" >/dev/null ||
  pl_fail "podlane bgp peers on node1: $(jq -c . <<<"$PEERS")"
cli 1 bgp peers
cli 1 status | grep -E '^BGP: +1/1 peers established' || pl_fail "no 'BGP: 1/1 peers established' line in podlane status"
metrics=$(ip netns exec "${P}node1" curl -sS --max-time 5 http://127.0.0.1:9962/metrics) || pl_fail "no metrics from node1"
grep -E '^podlane_bgp_session_state\{.*peer="router".*\} 1$' <<<"$metrics" >/dev/null &&
  grep -E '^podlane_bgp_advertised_prefixes\{.*peer="router".*\} 3$' <<<"$metrics" >/dev/null ||
  pl_fail "node1's BGP metrics: $(grep podlane_bgp <<<"$metrics")"
pass "podlane bgp peers, the status line and the metrics show node1's session"

# ------------------------------------------------------------------ a reload: ClusterIPs advertised
# node1's config file gains cluster_ips in its advertisement: the file source
# reloads it, BIRD is reconfigured (no restart of podlaned) and the router
# learns both ClusterIPs (internalTrafficPolicy Cluster) from node1 alone,
# with no session reset.
sed -i 's/advertise: {pod_cidr: true, load_balancer_ips: true, external_ips: true}/advertise: {pod_cidr: true, load_balancer_ips: true, external_ips: true, cluster_ips: true}/' \
  "$RUN/node1.yaml"
grep -q "cluster_ips: true" "$RUN/node1.yaml" || pl_fail "the lab's node1.yaml has no advertise line to change"
expect_nexthops "10.96.0.10/32" 10 1
expect_nexthops "10.96.0.20/32" 5 1
[ "$(conns)" = "$CONNS" ] || pl_fail "the reload reset a session: connectionsEstablished $CONNS -> $(conns)"
cli 1 bgp routes -o json | jq -e 'any(.[]; .prefix == "10.96.0.10/32" and .kind == "ClusterIP" and .service == "default/web-cluster")' >/dev/null ||
  pl_fail "podlane bgp routes on node1 does not list the ClusterIP: $(cli 1 bgp routes -o json | jq -c .)"
pass "node1's config reloaded with cluster_ips: 10.96.0.10/32 and 10.96.0.20/32 from node1, no session reset"

# ------------------------------------------------------------------ the speaker dies
BIRD_PID=$(jq -r .speaker.pid <<<"$PEERS")
[[ $(readlink "/proc/$BIRD_PID/exe") == */bird ]] || pl_fail "node1's speaker pid $BIRD_PID is not a bird"
before=$(vty -c 'show bgp neighbors json' | jq --arg ip "$(node_ip 1)" '.[$ip].connectionsEstablished')
kill -KILL "$BIRD_PID"
stale() { vty -c 'show bgp ipv4 unicast json' | jq -e '.routes["10.210.1.0/24"][0].stale == true' >/dev/null; }
pl_wait_for "node1's routes kept as stale on the router (graceful restart)" 5 stale
pass "BIRD killed on node1: the router keeps 10.210.1.0/24 as stale"
back() {
  vty -c 'show bgp neighbors json' | jq -e --arg ip "$(node_ip 1)" --argjson before "$before" \
    '.[$ip] | .bgpState == "Established" and .connectionsEstablished > $before' >/dev/null &&
    ! stale && [ "$(nexthops "$LB_CLUSTER/32")" = "$(node_ip 1) $(node_ip 2) $(node_ip 3)" ]
}
pl_wait_for "node1's session and routes back (not stale)" 30 back
restarts=$(cli 1 bgp peers -o json | jq .speaker.restarts)
[ "$restarts" = 1 ] || pl_fail "podlaned reports $restarts speaker restarts, expected 1"
pass "podlaned started BIRD again (restarts 1); session re-established, routes fresh"
pl_ping "${P}ext" 10.210.1.11
pass "the external client pings pod 10.210.1.11 again"

pl_log "the router's table at the end:"
vty -c 'show ip bgp'
pl_log "integration-bgp: all checks passed"
