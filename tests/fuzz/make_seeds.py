#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/.

Run it after changing a target's input format; the seeds are committed (a
few hundred bytes each). Frames use fuzz_node.h's addresses. Plain Python:
packets are packed by hand (RFC 791/768/793, RFC 7348 VXLAN, RFC 8926 Geneve).
"""
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def ip(s):
    return bytes(int(x) for x in s.split("."))


def mac_of(s):  # MacAddr::from_ipv4: 0a:58 + the address
    return b"\x0a\x58" + ip(s)


GW = "10.200.0.1"
A, B, C = "10.200.0.11", "10.200.0.12", "10.200.0.13"
NODE, PEER, EXT = "192.168.50.11", "192.168.50.12", "192.168.50.1"
REMOTE = "10.201.0.12"
WEB, NP, EMPTY = "10.96.0.10", "10.96.0.20", "10.96.0.30"


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ttl=64, frag=0, ident=1, options=b""):
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident, frag, ttl, proto, 0,
                    ip(src), ip(dst)) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def pseudo(src, dst, proto, l4):
    return ip(src) + ip(dst) + struct.pack("!BBH", 0, proto, len(l4))


def tcp(src, dst, sport, dport, flags=0x02, payload=b""):
    t = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags, 29200, 0, 0) + payload
    c = csum(pseudo(src, dst, 6, t) + t)
    return t[:16] + struct.pack("!H", c) + t[18:]


def udp(src, dst, sport, dport, payload=b"x" * 18, checksum=True):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if checksum:
        c = csum(pseudo(src, dst, 17, u) + u) or 0xFFFF
        u = u[:6] + struct.pack("!H", c) + u[8:]
    return u


def icmp(typ, code, rest=b"\0\x01\0\x01", payload=b"ping"):
    m = struct.pack("!BBH", typ, code, 0) + rest + payload
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def eth(src_mac, dst_mac, payload, ethertype=0x0800):
    return dst_mac + src_mac + struct.pack("!H", ethertype) + payload


def pod_ip_frame(src, dst, proto, l4, **kw):
    return eth(mac_of(src), mac_of(GW), ipv4(src, dst, proto, l4, **kw))


def pod_tcp(src, dst, sport, dport, flags=0x02, **kw):
    return pod_ip_frame(src, dst, 6, tcp(src, dst, sport, dport, flags), **kw)


def pod_udp(src, dst, sport, dport, **kw):
    return pod_ip_frame(src, dst, 17, udp(src, dst, sport, dport), **kw)


def arp_request(src_mac, src, target):
    a = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src_mac, ip(src), b"\0" * 6, ip(target))
    return eth(src_mac, b"\xff" * 6, a, 0x0806)


def vxlan(inner, vni=1001, src=PEER, dst=NODE, frag=0, sport=49152, dport=8472):
    v = struct.pack("!II", 0x08000000, vni << 8) + inner
    return eth(mac_of(src), mac_of(dst), ipv4(src, dst, 17, udp(src, dst, sport, dport, v, checksum=False), frag=frag))


def geneve(inner, vni=1001, options=b"", src=PEER, dst=NODE, frag=0, dport=6081, oam=False):
    assert len(options) % 4 == 0
    g = struct.pack("!BBH", len(options) // 4, 0x80 if oam else 0, 0x6558) + struct.pack("!I", vni << 8) + options
    return eth(mac_of(src), mac_of(dst),
               ipv4(src, dst, 17, udp(src, dst, 49152, dport, g + inner, checksum=False), frag=frag))


def geneve_option(cls, typ, data):
    assert len(data) % 4 == 0
    return struct.pack("!HBB", cls, typ, len(data) // 4) + data


def from_outside(l3):
    return eth(mac_of(EXT), mac_of(NODE), l3)


def seeds():
    s = {}
    # ---- pod_frame: control (bits 0-1 sender A/B/C/host, bit 2 Geneve), split, frame
    pf = {
        "syn-to-clusterip": (0, 0, pod_tcp(A, WEB, 40000, 80)),
        "udp-to-clusterip": (0, 0, pod_udp(A, WEB, 40000, 53)),
        "syn-to-clusterip-split": (0, 20, pod_tcp(A, WEB, 40000, 80)),
        "syn-to-nodeport-vip": (0, 0, pod_tcp(A, NP, 40000, 80)),
        "syn-to-no-backends": (0, 0, pod_tcp(A, EMPTY, 40000, 80)),
        "udp-to-no-backends": (0, 0, pod_udp(A, EMPTY, 40000, 80)),
        "pod-to-pod": (0, 0, pod_tcp(A, C, 40000, 22)),
        "pod-to-remote-vxlan": (0, 0, pod_udp(A, REMOTE, 40000, 8080)),
        "pod-to-remote-geneve": (4, 0, pod_udp(A, REMOTE, 40000, 8080)),
        "pod-to-remote-big-df": (0, 0, pod_ip_frame(A, REMOTE, 17, udp(A, REMOTE, 1, 2, b"z" * 1470), frag=0x4000)),
        "pod-to-outside": (0, 0, pod_tcp(A, EXT, 40000, 80)),
        "pod-to-node": (0, 0, pod_tcp(A, NODE, 40000, 30080)),
        "ping-gateway": (0, 0, pod_ip_frame(A, GW, 1, icmp(8, 0))),
        "ping-clusterip": (0, 0, pod_ip_frame(A, WEB, 1, icmp(8, 0))),
        "ping-outside": (0, 0, pod_ip_frame(A, EXT, 1, icmp(8, 0))),
        "arp-gateway": (0, 0, arp_request(mac_of(A), A, GW)),
        "ip-options": (0, 0, pod_tcp(A, WEB, 40000, 80, options=b"\x01\x01\x01\x00")),
        "first-fragment-to-clusterip": (0, 0, pod_udp(A, WEB, 40000, 53, frag=0x2000)),
        "later-fragment-to-clusterip": (0, 0, pod_ip_frame(A, WEB, 17, b"y" * 32, frag=0x0004)),
        "ttl-1-to-remote": (0, 0, pod_tcp(A, REMOTE, 40000, 80, ttl=1)),
        "spoofed-source": (0, 0, pod_tcp(B, C, 40000, 80)),
        "backend-reply": (1, 0, pod_tcp(B, A, 8080, 40000, 0x12)),
        "host-to-pod": (3, 0, eth(b"\x02\0\0\0\0\x99", mac_of(A), ipv4(NODE, A, 6, tcp(NODE, A, 40000, 80)))),
        "host-to-clusterip": (3, 0, eth(b"\x02\0\0\0\0\x99", mac_of(GW), ipv4(NODE, WEB, 6, tcp(NODE, WEB, 40000, 80)))),
        "vlan-tagged": (0, 0, mac_of(GW) + mac_of(A) + b"\x81\x00\x00\x05\x08\x00" + ipv4(A, C, 17, udp(A, C, 1, 2))),
    }
    s["pod_frame"] = {k: bytes([c, sp]) + f for k, (c, sp, f) in pf.items()}

    # ---- uplink_frame: control (bit 0 Geneve node, bit 1 masqueraded flow first), split, frame
    inner_tcp = eth(mac_of(REMOTE), mac_of(A), ipv4(REMOTE, A, 6, tcp(REMOTE, A, 8080, 40000, 0x12)))
    inner_to_vip = eth(mac_of(REMOTE), mac_of(GW), ipv4(REMOTE, WEB, 6, tcp(REMOTE, WEB, 40000, 80)))
    uf = {
        "vxlan": (0, 0, vxlan(inner_tcp)),
        "vxlan-split-in-header": (0, 40, vxlan(inner_tcp)),
        "vxlan-to-clusterip": (0, 0, vxlan(inner_to_vip)),
        "vxlan-nested-vxlan": (0, 0, vxlan(eth(mac_of(REMOTE), mac_of(A), ipv4(REMOTE, A, 17, udp(REMOTE, A, 49152, 8472, struct.pack("!II", 0x08000000, 5 << 8) + inner_tcp, checksum=False))))),
        "vxlan-outer-first-fragment": (0, 0, vxlan(inner_tcp, frag=0x2000)),
        "vxlan-outer-later-fragment": (0, 0, eth(mac_of(PEER), mac_of(NODE), ipv4(PEER, NODE, 17, b"q" * 40, frag=0x0010))),
        "vxlan-inner-fragment": (0, 0, vxlan(eth(mac_of(REMOTE), mac_of(A), ipv4(REMOTE, A, 17, b"f" * 40, frag=0x2000)))),
        "vxlan-wrong-vni-flags": (0, 0, eth(mac_of(PEER), mac_of(NODE), ipv4(PEER, NODE, 17, udp(PEER, NODE, 1, 8472, b"\0" * 8 + inner_tcp, checksum=False)))),
        "vxlan-from-unknown-node": (0, 0, vxlan(inner_tcp, src="192.168.50.77")),
        "geneve": (1, 0, geneve(inner_tcp)),
        "geneve-options": (1, 0, geneve(inner_tcp, options=geneve_option(0x0102, 0x80, b"\x01\x02\x03\x04") + geneve_option(0xFFFF, 1, b"\0" * 8))),
        "geneve-max-options": (1, 0, geneve(inner_tcp, options=geneve_option(0x0102, 1, b"\xaa" * 120) + geneve_option(0x0103, 2, b"\xbb" * 124))),
        "geneve-oam": (1, 0, geneve(inner_tcp, oam=True)),
        "geneve-nested-geneve": (1, 0, geneve(eth(mac_of(REMOTE), mac_of(A), ipv4(REMOTE, A, 17, udp(REMOTE, A, 49152, 6081, struct.pack("!BBH", 1, 0, 0x6558) + struct.pack("!I", 7 << 8) + geneve_option(1, 1, b"") + inner_tcp, checksum=False))), options=geneve_option(1, 1, b"\0\0\0\0"))),
        "geneve-outer-fragment": (1, 0, geneve(inner_tcp, frag=0x2000, options=geneve_option(0x0102, 0x80, b"\0" * 4))),
        "geneve-to-clusterip": (1, 0, geneve(inner_to_vip)),
        "nodeport-tcp": (0, 0, from_outside(ipv4(EXT, NODE, 6, tcp(EXT, NODE, 50000, 30080)))),
        "nodeport-udp": (0, 0, from_outside(ipv4(EXT, NODE, 17, udp(EXT, NODE, 50000, 30053)))),
        "nodeport-tcp-geneve-dsr": (1, 0, from_outside(ipv4(EXT, NODE, 6, tcp(EXT, NODE, 50000, 30080)))),
        "nodeport-fragment": (0, 0, from_outside(ipv4(EXT, NODE, 17, udp(EXT, NODE, 50000, 30053), frag=0x2000))),
        "masquerade-reply": (2, 0, from_outside(ipv4(EXT, NODE, 6, tcp(EXT, NODE, 80, 32768, 0x12)))),
        "masquerade-reply-geneve": (3, 0, from_outside(ipv4(EXT, NODE, 6, tcp(EXT, NODE, 80, 32768, 0x12)))),
        "to-host": (0, 0, from_outside(ipv4(EXT, NODE, 6, tcp(EXT, NODE, 50000, 22)))),
        "ping-node": (0, 0, from_outside(ipv4(EXT, NODE, 1, icmp(8, 0)))),
        "arp-node": (0, 0, arp_request(mac_of(EXT), EXT, NODE)),
        "native-to-pod": (0, 0, from_outside(ipv4(EXT, A, 6, tcp(EXT, A, 50000, 80)))),
    }
    s["uplink_frame"] = {k: bytes([c, sp]) + f for k, (c, sp, f) in uf.items()}

    # ---- conntrack / icmp_error: FuzzedDataProvider bytes (any bytes are valid; a few shapes)
    s["conntrack"] = {
        "zeros": b"\0" * 64,
        "syn-synack-ack-fin": bytes([0, 0, 0, 2, 0, 1, 0, 0, 18, 0, 0, 0, 0, 16, 0, 0, 0, 0, 17, 0, 1, 0, 0, 17, 0]) * 2,
        "expire-between": bytes([0, 0, 1, 0, 0, 0, 5, 0xff, 0xff, 0, 1, 0, 0, 0, 0, 0]) * 4,
        "mixed": bytes(range(256)),
    }
    s["icmp_error"] = {
        "dnat-tcp": bytes([0, 0, 0, 0x9c, 0x40, 0, 3, 20, 0, 0, 0, 1]),
        "masquerade-udp": bytes([0, 1, 1, 0x13, 0x88, 0, 3, 100, 0, 0, 0, 1]),
        "mixed": bytes(range(64)),
    }

    # ---- control-side text inputs
    with open(os.path.join(HERE, "..", "..", "configs", "podlane.yaml"), "rb") as f:
        default_config = f.read()
    s["config_yaml"] = {
        "embedded-default": default_config,
        "uplink-services": b"""node: {name: node1, ip: 192.168.50.11}
