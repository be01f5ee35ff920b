#!/usr/bin/env bash
# Integration test: podlaned restarts without breaking established
# connections (issue 20, docs/restart.md), in a 2-node vxlan lab
# (scripts/lab.sh, 2 pods per node). Pod n1p1 on node 1 keeps open:
#   - LONG_SVC long-lived TCP connections through ClusterIP 10.96.0.20:7000 to
#     backends n2p1/n2p2 on node 2 (random backend choice: a flow that lost
#     its conntrack entry would likely land elsewhere),
#   - LONG_EXT masqueraded connections to the external host 192.168.50.1:7000,
#   - and, each round, 10 new connections to the sessionAffinity service
#     10.96.0.21:7000.
# Every answer names its backend and the peer address the server saw
# (tests/integration/line_echo_server.py), so a kept backend and a kept SNAT
# port are seen end to end. Then, on node 1:
#   1. graceful restart (SIGTERM, start again): every connection carries data
#      both ways with no reset, each kept its backend and its masquerade
#      port, the affinity client keeps its backend, `podlane ct list` shows
#      the same flows, the pod's eth0 is the same interface (ifindex, address,
#      routes untouched), status and the podlane_restart_* metrics say what was
#      restored, the old podlaned logs where its stop took time; the forwarding gap
#      (ping every 5 ms from n1p1 to n2p1) is logged;
#   2. SIGKILL: the pods' interfaces still exist with their addresses; the new
#      podlaned reports the crash and what was lost; a new connection works
#      within 2 s of its API answering;
#   3. a corrupted state file and one of an unknown format version are refused
#      with a clear message; podlaned starts and forwards new connections.
#
#   tests/integration/restart.sh PODLANED PODLANE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PODLANED PODLANE" >&2; exit 2; }
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export PODLANED PODLANE
for tool in jq ping python3; do
  command -v "$tool" >/dev/null || pl_fail "$tool is missing (scripts/install-deps.sh installs it)"
done
PY=/usr/bin/python3
LONG_SVC=${RESTART_LONG_SVC:-50}
LONG_EXT=${RESTART_LONG_EXT:-20}

P=plr$$-
RUN=/run/podlane/lab-$P
LAB=$REPO/scripts/lab.sh
EXT_IP=192.168.50.1
SVC_IP=10.96.0.20
STICKY_IP=10.96.0.21
CTL=$PL_TMP/client
mkdir -p "$CTL"
cli() { "$PODLANE" --socket "$RUN/node1.sock" "$@"; }
pass() { pl_log "PASS: $*"; }
dump() {
  echo "---- node1: status ----"; cli status -o json 2>&1 | jq '.restart' || true
  echo "---- node1: ct list ----"; cli ct list 2>&1 | head -40 || true
  echo "---- node1 log ----"; tail -n 40 "$RUN/node1.log" 2>/dev/null || true
}
pl_on_exit '[ "$PL_RC" = 0 ] || dump; "$LAB" down --prefix "$P" >/dev/null 2>&1 || true'

cat > "$PL_TMP/services.yaml" <<EOT
restart: {checkpoint_interval_s: 2}
services:
  - name: default/echo
    cluster_ip: $SVC_IP
    ports: [{name: tcp, port: 7000, target_port: 7000}]
    backends:
      - {ip: 10.210.2.11, node: node2}
      - {ip: 10.210.2.12, node: node2}
  - name: default/sticky
    cluster_ip: $STICKY_IP
    session_affinity: ClientIP
    session_affinity_timeout_s: 300
    ports: [{name: tcp, port: 7000, target_port: 7000}]
    backends:
      - {ip: 10.210.2.11, node: node2}
      - {ip: 10.210.2.12, node: node2}
EOT
pl_log "lab: 2 nodes, 2 pods each"
"$LAB" up --nodes 2 --pods 2 --prefix "$P" --services "$PL_TMP/services.yaml" > "$PL_TMP/lab.log" 2>&1 ||
  { cat "$PL_TMP/lab.log"; pl_fail "lab up failed"; }

