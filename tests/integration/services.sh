#!/usr/bin/env bash
# Integration test: Services (podlane as kube-proxy replacement) in a 3-node
# lab (scripts/lab.sh, 2 pods per node) with tests/integration/services-lab.yaml
# in every node's config, tried with real clients: curl from pods and from the
# external host against tests/integration/whoami_server.py, which answers
# "name=<pod> client=<peer IP>" on port 8080 of every pod. MODE:
#
#   snat  routing vxlan,  loadbalancer.nodeport_mode snat
#   dsr   routing geneve, loadbalancer.nodeport_mode dsr
#   hybrid routing geneve, loadbalancer.nodeport_mode hybrid: TCP checked as
#         dsr, UDP (the fragments' NodePort) as snat
#
# What a user would notice, checked in order (the first failure ends the test,
# with every node's stats, ct list, nat list and log tail):
#   - ClusterIP default/web (10.96.0.10:80 -> 8080, backends n1p2 n2p1 n3p1):
#     30 new connections from n1p1 reach every backend, each sees n1p1's IP;
#     `podlane ct list` shows the flow with the frontend's rev_nat_id and the
#     backend that answered
#   - NodePort 30080 (Maglev) from the external host to node 1: every backend
#     answers; snat: remote backends see node 1's IP, the local one the
#     client; dsr: every backend sees the client, and on the fabric the
#     replies of node 2's backend leave node 2 directly as 192.168.50.11:30080
#     (node 1 sent the request to node 2 in Geneve with Cilium's DSR option);
#     snat: they come back through node 1
#   - LoadBalancer IP 192.168.70.10 and ExternalIP 192.168.60.10 (routes on the
#     external host via node 1), answered as the NodePort is
#   - externalTrafficPolicy Local (NodePort 30082, backends n1p1 n1p2 n2p1):
#     node 1 answers only from its own pods (both), with the client's IP;
#     node 2 only from n2p1; node 3, without a local backend, refuses (a reject
#     counted by node 3) instead of reaching a remote backend
#   - sessionAffinity ClientIP (10.96.0.14, 5 backends): 20 connections from
#     n1p1 all reach one backend
#   - masquerade: n1p1 -> whoami on the external host is seen from node 1's IP,
#     and `podlane nat list` on node 1 shows that connection's mapping
#   - IPv4 fragments: 4000-byte UDP datagrams echoed whole through the
#     ClusterIP 10.96.0.17 (to n2p1) and masqueraded to the external host;
#     node1's fragment counters show them tracked; UDP through NodePort 30087
#     (snat: replies via node1; dsr: straight from node2; hybrid: as snat)
#   - masquerade of ICMP echo and UDP: the external host sees node1's IP
#   - hairpin: n1p1 reaches 10.96.0.15, whose only backend is n1p1 itself,
#     seen from the hairpin address 169.254.42.1
#   - no backends (10.96.0.16): "Connection refused" within a second (a TCP
#     RST from podlane), node 1's `rejected` counter grows
#   - HostPort (lab option --host-port 2:2:8088:8080): 192.168.50.12:8088 from
#     the external host reaches n2p2 with the client's IP
#   - `podlane service list` (table and JSON) and `service maglev`
#   - no drops on any node except arp_not_for_us, no port errors
#
#   tests/integration/services.sh snat|dsr|hybrid PODLANED PODLANE
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 snat|dsr|hybrid PODLANED PODLANE" >&2; exit 2; }
MODE=$1
PODLANED=$(realpath "$2")
PODLANE=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
# TCP_MODE and UDP_MODE: what NodePort traffic of each protocol gets (hybrid:
# DSR for TCP, SNAT for UDP).
case $MODE in
  snat) ROUTING=vxlan TCP_MODE=snat UDP_MODE=snat ;;
  dsr) ROUTING=geneve TCP_MODE=dsr UDP_MODE=dsr ;;
  hybrid) ROUTING=geneve TCP_MODE=dsr UDP_MODE=snat ;;
  *) pl_fail "MODE $MODE: expected snat, dsr or hybrid" ;;
esac
export PODLANED PODLANE
for tool in curl jq ss tcpdump tshark python3; do
  command -v "$tool" >/dev/null || pl_fail "$tool is missing (scripts/install-deps.sh installs it)"
done

N=3
PODS=2
P=pls$$-
RUN=/run/podlane/lab-$P
LAB=$REPO/scripts/lab.sh
EXT_IP=192.168.50.1
HAIRPIN_IP=169.254.42.1   # loadbalancer.hairpin_ip's default
LB_IP=192.168.70.10
EXTERNAL_IP=192.168.60.10

