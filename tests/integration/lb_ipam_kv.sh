#!/usr/bin/env bash
# Integration test: LB IPAM with pools from Cilium's CiliumLoadBalancerIPPool
# objects and sticky, identical assignments on every node, through a real
# etcd and through the Kubernetes API (the fake API server).
#
# One namespace holds etcd (127.0.0.1), the fake API server (HTTPS,
# 127.0.0.1:6443) and the podlaned under test (no uplink: only the control
# side matters here; integration-lb-ipam curls assigned addresses).
#   etcd:  pool "blue" (172.16.7.0/30: .1 and .2; services not labelled
#          app=web) and pool "web" (172.16.7.9; app=web) as JSON under <prefix>cilium.io/v2/ciliumloadbalancerippools/;
#          services lbipam/b (no labels) and lbipam/w (app=web).
#          node A assigns b -> 172.16.7.1, w -> 172.16.7.9 (pool web) and records
#          both under <prefix>lbipam/services/ (a compare-and-swap transaction);
#          node B, started later, reads the records: the same addresses, and
#          no record of its own is written (etcd's mod revisions unchanged);
#          lbipam/a (sorting first) arrives: b keeps .1 (sticky), a gets .2, on
#          both nodes; node A restarted: the same; a pool with a bad block is
#          refused with its name and key in status.
#   k8s:   a CiliumLoadBalancerIPPool and a LoadBalancer Service without status:
#          node A (no pod_cidr in its file) takes its PodCIDR from its Node
#          object's spec.podCIDRs (ipam kubernetes);
#          node A PATCHes the Service's status (status.loadBalancer.ingress);
#          node B reads it (no PATCH of its own); node A restarted: the same
#          address, no new PATCH.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
for tool in etcd etcdctl jq openssl curl; do
  command -v "$tool" >/dev/null || pl_fail "$tool is missing (scripts/install-deps.sh installs it)"
done

id=$$
NS=plt-lbkv-$id
pl_netns "$NS"
ETCD=http://127.0.0.1:23790
PREFIX=/lbkv/
etcdctl_() { ip netns exec "$NS" etcdctl --endpoints "$ETCD" "$@"; }
pl_on_exit "[ \$PL_RC -eq 0 ] || { tail -n 15 $PL_TMP/podlaned*.log; tail -n 5 $PL_TMP/etcd.log; tail -n 20 $PL_TMP/fake-api.log; } 2>/dev/null"

ip netns exec "$NS" etcd --name lbkv --data-dir "$PL_TMP/etcd" \
  --listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
  --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
  --initial-cluster lbkv=http://127.0.0.1:23800 > "$PL_TMP/etcd.log" 2>&1 &
PL_PIDS+=("$!")
pl_wait_for "etcd" 10 etcdctl_ endpoint health

node_config() { # NAME N|- SOURCE_YAML (N: PodCIDR 10.209.N.0/24; -: none, from the Node object)
  cat > "$PL_TMP/$1.yaml" <<YAML
node: {name: $1}
dataplane: {worker_lcores: [1], lcore_map: "0@0,1@1", file_prefix: podlane-lbkv-$1-$id, idle_sleep_us: 100}
$([ "$2" = - ] || echo "network: {pod_cidr: 10.209.$2.0/24, gateway_ip: 10.209.$2.1}")
api: {socket: $PL_TMP/$1.sock}
metrics: {enabled: false}
$3
YAML
}
start() { # NAME
  pl_start_podlaned "$NS" "$PL_TMP/$1.yaml" --socket "$PL_TMP/$1.sock" --log "$PL_TMP/podlaned-$1.log"
  eval "PID_$1=$PL_PODLANED_PID"
}
stop() { local pid; eval "pid=\$PID_$1"; kill "$pid"; wait "$pid" 2>/dev/null || true; }
cli() { local n=$1; shift; "$PODLANE" --socket "$PL_TMP/$n.sock" "$@"; }
# lb NODE SERVICE: the service's LoadBalancer address as NODE serves it ("" if none).
lb() { cli "$1" service list -o json | jq -r --arg n "$2" '[.[] | select(.name == $n and .type == "LoadBalancer" and .frontend != null) | .frontend | split(":")[0]] | unique | join(",")'; }
expect_lb() { # NODE SERVICE ADDRESS
  is() { [ "$(lb "$1" "$2")" = "$3" ]; }
  pl_wait_for "$1 to serve $2 on $3" 10 is "$@" || pl_fail "$1 serves $2 on \"$(lb "$1" "$2")\", expected $3"
}

