#!/usr/bin/env bash
# Integration test: the Kubernetes API as podlaned's cluster-state source.
#
# A one-node lab (scripts/lab.sh: node1 with an uplink, pods n1p1 10.210.1.11
# and n1p2 10.210.1.12) whose podlaned has `source: {kind: kubernetes}` with a
# kubeconfig (bearer token, CA data) for a fake API server
# (tests/integration/fake_kube_api.py) on 127.0.0.1:6443 in node1's own
# namespace, over HTTPS with a CA and certificate made here with openssl. The
# fake server replays the recorded cluster in tests/data/k8s (see its
# README.md: 3 nodes, 8 services, their EndpointSlices, and the watch events
# that follow), releasing events when this test says so. What a user would
# notice, in order:
#   - before the API server is up: status "connecting", the connect error shown
#   - once it is up: `podlane service list` shows exactly the recorded
#     services' frontends and backends (not the headless and ExternalName
#     ones), the ipcache the other nodes' PodCIDRs; n1p1 reaches
#     default/web's ClusterIP (named targetPort "http" -> 8080,
#     internalTrafficPolicy Local: only n1p2 answers)
#   - a replayed EndpointSlice update (a pod terminating, one starting)
#     changes web's backends; a Node heartbeat changes nothing; a bookmark
#     advances the resourceVersion in `podlane status`
#   - dropped watches resume from their last resourceVersion (reconnects, no
#     relist) and get the events released meanwhile (a new service)
#   - an ERROR 410 in a running watch makes podlaned relist (resyncs >= 1)
#   - with the API server stopped: status "disconnected", the services stay
#     listed and n1p2 still answers on the ClusterIP; events released and
#     resourceVersions expired meanwhile (one resource answering HTTP 410)
#     are picked up by relists after the restart
#   - stopped and restarted again without expiry: resumed, no relist
#   - a client certificate alone authenticates; a server certificate from
#     an untrusted CA, or for another address, is refused and explained
#   - a revoked token: "disconnected" with the 401 explained in status;
#     the right token again: synced
#
#   tests/integration/k8s_source.sh PODLANED PODLANE
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PODLANED PODLANE" >&2; exit 2; }
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export PODLANED PODLANE
for tool in curl jq openssl ss base64; do
  command -v "$tool" >/dev/null || pl_fail "$tool is missing (scripts/install-deps.sh installs it)"
done

P=plk$$-
RUN=/run/podlane/lab-$P
NODE=${P}node1
API=127.0.0.1:6443          # in node1's namespace: only podlaned there reaches it
CTL=$PL_TMP/kube-api.sock   # the fake server's control socket
TOKEN=$(openssl rand -hex 24)
cli() { "$PODLANE" --socket "$RUN/node1.sock" "$@"; }
kube() { curl -sS --fail --max-time 5 --unix-socket "$CTL" "http://fake-kube-api/$1"; }
pass() { pl_log "PASS: $*"; }

teardown() {
  if [ "$PL_RC" -ne 0 ]; then
    echo "==== podlane status ===="; cli status 2>&1 || true
    echo "==== service list ===="; cli service list 2>&1 || true
    echo "==== podlaned log ===="; tail -n 40 "$RUN/node1.log" 2>/dev/null || true
    echo "==== fake API server log ===="; tail -n 40 "$PL_TMP/fake-api.log" 2>/dev/null || true
  fi
  "$REPO/scripts/lab.sh" down --prefix "$P" || true
}
pl_on_exit teardown
PL_NETNS+=("${P}fab" "${P}ext" "$NODE" "${P}n1p1" "${P}n1p2") # if down failed

# ---------------------------------------------------------------- credentials
pl_log "a CA, server and client certificates (openssl), a kubeconfig with a token and a client certificate"
PKI=$PL_TMP/pki
mkdir -p "$PKI"
# ca NAME: a self-signed CA; issue NAME CA SUBJECT EXTENSIONS: a certificate signed by CA.
ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=$1" \
    -keyout "$PKI/$1.key" -out "$PKI/$1.crt" 2>/dev/null
}
issue() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$3" \
    -keyout "$PKI/$1.key" -out "$PKI/$1.csr" 2>/dev/null
  printf '%b' "$4" > "$PKI/$1.ext"
  openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" -CAcreateserial -days 1 \
    -extfile "$PKI/$1.ext" -out "$PKI/$1.crt" 2>/dev/null
}
ca ca
issue apiserver ca "/CN=kube-apiserver" 'subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n'
issue podlane ca "/O=podlane/CN=podlane-agent" 'extendedKeyUsage=clientAuth\n'
ca rogue-ca   # a CA podlaned does not trust, and a right CA's certificate for another address
issue rogue rogue-ca "/CN=kube-apiserver" 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
issue elsewhere ca "/CN=kube-apiserver" 'subjectAltName=IP:10.96.0.1\nextendedKeyUsage=serverAuth\n'
cat > "$PL_TMP/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
    server: https://$API
  name: lab
