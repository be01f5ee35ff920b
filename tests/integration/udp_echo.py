#!/usr/bin/python3
"""A UDP echo backend for lab pods: udp_echo.py ADDR PORT NAME LOG [--digest].

Answers every datagram with "NAME " + the datagram (with --digest: "NAME
digest LENGTH SHA256-HEX" of the datagram, a short answer to a large
datagram), and appends one line per
datagram to LOG: the datagram's first two words (the client's sequence
number and its CLOCK_MONOTONIC send time in ns). hitless.sh reads the logs
to prove that no packet sent after a backend's removal reached it."""
import socket
import sys

import hashlib

digest = sys.argv[5:] == ["--digest"]
if len(sys.argv) not in (5, 6) or (len(sys.argv) == 6 and not digest):
    sys.exit("usage: udp_echo.py ADDR PORT NAME LOG [--digest]")
addr, port, name, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.bind((addr, port))
with open(log_path, "w", buffering=1) as log:
    while True:
        data, peer = sock.recvfrom(65535)
        if digest:
            sock.sendto(b"%s digest %d %s" % (name, len(data), hashlib.sha256(data).hexdigest().encode()), peer)
        else:
            sock.sendto(name + b" " + data, peer)
        words = data.split()
        if len(words) >= 2:
            log.write(words[0].decode() + " " + words[1].decode() + "\n")
