#!/usr/bin/env bash
# Integration test: the Kubernetes source at cluster scale (issue 16).
#
# A one-node lab (scripts/lab.sh: node1, pods n1p1 10.210.1.11 and n1p2
# 10.210.1.12) whose podlaned watches a fake API server
# (tests/integration/fake_kube_api.py, HTTPS with a CA made here, a bearer
# token) replaying the recorded cluster of tests/data/k8s followed by
# K8S_SCALE_SERVICES (default 5,000) Services and as many EndpointSlices
# ADDED (tests/integration/k8s_scale_data.py: copies of recorded events, 10
# endpoints each). All are released at once while n1p1 pings n1p2 ten times
# a second through podlane. What a user would notice:
#   - podlane status shows every new frontend and backend within 2 s of the
#     last event the API server sent
#   - publishes stay bounded (tables.max_publish_rate, 20 a second)
#   - nothing starves: no ping lost, the source stays synced (no reconnect,
#     no relist)
#
#   tests/integration/k8s_scale.sh PODLANED PODLANE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PODLANED PODLANE" >&2; exit 2; }
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export PODLANED PODLANE
for tool in curl jq openssl base64; do
  command -v "$tool" >/dev/null || pl_fail "$tool is missing (scripts/install-deps.sh installs it)"
done

N=${K8S_SCALE_SERVICES:-5000}
P=plks$$-
RUN=/run/podlane/lab-$P
NODE=${P}node1
API=127.0.0.1:6443          # in node1's namespace: only podlaned there reaches it
CTL=$PL_TMP/kube-api.sock   # the fake server's control socket
TOKEN=$(openssl rand -hex 24)
cli() { "$PODLANE" --socket "$RUN/node1.sock" "$@"; }
kube() { curl -sS --fail --max-time 10 --unix-socket "$CTL" "http://fake-kube-api/$1"; }
now() { date +%s.%N; }

teardown() {
  if [ "$PL_RC" -ne 0 ]; then
    echo "==== podlane status ===="; cli status 2>&1 | head -n 60 || true
    echo "==== podlaned log ===="; tail -n 30 "$RUN/node1.log" 2>/dev/null || true
    echo "==== fake API server log ===="; tail -n 20 "$PL_TMP/fake-api.log" 2>/dev/null || true
  fi
  "$REPO/scripts/lab.sh" down --prefix "$P" > /dev/null 2>&1 || true
}
pl_on_exit teardown
PL_NETNS+=("${P}fab" "${P}ext" "$NODE" "${P}n1p1" "${P}n1p2") # if down failed

pl_log "the recorded cluster and $N Services and EndpointSlices ADDED after it"
python3 "$HERE/k8s_scale_data.py" "$REPO/tests/data/k8s" "$PL_TMP/data" "$N"

pl_log "a CA and the API server's certificate (openssl), a kubeconfig with a token"
PKI=$PL_TMP/pki
mkdir -p "$PKI"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=ca" \
  -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=kube-apiserver" \
  -keyout "$PKI/apiserver.key" -out "$PKI/apiserver.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$PKI/apiserver.ext"
openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 1 \
  -extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt" 2>/dev/null
cat > "$PL_TMP/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- cluster: {certificate-authority-data: $(base64 -w0 "$PKI/ca.crt"), server: "https://$API"}
  name: lab
contexts:
- context: {cluster: lab, user: podlane}
  name: podlane@lab
current-context: podlane@lab
users:
- name: podlane
  user: {token: $TOKEN}
KUBECONFIG
cat > "$PL_TMP/source.yaml" <<SOURCE
source:
  kind: kubernetes
  kubernetes: {kubeconfig: $PL_TMP/kubeconfig, timeout_ms: 2000}
SOURCE

pl_log "lab up: node1 with 2 pods, source kubernetes (prefix $P)"
"$REPO/scripts/lab.sh" up --nodes 1 --pods 2 --prefix "$P" --services "$PL_TMP/source.yaml" \
  > "$PL_TMP/lab-up.log" 2>&1 || { tail -n 30 "$PL_TMP/lab-up.log"; pl_fail "scripts/lab.sh up failed"; }