network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}
uplinks: [{name: eth0, devargs: net_null0}]
routing: {mode: tunnel, tunnel_protocol: geneve}
loadbalancer: {nodeport_mode: hybrid, algorithm: maglev, maglev_table_size: 251}
nodes: [{name: node2, ip: 192.168.50.12, pod_cidrs: [10.201.0.0/24]}]
masquerade: {non_masquerade_cidrs: [192.168.0.0/16]}
services:
  - name: default/np
    type: NodePort
    cluster_ip: 10.96.0.20
    session_affinity: ClientIP
    ports: [{protocol: TCP, port: 80, target_port: 8080, node_port: 30080}]
    backends: [{ip: 10.201.0.12, node: node2}, {ip: 10.200.0.13}]
""",
        "bad-key": b"network:\n  pod_cidr: 10.200.0.0/33\n  bogus: 1\n",
        "anchors": b"a: &x [1, 2]\nnode: {name: *x}\n",
    }
    s["etcd_watch"] = {}

    def b64(x):
        import base64
        return base64.b64encode(x.encode()).decode()

    node_val = json.dumps({"ip": "192.168.50.12", "pod_cidrs": ["10.201.0.0/24"]})
    svc_val = "name: default/web\ncluster_ip: 10.96.0.10\nports: [{protocol: TCP, port: 80, target_port: 8080}]\nbackends: [{ip: 10.201.0.12}]\n"
    ep_val = json.dumps({"ip": "10.201.0.12", "node": "node2", "labels": {"app": "web"}})
    watch = {"result": {"header": {"revision": "7"}, "events": [
        {"kv": {"key": b64("/podlane/nodes/node2"), "value": b64(node_val), "mod_revision": "5"}},
        {"kv": {"key": b64("/podlane/services/default/web"), "value": b64(svc_val), "mod_revision": "6"}},
        {"kv": {"key": b64("/podlane/endpoints/default/web-1"), "value": b64(ep_val), "mod_revision": "7"}},
        {"type": "DELETE", "kv": {"key": b64("/podlane/nodes/node3"), "mod_revision": "7"}},
    ]}}
    s["etcd_watch"]["watch"] = b"\0" + json.dumps(watch).encode()
    s["etcd_watch"]["watch-created"] = b"\0" + json.dumps({"result": {"header": {"revision": "1"}, "created": True}}).encode()
    s["etcd_watch"]["watch-compacted"] = b"\0" + json.dumps({"result": {"header": {"revision": "9"}, "compact_revision": "3", "canceled": True}}).encode()
    s["etcd_watch"]["range"] = b"\1" + json.dumps({"header": {"revision": "7"}, "kvs": [e["kv"] for e in watch["result"]["events"][:3]], "count": "3"}).encode()
    # Real etcd replies recorded in tests/data/etcd.
    data = os.path.join(HERE, "..", "data", "etcd")
    with open(os.path.join(data, "range.json"), "rb") as f:
        s["etcd_watch"]["data-range"] = b"\1" + f.read()
    with open(os.path.join(data, "watch.jsonl"), "rb") as f:
        for i, l in enumerate(f.read().splitlines()):
            s["etcd_watch"]["data-watch-%d" % i] = b"\0" + l

    node = {"metadata": {"name": "node2", "resourceVersion": "10"},
            "spec": {"podCIDR": "10.201.0.0/24", "podCIDRs": ["10.201.0.0/24"]},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.168.50.12"}]}}
    svc = {"metadata": {"name": "web", "namespace": "default", "resourceVersion": "11"},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "sessionAffinity": "ClientIP",
                    "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30080},
                              {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 5353}]}}
    slc = {"metadata": {"name": "web-abc", "namespace": "default", "resourceVersion": "12",
                        "labels": {"kubernetes.io/service-name": "web"}},
           "addressType": "IPv4",
           "endpoints": [{"addresses": ["10.201.0.12"], "conditions": {"ready": True, "serving": True, "terminating": False}, "nodeName": "node2"},
                         {"addresses": ["10.200.0.13"], "conditions": {"ready": False, "serving": True, "terminating": True}}],
           "ports": [{"name": "http", "protocol": "TCP", "port": 8080}, {"name": "dns", "protocol": "UDP", "port": 5353}]}

    def line(res, obj, lst=False):
        return bytes([res | (4 if lst else 0)]) + json.dumps(obj).encode() + b"\n"

    s["k8s_watch"] = {
        "lists": line(0, {"kind": "NodeList", "metadata": {"resourceVersion": "10"}, "items": [node]}, True)
        + line(1, {"kind": "ServiceList", "metadata": {"resourceVersion": "11"}, "items": [svc]}, True)
        + line(2, {"kind": "EndpointSliceList", "metadata": {"resourceVersion": "12"}, "items": [slc]}, True),
        "events": line(0, {"type": "ADDED", "object": node}) + line(1, {"type": "ADDED", "object": svc})
        + line(2, {"type": "MODIFIED", "object": slc}) + line(2, {"type": "DELETED", "object": slc})
        + line(1, {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "20"}}}),
        "gone": line(1, {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version"}}),
    }
    # Real API server replies recorded in tests/data/k8s.
    data = os.path.join(HERE, "..", "data", "k8s")
    for name, res in [("nodes", 0), ("endpointslices", 2)]:
        with open(os.path.join(data, name + ".json"), "rb") as f:
            s["k8s_watch"]["data-" + name + "-list"] = bytes([res | 4]) + json.dumps(json.loads(f.read())).encode() + b"\n"
        with open(os.path.join(data, name + ".watch.jsonl"), "rb") as f:
            s["k8s_watch"]["data-" + name + "-watch"] = b"".join(bytes([res]) + l + b"\n" for l in f.read().splitlines() if l)

    env = ("CNI_COMMAND={}\nCNI_CONTAINERID=c0ffee1234567890\nCNI_NETNS=/proc/self/ns/net\nCNI_IFNAME=eth0\n"
           "CNI_PATH=/opt/cni/bin\nCNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;IP=10.210.1.11\n\n")
    conf = {"cniVersion": "1.1.0", "name": "podlane", "type": "podlane-cni", "socket": "/run/podlane/podlane.sock",
            "args": {"cni": {"labels": {"app": "web"}, "ips": ["10.210.1.12"]}},
            "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
                              "mac": "0a:58:0a:d2:01:0b", "ips": ["10.210.1.11/24"]}}
    chained = dict(conf, prevResult={"cniVersion": "1.1.0", "interfaces": [{"name": "eth0"}], "ips": [{"address": "10.210.1.11/24"}]})
    gc = dict(conf, **{"cni.dev/valid-attachments": [{"containerID": "c0ffee", "ifname": "eth0"}]})
    s["cni_plugin"] = {}
    for cmd in ["ADD", "DEL", "CHECK", "VERSION", "STATUS"]:
        for b, bname in [(0, "ok"), (1, "refused"), (2, "unreachable")]:
            body = chained if cmd == "CHECK" else conf
            s["cni_plugin"]["%s-%s" % (cmd.lower(), bname)] = bytes([b]) + env.format(cmd).encode() + json.dumps(body).encode()
    s["cni_plugin"]["gc"] = b"\0" + env.format("GC").encode() + json.dumps(gc).encode()
    s["cni_plugin"]["add-vhost-old-version"] = b"\0" + env.format("ADD").replace("IgnoreUnknown=1", "PODLANE_VHOST=1").encode() + json.dumps(dict(conf, cniVersion="0.3.1", vhostSocketDir="/run/x")).encode()

    reqs = [
        {"cmd": "status"}, {"cmd": "endpoint.list"}, {"cmd": "stats"},
        {"cmd": "endpoint.add", "args": {"id": "default/p", "ip": "10.200.0.20", "mac": "0a:58:0a:c8:00:14", "netns": "pl-x",
                                         "labels": {"app": "web"}, "host_ports": [{"host_port": 8080, "container_port": 80, "protocol": "TCP"}]}},
        {"cmd": "endpoint.delete", "args": {"id": "default/p"}},
        {"cmd": "service.update", "args": {"yaml": "name: default/web\n"}},
        {"cmd": "service.delete", "args": {"name": "default/web"}},
        {"cmd": "service.maglev", "args": {"service": "default/web"}},
        {"cmd": "flow.list", "args": {"since": 5, "last": 10}},
        {"cmd": "cni.add", "args": {"container_id": "c0ffee", "ifname": "eth0", "netns": "/proc/self/ns/net",
                                    "pod_namespace": "default", "pod_name": "web", "ips": ["10.200.0.30"]}},
        {"cmd": "cni.gc", "args": {"valid": [{"container_id": "c0ffee", "ifname": "eth0"}]}},
        {"cmd": "capture.start", "args": {"filter": "tcp", "path": "/tmp/x.pcapng"}},
    ]
    s["api_request"] = {"req-%s" % r["cmd"]: json.dumps(r).encode() for r in reqs}
    s["api_request"]["not-json"] = b"{\"cmd\": "

    s["bird_protocols"] = {
        "established": b"""0001 BIRD 2.0.12 ready.