# ------------------------------------------------------------------- etcd
pl_log "etcd: pools as CiliumLoadBalancerIPPool objects, services in the config schema"
pool() { # NAME JSON_SPEC
  etcdctl_ put "${PREFIX}cilium.io/v2/ciliumloadbalancerippools/$1" \
    "{\"apiVersion\":\"cilium.io/v2\",\"kind\":\"CiliumLoadBalancerIPPool\",\"metadata\":{\"name\":\"$1\",\"creationTimestamp\":\"$3\"},\"spec\":$2}" > /dev/null
}
service() { # NAME N [LABELS_JSON]: cluster IP 10.96.9.N, node port 3090N
  etcdctl_ put "${PREFIX}services/lbipam/$1" \
    "{\"name\":\"lbipam/$1\",\"type\":\"LoadBalancer\",\"cluster_ip\":\"10.96.9.$2\",\"ports\":[{\"port\":80,\"target_port\":8080,\"node_port\":3090$2}],\"labels\":${3:-{\}}}" > /dev/null
}
pool blue '{"blocks":[{"cidr":"172.16.7.0/30"}],"serviceSelector":{"matchExpressions":[{"key":"app","operator":"NotIn","values":["web"]}]}}' \
  2026-12-01T00:00:00Z
pool web '{"blocks":[{"start":"172.16.7.9","stop":"172.16.7.9"}],"serviceSelector":{"matchLabels":{"app":"web"}}}' 2026-12-01T00:00:01Z
service b 2
service w 3 '{"app":"web"}'
ETCD_SOURCE="source: {kind: etcd, etcd: {endpoints: [$ETCD], prefix: $PREFIX}}"
node_config a 1 "$ETCD_SOURCE"
node_config b 2 "$ETCD_SOURCE"
start a
expect_lb a lbipam/b 172.16.7.1
expect_lb a lbipam/w 172.16.7.9
record() { etcdctl_ get "${PREFIX}lbipam/services/lbipam/$1" --print-value-only; }
has_record() { [ "$(record "$1")" = "{\"ips\":[\"$2\"]}" ]; }
pl_wait_for "node a's records in etcd" 5 has_record b 172.16.7.1 || pl_fail "record of lbipam/b: \"$(record b)\""
pl_wait_for "node a's record of lbipam/w" 5 has_record w 172.16.7.9 || pl_fail "record of lbipam/w: \"$(record w)\""
cli a lb-ipam pools -o json | jq -e '[.pools[] | {name, ips_used, ips_available}] ==
  [{"name": "blue", "ips_used": 1, "ips_available": 1}, {"name": "web", "ips_used": 1, "ips_available": 0}]' > /dev/null ||
  pl_fail "node a's pools: $(cli a lb-ipam pools -o json | jq -c .pools)"
revs() { etcdctl_ get --prefix "${PREFIX}lbipam/services/" -w json | jq -c '[.kvs[] | .mod_revision]'; }
before=$(revs)

pl_log "etcd: node b reads the records: the same addresses, nothing rewritten"
start b
expect_lb b lbipam/b 172.16.7.1
expect_lb b lbipam/w 172.16.7.9
sleep 0.5
[ "$(revs)" = "$before" ] || pl_fail "the records were rewritten: $before -> $(revs)"

pl_log "etcd: lbipam/a (sorting first) arrives: lbipam/b keeps 172.16.7.1 on both nodes"
service a 1
expect_lb a lbipam/a 172.16.7.2
expect_lb b lbipam/a 172.16.7.2
expect_lb a lbipam/b 172.16.7.1
expect_lb b lbipam/b 172.16.7.1
pl_wait_for "the record of lbipam/a" 5 has_record a 172.16.7.2 || pl_fail "record of lbipam/a: \"$(record a)\""

pl_log "etcd: node a restarted: the same addresses"
stop a
start a
for s in a:172.16.7.2 b:172.16.7.1 w:172.16.7.9; do expect_lb a "lbipam/${s%%:*}" "${s#*:}"; done

pl_log "etcd: a deleted service's record goes; a bad pool is refused by name and key"
etcdctl_ del "${PREFIX}services/lbipam/a" > /dev/null
gone() { [ -z "$(record a)" ]; }
pl_wait_for "the record of the deleted lbipam/a to go" 5 gone || pl_fail "record of lbipam/a stays: $(record a)"
pool bad '{"blocks":[{"cidr":"172.16.300.0/24"}]}' 2026-12-01T00:00:02Z
bad_named() { cli a status -o json | jq -e '.source.last_error | contains("CiliumLoadBalancerIPPool bad: spec.blocks[0].cidr")'; }
pl_wait_for "the bad pool's error in status" 5 bad_named || pl_fail "status: $(cli a status -o json | jq -c .source)"
cli a lb-ipam pools -o json | jq -e '[.pools[].name] == ["blue", "web"]' > /dev/null || pl_fail "the bad pool was not left out"
stop a; stop b

