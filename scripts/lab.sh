#!/usr/bin/env bash
# A multi-node podlane cluster in network namespaces, for humans and for
# tests/integration/cluster.sh and services.sh:
#
#   scripts/lab.sh up [--nodes N] [--mode vxlan|geneve|native] [--prefix P] [--pods K]
#                     [--ipam kubernetes|cluster-pool] [--services FILE]
#                     [--ext-routes "CIDR ..."] [--host-port NODE:POD:HOSTPORT:CONTAINERPORT]...
#                     [--etcd] [--bgp] [--clusters 2] [--pod-labels NODE:POD:NAMESPACE:k=v[,k=v]...]...
#   scripts/lab.sh status [--prefix P]
#   scripts/lab.sh down [--prefix P]
#
# Topology (P = prefix, default "pl-"; i = 1..N; k = 1..K):
#
#   ${P}fab      the fabric: bridge br0, one port per node ("node<i>") and one
#                for the external host ("ext")
#   ${P}ext      an external host/router, eth0 = 192.168.50.1/24 on the fabric;
#                in native mode it has a route to every node's PodCIDR via
#                that node's IP (as if it had learnt them), in tunnel modes none;
#                with --ext-routes a route to each CIDR given via node 1's IP
#                (for LoadBalancer IPs and ExternalIPs)
#   ${P}node<i>  node i: uplink veth eth0 on the fabric, podlaned with node IP
#                192.168.50.(10+i) and PodCIDR 10.210.<i>.0/24 (gateway .1)
#   ${P}n<i>p<k> pod k of node i, 10.210.<i>.(10+k), labels {app: web, node: node<i>},
#                attached as a container runtime does it: scripts/cnitool.py
#                runs configs/05-podlane.conflist (podlane-cni, then tuning)
#                against the node's podlaned (container lab-n<i>p<k>, pod
#                lab/n<i>p<k>, CNI_ARGS IP= asks for the lab address)
#
# --etcd: the cluster runs from etcd: one etcd member in ${P}etcd on the
# fabric (192.168.50.2); node configs have `source: {kind: etcd}` and no
# `nodes:` or `services:` (nodes register themselves and learn each other
# from etcd; --services FILE is written into etcd with podlane kvstore apply,
# and its node-local sections are left out).
# --bgp: the external host is a BGP router: FRR's bgpd and zebra (Debian's
# frr) run in ${P}ext with AS 65000 and peer with every node (AS 65001);
# each podlaned runs BIRD (bgp: in its config, docs/bgp.md) and announces its
# PodCIDR and the services' LoadBalancer IPs, and zebra installs what bgpd
# learns (ECMP over the nodes) into ${P}ext's kernel. No static route to a pod
# or LB IP is installed then. FRR's config, pid files, vty sockets and log are
# in /run/podlane-frr/lab-${P}/ (owned by FRR's user, deleted by down); ask it
# with: ip netns exec ${P}ext vtysh --vty_socket /run/podlane-frr/lab-${P} -c 'show ip bgp'
# --clusters 2: a Cluster Mesh (docs/clustermesh.md): the nodes split into
# two clusters, west (id 1, nodes 1..N/2, PodCIDRs 10.210.<i>.0/24) and east
# (id 2, the rest, PodCIDRs 10.211.<i>.0/24), on the one fabric; each
# cluster's nodes list only each other, and each cluster has its own etcd
# (${P}etcd-west at 192.168.50.2, ${P}etcd-east at 192.168.50.3) that its
# nodes export to in Cilium's kvstore format and the other cluster's nodes
# read. --nodes defaults to 4; native mode routes 10.210.0.0/15.
# --bgp with --etcd: the BGP settings are Cilium's objects in etcd
# (CiliumBGPClusterConfig selecting nodes labelled enable-bgp=true,
# CiliumBGPPeerConfig cilium-peer, CiliumBGPAdvertisement bgp-advertisements,
# under /podlane/cilium.io/v2/, docs/bgp.md), as in the seed lab; node configs
# carry node.labels and only bgp.run_dir.
# --services FILE: a YAML fragment of top-level keys (loadbalancer:,
# conntrack:, masquerade:, services:; not endpoints:) appended verbatim to
# every node's config, the same file on all nodes as in a cluster.
# --host-port NODE:POD:HOSTPORT:CONTAINERPORT (repeatable): pod POD of node
# NODE gets that TCP hostPort (node IP:HOSTPORT goes to its CONTAINERPORT).
# --pod-labels NODE:POD:NAMESPACE:k=v,... (repeatable): pod POD of node NODE
# is created in NAMESPACE (K8S_POD_NAMESPACE; default "lab") with these labels
# added to app=web and node=node<i> (for network policy, docs/policy.md).
#
# With --ipam cluster-pool the configs give no PodCIDRs: every podlaned
# allocates one /24 per node from the pool 10.210.0.0/16 (deterministically,
# from the node names), the lab reads node i's block B from
# `podlaned --check-config` and pod k gets B + 10 + k (gateway B + 1).
#
# Everything lives in namespaces the lab creates: nothing is configured in the
# root namespace and no route leads out of the lab. Configs, logs, pid files
# and API sockets are in /run/podlane/lab-${P}/ (deleted by down).
# PODLANED and PODLANE (environment) choose the binaries; default build/.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PODLANED=${PODLANED:-$REPO/build/podlaned}
PODLANE=${PODLANE:-$REPO/build/podlane}
PODLANE_CNI=${PODLANE_CNI:-$(dirname "$PODLANE")/podlane-cni}
API_TIMEOUT=${LAB_API_TIMEOUT:-30}          # seconds for every node's API to answer
NEIGHBOR_TIMEOUT=${LAB_NEIGHBOR_TIMEOUT:-30} # seconds for every node to resolve its peers

FABRIC_NET=192.168.50
EXT_IP=$FABRIC_NET.1
ETCD_IP=$FABRIC_NET.2   # --etcd: the etcd member on the fabric
ROUTER_ASN=65000   # --bgp: the router in ${P}ext
NODE_ASN=65001     # --bgp: every node
MAX_NODES=16   # memory and CPU: each node is a DPDK process with its own worker
MAX_PODS=30    # Debian's DPDK has RTE_MAX_ETHPORTS=32: pods + the uplink

