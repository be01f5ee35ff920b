#!/usr/bin/python3
"""A who-am-I HTTP server for lab pods: whoami_server.py ADDR PORT [NAME].

GET /whoami answers "name=NAME client=IP\\n": NAME (default: the hostname)
says which backend answered, IP is the peer address of the TCP connection as
the server saw it (after any NAT on the way). Every other path is a 404.

Like http_server.py it never resolves a name (HTTPServer's getfqdn() would
send DNS queries out of the pod), serves each connection in a thread, and
logs one line per request to stderr."""
import http.server
import socket
import socketserver
import sys

if len(sys.argv) not in (3, 4):
    sys.exit("usage: whoami_server.py ADDR PORT [NAME]")
addr, port = sys.argv[1], int(sys.argv[2])
name = sys.argv[3] if len(sys.argv) == 4 else socket.gethostname()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/whoami":
            self.send_error(404)
            return
        body = f"name={name} client={self.client_address[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


with Server((addr, port), Handler) as server:
    print(f"whoami {name} on {addr}:{port}", flush=True)
    server.serve_forever()
