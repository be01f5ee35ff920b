#!/usr/bin/env bash
# Integration test: a podlane node and a node with no podlane, whose pod sits
# behind the Linux kernel's own VXLAN device (collect-metadata mode, the way
# Cilium drives it), exchange pod traffic in both directions: ping, and an
# HTTP download each way. tshark decodes both directions as VXLAN with the
# expected VNIs (podlane's: the sending pod's identity; the kernel's: the id
# its route sets).
#
# Geneve interop is not tested: this kernel has no geneve device.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
HTTP_SERVER=$(realpath "$(dirname "$0")/http_server.py")

id=$$
FAB=pki-fab-$id PN=pki-pn-$id KN=pki-kn-$id PA=pki-pa-$id KP=pki-kp-$id
PN_IP=192.168.60.11 KN_IP=192.168.60.20
PA_IP=10.230.1.5 KP_IP=10.230.2.5
VX_MAC=02:00:00:00:20:01 KERNEL_VNI=2
SOCK=$PL_TMP/pn.sock

for ns in "$FAB" "$PN" "$KN" "$PA" "$KP"; do
  pl_netns "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.igmp_link_local_mcast_reports=0
done
ip -n "$FAB" link add br0 type bridge mcast_snooping 0   # no IGMP queries onto the uplinks
ip -n "$FAB" link set br0 up
ip link add up0 netns "$PN" type veth peer name fpn netns "$FAB"
ip link add kup netns "$KN" type veth peer name fkn netns "$FAB"
for p in fpn fkn; do ip -n "$FAB" link set "$p" master br0 up; done
ip -n "$PN" link set up0 up

pl_log "kernel node: uplink, VXLAN device in external mode, a pod behind it"
ip -n "$KN" addr add "$KN_IP/24" dev kup
ip -n "$KN" link set kup up
ip netns exec "$KN" ethtool -K kup tx off >/dev/null   # no partial checksums towards an af_packet peer
ip netns exec "$KN" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0
ip -n "$KN" link add vx0 type vxlan external dstport 8472
ip -n "$KN" link set vx0 address "$VX_MAC" mtu 1450 up
ip link add kpv netns "$KP" type veth peer name kgw netns "$KN"
ip -n "$KN" addr add 10.230.2.1/24 dev kgw
ip -n "$KN" link set kgw up
ip -n "$KP" addr add "$KP_IP/24" dev kpv
ip -n "$KP" link set kpv mtu 1450 up
ip -n "$KP" route add default via 10.230.2.1
ip netns exec "$KP" ethtool -K kpv tx off >/dev/null
# The podlane node's PodCIDR: through vx0 to its node IP, VNI 2 (world).
ip -n "$KN" neigh replace 10.230.1.1 lladdr 02:00:00:00:99:01 dev vx0 nud permanent
ip -n "$KN" route add 10.230.1.0/24 encap ip id "$KERNEL_VNI" dst "$PN_IP" via 10.230.1.1 dev vx0 onlink

pl_log "podlane node"
cat > "$PL_TMP/pn.yaml" <<YAML
node: {name: pn, ip: $PN_IP}
dataplane: {worker_lcores: [1], file_prefix: podlane-ki-$id, idle_sleep_us: 100, rx_ring_size: 256, tx_ring_size: 256}
network: {pod_cidr: 10.230.1.0/24, gateway_ip: 10.230.1.1}
api: {socket: $SOCK}
uplinks:
  - {name: eth0, devargs: "net_af_packet0,iface=up0", subnet: 192.168.60.0/24}
routing: {mode: tunnel, tunnel_protocol: vxlan}
nodes:
  - {name: kernel1, ip: $KN_IP, pod_cidrs: [10.230.2.0/24], tunnel_mac: "$VX_MAC"}
neighbor: {refresh_ms: 2000, timeout_ms: 6000}
endpoints:
  - {id: ki/pod-a, ip: $PA_IP, netns: $PA, labels: {app: interop}}
