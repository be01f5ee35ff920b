#!/usr/bin/python3
"""A fake Kubernetes API server for podlane's integration tests.

    fake_kube_api.py --data DIR --cert CRT --key KEY --token TOKEN
                     --listen ADDR:PORT --control SOCKET [--client-ca CA]

It serves, over HTTPS, the collections podlaned lists and watches
(/api/v1/nodes, /api/v1/services, /apis/discovery.k8s.io/v1/endpointslices,
and, when DIR has their files, Cilium's /apis/cilium.io/v2/ciliumbgpclusterconfigs,
ciliumbgppeerconfigs, ciliumbgpadvertisements and ciliumloadbalancerippools;
without them those answer 404, as an API server without Cilium's CRDs does)
by replaying recorded, real-shaped data from DIR: for a resource R,

    R.json         the list as the API server returns it (metadata.resourceVersion)
    R.watch.jsonl  the watch events that follow, one JSON object a line, in
                   order ({"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK", "object": {...}})

Nothing is sent by itself: the test releases events with the control socket.
A released event changes what a list returns, and is streamed to every open
watch of R. A watch (?watch=1&resourceVersion=RV) gets the released events
whose resourceVersion is above RV, then waits for more until its
timeoutSeconds.

GET /api/v1/nodes/NAME answers one Node. PATCH /api/v1/namespaces/NS/services/NAME/status with a JSON merge patch
(application/merge-patch+json) changes the Service's status as the API
server does: with metadata.resourceVersion in the patch, only if it is the
Service's current one (else 409 Conflict); the Service gets a new
resourceVersion and a MODIFIED event goes to every watch. Requests need "Authorization: Bearer TOKEN" (or, with
--client-ca, a client certificate signed by that CA), else 401.

The control socket is HTTP over a unix socket (curl --unix-socket SOCKET
http://fake/...):

    /release?resource=R&count=N  release the next N recorded events of R
    /expire?resource=R[&http=1]  compact R at the current resourceVersion: open
                                 watches of R end with an ERROR 410 event, and
                                 a watch from an older resourceVersion gets
                                 one (or, with http=1, an HTTP 410 response)
    /drop                        break every open watch (TCP closed, no TLS
                                 close_notify, no last chunk)
    /stop, /start                close / reopen the HTTPS port (state is kept)
    /token?value=T               accept only token T from now on
    /auth?token=0|1&cert=0|1     whether a token / a client certificate is accepted
    /certificate?cert=CRT&key=K  serve this certificate to new connections
    /state                       JSON: released counts, resourceVersions, open watches,
                                 last_sent (per resource: when the last event went
                                 to a watch, seconds since the epoch, or null)
    /patches                     JSON: every status PATCH applied ({"service", "status"})
    /requests                    JSON: every API request so far ("GET path -> status", "PATCH path -> status")

Everything stays on the addresses given; the server never connects anywhere.
"""
import argparse
import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

