#!/usr/bin/env python3
"""Idle-connection flood against privox's HTTP server (issue 10, item 2).

Opens ADDRESSES x PER_ADDRESS TCP connections that never send a byte, each address a different
loopback address (127.0.1.1, 127.0.1.2, ...; all of 127/8 is this host), holds them for HOLD
seconds, and meanwhile asks GET /healthz from yet another address every PROBE seconds. Prints one
JSON object: how many connections were opened, how many the server still held at the end, how many
it refused with 503, the /healthz answers (count, how many were 200, median and worst latency in
ms), the server's CPU seconds per second while the flood was held (from /proc/PID/stat) and how
many bytes its log grew by.

Used by src/http/connections_e2e.sh (a short run) and bench/run-connections.sh (the figures in
bench/RESULTS.md).
"""
import argparse
import errno
import json
import os
import resource
import socket
import statistics
import time


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def address(block, i):
    return f"127.{block}.{(i // 250) % 250}.{i % 250 + 1}"


def healthz(port, source, timeout=2.0):
    start = time.monotonic()
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    except OSError:
        status = 0
    finally:
        s.close()
    return status, (time.monotonic() - start) * 1000


def state(s):
    """'open' (nothing to read yet), '503' (refused with an answer) or 'closed'."""
    try:
        data = s.recv(4096, socket.MSG_DONTWAIT | socket.MSG_PEEK)
    except BlockingIOError:
        return "open"
    except OSError:
        return "closed"
    if not data:
        return "closed"
    return "503" if b" 503 " in data[:20] else "answered"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--addresses", type=int, default=64)
    p.add_argument("--per-address", type=int, default=20)
    p.add_argument("--hold", type=float, default=3.0)
    p.add_argument("--probe", type=float, default=0.2)
    p.add_argument("--pid", type=int, default=0, help="the server's pid, for its CPU time")
    p.add_argument("--log", default="", help="the server's log file, for its growth")
    a = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    log_before = os.path.getsize(a.log) if a.log else 0

    held, failed = [], 0
    for i in range(a.addresses):
        for _ in range(a.per_address):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.bind((address(1, i), 0))
                err = s.connect_ex(("127.0.0.1", a.port))
                if err not in (0, errno.EINPROGRESS):
                    raise OSError(err, os.strerror(err))
                held.append(s)
            except OSError:
                failed += 1
                s.close()
    time.sleep(0.5)  # let the server accept the backlog

    cpu_before = cpu_seconds(a.pid) if a.pid else 0.0
    started = time.monotonic()
    probes = []
    i = 0
    while time.monotonic() - started < a.hold:
        probes.append(healthz(a.port, address(2, i)))
        i += 1
        time.sleep(a.probe)
    elapsed = time.monotonic() - started
    cpu = (cpu_seconds(a.pid) - cpu_before) / elapsed if a.pid else None

    states = {"open": 0, "503": 0, "closed": 0, "answered": 0}
    for s in held:
        states[state(s)] += 1
        s.close()
    latencies = [ms for _, ms in probes]
    print(json.dumps({
        "opened": len(held),
        "failed_to_open": failed,
        "held_at_end": states["open"],
        "refused_503": states["503"],
        "closed": states["closed"],
        "healthz": len(probes),
        "healthz_ok": sum(1 for status, _ in probes if status == 200),
        "healthz_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "healthz_max_ms": round(max(latencies), 1) if latencies else None,
        "server_cpu_s_per_s": round(cpu, 3) if cpu is not None else None,
        "log_growth_bytes": (os.path.getsize(a.log) - log_before) if a.log else None,
    }))


if __name__ == "__main__":
    main()