node_ns() { echo "${P}node$1"; }
node_ip() { echo "192.168.50.$((10 + $1))"; }
cli() { local i=$1; shift; "$PODLANE" --socket "$RUN/node$i.sock" "$@"; }
uplink_mac() { ip -n "$(node_ns "$1")" -j link show eth0 | pl_json '.[0].address'; }
# Pod n<i>p<k>: its namespace, IP, and node.
pod_ns() { echo "${P}$1"; }
pod_ip() { local i=${1#n}; local k=${i#*p}; i=${i%p*}; echo "10.210.$i.$((10 + k))"; }
pod_node() { local i=${1#n}; echo "${i%p*}"; }
pass() { pl_log "PASS: $*"; }

# On failure: what each node saw. Then, always: the lab goes down.
teardown() {
  local pid i
  for pid in "${PL_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ "$PL_RC" -ne 0 ] && [ -d "$RUN" ]; then
    for i in $(seq $N); do
      echo "==== node$i: stats, ct list, nat list, log tail ===="
      cli "$i" stats 2>&1 || true
      cli "$i" ct list 2>&1 | head -n 60 || true
      cli "$i" nat list 2>&1 | head -n 30 || true
      tail -n 30 "$RUN/node$i.log" 2>/dev/null || true
    done
  fi
  "$LAB" down --prefix "$P" || true
}
pl_on_exit teardown
# Belt and braces: lib.sh deletes the lab's namespaces too if down failed.
PL_NETNS+=("${P}fab" "${P}ext")
for i in $(seq $N); do
  PL_NETNS+=("$(node_ns "$i")")
  for k in $(seq $PODS); do PL_NETNS+=("${P}n${i}p$k"); done
done

# The services file, as every node gets it; dsr mode swaps the NodePort mode.
SVC=$PL_TMP/services.yaml
sed "s/^  nodeport_mode: snat\$/  nodeport_mode: $MODE/" "$HERE/services-lab.yaml" > "$SVC"
grep -qx "  nodeport_mode: $MODE" "$SVC" || pl_fail "no 'nodeport_mode: snat' line to set to $MODE in services-lab.yaml"

T0=$SECONDS
pl_log "lab up: $N nodes, $PODS pods each, routing $ROUTING, nodeport_mode $MODE, prefix $P"
"$LAB" up --nodes $N --pods $PODS --mode "$ROUTING" --prefix "$P" --services "$SVC" \
  --ext-routes "${LB_IP%.*}.0/24 ${EXTERNAL_IP%.*}.0/24" --host-port 2:2:8088:8080 > "$PL_TMP/lab-up.log" 2>&1 ||
  { cat "$PL_TMP/lab-up.log"; pl_fail "scripts/lab.sh up failed"; }
pl_log "lab up took $((SECONDS - T0))s"

# A whoami server on port 8080 of every pod, and on the external host.
ALL_PODS=()
for i in $(seq $N); do for k in $(seq $PODS); do ALL_PODS+=("n${i}p$k"); done; done
for pod in "${ALL_PODS[@]}"; do
  ip netns exec "$(pod_ns "$pod")" /usr/bin/python3 "$HERE/whoami_server.py" 0.0.0.0 8080 "$pod" \
    > "$PL_TMP/whoami-$pod.log" 2>&1 &
  PL_PIDS+=("$!")
done
ip netns exec "${P}ext" /usr/bin/python3 "$HERE/whoami_server.py" "$EXT_IP" 8080 ext > "$PL_TMP/whoami-ext.log" 2>&1 &
PL_PIDS+=("$!")
for ns in "${ALL_PODS[@]/#/$P}" "${P}ext"; do
  pl_wait_for "the whoami server in $ns" 15 sh -c "ip netns exec $ns ss -Hltn 'sport = :8080' | grep -q LISTEN"
done

# ask NS URL: one request (a new connection) from namespace NS; sets NAME
# (the backend that answered), CLIENT (the address it saw) and LPORT (curl's
# local port). Fails the test if curl fails or the answer is not a whoami's.
ask() {
  local ns=$1 url=$2 out body
  out=$(ip netns exec "$ns" curl -sS --max-time 5 -o "$PL_TMP/body" -w '%{local_port}' "$url" 2>&1) ||
    pl_fail "curl $url from $ns failed: $out"
  body=$(cat "$PL_TMP/body")
  [[ $body =~ ^name=([^ ]+)\ client=([0-9.]+)$ ]] || pl_fail "curl $url from $ns: not a whoami answer: \"$body\""
  NAME=${BASH_REMATCH[1]} CLIENT=${BASH_REMATCH[2]} LPORT=$out
}
# ask_many NS URL COUNT: COUNT requests; "NAME CLIENT LPORT" lines in ANSWERS.
ask_many() {
  local _
  ANSWERS=$PL_TMP/answers
  : > "$ANSWERS"
  for _ in $(seq "$3"); do
    ask "$1" "$2"
    echo "$NAME $CLIENT $LPORT" >> "$ANSWERS"
  done
}
# The distinct backends in ANSWERS, sorted, space-separated; and a summary.
answered_by() { cut -d' ' -f1 "$ANSWERS" | sort -u | paste -sd' '; }
summary() { cut -d' ' -f1,2 "$ANSWERS" | sort | uniq -c | awk '{printf "%s%s x%s (client %s)", (NR > 1 ? ", " : ""), $2, $1, $3}'; }
sorted() { printf '%s\n' "$@" | sort -u | paste -sd' '; }
# expect_clients RULE: every answer's client, by backend: RULE "pod" (n1p1's
# IP), "ext" (the external host's), or "nodeport" (the NodePort rule of MODE:
# the client in dsr mode and from node 1's own pods, node 1's IP otherwise).
expect_clients() {
  local rule=$1 name client port want
  while read -r name client port; do
    case $rule in
      pod) want=$(pod_ip n1p1) ;;
      ext) want=$EXT_IP ;;
      nodeport)
        if [ "$TCP_MODE" = dsr ] || [ "$(pod_node "$name")" = 1 ]; then want=$EXT_IP; else want=$(node_ip 1); fi ;;
    esac
    [ "$client" = "$want" ] ||
      pl_fail "$name saw client $client for the connection from local port $port, expected $want; answers: $(summary)"
  done < "$ANSWERS"
}
stat_of() { cli "$1" stats -o json | pl_json ".totals.$2"; }
WEB_BACKENDS=(n1p2 n2p1 n3p1)

# -------------------------------------------------------------------- ClusterIP
pl_log "ClusterIP default/web 10.96.0.10:80 from pod n1p1, 30 connections"
ask_many "$(pod_ns n1p1)" http://10.96.0.10/whoami 30
[ "$(answered_by)" = "$(sorted "${WEB_BACKENDS[@]}")" ] ||
  pl_fail "ClusterIP: expected answers from every backend (${WEB_BACKENDS[*]}), got: $(summary)"
expect_clients pod
pass "ClusterIP reaches every backend, each sees the pod's IP $(pod_ip n1p1): $(summary)"

svcs=$(cli 1 service list -o json)
web_id=$(jq -er '.[] | select(.frontend == "10.96.0.10:80/TCP") | .id' <<<"$svcs") ||
  pl_fail "node1's service list has no frontend 10.96.0.10:80/TCP: $(jq -c . <<<"$svcs")"
read -r name _ port < <(tail -n 1 "$ANSWERS")
flow=$(cli 1 ct list -o json | jq -c --arg src "$(pod_ip n1p1):$port" \
  '[.[] | select(.src == $src and .dst == "10.96.0.10:80" and .proto == "TCP")]')
jq -e --argjson id "$web_id" --arg be "$(pod_ip "$name"):8080" \
  'length == 1 and .[0].rev_nat_id == $id and .[0].backend == $be and .[0].xlate_dst == $be and
   (.[0].flags | index("dnat")) != null' <<<"$flow" >/dev/null ||
  pl_fail "ct list on node1: expected one flow $(pod_ip n1p1):$port -> 10.96.0.10:80 with rev_nat_id $web_id" \
    "and backend $(pod_ip "$name"):8080 ($name answered it), got: $flow"
pass "ct list shows the last connection $(pod_ip n1p1):$port -> 10.96.0.10:80, rev_nat_id $web_id, backend $(pod_ip "$name"):8080 ($name)"

# --------------------------------------------------------------------- NodePort
pl_log "NodePort 30080 from the external host to node1, 30 connections, capturing node1's and node2's fabric ports"
pl_capture_start np1 "${P}fab" node1 tcp port 30080 or udp port 6081 or udp port 8472
pl_capture_start np2 "${P}fab" node2 tcp port 30080 or udp port 6081 or udp port 8472
ask_many "${P}ext" "http://$(node_ip 1):30080/whoami" 30
pl_capture_stop np1
pl_capture_stop np2
[ "$(answered_by)" = "$(sorted "${WEB_BACKENDS[@]}")" ] ||
  pl_fail "NodePort: expected answers from every backend (${WEB_BACKENDS[*]}), got: $(summary)"
expect_clients nodeport
pass "NodePort reaches every backend; $( [ "$TCP_MODE" = dsr ] && echo "all see the client $EXT_IP" ||
  echo "remote ones see node1's IP $(node_ip 1), the local one the client $EXT_IP"): $(summary)"

