#!/usr/bin/python3
"""Hands an end-to-end test a block of four loopback ports that no other test will be handed.

usage: port-claim.py OWNER_PID [CLAIMS_DIR]
prints P such that P to P+3 are free for UDP and TCP, and claims them for OWNER_PID.

Why not bind port 0 and print what the kernel chose, as before: that port is in the kernel's
ephemeral range, which every connect() on the machine draws from too. Between the pick and the
moment sipp binds it, a test beside this one (ctest runs two at once) could be handed the same
port for a connection, and sipp then exits 254 before it sends anything. A CI run saw it.

So the ports come from below the ephemeral range (10000 up; the tests' rtpengine and media
endpoint ranges start at 20000 and 30000), where the kernel never hands a port out on its own,
and each block is claimed in CLAIMS_DIR under a lock, so that two tests, or two calls in one
test, never get overlapping blocks. A claim lapses when its owner has exited, or after a day.
"""
import fcntl
import os
import random
import socket
import sys
import time

BLOCK = 4
LOWEST = 10000
HIGHEST = 19999  # the tests' rtpengine ranges start at 20000
CLAIM_LIFETIME_S = 24 * 3600


def ephemeral_floor():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def owner_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_is_live(path):
    try:
        with open(path) as f:
            pid = int(f.read().strip() or "0")
        age = time.time() - os.stat(path).st_mtime
    except (OSError, ValueError):
        return False
    return pid > 0 and age < CLAIM_LIFETIME_S and owner_alive(pid)


def pick(claims, owner):
    highest = min(HIGHEST, ephemeral_floor() - 1) - (BLOCK - 1)
    if highest <= LOWEST:
        return None
    for _ in range(2000):
        first = random.randint(LOWEST, highest)
        ports = range(first, first + BLOCK)
        if any(claim_is_live(os.path.join(claims, str(p))) for p in ports):
            continue
        if not all(bindable(p) for p in ports):
            continue
        for p in ports:
            with open(os.path.join(claims, str(p)), "w") as f:
                f.write(f"{owner}\n")
        return first
    return None


def main():
    if len(sys.argv) not in (2, 3) or not sys.argv[1].isdigit():
        print("usage: port-claim.py OWNER_PID [CLAIMS_DIR]", file=sys.stderr)
        return 2
    owner = int(sys.argv[1])
    claims = sys.argv[2] if len(sys.argv) == 3 else "/tmp/privox-port-claims"
    os.makedirs(claims, exist_ok=True)
    with open(os.path.join(claims, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        port = pick(claims, owner)
    if port is None:
        print(f"port-claim.py: no block of {BLOCK} free ports between {LOWEST} and {HIGHEST}",
              file=sys.stderr)
        return 1
    print(port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