2002-Name       Proto      Table      State  Since         Info
1002-peer_ext   BGP        ---        up     1700000000    Established
1006-  BGP state:          Established
    Neighbor address: 192.168.50.1
    Neighbor AS:      64512
    Local AS:         64513
    Neighbor ID:      192.168.50.1
    Local capabilities
      Multiprotocol
        AF announced: ipv4
      Route refresh
      Graceful restart
      4-octet AS numbers
    Neighbor capabilities
      Graceful restart
        Restart time: 120
    Hold timer:       187.123/240
    Keepalive timer:  16.2/80
  Channel ipv4
    State:          UP
    Routes:         0 imported, 3 exported, 0 preferred
1002-device1    Device     ---        up     1700000000
0000 
""",
        "active": b"1002-peer_ext   BGP        ---        start  1700000000    Active        Socket: Connection refused\n1006-  BGP state:          Active\n    Last error:       Socket: Connection refused\n0000 \n",
        "error": b"9001 syntax error\n",
    }
    s["cni_pending"] = {
        "records": b"c0ffee%eth0\nabc%net1\n%eth0\nnopercent\nid%\nx%y%z\n",
    }
    return s


def main():
    out = os.path.join(HERE, "corpus")
    for target, inputs in seeds().items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            if name.startswith("seed-"):
                os.remove(os.path.join(d, name))
        for name, data in inputs.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (target, len(inputs)))


if __name__ == "__main__":
    sys.exit(main())
