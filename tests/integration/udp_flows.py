#!/usr/bin/python3
"""Steady UDP traffic over many flows: udp_flows.py DST PORT FLOWS PPS SECONDS.

Opens FLOWS sockets (one source port each), sends PPS datagrams per second
in all, round-robin over the flows, for SECONDS, each "SEQ SEND_NS" with
SEND_NS = CLOCK_MONOTONIC in ns; then waits up to 2 s for the last replies.
Prints JSON: sent, received, lost (the first 20 lost sequence numbers) and
replies per backend name (the first word of each reply)."""
import json
import selectors
import socket
import sys
import time

dst, port, flows, pps, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
sel = selectors.DefaultSelector()
socks = []
for _ in range(flows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("0.0.0.0", 0))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    socks.append(s)

answered = set()
by_backend = {}


def drain(timeout):
    for key, _ in sel.select(timeout):
        while True:
            try:
                data = key.fileobj.recv(2048)
            except BlockingIOError:
                break
            words = data.split()
            if len(words) >= 2:
                answered.add(int(words[1]))
                name = words[0].decode()
                by_backend[name] = by_backend.get(name, 0) + 1


seq = 0
start = time.monotonic()
interval = 1.0 / pps
next_send = start
while True:
    now = time.monotonic()
    if now - start >= seconds:
        break
    while next_send <= now:
        socks[seq % flows].sendto(f"{seq} {time.monotonic_ns()}".encode(), (dst, port))
        seq += 1
        next_send += interval
    drain(max(0.0, next_send - time.monotonic()))
deadline = time.monotonic() + 2.0
while len(answered) < seq and time.monotonic() < deadline:
    drain(0.05)
lost = [i for i in range(seq) if i not in answered]
print(json.dumps({"sent": seq, "received": len(answered), "lost": lost[:20], "lost_count": len(lost),
                  "by_backend": by_backend}))