contexts:
- context:
    cluster: lab
    user: podlane
  name: podlane@lab
current-context: podlane@lab
users:
- name: podlane
  user:
    token: $TOKEN
    client-certificate-data: $(base64 -w0 "$PKI/podlane.crt")
    client-key-data: $(base64 -w0 "$PKI/podlane.key")
EOF
cat > "$PL_TMP/source.yaml" <<EOF
source:
  kind: kubernetes
  kubernetes: {kubeconfig: $PL_TMP/kubeconfig, timeout_ms: 2000}
EOF

# -------------------------------------------------------------------- the lab
pl_log "lab up: node1 with 2 pods, source kubernetes (prefix $P)"
"$REPO/scripts/lab.sh" up --nodes 1 --pods 2 --prefix "$P" --services "$PL_TMP/source.yaml" \
  > "$PL_TMP/lab-up.log" 2>&1 || { cat "$PL_TMP/lab-up.log"; pl_fail "scripts/lab.sh up failed"; }

source_field() { cli status -o json | jq -r ".source.$1"; }
# wait_source JQ-CONDITION SECONDS WHAT: waits until .source satisfies the condition.
wait_source() {
  local cond=$1 secs=$2 what=$3
  for _ in $(seq $((secs * 10))); do
    cli status -o json 2>/dev/null | jq -e ".source | $cond" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  pl_fail "timed out after ${secs}s waiting for $what; source: $(cli status -o json | jq -c .source)"
}

pl_log "no API server yet: connecting, with the reason"
wait_source '.kind == "kubernetes" and .state == "connecting" and (.last_error | contains("cannot connect to 127.0.0.1:6443"))' \
  10 "the connect error in status"
pass "before the API server is up: $(source_field state), \"$(source_field last_error)\""

pl_log "starting the fake API server in $NODE"
ip netns exec "$NODE" /usr/bin/python3 "$HERE/fake_kube_api.py" --data "$REPO/tests/data/k8s" \
  --cert "$PKI/apiserver.crt" --key "$PKI/apiserver.key" --client-ca "$PKI/ca.crt" --token "$TOKEN" \
  --listen "$API" --control "$CTL" \
  > "$PL_TMP/fake-api.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "the fake API server's control socket" 10 kube state
wait_source '.state == "synced"' 20 "the first sync"

# The frontends `podlane service list` shows, one line each:
# "FRONTEND TYPE NAME [BACKEND STATE[ local], ...]", sorted.
services_now() {
  cli service list -o json | jq -r '.[] | "\(.frontend) \(.type) \(.name) [" +
    ([.backends[] | "\(.address) \(.state)" + (if .local then " local" else "" end)] | sort | join(", ")) + "]"' |
    LC_ALL=C sort
}
# expect_services WHAT LINES...: waits (10 s) until the service list is exactly LINES.
expect_services() {
  local what=$1; shift
  local want
  want=$(printf '%s\n' "$@" | LC_ALL=C sort)
  for _ in $(seq 100); do
    [ "$(services_now 2>/dev/null)" = "$want" ] && { pass "$what"; return 0; }
    sleep 0.1
  done
  diff <(echo "$want") <(services_now) || true
  pl_fail "$what: the service list differs from the expected one (diff above: < expected, > podlane)"
}

KUBERNETES="10.96.0.1:443/TCP ClusterIP default/kubernetes [192.168.50.11:6443 active]"
DNS_B="10.210.2.2:53 active, 10.210.3.2:53 active"
DNS=("10.96.0.10:53/UDP ClusterIP kube-system/kube-dns [$DNS_B]"
     "10.96.0.10:53/TCP ClusterIP kube-system/kube-dns [$DNS_B]"
     "10.96.0.10:9153/TCP ClusterIP kube-system/kube-dns [10.210.2.2:9153 active, 10.210.3.2:9153 active]")