die() { echo "lab: error: $*" >&2; exit 1; }
say() { echo "lab: $*"; }

usage() {
  cat <<EOT
usage: scripts/lab.sh up [--nodes N] [--mode vxlan|geneve|native] [--prefix P] [--pods K]
                        [--ipam kubernetes|cluster-pool] [--services FILE]
                        [--ext-routes "CIDR ..."] [--host-port NODE:POD:HOSTPORT:CONTAINERPORT]...
                        [--etcd] [--bgp] [--clusters 2]
       scripts/lab.sh status [--prefix P]
       scripts/lab.sh down [--prefix P]

  up      create the namespaces, start one podlaned per node, wait until every
          API answers and every node has resolved all its peers
          (defaults: --nodes 3 --mode vxlan --prefix pl- --pods 1 --ipam kubernetes);
          --ipam cluster-pool: podlaned allocates each node's PodCIDR (a /24)
          from $POOL_CIDR, the lab reads it with podlaned --check-config;
          --services FILE: YAML of top-level keys (loadbalancer:, conntrack:,
          masquerade:, services:, but not endpoints:) appended verbatim to every
          node's config; --ext-routes "CIDR ...": routes on the external host
          via node 1's IP (LoadBalancer IPs, ExternalIPs);
          --host-port NODE:POD:HOSTPORT:CONTAINERPORT (repeatable): a TCP
          hostPort for pod POD of node NODE;
          --etcd: nodes and services come from an etcd in ${PREFIX}etcd
          (192.168.50.2:2379), not from the node configs;
          --bgp: ${PREFIX}ext is a BGP router (FRR, AS 65000) peered with every
          node (AS 65001, BIRD in podlaned); it learns the PodCIDRs and
          LoadBalancer IPs instead of getting static routes (with --etcd: from
          Cilium's BGP objects in etcd);
          --clusters 2: two clusters (west, east) of N/2 nodes, each with its
          own etcd (${PREFIX}etcd-west, ${PREFIX}etcd-east), meshed
  status  the lab's namespaces, each node's podlaned, status and neighbours
  down    stop every podlaned (SIGTERM) and delete the lab's namespaces

Environment: PODLANED, PODLANE (binaries, default build/), LAB_API_TIMEOUT,
LAB_NEIGHBOR_TIMEOUT (seconds, default 30).
EOT
}

node_ip() { echo "$FABRIC_NET.$((10 + $1))"; }
# Node i's PodCIDR, gateway and pod k's IP: with kubernetes IPAM 10.210.<i>.0/24
# (the lab chooses it), with cluster-pool the block podlaned allocated (read by
# read_block into POD_CIDR[i]).
declare -A POD_CIDR=()
pod_cidr() {
  if [ "$IPAM" != kubernetes ]; then echo "${POD_CIDR[$1]}"
  elif [ "$(cluster_of "$1")" = 2 ]; then echo "10.211.$1.0/24"
  else echo "10.210.$1.0/24"; fi
}
# --clusters: node I's cluster (1..CLUSTERS), a cluster's name and its etcd's address.
cluster_of() { echo $(( ($1 - 1) / (NODES / CLUSTERS) + 1 )); }
cluster_name() { case $1 in 1) echo west ;; 2) echo east ;; *) echo "cluster$1" ;; esac; }
cluster_etcd_ip() { echo "$FABRIC_NET.$((1 + $1))"; }
# ip_add A.B.C.D N: the address N after A.B.C.D.
ip_add() {
  local a b c d v
  IFS=. read -r a b c d <<<"$1"
  v=$(( (a << 24 | b << 16 | c << 8 | d) + $2 ))
  echo "$((v >> 24 & 255)).$((v >> 16 & 255)).$((v >> 8 & 255)).$((v & 255))"
}
gateway_ip() { local c; c=$(pod_cidr "$1"); ip_add "${c%/*}" 1; }
pod_ip() { local c; c=$(pod_cidr "$1"); ip_add "${c%/*}" $((10 + $2)); }
POOL_CIDR=10.210.0.0/16
POOL_MASK=24

# The lab's namespaces that exist now, found by name: ${P}fab, ${P}ext,
# ${P}node<i>, ${P}n<i>p<k>.
lab_namespaces() {
  local re
  re="^${PREFIX//./\\.}(fab|ext|etcd|etcd-[a-z0-9]+|node[0-9]+|n[0-9]+p[0-9]+)\$"
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "$re" || true
}

# True if PID is a podlaned that we started (its binary is a podlaned).
is_podlaned() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ $(basename "$exe") == podlaned* ]]
}

