#!/usr/bin/python3
"""Drives service updates through podlaned's API: service_churn.py SOCKET RATE SECONDS OUT.

Sends RATE service.update requests per second for SECONDS over one API
connection, pipelined (a reader thread takes the answers). Every 20th update
changes the traffic service "hitless/churn" (UDP 10.96.0.50:53 -> 5353),
whose backends rotate through subsets of the four pods B1..B4 (10.205.0.21-24);
the others change 50 filler services' backends. Writes OUT as JSON:
updates answered, errors, the achieved rate, and for every churn update the
backend set with its request-sent and answered times (CLOCK_MONOTONIC ns; an
answer means every worker uses the new tables)."""
import json
import socket
import sys
import threading
import time

sock_path, rate, seconds, out_path = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
BACKENDS = ["10.205.0.21", "10.205.0.22", "10.205.0.23", "10.205.0.24"]
# Each backend is left out for three churn updates in a row (60 ms at 1,000
# updates/s), so the test sees traffic well inside every removal; the weights
# alternate so that every churn update is a real change.
SUBSETS = [[1, 2, 3], [1, 3], [1, 3], [0, 1, 3], [0, 1], [0, 1], [0, 1, 2], [0, 2], [0, 2],
           [0, 2, 3], [2, 3], [2, 3]]


def churn_yaml(subset, n):
    backends = ", ".join("{ip: %s, weight: %d}" % (BACKENDS[i], 1 + n % 2) for i in subset)
    return ("services:\n  - {name: hitless/churn, cluster_ip: 10.96.0.50, "
            "ports: [{protocol: UDP, port: 53, target_port: 5353}], backends: [%s]}\n" % backends)


def filler_yaml(i, n):
    backends = ", ".join("{ip: 10.206.%d.%d}" % (i, 1 + (n + k) % 200) for k in range(3))
    return ("services:\n  - {name: filler/svc-%d, cluster_ip: 10.97.0.%d, ports: [{port: 80}], backends: [%s]}\n"
            % (i, 10 + i, backends))


conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
conn.connect(sock_path)
requests = []  # (kind, subset, sent_ns)
answers = []   # (ok, answered_ns, error)
lock = threading.Lock()
done_sending = threading.Event()


def reader():
    buf = b""
    f = conn.makefile("rb")
    while True:
        line = f.readline()
        if not line:
            return
        reply = json.loads(line)
        with lock:
            answers.append((reply.get("ok", False), time.monotonic_ns(), reply.get("error")))
            if done_sending.is_set() and len(answers) >= len(requests):
                return


t = threading.Thread(target=reader)
t.start()
start = time.monotonic()
interval = 1.0 / rate
n = 0
churns = 0
while time.monotonic() - start < seconds:
    target = start + n * interval
    delay = target - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    if n % 20 == 0:
        subset = SUBSETS[churns % len(SUBSETS)]
        churns += 1
        yaml, kind = churn_yaml(subset, churns), "churn"
    else:
        subset, kind = None, "filler"
        yaml = filler_yaml(n % 50, n)
    msg = json.dumps({"cmd": "service.update", "args": {"yaml": yaml}}) + "\n"
    with lock:
        requests.append((kind, subset, time.monotonic_ns()))
    conn.sendall(msg.encode())
    n += 1
done_sending.set()
t.join(timeout=30)
elapsed = time.monotonic() - start
with lock:
    answered = len(answers)
    errors = [a[2] for a in answers if not a[0]][:5]
    last_answer_s = (answers[-1][1] / 1e9 - start) if answers else 0
    churn = [{"backends": [BACKENDS[i] for i in req[1]], "sent_ns": req[2], "answered_ns": ans[1]}
             for req, ans in zip(requests, answers) if req[0] == "churn"]
json.dump({"requested": len(requests), "answered": answered, "errors": errors,
           "rate": answered / max(last_answer_s, 1e-9), "seconds": last_answer_s, "churn": churn},
          open(out_path, "w"))
