#!/usr/bin/env python3
"""A minimal CNI runtime: runs a conflist's plugins the way libcni does.

    cnitool.py [options] add|check|del CONFLIST CONTAINER_ID NETNS
    cnitool.py [options] gc|status|version CONFLIST

For podlane's lab and tests, and to try podlane-cni by hand. What it does,
as libcni (containerd, CRI-O) does:

  add     runs every plugin in order, each with the conflist's name and
          cniVersion, `runtimeConfig` holding the --runtime-config keys the
          plugin declares in its "capabilities", and the previous plugin's
          result as `prevResult`; prints the last result and caches it
  check   runs every plugin in order with the cached result as prevResult
  del     runs every plugin in reverse order with the cached result as
          prevResult (if any), then forgets it
  gc      runs every plugin with "cni.dev/valid-attachments": the cached
          attachments of this network, or those given with --valid
  status  runs every plugin's STATUS
  version runs every plugin's VERSION and prints the answers

Environment given to the plugins: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
CNI_IFNAME (--ifname, default eth0), CNI_ARGS (--args) and CNI_PATH
(--cni-path, default $CNI_PATH or /opt/cni/bin:/usr/lib/cni).

On a plugin's error the tool prints that plugin's output (the CNI error
object) on stdout, names the plugin on stderr and exits 1. Python 3 stdlib only.
"""
import argparse
import json
import os
import subprocess
import sys


def fail(msg):
    print("cnitool: " + msg, file=sys.stderr)
    sys.exit(2)


def find_plugin(kind, cni_path):
    for d in cni_path.split(":"):
        p = os.path.join(d, kind)
        if d and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    fail("plugin %r not found in CNI_PATH %s" % (kind, cni_path))


def plugin_conf(conflist, plugin, runtime_config):
    """The stdin of one plugin: its entry plus name, cniVersion and runtimeConfig."""
    conf = dict(plugin)
    conf["name"] = conflist["name"]
    conf["cniVersion"] = conflist["cniVersion"]
    caps = plugin.get("capabilities") or {}
    rc = {k: v for k, v in runtime_config.items() if caps.get(k)}
    if rc:
        conf["runtimeConfig"] = rc
    return conf


def run(plugin_path, command, conf, opts, container_id="", netns=""):
    env = dict(os.environ)
    env.update({"CNI_COMMAND": command, "CNI_CONTAINERID": container_id, "CNI_NETNS": netns,
                "CNI_IFNAME": opts.ifname, "CNI_ARGS": opts.args, "CNI_PATH": opts.cni_path})
    p = subprocess.run([plugin_path], input=json.dumps(conf).encode(), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=opts.timeout)
    if p.returncode != 0:
        sys.stdout.write(p.stdout.decode())
        sys.stderr.write(p.stderr.decode())
        print("cnitool: %s %s failed (exit %d)" % (os.path.basename(plugin_path), command, p.returncode),
              file=sys.stderr)
        sys.exit(1)
    out = p.stdout.decode().strip()
    return json.loads(out) if out else None


def cache_path(opts, name, container_id):
    return os.path.join(opts.cache_dir, "results", "%s-%s-%s" % (name, container_id, opts.ifname))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["add", "check", "del", "gc", "status", "version"])
    ap.add_argument("conflist", help="a .conflist file")
    ap.add_argument("container_id", nargs="?", default="")
    ap.add_argument("netns", nargs="?", default="", help="the pod's netns path or name (under /run/netns)")
    ap.add_argument("--ifname", default="eth0")
    ap.add_argument("--args", default="", help="CNI_ARGS, e.g. K8S_POD_NAMESPACE=default;K8S_POD_NAME=web")
    ap.add_argument("--runtime-config", default="{}", help="capability arguments as JSON, e.g. '{\"ips\": [...]}'")
    ap.add_argument("--cni-path", default=os.environ.get("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"))
    ap.add_argument("--cache-dir", default="/var/lib/cni", help="where results are cached (default /var/lib/cni)")
    ap.add_argument("--valid", action="append", metavar="CONTAINER_ID:IFNAME",
                    help="gc: a valid attachment (repeatable); default: the cached ones")
    ap.add_argument("--timeout", type=float, default=120)
    opts = ap.parse_args()

    try:
        with open(opts.conflist) as f:
            conflist = json.load(f)
        runtime_config = json.loads(opts.runtime_config)
    except (OSError, ValueError) as e:
        fail(str(e))
    for key in ("name", "cniVersion", "plugins"):
        if key not in conflist:
            fail("%s has no %r" % (opts.conflist, key))
    plugins = [(find_plugin(p["type"], opts.cni_path), p) for p in conflist["plugins"]]
    name = conflist["name"]
    netns = opts.netns
    if netns and not netns.startswith("/"):
        netns = "/run/netns/" + netns
    cmd = opts.command
    if cmd in ("add", "check", "del") and not opts.container_id:
        fail("%s needs CONTAINER_ID and NETNS" % cmd)

    if cmd == "version":
        for path, p in plugins:
            print(json.dumps({p["type"]: run(path, "VERSION", {"cniVersion": conflist["cniVersion"]}, opts)}))
        return
    if cmd == "status":
        for path, p in plugins:
            run(path, "STATUS", plugin_conf(conflist, p, runtime_config), opts)
        return
    if cmd == "gc":
        if opts.valid is not None:
            valid = [dict(zip(("containerID", "ifname"), v.rsplit(":", 1))) for v in opts.valid]
        else:
            valid = []
            d = os.path.join(opts.cache_dir, "results")
            for entry in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                with open(os.path.join(d, entry)) as f:
                    c = json.load(f)
                if c.get("networkName") == name:
                    valid.append({"containerID": c["containerId"], "ifname": c["ifName"]})
        for path, p in plugins:
            conf = plugin_conf(conflist, p, runtime_config)
            conf["cni.dev/valid-attachments"] = valid
            run(path, "GC", conf, opts)
        return

    cached = cache_path(opts, name, opts.container_id)
    if cmd == "add":
        result = None
        for path, p in plugins:
            conf = plugin_conf(conflist, p, runtime_config)
            if result is not None:
                conf["prevResult"] = result
            result = run(path, "ADD", conf, opts, opts.container_id, netns)
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        tmp = cached + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"kind": "cniCacheV1", "containerId": opts.container_id, "ifName": opts.ifname,
                       "networkName": name, "cniArgs": opts.args, "result": result}, f)
        os.replace(tmp, cached)
        print(json.dumps(result, indent=2))
        return

    prev = None
    if os.path.exists(cached):
        with open(cached) as f:
            prev = json.load(f).get("result")
    if cmd == "check":
        if prev is None:
            fail("no cached result for %s/%s in network %s: check needs a previous add"
                 % (opts.container_id, opts.ifname, name))
        for path, p in plugins:
            conf = plugin_conf(conflist, p, runtime_config)
            conf["prevResult"] = prev
            run(path, "CHECK", conf, opts, opts.container_id, netns)
        return
    for path, p in reversed(plugins):  # del
        conf = plugin_conf(conflist, p, runtime_config)
        if prev is not None:
            conf["prevResult"] = prev
        run(path, "DEL", conf, opts, opts.container_id, netns)
    if os.path.exists(cached):
        os.remove(cached)


if __name__ == "__main__":
    main()
