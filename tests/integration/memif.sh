#!/usr/bin/env bash
# Integration test: memif pods. podlaned in a node namespace serves a TAP pod
# and three memif pods that one dpdk-testpmd (icmpecho) answers from its own
# namespace: M1 from the config, podlaned the memif server (testpmd connects
# as client); M2 and M3 added over the CLI with memif_role client and
# zero-copy (testpmd serves the sockets, podlaned connects): M3 after M2 has
# connected, which DPDK 22.11 alone gets wrong (memif_memory.h). Real ping
# from the TAP pod reaches all three; endpoint list shows the sockets and
# roles; deleting M2 unplugs its port and its traffic is dropped as
# unknown_destination; M2 comes back, zero-copy again; a client attach on a
# socket nobody serves fails clearly and podlaned goes on.
# With "hugepages" as third argument podlaned runs on hugepages (skipped,
# exit 77, when the machine has too few free).
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HUGEPAGES=false
[ "${3:-}" = hugepages ] && HUGEPAGES=true
if $HUGEPAGES && [ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -lt 200 ]; then
  echo "SKIP: fewer than 200 free hugepages"; exit 77
fi
source "$(dirname "$0")/lib.sh"

id=$$
NODE=plt-mnode-$id POD_T=plt-mtap-$id POD_PMD=plt-mpmd-$id
T_IP=10.204.0.11 M1_IP=10.204.0.21 M2_IP=10.204.0.22 M3_IP=10.204.0.24 GW=10.204.0.1
M1_MAC=0a:58:0a:cc:00:15 M2_MAC=0a:58:0a:cc:00:16 M3_MAC=0a:58:0a:cc:00:18  # 0a:58 + the IP (MacAddr::from_ipv4)
SOCK=$PL_TMP/api.sock M1_SOCK=$PL_TMP/memif/m1.sock M2_SOCK=$PL_TMP/pmd/m2.sock M3_SOCK=$PL_TMP/pmd/m3.sock
export PODLANE_SOCKET=$SOCK

pl_netns "$NODE"; pl_netns "$POD_T"; pl_netns "$POD_PMD"
mkdir -p "$PL_TMP/pmd"

cat > "$PL_TMP/node.yaml" <<YAML
node: {name: it-memif}
dataplane:
  main_lcore: 0
  worker_lcores: [1, 2]      # two workers: a memif peer needs a queue pair for each
  lcore_map: "0@0,1@1,2@0"
  file_prefix: podlane-memif-$id
  hugepages: $HUGEPAGES
  mbufs: 8191
  rx_ring_size: 256
  tx_ring_size: 256
  idle_sleep_us: 100
network:
  pod_cidr: 10.204.0.0/24
  gateway_ip: $GW
api: {socket: $SOCK}
endpoints:
  - {id: test/tap, ip: $T_IP, netns: $POD_T}
  - {id: test/m1, ip: $M1_IP, memif_socket: $M1_SOCK}
YAML

pl_log "config check: memif keys are validated with the field named"
"$PODLANED" --check-config "$PL_TMP/node.yaml"
sed "s|memif_socket: $M1_SOCK}|memif_socket: $M1_SOCK, memif_zero_copy: true}|" "$PL_TMP/node.yaml" > "$PL_TMP/bad.yaml"
if out=$("$PODLANED" --check-config "$PL_TMP/bad.yaml" 2>&1); then pl_fail "zero-copy with role server passed --check-config"; fi
grep -q "endpoints\[1\].memif_zero_copy: true is not valid: expected false with memif_role server" <<<"$out" \
  || pl_fail "unclear zero-copy error: $out"

pl_log "starting podlaned in $NODE (hugepages: $HUGEPAGES)"
pl_start_podlaned "$NODE" "$PL_TMP/node.yaml"
[ -S "$M1_SOCK" ] || pl_fail "podlaned does not serve $M1_SOCK"

