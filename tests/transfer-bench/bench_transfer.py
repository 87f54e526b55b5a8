#!/usr/bin/env python3
# bench_transfer.py: a file between two natter-cli processes against two bare webrtcbins
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""The file transfer benchmark.

One run measures, on loopback and one after the other:
  - bare: two bare-datachannel processes (one webrtcbin each, no Natter code,
    64 KiB messages paced as NatterChannel paces): MB/s;
  - natter: natter-cli listen --auto-accept-files receiving what another
    natter-cli listen sends (send-file), through a real natter-server: MB/s
    from the receiver's first to its last event of the transfer, the peak RSS
    of both processes, and the round trip of chat messages sent every 100 ms
    during the transfer (message timestamp to the sender's delivered receipt).
It prints the figures and the ratio; it fails only when something breaks
(the file does not arrive whole).

    bench_transfer.py [--size BYTES]
"""

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from natter_harness import Client, Server, Workdir, befriend  # noqa: E402

BARE = os.environ.get("NATTER_BARE_DATACHANNEL", "bare-datachannel")


def write_random(path, size):
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            # Fresh bytes at the start of every MiB, so nothing repeats
            piece = os.urandom(64) + block[64:min(left, len(block))]
            f.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def reap(process):
    """Ends @process (SIGTERM) and returns its peak RSS in MiB"""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return usage.ru_maxrss / 1024


def run_bare(size):
    sender = subprocess.Popen([BARE, "send", str(size)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    receiver = subprocess.Popen([BARE, "receive", str(size)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
    result = {}

    def carry(source, sink, name):
        for line in source.stdout:
            if line.startswith("received "):
                result[name] = line.split()
                return
            try:
                sink.stdin.write(line)
                sink.stdin.flush()
            except (BrokenPipeError, ValueError):
                return

    threads = [threading.Thread(target=carry, args=(sender, receiver, "sender"), daemon=True),
               threading.Thread(target=carry, args=(receiver, sender, "receiver"), daemon=True)]
    for thread in threads:
        thread.start()
    threads[1].join(timeout=600)
    if "receiver" not in result:
        raise SystemExit("bench: the bare pair did not finish")
    received, seconds = int(result["receiver"][1]), float(result["receiver"][2])
    if received != size:
        raise SystemExit(f"bench: the bare pair moved {received} of {size} bytes")
    receiver_rss = reap(receiver)
    sender_rss = reap(sender)
    return size / seconds / 1e6, sender_rss, receiver_rss


def run_natter(workdir, path, size, expected_sha256):
    server = Server(workdir)
    server.start()
    alice = Client(workdir, "alice", server.url)
    bob = Client(workdir, "bob", server.url)
    try:
        befriend(alice, bob)
        inbox = os.path.join(workdir, "inbox")
        receiver = bob.listen("--auto-accept-files", inbox)
        sender = alice.listen()
        sent = json.loads(alice.run("send-file", "--no-wait", "--json", bob.id, path).stdout)
        started = receiver.wait_for(lambda e: e.get("event") == "transfer-started" and
                                    e.get("id") == sent["id"], what="the start")

        stop = threading.Event()

        def chat():
            i = 0
            while not stop.is_set():
                alice.run("send", "--no-wait", bob.id, f"ping {i}")
                i += 1
                stop.wait(0.1)

        chatter = threading.Thread(target=chat, daemon=True)
        chatter.start()
        done = receiver.wait_for(lambda e: e.get("event") == "transfer" and
                                 e.get("id") == sent["id"] and e.get("state") != "transferring",
                                 timeout=1800, what="the end of the transfer")
        stop.set()
        chatter.join()
        if done["state"] != "done" or sha256_of(done["path"]) != expected_sha256:
            raise SystemExit(f"bench: the file did not arrive whole: {done}")
        seconds = (done["time"] - started["time"]) / 1000
        receiver.drain(2)
        sender.drain(0.5)

        sent_at = {e["id"]: e["ts"] for e in receiver.events
                   if e.get("event") == "message" and started["time"] <= e["ts"] <= done["time"]}
        rtts = sorted(e["time"] - sent_at[e["id"]] for e in sender.events
                      if e.get("event") == "receipt" and e.get("status") == "delivered" and
                      e.get("id") in sent_at)
        sender_rss = reap(sender.process)
        receiver_rss = reap(receiver.process)
        alice.listeners.clear()
        bob.listeners.clear()
        return size / seconds / 1e6, sender_rss, receiver_rss, rtts
    finally:
        alice.close()
        bob.close()
        server.close()


def percentile(values, fraction):
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=512 * 1024 * 1024)
    options = parser.parse_args()

    workdir = Workdir()
    try:
        path = os.path.join(workdir.path, "payload.bin")
        expected = write_random(path, options.size)
        mib = options.size / (1024 * 1024)

        bare_rate, bare_send_rss, bare_receive_rss = run_bare(options.size)
        rate, send_rss, receive_rss, rtts = run_natter(workdir.path, path, options.size,
                                                       expected)

        print(f"transfer of {mib:.0f} MiB on loopback, 64 KiB messages")
        print(f"  bare webrtcbin pair  {bare_rate:8.1f} MB/s   peak RSS sender "
              f"{bare_send_rss:.0f} MiB, receiver {bare_receive_rss:.0f} MiB")
        print(f"  natter-cli pair      {rate:8.1f} MB/s   peak RSS sender "
              f"{send_rss:.0f} MiB, receiver {receive_rss:.0f} MiB")
        print(f"  ratio natter / bare  {rate / bare_rate:8.2f}")
        print(f"  chat round trip during the transfer: {len(rtts)} messages, "
              f"p50 {percentile(rtts, 0.5):.0f} ms, p99 {percentile(rtts, 0.99):.0f} ms, "
              f"max {max(rtts) if rtts else float('nan'):.0f} ms")
    finally:
        workdir.cleanup(keep=False)


if __name__ == "__main__":
    main()