YAML
export PODLANE_SOCKET=$SOCK
pl_start_podlaned "$PN" "$PL_TMP/pn.yaml"
pl_wait_for "the kernel node's MAC" 10 sh -c "'$PODLANE' neighbor list -o json | jq -e '.[] | select(.ip == \"$KN_IP\" and .state == \"reachable\")'"
identity=$("$PODLANE" identity list -o json | jq -er '.[] | select(.labels | index("app=interop")) | .id')
pl_log "pod-a's identity (its VNI): $identity"

pl_log "capture on the fabric while pinging both ways"
ip netns exec "$FAB" tcpdump --immediate-mode -i fpn -nn -w "$PL_TMP/fab.pcap" udp port 8472 > "$PL_TMP/tcpdump.log" 2>&1 &
TCPDUMP=$!
PL_PIDS+=("$TCPDUMP")
pl_wait_for "tcpdump" 10 grep -q "listening on" "$PL_TMP/tcpdump.log"
ip netns exec "$PA" ping -c 3 -i 0.2 -W 2 "$KP_IP"
ip netns exec "$KP" ping -c 3 -i 0.2 -W 2 "$PA_IP"
sleep 0.5
kill -INT "$TCPDUMP"; wait "$TCPDUMP" || true

tshark -r "$PL_TMP/fab.pcap" -d udp.port==8472,vxlan -T fields -E separator=' ' \
  -e vxlan.vni -e ip.src -e ip.dst -e icmp.type 2>/dev/null > "$PL_TMP/decoded.txt"
cat "$PL_TMP/decoded.txt"
# Fields: VNI, then ip.src and ip.dst as "outer,inner", then the ICMP type.
grep -Eq "^$identity $PN_IP,$PA_IP $KN_IP,$KP_IP 8$" "$PL_TMP/decoded.txt" \
  || pl_fail "no VXLAN echo request from podlane with VNI $identity and inner $PA_IP -> $KP_IP"
grep -Eq "^$KERNEL_VNI $KN_IP,$KP_IP $PN_IP,$PA_IP 8$" "$PL_TMP/decoded.txt" \
  || pl_fail "no VXLAN echo request from the kernel with VNI $KERNEL_VNI and inner $KP_IP -> $PA_IP"
malformed=$(tshark -r "$PL_TMP/fab.pcap" -d udp.port==8472,vxlan -Y _ws.malformed 2>/dev/null | wc -l)
[ "$malformed" = 0 ] || pl_fail "$malformed malformed packets on the fabric"

pl_log "TCP both ways: HTTP downloads, byte for byte"
mkdir -p "$PL_TMP/www"
head -c 300000 /dev/urandom > "$PL_TMP/www/blob"
for dir in "$PA $PA_IP $KP" "$KP $KP_IP $PA"; do
  set -- $dir
  server_ns=$1 server_ip=$2 client_ns=$3
  ip netns exec "$server_ns" /usr/bin/python3 "$HTTP_SERVER" "$server_ip" 8080 "$PL_TMP/www" > "$PL_TMP/http-$server_ns.log" 2>&1 &
  PL_PIDS+=("$!")
  pl_wait_for "HTTP server in $server_ns" 10 ip netns exec "$client_ns" curl -sf -o /dev/null "http://$server_ip:8080/"
  ip netns exec "$client_ns" curl -sf --max-time 20 -o "$PL_TMP/got" "http://$server_ip:8080/blob"
  cmp "$PL_TMP/www/blob" "$PL_TMP/got" || pl_fail "download from $server_ip differs"
  pl_log "download from $server_ip ok"
done

stats=$("$PODLANE" stats -o json)
"$PODLANE" stats
for reason in bad_tunnel malformed bad_ip_checksum unknown_destination invalid_source; do
  n=$(pl_json ".totals.drops.$reason" <<<"$stats")
  [ "$n" = 0 ] || pl_fail "$n packets dropped as $reason"
done
[ "$(pl_json '.totals.decapsulated' <<<"$stats")" -gt 10 ] || pl_fail "podlane decapsulated too little from the kernel"
pl_log "PASS"