ip netns exec "$NODE" /usr/bin/python3 "$HERE/fake_kube_api.py" --data "$PL_TMP/data" \
  --cert "$PKI/apiserver.crt" --key "$PKI/apiserver.key" --token "$TOKEN" --listen "$API" --control "$CTL" \
  > "$PL_TMP/fake-api.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "the fake API server's control socket" 30 kube state
pl_wait_for "the first sync" 30 sh -c "\"$PODLANE\" --socket $RUN/node1.sock status -o json | jq -e '.source.state == \"synced\"' > /dev/null"
pl_ping "${P}n1p1" 10.210.1.12
status() { cli status -o json; }
base=$(status | jq .services.frontends)
base_backends=$(status | jq .services.backends)
pub_before=$(status | jq .updates.publishes)
pl_log "synced: $base frontends, $base_backends backends"

pl_log "releasing $N Services and $N EndpointSlices ADDED while n1p1 pings n1p2 every 100 ms"
ip netns exec "${P}n1p1" ping -n -i 0.1 -w 600 10.210.1.12 > "$PL_TMP/ping.txt" 2>&1 &
ping_pid=$!
PL_PIDS+=("$ping_pid")
sleep 1
t0=$(now)
kube "release?resource=services&count=$N" > /dev/null
kube "release?resource=endpointslices&count=$N" > /dev/null
want=$((base + N)) want_backends=$((base_backends + 10 * N))
deadline=$(( $(date +%s) + 120 ))
until st=$(status) && [ "$(jq .services.frontends <<<"$st")" -ge "$want" ] &&
      [ "$(jq .services.backends <<<"$st")" -ge "$want_backends" ]; do
  [ "$(date +%s)" -lt "$deadline" ] ||
    pl_fail "after 120 s: $(jq -c '{frontends: .services.frontends, backends: .services.backends}' <<<"$st"), want $want and $want_backends"
  sleep 0.02
done
seen=$(now)
# When the server wrote the last event of each resource to the watch.
last=$(kube state | jq -r '[.last_sent[]] | max')
[ "$last" != null ] || pl_fail "the fake API server sent no event: $(kube state)"
c=$(awk -v a="$seen" -v b="$last" 'BEGIN {printf "%.3f", a - b}')
pl_log "converged $c s after the last event ($(awk -v a="$last" -v b="$t0" 'BEGIN {printf "%.1f", a - b}') s of events)"
awk -v c="$c" 'BEGIN {exit !(c <= 2.0)}' || pl_fail "converged $c s after the last event (at most 2 s)"

sleep 2
kill -INT "$ping_pid"; wait "$ping_pid" 2>/dev/null || true
sent=$(grep -oP '\d+(?= packets transmitted)' "$PL_TMP/ping.txt")
got=$(grep -oP '\d+(?= received)' "$PL_TMP/ping.txt")
pl_log "ping: $got of $sent answered"
[ "$sent" -ge 20 ] && [ "$got" = "$sent" ] || pl_fail "ping lost $((sent - got)) of $sent packets: $(tail -n 3 "$PL_TMP/ping.txt")"
secs=$(awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%d", a - b + 1}')
st=$(status)
pubs=$(( $(jq .updates.publishes <<<"$st") - pub_before ))
pl_log "$pubs publishes for $((2 * N)) events in $secs s; source: $(jq -c '.source | {state, events, reconnects, resyncs}' <<<"$st")"
[ "$pubs" -le $((secs * 20 + 10)) ] || pl_fail "$pubs publishes in $secs s (at most 20/s)"
jq -e '.source.state == "synced" and .source.reconnects == 0 and .source.resyncs == 0' <<<"$st" > /dev/null ||
  pl_fail "the source did not stay synced: $(jq -c .source <<<"$st")"
# One of the new services as podlane lists it: its ClusterIP and 10 backends.
row=$(cli service list -o json | jq -c '[.[] | select(.name == "scale/svc-00007")] | .[0] | {frontend, n: (.backends | length)}')
[ "$row" = '{"frontend":"10.97.0.8:80/TCP","n":10}' ] || pl_fail "scale/svc-00007 in the service list: $row"
pl_log "PASS: $N Services and EndpointSlices converged $c s after the last event, $pubs publishes, no ping lost"