# One testpmd for the memif pods (two busy-polling ones would starve two
# CPUs): net_memif0 connects to podlaned's M1 socket, net_memif1 and 2 serve
# M2's and M3's.
# Two queue pairs each, one per podlane worker; path sockets, not abstract
# ones (those are per network namespace).
pl_log "dpdk-testpmd (icmpecho) in $POD_PMD: client of $M1_SOCK, server of $M2_SOCK and $M3_SOCK"
mkfifo "$PL_TMP/testpmd.in"
exec {TESTPMD_IN}<>"$PL_TMP/testpmd.in"   # testpmd exits on a line of stdin
ip netns exec "$POD_PMD" stdbuf -oL dpdk-testpmd -l 0,1 --no-huge -m 256 --no-pci --file-prefix "pl-pmd-memif-$id" --no-telemetry \
  --vdev "net_memif0,role=client,socket=$M1_SOCK,id=0,socket-abstract=no,mac=$M1_MAC" \
  --vdev "net_memif1,role=server,socket=$M2_SOCK,id=0,socket-abstract=no,mac=$M2_MAC" \
  --vdev "net_memif2,role=server,socket=$M3_SOCK,id=0,socket-abstract=no,mac=$M3_MAC" \
  -- --forward-mode=icmpecho --auto-start --stats-period 0 --total-num-mbufs 4096 --rxq=2 --txq=2 \
  <&"$TESTPMD_IN" > "$PL_TMP/testpmd.log" 2>&1 &
TESTPMD_PID=$!
PL_PIDS+=("$TESTPMD_PID")
# Not --in-memory: testpmd keeps a runtime directory, removed once it is gone.
pl_on_exit 'kill -TERM "$TESTPMD_PID" 2>/dev/null; wait "$TESTPMD_PID" 2>/dev/null; rm -rf "/var/run/dpdk/pl-pmd-memif-$id"'
# Its memif server refuses clients until its ports have started (stdbuf: its
# log is line-buffered, so the line shows when it is printed).
pl_wait_for "testpmd to start its ports" 20 grep -q "Press enter to exit" "$PL_TMP/testpmd.log"
[ -S "$M2_SOCK" ] && [ -S "$M3_SOCK" ] || pl_fail "testpmd does not serve $M2_SOCK and $M3_SOCK"

pl_log "attaching M2 over the CLI: memif client, zero-copy"
"$PODLANE" endpoint add --id test/m2 --ip "$M2_IP" --memif-socket "$M2_SOCK" --memif-role client --memif-zero-copy
pl_log "attaching M3, zero-copy too, now that M2 has connected"
"$PODLANE" endpoint add --id test/m3 --ip "$M3_IP" --memif-socket "$M3_SOCK" --memif-role client --memif-zero-copy
"$PODLANE" endpoint list
eps=$("$PODLANE" endpoint list -o json)
[ "$(pl_json 'length' <<<"$eps")" = 4 ] || pl_fail "expected 4 endpoints: $eps"
jq -e --arg s "$M1_SOCK" '.[] | select(.id == "test/m1") | .memif_socket == $s and .memif_role == "server"
  and .memif_zero_copy == false and .netns == ""' <<<"$eps" >/dev/null || pl_fail "M1 listed wrong: $eps"
jq -e --arg s "$M2_SOCK" '.[] | select(.id == "test/m2") | .memif_socket == $s and .memif_role == "client"
  and .memif_zero_copy == true' <<<"$eps" >/dev/null || pl_fail "M2 listed wrong: $eps"
jq -e '.[] | select(.id == "test/tap") | .memif_socket == "" and .memif_role == null' <<<"$eps" >/dev/null \
  || pl_fail "the TAP pod lists memif fields: $eps"
"$PODLANE" endpoint list | grep -q "memif client $M2_SOCK zero-copy" || pl_fail "endpoint list does not show M2's memif"

pl_log "ping from the TAP pod to the three memif pods"
# pl_wait_for tries 10 times a second: one echo of at most a second a try.
pl_wait_for "M1 to answer" 3 pl_ping_ok "$POD_T" "$M1_IP" -c 1 -W 1
pl_wait_for "M2 to answer" 3 pl_ping_ok "$POD_T" "$M2_IP" -c 1 -W 1
pl_wait_for "M3 to answer" 3 pl_ping_ok "$POD_T" "$M3_IP" -c 1 -W 1
pl_ping "$POD_T" "$M1_IP"
pl_ping "$POD_T" "$M2_IP"
pl_ping "$POD_T" "$M3_IP"
pl_log "all answer: $PL_PING_SUMMARY"

