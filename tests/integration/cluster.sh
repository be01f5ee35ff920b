#!/usr/bin/env bash
# Integration test: a 3-node podlane cluster (scripts/lab.sh, one pod per
# node) in MODE vxlan, geneve or native routing. Checks the control plane
# (neighbours, ipcache), pod-to-pod ping between every pair of nodes, TCP
# (HTTP download without SNAT, iperf3), the packets on the fabric (VXLAN or
# Geneve with the sending pod's identity as VNI, or plain IPv4 in native
# mode), the path MTU (ICMP fragmentation needed from podlane), the external
# host, and that no packet was dropped for a reason a healthy cluster never
# has.
#
# IPAM (4th argument, else $CLUSTER_IPAM, else kubernetes) is the lab's
# --ipam: with kubernetes node i has PodCIDR 10.210.<i>.0/24, with cluster-pool
# podlaned allocates each node a /24 from 10.210.0.0/16. Either way the test
# reads each node's PodCIDR, gateway and pod IP from the node's API.
#
#   tests/integration/cluster.sh MODE PODLANED PODLANE [IPAM]
set -euo pipefail
[ $# -eq 3 ] || [ $# -eq 4 ] ||
  { echo "usage: $0 vxlan|geneve|native PODLANED PODLANE [kubernetes|cluster-pool]" >&2; exit 2; }
MODE=$1
PODLANED=$(realpath "$2")
PODLANE=$(realpath "$3")
IPAM=${4:-${CLUSTER_IPAM:-kubernetes}}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
case $MODE in vxlan|geneve|native) ;; *) pl_fail "MODE $MODE: expected vxlan, geneve or native" ;; esac
case $IPAM in kubernetes|cluster-pool) ;; *) pl_fail "IPAM $IPAM: expected kubernetes or cluster-pool" ;; esac
export PODLANED PODLANE

N=3
P=plc$$-
RUN=/run/podlane/lab-$P
LAB=$REPO/scripts/lab.sh

node_ns() { echo "${P}node$1"; }
pod_ns() { echo "${P}n${1}p1"; }
node_ip() { echo "192.168.50.$((10 + $1))"; }
# Node i's PodCIDR, gateway and pod IP, as its API reports them (read once the
# lab is up).
declare -A POD_CIDR=() GW_IP=() POD_IP=()
pod_cidr() { echo "${POD_CIDR[$1]}"; }
pod_ip() { echo "${POD_IP[$1]}"; }
gw_ip() { echo "${GW_IP[$1]}"; }
cli() { local i=$1; shift; "$PODLANE" --socket "$RUN/node$i.sock" "$@"; }
others() { local i; for i in $(seq $N); do [ "$i" = "$1" ] || echo "$i"; done; }
uplink_mac() { ip -n "$(node_ns "$1")" -j link show eth0 | pl_json '.[0].address'; }

# On failure: what each node saw. Then, always: the lab goes down.
teardown() {
  local pid
  for pid in "${PL_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ "$PL_RC" -ne 0 ] && [ -d "$RUN" ]; then
    local i
    for i in $(seq $N); do
      echo "==== node$i: stats, neighbours, log tail ===="
      cli "$i" stats 2>&1 || true
      cli "$i" neighbor list 2>&1 || true
      tail -n 30 "$RUN/node$i.log" 2>/dev/null || true
    done
  fi
  "$LAB" down --prefix "$P" || true
}
pl_on_exit teardown
# Belt and braces: lib.sh deletes the lab's namespaces too if down failed.
PL_NETNS+=("${P}fab" "${P}ext")
for i in $(seq $N); do PL_NETNS+=("$(node_ns "$i")" "$(pod_ns "$i")"); done

T0=$SECONDS
pl_log "lab up: $N nodes, $MODE, ipam $IPAM, prefix $P"
"$LAB" up --nodes $N --mode "$MODE" --prefix "$P" --pods 1 --ipam "$IPAM"
pl_log "lab up took $((SECONDS - T0))s"

