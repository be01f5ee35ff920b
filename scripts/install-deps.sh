#!/usr/bin/env bash
# Installs everything podlane needs to build, run its demo and run its tests,
# from Debian 12's packages. Idempotent: installs only what is missing.
set -euo pipefail

PACKAGES=(
  # build
  build-essential meson ninja-build pkg-config
  dpdk dpdk-dev libdpdk-dev libyaml-cpp-dev prometheus-cpp-dev libmnl-dev
  libboost-dev nlohmann-json3-dev catch2 libssl-dev
  # labs and tests: namespaces, real clients, captures
  iproute2 iputils-ping iperf3 curl python3 jq tcpdump tshark ethtool procps traceroute
  # cluster-state sources: a real etcd (source.kind etcd) and openssl for the
  # fake Kubernetes API server's certificates
  etcd-server etcd-client openssl
  # BGP: BIRD 2, the speaker podlaned runs (docs/bgp.md), and FRR, the lab's
  # router (scripts/lab.sh --bgp)
  bird2 frr
  # CNI: the reference plugins, to show podlane-cni chains like a standard plugin
  containernetworking-plugins
  # a real container runtime on podlane-cni (integration-podman): podman with
  # its CNI backend, runc (crun refuses some hosts' cgroups and rlimits), and
  # busybox-static for the locally built test image
  podman runc busybox-static
  # the install test checks podlaned's unit with systemd-analyze verify;
  # deploy/kubernetes manifests are parsed with PyYAML
  systemd python3-yaml
  # the dashboard test: a real Prometheus server scraping the lab's podlaned
  # (integration-dashboard, configs/prometheus/)
  prometheus
  # fuzzing (scripts/fuzz.sh, docs/fuzzing.md): clang 14 with libFuzzer and
  # its sanitizer runtimes; the replay tests take FuzzedDataProvider.h from it
  clang libclang-rt-14-dev libclang-common-14-dev
  # benchmarks: callgrind, and the peers of bench/compare.sh (OVS-DPDK) and its plot
  valgrind openvswitch-switch-dpdk gnuplot-nox
  # the kernel arm of bench/compare.sh: kube-proxy-style rules in namespaces
  iptables
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (podlane needs root for DPDK and network namespaces)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