PROMETHEUS="10.96.200.5:9090/TCP ClusterIP monitoring/prometheus [10.210.3.21:9090 active]"
CO_B="10.210.2.30:8443 active"
CHECKOUT=("10.96.45.200:443/TCP ClusterIP shop/checkout [$CO_B]"
          "192.168.50.11:31443/TCP NodePort shop/checkout [$CO_B]"
          "192.168.70.10:443/TCP LoadBalancer shop/checkout [$CO_B]"
          "192.168.60.10:443/TCP ExternalIP shop/checkout [$CO_B]")
frontend() { echo "10.96.45.100:80/TCP ClusterIP shop/frontend [$1]"; echo "192.168.50.11:30080/TCP NodePort shop/frontend [$1]"; }
web() { echo "10.96.100.10:80/TCP ClusterIP default/web [$1]"; }
api() { echo "10.96.100.30:8080/TCP ClusterIP default/api [$1]"; echo "192.168.50.11:30090/TCP NodePort default/api [$1]"; }
mapfile -t FRONTEND < <(frontend "10.210.1.20:8080 active local, 10.210.2.20:8080 active, 10.210.3.20:8080 terminating")

expect_services "the first sync lists exactly the recorded services (headless shop/cart and ExternalName left out)" \
  "$KUBERNETES" "${DNS[@]}" "$PROMETHEUS" "${CHECKOUT[@]}" "${FRONTEND[@]}" \
  "$(web "10.210.1.12:8080 active local, 10.210.2.11:8080 active")"
[ "$(source_field revision)" = "nodes=48213 services=48213 endpointslices=48213" ] ||
  pl_fail "revision after the first sync: $(source_field revision)"
[ "$(source_field resyncs)" = 0 ] || pl_fail "resyncs after the first sync: $(source_field resyncs)"
peers() {
  cli ipcache list -o json | jq -r '[.[] | select(.source == "remote-pod-cidr") | "\(.prefix) via \(.tunnel_endpoint)"] | join(", ")'
}
[ "$(peers)" = "10.210.2.0/24 via 192.168.50.12, 10.210.3.0/24 via 192.168.50.13" ] ||
  pl_fail "the other nodes' PodCIDRs in the ipcache: $(peers)"
pass "the ipcache has node2's and node3's PodCIDRs (node1 is this node): $(peers)"
kube requests | jq -e 'map(select(test("watch=1&resourceVersion=48213&allowWatchBookmarks=true&timeoutSeconds=[0-9]+ -> 200"))) | length == 3' \
  >/dev/null || pl_fail "expected three watches from resourceVersion 48213 with bookmarks; requests: $(kube requests)"