# ------------------------------------------------------------------------- IPAM
for i in $(seq $N); do
  st=$(cli "$i" status -o json)
  POD_CIDR[$i]=$(pl_json '.pod_cidr' <<<"$st") || pl_fail "node$i: no pod_cidr in its status: $st"
  GW_IP[$i]=$(pl_json '.gateway_ip' <<<"$st") || pl_fail "node$i: no gateway_ip in its status: $st"
  eps=$(cli "$i" endpoint list -o json)
  POD_IP[$i]=$(jq -er --arg id "lab/n${i}p1" '[.[] | select(.id == $id)] | if length == 1 then .[0].ip else error("no single endpoint") end' <<<"$eps") ||
    pl_fail "node$i: no single endpoint lab/n${i}p1: $(jq -c . <<<"$eps")"
  POD_IP[$i]=${POD_IP[$i]%/32}
done
pl_log "PodCIDRs (gateway, pod): $(for i in $(seq $N); do printf 'node%s %s (%s, %s)  ' "$i" "$(pod_cidr "$i")" "$(gw_ip "$i")" "$(pod_ip "$i")"; done)"
if [ "$IPAM" = kubernetes ]; then
  # The lab's fixed plan: node i has 10.210.<i>.0/24, its pod .11, gateway .1.
  for i in $(seq $N); do
    [ "$(pod_cidr "$i")/$(gw_ip "$i")/$(pod_ip "$i")" = "10.210.$i.0/24/10.210.$i.1/10.210.$i.11" ] ||
      pl_fail "node$i: PodCIDR $(pod_cidr "$i"), gateway $(gw_ip "$i"), pod $(pod_ip "$i");" \
        "expected 10.210.$i.0/24, 10.210.$i.1, 10.210.$i.11"
  done
else
  pl_log "cluster-pool: distinct /24s inside 10.210.0.0/16, each node's gateway and pod inside its own"
  out=$(python3 - "$(for i in $(seq $N); do printf '%s,%s,%s ' "$(pod_cidr "$i")" "$(gw_ip "$i")" "$(pod_ip "$i")"; done)" 2>&1 <<'EOF'
import ipaddress, sys
pool = ipaddress.ip_network("10.210.0.0/16")
nets = []
for n, entry in enumerate(sys.argv[1].split(), 1):
    cidr, gw, pod = entry.split(",")
    net = ipaddress.ip_network(cidr)  # strict: no host bits
    if net.prefixlen != 24 or not net.subnet_of(pool):
        sys.exit(f"node{n}: PodCIDR {net} is not a /24 inside {pool}")
    if ipaddress.ip_address(gw) != net.network_address + 1:
        sys.exit(f"node{n}: gateway {gw} is not the first address of {net}")
    if ipaddress.ip_address(pod) != net.network_address + 11:
        sys.exit(f"node{n}: pod {pod} is not {net.network_address + 11} (block + 11)")
    nets.append(net)
if len(set(nets)) != len(nets):
    sys.exit(f"PodCIDRs are not distinct: {[str(x) for x in nets]}")
EOF
  ) || pl_fail "cluster-pool allocation: $out"
fi

# ---------------------------------------------------------------- control plane
pl_log "neighbours: every node has the other nodes reachable, with their uplink MACs"
for i in $(seq $N); do
  neigh=$(cli "$i" neighbor list -o json)
  for j in $(others "$i"); do
    want=$(uplink_mac "$j")
    jq -e --arg ip "$(node_ip "$j")" --arg mac "$want" \
      'any(.[]; .ip == $ip and .state == "reachable" and .mac == $mac)' <<<"$neigh" >/dev/null ||
      pl_fail "node$i: neighbour node$j ($(node_ip "$j"), $want) is not reachable: $(jq -c . <<<"$neigh")"
  done
  [ "$(pl_json 'length' <<<"$neigh")" = $((N - 1)) ] || pl_fail "node$i: expected $((N - 1)) neighbours: $(jq -c . <<<"$neigh")"
done
cli 1 neighbor list

