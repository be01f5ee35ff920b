#!/usr/bin/env bash
# Integration test: the Kubernetes API as the cluster-state source, against
# tests/integration/fake_kube_api.py replaying recorded, real-shaped lists and
# watch streams (tests/data/k8s) over HTTPS with a bearer token, from a
# kubeconfig. Checks that podlaned
#   - lists Nodes, Services and EndpointSlices into the right services,
#     backends (ready, terminating, not serving) and other nodes;
#   - follows watch events (an EndpointSlice update, an added Service and Node);
#   - relists after 410 Gone and ends in the same state;
#   - keeps its last state while the API server is down, and resumes after;
#   - shows an authentication failure in status.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$(cd "$HERE/../data/k8s" && pwd)
source "$HERE/lib.sh"

id=$$
NS=plt-k8s-$id
export PODLANE_SOCKET=$PL_TMP/api.sock
pl_netns "$NS"

pl_log "certificates and a kubeconfig"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fake-ca" -keyout "$PL_TMP/ca.key" -out "$PL_TMP/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$PL_TMP/server.key" -out "$PL_TMP/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$PL_TMP/san.ext"
openssl x509 -req -in "$PL_TMP/server.csr" -CA "$PL_TMP/ca.crt" -CAkey "$PL_TMP/ca.key" -CAcreateserial -days 2 \
  -extfile "$PL_TMP/san.ext" -out "$PL_TMP/server.crt" 2>/dev/null
echo "podlane-test-token-$id" > "$PL_TMP/token"
cat > "$PL_TMP/kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: lab
clusters:
  - name: lab
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: $(base64 -w0 "$PL_TMP/ca.crt")
users:
  - name: podlane
    user:
      token: podlane-test-token-$id
contexts:
  - name: lab
    context: {cluster: lab, user: podlane}
YAML

API_PID=
start_api() { # start_api TOKEN_FILE [RELEASE]
  ip netns exec "$NS" python3 "$HERE/fake_kube_api.py" --data "$DATA" --port 6443 --cert "$PL_TMP/server.crt" \
    --key "$PL_TMP/server.key" --token-file "$1" --release "${2:-}" > "$PL_TMP/api.log" 2>&1 &
  API_PID=$!
  PL_PIDS+=("$API_PID")
  pl_wait_for "the fake API server" 10 grep -q "fake kube-apiserver on" "$PL_TMP/api.log"
}
stop_api() { kill "$API_PID"; wait "$API_PID" 2>/dev/null || true; }
admin() { ip netns exec "$NS" curl -sf --cacert "$PL_TMP/ca.crt" -X POST "https://127.0.0.1:6443/__admin/$1" > /dev/null; }
start_api "$PL_TMP/token"

cat > "$PL_TMP/node.yaml" <<YAML
node: {name: node1, ip: 192.168.50.11}
dataplane: {worker_lcores: [1], lcore_map: "0@0,1@1", file_prefix: podlane-k8s-$id, idle_sleep_us: 1000}
network: {pod_cidr: 10.210.1.0/24, gateway_ip: 10.210.1.1}
uplinks: [{name: eth0, devargs: net_null_k8s$id}]
host: {enabled: false}
api: {socket: $PODLANE_SOCKET}
metrics: {enabled: false}
source: {kind: kubernetes, kubernetes: {kubeconfig: $PL_TMP/kubeconfig}}
YAML
ip netns exec "$NS" "$PODLANED" --config "$PL_TMP/node.yaml" > "$PL_TMP/podlaned.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "the podlane API" 30 "$PODLANE" status
src() { "$PODLANE" status -o json | jq -c .source; }
synced() { src | jq -e '.kind == "kubernetes" and .state == "synced"'; }
pl_wait_for "the kubernetes source to sync" 15 synced