# A whoami server in n1p2 (default/web's local backend, targetPort http = 8080).
ip netns exec "${P}n1p2" /usr/bin/python3 "$HERE/whoami_server.py" 0.0.0.0 8080 n1p2 > "$PL_TMP/whoami.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "the whoami server in n1p2" 15 sh -c "ip netns exec ${P}n1p2 ss -Hltn 'sport = :8080' | grep -q LISTEN"
# reach_web WHAT: 5 connections from n1p1 to default/web's ClusterIP, all answered by n1p2.
reach_web() {
  local out
  for _ in 1 2 3 4 5; do
    out=$(ip netns exec "${P}n1p1" curl -sS --max-time 5 http://10.96.100.10/whoami 2>&1) ||
      pl_fail "$1: curl http://10.96.100.10/whoami from n1p1 failed: $out"
    [ "$out" = "name=n1p2 client=10.210.1.11" ] || pl_fail "$1: unexpected answer from default/web: $out"
  done
  pass "$1: n1p1 reaches default/web 10.96.100.10:80, answered by n1p2 (5/5)"
}
reach_web "after the first sync"

# ------------------------------------------------------------- watch events
pl_log "replaying an EndpointSlice update: web's node2 pod terminates, a node3 pod starts"
kube "release?resource=endpointslices&count=1" >/dev/null
WEB_TERMINATING="10.210.1.12:8080 active local, 10.210.2.11:8080 terminating, 10.210.3.12:8080 active"
expect_services "the watched EndpointSlice change reached the backends" \
  "$KUBERNETES" "${DNS[@]}" "$PROMETHEUS" "${CHECKOUT[@]}" "${FRONTEND[@]}" "$(web "$WEB_TERMINATING")"
events=$(source_field events)
kube "release?resource=nodes&count=1" >/dev/null   # node2's status heartbeat
wait_source '.revision | startswith("nodes=48233 ")' 10 "the node heartbeat's resourceVersion"
[ "$(source_field events)" = "$events" ] || pl_fail "a Node heartbeat made a delta (events $events -> $(source_field events))"
pass "a Node status heartbeat changes nothing (events stay $events)"
kube "release?resource=endpointslices&count=1" >/dev/null  # a BOOKMARK
wait_source '.revision | endswith(" endpointslices=48236")' 10 "the bookmark's resourceVersion"
pass "a bookmark advances the resourceVersion: $(source_field revision)"

pl_log "dropping every watch connection (no TLS close_notify, no last chunk)"
reconnects=$(source_field reconnects)
kube drop >/dev/null
wait_source ".reconnects >= $((reconnects + 3)) and .state == \"synced\"" 15 "three resumed watches"
kube requests | jq -e 'map(select(test("endpointslices\\?watch=1&resourceVersion=48236&"))) | length >= 1' >/dev/null ||
  pl_fail "the endpointslices watch did not resume from the bookmark's resourceVersion 48236: $(kube requests)"
kube "release?resource=services&count=1" >/dev/null        # ADDED default/api
kube "release?resource=endpointslices&count=1" >/dev/null  # web's node2 pod is gone
WEB_NOW="10.210.1.12:8080 active local, 10.210.3.12:8080 active"
expect_services "resumed watches deliver a new service and an endpoint removal" \
  "$KUBERNETES" "${DNS[@]}" "$PROMETHEUS" "${CHECKOUT[@]}" "${FRONTEND[@]}" "$(web "$WEB_NOW")" "$(api "")"
[ "$(source_field resyncs)" = 0 ] || pl_fail "a resumed watch relisted (resyncs $(source_field resyncs))"
pass "watches resumed from their resourceVersions: reconnects $(source_field reconnects), resyncs 0"

pl_log "expiring the endpointslices resourceVersion: ERROR 410 in the running watch"
kube "expire?resource=endpointslices" >/dev/null
wait_source '.resyncs >= 1 and .state == "synced"' 15 "the relist after 410"
expect_services "after the relist the state is unchanged" \
  "$KUBERNETES" "${DNS[@]}" "$PROMETHEUS" "${CHECKOUT[@]}" "${FRONTEND[@]}" "$(web "$WEB_NOW")" "$(api "")"
kube requests | jq -e 'map(select(test("^GET /apis/discovery.k8s.io/v1/endpointslices -> 200"))) | length == 2' >/dev/null ||
  pl_fail "expected a second endpointslices list after the 410: $(kube requests)"

# --------------------------------------------------------- API server down
pl_log "stopping the API server"
kube stop >/dev/null
wait_source '.state == "disconnected" and (.last_error | test("cannot connect|watch"))' 15 "state disconnected"
pass "API server stopped: $(source_field state), \"$(source_field last_error)\""
expect_services "with the API server stopped the last state stays" \
  "$KUBERNETES" "${DNS[@]}" "$PROMETHEUS" "${CHECKOUT[@]}" "${FRONTEND[@]}" "$(web "$WEB_NOW")" "$(api "")"
reach_web "with the API server stopped"

pl_log "while it is down: a frontend slice and prometheus are deleted, node4 joins; every resourceVersion expires"
kube "release?resource=endpointslices&count=1" >/dev/null  # DELETED shop/frontend-h8w4q
kube "release?resource=services&count=2" >/dev/null        # BOOKMARK, DELETED monitoring/prometheus
kube "release?resource=nodes&count=1" >/dev/null           # ADDED node4
kube "expire?resource=endpointslices" >/dev/null
kube "expire?resource=nodes" >/dev/null
kube "expire?resource=services&http=1" >/dev/null           # this one answers HTTP 410
resyncs=$(source_field resyncs)
kube start >/dev/null
wait_source ".state == \"synced\" and .resyncs >= $((resyncs + 3))" 20 "relists after the restart"
mapfile -t FRONTEND < <(frontend "10.210.1.20:8080 active local, 10.210.2.20:8080 active")
expect_services "relisted after the restart: the changes made while down are there" \
  "$KUBERNETES" "${DNS[@]}" "${CHECKOUT[@]}" "${FRONTEND[@]}" "$(web "$WEB_NOW")" "$(api "")"
[ "$(peers)" = "10.210.2.0/24 via 192.168.50.12, 10.210.3.0/24 via 192.168.50.13, 10.210.4.0/24 via 192.168.50.14" ] ||
  pl_fail "node4's PodCIDR is not in the ipcache: $(peers)"
kube requests | jq -e 'map(select(test("^GET /api/v1/services\\?watch=1.* -> 410$"))) | length == 1' >/dev/null ||
  pl_fail "expected one services watch answered with HTTP 410: $(kube requests)"
pass "HTTP 410 and ERROR 410 both relisted: resyncs $(source_field resyncs), node4 in the ipcache"

pl_log "stopped and restarted again, nothing expired: the watches resume"
kube stop >/dev/null
wait_source '.state == "disconnected"' 15 "state disconnected"
kube "release?resource=endpointslices&count=1" >/dev/null  # ADDED default/api-xq9zd: 10.210.1.11
resyncs=$(source_field resyncs) reconnects=$(source_field reconnects)
kube start >/dev/null
wait_source ".state == \"synced\" and .reconnects >= $((reconnects + 3))" 20 "resumed watches"
expect_services "the event released while down arrives through the resumed watch" \
  "$KUBERNETES" "${DNS[@]}" "${CHECKOUT[@]}" "${FRONTEND[@]}" "$(web "$WEB_NOW")" "$(api "10.210.1.11:8080 active local")"
[ "$(source_field resyncs)" = "$resyncs" ] || pl_fail "resuming relisted (resyncs $resyncs -> $(source_field resyncs))"
pass "resumed without a relist (resyncs $resyncs, reconnects $(source_field reconnects))"

# ------------------------------------------------------- TLS and credentials
pl_log "the API server accepts only client certificates"
kube "auth?token=0&cert=1" >/dev/null
reconnects=$(source_field reconnects)
kube drop >/dev/null
wait_source ".state == \"synced\" and .reconnects >= $((reconnects + 3))" 20 "watches authenticated by the client certificate"
pass "the kubeconfig's client certificate authenticates podlaned (reconnects $(source_field reconnects))"

pl_log "the API server presents a certificate from a CA podlaned does not trust"
kube "certificate?cert=$PKI/rogue.crt&key=$PKI/rogue.key" >/dev/null
kube drop >/dev/null
wait_source '.state == "disconnected" and (.last_error | contains("not trusted by the CA of kubeconfig "))' 15 \
  "the untrusted certificate in status"
pass "untrusted server certificate: \"$(source_field last_error)\""
kube "certificate?cert=$PKI/elsewhere.crt&key=$PKI/elsewhere.key" >/dev/null
wait_source '.state == "disconnected" and (.last_error | contains("not valid for 127.0.0.1"))' 15 \
  "the certificate for another address in status"
pass "server certificate for another address: \"$(source_field last_error)\""
kube "certificate?cert=$PKI/apiserver.crt&key=$PKI/apiserver.key" >/dev/null
wait_source '.state == "synced"' 20 "synced with the right server certificate"

pl_log "the API server revokes podlaned's token (client certificates no longer accepted)"
kube "auth?token=1&cert=0" >/dev/null
kube "token?value=$(openssl rand -hex 24)" >/dev/null
kube drop >/dev/null
wait_source '.state == "disconnected" and (.last_error | contains("HTTP 401 Unauthorized")) and (.last_error | contains("check its token"))' \
  15 "the 401 in status"
pass "revoked token: $(source_field state), \"$(source_field last_error)\""
expect_services "the services stay through the 401" \
  "$KUBERNETES" "${DNS[@]}" "${CHECKOUT[@]}" "${FRONTEND[@]}" "$(web "$WEB_NOW")" "$(api "10.210.1.11:8080 active local")"
kube "token?value=$TOKEN" >/dev/null
wait_source '.state == "synced"' 20 "synced with the right token"
reach_web "after the token is fixed"

grep -q "watch loop failed" "$RUN/node1.log" && pl_fail "a watch loop failed: $(grep 'watch loop failed' "$RUN/node1.log")"
kill -0 "$(cat "$RUN/node1.pid")" || pl_fail "podlaned exited"
cli status
pl_log "integration-k8s-source: all checks passed"
