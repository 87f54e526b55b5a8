#!/usr/bin/env python3
# bench_calls.py: call set-up time, received frame rate and CPU, with real processes
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two natter-cli processes through a real natter-server on loopback, test media.

1. Set-up: 20 calls, each from placing it (the chat connection already up) to
   the first decoded frame of the other side's video; p50 and p95, for the
   caller and the callee (whose clock starts when the invitation arrives).
2. A 640x480 30 fps call for 30 s: frames each side decoded per second, and
   the CPU each process used (user + system time over wall time, of one core).

Prints figures; never fails because the machine is slow.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_harness import Client, Server, Workdir, befriend  # noqa: E402
from test_calls import decoding, is_call, start_call, wait_exit  # noqa: E402

CALLS = int(os.environ.get("NATTER_BENCH_CALLS", "20"))
LONG_CALL_S = int(os.environ.get("NATTER_BENCH_CALL_SECONDS", "30"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def percentile(values, p):
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def first_video_ms(listener):
    event = listener.wait_for(lambda e: "first_video_ms" in e, what="a first video frame")
    return event["first_video_ms"]


def bench_setup(alice, bob):
    callee = bob.listen("--auto-answer", "--test-media")
    caller_ms, callee_ms = [], []
    for _ in range(CALLS):
        mark = callee.mark()
        call = start_call(alice, bob.id, "--duration", "1")
        caller_ms.append(first_video_ms(call))
        callee.wait_for(lambda e: "first_video_ms" in e, since=mark)
        callee_ms.append([e for e in callee.events[mark:] if "first_video_ms" in e][0]
                         ["first_video_ms"])
        wait_exit(call)
        callee.wait_for(is_call("ended"), since=mark)
        alice.listeners.remove(call)
    callee.stop()
    bob.listeners.remove(callee)
    for name, values in (("caller", caller_ms), ("callee", callee_ms)):
        print(f"call-setup-{name}: {len(values)} calls, placing to first remote video frame: "
              f"p50 {statistics.median(values):.0f} ms, p95 {percentile(values, 95):.0f} ms, "
              f"min {min(values):.0f} ms, max {max(values):.0f} ms")


def bench_long_call(alice, bob):
    callee = bob.listen("--auto-answer", "--test-media")
    call = start_call(alice, bob.id, "--duration", str(LONG_CALL_S + 4))
    call.wait_for(decoding())
    callee.wait_for(decoding())

    sides = {"caller": (call, call.process.pid), "callee": (callee, callee.process.pid)}
    for listener, _ in sides.values():
        listener.drain(0.3)   # what came before the window
    marks = {name: len(listener.events) for name, (listener, _) in sides.items()}
    t0 = time.monotonic()
    cpu0 = {name: cpu_seconds(pid) for name, (_, pid) in sides.items()}
    # Both listeners collect on their own threads; take what came meanwhile
    call.drain(LONG_CALL_S)
    wall = time.monotonic() - t0
    cpu = {name: cpu_seconds(pid) - cpu0[name] for name, (_, pid) in sides.items()}
    callee.drain(0.1)
    for name, (listener, _) in sides.items():
        media = [e for e in listener.events[marks[name]:] if e.get("event") == "call-media"]
        first, last = media[0], media[-1]
        fps = ((last["video_frames"] - first["video_frames"]) /
               ((last["time"] - first["time"]) / 1000))
        stats = last.get("stats", {})
        print(f"call-{name}: {wall:.1f} s of a 640x480 30 fps call: received {fps:.1f} fps, "
              f"CPU {100 * cpu[name] / wall:.0f}% of one core, "
              f"in {stats.get('bitrate_in_kbps', 0):.0f} kbit/s, "
              f"out {stats.get('bitrate_out_kbps', 0):.0f} kbit/s, "
              f"rtt {stats.get('rtt_ms', 0):.1f} ms")
    wait_exit(call, timeout=LONG_CALL_S + 60)
    callee.stop()


def main():
    workdir = Workdir()
    server = Server(workdir.path)
    server.start()
    alice = Client(workdir.path, "alice", server.url)
    bob = Client(workdir.path, "bob", server.url)
    try:
        befriend(alice, bob)
        bench_setup(alice, bob)
        bench_long_call(alice, bob)
    finally:
        alice.close()
        bob.close()
        server.close()
        workdir.cleanup(keep=False)
    print(f"{os.cpu_count()} cores; both peers, the server and anything else running share them")


if __name__ == "__main__":
    main()
