#!/usr/bin/env python3
# test_robustness.py: faults under real clients: the server going away, damaged
# history files, a full disk, one profile in two processes
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Robustness tests: every process is the real program; only loopback is used.

Run one test:  test_robustness.py ServerLossTest.test_server_killed_under_connected_peers
"""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_harness import Client, Server, Workdir, befriend  # noqa: E402


def popen(client, *args):
    """A natter-cli command of @client's running in the background."""
    return subprocess.Popen(client.args(*args), env=client.env, stdout=subprocess.DEVNULL,
                            stderr=client.stderr)


def is_event(event, **members):
    return lambda e: e.get("event") == event and all(e.get(k) == v for k, v in members.items())


class RobustTestCase(unittest.TestCase):
    def setUp(self):
        self.workdir = Workdir()
        self.server = Server(self.workdir.path)
        self.server.start()
        self.addCleanup(self._cleanup)
        self.alice = Client(self.workdir.path, "alice", self.server.url)
        self.bob = Client(self.workdir.path, "bob", self.server.url)

    def _cleanup(self):
        result = getattr(self._outcome, "result", None)
        failed = bool(result and any(e for _, e in result.errors + result.failures if e))
        self.alice.close()
        self.bob.close()
        self.server.close()
        self.workdir.cleanup(keep=failed)

    def connected_pair(self):
        """alice and bob as contacts, both listening, with a peer connection up."""
        befriend(self.alice, self.bob)
        self.alice.run("send", self.bob.id, "hello", "--no-wait")
        alice = self.alice.listen()
        bob = self.bob.listen()
        bob.wait_for(is_event("message", body="hello"))
        alice.wait_for(is_event("peer", contact=self.bob.id, state="connected"))
        return alice, bob

    def assert_alive(self, *listeners):
        for listener in listeners:
            self.assertIsNone(listener.process.poll(),
                              f"{listener.name}'s listen exited with {listener.process.returncode}")


class ServerLossTest(RobustTestCase):
    def lose_server(self, how):
        alice, bob = self.connected_pair()
        marks = alice.mark(), bob.mark()
        if how == "kill":
            self.server.process.kill()
            self.server.process.wait()
            self.server.process.stdout.close()
            self.server.process = None
        else:
            self.server.stop()
        for listener, mark in zip((alice, bob), marks):
            listener.wait_for(is_event("server", state="waiting"), since=mark,
                              what="lost server event")
        # Whatever the peers do after the server went (their goodbyes,
        # failing connections), both keep running.
        for listener in (alice, bob):
            listener.drain(3)
        self.assert_alive(alice, bob)
        self.server.restart()
        for listener, mark in zip((alice, bob), marks):
            listener.wait_for(is_event("server", state="online"), since=mark,
                              what="server online again")
        self.assert_alive(alice, bob)
        # And they still talk to each other.
        mark = bob.mark()
        self.alice.listeners.remove(alice)
        alice.stop()
        self.alice.run("send", self.bob.id, "after the server came back")
        bob.wait_for(is_event("message", body="after the server came back"), since=mark)

    def test_server_stopped_under_connected_peers(self):
        self.lose_server("stop")

    def test_server_killed_under_connected_peers(self):
        self.lose_server("kill")

    def test_server_stopped_while_peers_connect_and_say_goodbye(self):
        befriend(self.alice, self.bob)
        alice = self.alice.listen()
        bob = self.bob.listen()
        alice.wait_for(is_event("presence", contact=self.bob.id, online=True))
        for round_ in range(6):
            # Something to send makes alice open a connection; the server goes
            # away at different moments of it: while offers fly, while the
            # connection is up, while a peer says goodbye.
            sender = self.alice.run("send", self.bob.id, f"round {round_}", "--no-wait")
            del sender
            time.sleep(0.15 * round_)
            if round_ % 2:
                self.server.process.send_signal(signal.SIGKILL)
                self.server.process.wait()
                self.server.process.stdout.close()
                self.server.process = None
            else:
                self.server.stop()
            time.sleep(0.5)
            self.assert_alive(alice, bob)
            self.server.restart()
            for listener in (alice, bob):
                listener.wait_for(is_event("server", state="online"), since=listener.mark())
        self.assert_alive(alice, bob)

    def test_one_shot_commands_survive_the_server_going(self):
        befriend(self.alice, self.bob)
        bob = self.bob.listen()
        self.alice.run("send", self.bob.id, "first")
        bob.wait_for(is_event("message", body="first"))
        # A send whose connection is up when the server stops under it.
        process = popen(self.alice, "send", self.bob.id, "second", "--timeout", "6")
        time.sleep(1.0)
        self.server.stop()
        process.wait(timeout=60)
        self.assertIn(process.returncode, (0, 3), "natter-cli send crashed")
        self.server.restart()
        self.assert_alive(bob)


def stats(client):
    """The envelope counts the last natter-cli of `client` reported on exit."""
    with open(os.path.join(client.workdir, f"{client.name}.stderr"), errors="replace") as log:
        lines = log.read().splitlines()
    found = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "natter-cli:" and parts[1].startswith("envelopes-"):
            found[parts[1]] = int(parts[2])
    return found


class BurstTest(RobustTestCase):
    COUNT = 2000

    def test_burst_costs_one_envelope_a_message(self):
        befriend(self.alice, self.bob)
        self.bob.env["NATTER_REPORT_STATS"] = "1"
        self.alice.env["NATTER_REPORT_STATS"] = "1"
        bob = self.bob.listen()
        lines = "".join(f"burst {i}\n" for i in range(self.COUNT))
        started = time.monotonic()
        result = subprocess.run(self.alice.args("send", self.bob.id, "-", "--timeout", "300"),
                                env=self.alice.env, input=lines, capture_output=True,
                                text=True, timeout=400)
        self.alice.stderr.write(result.stderr.encode())
        self.alice.stderr.flush()
        self.assertEqual(result.returncode, 0, result.stderr)
        print(f"# {self.COUNT} messages delivered in {time.monotonic() - started:.1f} s")
        bob.wait_for(is_event("message", body=f"burst {self.COUNT - 1}"))
        self.bob.listeners.remove(bob)
        bob.stop()

        sent = stats(self.alice)["envelopes-sent"]
        received = stats(self.bob)["envelopes-received"]
        print(f"# envelopes: alice sent {sent}, bob received {received}")
        # One message envelope each, and a few others (profile, typing):
        # linear, not a resend of the whole outbox on every send.
        self.assertGreaterEqual(sent, self.COUNT)
        self.assertLess(sent, self.COUNT + 50)
        self.assertLess(received, self.COUNT + 50)
        bodies = [m["body"] for m in self.bob.history(self.alice.id)]
        self.assertEqual(bodies, [f"burst {i}" for i in range(self.COUNT)][-1000:])


class LengthTest(RobustTestCase):
    def test_over_long_input_is_refused_at_once_with_the_limit(self):
        befriend(self.alice, self.bob)
        cases = [
            (("invite", self.bob.id, "x" * 100_000), "500 bytes"),
            (("send", self.bob.id, "y" * 40_000, "--no-wait"), "32768 bytes"),
            (("profile", "--name", "n" * 100), "64 bytes"),
            (("profile", "--bio", "b" * 1000), "280 bytes"),
            (("register-handle", "h" * 100), "characters"),
        ]
        for args, limit in cases:
            result = self.alice.run(*args, check=False, timeout=30)
            self.assertNotEqual(result.returncode, 0, args[0])
            self.assertIn(limit, result.stderr, args[0])
        # Nothing of it was kept.
        self.assertEqual(self.alice.history(self.bob.id), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