# backends NAME FRONTEND: "ip:port/state ..." of a service's frontend, sorted.
backends() {
  "$PODLANE" service list -o json | jq -r --arg n "$1" --arg f "$2" \
    '[.[] | select(.name == $n and .frontend == $f)][0].backends // [] | map("\(.address)/\(.state)") | sort | join(" ")'
}
frontends() { "$PODLANE" service list -o json | jq -r --arg n "$1" '[.[] | select(.name == $n) | .frontend] | sort | join(" ")'; }
names() { "$PODLANE" service list -o json | jq -r '[.[].name] | unique | join(" ")'; }
expect() { [ "$2" = "$3" ] || pl_fail "$1: got \"$2\", expected \"$3\""; }

pl_log "1. the listed state"
expect "services" "$(names)" "default/web shop/api shop/front"
expect "default/web backends" "$(backends default/web 10.96.0.10:80/TCP)" \
  "10.210.1.11:8080/active 10.210.2.11:8080/active 10.210.2.12:8080/terminating"
expect "shop/api frontends" "$(frontends shop/api)" \
  "10.96.0.20:53/UDP 10.96.0.20:9000/TCP 192.168.50.11:30053/UDP 192.168.50.11:30090/TCP"
expect "shop/api UDP backends" "$(backends shop/api 10.96.0.20:53/UDP)" "10.210.1.12:5353/active 10.210.3.11:5353/active"
expect "shop/front frontends" "$(frontends shop/front)" \
  "10.96.0.30:443/TCP 192.168.50.11:31443/TCP 192.168.60.30:443/TCP 192.168.70.30:443/TCP"
"$PODLANE" service list -o json | jq -e '[.[] | select(.name == "shop/api")][0].session_affinity == true' > /dev/null ||
  pl_fail "shop/api lost its ClientIP affinity"
expect "remote nodes" "$("$PODLANE" status -o json | jq .remote_nodes)" 2

pl_log "2. watch events"
admin "release?resource=endpointslices&count=1"
web3() { [ "$(backends default/web 10.96.0.10:80/TCP)" = "10.210.1.11:8080/active 10.210.2.11:8080/active 10.210.3.11:8080/active" ]; }
pl_wait_for "the EndpointSlice update" 5 web3
admin "release?resource=services&count=1"
admin "release?resource=nodes&count=1"
cache() { names | grep -q default/cache; }
pl_wait_for "the added Service" 5 cache
four() { [ "$("$PODLANE" status -o json | jq .remote_nodes)" = 3 ]; }
pl_wait_for "the added Node" 5 four

pl_log "3. 410 Gone: relist"
admin expire
relisted() { src | jq -e '.resyncs >= 1 and .state == "synced"'; }
pl_wait_for "a relist after 410" 10 relisted
expect "services after the relist" "$(names)" "default/cache default/web shop/api shop/front"
web3 || pl_fail "default/web changed across the relist"

pl_log "4. the API server goes away and comes back"
stop_api
down() { src | jq -e '.state == "disconnected"'; }
pl_wait_for "the source to report disconnected" 10 down
expect "services while the API server is down" "$(names)" "default/cache default/web shop/api shop/front"
start_api "$PL_TMP/token" "endpointslices=1,services=1,nodes=1"
resumed() { src | jq -e '.state == "synced" and .reconnects >= 1'; }
pl_wait_for "the watches to resume" 15 resumed
admin "release?resource=services&count=2"   # a bookmark, then shop/front deleted
admin "release?resource=endpointslices&count=2"
front_gone() { ! names | grep -q shop/front; }
pl_wait_for "shop/front's deletion" 5 front_gone

pl_log "5. a wrong token"
stop_api
echo "some-other-token" > "$PL_TMP/token2"
start_api "$PL_TMP/token2"
unauthorized() { src | jq -e '.last_error | test("401|Unauthorized")'; }
pl_wait_for "the authentication failure in status" 15 unauthorized
"$PODLANE" status | grep -A1 "Cluster source"
expect "services kept through an auth failure" "$(names)" "default/cache default/web shop/api"
pl_log "PASS: list, watch, bookmarks, 410 relist, outage and auth failure against recorded streams ($(src))"
