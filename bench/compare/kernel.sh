# The Linux kernel arm of bench/compare.sh: node1 is a network namespace
# doing kube-proxy's iptables DNAT (statistic-mode random over 4 backends,
# one KUBE-SEP chain each), NodePort DNAT + MASQUERADE, and a flannel-style
# vxlan device to node2. The generator runs in a second namespace with two
# af_packet ports on veths into node1: the pod's link and the underlay.
# Nothing is configured in the root namespace beyond creating the namespaces
# and links; neither namespace has a route out of the two.
#
# Forwarding runs in softirq on CPU $DP_CPU (RPS on node1's two links), the
# generator on CPU $GEN_CPU. The af_packet generator throttles itself on
# veths, so the figure per core is packets out / CPU $DP_CPU busy seconds.

K_NODE=plcmp-k-node1
K_GEN=plcmp-k-gen

kernel_down() {
  ip netns del "$K_NODE" 2>/dev/null || true
  ip netns del "$K_GEN" 2>/dev/null || true
}

kernel_up() {
  kernel_down
  ip netns add "$K_NODE"
  ip netns add "$K_GEN"
  ip link add kpod netns "$K_GEN" type veth peer name pod0 netns "$K_NODE"
  ip link add kul netns "$K_GEN" type veth peer name ul0 netns "$K_NODE"
  local n="ip netns exec $K_NODE" g="ip netns exec $K_GEN"
  $g ip link set kpod address "$POD_MAC"
  $g ip link set kul address "$GEN_UL_MAC"
  for i in lo kpod kul; do $g ip link set "$i" up; done
  $n sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  $n ip link set lo up
  $n ip link set pod0 address "$GW_MAC" up
  $n ip link set ul0 up
  $n ip addr add "$GW_IP/24" dev pod0
  $n ip addr add "$NODE1_IP/24" dev ul0
  $n ip neigh replace "$POD_IP" lladdr "$POD_MAC" dev pod0 nud permanent
  $n ip neigh replace "$NODE2_IP" lladdr "$GEN_UL_MAC" dev ul0 nud permanent
  # flannel's layout: vxlan device with the node's pod-CIDR .0, an onlink
  # route per remote pod CIDR, static neighbour + FDB entries.
  $n ip link add vxlan0 type vxlan id 1 local "$NODE1_IP" dev ul0 dstport 8472 nolearning
  $n ip link set vxlan0 address 0a:58:0a:c8:00:00 up
  $n ip addr add 10.200.0.0/32 dev vxlan0
  $n ip route add 10.200.1.0/24 via 10.200.1.0 dev vxlan0 onlink
  $n ip neigh replace 10.200.1.0 lladdr 0a:58:0a:c8:01:00 dev vxlan0 nud permanent
  $n bridge fdb append 0a:58:0a:c8:01:00 dev vxlan0 dst "$NODE2_IP"
  for dev in pod0 ul0; do
    $n sh -c "echo $(printf %x $((1 << DP_CPU))) > /sys/class/net/$dev/queues/rx-0/rps_cpus"
  done
  $g sh -c "echo $(printf %x $((1 << GEN_CPU))) > /sys/class/net/kul/queues/rx-0/rps_cpus"
  # kube-proxy (iptables mode): KUBE-SERVICES -> KUBE-SVC-* -> KUBE-SEP-*.
  $n iptables-restore <<RULES
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-BENCH - [0:0]
:KUBE-SVC-BENCHSYN - [0:0]
:KUBE-SVC-BENCHNP - [0:0]
$(i=0; for b in $BACKENDS; do echo ":KUBE-SEP-$i - [0:0]"; echo ":KUBE-SEP-SYN$i - [0:0]"; echo ":KUBE-SEP-NP$i - [0:0]"; i=$((i+1)); done)
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -j MASQUERADE --random-fully
-A KUBE-SERVICES -d $VIP/32 -p udp -m udp --dport 80:81 -j KUBE-SVC-BENCH
-A KUBE-SERVICES -d $VIP/32 -p tcp -m tcp --dport ${SYN_PORTS/-/:} -j KUBE-SVC-BENCHSYN
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p udp -m udp --dport $NODEPORT -j KUBE-SVC-BENCHNP
-A KUBE-SVC-BENCHNP -j KUBE-MARK-MASQ
$(i=0; n=4; for b in $BACKENDS; do
    left=$((n - i)); prob=$(awk -v l=$left 'BEGIN{printf "%.11f", 1/l}')
    m=""; [ $left -gt 1 ] && m="-m statistic --mode random --probability $prob"
    echo "-A KUBE-SVC-BENCH $m -j KUBE-SEP-$i"
    echo "-A KUBE-SVC-BENCHSYN $m -j KUBE-SEP-SYN$i"
    echo "-A KUBE-SVC-BENCHNP $m -j KUBE-SEP-NP$i"
    echo "-A KUBE-SEP-$i -s $b/32 -j KUBE-MARK-MASQ"
    echo "-A KUBE-SEP-$i -p udp -m udp -j DNAT --to-destination $b"
    echo "-A KUBE-SEP-SYN$i -s $b/32 -j KUBE-MARK-MASQ"
    echo "-A KUBE-SEP-SYN$i -p tcp -m tcp -j DNAT --to-destination $b"
    echo "-A KUBE-SEP-NP$i -p udp -m udp -j DNAT --to-destination $b:8080"
    i=$((i+1)); done)
COMMIT
RULES
}

# kernel_gen_ports: the generator's two ports (pod link, underlay).
kernel_gen_ports() {
  echo "--port net_af_packet0,iface=kpod,qpairs=1 --port net_af_packet1,iface=kul,qpairs=1"
}
kernel_gen_prefix() { echo "ip netns exec $K_GEN"; }
kernel_pod_side_mac() { echo "$GW_MAC"; }
kernel_ul_side_mac() { ip netns exec "$K_NODE" cat /sys/class/net/ul0/address; }