# The connections n2p1 (on node2) answered, by the client's port.
N2_PORTS=$(awk '$1 == "n2p1" {print $3}' "$ANSWERS" | paste -sd,)
[ -n "$N2_PORTS" ] || pl_fail "no NodePort connection reached n2p1: $(summary)"
# ts CAPTURE TSHARK-ARGS...: tshark on $PL_TMP/CAPTURE.pcap; "uniq -c" of its
# output lines, into TS (a failing tshark fails the test).
ts() {
  local out
  out=$(tshark -r "$PL_TMP/$1.pcap" -nn -d udp.port==8472,vxlan "${@:2}" 2>"$PL_TMP/tshark.err") ||
    pl_fail "tshark -r $1.pcap ${*:2}: $(grep -v "Running as user" "$PL_TMP/tshark.err")"
  TS=""
  [ -z "$out" ] || TS=$(sort <<<"$out" | uniq -c)
}
# Replies from the NodePort to the client, outside any tunnel, on connections n2p1 served.
REPLY="!vxlan && !geneve && ip.src == $(node_ip 1) && tcp.srcport == 30080 && ip.dst == $EXT_IP && tcp.dstport in {$N2_PORTS}"
ts np2 -Y "$REPLY" -T fields -e eth.src -e eth.dst
on_n2=$TS
ts np1 -Y "$REPLY" -T fields -e eth.src -e eth.dst
on_n1=$TS
mac1=$(uplink_mac 1) mac2=$(uplink_mac 2) macx=$(ip -n "${P}ext" -j link show eth0 | pl_json '.[0].address')
if [ "$TCP_MODE" = dsr ]; then
  [ -n "$on_n2" ] && [ "$(awk '{print $2 ">" $3}' <<<"$on_n2" | sort -u)" = "$mac2>$macx" ] ||
    pl_fail "dsr: expected replies $(node_ip 1):30080 -> $EXT_IP from node2's MAC $mac2 to the client's $macx on node2's fabric port (ports $N2_PORTS), got: ${on_n2:-none}"
  [ -z "$on_n1" ] || pl_fail "dsr: replies of node2's backend went through node1's fabric port: $on_n1"
  # The requests went from node1 to node2 in Geneve, with Cilium's DSR option
  # (class 0x014b, type 1) naming the service 192.168.50.11:30080.
  ts np1 -Y "geneve && ip.dst == $(pod_ip n2p1) && tcp.dstport == 8080 && tcp.srcport in {$N2_PORTS}" \
    -T fields -e ip.dst -e geneve.option.class -e geneve.option.type -e geneve.option.unknown.data
  opts=$TS
  want_data=$(printf '%02x' 192 168 50 11)$(printf '%04x' 30080)0000
  [ -n "$opts" ] && [ "$(awk '{print $2 "|" $3 "|" $4 "|" $5}' <<<"$opts" | sort -u)" = "$(node_ip 2),$(pod_ip n2p1)|0x014b|0x01|$want_data" ] ||
    pl_fail "dsr: expected Geneve from node1 to node2 ($(node_ip 2)) carrying the requests to $(pod_ip n2p1):8080 with the DSR option 0x014b/0x01 data $want_data, got: ${opts:-none}"
  pass "dsr: node2's replies leave node2 directly ($mac2 -> $macx) as $(node_ip 1):30080, none via node1; requests reached node2 in Geneve with the DSR option ($(awk '{s += $1} END {print s}' <<<"$opts") frames)"