# Zero-copy: testpmd maps podlane's own packet memory (one of its EAL memfds:
# "nohuge", or "seg_N" with hugepages) besides its own "nohuge" memory.
eal_memfds=$(grep -E '/memfd:(nohuge|seg_[0-9]+) ' "/proc/$TESTPMD_PID/maps" | awk '{print $5}' | sort -u | wc -l)
[ "$eal_memfds" -ge 2 ] || pl_fail "testpmd does not map podlane's memory: M2 is not zero-copy"

stats=$("$PODLANE" stats -o json)
m2_port=$(jq -er '.[] | select(.id == "test/m2") | .port_id' <<<"$eps")
jq -e '[.ports[] | select(.name == "test/m1" or .name == "test/m2") | .tx_packets >= 3 and .rx_packets >= 3]
  | length == 2 and all' <<<"$stats" >/dev/null \
  || pl_fail "the memif ports did not carry the pings both ways: $(jq -c .ports <<<"$stats")"

before=$(pl_json '.totals.drops.unknown_destination' <<<"$stats")
pl_log "deleting M2: its port is unplugged and its traffic is dropped"
"$PODLANE" endpoint delete test/m2
[ "$("$PODLANE" endpoint list -o json | pl_json 'length')" = 3 ] || pl_fail "expected 3 endpoints after the delete"
"$PODLANE" stats -o json | jq -e --argjson p "$m2_port" 'all(.ports[]; .port_id != $p and .name != "test/m2")' \
  >/dev/null || pl_fail "M2's port $m2_port is still plugged after the delete"
if pl_ping_ok "$POD_T" "$M2_IP"; then pl_fail "ping to the deleted M2 succeeded"; fi
after=$("$PODLANE" stats -o json | pl_json '.totals.drops.unknown_destination')
pl_log "unknown_destination drops: $before -> $after"
[ "$after" -ge $((before + 3)) ] || pl_fail "the 3 pings to the deleted M2 were not counted as unknown_destination"
pl_ping "$POD_T" "$M1_IP"

pl_log "re-adding M2, zero-copy again: it answers, and so does M3"
"$PODLANE" endpoint add --id test/m2 --ip "$M2_IP" --memif-socket "$M2_SOCK" --memif-role client \
  --memif-zero-copy > /dev/null
pl_wait_for "M2 to answer again" 3 pl_ping_ok "$POD_T" "$M2_IP" -c 1 -W 1
pl_ping "$POD_T" "$M2_IP"
pl_ping "$POD_T" "$M3_IP"

pl_log "a client attach on a socket nobody serves fails clearly: no file, or a file whose process is gone"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).bind(sys.argv[1])' "$PL_TMP/stale.sock"
for sock in "$PL_TMP/nobody.sock" "$PL_TMP/stale.sock"; do
  if out=$("$PODLANE" endpoint add --id test/m4 --ip 10.204.0.23 --memif-socket "$sock" --memif-role client 2>&1); then
    pl_fail "endpoint add on the unserved $sock succeeded"
  fi
  grep -q "memif socket $sock is not served" <<<"$out" || pl_fail "unclear error: $out"
  pl_log "  $out"
done
kill -0 "$PL_PODLANED_PID" || pl_fail "podlaned died"
[ "$("$PODLANE" endpoint list -o json | pl_json 'length')" = 4 ] || pl_fail "a failed attach left an endpoint"
pl_ping "$POD_T" "$M1_IP"
kill -0 "$TESTPMD_PID" || pl_fail "testpmd died: $(tail -n 5 "$PL_TMP/testpmd.log")"

pl_log "SIGTERM: clean stop"
kill -TERM "$PL_PODLANED_PID"
rc=0; wait "$PL_PODLANED_PID" || rc=$?
[ $rc -eq 0 ] || pl_fail "podlaned exited with $rc"
grep -q "final counters" "$PL_TMP/podlaned.log" || pl_fail "no final counters printed"
pl_log "PASS"