serve() { # NS ADDR NAME
  ip netns exec "$1" setsid "$PY" "$HERE/line_echo_server.py" "$2" 7000 "$3" > "$PL_TMP/$3.log" 2>&1 < /dev/null &
  PL_PIDS+=($!)
}
serve "${P}n2p1" 10.210.2.11 n2p1
serve "${P}n2p2" 10.210.2.12 n2p2
serve "${P}ext" "$EXT_IP" ext
for ns_ip in n2p1:10.210.2.11 n2p2:10.210.2.12 ext:$EXT_IP; do
  pl_wait_for "the line server in ${ns_ip%%:*}" 10 bash -c "ip netns exec '$P${ns_ip%%:*}' ss -Hltn | grep -q '${ns_ip#*:}:7000'"
done

ip netns exec "${P}n1p1" "$PY" "$HERE/restart_client.py" "$CTL" "long:$SVC_IP:7000:$LONG_SVC" \
  "long:$EXT_IP:7000:$LONG_EXT" "new:$STICKY_IP:7000:10" > "$PL_TMP/client.log" 2>&1 &
CLIENT=$!
PL_PIDS+=($CLIENT)
pl_wait_for "the client's $((LONG_SVC + LONG_EXT)) connections" 30 test -f "$CTL/ready"

ROUND=0
round() { # runs the next round, prints its file
  ROUND=$((ROUND + 1))
  touch "$CTL/go$ROUND"
  for _ in $(seq 600); do [ -f "$CTL/round$ROUND.json" ] && break; sleep 0.1; done
  [ -f "$CTL/round$ROUND.json" ] || { cat "$PL_TMP/client.log"; pl_fail "round $ROUND did not finish"; }
  echo "$CTL/round$ROUND.json"
}
errors() { jq -r '[.long[], .new[] | select(.error != null) | "\(.target) \(.local // "new"): \(.error)"] | .[]' "$1"; }
# "local -> backend name, peer seen" of every long connection
bindings() { jq -r '.long[] | "\(.local) \(.target) \(.name) \(.peer)"' "$1" | sort; }
sticky() { jq -r '[.new[].name] | unique | join(",")' "$1"; }
# node 1's tracked TCP flows of the long connections: "src dst xlate_src xlate_dst"
# The long connections' flows, by source and destination: the affinity
# client's short connections may reuse a long one's local port towards
# another address, and their closing flows must not count.
ct_flows() {
  cli ct list -o json | jq -r --argjson longs "$(jq '[.long[] | {local, target}]' "$R1")" \
    '.[] | select((.proto | ascii_downcase) == "tcp" and (. as $f | any($longs[]; .local == $f.src and .target == $f.dst))) | "\(.src) \(.dst) \(.xlate_src) \(.xlate_dst) \(.backend // "-")"' | sort
}
pod_link() { # what a pod's eth0 looks like: ifindex, MAC, addresses, routes
  ip -n "${P}$1" -j link show eth0 | jq -r '.[0] | "\(.ifindex) \(.address) \(.flags | join(","))"'
  ip -n "${P}$1" -j -4 addr show dev eth0 | jq -r '[.[0].addr_info[] | "\(.local)/\(.prefixlen)"] | join(" ")'
  ip -n "${P}$1" -4 route show | sort
}
start_node1() {
  ip netns exec "${P}node1" setsid "$PODLANED" --config "$RUN/node1.yaml" >> "$RUN/node1.log" 2>&1 < /dev/null &
  echo $! > "$RUN/node1.pid"
}
wait_api() { for _ in $(seq 300); do cli status >/dev/null 2>&1 && return 0; sleep 0.02; done; pl_fail "node1's API did not answer within 6 s"; }
stop_node1() { # SIGNAL
  local pid; pid=$(cat "$RUN/node1.pid")
  kill "-$1" "$pid"
  # Gone or a zombie: a podlaned the lab started was reparented to PID 1,
  # which may reap it a second later; systemd, its parent, would see the
  # exit at once. The next podlaned starts as soon as this one has exited.
  for _ in $(seq 1000); do
    case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$pid/status" 2>/dev/null) in "" | Z) return 0 ;; esac
    sleep 0.01
  done
  pl_fail "podlaned of node1 did not exit within 10 s of SIG$1"
}
# metric_is NAME VALUE: node 1's Prometheus endpoint (default 127.0.0.1:9962) shows NAME (with its labels) = VALUE
metric_is() {
  local got; got=$(ip netns exec "${P}node1" curl -sf --max-time 5 http://127.0.0.1:9962/metrics | awk -v n="$1" '$1 == n { print $2 }')
  [ "$got" = "$2" ] || pl_fail "metrics: $1 is '${got}', expected $2"
}
new_conn_ok() { ip netns exec "${P}n1p2" "$PY" -c "
import socket; s = socket.create_connection(('$SVC_IP', 7000), timeout=1); s.settimeout(1)
s.sendall(b'x\n'); assert s.recv(100).startswith(b'name=')"; }

R1=$(round)
E=$(errors "$R1"); [ -z "$E" ] || pl_fail "round 1 (before any restart) had errors: $E"
STICKY1=$(sticky "$R1")
[[ $STICKY1 != *,* ]] || pl_fail "the affinity client reached $STICKY1 before the restart (expected one backend)"
[ "$(jq '[.long[] | select(.target | startswith("'$EXT_IP'")) | .peer | startswith("192.168.50.11:")] | all' "$R1")" = true ] ||
  pl_fail "the external host did not see node 1's IP for the masqueraded connections"
CT_BEFORE=$(ct_flows)
[ "$(wc -l <<< "$CT_BEFORE")" -eq $((LONG_SVC + LONG_EXT)) ] ||
  pl_fail "node1 tracks $(wc -l <<< "$CT_BEFORE") of the $((LONG_SVC + LONG_EXT)) long connections before the restart"
POD1_BEFORE=$(pod_link n1p1); POD2_BEFORE=$(pod_link n1p2)
pass "round 1: $LONG_SVC service + $LONG_EXT masqueraded connections answered, affinity client on $STICKY1"

# ---- 1. graceful restart ----
ip netns exec "${P}n1p1" ping -D -i 0.005 -W 1 10.210.2.11 > "$PL_TMP/ping.log" 2>&1 &
PING=$!
PL_PIDS+=($PING)
sleep 1
T0=$(date +%s.%N)
stop_node1 TERM
T1=$(date +%s.%N)
start_node1
wait_api
T2=$(date +%s.%N)
sleep 2
kill -INT "$PING"; wait "$PING" 2>/dev/null || true
GAP_MS=$(awk -F'[][]' '/bytes from/ { t = $2; if (p != "" && (t - p) * 1000 > g) g = (t - p) * 1000; p = t } END { printf "%.0f", g }' "$PL_TMP/ping.log")
pl_log "graceful restart: old podlaned exited $(awk "BEGIN{printf \"%.0f\", ($T1-$T0)*1000}") ms after SIGTERM, new API up $(awk "BEGIN{printf \"%.0f\", ($T2-$T1)*1000}") ms later; longest gap between ping replies (every 5 ms): ${GAP_MS} ms"
echo "$GAP_MS" > "$PL_TMP/gap_ms"
pl_log "old podlaned's $(grep -o 'stopped in .*' "$RUN/node1.log" | tail -n 1)"
pl_log "new podlaned's $(grep -o 'started in .*' "$RUN/node1.log" | tail -n 1)"
grep -q "restart state: .* written to" "$RUN/node1.log" || pl_fail "the stopping podlaned did not say it wrote its restart state"

R2=$(round)
E=$(errors "$R2"); [ -z "$E" ] || pl_fail "after the graceful restart some connections broke: $E"
diff <(bindings "$R1") <(bindings "$R2") >&2 || pl_fail "after the graceful restart connections changed backend or masquerade port (diff above)"
[ "$(sticky "$R2")" = "$STICKY1" ] || pl_fail "the affinity client moved from $STICKY1 to $(sticky "$R2")"
diff <(echo "$CT_BEFORE") <(ct_flows) >&2 || pl_fail "podlane ct list shows other flows after the restart (diff above)"
[ "$(pod_link n1p1)" = "$POD1_BEFORE" ] && [ "$(pod_link n1p2)" = "$POD2_BEFORE" ] ||
  pl_fail "a pod's eth0 changed across the restart: before: $POD1_BEFORE / after: $(pod_link n1p1)"
ST=$(cli status -o json | jq '.restart')
[ "$(jq -r .restored_from <<< "$ST")" = graceful-stop ] || pl_fail "status restart: $ST"
[ "$(jq -r .flows_restored <<< "$ST")" -ge $((LONG_SVC + LONG_EXT)) ] || pl_fail "status restart: $ST"
[ "$(jq -r .pods_adopted <<< "$ST")" = 2 ] || pl_fail "status restart: pods not re-adopted: $ST"
metric_is 'podlane_restart_info{restored_from="graceful-stop",previous_crashed="false"}' 1
metric_is podlane_restart_flows_restored_total "$(jq -r .flows_restored <<< "$ST")"
metric_is podlane_restart_flows_lost_total 0
metric_is podlane_restart_pods_adopted_total 2
pass "graceful restart: every connection answered with its backend and masquerade port, affinity kept, ct list the same, pods' eth0 untouched; $(jq -c '{flows_restored, affinity_restored, neighbors_restored, pods_adopted, restore_ms}' <<< "$ST")"

# ---- 2. SIGKILL ----
sleep 3 # a checkpoint (every 2 s) and liveness marks
stop_node1 KILL
for pod in n1p1 n1p2; do
  ip -n "${P}$pod" -4 addr show dev eth0 | grep -q "inet 10.210.1." || pl_fail "$pod lost its eth0 or address after SIGKILL"
done
# No process holds the TAP now: its carrier is off (NO-CARRIER, routes linkdown), all else stays.
[ "$(pod_link n1p1 | sed 's/NO-CARRIER,//; s/,LOWER_UP//; s/ linkdown//')" = "$(sed 's/,LOWER_UP//' <<< "$POD1_BEFORE")" ] ||
  pl_fail "n1p1's eth0 changed after SIGKILL: $(pod_link n1p1)"
start_node1
wait_api
T3=$(date +%s.%N)
for _ in $(seq 20); do new_conn_ok 2>/dev/null && break; sleep 0.1; done
new_conn_ok || pl_fail "no new connection through $SVC_IP within 2 s of the API answering after SIGKILL"
NEW_MS=$(awk "BEGIN{printf \"%.0f\", ($(date +%s.%N)-$T3)*1000}")
ST=$(cli status -o json | jq '.restart')
[ "$(jq -r .previous_crashed <<< "$ST")" = true ] || pl_fail "status does not report the crash: $ST"
[ "$(jq -r .previous_flows <<< "$ST")" -gt 0 ] || pl_fail "status does not count the crashed podlaned's flows: $ST"
grep -q "did not stop cleanly: it tracked" "$RUN/node1.log" || pl_fail "the log does not report what the crash lost"
metric_is 'podlane_restart_info{restored_from="checkpoint",previous_crashed="true"}' 1
metric_is podlane_restart_flows_lost_total "$(jq -r .flows_lost <<< "$ST")"
metric_is podlane_restart_flows_restored_total "$(jq -r .flows_restored <<< "$ST")"
R3=$(round)
pl_log "after SIGKILL: $(errors "$R3" | wc -l) of $((LONG_SVC + LONG_EXT + 10)) exchanges failed (flows since the last checkpoint are lost)"
pass "SIGKILL: pods kept eth0 and addresses, a new connection in ${NEW_MS} ms after the API answered; $(jq -c '{restored_from, previous_flows, flows_restored, flows_lost, state_age_ms}' <<< "$ST")"

# ---- 3. refused state files ----
refused() { # WHAT EXPECTED-TEXT; the state file was tampered with
  start_node1
  wait_api
  ST=$(cli status -o json | jq '.restart')
  [ "$(jq -r .restored_from <<< "$ST")" = refused ] || pl_fail "$1 state file was not refused: $ST"
  jq -r .error <<< "$ST" | grep -q "$2" || pl_fail "$1 state file: expected \"$2\" in: $(jq -r .error <<< "$ST")"
  grep -q "$2" "$RUN/node1.log" || pl_fail "$1 state file: the log does not say \"$2\""
  new_conn_ok || pl_fail "no new connection after refusing a $1 state file"
  metric_is podlane_restart_state_refused_total 1
  pass "$1 state file refused: $(jq -r .error <<< "$ST")"
}
STATE=$RUN/node1.sock.restart-state
stop_node1 TERM
[ -f "$STATE" ] || pl_fail "no state file $STATE after a graceful stop"
# one byte of the payload changed
$PY -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-3] ^= 0x20; open(p,'wb').write(b)" "$STATE"
refused corrupted "corrupted: the payload's SHA-256 does not match"
stop_node1 TERM
sed -i '1s/^podlane-restart-state 1 /podlane-restart-state 99 /' "$STATE"
refused "unknown-version" "format version 99; this podlaned reads version 1 only"
touch "$CTL/stop"
pl_log "forwarding gap across the graceful restart: $(cat "$PL_TMP/gap_ms") ms"
