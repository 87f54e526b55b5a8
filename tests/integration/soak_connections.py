#!/usr/bin/env python3
# soak_connections.py: bob's natter-cli listen through 1,000 connection attempts
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""A benchmark (meson test --benchmark): alice connects to bob again and again
(each `natter-cli send` is a new process and a new peer connection); bob's
long-running listen is sampled for resident memory and threads. Prints the
figures; fails only if memory or threads keep growing well past warm-up
(a leak per connection), never because the machine is slow.

NATTER_SOAK_COUNT overrides the number of attempts (default 1000).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_harness import Client, Server, Workdir, befriend  # noqa: E402

COUNT = int(os.environ.get("NATTER_SOAK_COUNT", "1000"))
WARM_UP = min(50, COUNT // 5)
# Allowed growth after warm-up: a few MB of allocator noise, not 50 KB a connection
RSS_GROWTH_MAX_KIB = 16 * 1024
THREADS_GROWTH_MAX = 8


def sample(pid):
    rss = threads = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def main():
    workdir = Workdir()
    server = Server(workdir.path)
    server.start()
    alice = Client(workdir.path, "alice", server.url)
    bob = Client(workdir.path, "bob", server.url)
    failed = True
    try:
        befriend(alice, bob)
        listener = bob.listen()
        pid = listener.process.pid
        samples = []
        started = time.monotonic()
        for i in range(COUNT):
            alice.run("send", bob.id, f"attempt {i}", "--timeout", "60")
            listener.drain(0)
            if i == WARM_UP or (i + 1) % 100 == 0 or i == COUNT - 1:
                rss, threads = sample(pid)
                samples.append((i + 1, rss, threads))
                print(f"connections {i + 1:5d}  rss {rss / 1024:7.1f} MiB  threads {threads:4d}  "
                      f"({time.monotonic() - started:.0f} s)", flush=True)
        base = samples[0]
        last = samples[-1]
        print(f"growth after {base[0]} connections: rss {(last[1] - base[1]) / 1024:+.1f} MiB, "
              f"threads {last[2] - base[2]:+d} over {last[0] - base[0]} connections")
        failed = (last[1] - base[1] > RSS_GROWTH_MAX_KIB or last[2] - base[2] > THREADS_GROWTH_MAX)
        if failed:
            print("# memory or threads grow with every connection", file=sys.stderr)
        return 1 if failed else 0
    finally:
        alice.close()
        bob.close()
        server.close()
        workdir.cleanup(keep=failed)


if __name__ == "__main__":
    sys.exit(main())