cmd_down() {
  local pids=() pidfile pid
  if [ -d "$RUN_DIR" ]; then
    for pidfile in "$RUN_DIR"/node*.pid; do
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      if is_podlaned "$pid"; then
        say "stopping podlaned of $(basename "$pidfile" .pid) (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
      fi
    done
    frr_down
    for pidfile in "$RUN_DIR"/etcd*.pid; do
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */etcd ]] && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    done
    for pid in "${pids[@]}"; do
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        say "podlaned (pid $pid) did not stop within 10s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  fi
  local ns n=0
  for ns in $(lab_namespaces); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    n=$((n + 1))
  done
  rm -rf "$RUN_DIR"
  frr_down # (again: a lab whose run dir was gone already)
  # DPDK leaves its runtime directory (a few MB in /run) behind.
  local d
  for d in /var/run/dpdk/"${PREFIX}"node*; do
    [[ ${d##*/} =~ ^${PREFIX//./\\.}node[0-9]+$ ]] && rm -rf "$d"
  done
  say "lab ${PREFIX} is down ($n namespaces deleted)"
}

# Creates a namespace with lo up, IPv6 off and no IGMP reports for link-local
# groups: no IPv6 or multicast noise reaches the uplinks.
make_ns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.igmp_link_local_mcast_reports=0
}

# write_config I: node I's config. It has no endpoints: the pods are attached
# through podlane-cni once podlaned runs (add_pods).
write_config() {
  local i=$1 j routing c
  c=$(cluster_of "$i")
  case $MODE in
    vxlan)  routing="{mode: tunnel, tunnel_protocol: vxlan}" ;;
    geneve) routing="{mode: tunnel, tunnel_protocol: geneve}" ;;
    native) routing="{mode: native, native_routing_cidr: 10.210.0.0/$([ "$CLUSTERS" = 1 ] && echo 16 || echo 15)}" ;;
  esac
  {
    echo "# scripts/lab.sh: node$i of lab ${PREFIX} ($MODE, $NODES nodes, ipam $IPAM)"
    if [ "$BGP" = 1 ] && [ "$ETCD" = 1 ]; then
      echo "node: {name: node$i, ip: $(node_ip "$i"), labels: {enable-bgp: \"true\"}}"
    else
      echo "node: {name: node$i, ip: $(node_ip "$i")}"
    fi
    echo "dataplane: {worker_lcores: [1], idle_sleep_us: 100, file_prefix: ${PREFIX}node$i, rx_ring_size: 256, tx_ring_size: 256}"
    if [ "$IPAM" = kubernetes ]; then
      echo "network: {pod_cidr: $(pod_cidr "$i"), gateway_ip: $(gateway_ip "$i")}"
      echo "ipam: {state_dir: $RUN_DIR/ipam-node$i}"
    else
      echo "ipam: {mode: cluster-pool, cluster_pool_cidr: $POOL_CIDR, mask_size: $POOL_MASK, state_dir: $RUN_DIR/ipam-node$i}"
    fi
    echo "api: {socket: $RUN_DIR/node$i.sock}"
    echo "uplinks:"
    echo "  - {name: eth0, devargs: \"net_af_packet0,iface=eth0\"}"
    echo "routing: $routing"
    echo "neighbor: {refresh_ms: 2000, timeout_ms: 6000}"
    if [ "$ETCD" = 1 ]; then
      # Other nodes and the services come from etcd, not from this file.
      echo "source: {kind: etcd, etcd: {endpoints: [http://$ETCD_IP:2379], lease_ttl_s: 5}}"
    elif [ "$NODES" -gt "$CLUSTERS" ]; then
      echo "nodes:"
      for j in $(seq "$NODES"); do
        [ "$j" = "$i" ] && continue
        [ "$(cluster_of "$j")" = "$c" ] || continue # another cluster's: learnt through the mesh
        if [ "$IPAM" = kubernetes ]; then
          echo "  - {name: node$j, ip: $(node_ip "$j"), pod_cidrs: [$(pod_cidr "$j")]}"
        else
          echo "  - {name: node$j, ip: $(node_ip "$j")}"
        fi
      done
    fi
    if [ "$CLUSTERS" -gt 1 ]; then
      echo "cluster: {name: $(cluster_name "$c"), id: $c}"
      echo "clustermesh:"
      echo "  export: {endpoints: [http://$(cluster_etcd_ip "$c"):2379], lease_ttl_s: 5}"
      echo "  clusters:"
      for j in $(seq "$CLUSTERS"); do
        [ "$j" = "$c" ] || echo "    - {name: $(cluster_name "$j"), endpoints: [http://$(cluster_etcd_ip "$j"):2379]}"
      done
    fi
    if [ "$BGP" = 1 ] && [ "$ETCD" = 1 ]; then
      echo "bgp: {run_dir: $RUN_DIR/bgp-node$i}   # instances: Cilium's objects in etcd"
    elif [ "$BGP" = 1 ]; then
      # Timers and graceful restart as issue 17 asks: hold 9 s, keepalive 3 s, restart time 15 s.
      echo "bgp:"
      echo "  run_dir: $RUN_DIR/bgp-node$i"
      echo "  instances:"
      echo "    - name: tor"
      echo "      local_asn: $NODE_ASN"
      echo "      peers:"
      echo "        - {name: router, address: $EXT_IP, peer_asn: $ROUTER_ASN, hold_time_s: 9, keepalive_time_s: 3,"
      echo "           graceful_restart: {enabled: true, restart_time_s: 15}}"
      echo "      advertise: {pod_cidr: true, load_balancer_ips: true, external_ips: true}"
    fi
    if [ -n "$SERVICES" ] && [ "$ETCD" = 0 ]; then
      echo "# --services $SERVICES (the same on every node)"
      sed -e '$a\' "$RUN_DIR/services.yaml"   # (a missing last newline added)
    fi
  } > "$RUN_DIR/node$i.yaml"
}

