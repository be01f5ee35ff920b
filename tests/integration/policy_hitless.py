#!/usr/bin/env python3
"""The hitless part of tests/integration/policy.sh.

  policy_hitless.py send IP PORT SECONDS
      UDP echo requests to IP:PORT every 5 ms for SECONDS; prints "LOST SENT".
  policy_hitless.py churn ETCD_URL CHANGES RATE
      puts and deletes <prefix>policies/churn (a NetworkPolicy) CHANGES times
      at RATE a second through etcd's v3 JSON gateway; prints "CHANGES SECONDS".
"""
import base64
import json
import socket
import sys
import time
import urllib.request


def send(ip, port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((ip, port))
    s.settimeout(1.0)
    sent = got = 0
    end = time.time() + seconds
    while time.time() < end:
        s.send(str(sent).encode())
        sent += 1
        try:
            s.recv(64)
            got += 1
        except OSError:
            pass
        time.sleep(0.005)
    print(sent - got, sent)


def churn(url, changes, rate):
    def b64(s):
        return base64.b64encode(s.encode()).decode()

    def call(path, body):
        req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()

    key = "/podlane/policies/churn"
    t0 = time.time()
    for n in range(changes):
        pol = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": "churn", "namespace": "pb"},
               "spec": {"podSelector": {"matchLabels": {"role": "server"}},
                        "ingress": [{"ports": [{"protocol": "TCP", "port": 1000 + n}]}]}}
        if n % 2 == 0:
            call("/v3/kv/put", {"key": b64(key), "value": b64(json.dumps(pol))})
        else:
            call("/v3/kv/deleterange", {"key": b64(key)})
        time.sleep(max(0.0, t0 + (n + 1) / rate - time.time()))
    print(changes, round(time.time() - t0, 2))


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        churn(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
