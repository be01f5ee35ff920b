#!/usr/bin/python3
"""Sends large UDP datagrams to an echo server and checks the answers:
udp_big_echo.py ADDR PORT [SIZE] [COUNT] [--digest].

Each of COUNT datagrams carries SIZE bytes (default 4000: larger than any
lab MTU, so the sender's kernel fragments it) of a pattern unique to the
datagram; an answer must be "NAME " + the very datagram (udp_echo.py's),
or with --digest "NAME digest LENGTH SHA256" of it (udp_echo.py --digest).
Prints one JSON object: {"sent", "answered", "intact", "names", "peer"} and
exits 0 only if every datagram came back intact."""
import hashlib
import json
import socket
import sys

digest = "--digest" in sys.argv
sys.argv = [a for a in sys.argv if a != "--digest"]
addr, port = sys.argv[1], int(sys.argv[2])
size = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
count = int(sys.argv[4]) if len(sys.argv) > 4 else 3
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(3)
sock.connect((addr, port))
answered = intact = 0
names = set()
for i in range(count):
    head = f"{i} 0 ".encode()
    body = bytes((i * 7 + j) % 251 for j in range(size - len(head)))
    data = head + body
    sock.send(data)
    try:
        answer = sock.recv(65535)
    except socket.timeout:
        continue
    answered += 1
    name, _, echoed = answer.partition(b" ")
    names.add(name.decode(errors="replace"))
    want = b"digest %d %s" % (len(data), hashlib.sha256(data).hexdigest().encode()) if digest else data
    if echoed == want:
        intact += 1
print(json.dumps({"sent": count, "answered": answered, "intact": intact, "names": sorted(names),
                  "size": len(data), "local": "%s:%d" % sock.getsockname()}))
sys.exit(0 if intact == count else 1)
