#!/usr/bin/env python3
"""Network-policy probes (tests/integration/policy.sh).

  policy_probe.py serve TCPPORT UDPPORT
      in a pod: accepts TCP connections on TCPPORT (answers "ok" and closes)
      and echoes UDP datagrams on UDPPORT, until killed.
  policy_probe.py probe TIMEOUT TCPPORT UDPPORT IP...
      in a pod: for every IP at once, one TCP connect (a byte must come
      back) and one UDP echo (3 tries); prints "IP tcp|udp ok|fail" lines.
"""
import concurrent.futures
import socket
import sys
import threading


def serve(tcp_port, udp_port):
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", tcp_port))
    tcp.listen(128)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", udp_port))

    def echo():
        while True:
            data, peer = udp.recvfrom(2048)
            udp.sendto(data, peer)

    threading.Thread(target=echo, daemon=True).start()
    while True:
        conn, _ = tcp.accept()
        try:
            conn.sendall(b"ok")
        finally:
            conn.close()


def tcp_ok(ip, port, timeout):
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(2) == b"ok"
    except OSError:
        return False


def udp_ok(ip, port, timeout):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout / 3)
        for i in range(3):
            token = f"probe-{i}".encode()
            try:
                s.sendto(token, (ip, port))
                data, _ = s.recvfrom(2048)
                if data == token:
                    return True
            except OSError:
                pass
    return False


def probe(timeout, tcp_port, udp_port, ips):
    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * len(ips)) as ex:
        jobs = [(ip, "tcp", ex.submit(tcp_ok, ip, tcp_port, timeout)) for ip in ips]
        jobs += [(ip, "udp", ex.submit(udp_ok, ip, udp_port, timeout)) for ip in ips]
        for ip, proto, job in jobs:
            print(ip, proto, "ok" if job.result() else "fail")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
    else:
        probe(float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
