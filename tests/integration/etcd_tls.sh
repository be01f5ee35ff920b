#!/usr/bin/env bash
# Integration test: the etcd source and `podlane kvstore` over TLS, against a
# real etcd (Debian's etcd-server) that serves https only and requires client
# certificates (--client-cert-auth), with a CA and certificates made by
# openssl for the test:
#   * kvstore apply/list with --cacert/--cert/--key write and read the state;
#     without a client certificate, or trusting another CA, they are refused
#     with the reason;
#   * podlaned with source.etcd https + ca_file/cert_file/key_file learns a
#     service from etcd and reports the source synced;
#   * podlaned trusting another CA stays disconnected and says why.
set -euo pipefail
PODLANED=$(realpath "$1")
PODLANE=$(realpath "$2")
source "$(dirname "$0")/lib.sh"
command -v etcd >/dev/null || pl_fail "etcd is missing (scripts/install-deps.sh installs etcd-server)"

id=$$
NS=pltls-$id
pl_netns "$NS"
ip -n "$NS" link set lo up
URL=https://127.0.0.1:2379
T=$PL_TMP

pl_log "a CA, etcd's server certificate (IP 127.0.0.1), a client certificate, and an unrelated CA"
mkcert() { # NAME CN [EXT]
  openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$1.key" -subj "/CN=$2" -out "$T/$1.csr" 2>/dev/null
  openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    ${3:+-extfile <(printf '%s' "$3")} -out "$T/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -subj "/CN=podlane-test-ca" -days 2 -out "$T/ca.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other-ca.key" -subj "/CN=other-ca" -days 2 -out "$T/other-ca.pem" 2>/dev/null
# etcd 3.4's JSON gateway dials etcd's gRPC with the server certificate as its client
# certificate: with --client-cert-auth it needs clientAuth too.
mkcert server etcd "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
mkcert client podlane "extendedKeyUsage=clientAuth"

pl_log "etcd in $NS, https only, client certificates required"
ip netns exec "$NS" etcd --name tls --data-dir "$T/etcd" \
  --listen-client-urls $URL --advertise-client-urls $URL \
  --cert-file "$T/server.pem" --key-file "$T/server.key" --trusted-ca-file "$T/ca.pem" --client-cert-auth \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster tls=http://127.0.0.1:2380 > "$T/etcd.log" 2>&1 &
PL_PIDS+=($!)
healthy() { ip netns exec "$NS" curl -sf --max-time 1 --cacert "$T/ca.pem" --cert "$T/client.pem" --key "$T/client.key" $URL/health; }
pl_wait_for "etcd to answer over TLS" 20 healthy

cat > "$T/state.yaml" <<YAML
services:
  - name: default/web
    cluster_ip: 10.96.0.10
    ports: [{port: 80, target_port: 8080}]
    backends: [{ip: 10.211.0.11}]
YAML
kv() { ip netns exec "$NS" "$PODLANE" kvstore "$@"; }
pl_log "kvstore apply and list over TLS"
kv apply -f "$T/state.yaml" --etcd $URL --cacert "$T/ca.pem" --cert "$T/client.pem" --key "$T/client.key"
kv list --etcd $URL --cacert "$T/ca.pem" --cert "$T/client.pem" --key "$T/client.key" | grep -q "default/web" ||
  pl_fail "kvstore list over TLS does not show default/web"

rc=0; out=$(kv list --etcd $URL --cacert "$T/other-ca.pem" --cert "$T/client.pem" --key "$T/client.key" 2>&1) || rc=$?
[ "$rc" != 0 ] && grep -qi "certificate verify failed" <<<"$out" || pl_fail "a server signed by an untrusted CA was accepted: $out"
pl_log "untrusted CA: $out"
rc=0; out=$(kv list --etcd $URL --cacert "$T/ca.pem" 2>&1) || rc=$?
[ "$rc" != 0 ] || pl_fail "etcd answered a client without a certificate: $out"
pl_log "no client certificate: $out"
rc=0; out=$(kv list --etcd $URL --cert "$T/client.pem" 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q "go together" <<<"$out" || pl_fail "--cert without --key: $out"

node_config() { # NAME CA
  cat <<YAML
node: {name: $1}
dataplane: {worker_lcores: [1], file_prefix: podlane-tls-$1-$id, idle_sleep_us: 100, rx_ring_size: 256, tx_ring_size: 256}
network: {pod_cidr: 10.211.0.0/24, gateway_ip: 10.211.0.1}
api: {socket: $T/$1.sock}
metrics: {enabled: false}
source:
  kind: etcd
  etcd: {endpoints: [$URL], ca_file: $2, cert_file: $T/client.pem, key_file: $T/client.key}
YAML
}
node_config good "$T/ca.pem" > "$T/good.yaml"
node_config bad "$T/other-ca.pem" > "$T/bad.yaml"
"$PODLANED" --check-config "$T/good.yaml"
rc=0; out=$("$PODLANED" --check-config <(node_config good "$T/missing.pem") 2>&1) || rc=$?
[ "$rc" != 0 ] && grep -q "etcd.ca_file" <<<"$out" || pl_fail "a missing ca_file passed --check-config: $out"

pl_log "podlaned with source.etcd over TLS"
pl_start_podlaned "$NS" "$T/good.yaml" --socket "$T/good.sock"
learned() { "$PODLANE" --socket "$T/good.sock" service list -o json | jq -e 'any(.[]; .name == "default/web")'; }
pl_wait_for "podlaned to learn default/web from etcd over TLS" 20 learned
"$PODLANE" --socket "$T/good.sock" status -o json | jq -e --arg url $URL '.source | .state == "synced" and .endpoint == $url' >/dev/null ||
  pl_fail "source status: $("$PODLANE" --socket "$T/good.sock" status -o json | jq -c .source)"

pl_log "podlaned trusting another CA"
pl_start_podlaned "$NS" "$T/bad.yaml" --log "$T/podlaned-bad.log" --socket "$T/bad.sock"
refused() { "$PODLANE" --socket "$T/bad.sock" status -o json | jq -e '.source | .state != "synced" and (.last_error | test("verify failed"; "i"))'; }
pl_wait_for "the untrusted etcd to be refused with its reason" 10 refused
"$PODLANE" --socket "$T/bad.sock" service list -o json | jq -e 'length == 0' >/dev/null || pl_fail "podlaned took services from an untrusted etcd"
pl_log "refused: $("$PODLANE" --socket "$T/bad.sock" status -o json | jq -r .source.last_error)"
pl_log "PASS"