pl_log "ipcache: the other nodes' PodCIDRs ($IPAM) behind their node IPs"
for i in $(seq $N); do
  ipc=$(cli "$i" ipcache list -o json)
  for j in $(others "$i"); do
    jq -e --arg p "$(pod_cidr "$j")" --arg ep "$(node_ip "$j")" \
      'any(.[]; .prefix == $p and .tunnel_endpoint == $ep and .source == "remote-pod-cidr")' <<<"$ipc" >/dev/null ||
      pl_fail "node$i: ipcache lacks $(pod_cidr "$j") -> $(node_ip "$j"): $(jq -c . <<<"$ipc")"
  done
  n_remote=$(jq '[.[] | select(.source == "remote-pod-cidr")] | length' <<<"$ipc")
  [ "$IPAM" = kubernetes ] || [ "$n_remote" = $((N - 1)) ] ||
    pl_fail "node$i: expected $((N - 1)) remote-pod-cidr entries (the others' allocated blocks), got $n_remote: $(jq -c . <<<"$ipc")"
  jq -e --arg p "$(pod_ip "$i")/32" 'any(.[]; .prefix == $p and .source == "local-endpoint")' <<<"$ipc" >/dev/null ||
    pl_fail "node$i: ipcache lacks its pod $(pod_ip "$i")"
done
cli 1 ipcache list

# A pod's identity, from its node's identity list, matched by the pod's labels;
# the ipcache entry of the pod's IP must carry the same one.
identity_of() {
  local i=$1 id
  id=$(cli "$i" identity list -o json |
    jq -er --arg node "node$i" \
      '[.[] | select(.reserved | not) | select((.labels | index("app=web")) and (.labels | index("node=\($node)")))] |
       if length == 1 then .[0].id else error("expected one identity") end') ||
    pl_fail "node$i: no single identity with labels app=web,node=node$i" >&2
  cli "$i" ipcache list -o json | jq -e --arg p "$(pod_ip "$i")/32" --argjson id "$id" \
    'any(.[]; .prefix == $p and .identity == $id)' >/dev/null ||
    pl_fail "node$i: the ipcache entry of $(pod_ip "$i") does not carry identity $id" >&2
  echo "$id"
}
declare -A ID
for i in $(seq $N); do ID[$i]=$(identity_of "$i"); done
pl_log "pod identities: $(for i in $(seq $N); do printf 'n%sp1=%s ' "$i" "${ID[$i]}"; done)"

# Checks that do not hold the others up record their failure and the test
# goes on (pl_check_fail), so one run shows every problem; it fails at the end.
drop_count() { cli "$1" stats -o json | pl_json ".totals.drops.$2"; }

pl_log "the external host pings every node IP"
for i in $(seq $N); do
  before=$(drop_count "$i" no_neighbour)
  pl_ping_ok "${P}ext" "$(node_ip "$i")" && continue
  after=$(drop_count "$i" no_neighbour)
  why=""
  [ "$after" -gt "$before" ] && why="; node$i dropped $((after - before)) packets as no_neighbour meanwhile\
 (the node's replies to 192.168.50.1, sent before podlane had resolved it)"
  pl_check_fail "ping from the external host to node$i $(node_ip "$i"): $PL_PING_SUMMARY$why"
done

pl_log "host path: node kernels reach each other, remote pods, and serve TCP to nodes, pods and the external host"
for b in $(others 1); do
  pl_ping_ok "$(node_ns 1)" "$(node_ip "$b")" || pl_check_fail "node1's kernel -> node$b $(node_ip "$b"): $PL_PING_SUMMARY"
done
pl_ping_ok "$(node_ns 1)" "$(pod_ip 2)" || pl_check_fail "node1's kernel -> n2p1 $(pod_ip 2): $PL_PING_SUMMARY"
mkdir -p "$PL_TMP/hostwww" && echo "served by node2's kernel" > "$PL_TMP/hostwww/index.html"
ip netns exec "$(node_ns 2)" /usr/bin/python3 "$HERE/http_server.py" "$(node_ip 2)" 8081 "$PL_TMP/hostwww" \
  > "$PL_TMP/host-http.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "the HTTP server in node2's namespace" 10 \
  ip netns exec "${P}ext" curl -sf --max-time 2 -o /dev/null "http://$(node_ip 2):8081/"
for client in "${P}ext" "$(node_ns 1)" "$(pod_ns 1)"; do
  got=$(ip netns exec "$client" curl -sf --max-time 5 "http://$(node_ip 2):8081/" || true)
  [ "$got" = "served by node2's kernel" ] || pl_check_fail "HTTP from $client to node2's kernel: got \"$got\""
done

# ---------------------------------------------------------------------- traffic
pl_log "ping between the pods of every pair of nodes, both directions"
for a in $(seq $N); do
  for b in $(others "$a"); do
    pl_ping "$(pod_ns "$a")" "$(pod_ip "$b")"
  done
done

pl_log "capture on the fabric port of node1 while n1p1 pings n2p1"
pl_capture_start fab "${P}fab" node1
ip netns exec "$(pod_ns 1)" ping -n -q -c 5 -i 0.2 -W 2 "$(pod_ip 2)" > /dev/null || pl_fail "ping n1p1 -> n2p1 failed during the capture"
pl_capture_stop fab
PCAP=$PL_TMP/fab.pcap
case $MODE in
  vxlan)  DECODE=(-d udp.port==8472,vxlan) PROTO=vxlan PORT=8472 ;;
  geneve) DECODE=() PROTO=geneve PORT=6081 ;;
  native) DECODE=() PROTO= PORT= ;;
