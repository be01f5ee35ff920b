# The podlane arm of bench/compare.sh: podlaned from this tree with a
# generated config: the generator's pod is a vhost-user endpoint, the uplink
# a net_vhost port the generator also connects to (as node2), the service
# and node2 as in topology.sh. With TRANSPORT=memif the generator serves both
# ports over memif and podlaned is their zero-copy memif client (the pod's
# endpoint memif_socket, a net_memif uplink). Workers busy-poll
# (idle_sleep_us 0); where they run: podlane_config.

P_PID=

podlane_config() {  # WORKERS
  # Worker i runs on the i-th CPU of $DP_CPUS when it is set (bigger
  # machines: DP_CPUS=2,3,4,5 for 4 workers); otherwise worker 1 on $DP_CPU
  # and, on a 2-CPU machine, worker 2 on $GEN_CPU beside the generator.
  local workers=$1 lcores="" map="0@$GEN_CPU" i cpu
  local -a cpus
  IFS=, read -r -a cpus <<< "${DP_CPUS:-$DP_CPU,$GEN_CPU}"
  for i in $(seq "$workers"); do
    cpu=${cpus[$(( (i - 1) % ${#cpus[@]} ))]}
    lcores+="${lcores:+, }$i" map+=",$i@$cpu"
  done
  lcores="[$lcores]"
  local syn_ports="" p b backends="" np_backends=""
  for p in $(seq "${SYN_PORTS%-*}" "${SYN_PORTS#*-}"); do syn_ports+="      - {name: s$p, protocol: TCP, port: $p}"$'\n'; done
  for b in $BACKENDS; do backends+="      - {ip: $b, node: node2}"$'\n'; done
  cat <<YAML
node: {name: node1, ip: $NODE1_IP}
dataplane:
  main_lcore: 0
  worker_lcores: $lcores
  lcore_map: "$map"
  hugepages: $([ "$HUGE" = 1 ] && echo true || echo false)
  memory_mb: $([ "$HUGE" = 1 ] && echo 1024 || echo 2048)
  file_prefix: plcmp-podlane
  mbufs: 65535
  burst_size: 32
  idle_sleep_us: 0
network:
  pod_cidr: 10.200.0.0/24
  gateway_ip: $GW_IP
uplinks:
  - {name: ul, devargs: "$(podlane_uplink_devargs "$workers")", mtu: 1550}
nodes:
  - {name: node2, ip: $NODE2_IP, pod_cidrs: [10.200.1.0/24]}
routing: {mode: tunnel, tunnel_protocol: vxlan, tunnel_port: 8472}
host: {enabled: false}
metrics: {enabled: false}
observe: {enabled: false}
api: {socket: $WORK/podlane.sock}
source: {kind: file, file: {watch: false}}
conntrack: {max_flows: 4194304, tcp_syn_timeout_s: 2, gc_interval_ms: 100}
loadbalancer: {nodeport_mode: snat}
endpoints:
  - {id: bench/gen, ip: $POD_IP, $(podlane_pod_attachment)}
services:
  - name: bench/svc
    cluster_ip: $VIP
    ports:
      - {name: u80, protocol: UDP, port: 80}
      - {name: u81, protocol: UDP, port: 81}
$syn_ports    backends:
$backends  - name: bench/np
    type: NodePort
    cluster_ip: 10.96.0.11
    ports:
      - {name: np, protocol: UDP, port: 80, target_port: 8080, node_port: $NODEPORT}
    backends:
$backends
YAML
}

podlane_uplink_devargs() {  # WORKERS
  if [ "$TRANSPORT" = memif ]; then
    echo "net_memif_plul,role=client,socket=$WORK/pl-ul.sock,id=0,socket-abstract=no,zero-copy=yes"
  else
    echo "net_vhost_plul,iface=$WORK/pl-ul.sock,queues=$1"
  fi
}
podlane_pod_attachment() {
  if [ "$TRANSPORT" = memif ]; then
    echo "memif_socket: $WORK/pl-pod.sock, memif_role: client, memif_zero_copy: true"
  else
    echo "vhost_socket: $WORK/pl-pod.sock"
  fi
}

podlane_down() {
  if [ -n "$P_PID" ]; then
    kill "$P_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$P_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$P_PID" 2>/dev/null || true
    wait "$P_PID" 2>/dev/null || true
    P_PID=
  fi
  rm -rf "$WORK/podlane.sock" /var/run/dpdk/plcmp-podlane
  [ "$TRANSPORT" = memif ] || rm -f "$WORK/pl-ul.sock" "$WORK/pl-pod.sock"
}

podlane_up() {  # WORKERS
  podlane_down
  podlane_config "$1" > "$WORK/podlane.yaml"
  "$PODLANED" --check-config "$WORK/podlane.yaml" >/dev/null || { "$PODLANED" --check-config "$WORK/podlane.yaml"; return 1; }
  "$PODLANED" --config "$WORK/podlane.yaml" > "$WORK/podlaned.log" 2>&1 &
  P_PID=$!
  # Up: its vhost-user sockets are there, or (memif: it connected to the
  # generator's) its API answers.
  for _ in $(seq 300); do
    if [ "$TRANSPORT" = memif ]; then
      PODLANE_SOCKET=$WORK/podlane.sock "$PODLANE_CLI" status >/dev/null 2>&1 && return 0
    else
      [ -S "$WORK/pl-pod.sock" ] && [ -S "$WORK/pl-ul.sock" ] && return 0
    fi
    kill -0 "$P_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "podlaned did not come up:" >&2; tail -20 "$WORK/podlaned.log" >&2
  return 1
}

podlane_gen_ports() {  # WORKERS
  if [ "$TRANSPORT" = memif ]; then
    echo "--port $(memif_server_devargs 0 "$WORK/pl-pod.sock" "$POD_MAC")" \
         "--port $(memif_server_devargs 1 "$WORK/pl-ul.sock" "$GEN_UL_MAC")"
    return
  fi
  echo "--port net_virtio_user0,path=$WORK/pl-pod.sock,queues=$1,queue_size=1024${VIRTIO_OPTS:-},mac=$POD_MAC" \
       "--port net_virtio_user1,path=$WORK/pl-ul.sock,queues=$1,queue_size=1024${VIRTIO_OPTS:-},mac=$GEN_UL_MAC"
}
podlane_gen_sockets() { echo "$WORK/pl-pod.sock $WORK/pl-ul.sock"; }
# podlane_busy: "busy_cycles rx_packets" of the workers so far.
podlane_busy() {
  PODLANE_SOCKET=$WORK/podlane.sock "$PODLANE_CLI" stats -o json 2>/dev/null |
    jq -r '"\(.totals.busy_cycles // 0) \(.totals.rx_packets // 0)"' 2>/dev/null || echo "0 0"
}
podlane_gen_prefix() { :; }
podlane_pod_side_mac() { echo "$GW_MAC"; }
podlane_ul_side_mac() { echo "0a:58:c0:a8:32:0b"; }  # resolved by ARP at run time, see compare.sh
