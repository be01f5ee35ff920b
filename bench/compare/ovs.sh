# The OVS-DPDK arm of bench/compare.sh: Debian's OVS 3.1 (ovs-vswitchd-dpdk)
# run by hand with its own run/db/log directories, its PMD thread on CPU
# $DP_CPU, vswitchd itself inside a network namespace of its own (so its
# bridge taps and the underlay address live there, not in the root
# namespace). Flows equivalent to kube-proxy + flannel:
#   br-int: pod (vhost-user client), vx0 (VXLAN to node2), patch to br-ul
#     VIP traffic     -> ct(zone=1,nat) -> established (ct_mark=1): to vx0
#                                      -> new: select group of 4 buckets,
#                        ct(commit, mark=1, nat(dst=backend)) -> vx0
#     NodePort        -> the same with a second group (dst=backend:8080),
#                        then ct zone 2 with nat(src=node1) (SNAT) -> vx0
#     pod CIDR 10.200.1.0/24 -> vx0
#   br-ul (192.168.50.11 on its LOCAL port): ul (vhost-user client) <-> LOCAL
# The generator is the vhost-user server of both ports; with TRANSPORT=memif
# it is their memif server and OVS a zero-copy memif client (type=dpdk).

O_NS=plcmp-ovs
OVS_BIN=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk

ovs_env() {
  export OVS_RUNDIR=$WORK/ovs/run OVS_DBDIR=$WORK/ovs/db OVS_LOGDIR=$WORK/ovs/log
}
ovs_vsctl() { ovs_env; ovs-vsctl --db="unix:$OVS_RUNDIR/db.sock" --timeout=20 "$@"; }
ovs_ofctl() { ovs_env; ovs-ofctl -O OpenFlow15 "$@"; }
# The DPDK build names its control socket after its binary (ovs-vswitchd-dpdk).
ovs_appctl() {
  ovs_env
  local ctl; ctl=$(echo "$OVS_RUNDIR"/ovs-vswitchd*."$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")".ctl)
  ovs-appctl -t "$ctl" "$@"
}

ovs_down() {
  ovs_env
  for d in ovs-vswitchd ovsdb-server; do
    local pf=$OVS_RUNDIR/$d.pid
    if [ -f "$pf" ]; then
      local pid; pid=$(cat "$pf")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$pf"
    fi
  done
  ip netns del "$O_NS" 2>/dev/null || true
  rm -rf "$WORK/ovs"
  # memif: the sockets are the generator's, which may already be waiting.
  [ "$TRANSPORT" = memif ] || rm -f "$WORK/ovs-pod.sock" "$WORK/ovs-ul.sock"
}

