#!/usr/bin/python3
"""A static HTTP server for lab pods: http_server.py ADDR PORT DIR.

Unlike `python3 -m http.server`, it never resolves its own name (HTTPServer
calls getfqdn(), which sends DNS queries out of the pod), so it starts at once
and sends nothing but HTTP."""
import functools
import http.server
import socketserver
import sys

addr, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
socketserver.TCPServer.allow_reuse_address = True
with socketserver.ThreadingTCPServer((addr, port), handler) as server:
    print(f"serving {directory} on {addr}:{port}", flush=True)
    server.serve_forever()
