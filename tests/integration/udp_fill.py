#!/usr/bin/python3
"""Fills a conntrack table with UDP flows, keeping one flow alive:
udp_fill.py DST PORT NEW_FLOWS.

First opens one "established" flow and gets an answer on it; then sends one
datagram on each of NEW_FLOWS new sockets (a new source port each, so a new
flow each) and counts the answers within 2 s; then asks on the established
flow again. Prints JSON {"established_before", "new_sent", "new_answered",
"established_after"} (the two established_* are true when answered)."""
import json
import resource
import selectors
import socket
import sys
import time

dst, port, new_flows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, new_flows + 64), hard))


def ask(sock):
    sock.settimeout(2)
    sock.send(b"0 0 established")
    try:
        return sock.recv(2048).endswith(b"established")
    except socket.timeout:
        return False


est = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
est.connect((dst, port))
before = ask(est)
sel = selectors.DefaultSelector()
socks = []
for i in range(new_flows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((dst, port))
    s.setblocking(False)
    s.send(b"%d 0 new" % (i + 1))
    sel.register(s, selectors.EVENT_READ)
    socks.append(s)
answered = 0
deadline = time.monotonic() + 2
while time.monotonic() < deadline:
    for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
        try:
            key.fileobj.recv(2048)
            answered += 1
        except BlockingIOError:
            pass
        sel.unregister(key.fileobj)
after = ask(est)
print(json.dumps({"established_before": before, "new_sent": new_flows, "new_answered": answered,
                  "established_after": after}))