else
  [ -z "$on_n2" ] || pl_fail "snat: replies from $(node_ip 1):30080 left node2's fabric port directly: $on_n2"
  [ -n "$on_n1" ] && [ "$(awk '{print $2 ">" $3}' <<<"$on_n1" | sort -u)" = "$mac1>$macx" ] ||
    pl_fail "snat: expected the replies of node2's backend to leave node1 ($mac1 -> $macx), got: ${on_n1:-none}"
  pass "snat: node2's replies come back through node1 ($mac1 -> $macx), none leave node2 directly"
fi

# --------------------------------------------------------- LoadBalancer, ExternalIP
for vip in "$LB_IP" "$EXTERNAL_IP"; do
  pl_log "default/web-lb at $vip:80 from the external host (routed via node1), 12 connections"
  ask_many "${P}ext" "http://$vip/whoami" 12
  for name in $(answered_by); do
    [[ " ${WEB_BACKENDS[*]} " == *" $name "* ]] || pl_fail "$vip answered from $name, not a backend: $(summary)"
  done
  expect_clients nodeport
  pass "$vip:80 answers from backends, client IPs as for the NodePort: $(summary)"
done

# ---------------------------------------------------- externalTrafficPolicy Local
pl_log "externalTrafficPolicy Local, NodePort 30082 (backends n1p1 n1p2 n2p1) from the external host"
ask_many "${P}ext" "http://$(node_ip 1):30082/whoami" 20
[ "$(answered_by)" = "n1p1 n1p2" ] || pl_fail "node1:30082 should answer from both its pods and only them: $(summary)"
expect_clients ext
pass "node1:30082 answers only from node1's pods (both), which see the client $EXT_IP: $(summary)"
ask_many "${P}ext" "http://$(node_ip 2):30082/whoami" 5
[ "$(answered_by)" = "n2p1" ] || pl_fail "node2:30082 should answer only from n2p1: $(summary)"
expect_clients ext
pass "node2:30082 answers only from n2p1: $(summary)"
before=$(stat_of 3 rejected)
out=$(ip netns exec "${P}ext" curl -sS -v --max-time 5 "http://$(node_ip 3):30082/whoami" 2>&1) &&
  pl_fail "node3:30082 has no local backend, yet answered: $out"
