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
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_harness import (  # noqa: E402
    Client, Server, Workdir, befriend, exercise_handed_over_commands)


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
        # One message envelope each, and on a slow machine a resend of what
        # was still unconfirmed when the back-off ran out: linear, where
        # resending the outbox on every send took some 2,000,000.
        self.assertGreaterEqual(sent, self.COUNT)
        self.assertLess(sent, 2 * self.COUNT)
        self.assertLess(received, 2 * self.COUNT)
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


def history_path(client):
    return os.path.join(client.env["XDG_DATA_HOME"], "natter", "profiles", client.name,
                        "history.db")


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class StoreDamageTest(RobustTestCase):
    def setUp(self):
        super().setUp()
        befriend(self.alice, self.bob)
        lines = "".join(f"kept message {i} " + "x" * 200 + "\n" for i in range(300))
        result = subprocess.run(self.alice.args("send", self.bob.id, "-", "--no-wait"),
                                env=self.alice.env, input=lines, capture_output=True, text=True,
                                timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.alice.run("backup")
        self.path = history_path(self.alice)

    def assert_restores(self):
        restored = self.alice.run("restore-backup")
        self.assertIn("Restored", restored.stdout)
        history = self.alice.history(self.bob.id)
        self.assertEqual(len(history), 300)
        self.assertEqual(history[0]["body"], "kept message 0 " + "x" * 200)
        # ...and it takes new messages again.
        self.alice.run("send", self.bob.id, "after the restore", "--no-wait")

    def assert_damage_reported(self, damaged):
        """Reading says the history is damaged; writing is refused and changes nothing."""
        result = self.alice.run("history", self.bob.id, check=False)
        self.assertIn("damaged", result.stderr)
        result = self.alice.run("send", self.bob.id, "into a damaged file", "--no-wait",
                                check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("damaged", result.stderr)
        self.assertEqual(file_bytes(self.path), damaged, "the damaged file was written")

    def test_empty_history_is_damage_not_a_new_history(self):
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)
        open(self.path, "wb").close()
        for args in (("contacts",), ("history", self.bob.id), ("send", self.bob.id, "hi")):
            result = self.alice.run(*args, check=False)
            self.assertNotEqual(result.returncode, 0, args)
            self.assertIn("missing or empty", result.stderr)
            self.assertIn("restore-backup", result.stderr)
        self.assertEqual(os.path.getsize(self.path), 0, "the empty file was replaced")
        self.assert_restores()

    def test_missing_history_is_damage(self):
        os.remove(self.path)
        result = self.alice.run("history", self.bob.id, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("missing or empty", result.stderr)
        self.assertFalse(os.path.exists(self.path))
        self.assert_restores()

    def test_truncated_history_is_reported(self):
        size = os.path.getsize(self.path)
        with open(self.path, "r+b") as f:
            f.truncate(size // 2)
        self.assert_damage_reported(file_bytes(self.path))
        self.assert_restores()
        kept = [name for name in os.listdir(os.path.dirname(self.path)) if ".damaged-" in name]
        self.assertTrue(kept, "the damaged history was not kept")

    def test_corrupted_page_is_noticed_and_stops_writes(self):
        size = os.path.getsize(self.path)
        self.assertGreater(size, 16 * 4096)
        with open(self.path, "r+b") as f:
            f.seek((size // 4096 // 2) * 4096)
            f.write(os.urandom(4096))
        self.assert_damage_reported(file_bytes(self.path))
        self.assert_restores()

    def test_foreign_database_is_refused_untouched(self):
        for name in os.listdir(os.path.dirname(self.path)):
            if name.startswith("history.db"):
                os.remove(os.path.join(os.path.dirname(self.path), name))
        db = sqlite3.connect(self.path)
        db.execute("CREATE TABLE recipes (name TEXT, steps TEXT)")
        db.execute("INSERT INTO recipes VALUES ('bread', 'knead')")
        db.commit()
        db.close()
        before = file_bytes(self.path)
        result = self.alice.run("contacts", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("not a Natter history", result.stderr)
        self.assertEqual(file_bytes(self.path), before)
        self.assertFalse(os.path.exists(self.path + "-wal"))

    def test_newer_schema_is_refused_before_any_write(self):
        db = sqlite3.connect(self.path)
        db.execute("PRAGMA user_version = 99")
        db.commit()
        db.execute("PRAGMA journal_mode = DELETE")
        db.close()
        before = file_bytes(self.path)
        result = self.alice.run("history", self.bob.id, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("newer version", result.stderr)
        self.assertEqual(file_bytes(self.path), before, "the newer history was written to")
        self.assertFalse(os.path.exists(self.path + "-wal"))


class DiskFullTest(unittest.TestCase):
    """bob's profile lives on a small tmpfs of its own, which the test fills."""

    def setUp(self):
        self.workdir = Workdir()
        self.addCleanup(self.workdir.cleanup, False)
        self.bob_home = os.path.join(self.workdir.path, "bob-data")
        os.makedirs(self.bob_home)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs",
                                  self.bob_home], capture_output=True, text=True)
        if mounted.returncode != 0:
            self.skipTest("cannot mount a small tmpfs for a full disk (needs root): "
                          + mounted.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.bob_home])
        self.server = Server(self.workdir.path)
        self.server.start()
        self.addCleanup(self.server.close)
        self.alice = Client(self.workdir.path, "alice", self.server.url)
        self.bob = Client(self.workdir.path, "bob", self.server.url)
        self.addCleanup(self.alice.close)
        self.addCleanup(self.bob.close)
        befriend(self.alice, self.bob)
        self.filler = os.path.join(self.bob_home, "filler")

    def fill(self):
        with open(self.filler, "wb", buffering=0) as f:
            for chunk in (65536, 4096, 512, 1):
                try:
                    while True:
                        f.write(b"\0" * chunk)
                except OSError:
                    pass

    def free(self):
        os.remove(self.filler)

    def test_full_disk_is_named_and_history_still_reads(self):
        self.bob.run("send", self.alice.id, "written before the disk filled", "--no-wait")
        self.fill()
        history = self.bob.history(self.alice.id)
        self.assertEqual([m["body"] for m in history], ["written before the disk filled"])
        result = self.bob.run("send", self.alice.id, "no room for this", "--no-wait",
                              check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("disk is full", result.stderr)
        self.free()
        self.bob.run("send", self.alice.id, "room again", "--no-wait")
        self.assertEqual([m["body"] for m in self.bob.history(self.alice.id)],
                         ["written before the disk filled", "room again"])

    def test_receiver_with_full_disk_tells_sender_and_gets_it_later(self):
        bob = self.bob.listen()
        self.fill()
        self.alice.run("send", self.bob.id, "waiting for room", "--no-wait")
        alice = self.alice.listen()
        refused = alice.wait_for(is_event("refused", reason="storage-full"),
                                 what="the refusal at alice")
        self.assertEqual(refused["contact"], self.bob.id)
        failed = bob.wait_for(is_event("store-failed"), what="the storage failure at bob")
        self.assertTrue(failed["disk_full"])
        self.assertFalse(any(e.get("event") == "message" for e in bob.events))
        # Still queued at alice, not failed.
        self.assertNotIn(self.alice.history(self.bob.id)[0]["status"], ("failed", "delivered"))

        self.free()
        bob.wait_for(is_event("message", body="waiting for room"), timeout=90,
                     what="the message once there is room")
        alice.wait_for(is_event("receipt", id=refused["id"], status="delivered"), timeout=30)


class SharedProfileTest(RobustTestCase):
    def test_second_cli_hands_its_command_to_the_running_listen(self):
        befriend(self.alice, self.bob)
        alice = self.alice.listen()
        bob = self.bob.listen()
        mark = alice.mark()
        # Commands of every kind, while alice's listen is online.
        contacts = self.alice.run("contacts")
        self.assertIn(self.bob.id, contacts.stdout)
        self.assertIn("online", contacts.stdout)
        self.alice.run("send", self.bob.id, "through the listener")
        bob.wait_for(is_event("message", body="through the listener"))
        history = self.alice.history(self.bob.id)
        self.assertEqual([m["body"] for m in history], ["through the listener"])
        self.assertEqual(history[0]["status"], "delivered")
        result = self.alice.run("send", self.bob.id, "y" * 40_000, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("32768 bytes", result.stderr)
        # The listener was never knocked offline and still takes messages.
        alice.drain(1)
        self.assertFalse([e for e in alice.events[mark:] if e.get("event") == "server"],
                         "the listener lost the server")
        self.bob.run("send", self.alice.id, "still listening?")
        alice.wait_for(is_event("message", body="still listening?"), since=mark)

    def test_every_network_command_runs_in_the_listener(self):
        befriend(self.alice, self.bob)
        carol = Client(self.workdir.path, "carol", self.server.url)
        self.addCleanup(carol.close)
        alice = self.alice.listen()
        bob = self.bob.listen()
        mark = alice.mark()
        exercise_handed_over_commands(self, self.alice, self.bob, carol, bob)
        alice.drain(1)
        self.assertIsNone(alice.process.poll(), "the listener died")
        self.assertFalse([e for e in alice.events[mark:] if e.get("event") == "server"],
                         "the listener lost the server")

    def test_second_listen_is_refused(self):
        self.alice.listen()
        result = self.alice.run("listen", check=False, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("another process is online", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