esac
ts() { tshark -r "$PCAP" -o ip.check_checksum:TRUE "$@" 2>>"$PL_TMP/tshark.err"; }
tshark -r "$PCAP" -nn "${DECODE[@]}" 2>/dev/null | grep -v ARP | head -n 4 || true
mac1=$(uplink_mac 1) mac2=$(uplink_mac 2)
# Frames of ICMP type T from pod A to pod B: fields joined by '|', one line each.
icmp_frames() {
  local type=$1 a=$2 b=$3; shift 3
  ts "${DECODE[@]}" -Y "icmp.type == $type && ip.src == $(pod_ip "$a") && ip.dst == $(pod_ip "$b")" \
    -T fields -E separator='|' -E occurrence=a -E aggregator=, "$@"
}
# A VNI as tshark prints it ("0x000057a6" for Geneve, "22438" for VXLAN), in decimal.
dec() { printf '%d' "$1"; }
malformed=$(ts "${DECODE[@]}" -Y "_ws.malformed || _ws.expert.severity == error" | wc -l)
[ "$malformed" = 0 ] || { ts "${DECODE[@]}" -Y "_ws.malformed || _ws.expert.severity == error" -V | head -n 60; pl_fail "$malformed malformed or erroneous frames in the capture"; }
bad_csum=$(ts "${DECODE[@]}" -Y 'ip.checksum.status == "Bad"' | wc -l)
[ "$bad_csum" = 0 ] || pl_fail "$bad_csum frames with a bad IPv4 header checksum (outer or inner)"
if [ "$MODE" = native ]; then
  tunnelled=$(ts -Y "udp.port == 8472 || udp.port == 6081 || udp.port == 4789" | wc -l)
  [ "$tunnelled" = 0 ] || pl_fail "native mode, yet $tunnelled tunnel (UDP 8472/6081/4789) frames on the fabric"
  for dir in "8 1 2 $mac1 $mac2" "0 2 1 $mac2 $mac1"; do
    read -r type a b smac dmac <<<"$dir"
    frames=$(icmp_frames "$type" "$a" "$b" -e eth.src -e eth.dst -e ip.src -e ip.dst -e udp.port)
    want="$smac|$dmac|$(pod_ip "$a")|$(pod_ip "$b")|"
    [ "$(wc -l <<<"$frames")" = 5 ] && [ "$(grep -cxF "$want" <<<"$frames")" = 5 ] ||
      pl_fail "expected 5 plain IPv4 ICMP type $type frames $want, got: $frames"
  done
  pl_log "fabric: 5 echo requests and 5 replies as plain IPv4 between the pod IPs, node MACs, no tunnel traffic"
