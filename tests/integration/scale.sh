#!/usr/bin/env bash
# Integration test: the control plane at cluster scale (issue 16), on a
# two-node lab run from etcd (scripts/lab.sh up --etcd), one pod per node.
#  1. 5,000 ClusterIP services of 10 backends, written one etcd put at a time
#     (~1,000 a second) while node1's pod pings node2's pod ten times a
#     second: every node shows every service within 2 s of the last put,
#     publishes stay bounded (tables.max_publish_rate, 20/s), and nothing
#     starves: no ping lost, no no_neighbour drop, no lease expiry, no
#     watch reconnect.
#  2. 5,000 more with `podlane kvstore apply` (transactions of 128 puts):
#     done within 5 s, every node converged within 2 s of its end.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"

N=${SCALE_SERVICES:-5000}
id=$$
P=pls$((id % 100000))-
RUN=/run/podlane/lab-$P
ETCD=192.168.50.2:2379
export PODLANED PODLANE
pl_on_exit "[ \$PL_RC -eq 0 ] || { tail -n 20 $RUN/node1.log; tail -n 20 $RUN/node2.log; } 2>/dev/null; \"$REPO/scripts/lab.sh\" down --prefix $P > /dev/null 2>&1"

cli() { local n=$1; shift; "$PODLANE" --socket "$RUN/node$n.sock" "$@"; }
status() { cli "$1" status -o json; }
now() { date +%s.%N; }
# wait_frontends COUNT: until both nodes show COUNT frontends; prints when each got there (epoch s)
wait_frontends() {
  local want=$1 n deadline got
  deadline=$(( $(date +%s) + 60 ))
  for n in 1 2; do
    until got=$(status "$n" | jq .services.frontends) && [ "$got" -ge "$want" ]; do
      [ "$(date +%s)" -lt "$deadline" ] || pl_fail "node$n shows $got of $want frontends after 60 s"
      sleep 0.02
    done
    now
  done
}
counters() { status "$1" | jq -c '{publishes: .updates.publishes, coalesced: .updates.coalesced, lease_expiries: .source.lease_expiries, reconnects: .source.reconnects, resyncs: .source.resyncs}'; }

pl_log "a 2-node lab from etcd, one pod per node"
"$REPO/scripts/lab.sh" up --etcd --nodes 2 --pods 1 --prefix "$P" > "$PL_TMP/lab.log" 2>&1 ||
  { tail -n 30 "$PL_TMP/lab.log"; pl_fail "lab up --etcd failed"; }
pl_ping "${P}n1p1" 10.210.2.11
base=$(status 1 | jq .services.frontends)
drops_before=$(cli 1 stats -o json | jq .totals.drops.no_neighbour)
pub_before=(0 "$(status 1 | jq .updates.publishes)" "$(status 2 | jq .updates.publishes)")

pl_log "1. $N services written one put at a time while n1p1 pings n2p1 every 100 ms"
ip netns exec "${P}n1p1" ping -n -i 0.1 -w 600 10.210.2.11 > "$PL_TMP/ping.txt" 2>&1 &
ping_pid=$!
PL_PIDS+=("$ping_pid")
sleep 1
t0=$(now)
last=$(ip netns exec "${P}ext" python3 "$HERE/etcd_put_services.py" "$ETCD" "$N" scale/put 128)
times=$(wait_frontends $((base + N))) || pl_fail "waiting for the frontends: $times"
mapfile -t seen <<<"$times"
for n in 1 2; do
  c=$(awk -v a="${seen[$((n - 1))]}" -v b="$last" 'BEGIN {printf "%.3f", a - b}')
  pl_log "node$n converged $c s after the last put ($(awk -v a="$last" -v b="$t0" 'BEGIN {printf "%.1f", a - b}') s of puts)"
  awk -v c="$c" 'BEGIN {exit !(c <= 2.0)}' || pl_fail "node$n converged $c s after the last put (at most 2 s)"
done
sleep 2
kill -INT "$ping_pid"; wait "$ping_pid" 2>/dev/null || true
sent=$(grep -oP '\d+(?= packets transmitted)' "$PL_TMP/ping.txt")
got=$(grep -oP '\d+(?= received)' "$PL_TMP/ping.txt")
pl_log "ping: $got of $sent answered"
[ "$sent" -ge 20 ] && [ "$got" = "$sent" ] || pl_fail "ping lost $((sent - got)) of $sent packets: $(tail -n 3 "$PL_TMP/ping.txt")"
drops=$(( $(cli 1 stats -o json | jq .totals.drops.no_neighbour) - drops_before ))
[ "$drops" = 0 ] || pl_fail "node1 counted $drops no_neighbour drops"
secs=$(awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%d", a - b + 1}')
for n in 1 2; do
  c=$(counters "$n")
  pl_log "node$n: $c"
  jq -e '.lease_expiries == 0 and .reconnects == 0 and .resyncs == 0' <<<"$c" > /dev/null ||
    pl_fail "node$n lost its lease or its watch: $c"
  pubs=$(( $(jq .publishes <<<"$c") - pub_before[n] ))
  pl_log "node$n: $pubs publishes for $N updates in $secs s"
  [ "$pubs" -le $((secs * 20 + 10)) ] || pl_fail "node$n published $pubs times in $secs s (at most 20/s)"
done
if grep -q "lease expired" "$RUN/node1.log" "$RUN/node2.log"; then pl_fail "a node's lease expired"; fi

pl_log "2. $N more with podlane kvstore apply"
# Cluster IPs after the first phase's (250 a /24 from 10.96.128.0).
python3 "$HERE/etcd_put_services.py" "$ETCD" "$N" scale/apply $((128 + (N + 249) / 250)) --yaml > "$PL_TMP/apply.yaml"
t0=$(now)
ip netns exec "${P}ext" "$PODLANE" kvstore apply -f "$PL_TMP/apply.yaml" --etcd "http://$ETCD" > /dev/null
t1=$(now)
took=$(awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')
pl_log "kvstore apply of $N services took $took s"
awk -v c="$took" 'BEGIN {exit !(c <= 5.0)}' || pl_fail "kvstore apply of $N services took $took s (at most 5 s)"
times=$(wait_frontends $((base + 2 * N))) || pl_fail "waiting for the frontends: $times"
mapfile -t seen <<<"$times"
for n in 1 2; do
  c=$(awk -v a="${seen[$((n - 1))]}" -v b="$t1" 'BEGIN {printf "%.3f", a - b}')
  pl_log "node$n converged $c s after kvstore apply ended"
  awk -v c="$c" 'BEGIN {exit !(c <= 2.0)}' || pl_fail "node$n converged $c s after kvstore apply ended (at most 2 s)"
  counters "$n" | jq -e '.lease_expiries == 0 and .reconnects == 0' > /dev/null || pl_fail "node$n: $(counters "$n")"
done
pl_log "PASS: $N services one put at a time and $N by kvstore apply, converged within 2 s, no loss, no lease expiry"
