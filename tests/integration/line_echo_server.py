#!/usr/bin/python3
"""A line server for lab pods and hosts: line_echo_server.py ADDR PORT NAME.

Every line a client sends is answered on the same connection with
"name=NAME peer=IP:PORT got=LINE\\n": NAME says which backend answered, and
IP:PORT is the peer as the server saw it (after any NAT on the way), so a
client sees whether its connection still reaches the same backend through the
same translation. One thread per connection; never resolves names."""
import socket
import socketserver
import sys

if len(sys.argv) != 4:
    sys.exit("usage: line_echo_server.py ADDR PORT NAME")
addr, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        for line in self.rfile:
            got = line.decode(errors="replace").strip()
            self.wfile.write(f"name={name} peer={peer} got={got}\n".encode())
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


with Server((addr, port), Handler) as server:
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    print(f"line echo {name} on {addr}:{port}", flush=True)
    server.serve_forever()
