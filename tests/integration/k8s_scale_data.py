#!/usr/bin/env python3
"""Writes a data directory for fake_kube_api.py: the recorded cluster of
tests/data/k8s (its lists as they are), followed by COUNT Services and COUNT
EndpointSlices ADDED, as a controller creating COUNT services would make the
API server stream them (issue 16). Each event is a copy of a recorded one
(Service default/api, EndpointSlice default/api-xq9zd: full metadata with
managedFields), renamed scale/svc-NNNNN, a ClusterIP service with its own
cluster IP (10.97.0.0/16) and a slice of BACKENDS ready endpoints on node2
(10.212.0.0/16, outside every PodCIDR). resourceVersions follow the lists'
and alternate Service, slice.

usage: k8s_scale_data.py RECORDED_DIR OUT_DIR COUNT [BACKENDS]"""
import copy
import json
import os
import shutil
import sys


def first_added(path):
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            if ev["type"] == "ADDED":
                return ev
    sys.exit(f"{path}: no ADDED event to copy")


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    recorded, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    backends = int(sys.argv[4]) if len(sys.argv) == 5 else 10
    if not 1 <= count <= 60000:
        sys.exit("COUNT: 1..60000")
    os.makedirs(out, exist_ok=True)
    for r in ("nodes", "services", "endpointslices"):
        shutil.copy(os.path.join(recorded, r + ".json"), os.path.join(out, r + ".json"))
    open(os.path.join(out, "nodes.watch.jsonl"), "w").close()
    svc_t = first_added(os.path.join(recorded, "services.watch.jsonl"))
    eps_t = first_added(os.path.join(recorded, "endpointslices.watch.jsonl"))
    rv = 49000  # after every recorded resourceVersion
    svc_lines, eps_lines = [], []
    for i in range(count):
        name = "svc-%05d" % i
        uid = "5ca1e000-0000-4000-8000-%012d" % i
        s = copy.deepcopy(svc_t)
        m = s["object"]["metadata"]
        m.update(name=name, namespace="scale", uid=uid, resourceVersion=str(rv), labels={"app": name})
        cluster_ip = "10.97.%d.%d" % (i // 250, i % 250 + 1)
        spec = s["object"]["spec"]
        spec.update(type="ClusterIP", clusterIP=cluster_ip, clusterIPs=[cluster_ip], selector={"app": name},
                    ports=[{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}])
        spec.pop("externalTrafficPolicy", None)
        svc_lines.append(json.dumps(s, separators=(",", ":")))
        e = copy.deepcopy(eps_t)
        m = e["object"]["metadata"]
        m.update(name=name + "-x7k2p", generateName=name + "-", namespace="scale",
                 uid="e9d5e000-0000-4000-8000-%012d" % i, resourceVersion=str(rv + 1),
                 labels={"app": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                         "kubernetes.io/service-name": name})
        m["ownerReferences"][0].update(name=name, uid=uid)
        template = e["object"]["endpoints"][0]
        endpoints = []
        for k in range(backends):
            n = i * backends + k
            ep = copy.deepcopy(template)
            ep["addresses"] = ["10.212.%d.%d" % (n // 250 % 250, n % 250 + 1)]
            ep["targetRef"].update(name="%s-6f7c8d9b4-%05d" % (name, k), uid="90d00000-0000-4000-8000-%012d" % n)
            ep["nodeName"] = "node2"
            endpoints.append(ep)
        e["object"]["endpoints"] = endpoints
        eps_lines.append(json.dumps(e, separators=(",", ":")))
        rv += 2
    with open(os.path.join(out, "services.watch.jsonl"), "w") as f:
        f.write("\n".join(svc_lines) + "\n")
    with open(os.path.join(out, "endpointslices.watch.jsonl"), "w") as f:
        f.write("\n".join(eps_lines) + "\n")


main()
