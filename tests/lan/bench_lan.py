#!/usr/bin/env python3
# bench_lan.py: LAN mode with no server: from start to the peer appearing, and to the
# first message delivered, over 10 rounds (meson benchmark 'lan-start')
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two contacts on two hosts of the test network (tests/lan/natter_lan_net.py).
Each round starts both clients from nothing (new processes, the profiles kept),
times Alice seeing Bob nearby, then sends one message and times its arrival at
Bob. Prints every round and the p50; fails only if something does not happen."""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import natter_lan_net  # noqa: E402

WAIT = 30


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    options = parser.parse_args()

    why = natter_lan_net.why_not()
    if why is not None:
        print(f"SKIP: {why}")
        return 77

    net = natter_lan_net.Net()
    clients = []
    failed = True
    try:
        alice = natter_lan_net.LanClient(net.a, "alice")
        bob = natter_lan_net.LanClient(net.b, "bob")
        clients += [alice, bob]

        # Contacts first, by invitation: the rounds measure a contact coming back
        listen_a = alice.listen()
        listen_b = bob.listen("--auto-accept-invitations")
        listen_a.wait_for(lambda e: e.get("event") == "nearby" and e.get("user") == bob.id,
                          timeout=WAIT, what="bob nearby")
        alice.run("invite", bob.id)
        listen_b.wait_for(lambda e: e.get("event") == "invitation-accepted", timeout=WAIT,
                          what="accepted invitation")
        for client, listener in ((alice, listen_a), (bob, listen_b)):
            listener.stop()
            client.listeners.remove(listener)

        appear, deliver = [], []
        for round_number in range(1, options.rounds + 1):
            start = time.monotonic()
            listen_b = bob.listen()
            listen_a = alice.listen()
            listen_a.wait_for(lambda e: e.get("event") == "nearby" and e.get("user") == bob.id
                              and e.get("here"), timeout=WAIT, what="bob nearby")
            appeared = time.monotonic() - start
            alice.run("send", bob.id, f"round {round_number}")
            listen_b.wait_for(lambda e: e.get("event") == "message" and
                              e.get("body") == f"round {round_number}",
                              timeout=WAIT, what="the message")
            delivered = time.monotonic() - start
            appear.append(appeared)
            deliver.append(delivered)
            print(f"round {round_number}: peer appeared {appeared:.2f} s, first message "
                  f"delivered {delivered:.2f} s after start", flush=True)
            for client, listener in ((alice, listen_a), (bob, listen_b)):
                listener.stop()
                client.listeners.remove(listener)
            # Let the withdrawn announcements leave the other daemon's cache
            time.sleep(1.5)

        print(f"lan-start: peer appeared p50 {statistics.median(appear):.2f} s "
              f"(min {min(appear):.2f}, max {max(appear):.2f}); first message delivered p50 "
              f"{statistics.median(deliver):.2f} s (min {min(deliver):.2f}, "
              f"max {max(deliver):.2f}); {options.rounds} rounds, no server")
        failed = False
    finally:
        for client in clients:
            client.close()
        net.close(keep=failed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
