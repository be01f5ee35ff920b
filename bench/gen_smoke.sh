#!/usr/bin/env bash
# Smoke test of podlane-gen (meson test bench-smoke-gen): sends fixed counts
# through a net_ring loopback port (what is sent comes back) in three shapes
# (UDP service-VIP flows, VXLAN-encapsulated TCP, a Geneve SYN flood) and
# checks the JSON: every packet back, loss 0, every flow seen, latency
# percentiles present and ordered. Then a broken setup must fail: a TAP port
# whose kernel side never answers (exit 3), and a device that does not exist
# (exit 2).
# Usage: bench/gen_smoke.sh PATH/TO/podlane-gen
set -euo pipefail
gen=${1:?usage: gen_smoke.sh PATH/TO/podlane-gen}
dir=$(mktemp -d /tmp/gen-smoke.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

check() {  # name count flows json
  local name=$1 count=$2 flows=$3 j=$4
  jq -e --argjson n "$count" --argjson f "$flows" '
      .tx_packets == $n and .rx_marked_packets == $n and .lost_packets == 0 and .loss_pct == 0
      and .flows.configured == $f and .flows.seen_rx == $f
      and .latency_us.samples == $n and .latency_us.p50 > 0
      and .latency_us.p50 <= .latency_us.p99 and .latency_us.p99 <= .latency_us.max
      and (.window.start | test("^20[0-9-]+T")) and .tx_mpps > 0' "$j" >/dev/null \
    || { jq -c . "$j" >&2; fail "$name: JSON does not show $count packets back over $flows flows with loss 0"; }
  echo "ok: $name ($count packets, $flows flows, p99 $(jq .latency_us.p99 "$j") us)"
}

"$gen" --port net_ring0,nodeaction=smoke_a:0:CREATE --flows 1000 --src-ip 10.200.0.2-10.200.0.9 \
  --dst-ip 10.96.0.10 --dst-port 80 --count 200000 --quiet --json "$dir/vip.json" >/dev/null
check "udp service VIP" 200000 1000 "$dir/vip.json"

"$gen" --port net_ring0,nodeaction=smoke_b:0:CREATE --proto tcp --encap vxlan --vni 7 --flows 64 \
  --size 128 --count 50000 --quiet --json "$dir/vxlan.json" >/dev/null
check "tcp in vxlan" 50000 64 "$dir/vxlan.json"
[ "$(jq .config.encap "$dir/vxlan.json")" = '"vxlan"' ] || fail "encap not recorded"

"$gen" --port net_ring0,nodeaction=smoke_c:0:CREATE --proto syn --encap geneve --flows 4 \
  --rate 200000 --count 40000 --quiet --json "$dir/syn.json" >/dev/null
check "syn flood in geneve, rate-capped" 40000 4 "$dir/syn.json"
tx=$(jq .tx_mpps "$dir/syn.json")
awk -v r="$tx" 'BEGIN { exit !(r < 0.3) }' || fail "--rate 200000 sent at $tx Mpps"

set +e
"$gen" --port net_tap0,iface=plgensmoke0 --count 1000 --quiet >/dev/null 2>"$dir/err"
rc=$?
set -e
[ "$rc" = 3 ] || fail "a port where nothing comes back: exit $rc, expected 3"
grep -q "nothing came back" "$dir/err" || fail "no clear message: $(cat "$dir/err")"
echo "ok: nothing received -> exit 3"

set +e
"$gen" --port net_nosuchdriver0 --count 10 --quiet >/dev/null 2>"$dir/err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "a port that cannot be probed: exit $rc, expected 2"
grep -q "probe failed" "$dir/err" || fail "no clear message: $(cat "$dir/err")"
echo "ok: bad port -> exit 2"