# put_cilium_bgp: the seed lab's BGP objects (cilium.io/v2) into etcd, from
# ${P}ext: every node labelled enable-bgp=true peers with the router; timers
# 9/3 s and graceful restart 15 s; PodCIDR and every service's LoadBalancer
# and External IPs advertised (Cilium's select-all idiom: NotIn a value no
# service has).
put_cilium_bgp() {
  local put="ip netns exec ${PREFIX}ext etcdctl --endpoints http://$ETCD_IP:2379 put"
  local base=/podlane/cilium.io/v2
  $put $base/ciliumbgpclusterconfigs/cilium-bgp "{\"apiVersion\":\"cilium.io/v2\",\"kind\":\"CiliumBGPClusterConfig\",
    \"metadata\":{\"name\":\"cilium-bgp\"},\"spec\":{\"nodeSelector\":{\"matchLabels\":{\"enable-bgp\":\"true\"}},
    \"bgpInstances\":[{\"name\":\"tor\",\"localASN\":$NODE_ASN,\"peers\":[{\"name\":\"router\",\"peerASN\":$ROUTER_ASN,
    \"peerAddress\":\"$EXT_IP\",\"peerConfigRef\":{\"name\":\"cilium-peer\"}}]}]}}" >/dev/null || die "etcdctl put failed"
  $put $base/ciliumbgppeerconfigs/cilium-peer "{\"apiVersion\":\"cilium.io/v2\",\"kind\":\"CiliumBGPPeerConfig\",
    \"metadata\":{\"name\":\"cilium-peer\"},\"spec\":{\"timers\":{\"holdTimeSeconds\":9,\"keepAliveTimeSeconds\":3},
    \"gracefulRestart\":{\"enabled\":true,\"restartTimeSeconds\":15},
    \"families\":[{\"afi\":\"ipv4\",\"safi\":\"unicast\",\"advertisements\":{\"matchLabels\":{\"advertise\":\"bgp\"}}}]}}" \
    >/dev/null || die "etcdctl put failed"
  $put $base/ciliumbgpadvertisements/bgp-advertisements "{\"apiVersion\":\"cilium.io/v2\",\"kind\":\"CiliumBGPAdvertisement\",
    \"metadata\":{\"name\":\"bgp-advertisements\",\"labels\":{\"advertise\":\"bgp\"}},\"spec\":{\"advertisements\":[
    {\"advertisementType\":\"PodCIDR\"},
    {\"advertisementType\":\"Service\",\"service\":{\"addresses\":[\"LoadBalancerIP\",\"ExternalIP\"]},
     \"selector\":{\"matchExpressions\":[{\"key\":\"somekey\",\"operator\":\"NotIn\",\"values\":[\"never-used-value\"]}]}}]}}" \
    >/dev/null || die "etcdctl put failed"
  say "Cilium's BGP objects are in etcd under $base/"
}

# start_etcd [NAME IP]: one etcd member in ${P}etcd (${P}etcd-NAME) on the
# fabric at $ETCD_IP (IP), data in $RUN_DIR/etcd (etcd-NAME), pid in
# etcd(-NAME).pid; returns once it answers /health.
start_etcd() {
  local suffix=${1:+-$1} ip=${2:-$ETCD_IP}
  local ns=${PREFIX}etcd$suffix ETCD_IP=$ip
  make_ns "$ns"
  ip link add eth0 netns "$ns" type veth peer name "etcd$suffix" netns "${PREFIX}fab"
  ip -n "${PREFIX}fab" link set "etcd$suffix" master br0 up
  ip -n "$ns" addr add "$ETCD_IP/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null
  ip netns exec "$ns" setsid etcd --name lab --data-dir "$RUN_DIR/etcd$suffix" \
    --listen-client-urls "http://$ETCD_IP:2379" --advertise-client-urls "http://$ETCD_IP:2379" \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster lab=http://127.0.0.1:2380 > "$RUN_DIR/etcd$suffix.log" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/etcd$suffix.pid"
  local _
  for _ in $(seq 100); do
    ip netns exec "$ns" curl -sf --max-time 1 "http://$ETCD_IP:2379/health" >/dev/null 2>&1 && {
      say "etcd is up in $ns at http://$ETCD_IP:2379"
      return 0
    }
    sleep 0.1
  done
  log_tail "$RUN_DIR/etcd$suffix.log"
  die "etcd did not answer within 10s"
}

# frr_down: stops the lab's bgpd and zebra (pid files in FRR_DIR, each
# checked to be that daemon) and deletes FRR_DIR and the crash-log
# directories FRR leaves in /var/tmp/frr.
frr_down() {
  [ -d "$FRR_DIR" ] || return 0
  local d pid pids=()
  for d in bgpd zebra; do
    [ -f "$FRR_DIR/$d.pid" ] || continue
    pid=$(cat "$FRR_DIR/$d.pid")
    if [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */frr/$d ]]; then
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do rm -rf "/var/tmp/frr/bgpd.$pid" "/var/tmp/frr/zebra.$pid"; done
  rm -rf "$FRR_DIR"
  rmdir "$(dirname "$FRR_DIR")" 2>/dev/null || true # the last lab's
}

# start_frr: the BGP router in ${P}ext: zebra (installs learnt routes into
# the namespace's kernel) and bgpd (AS $ROUTER_ASN, one neighbour per node,
# graceful restart helper, ECMP over eBGP paths), each with its own config,
# pid file and vty socket in FRR_DIR: the machine's /etc/frr and its frr
# service are never used. They run as FRR's user, which owns FRR_DIR.
start_frr() {
  local ns=${PREFIX}ext i
  command -v vtysh >/dev/null && [ -x /usr/lib/frr/bgpd ] || die "--bgp: FRR is missing (scripts/install-deps.sh installs frr)"
  # Its parent must let FRR's user through whatever the umask.
  mkdir -p -m 0755 "$(dirname "$FRR_DIR")"
  mkdir -p "$FRR_DIR"
  {
    echo "! scripts/lab.sh --bgp: the router of lab ${PREFIX}"
    echo "hostname ${PREFIX}router"
    echo "log file $FRR_DIR/frr.log"
    echo "!"
    echo "router bgp $ROUTER_ASN"
    echo " bgp router-id $EXT_IP"
    echo " no bgp ebgp-requires-policy"
    echo " bgp graceful-restart"
    echo " bgp bestpath as-path multipath-relax"
    for i in $(seq "$NODES"); do
      echo " neighbor $(node_ip "$i") remote-as $NODE_ASN"
      echo " neighbor $(node_ip "$i") description node$i"
    done
    echo " address-family ipv4 unicast"
    echo "  maximum-paths $MAX_NODES"
    echo " exit-address-family"
    echo "!"
  } > "$FRR_DIR/bgpd.conf"
  echo "hostname ${PREFIX}router" > "$FRR_DIR/zebra.conf"
  chown -R frr:frr "$FRR_DIR"
  chmod 750 "$FRR_DIR"
  local common=(--vty_socket "$FRR_DIR" -P 0 -d)
  ip netns exec "$ns" /usr/lib/frr/zebra -f "$FRR_DIR/zebra.conf" -i "$FRR_DIR/zebra.pid" -z "$FRR_DIR/zserv.api" \
    "${common[@]}" >> "$RUN_DIR/frr-start.log" 2>&1 || die "zebra did not start: $(cat "$RUN_DIR/frr-start.log")"
  ip netns exec "$ns" /usr/lib/frr/bgpd -f "$FRR_DIR/bgpd.conf" -i "$FRR_DIR/bgpd.pid" -z "$FRR_DIR/zserv.api" \
    "${common[@]}" >> "$RUN_DIR/frr-start.log" 2>&1 || die "bgpd did not start: $(cat "$RUN_DIR/frr-start.log")"
  say "FRR (bgpd AS $ROUTER_ASN, zebra) is up in $ns; vtysh: ip netns exec $ns vtysh --vty_socket $FRR_DIR"
}

# check_config I: podlaned --check-config on node I's file; its output is left
# in CHECK_OUT.
check_config() {
  CHECK_OUT=$("$PODLANED" --check-config "$RUN_DIR/node$1.yaml" 2>&1) ||
    die "podlaned refuses $RUN_DIR/node$1.yaml: $CHECK_OUT"
}

# read_block I: node I's PodCIDR as podlaned derives it from the file
# ("FILE: valid (node nodeI, pod CIDR A.B.C.D/M, gateway ...)"), into POD_CIDR[I].
read_block() {
  local i=$1 cidr
  check_config "$i"
  cidr=$(sed -nE 's/.*[(, ]pod CIDR ([0-9.]+\/[0-9]+).*/\1/p' <<<"$CHECK_OUT")
  [[ $cidr =~ ^[0-9.]+/$POOL_MASK$ ]] ||
    die "no /$POOL_MASK pod CIDR of node$i in podlaned --check-config's output: $CHECK_OUT"
  POD_CIDR[$i]=$cidr
}

# write_conflist I: node I's CNI network, configs/05-podlane.conflist (the
# one a node installs) pointed at node I's API socket, with the pods' labels.
write_conflist() {
  local i=$1
  jq --arg sock "$RUN_DIR/node$i.sock" --arg vhost "$RUN_DIR/vhost-node$i" --arg node "node$i" \
    '.plugins[0] += {socket: $sock, vhostSocketDir: $vhost,
                     args: {cni: {labels: [{key: "app", value: "web"}, {key: "node", value: $node}]}}}' \
    "$REPO/configs/05-podlane.conflist" > "$RUN_DIR/node$i.conflist"
}

