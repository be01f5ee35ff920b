#!/usr/bin/env python3
"""Writes N services into etcd one put at a time (one /v3/kv/put each, over
one kept-alive HTTP connection to the JSON gateway), as a controller writing
a stream of services would; or, with --yaml, prints them as a kvstore file.

usage: etcd_put_services.py HOST:PORT COUNT NAME_PREFIX VIP_OCTET [--yaml]
Prints the wall time of the last put (seconds since the epoch) on stdout."""
import base64
import http.client
import json
import sys
import time


def service(i, prefix, octet):
    return {
        "name": "%s-%05d" % (prefix, i),
        "cluster_ip": "10.96.%d.%d" % (octet + i // 250, i % 250 + 1),
        "ports": [{"name": "http", "port": 80, "target_port": 8080}],
        "backends": [{"ip": "10.211.%d.%d" % ((i * 10 + k) // 250 % 250, (i * 10 + k) % 250 + 1)} for k in range(10)],
    }


def main():
    endpoint, count, prefix, octet = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    if "--yaml" in sys.argv:
        print("services:")
        for i in range(count):
            print("  - " + json.dumps(service(i, prefix, octet)))
        return
    host, port = endpoint.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    last = 0.0
    for i in range(count):
        s = service(i, prefix, octet)
        body = json.dumps({"key": base64.b64encode(("/podlane/services/" + s["name"]).encode()).decode(),
                           "value": base64.b64encode(json.dumps(s).encode()).decode()})
        conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            sys.exit("put %d: HTTP %d" % (i, answer.status))
        last = time.time()
    print("%.3f" % last)


main()
