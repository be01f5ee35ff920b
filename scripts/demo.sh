#!/usr/bin/env bash
# Quick start #1: installs what is missing, builds, and runs podlaned on its
# embedded default config (configs/podlane.yaml): one node with three pods in
# network namespaces. It sends real traffic between the pods and ends with
# `podlane status`. podlaned keeps running; `scripts/demo.sh stop` stops it
# and removes the namespaces.
#
# Everything lives in namespaces the demo creates: the node (pl-node) and the
# pods (pl-pod-a, pl-pod-b, pl-pod-c). Nothing is configured in the root
# namespace and no route leads out.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_NS=pl-node
POD_NS=(pl-pod-a pl-pod-b pl-pod-c)
RUN_DIR=/run/podlane
LOG=$RUN_DIR/demo-podlaned.log
PIDFILE=$RUN_DIR/demo-podlaned.pid
PODLANE=./build/podlane

stop_demo() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    pid=$(cat "$PIDFILE")
    echo "demo: stopping podlaned (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    tail -n 20 "$LOG" || true
  fi
  rm -f "$PIDFILE"
  rm -rf "$RUN_DIR/www" "$RUN_DIR/www-b" "$RUN_DIR/www-c"
  for ns in "${POD_NS[@]}" "$NODE_NS"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}

if [ "${1:-}" = "stop" ]; then
  stop_demo
  exit 0
fi

scripts/install-deps.sh
scripts/build.sh
stop_demo 2>/dev/null || true   # a previous demo

echo "demo: creating namespaces $NODE_NS ${POD_NS[*]}"
for ns in "$NODE_NS" "${POD_NS[@]}"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done

mkdir -p "$RUN_DIR" && chmod 700 "$RUN_DIR"
echo "demo: starting podlaned (embedded default config) in $NODE_NS, log in $LOG"
ip netns exec "$NODE_NS" ./build/podlaned > "$LOG" 2>&1 &
echo $! > "$PIDFILE"
for _ in $(seq 100); do
  $PODLANE status >/dev/null 2>&1 && break
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "demo: podlaned exited:"; cat "$LOG"; exit 1
  fi
  sleep 0.2
done

run() { echo; echo "\$ $*"; "$@"; }

run $PODLANE endpoint list
run ip netns exec pl-pod-a ping -c 3 -i 0.2 10.200.0.1
run ip netns exec pl-pod-a ping -c 3 -i 0.2 10.200.0.12
run ip netns exec pl-pod-c ping -c 3 -i 0.2 10.200.0.11

echo; echo "demo: HTTP from pod-a to a server in pod-b"
mkdir -p "$RUN_DIR/www" && head -c 1000000 /dev/urandom > "$RUN_DIR/www/blob"
ip netns exec pl-pod-b /usr/bin/python3 tests/integration/http_server.py 10.200.0.12 8080 "$RUN_DIR/www" \
  > /dev/null 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do ip netns exec pl-pod-a curl -sf -o /dev/null http://10.200.0.12:8080/ && break; sleep 0.1; done
run ip netns exec pl-pod-a curl -sS -o /dev/null -w "HTTP %{http_code}, %{size_download} bytes in %{time_total}s\n" http://10.200.0.12:8080/blob
kill "$HTTP_PID" 2>/dev/null || true

echo; echo "demo: the ClusterIP service default/web (10.96.0.10:80) over pod-b and pod-c"
HTTP_PIDS=()
for pod in b c; do
  mkdir -p "$RUN_DIR/www-$pod" && echo "pod-$pod" > "$RUN_DIR/www-$pod/whoami"
  ip=10.200.0.$([ $pod = b ] && echo 12 || echo 13)
  ip netns exec pl-pod-$pod /usr/bin/python3 tests/integration/http_server.py $ip 8080 "$RUN_DIR/www-$pod" \
    > /dev/null 2>&1 &
  HTTP_PIDS+=($!)
  for _ in $(seq 50); do ip netns exec pl-pod-a curl -sf -o /dev/null http://$ip:8080/whoami && break; sleep 0.1; done
done
echo "\$ for i in 1 2 3 4 5 6; do ip netns exec pl-pod-a curl -s http://10.96.0.10/whoami; done"
for i in 1 2 3 4 5 6; do ip netns exec pl-pod-a curl -sS --max-time 5 http://10.96.0.10/whoami; done
kill "${HTTP_PIDS[@]}" 2>/dev/null || true
run $PODLANE service list
run $PODLANE ct list

run $PODLANE stats
run $PODLANE status

cat <<EOT

podlaned is running in namespace $NODE_NS (pid $(cat "$PIDFILE")). Try:
  $PODLANE endpoint list -o json
  ip netns exec pl-pod-a ping 10.200.0.13
  $PODLANE --help
Stop it and remove the namespaces with: scripts/demo.sh stop
EOT