# add_pod I K: attaches pod K of node I as a container runtime does: ADD
# through scripts/cnitool.py, which runs podlane-cni (and the conflist's
# chained plugins) with the CNI_* environment kubelet would give. The pod
# asks for its lab address (CNI_ARGS IP=) and gets its --host-port mappings.
add_pod() {
  local i=$1 k=$2 out conflist=$RUN_DIR/node$i.conflist
  if [ -n "${POD_LABELS[$i:$k]:-}" ]; then # --pod-labels: a conflist of its own with them added
    conflist=$RUN_DIR/n${i}p$k.conflist
    jq --arg l "${POD_LABELS[$i:$k]}" \
      '.plugins[0].args.cni.labels += ($l | split(",") | map(split("=") | {key: .[0], value: (.[1:] | join("="))}))' \
      "$RUN_DIR/node$i.conflist" > "$conflist"
  fi
  if ! out=$("$REPO/scripts/cnitool.py" --cache-dir "$RUN_DIR/cni" --cni-path "$(dirname "$PODLANE_CNI"):/usr/lib/cni" \
      --args "IgnoreUnknown=1;K8S_POD_NAMESPACE=${POD_NS[$i:$k]:-lab};K8S_POD_NAME=n${i}p$k;IP=$(pod_ip "$i" "$k")" \
      --runtime-config "{\"portMappings\": [${HOST_PORTS[$i:$k]:-}]}" \
      add "$conflist" "lab-n${i}p$k" "${PREFIX}n${i}p$k" 2>&1); then
    log_tail "$RUN_DIR/node$i.log"
    die "CNI ADD of pod n${i}p$k failed: $out"
  fi
}

# add_pods: every node's pods, the nodes in parallel.
add_pods() {
  local i k pids=() rc=0
  for i in $(seq "$NODES"); do
    (for k in $(seq "$PODS"); do add_pod "$i" "$k"; done) &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  [ $rc = 0 ] || die "attaching the pods failed (run: scripts/lab.sh down --prefix ${PREFIX})"
  say "attached $((NODES * PODS)) pod(s) through podlane-cni"
}

log_tail() {
  echo "---- $1 (last 30 lines) ----" >&2
  tail -n 30 "$1" >&2 || true
}

# Fails with the node's log tail if its podlaned has exited.
check_alive() {
  local i=$1
  if ! kill -0 "$(cat "$RUN_DIR/node$i.pid")" 2>/dev/null; then
    log_tail "$RUN_DIR/node$i.log"
    die "podlaned of node$i exited (log: $RUN_DIR/node$i.log)"
  fi
}

# node I: true when its neighbour list has every peer reachable with a MAC
# (with --clusters, every node of both clusters: the mesh brings the others).
peers_reachable() {
  local i=$1 want=$((NODES - 1))
  local peers j
  peers=$(for j in $(seq "$NODES"); do [ "$j" = "$i" ] || node_ip "$j"; done | jq -R . | jq -sc .)
  "$PODLANE" --socket "$RUN_DIR/node$i.sock" neighbor list -o json 2>/dev/null |
    jq -e --argjson want "$want" --argjson peers "$peers" \
      '[.[] | select(.state == "reachable" and .mac != "" and (.ip as $ip | $peers | index($ip)))] | length == $want' >/dev/null
}