ovs_up() {
  ovs_down
  ovs_env
  mkdir -p "$OVS_RUNDIR" "$OVS_DBDIR" "$OVS_LOGDIR"
  ip netns add "$O_NS"
  ip netns exec "$O_NS" ip link set lo up
  ovsdb-tool create "$OVS_DBDIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ovsdb-server "$OVS_DBDIR/conf.db" --remote="punix:$OVS_RUNDIR/db.sock" \
    --pidfile="$OVS_RUNDIR/ovsdb-server.pid" --log-file="$OVS_LOGDIR/ovsdb-server.log" --detach
  ovs_vsctl --no-wait init
  # --single-file-segments: memif zero-copy shares the memory by one fd per segment list.
  local extra="--no-pci --single-file-segments --file-prefix plcmp-ovs"
  if [ "$HUGE" = 1 ]; then
    ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-socket-mem=1024 other_config:dpdk-socket-limit=1024
  else
    extra="--no-huge --no-pci -m 2048 --legacy-mem --no-shconf --single-file-segments --file-prefix plcmp-ovs"
  fi
  ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true "other_config:dpdk-extra=$extra" \
    other_config:pmd-cpu-mask="$(printf 0x%x $((1 << DP_CPU)))" other_config:dpdk-lcore-mask="$(printf 0x%x $((1 << GEN_CPU)))"
  ip netns exec "$O_NS" taskset -c "$GEN_CPU" "$OVS_BIN" "unix:$OVS_RUNDIR/db.sock" \
    --pidfile="$OVS_RUNDIR/ovs-vswitchd.pid" --log-file="$OVS_LOGDIR/ovs-vswitchd.log" --detach \
    || { tail -20 "$OVS_LOGDIR/ovs-vswitchd.log" >&2; return 1; }

  ovs_vsctl add-br br-int -- set bridge br-int datapath_type=netdev fail-mode=secure \
    -- add-br br-ul -- set bridge br-ul datapath_type=netdev fail-mode=secure \
    -- add-port br-int pod -- set Interface pod $(ovs_port_options pod) ofport_request=1 \
    -- add-port br-ul ul -- set Interface ul $(ovs_port_options ul) ofport_request=1 \
    -- add-port br-int vx0 -- set Interface vx0 type=vxlan options:remote_ip="$NODE2_IP" \
         options:local_ip="$NODE1_IP" options:key=1 options:dst_port=8472 ofport_request=2 \
    -- add-port br-ul patch-int -- set Interface patch-int type=patch options:peer=patch-ul ofport_request=2 \
    -- add-port br-int patch-ul -- set Interface patch-ul type=patch options:peer=patch-int ofport_request=3
  ip netns exec "$O_NS" ip addr add "$NODE1_IP/24" dev br-ul
  ip netns exec "$O_NS" ip link set br-ul up
  ip netns exec "$O_NS" ip link set br-int up
  sleep 0.5
  ovs_appctl ovs/route/add "$NODE2_IP/32" br-ul >/dev/null || { echo "ovs: cannot add the route to $NODE2_IP" >&2; return 1; }
  ovs_appctl tnl/neigh/set br-ul "$NODE2_IP" "$GEN_UL_MAC" >/dev/null ||
    { echo "ovs: cannot pin $NODE2_IP's MAC" >&2; return 1; }

  local g1="" g2="" b
  for b in $BACKENDS; do
    g1+=",bucket=actions=ct(commit,zone=1,exec(set_field:0x1->ct_mark),nat(dst=$b),table=2)"
    g2+=",bucket=actions=ct(commit,zone=1,exec(set_field:0x1->ct_mark),nat(dst=$b:8080),table=3)"
  done
  ovs_ofctl add-group br-int "group_id=1,type=select${g1}"
  ovs_ofctl add-group br-int "group_id=2,type=select${g2}"
  ovs_ofctl add-flows br-int - <<FLOWS
table=0,priority=100,in_port=pod,ip,nw_dst=$VIP actions=ct(zone=1,nat,table=1)
table=0,priority=100,in_port=patch-ul,udp,nw_dst=$NODE1_IP,tp_dst=$NODEPORT actions=ct(zone=1,nat,table=1)
table=0,priority=90,in_port=pod,ip,nw_dst=10.200.1.0/24 actions=output:vx0
table=0,priority=0 actions=drop
table=1,priority=20,ct_state=+trk,ct_mark=0x1,in_port=patch-ul,ip actions=resubmit(,3)
table=1,priority=20,ct_state=+trk,ct_mark=0x1,ip actions=resubmit(,2)
table=1,priority=10,ct_state=+new+trk,in_port=patch-ul,ip actions=group:2
table=1,priority=10,ct_state=+new+trk,ip actions=group:1
table=1,priority=0 actions=drop
table=2,priority=10,ip,nw_dst=10.200.1.0/24 actions=output:vx0
table=2,priority=0 actions=drop
table=3,priority=10,ip actions=ct(zone=2,nat,table=4)
table=4,priority=20,ct_state=+trk,ct_mark=0x1,ip actions=resubmit(,2)
table=4,priority=10,ct_state=+new+trk,ip actions=ct(commit,zone=2,exec(set_field:0x1->ct_mark),nat(src=$NODE1_IP),table=2)
table=4,priority=0 actions=drop
FLOWS
  ovs_ofctl add-flows br-ul - <<FLOWS
table=0,priority=100,in_port=ul,udp,nw_dst=$NODE1_IP,tp_dst=$NODEPORT actions=output:patch-int
table=0,priority=90,in_port=ul actions=LOCAL
table=0,priority=90,in_port=LOCAL actions=output:ul
table=0,priority=0 actions=drop
FLOWS
}

# ovs_port_options NAME: the Interface columns of the port the generator serves.
ovs_port_options() {
  if [ "$TRANSPORT" = memif ]; then
    echo "type=dpdk options:dpdk-devargs=net_memif_ovs$1,role=client,socket=$WORK/ovs-$1.sock,id=0,socket-abstract=no,zero-copy=yes"
  else
    echo "type=dpdkvhostuserclient options:vhost-server-path=$WORK/ovs-$1.sock"
  fi
}

ovs_gen_ports() {
  if [ "$TRANSPORT" = memif ]; then
    # OVS transmits on one queue per PMD thread plus one for its main thread.
    echo "--port $(memif_server_devargs 0 "$WORK/ovs-pod.sock" "$POD_MAC")" \
         "--port $(memif_server_devargs 1 "$WORK/ovs-ul.sock" "$GEN_UL_MAC") --rx-queues 2"
    return
  fi
  echo "--port net_virtio_user0,path=$WORK/ovs-pod.sock,server=1,queue_size=1024${VIRTIO_OPTS:-},mac=$POD_MAC" \
       "--port net_virtio_user1,path=$WORK/ovs-ul.sock,server=1,queue_size=1024${VIRTIO_OPTS:-},mac=$GEN_UL_MAC"
}
ovs_gen_sockets() { echo "$WORK/ovs-pod.sock $WORK/ovs-ul.sock"; }
# ovs_busy: "processing_cycles packets_received" of the PMD threads so far.
ovs_busy() {
  ovs_appctl dpif-netdev/pmd-stats-show 2>/dev/null |
    awk '/processing cycles:/ {c += $3} /packets received:/ {p += $3} END {print c + 0, p + 0}'
}
ovs_gen_prefix() { :; }
ovs_pod_side_mac() { echo "$GW_MAC"; }
ovs_ul_side_mac() { ip netns exec "$O_NS" cat /sys/class/net/br-ul/address; }
