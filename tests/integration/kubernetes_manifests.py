#!/usr/bin/env python3
"""Test: deploy/kubernetes/ is what a cluster admin can apply.

Parses every manifest (PyYAML), checks the objects fit together (the
DaemonSet's service account is bound to the ClusterRole, its ConfigMap
exists), that the ClusterRole grants list and watch on every collection the
Kubernetes source reads (taken from src/control/sources/k8s/), that the
DaemonSet is privileged, on the host network, with hugepages and its state
on host paths, and runs the ConfigMap's init step (install-node.sh) against
a fake host root: the rendered node config passes `podlaned --check-config`
and podlane-cni and the conflist land in the host's CNI directories.

usage: kubernetes_manifests.py SOURCE_ROOT PODLANED PODLANE_CNI
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT, PODLANED, PODLANE_CNI = sys.argv[1:4]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def log(msg):
    print(msg, flush=True)


docs = []
for path in sorted(glob.glob(os.path.join(ROOT, "deploy/kubernetes/*.yaml"))):
    with open(path) as f:
        for d in yaml.safe_load_all(f):
            if d is None:
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in d:
                    fail(f"{path}: an object without {key}")
            docs.append(d)
            log(f"{os.path.basename(path)}: {d['kind']} {d['metadata'].get('namespace', '-')}/{d['metadata']['name']}")
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
for kind in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"):
    if len(by_kind.get(kind, [])) != 1:
        fail(f"expected one {kind}, found {len(by_kind.get(kind, []))}")
sa, role, binding, cm, ds = (by_kind[k][0] for k in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"))

# RBAC: every collection the source lists and watches.
sources = "".join(open(p).read() for p in glob.glob(os.path.join(ROOT, "src/control/sources/k8s/*.cpp")))
# k8s_cache.cpp names each collection (case K8sResource::X: return "name";)
# and builds its path: "/apis/GROUP/v1/name" for a named group, else core.
grouped = {name: group for group, name in re.findall(r'"/apis/([a-z0-9.]+)/v1/([a-z]+)"', sources)}
read = {(grouped.get(name, ""), name) for name in re.findall(r'case K8sResource::\w+: return "([a-z]+)";', sources)}
# Cilium's BGP and LB IPAM objects (cilium/cilium_policy.cpp names their plurals), under /apis/cilium.io/v2/.
cilium = "".join(open(p).read() for p in glob.glob(os.path.join(ROOT, "src/control/sources/cilium/*.cpp")))
read |= {("cilium.io", name) for name in re.findall(r'case CiliumKind::\w+: return "(cilium[a-z]+s)";', cilium)}
if not read:
    fail("found no collection paths in src/control/sources/k8s/")
for group, resource in sorted(read):
    ok = any(group in r.get("apiGroups", []) and resource in r.get("resources", []) and
             {"list", "watch"} <= set(r.get("verbs", [])) for r in role["rules"])
    log(f"source reads {group or 'core'}/{resource}: {'granted' if ok else 'NOT granted'}")
    if not ok:
        fail(f"the ClusterRole does not grant list, watch on {group or 'core'}/{resource}")
if not any("" in r["apiGroups"] and "nodes" in r["resources"] and "get" in r["verbs"] for r in role["rules"]):
    fail("the init step gets its Node: the ClusterRole lacks get on nodes")
# LB IPAM records its assignments in the Service's status (PATCH services/status): the only write.
if "/status" in sources and not any("" in r["apiGroups"] and r.get("resources") == ["services/status"] and
                                    r.get("verbs") == ["patch"] for r in role["rules"]):
    fail("LB IPAM patches services/status: the ClusterRole lacks a rule of exactly patch on services/status")
for r in role["rules"]:
    if set(r["verbs"]) - {"get", "list", "watch"} and r.get("resources") != ["services/status"]:
        fail(f"the source writes only services/status, yet the ClusterRole grants {r['verbs']} on {r['resources']}")
if binding["roleRef"]["name"] != role["metadata"]["name"] or not any(
        s["kind"] == "ServiceAccount" and s["name"] == sa["metadata"]["name"] and
        s["namespace"] == sa["metadata"]["namespace"] for s in binding["subjects"]):
    fail("the ClusterRoleBinding does not bind the ClusterRole to the ServiceAccount")

# The DaemonSet.
spec = ds["spec"]["template"]["spec"]
if spec.get("serviceAccountName") != sa["metadata"]["name"] or ds["metadata"]["namespace"] != sa["metadata"]["namespace"]:
    fail("the DaemonSet does not run as the podlane ServiceAccount")
if spec.get("hostNetwork") is not True:
    fail("the DaemonSet is not on the host network")
if ds["spec"]["selector"]["matchLabels"].items() - ds["spec"]["template"]["metadata"]["labels"].items():
    fail("the selector does not match the pod template's labels")
main = spec["containers"][0]
init = spec["initContainers"][0]
for c in (main, init):
    if not c.get("securityContext", {}).get("privileged"):
        fail(f"container {c['name']} is not privileged")
if "hugepages-2Mi" not in main["resources"].get("limits", {}):
    fail("podlaned asks for no hugepages")
volumes = {v["name"]: v for v in spec["volumes"]}
host_paths = {v["hostPath"]["path"]: n for n, v in volumes.items() if "hostPath" in v}
for p in ("/run/podlane", "/var/lib/podlane", "/opt/cni/bin", "/etc/cni/net.d", "/run/netns"):
    if p not in host_paths:
        fail(f"no hostPath volume for {p}")
if not any(v.get("configMap", {}).get("name") == cm["metadata"]["name"] for v in volumes.values()):
    fail("the DaemonSet does not mount the ConfigMap")
mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
for name in host_paths.values():
    if name in ("cni-bin", "cni-conf"):
        continue
    if name not in mounts:
        fail(f"podlaned does not mount the host path volume {name}")
if main["command"][-1] != "/etc/podlane/podlane.yaml" or mounts.get("config") != "/etc/podlane":
    fail(f"podlaned does not run the rendered config: {main['command']}")

# The ConfigMap: render and check this node's config, install onto a fake host.
with tempfile.TemporaryDirectory(prefix="podlane-k8s-") as tmp:
    tpl = os.path.join(tmp, "template")
    os.makedirs(tpl)
    for name, text in cm["data"].items():
        with open(os.path.join(tpl, name), "w") as f:
            f.write(text)
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    os.symlink(PODLANED, os.path.join(bindir, "podlaned"))
    os.symlink(PODLANE_CNI, os.path.join(bindir, "podlane-cni"))
    rendered = os.path.join(tmp, "etc-podlane", "podlane.yaml")
    env = dict(os.environ, HOST=os.path.join(tmp, "host"), TEMPLATE_DIR=tpl, RENDERED=rendered, BIN_DIR=bindir,
               NODE_NAME="worker-1", NODE_IP="192.168.10.21", POD_CIDR="10.244.3.0/24")
    r = subprocess.run(["sh", os.path.join(tpl, "install-node.sh")], env=env, capture_output=True, text=True)
    print(r.stdout + r.stderr, end="")
    if r.returncode != 0:
        fail("the init step failed")
    with open(rendered) as f:
        node = yaml.safe_load(f)
    if node["node"] != {"name": "worker-1", "ip": "192.168.10.21"} or node["network"]["gateway_ip"] != "10.244.3.1":
        fail(f"rendered node config: {node['node']} {node['network']}")
    if node["source"]["kind"] != "kubernetes":
        fail("the node config does not read the cluster from Kubernetes")
    state = node["ipam"]["state_dir"]
    if not any(state == mounts[n] or state.startswith(mounts[n] + "/") for n in mounts if volumes[n].get("hostPath")):
        fail(f"ipam.state_dir {state} is not on a host path")
    conflist = json.load(open(os.path.join(tmp, "host/etc/cni/net.d/05-podlane.conflist")))
    if conflist["plugins"][0]["type"] != "podlane-cni" or conflist["plugins"][0]["socket"] != node["api"]["socket"]:
        fail("the conflist's socket is not podlaned's api.socket")
    if not os.path.dirname(node["api"]["socket"]) == mounts["run"]:
        fail("api.socket is not on the /run/podlane host path")
    cni = os.path.join(tmp, "host/opt/cni/bin/podlane-cni")
    v = subprocess.run([cni], input='{"cniVersion":"1.1.0"}', env=dict(os.environ, CNI_COMMAND="VERSION"),
                       capture_output=True, text=True)
    if v.returncode != 0 or "1.1.0" not in v.stdout:
        fail("the installed podlane-cni does not answer VERSION")
log("PASS")