cmd_up() {
  command -v jq >/dev/null || die "jq is missing (scripts/install-deps.sh installs it)"
  command -v ethtool >/dev/null || die "ethtool is missing (scripts/install-deps.sh installs it)"
  [ -x "$PODLANED" ] || die "no podlaned at $PODLANED (build with scripts/build.sh, or set PODLANED)"
  [ -x "$PODLANE" ] || die "no podlane CLI at $PODLANE (build with scripts/build.sh, or set PODLANE)"
  [ -x "$PODLANE_CNI" ] || die "no podlane-cni at $PODLANE_CNI (build with scripts/build.sh, or set PODLANE_CNI)"
  [[ $NODES =~ ^[0-9]+$ ]] && [ "$NODES" -ge 1 ] && [ "$NODES" -le $MAX_NODES ] ||
    die "--nodes $NODES: expected 1..$MAX_NODES"
  [[ $PODS =~ ^[0-9]+$ ]] && [ "$PODS" -ge 1 ] && [ "$PODS" -le $MAX_PODS ] ||
    die "--pods $PODS: expected 1..$MAX_PODS"
  case $MODE in vxlan|geneve|native) ;; *) die "--mode $MODE: expected vxlan, geneve or native" ;; esac
  case $IPAM in kubernetes|cluster-pool) ;; *) die "--ipam $IPAM: expected kubernetes or cluster-pool" ;; esac
  [ "$ETCD" = 0 ] || [ "$IPAM" = kubernetes ] ||
    die "--etcd works with --ipam kubernetes (a node reaches etcd through its host path, which is up only after start)"
  [ "$ETCD" = 0 ] || command -v etcd >/dev/null || die "etcd is missing (scripts/install-deps.sh installs it)"
  [ "$BGP" = 0 ] || [ -z "$EXT_ROUTES" ] || die "--bgp and --ext-routes: with --bgp the router learns its routes"
  [ "$BGP" = 0 ] || command -v bird >/dev/null || die "--bgp: BIRD is missing (scripts/install-deps.sh installs bird2)"
  if [ "$CLUSTERS" != 1 ]; then
    [ "$CLUSTERS" = 2 ] || die "--clusters $CLUSTERS: expected 1 or 2"
    [ $((NODES % 2)) = 0 ] || die "--clusters 2 needs an even --nodes (each cluster gets half)"
    [ "$ETCD" = 0 ] && [ "$BGP" = 0 ] && [ "$IPAM" = kubernetes ] ||
      die "--clusters 2 works with the file source, without --bgp, with --ipam kubernetes"
    command -v etcd >/dev/null || die "etcd is missing (scripts/install-deps.sh installs it)"
  fi
  if [ -n "$SERVICES" ]; then
    [ -f "$SERVICES" ] && [ -r "$SERVICES" ] || die "--services $SERVICES: no such readable file"
    ! grep -qE '^endpoints[[:space:]]*:' "$SERVICES" ||
      die "--services $SERVICES: has a top-level endpoints: key (the lab writes each node's endpoints)"
  fi
  local cidr
  for cidr in $EXT_ROUTES; do
    [[ $cidr =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$ ]] || die "--ext-routes: \"$cidr\" is not an IPv4 CIDR"
  done
  local spec n p h c
  for spec in "${HOST_PORT_SPECS[@]}"; do
    IFS=: read -r n p h c <<<"$spec"
    [[ $spec =~ ^[0-9]+:[0-9]+:[0-9]+:[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$NODES" ] &&
      [ "$p" -ge 1 ] && [ "$p" -le "$PODS" ] && [ "$h" -ge 1 ] && [ "$h" -le 65535 ] &&
      [ "$c" -ge 1 ] && [ "$c" -le 65535 ] ||
      die "--host-port $spec: expected NODE:POD:HOSTPORT:CONTAINERPORT with NODE 1..$NODES, POD 1..$PODS, ports 1..65535"
    HOST_PORTS[$n:$p]+="${HOST_PORTS[$n:$p]:+, }{\"hostPort\": $h, \"containerPort\": $c, \"protocol\": \"tcp\"}"
  done

  local ns labels
  for spec in "${POD_LABEL_SPECS[@]}"; do
    IFS=: read -r n p ns labels <<<"$spec"
    [[ $spec =~ ^[0-9]+:[0-9]+:[a-z0-9-]+:[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*(,[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*)*$ ]] &&
      [ "$n" -ge 1 ] && [ "$n" -le "$NODES" ] && [ "$p" -ge 1 ] && [ "$p" -le "$PODS" ] ||
      die "--pod-labels $spec: expected NODE:POD:NAMESPACE:k=v[,k=v]... with NODE 1..$NODES, POD 1..$PODS"
    POD_NS[$n:$p]=$ns
    POD_LABELS[$n:$p]=$labels
  done

  if [ -d "$RUN_DIR" ] || [ -n "$(lab_namespaces)" ]; then
    say "lab ${PREFIX} exists: taking it down first"
    cmd_down
  fi
  mkdir -p "$RUN_DIR"
  chmod 700 "$RUN_DIR"
  printf 'PREFIX=%q\nNODES=%q\nPODS=%q\nMODE=%q\nIPAM=%q\nSERVICES=%q\nEXT_ROUTES=%q\nETCD=%q\nBGP=%q\nCLUSTERS=%q\n' \
    "$PREFIX" "$NODES" "$PODS" "$MODE" "$IPAM" "$SERVICES" "$EXT_ROUTES" "$ETCD" "$BGP" "$CLUSTERS" > "$RUN_DIR/lab.env"
  [ -z "$SERVICES" ] || cp "$SERVICES" "$RUN_DIR/services.yaml"

  local fab=${PREFIX}fab ext=${PREFIX}ext i k node
  say "creating lab ${PREFIX}: $NODES nodes, $PODS pod(s) each, $MODE, ipam $IPAM, run dir $RUN_DIR"
  make_ns "$fab"
  # No multicast snooping: the bridge would join 224.0.0.106 and send IGMP
  # reports to every uplink.
  ip -n "$fab" link add br0 type bridge mcast_snooping 0
  ip -n "$fab" link set br0 up

  make_ns "$ext"
  ip link add eth0 netns "$ext" type veth peer name ext netns "$fab"
  ip -n "$fab" link set ext master br0 up
  ip -n "$ext" addr add "$EXT_IP/24" dev eth0
  ip -n "$ext" link set eth0 up
  # Kernel TCP over a veth leaves partial checksums, which the af_packet
  # uplinks would forward as they are: have the kernel finish them.
  ip netns exec "$ext" ethtool -K eth0 tx off >/dev/null

  if [ "$ETCD" = 1 ]; then
    start_etcd
    [ "$BGP" = 0 ] || put_cilium_bgp
  fi
  if [ "$CLUSTERS" -gt 1 ]; then
    for c in $(seq "$CLUSTERS"); do start_etcd "$(cluster_name "$c")" "$(cluster_etcd_ip "$c")"; done
  fi
  for i in $(seq "$NODES"); do
    node=${PREFIX}node$i
    make_ns "$node"
    ip link add eth0 netns "$node" type veth peer name "node$i" netns "$fab"
    ip -n "$fab" link set "node$i" master br0 up
    ip -n "$node" link set eth0 up
    for k in $(seq "$PODS"); do
      make_ns "${PREFIX}n${i}p$k"
    done
    write_config "$i"
    [ "$IPAM" = kubernetes ] || read_block "$i"
    write_conflist "$i"
    check_config "$i"
    if [ "$MODE" = native ] && [ "$BGP" = 0 ]; then
      ip -n "$ext" route add "$(pod_cidr "$i")" via "$(node_ip "$i")"
    fi
  done
  for cidr in $EXT_ROUTES; do
    ip -n "$ext" route add "$cidr" via "$(node_ip 1)" || die "--ext-routes: cannot add route $cidr via $(node_ip 1) in $ext (run: scripts/lab.sh down --prefix ${PREFIX})"
  done
  [ "$BGP" = 0 ] || start_frr
  [ "$IPAM" = kubernetes ] || say "cluster-pool blocks: $(for i in $(seq "$NODES"); do printf 'node%s %s  ' "$i" "$(pod_cidr "$i")"; done)"

  for i in $(seq "$NODES"); do
    node=${PREFIX}node$i
    # setsid: a terminal's Ctrl-C or hangup does not reach the lab's agents.
    ip netns exec "$node" setsid "$PODLANED" --config "$RUN_DIR/node$i.yaml" \
      > "$RUN_DIR/node$i.log" 2>&1 < /dev/null &
    echo $! > "$RUN_DIR/node$i.pid"
  done
  say "started podlaned in ${PREFIX}node1..${PREFIX}node$NODES; waiting for their APIs"

  local deadline=$((SECONDS + API_TIMEOUT)) pending
  while :; do
    pending=()
    for i in $(seq "$NODES"); do
      check_alive "$i"
      "$PODLANE" --socket "$RUN_DIR/node$i.sock" status >/dev/null 2>&1 || pending+=("node$i")
    done
    [ ${#pending[@]} -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      for node in "${pending[@]}"; do log_tail "$RUN_DIR/$node.log"; done
      die "the API of ${pending[*]} did not answer within ${API_TIMEOUT}s (run: scripts/lab.sh down --prefix ${PREFIX})"
    fi
    sleep 0.2
  done

  add_pods
  say "every API answers; waiting for every node to resolve its $((NODES - 1)) peer(s)"
  deadline=$((SECONDS + NEIGHBOR_TIMEOUT))
  while :; do
    pending=()
    for i in $(seq "$NODES"); do
      check_alive "$i"
      peers_reachable "$i" || pending+=("node$i")
    done
    [ ${#pending[@]} -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      for node in "${pending[@]}"; do
        echo "---- $node: podlane neighbor list ----" >&2
        "$PODLANE" --socket "$RUN_DIR/$node.sock" neighbor list >&2 || true
        log_tail "$RUN_DIR/$node.log"
      done
      die "${pending[*]} did not resolve all peers within ${NEIGHBOR_TIMEOUT}s (run: scripts/lab.sh down --prefix ${PREFIX})"
    fi
    sleep 0.2
  done

  if [ "$ETCD" = 1 ] && [ -n "$SERVICES" ]; then
    say "writing $SERVICES into etcd (podlane kvstore apply, from ${PREFIX}ext)"
    ip netns exec "$ext" "$PODLANE" kvstore apply -f "$RUN_DIR/services.yaml" --etcd "http://$ETCD_IP:2379" ||
      die "podlane kvstore apply failed (run: scripts/lab.sh down --prefix ${PREFIX})"
  fi

  echo
  echo "\$ podlane --socket $RUN_DIR/node1.sock status"
  "$PODLANE" --socket "$RUN_DIR/node1.sock" status
  local cli=$PODLANE
  [[ $cli == "$REPO/"* ]] && cli=${cli#"$REPO/"}
  local cidrs="PodCIDR 10.210.<i>.0/24" ips="10.210.<i>.(10+k)"
  if [ "$CLUSTERS" = 2 ]; then
    cidrs="PodCIDR 10.210.<i>.0/24 (west), 10.211.<i>.0/24 (east)"
    ips="PodCIDR + 10 + k"
  fi
  if [ "$IPAM" = cluster-pool ]; then
    cidrs="PodCIDR allocated from $POOL_CIDR (below)"
    ips="PodCIDR + 10 + k"
  fi
  cat <<EOT

lab ${PREFIX} is up: $NODES nodes ($MODE, ipam $IPAM), $PODS pod(s) per node, run dir $RUN_DIR
  nodes:    ${PREFIX}node<i>, node IP $FABRIC_NET.(10+i), $cidrs, log $RUN_DIR/node<i>.log
  pods:     ${PREFIX}n<i>p<k>, IP $ips
  external: ${PREFIX}ext, $EXT_IP$( [ "$MODE" = native ] && [ "$BGP" = 0 ] && echo ", routes to every PodCIDR" )$( [ "$BGP" = 1 ] && echo ", BGP router AS $ROUTER_ASN (FRR), routes learnt from the nodes (AS $NODE_ASN)" )$( [ -n "$EXT_ROUTES" ] && echo ", routes to $EXT_ROUTES via $(node_ip 1)" )
  clusters: $( if [ "$CLUSTERS" = 1 ]; then echo "one (--clusters 2: a mesh)"; else for c in $(seq "$CLUSTERS"); do printf '%s (id %s, etcd http://%s:2379 in %s)  ' "$(cluster_name "$c")" "$c" "$(cluster_etcd_ip "$c")" "${PREFIX}etcd-$(cluster_name "$c")"; done; fi )
  services: $( if [ -z "$SERVICES" ]; then echo "none (--services FILE)"; elif [ "$ETCD" = 1 ]; then echo "$SERVICES in etcd"; else echo "$SERVICES in every node's config"; fi )$( [ "$ETCD" = 1 ] && printf '\n  etcd:     %s, http://%s:2379, log %s' "${PREFIX}etcd" "$ETCD_IP" "$RUN_DIR/etcd.log" )
$(for i in $(seq "$NODES"); do
    printf '  node%-3s  node IP %-14s PodCIDR %-18s gateway %-14s pods %s\n' "$i" "$(node_ip "$i")" \
      "$(pod_cidr "$i")" "$(gateway_ip "$i")" "$(for k in $(seq "$PODS"); do pod_ip "$i" "$k"; done | paste -sd " ")"
  done)
Try:
  $cli --socket $RUN_DIR/node1.sock stats            # each node has its own socket
  $cli --socket $RUN_DIR/node2.sock neighbor list
  $cli --socket $RUN_DIR/node1.sock ipcache list
  $cli --socket $RUN_DIR/node1.sock service list
  ip netns exec ${PREFIX}n1p1 ping -c 3 $(pod_ip "$NODES" 1)
  scripts/lab.sh status --prefix ${PREFIX}
  scripts/lab.sh down --prefix ${PREFIX}
EOT
  if [ "$BGP" = 1 ]; then
    cat <<EOT
  $cli --socket $RUN_DIR/node1.sock bgp peers
  ip netns exec ${PREFIX}ext vtysh --vty_socket $FRR_DIR -c 'show ip bgp'
EOT
  fi
}

cmd_status() {
  local nss
  nss=$(lab_namespaces)
  if [ -z "$nss" ] && [ ! -d "$RUN_DIR" ]; then
    say "no lab with prefix ${PREFIX}"
    return 1
  fi
  if [ -f "$RUN_DIR/lab.env" ]; then
    # shellcheck disable=SC1091
    (source "$RUN_DIR/lab.env"; say "lab ${PREFIX}: $NODES nodes, $PODS pod(s) each, $MODE, ipam ${IPAM:-kubernetes}, services ${SERVICES:-none}, run dir $RUN_DIR")
  fi
  echo "namespaces: $(sort <<<"$nss" | tr "\n" " ")"
  local pidfile i pid rc=0 cidr
  for pidfile in "$RUN_DIR"/node*.pid; do
    [ -f "$pidfile" ] || continue
    i=$(basename "$pidfile" .pid)
    pid=$(cat "$pidfile")
    echo
    if ! is_podlaned "$pid"; then
      echo "== $i: podlaned (pid $pid) is not running; log: $RUN_DIR/$i.log"
      rc=1
      continue
    fi
    # The PodCIDR the node actually uses (allocated with cluster-pool).
    cidr=$("$PODLANE" --socket "$RUN_DIR/$i.sock" status -o json 2>/dev/null | jq -r '.pod_cidr // empty' 2>/dev/null) ||
      cidr=""
    echo "== $i: podlaned pid $pid, socket $RUN_DIR/$i.sock, PodCIDR ${cidr:-?}"
    "$PODLANE" --socket "$RUN_DIR/$i.sock" status || rc=1
    echo "-- neighbours"
    "$PODLANE" --socket "$RUN_DIR/$i.sock" neighbor list || rc=1
  done
  if [ -d "$FRR_DIR" ]; then
    echo
    echo "== router (FRR in ${PREFIX}ext)"
    ip netns exec "${PREFIX}ext" vtysh --vty_socket "$FRR_DIR" -c 'show bgp summary' -c 'show ip bgp' || rc=1
  fi
  return $rc
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
CMD=$1; shift
NODES='' MODE=vxlan PREFIX=pl- PODS=1 IPAM=kubernetes SERVICES='' EXT_ROUTES='' ETCD=0 BGP=0 CLUSTERS=1
HOST_PORT_SPECS=()
POD_LABEL_SPECS=()
declare -A POD_NS=() POD_LABELS=()   # "NODE:POD" -> namespace / extra labels "k=v,k=v" (from POD_LABEL_SPECS)
declare -A HOST_PORTS=()   # "NODE:POD" -> its host_ports entries (from HOST_PORT_SPECS)
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) NODES=${2:?--nodes needs a value}; shift 2 ;;
    --mode) MODE=${2:?--mode needs a value}; shift 2 ;;
    --prefix) PREFIX=${2:?--prefix needs a value}; shift 2 ;;
    --pods) PODS=${2:?--pods needs a value}; shift 2 ;;
    --ipam) IPAM=${2:?--ipam needs a value}; shift 2 ;;
    --services) SERVICES=${2:?--services needs a value}; shift 2 ;;
    --ext-routes) EXT_ROUTES=${2?--ext-routes needs a value}; shift 2 ;;
    --host-port) HOST_PORT_SPECS+=("${2:?--host-port needs a value}"); shift 2 ;;
    --pod-labels) POD_LABEL_SPECS+=("${2:?--pod-labels needs a value}"); shift 2 ;;
    --etcd) ETCD=1; shift ;;
    --bgp) BGP=1; shift ;;
    --clusters) CLUSTERS=${2:?--clusters needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ -n "$NODES" ] || NODES=$([ "$CLUSTERS" = 2 ] && echo 4 || echo 3)
[[ $PREFIX =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$ ]] ||
  die "--prefix $PREFIX: expected 1..20 characters of A-Z a-z 0-9 _ . -"
RUN_DIR=/run/podlane/lab-${PREFIX}
# --bgp: FRR's own files, owned by its user, outside /run/podlane: podlaned
# makes that 0700 when it creates it, and FRR drops root before it writes.
FRR_DIR=/run/podlane-frr/lab-${PREFIX}
[ "$(id -u)" -eq 0 ] || die "run as root (namespaces and DPDK)"

case $CMD in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  -h|--help|help) usage ;;
  *) usage >&2; die "unknown command: $CMD" ;;
esac