grep -q "Connection refused" <<<"$out" || pl_fail "node3:30082: expected Connection refused, got: $(tail -n 3 <<<"$out")"
after=$(stat_of 3 rejected)
[ "$after" -gt "$before" ] || pl_fail "node3's rejected counter did not grow ($before -> $after): not podlane's reject"
pass "node3:30082 (no local backend) refuses instead of reaching a remote backend (node3 rejected $before -> $after)"

# --------------------------------------------------------- sessionAffinity ClientIP
pl_log "sessionAffinity ClientIP default/sticky 10.96.0.14 (5 backends) from pod n1p1, 20 connections"
ask_many "$(pod_ns n1p1)" http://10.96.0.14/whoami 20
[ "$(answered_by | wc -w)" = 1 ] || pl_fail "sessionAffinity ClientIP: expected one backend for all 20, got: $(summary)"
expect_clients pod
pass "all 20 connections reach $(answered_by)"

# -------------------------------------------------------------------- masquerade
pl_log "masquerade: pod n1p1 -> whoami on the external host $EXT_IP:8080"
ask "$(pod_ns n1p1)" "http://$EXT_IP:8080/whoami"
[ "$NAME $CLIENT" = "ext $(node_ip 1)" ] || pl_fail "expected the external host to see node1's IP $(node_ip 1), got name=$NAME client=$CLIENT"
nat=$(cli 1 nat list -o json | jq -c --arg src "$(pod_ip n1p1):$LPORT" --arg dst "$EXT_IP:8080" \
  '[.[] | select(.direction == "out" and .src == $src and .dst == $dst and .proto == "TCP")]')
xlate=$(jq -er --arg n1 "$(node_ip 1)" \
  'if length == 1 and (.[0].xlate | startswith($n1 + ":")) and .[0].xlate_field == "src" then .[0].xlate else error("no") end' <<<"$nat") ||
  pl_fail "nat list on node1: expected one TCP mapping $(pod_ip n1p1):$LPORT -> $EXT_IP:8080 to $(node_ip 1):PORT, got: $nat"