else
  for dir in "8 1 2 $mac1 $mac2" "0 2 1 $mac2 $mac1"; do
    read -r type a b smac dmac <<<"$dir"
    frames=$(icmp_frames "$type" "$a" "$b" -e "$PROTO.vni" -e eth.src -e eth.dst -e ip.src -e ip.dst -e udp.dstport)
    n=0
    while IFS='|' read -r vni esrc edst isrc idst dport; do
      [ -n "$vni" ] || continue
      [ "$(dec "$vni")" = "${ID[$a]}" ] || pl_fail "$PROTO VNI $vni, expected n${a}p1's identity ${ID[$a]}"
      [ "${esrc%%,*} > ${edst%%,*}" = "$smac > $dmac" ] || pl_fail "outer MACs $esrc > $edst, expected $smac > $dmac"
      [ "$isrc" = "$(node_ip "$a"),$(pod_ip "$a")" ] && [ "$idst" = "$(node_ip "$b"),$(pod_ip "$b")" ] ||
        pl_fail "addresses (outer,inner) $isrc > $idst, expected $(node_ip "$a"),$(pod_ip "$a") > $(node_ip "$b"),$(pod_ip "$b")"
      [ "$dport" = "$PORT" ] || pl_fail "UDP destination port $dport, expected $PORT"
      n=$((n + 1))
    done <<<"$frames"
    [ "$n" = 5 ] || pl_fail "expected 5 $PROTO frames with ICMP type $type from n${a}p1 to n${b}p1, got $n: $frames"
  done
  # Node health probes (docs/health.md) ping node IP to node IP outside the
  # tunnel, as Cilium's do; no pod's ICMP may.
  plain=$(ts "${DECODE[@]}" -Y "icmp && !$PROTO && !(ip.src == 192.168.50.0/24 && ip.dst == 192.168.50.0/24)" | wc -l)
  [ "$plain" = 0 ] || pl_fail "$plain ICMP frames on the fabric outside the tunnel"
  pl_log "fabric: 5 echo requests (VNI ${ID[1]}) and 5 replies (VNI ${ID[2]}) decoded as $PROTO between the pod IPs, 0 malformed"
fi

pl_log "path MTU"
if [ "$MODE" = native ]; then
  pl_ping "$(pod_ns 1)" "$(pod_ip 3)" -M do -s 1472
  pl_log "native: a 1500-byte packet with DF crosses the fabric"
else
  mtu=$(ip -n "$(pod_ns 1)" -j link show eth0 | pl_json '.[0].mtu')
  [ "$mtu" = 1450 ] || pl_fail "the pod's eth0 has MTU $mtu, expected 1450 (1500 minus 50 bytes of $PROTO)"
  pl_ping "$(pod_ns 1)" "$(pod_ip 3)" -M do -s 1422
  out=$(ip netns exec "$(pod_ns 1)" ping -n -c 1 -W 2 -M do -s 1423 "$(pod_ip 3)" 2>&1) && pl_fail "a 1451-byte packet with DF went through: $out"
  grep -q "mtu=1450" <<<"$out" || pl_fail "expected the pod's kernel to refuse 1451 bytes (mtu=1450): $out"
  # A pod whose interface MTU is larger than the path: podlane itself answers
  # "fragmentation needed" with the tunnel's MTU.
  before=$(cli 1 stats -o json | pl_json '.totals.icmp_errors')
  ip -n "$(pod_ns 1)" link set eth0 mtu 1500
  out=$(ip netns exec "$(pod_ns 1)" ping -n -c 2 -i 0.5 -W 2 -M do -s 1423 "$(pod_ip 3)" 2>&1) && pl_fail "a 1451-byte packet with DF went through: $out"
  ip -n "$(pod_ns 1)" link set eth0 mtu 1450
  ip -n "$(pod_ns 1)" route flush cache
  echo "$out" | head -n 3
  grep -q "From $(gw_ip 1) .*Frag needed and DF set (mtu = 1450)" <<<"$out" ||
    pl_fail "expected 'Frag needed ... (mtu = 1450)' from the gateway $(gw_ip 1): $out"
  after=$(cli 1 stats -o json | pl_json '.totals.icmp_errors')
  [ "$after" -gt "$before" ] || pl_fail "node1's icmp_errors did not increase ($before -> $after)"
  pl_log "tunnel: 1450 bytes pass, 1451 get 'fragmentation needed, mtu 1450' from podlane (icmp_errors $before -> $after)"
fi

pl_log "TCP: HTTP download n2p1 -> n1p1, checked byte for byte"
mkdir -p "$PL_TMP/www"
head -c 3000000 /dev/urandom > "$PL_TMP/www/blob"
ip netns exec "$(pod_ns 2)" /usr/bin/python3 "$HERE/http_server.py" "$(pod_ip 2)" 8080 "$PL_TMP/www" \
  > "$PL_TMP/http.log" 2>&1 &
