#!/usr/bin/python3
"""A fake Kubernetes API server that replays recorded streams, for podlane's
Kubernetes source tests (python3 stdlib only).

  fake_kube_api.py --data DIR --port PORT --cert CRT --key KEY --token-file F
                   [--release nodes=N,services=N,endpointslices=N]

DIR holds, per resource (nodes, services, endpointslices), <resource>.list.json
(a List as the API server returns it, resourceVersion 1000) and
<resource>.watch.jsonl (the watch events that follow, each with its own
resourceVersion). It serves over HTTPS, with bearer-token auth:

  GET /api/v1/nodes, /api/v1/services, /apis/discovery.k8s.io/v1/endpointslices
      the current list, or with ?watch=1&resourceVersion=RV the released
      events after RV, then new ones as they are released, as a chunked stream
      of JSON lines; BOOKMARKs only with allowWatchBookmarks=true. A watch from
      a resourceVersion older than the last expiry gets an ERROR event with a
      410 Status, as a real API server sends it.

Control (no auth), to drive a test step by step:
  POST /__admin/release?resource=R&count=N   release R's next N recorded events
  POST /__admin/expire                       expire every resourceVersion so far:
                                             open watches get ERROR 410 and end
--release replays that many events per resource at start (a restart that
keeps the cluster's state)."""
import argparse
import http.server
import json
import socketserver
import ssl
import threading
import time
import urllib.parse

RESOURCES = {
    "/api/v1/nodes": "nodes",
    "/api/v1/services": "services",
    "/apis/discovery.k8s.io/v1/endpointslices": "endpointslices",
}

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--token-file", required=True)
ap.add_argument("--release", default="")
args = ap.parse_args()
TOKEN = open(args.token_file).read().strip()

lock = threading.Condition()
state = {}      # resource -> {"kind", "apiVersion", "items": {key: obj}}
pending = {}    # resource -> recorded events not released yet
log = {}        # resource -> released events [(rv, event)]
expired_below = 0  # watches from a resourceVersion below this get 410
epoch = 0          # bumped by expire: open watches end


def key(obj):
    m = obj["metadata"]
    return m.get("namespace", "") + "/" + m["name"]


for res in RESOURCES.values():
    lst = json.load(open(f"{args.data}/{res}.list.json"))
    state[res] = {"kind": lst["kind"], "apiVersion": lst["apiVersion"], "items": {key(o): o for o in lst["items"]}}
    pending[res] = [json.loads(l) for l in open(f"{args.data}/{res}.watch.jsonl") if l.strip()]
    log[res] = []


def rv_of(ev):
    return int(ev["object"]["metadata"]["resourceVersion"])


def current_rv():
    rvs = [1000] + [rv for res in log for rv, _ in log[res]]
    return max(rvs)


def release(res, n):
    with lock:
        for _ in range(min(n, len(pending[res]))):
            ev = pending[res].pop(0)
            obj = ev["object"]
            if ev["type"] in ("ADDED", "MODIFIED"):
                state[res]["items"][key(obj)] = obj
            elif ev["type"] == "DELETED":
                state[res]["items"].pop(key(obj), None)
            log[res].append((rv_of(ev), ev))
        lock.notify_all()


for part in filter(None, args.release.split(",")):
    r, n = part.split("=")
    release(r, int(n))


def gone_event():
    return {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                        "message": "too old resource version", "reason": "Expired", "code": 410}}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global expired_below, epoch
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/__admin/release":
            release(q["resource"][0], int(q.get("count", ["1"])[0]))
            return self.send_json(200, {"rv": current_rv()})
        if url.path == "/__admin/expire":
            with lock:
                expired_below = current_rv()  # a watch from the current version is fine
                epoch += 1
                lock.notify_all()
            return self.send_json(200, {"expired_below": expired_below})
        self.send_json(404, {"kind": "Status", "code": 404})

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.send_json(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
        url = urllib.parse.urlparse(self.path)
        res = RESOURCES.get(url.path)
        if res is None:
            return self.send_json(404, {"kind": "Status", "code": 404, "message": "not found"})
        q = urllib.parse.parse_qs(url.query)
        if q.get("watch", ["0"])[0] not in ("1", "true"):
            with lock:
                st = state[res]
                lst = {"kind": st["kind"], "apiVersion": st["apiVersion"],
                       "metadata": {"resourceVersion": str(current_rv())}, "items": list(st["items"].values())}
            return self.send_json(200, lst)
        self.watch(res, int(q.get("resourceVersion", ["0"])[0] or 0), q.get("allowWatchBookmarks", ["false"])[0] == "true",
                   int(q.get("timeoutSeconds", ["300"])[0]))

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, res, rv, bookmarks, timeout):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + timeout
        with lock:
            my_epoch = epoch
        try:
            while time.monotonic() < deadline:
                with lock:
                    if rv < expired_below or epoch != my_epoch:
                        self.chunk(gone_event())
                        break
                    todo = [(r, e) for r, e in log[res] if r > rv]
                    if not todo:
                        lock.wait(0.2)
                        continue
                for r, ev in todo:
                    rv = r
                    if ev["type"] == "BOOKMARK" and not bookmarks:
                        continue
                    self.chunk(ev)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", args.port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(f"fake kube-apiserver on https://127.0.0.1:{args.port}", flush=True)
server.serve_forever()