RESOURCES = {
    "/api/v1/nodes": ("nodes", "NodeList", "v1"),
    "/api/v1/services": ("services", "ServiceList", "v1"),
    "/apis/discovery.k8s.io/v1/endpointslices": ("endpointslices", "EndpointSliceList", "discovery.k8s.io/v1"),
}
OPTIONAL = {  # served only when the data directory has them (CRDs installed)
    "/apis/cilium.io/v2/ciliumbgpclusterconfigs": ("ciliumbgpclusterconfigs", "CiliumBGPClusterConfigList", "cilium.io/v2"),
    "/apis/cilium.io/v2/ciliumbgppeerconfigs": ("ciliumbgppeerconfigs", "CiliumBGPPeerConfigList", "cilium.io/v2"),
    "/apis/cilium.io/v2/ciliumbgpadvertisements": ("ciliumbgpadvertisements", "CiliumBGPAdvertisementList", "cilium.io/v2"),
    "/apis/cilium.io/v2/ciliumloadbalancerippools": ("ciliumloadbalancerippools", "CiliumLoadBalancerIPPoolList",
                                                     "cilium.io/v2"),
}


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def status_object(code, reason, message):
    """A metav1.Status, as the API server reports errors."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def object_key(obj):
    meta = obj.get("metadata", {})
    return (meta.get("namespace", ""), meta.get("name", ""))


class Cluster:
    """The recorded data, what has been released of it, and the watches."""

    def __init__(self, data_dir, token):
        global NAMES
        for path, res in OPTIONAL.items():
            if os.path.exists(os.path.join(data_dir, res[0] + ".json")):
                RESOURCES[path] = res
        NAMES = [r[0] for r in RESOURCES.values()]
        self.cond = threading.Condition()
        self.token = token
        self.lists, self.events, self.objects = {}, {}, {}
        self.released = {r: 0 for r in NAMES}
        self.last_sent = {r: None for r in NAMES}
        self.compacted = {r: 0 for r in NAMES}
        self.http_410 = {r: False for r in NAMES}
        self.expire_gen = {r: 0 for r in NAMES}
        self.drop_gen = 0
        self.accept_token = True
        self.accept_cert = True
        self.stopped = False
        self.watches = 0
        self.requests = []
        self.patches = []
        self.rv = 0
        for r in NAMES:
            with open(os.path.join(data_dir, r + ".json")) as f:
                self.lists[r] = json.load(f)
            events = os.path.join(data_dir, r + ".watch.jsonl")
            self.events[r] = []
            if os.path.exists(events):
                with open(events) as f:
                    self.events[r] = [json.loads(line) for line in f if line.strip()]
            self.objects[r] = {object_key(o): o for o in self.lists[r]["items"]}
            self.rv = max(self.rv, int(self.lists[r]["metadata"]["resourceVersion"]))

    def release(self, r, count):
        with self.cond:
            for _ in range(count):
                if self.released[r] >= len(self.events[r]):
                    raise ValueError(f"{r}: all {len(self.events[r])} recorded events are released")
                ev = self.events[r][self.released[r]]
                self.released[r] += 1
                obj = ev["object"]
                if ev["type"] in ("ADDED", "MODIFIED"):
                    self.objects[r][object_key(obj)] = obj
                elif ev["type"] == "DELETED":
                    self.objects[r].pop(object_key(obj), None)
                self.rv = max(self.rv, int(obj["metadata"]["resourceVersion"]))
            self.cond.notify_all()
            return self.released[r]

    def patch_status(self, namespace, name, patch):
        """A merge patch of a Service's status: (code, object or Status)."""
        with self.cond:
            svc = self.objects["services"].get((namespace, name))
            if svc is None:
                return 404, status_object(404, "NotFound", f'services "{name}" not found')
            want = (patch.get("metadata") or {}).get("resourceVersion")
            if want and want != svc["metadata"]["resourceVersion"]:
                return 409, status_object(409, "Conflict", f'Operation cannot be fulfilled on services "{name}": '
                                          "the object has been modified; please apply your changes to the latest "
                                          "version and try again")
            svc = json.loads(json.dumps(svc))
            svc["status"] = merge_patch(svc.get("status") or {}, patch.get("status") or {})
            self.rv += 1
            svc["metadata"]["resourceVersion"] = str(self.rv)
            self.objects["services"][(namespace, name)] = svc
            # Released at once: it goes before the recorded events not released yet.
            self.events["services"].insert(self.released["services"], {"type": "MODIFIED", "object": svc})
            self.released["services"] += 1
            self.patches.append({"service": f"{namespace}/{name}", "status": svc["status"]})
            self.cond.notify_all()
            return 200, svc

    def list_body(self, r):
        """The list as it is now: recorded items with the released events applied."""
        with self.cond:
            kind, api_version = next((k, v) for n, k, v in RESOURCES.values() if n == r)
            items = []
            for key in sorted(self.objects[r]):
                item = dict(self.objects[r][key])
                item.pop("kind", None)  # list items carry neither
                item.pop("apiVersion", None)
                items.append(item)
            return {"kind": kind, "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(self.rv)}, "items": items}

    def state(self):
        with self.cond:
            return {"released": dict(self.released), "recorded": {r: len(self.events[r]) for r in NAMES},
                    "resource_version": str(self.rv), "compacted": dict(self.compacted),
                    "watches": self.watches, "stopped": self.stopped, "requests": len(self.requests),
                    "last_sent": dict(self.last_sent)}


class ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    sys_version = ""

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_kube_api: %s\n" % (fmt % args))

    def send_json(self, code, obj):
        body = (compact(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        cluster = self.server.cluster
        with cluster.cond:
            token, accept_token, accept_cert = cluster.token, cluster.accept_token, cluster.accept_cert
        if accept_token and self.headers.get("Authorization", "") == "Bearer " + token:
            return True
        try:
            return accept_cert and bool(self.connection.getpeercert())  # verified against --client-ca
        except (AttributeError, ValueError):
            return False

    def send_response(self, code, message=None):
        # Every answer is logged for /requests as it starts (a watch runs on).
        with self.server.cluster.cond:
            self.server.cluster.requests.append(f"{self.command} {self.path} -> {code}")
        super().send_response(code, message)

    def do_GET(self):
        cluster = self.server.cluster
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        res = RESOURCES.get(url.path)
        if not self.authorized():
            self.send_json(401, status_object(401, "Unauthorized", "Unauthorized"))
        elif res is None and url.path.startswith("/api/v1/nodes/"):  # one Node, as kubectl get node NAME
            with cluster.cond:
                node = cluster.objects["nodes"].get(("", url.path.rsplit("/", 1)[1]))
            if node is None:
                self.send_json(404, status_object(404, "NotFound", f'nodes "{url.path.rsplit("/", 1)[1]}" not found'))
            else:
                self.send_json(200, dict(node, kind="Node", apiVersion="v1"))
        elif res is None:
            self.send_json(404, status_object(404, "NotFound", "the server could not find the requested resource"))
        elif query.get("watch", ["0"])[0] in ("1", "true"):
            self.watch(res[0], query)
        else:
            self.send_json(200, cluster.list_body(res[0]))

    def do_PATCH(self):
        cluster = self.server.cluster
        parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        if not self.authorized():
            self.send_json(401, status_object(401, "Unauthorized", "Unauthorized"))
            return
        # api/v1/namespaces/NS/services/NAME/status
        if len(parts) != 7 or parts[:3] != ["api", "v1", "namespaces"] or parts[4] != "services" or parts[6] != "status":
            self.send_json(404, status_object(404, "NotFound", "the server could not find the requested resource"))
            return
        if self.headers.get("Content-Type", "") != "application/merge-patch+json":
            self.send_json(415, status_object(415, "UnsupportedMediaType", "the body of the request was in an unknown format"))
            return
        try:
            patch = json.loads(body)
        except ValueError:
            self.send_json(400, status_object(400, "BadRequest", "the patch is not JSON"))
            return
        code, obj = cluster.patch_status(parts[3], parts[5], patch)
        self.send_json(code, obj)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, r, query):
        cluster = self.server.cluster
        rv = int(query.get("resourceVersion", ["0"])[0] or 0)
        timeout = int(query.get("timeoutSeconds", ["1800"])[0])
        with cluster.cond:
            compacted, http_410, current = cluster.compacted[r], cluster.http_410[r], cluster.rv
        if rv < compacted:
            gone = status_object(410, "Expired", f"too old resource version: {rv} ({current})")
            if http_410:
                self.send_json(410, gone)
                return
            self.start_stream()
            self.chunk((compact({"type": "ERROR", "object": gone}) + "\n").encode())
            self.end_stream()
            return
        self.start_stream()
        with cluster.cond:
            events = cluster.events[r]
            sent = 0  # recorded events at or below rv were seen already
            while sent < cluster.released[r] and int(events[sent]["object"]["metadata"]["resourceVersion"]) <= rv:
                sent += 1
            drop_gen, expire_gen = cluster.drop_gen, cluster.expire_gen[r]
            cluster.watches += 1
        deadline = time.monotonic() + timeout
        try:
            while True:
                with cluster.cond:
                    while (sent >= cluster.released[r] and drop_gen == cluster.drop_gen and not cluster.stopped
                           and expire_gen == cluster.expire_gen[r] and time.monotonic() < deadline):
                        cluster.cond.wait(timeout=max(0.0, deadline - time.monotonic()))
                    pending = events[sent:cluster.released[r]]
                    sent = cluster.released[r]
                    dropped = drop_gen != cluster.drop_gen or cluster.stopped
                    expired = expire_gen != cluster.expire_gen[r]
                    current = cluster.rv
                if dropped:
                    self.abort()
                    return
                for ev in pending:
                    self.chunk((compact(ev) + "\n").encode())
                if pending:
                    with cluster.cond:
                        cluster.last_sent[r] = time.time()
                if expired:
                    gone = status_object(410, "Expired", f"too old resource version: {rv} ({current})")
                    self.chunk((compact({"type": "ERROR", "object": gone}) + "\n").encode())
                    self.end_stream()
                    return
                if pending:
                    rv = int(pending[-1]["object"]["metadata"]["resourceVersion"])
                if time.monotonic() >= deadline:
                    self.end_stream()
                    return
        except OSError:  # the client went away
            self.close_connection = True
        finally:
            with cluster.cond:
                cluster.watches -= 1

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def abort(self):
        """Ends the connection as a crashed or partitioned server would: no
        last chunk, no TLS close_notify."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class ApiServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, cluster, frontend):
        self.cluster, self.frontend = cluster, frontend
        self.open_sockets = set()
        self.lock = threading.Lock()
        super().__init__(addr, ApiHandler)

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread.
        try:
            tls_sock = self.frontend.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write(f"fake_kube_api: TLS handshake with {client_address[0]} failed: {e}\n")
            return
        with self.lock:
            self.open_sockets.add(tls_sock)
        try:
            super().finish_request(tls_sock, client_address)
        except (ssl.SSLError, OSError):
            pass
        finally:
            with self.lock:
                self.open_sockets.discard(tls_sock)
            tls_sock.close()

    def close_all(self):
        with self.lock:
            socks = list(self.open_sockets)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Frontend:
    """The HTTPS port, which can be closed and reopened."""

    def __init__(self, addr, cluster, tls):
        self.addr, self.cluster, self.tls = addr, cluster, tls
        self.server = None
        self.thread = None

    def start(self):
        if self.server:
            return
        with self.cluster.cond:
            self.cluster.stopped = False
        self.server = ApiServer(self.addr, self.cluster, self)
        self.addr = self.server.server_address  # keep the port picked for port 0
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if not self.server:
            return
        with self.cluster.cond:
            self.cluster.stopped = True
            self.cluster.drop_gen += 1  # open watches end as with /drop
            self.cluster.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        self.server.close_all()
        self.server = None


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def address_string(self):
        return "control"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_kube_api: control: %s\n" % (fmt % args))

    def reply(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        frontend, cluster = self.server.frontend, self.server.frontend.cluster
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        try:
            if url.path == "/release":
                r = q["resource"]
                if r not in NAMES:
                    raise ValueError(f"resource {r}: expected one of {NAMES}")
                n = cluster.release(r, int(q.get("count", "1")))
                self.reply(200, {"resource": r, "released": n, "resource_version": str(cluster.rv)})
            elif url.path == "/expire":
                r = q["resource"]
                if r not in NAMES:
                    raise ValueError(f"resource {r}: expected one of {NAMES}")
                with cluster.cond:
                    cluster.compacted[r] = cluster.rv
                    cluster.http_410[r] = q.get("http") == "1"
                    cluster.expire_gen[r] += 1
                    cluster.cond.notify_all()
                self.reply(200, {"resource": r, "compacted": cluster.rv})
            elif url.path == "/drop":
                with cluster.cond:
                    cluster.drop_gen += 1
                    cluster.cond.notify_all()
                self.reply(200, {"dropped": True})
            elif url.path == "/stop":
                frontend.stop()
                self.reply(200, {"stopped": True})
            elif url.path == "/start":
                frontend.start()
                self.reply(200, {"started": True})
            elif url.path == "/token":
                with cluster.cond:
                    cluster.token = q["value"]
                self.reply(200, {"token": "set"})
            elif url.path == "/auth":
                with cluster.cond:
                    cluster.accept_token = q.get("token", "1") == "1"
                    cluster.accept_cert = q.get("cert", "1") == "1"
                self.reply(200, {"token": cluster.accept_token, "cert": cluster.accept_cert})
            elif url.path == "/certificate":
                frontend.tls = self.server.make_tls(q["cert"], q["key"])
                self.reply(200, {"certificate": q["cert"]})
            elif url.path == "/state":
                self.reply(200, cluster.state())
            elif url.path == "/patches":
                with cluster.cond:
                    self.reply(200, list(cluster.patches))
            elif url.path == "/requests":
                with cluster.cond:
                    self.reply(200, list(cluster.requests))
            else:
                self.reply(404, {"error": "unknown control path " + url.path})
        except (KeyError, ValueError, OSError, ssl.SSLError) as e:
            self.reply(400, {"error": str(e)})


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca")
    p.add_argument("--token", required=True)
    p.add_argument("--listen", required=True, help="ADDR:PORT (port 0: any)")
    p.add_argument("--control", required=True, help="unix socket path")
    a = p.parse_args()
    host, port = a.listen.rsplit(":", 1)

    def make_tls(cert, key):
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        if a.client_ca:
            tls.load_verify_locations(a.client_ca)
            tls.verify_mode = ssl.CERT_OPTIONAL
        return tls

    cluster = Cluster(a.data, a.token)
    frontend = Frontend((host, int(port)), cluster, make_tls(a.cert, a.key))
    frontend.start()

    if os.path.exists(a.control):
        os.unlink(a.control)
    control = ControlServer(a.control, ControlHandler)
    control.frontend = frontend
    control.make_tls = make_tls
    sys.stderr.write(f"fake_kube_api: serving https://{frontend.addr[0]}:{frontend.addr[1]}, control {a.control}\n")
    sys.stderr.flush()
    try:
        control.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        frontend.stop()
        os.unlink(a.control)


if __name__ == "__main__":
    main()