HTTP_PID=$!
PL_PIDS+=("$HTTP_PID")
pl_wait_for "the HTTP server in n2p1" 10 ip netns exec "$(pod_ns 1)" curl -sf --max-time 2 -o /dev/null "http://$(pod_ip 2):8080/"
ip netns exec "$(pod_ns 1)" curl -sSf --max-time 30 -o "$PL_TMP/blob.got" \
  -w "HTTP %{http_code}, %{size_download} bytes in %{time_total}s\n" "http://$(pod_ip 2):8080/blob"
cmp "$PL_TMP/www/blob" "$PL_TMP/blob.got" || pl_fail "the downloaded file differs"
grep -q "^$(pod_ip 1) .*\"GET /blob HTTP/1.1\" 200" "$PL_TMP/http.log" ||
  pl_fail "the server did not log the download from n1p1's own IP $(pod_ip 1): $(cat "$PL_TMP/http.log")"
kill -TERM "$HTTP_PID"; wait "$HTTP_PID" 2>/dev/null || true

pl_log "TCP: iperf3 n2p1 -> n3p1, 2 s"
ip netns exec "$(pod_ns 3)" iperf3 -s -1 -B "$(pod_ip 3)" > "$PL_TMP/iperf-server.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "the iperf3 server in n3p1" 10 sh -c "ip netns exec $(pod_ns 3) ss -ltn | grep -q ':5201'"
ip netns exec "$(pod_ns 2)" iperf3 -c "$(pod_ip 3)" -t 2 -J > "$PL_TMP/iperf.json" ||
  pl_fail "iperf3 failed: $(jq -r '.error // empty' "$PL_TMP/iperf.json" 2>/dev/null)"
bps=$(pl_json '.end.sum_received.bits_per_second' < "$PL_TMP/iperf.json")
retr=$(jq -r '.end.sum_sent.retransmits // 0' < "$PL_TMP/iperf.json")
pl_log "iperf3 n2p1 -> n3p1: $(awk -v b="$bps" 'BEGIN{printf "%.1f Mbit/s", b/1e6}'), $retr retransmits"
awk -v b="$bps" 'BEGIN{exit !(b > 1e6)}' || pl_fail "iperf3 moved under 1 Mbit/s"

# ------------------------------------------------------------------------ drops
# Asserted zero: reasons a healthy cluster never has. Every other reason must be
# zero too, except arp_not_for_us: the fabric is one broadcast domain, so every
# node sees (and drops) the other nodes' and the external host's ARP requests
# for addresses it does not own.
pl_log "counters and drops on every node"
MUST_BE_ZERO=(unknown_destination malformed bad_ip_checksum bad_tunnel invalid_source no_neighbour)
EXPLAINED=(arp_not_for_us)
# stage STAGE KIND: a TOTAL per-stage counter from the node's `stats --stages -o json` in $stages.
stage() { jq -r --arg s "$1" --arg k "$2" '.totals.stages[] | select(.stage == $s) | .[$k]' <<<"$stages"; }
for i in $(seq $N); do
  echo "---- node$i: podlane stats ----"
  cli "$i" stats
  stats=$(cli "$i" stats -o json)
  for r in "${MUST_BE_ZERO[@]}"; do
    n=$(pl_json ".totals.drops.$r" <<<"$stats")
    [ "$n" = 0 ] || pl_check_fail "node$i dropped $n packets as $r"
  done
  other=$(jq -c --argjson ok "$(printf '%s\n' "${MUST_BE_ZERO[@]}" "${EXPLAINED[@]}" | jq -R . | jq -s .)" \
    '.totals.drops | with_entries(select(.value != 0 and (.key as $k | $ok | index($k) | not)))' <<<"$stats")
  [ "$other" = "{}" ] || pl_check_fail "node$i has unexpected drops: $other"
  encap=$(pl_json '.totals.encapsulated' <<<"$stats") decap=$(pl_json '.totals.decapsulated' <<<"$stats")
  if [ "$MODE" = native ]; then
    [ "$encap" = 0 ] && [ "$decap" = 0 ] || pl_check_fail "node$i: native mode, yet $encap encapsulated and $decap decapsulated"
  else
    [ "$encap" -gt 0 ] && [ "$decap" -gt 0 ] || pl_check_fail "node$i: $encap encapsulated and $decap decapsulated, expected both > 0"
  fi
  errs=$(jq -c '[.ports[] | select(.rx_errors + .tx_errors + .rx_missed > 0)]' <<<"$stats")
  [ "$errs" = "[]" ] || pl_check_fail "node$i: port errors: $errs"
  # The per-stage counters: pod traffic went through the source check, the
  # load balancer, route and deliver, ARP through arp; the tunnel modes
  # encapsulated and decapsulated (translated there), native mode neither.
  cli "$i" stats --stages
  stages=$(cli "$i" stats --stages -o json)
  want=(parse arp source load_balancer route deliver)
  [ "$MODE" = native ] || want+=(encap decap)
  for s in "${want[@]}"; do
    [ "$(stage "$s" in)" -gt 0 ] || pl_check_fail "node$i: stats --stages counts no packet into $s: $(jq -c .totals <<<"$stages")"
  done
  [ "$(stage deliver finished)" -gt 0 ] || pl_check_fail "node$i: stats --stages: deliver finished no packet"
  if [ "$MODE" = native ]; then
    [ "$(stage encap in)" = 0 ] && [ "$(stage decap in)" = 0 ] || pl_check_fail "node$i: native mode, yet the tunnel stages saw packets"
  else
    [ "$(stage encap translated)" -gt 0 ] && [ "$(stage decap translated)" -gt 0 ] ||
      pl_check_fail "node$i: stats --stages: encap/decap translated nothing"
  fi
  [ "$(jq '.workers | length' <<<"$stages")" -gt 0 ] || pl_check_fail "node$i: stats --stages -o json lists no worker"
