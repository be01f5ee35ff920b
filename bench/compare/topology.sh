# Shared by every arm of bench/compare.sh: the cluster all three datapaths
# serve, and the generator's traffic for each scenario.
#
#   node1 (the datapath under test): IP 192.168.50.11, pod CIDR 10.200.0.0/24,
#         gateway 10.200.0.1; the generator's pod is 10.200.0.2
#   node2 (remote, played by the generator's underlay port): 192.168.50.12,
#         pod CIDR 10.200.1.0/24; VXLAN VNI 1 on UDP 8472 between them
#   service default/bench: ClusterIP 10.96.0.10, ports 80-81 (UDP, for the
#         established scenarios) and 8000-8063 (TCP, for the SYN flood), the
#         same port on 4 backends 10.200.1.11-14 on node2; NodePort 30080/UDP
#         -> backends' 8080, SNAT to node1's IP
#   external clients of the NodePort: 192.168.50.100-199 on the underlay

NODE1_IP=192.168.50.11
NODE2_IP=192.168.50.12
POD_IP=10.200.0.2
POD_MAC=0a:58:0a:c8:00:02
GW_IP=10.200.0.1
GW_MAC=0a:58:0a:c8:00:01
VIP=10.96.0.10
NODEPORT=30080
BACKENDS="10.200.1.11 10.200.1.12 10.200.1.13 10.200.1.14"
GEN_UL_MAC=02:00:00:00:50:12   # the generator's underlay port = node2
SYN_PORTS=8000-8063

# scenario_gen_args SCENARIO: the generator's traffic options (everything but
# ports, MACs and timing). The pod port is the generator's port 0 and the
# underlay its port 1.
scenario_gen_args() {
  case $1 in
    clusterip-1k)   echo "--tx-port 0 --proto udp --flows 1000   --src-ip $POD_IP --dst-ip $VIP --src-port 1024-65535 --dst-port 80-81" ;;
    clusterip-10k)  echo "--tx-port 0 --proto udp --flows 10000  --src-ip $POD_IP --dst-ip $VIP --src-port 1024-65535 --dst-port 80-81" ;;
    clusterip-100k) echo "--tx-port 0 --proto udp --flows 100000 --src-ip $POD_IP --dst-ip $VIP --src-port 1024-65535 --dst-port 80-81" ;;
    newconn-syn)    echo "--tx-port 0 --proto syn --flows 64 --src-ip $POD_IP --dst-ip $VIP --src-port 1024-65535 --dst-port $SYN_PORTS" ;;
    nodeport-snat)  echo "--tx-port 1 --proto udp --flows 10000 --src-ip 192.168.50.100-192.168.50.199 --dst-ip $NODE1_IP --src-port 1024-1123 --dst-port $NODEPORT" ;;
    vxlan-pod)      echo "--tx-port 0 --proto udp --flows 1000 --src-ip $POD_IP --dst-ip 10.200.1.11 --src-port 1024-65535 --dst-port 5001" ;;
    *) echo "unknown scenario $1" >&2; return 1 ;;
  esac
}

# scenario_dst_mac SCENARIO POD_SIDE_MAC UL_SIDE_MAC: where the generator sends.
scenario_dst_mac() {
  case $1 in nodeport-*) echo "$3" ;; *) echo "$2" ;; esac
}

SCENARIOS_ALL="vxlan-pod clusterip-1k clusterip-10k clusterip-100k nodeport-snat newconn-syn"

# memif_server_devargs N SOCKET MAC: the generator's N-th port, serving the
# datapath's memif client on SOCKET (a path, not DPDK's default abstract
# socket: those are per network namespace, and OVS runs in a namespace of
# its own).
memif_server_devargs() {
  echo "net_memif$1,role=server,socket=$2,id=0,socket-abstract=no,mac=$3"
}
