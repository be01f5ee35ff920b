#!/usr/bin/python3
"""Long-lived TCP connections across podlaned restarts (integration-restart).

  restart_client.py DIR long:HOST:PORT:N ... [new:HOST:PORT:N ...]

Opens N connections to each long:HOST:PORT at start and keeps them. Each
time a file DIR/go<R> appears (R = 1, 2, ...), runs round R: every long
connection sends "r<R>-<i>" and reads the answer (10 s at most), and for each
new:HOST:PORT, N fresh connections each do one exchange and close (a
session-affinity client). The round's outcome is written to DIR/round<R>.json:
per connection its answer's backend name and peer, or the error (reset,
timeout, closed). DIR/stop ends the client. Writes DIR/ready once the long
connections are open."""
import json
import os
import socket
import sys
import time


def exchange(sock, text):
    sock.sendall((text + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by the peer")
        buf += chunk
    fields = dict(f.split("=", 1) for f in buf.decode().split())
    if fields.get("got") != text:
        raise ValueError(f"answered {fields.get('got')!r} to {text!r}")
    return fields


def outcome(fn):
    try:
        f = fn()
        return {"name": f["name"], "peer": f["peer"], "error": None}
    except Exception as e:  # reported, the test decides
        return {"name": None, "peer": None, "error": f"{type(e).__name__}: {e}"}


def parse(spec):
    kind, host, port, n = spec.split(":")
    return kind, host, int(port), int(n)


def main():
    out = sys.argv[1]
    specs = [parse(s) for s in sys.argv[2:]]
    longs = []
    for kind, host, port, n in specs:
        if kind != "long":
            continue
        for i in range(n):
            s = socket.create_connection((host, port), timeout=10)
            s.settimeout(10)
            longs.append({"target": f"{host}:{port}", "sock": s, "local": "%s:%d" % s.getsockname()})
    open(os.path.join(out, "ready"), "w").close()
    r = 1
    while not os.path.exists(os.path.join(out, "stop")):
        if not os.path.exists(os.path.join(out, f"go{r}")):
            time.sleep(0.05)
            continue
        result = {"long": [], "new": []}
        for i, c in enumerate(longs):
            o = outcome(lambda: exchange(c["sock"], f"r{r}-{i}"))
            o.update(target=c["target"], local=c["local"])
            result["long"].append(o)
        for kind, host, port, n in specs:
            if kind != "new":
                continue
            for i in range(n):
                def once():
                    with socket.create_connection((host, port), timeout=5) as s:
                        s.settimeout(5)
                        return exchange(s, f"r{r}-new-{i}")
                o = outcome(once)
                o.update(target=f"{host}:{port}")
                result["new"].append(o)
        tmp = os.path.join(out, f"round{r}.json.tmp")
        with open(tmp, "w") as f:
            json.dump(result, f)
        os.rename(tmp, os.path.join(out, f"round{r}.json"))
        r += 1


main()