xport=${xlate##*:}
[ "$xport" -ge 32768 ] && [ "$xport" -le 65535 ] || pl_fail "masquerade port $xport outside masquerade.port_range 32768-65535"
pass "the external host sees node1's IP; nat list: $(pod_ip n1p1):$LPORT -> $EXT_IP:8080 as $xlate"

# ------------------------------------------------------------------ IPv4 fragments
# 4000-byte UDP datagrams (the sender's kernel fragments them; every later
# fragment has no ports): echoed whole through the ClusterIP 10.96.0.17 (to
# n2p1 on node2, in the tunnel, fragments both ways), and masqueraded to the
# external host, whose server answers with the datagram's length and SHA-256.
# podlane's fragment table gives each later fragment its first fragment's
# flow. Fragments arriving on the lab's uplink cannot be tested here: DPDK
# 22.11's af_packet PMD joins a PACKET_FANOUT group with
# PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles them before podlane
# sees them (a datagram larger than its 2 KiB ring frame then arrives
# truncated); the unit tests drive those paths (NodePort, replies to a
# masqueraded flow) through the pipeline. The NodePort is tried with
# unfragmented UDP, which also shows its mode (snat, dsr, hybrid).
pl_log "IPv4 fragments: 4000-byte UDP datagrams echoed through the ClusterIP and masqueraded to the external host"
ip netns exec "$(pod_ns n2p1)" /usr/bin/python3 "$HERE/udp_echo.py" 0.0.0.0 7007 n2p1 "$PL_TMP/echo-n2p1.log" &
PL_PIDS+=("$!")
ip netns exec "${P}ext" /usr/bin/python3 "$HERE/udp_echo.py" "$EXT_IP" 7007 ext "$PL_TMP/echo-ext.log" &
PL_PIDS+=("$!")
ip netns exec "${P}ext" /usr/bin/python3 "$HERE/udp_echo.py" "$EXT_IP" 7008 ext "$PL_TMP/digest-ext.log" --digest &
PL_PIDS+=("$!")
for ns in "$(pod_ns n2p1)" "${P}ext"; do
  pl_wait_for "the UDP echo server in $ns" 15 sh -c "ip netns exec $ns ss -Hlun 'sport = :7007' | grep -q 7007"
done
frag_before=$(cli 1 stats -o json | jq -c '.conntrack.fragments')
# big_echo NS ADDR PORT NAME SIZE WHAT [--digest]: three SIZE-byte datagrams
# from NS, every one answered whole (or its digest) by NAME.
big_echo() {
  local out
  out=$(ip netns exec "$1" /usr/bin/python3 "$HERE/udp_big_echo.py" "$2" "$3" "$5" 3 "${@:7}") ||
    pl_fail "$6: $5-byte datagrams to $2:$3 from $1 did not all come back whole: $out"
  jq -e --arg n "$4" '.names == [$n]' <<<"$out" >/dev/null || pl_fail "$6: expected answers from $4 only: $out"
  pass "$6: 3 datagrams of $5 bytes from $1 to $2:$3 answered intact by $4"
}
big_echo "$(pod_ns n1p1)" 10.96.0.17 7 n2p1 4000 "fragments through the ClusterIP, both ways"
big_echo "$(pod_ns n1p1)" "$EXT_IP" 7008 ext 4000 "fragments masqueraded to the external host" --digest
frag_after=$(cli 1 stats -o json | jq -c '.conntrack.fragments')
jq -e --argjson b "$frag_before" '.tracked - $b.tracked >= 9 and .hits - $b.hits >= 18 and .misses == $b.misses' \
  <<<"$frag_after" >/dev/null ||
  pl_fail "node1's fragment counters: expected at least 9 datagrams tracked, 18 later fragments found and no miss; before $frag_before, after $frag_after"
pass "node1's fragment table: before $frag_before, after $frag_after"

# (The bridge port also sees node1's frames flooded to node2: only node2's own count.)
pl_capture_start udp2 "${P}fab" node2 ether src "$(uplink_mac 2)" and src host "$(node_ip 1)" and dst host "$EXT_IP"
big_echo "${P}ext" "$(node_ip 1)" 30087 n2p1 1000 "UDP through the NodePort ($UDP_MODE)"
pl_capture_stop udp2
direct=$(tcpdump -r "$PL_TMP/udp2.pcap" -nn 2>/dev/null | wc -l)
if [ "$UDP_MODE" = dsr ]; then
  [ "$direct" -ge 3 ] || pl_fail "UDP dsr: expected node2 to send the 3 echoes to $EXT_IP as $(node_ip 1) itself, saw $direct packets"
else
  [ "$direct" = 0 ] || pl_fail "UDP snat: node2 sent $direct packets as $(node_ip 1) straight to $EXT_IP (DSR?)"
fi
pass "UDP NodePort in $UDP_MODE mode: $direct packets left node2 directly as $(node_ip 1)"

# ------------------------------------------------------ masquerade: ICMP echo, UDP
pl_log "masquerade: pod n1p1 pings the external host, and exchanges small UDP datagrams with it"
pl_capture_start extping "${P}ext" eth0 icmp or udp port 7007
ip netns exec "$(pod_ns n1p1)" ping -c 3 -i 0.2 -W 2 "$EXT_IP" >/dev/null || pl_fail "n1p1 cannot ping the external host $EXT_IP"
out=$(ip netns exec "$(pod_ns n1p1)" /usr/bin/python3 "$HERE/udp_big_echo.py" "$EXT_IP" 7007 100 3) ||
  pl_fail "UDP to the external host from n1p1: $out"
pl_capture_stop extping
seen=$(tcpdump -r "$PL_TMP/extping.pcap" -nn 2>/dev/null | awk '{print $3, $5}' | sed 's/\.[0-9]*$//; s/\.[0-9]*:$//' | sort | uniq -c)
req=$(tcpdump -r "$PL_TMP/extping.pcap" -nn 'icmp[icmptype] == icmp-echo' 2>/dev/null | grep -c "IP $(node_ip 1) > $EXT_IP" || true)
udp=$(tcpdump -r "$PL_TMP/extping.pcap" -nn 'udp dst port 7007' 2>/dev/null | grep -c "IP $(node_ip 1)\.[0-9]* > $EXT_IP.7007" || true)
leak=$(tcpdump -r "$PL_TMP/extping.pcap" -nn "src host $(pod_ip n1p1)" 2>/dev/null | wc -l)
[ "$req" = 3 ] && [ "$udp" = 3 ] && [ "$leak" = 0 ] ||
  pl_fail "masquerade: expected 3 echo requests and 3 UDP datagrams from $(node_ip 1) at the external host and none from $(pod_ip n1p1); saw: $seen"
pass "the external host sees n1p1's pings and UDP from node1's IP $(node_ip 1) (3 + 3), and both are answered"

# ----------------------------------------------------------------------- hairpin
pl_log "hairpin: pod n1p1 -> default/hairpin 10.96.0.15, whose only backend is n1p1"
ask "$(pod_ns n1p1)" http://10.96.0.15/whoami
[ "$NAME $CLIENT" = "n1p1 $HAIRPIN_IP" ] || pl_fail "hairpin: expected n1p1 to answer itself from $HAIRPIN_IP, got name=$NAME client=$CLIENT"
pass "n1p1 reaches itself through its service, seen from the hairpin address $HAIRPIN_IP"

# ------------------------------------------------------------------- no backends
pl_log "no backends: pod n1p1 -> default/empty 10.96.0.16"
before=$(stat_of 1 rejected)
t0=$(date +%s%N)
out=$(ip netns exec "$(pod_ns n1p1)" curl -sS -v --max-time 5 http://10.96.0.16/whoami 2>&1) &&
  pl_fail "default/empty has no backends, yet answered: $out"
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q "Connection refused" <<<"$out" || pl_fail "default/empty: expected Connection refused, got: $(tail -n 3 <<<"$out")"
[ "$ms" -lt 1000 ] || pl_fail "default/empty: refused only after ${ms}ms"
after=$(stat_of 1 rejected)
[ "$after" -gt "$before" ] && [ "$after" -gt 0 ] || pl_fail "node1's rejected counter did not grow ($before -> $after)"
pass "Connection refused after ${ms}ms; node1 rejected $before -> $after"

# ---------------------------------------------------------------------- HostPort
pl_log "HostPort: $(node_ip 2):8088 -> n2p2:8080 from the external host"
ask "${P}ext" "http://$(node_ip 2):8088/whoami"
[ "$NAME $CLIENT" = "n2p2 $EXT_IP" ] || pl_fail "HostPort: expected n2p2 to answer, seeing $EXT_IP; got name=$NAME client=$CLIENT"
pass "node2's HostPort 8088 reaches n2p2, which sees the client $EXT_IP"

# ------------------------------------------------------------------ service list
pl_log "podlane service list on node1 (table and JSON), node2's HostPort, service maglev"
table=$(cli 1 service list) || pl_fail "podlane service list failed: $table"
echo "$table"
for s in default/web default/web-np default/web-lb default/local default/sticky default/hairpin default/empty; do
  grep -qF " $s " <<<"$table " || pl_fail "podlane service list (table) does not show $s"
done
# frontend|type|name|backend,backend,... (each "address:local") as node1 lists it.
svcs=$(cli 1 service list -o json)
got=$(jq -r '.[] | "\(.frontend)|\(.type)|\(.name)|\([.backends[] | "\(.address):\(.local)"] | sort | join(","))"' <<<"$svcs")
WEB_BE="10.210.1.12:8080:true,10.210.2.11:8080:false,10.210.3.11:8080:false"
for want in \
  "10.96.0.10:80/TCP|ClusterIP|default/web|$WEB_BE" \
  "10.96.0.11:80/TCP|ClusterIP|default/web-np|$WEB_BE" \
  "$(node_ip 1):30080/TCP|NodePort|default/web-np|$WEB_BE" \
  "$(node_ip 1):30081/TCP|NodePort|default/web-lb|$WEB_BE" \
  "$LB_IP:80/TCP|LoadBalancer|default/web-lb|$WEB_BE" \
  "$EXTERNAL_IP:80/TCP|ExternalIP|default/web-lb|$WEB_BE" \
  "$(node_ip 1):30082/TCP|NodePort|default/local|10.210.1.11:8080:true,10.210.1.12:8080:true,10.210.2.11:8080:false" \
  "10.96.0.15:80/TCP|ClusterIP|default/hairpin|10.210.1.11:8080:true" \
  "10.96.0.16:80/TCP|ClusterIP|default/empty|"; do
  grep -qxF "$want" <<<"$got" || pl_fail "service list -o json on node1 lacks $want; it has:"$'\n'"$got"
done
jq -e '[.[] | select(.name == "default/sticky")] | length == 1 and .[0].session_affinity == true and (.[0].backends | length) == 5' \
  <<<"$svcs" >/dev/null || pl_fail "service list: default/sticky should have affinity and 5 backends: $(jq -c '.[] | select(.name == "default/sticky")' <<<"$svcs")"
jq -e '[.[] | select(.frontend == "192.168.50.11:30082/TCP")][0].external | .local_only == true and (.backend_ids | length) == 2' \
  <<<"$svcs" >/dev/null || pl_fail "service list: node1's NodePort 30082 should pick from its 2 local backends only"
cli 2 service list -o json | jq -e '.[] | select(.frontend == "192.168.50.12:8088/TCP" and .type == "HostPort" and
  .name == "lab/n2p2" and ([.backends[].address] == ["10.210.2.12:8080"]))' >/dev/null ||
  pl_fail "node2's service list lacks the HostPort 192.168.50.12:8088 -> 10.210.2.12:8080 of lab/n2p2"
mg=$(cli 1 service maglev default/web-np -o json) || pl_fail "podlane service maglev default/web-np: $mg"
jq -e '(.backends | length) == 3 and ([.backends[].slots] | add) == .m and (.table | length) == .m' <<<"$mg" >/dev/null ||
  pl_fail "service maglev default/web-np: expected 3 backends sharing all M slots: $(jq -c 'del(.table)' <<<"$mg")"
pass "service list shows every service with its frontends and backends (local ones marked), the HostPort on node2;" \
  "Maglev table of default/web-np: M=$(jq .m <<<"$mg"), slots $(jq -r '[.backends[] | "\(.address)=\(.slots)"] | join(" ")' <<<"$mg")"

# ------------------------------------------------------------------------ drops
# Every drop reason must be zero except arp_not_for_us: the fabric is one
# broadcast domain, so each node sees (and drops) the other nodes' and the
# external host's ARP requests for addresses it does not own. The refusals
# this test causes (default/empty, node3's NodePort 30082) are rejects, not
# drops.
pl_log "drops and port errors on every node"
for i in $(seq $N); do
  stats=$(cli "$i" stats -o json)
  other=$(jq -c '.totals.drops | with_entries(select(.value != 0 and .key != "arp_not_for_us"))' <<<"$stats")
  [ "$other" = "{}" ] || { cli "$i" stats; pl_fail "node$i has unexpected drops: $other"; }
  errs=$(jq -c '[.ports[] | select(.rx_errors + .tx_errors + .rx_missed > 0)]' <<<"$stats")
  [ "$errs" = "[]" ] || pl_fail "node$i: port errors: $errs"
  pl_log "node$i: rejected $(pl_json .totals.rejected <<<"$stats"), arp_not_for_us $(pl_json .totals.drops.arp_not_for_us <<<"$stats"), no other drops"
done
pass "no unexpected drops, no port errors"

pl_log "PASS (services, $MODE, $((SECONDS - T0))s)"