# --------------------------------------------------------------- Kubernetes
pl_log "kubernetes: a CiliumLoadBalancerIPPool and a LoadBalancer Service without status"
PKI=$PL_TMP/pki; DATA=$PL_TMP/kube; mkdir -p "$PKI" "$DATA"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=kube-apiserver" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$PKI/api.key" -out "$PKI/api.crt" 2>/dev/null
TOKEN=$(openssl rand -hex 16)
cat > "$PL_TMP/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: lab, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: $(base64 -w0 "$PKI/api.crt")}}]
users: [{name: podlane, user: {token: $TOKEN}}]
contexts: [{name: lab, context: {cluster: lab, user: podlane}}]
current-context: lab
YAML
list() { echo "{\"kind\":\"$1\",\"apiVersion\":\"$2\",\"metadata\":{\"resourceVersion\":\"100\"},\"items\":[$3]}"; }
list NodeList v1 '{"metadata":{"name":"a","resourceVersion":"80","labels":{"kubernetes.io/hostname":"a"}},
  "spec":{"podCIDR":"10.209.77.0/24","podCIDRs":["10.209.77.0/24"]},
  "status":{"addresses":[{"type":"InternalIP","address":"192.168.77.1"}]}}' > "$DATA/nodes.json"
list EndpointSliceList discovery.k8s.io/v1 '' > "$DATA/endpointslices.json"
list ServiceList v1 '{"metadata":{"name":"web","namespace":"shop","resourceVersion":"90","labels":{"app":"web"}},
  "spec":{"type":"LoadBalancer","clusterIP":"10.96.9.10","ports":[{"port":80,"targetPort":8080,"protocol":"TCP","nodePort":30910}]},
  "status":{"loadBalancer":{}}}' > "$DATA/services.json"
list CiliumLoadBalancerIPPoolList cilium.io/v2 '{"metadata":{"name":"cilium-pool","resourceVersion":"95"},
  "spec":{"allowFirstLastIPs":"No","blocks":[{"cidr":"172.16.1.0/24"}]}}' > "$DATA/ciliumloadbalancerippools.json"
for r in nodes services endpointslices; do : > "$DATA/$r.watch.jsonl"; done
CTL=$PL_TMP/kube.sock
ip netns exec "$NS" /usr/bin/python3 "$HERE/fake_kube_api.py" --data "$DATA" --cert "$PKI/api.crt" --key "$PKI/api.key" \
  --token "$TOKEN" --listen 127.0.0.1:6443 --control "$CTL" > "$PL_TMP/fake-api.log" 2>&1 &
PL_PIDS+=("$!")
kube() { curl -sS --fail --max-time 5 --unix-socket "$CTL" "http://fake-kube-api/$1"; }
pl_wait_for "the fake API server" 10 kube state
K8S_SOURCE="source: {kind: kubernetes, kubernetes: {kubeconfig: $PL_TMP/kubeconfig, timeout_ms: 2000}}"
node_config a - "$K8S_SOURCE"   # ipam kubernetes: the PodCIDR from Node a's spec.podCIDRs
node_config b 2 "$K8S_SOURCE"
start a
[ "$(cli a status -o json | jq -r .pod_cidr)" = 10.209.77.0/24 ] ||
  pl_fail "node a's PodCIDR is not its Node's spec.podCIDRs: $(cli a status -o json | jq -r .pod_cidr)"
expect_lb a shop/web 172.16.1.1
patches() { kube patches | jq -c '[.[] | [.service, (.status.loadBalancer.ingress // [] | map(.ip))]]'; }
patched() { [ "$(patches)" = '[["shop/web",["172.16.1.1"]]]' ]; }
pl_wait_for "node a's PATCH of shop/web's status" 5 patched || pl_fail "patches: $(patches)"
kube requests | jq -e 'any(.[]; . == "PATCH /api/v1/namespaces/shop/services/web/status -> 200")' > /dev/null ||
  pl_fail "no PATCH of the status subresource: $(kube requests | jq -c .)"
cli a lb-ipam pools -o json | jq -e '.pools == [.pools[0]] and .pools[0].name == "cilium-pool" and .pools[0].ips_used == 1
  and .pools[0].ips_available == 253' > /dev/null || pl_fail "pools: $(cli a lb-ipam pools -o json | jq -c .pools)"

pl_log "kubernetes: node b reads the status: the same address, no PATCH of its own"
start b
expect_lb b shop/web 172.16.1.1
sleep 0.5
patched || pl_fail "node b patched too: $(patches)"

pl_log "kubernetes: node a restarted: the same address from the status, no new PATCH"
stop a
start a
expect_lb a shop/web 172.16.1.1
sleep 0.5
patched || pl_fail "node a patched again after its restart: $(patches)"
pl_log "PASS: pools from CiliumLoadBalancerIPPool objects in etcd and Kubernetes; assignments recorded once (etcd transaction, Service status), read by the other node, kept when a service sorting first arrived and across restarts"