done

# After the drop check, as its failure adds drops: the external host reaches
# the pods over its routes to the PodCIDRs (native mode only).
if [ "$MODE" = native ]; then
  pl_log "native: the external host pings every pod over its routes"
  for i in $(seq $N); do
    before=$(drop_count "$i" unknown_destination)
    pl_ping_ok "${P}ext" "$(pod_ip "$i")" && continue
    after=$(drop_count "$i" unknown_destination)
    why=""
    [ "$after" -gt "$before" ] && why="; node$i dropped $((after - before)) packets as unknown_destination meanwhile\
 (the pod's echo replies to 192.168.50.1, outside the cluster)"
    pl_check_fail "ping from the external host to n${i}p1 $(pod_ip "$i"): $PL_PING_SUMMARY$why"
  done
fi

# A vhost-user pod (a DPDK application, dpdk-testpmd answering ARP and ping
# on net_virtio_user) attached to node2 through podlane-cni exchanges
# traffic with a TAP pod on node2 and with pods on the other nodes.
if [ "$MODE" = vxlan ]; then
  pl_log "vhost-user pod on node2 (dpdk-testpmd icmpecho), pinged from pods on every node"
  VH=${P}n2vh
  pl_netns "$VH"
  out=$("$REPO/scripts/cnitool.py" --cache-dir "$RUN/cni" \
    --cni-path "$(dirname "$PODLANE"):/usr/lib/cni" --runtime-config '{"vhostUser": true}' \
    --args "IgnoreUnknown=1;K8S_POD_NAMESPACE=lab;K8S_POD_NAME=n2vh" \
    add "$RUN/node2.conflist" lab-n2vh "$VH") || pl_fail "CNI ADD of the vhost-user pod: $out"
  vh_ip=$(jq -er '.ips[0].address | split("/")[0]' <<<"$out") || pl_fail "no address in $out"
  vh_mac=$(jq -er '.interfaces[0].mac' <<<"$out")
  vh_sock=$(cli 2 endpoint list -o json | jq -er '.[] | select(.id == "lab/n2vh") | .vhost_socket') ||
    pl_fail "node2 does not list lab/n2vh with its vhost-user socket"
  pl_start_icmpecho "$VH" "$vh_sock" "$vh_mac"
  pl_wait_for "the vhost-user pod to answer n2p1" 30 pl_ping_ok "$(pod_ns 2)" "$vh_ip"
  for i in 1 3; do
    pl_ping_ok "$(pod_ns "$i")" "$vh_ip" ||
      pl_check_fail "n${i}p1 (node$i) -> vhost-user pod $vh_ip on node2: $PL_PING_SUMMARY"
  done
  pl_log "vhost-user pod $vh_ip answers pods on node1, node2 and node3"
  kill "$PL_ICMPECHO_PID"
fi

pl_checks_done

pl_log "PASS ($MODE, ipam $IPAM, $((SECONDS - T0))s)"
