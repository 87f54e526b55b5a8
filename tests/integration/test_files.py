#!/usr/bin/env python3
# test_files.py: files between two real natter-cli processes through a real natter-server
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""File transfers end to end: every process is the real program; only loopback is used.

Run one test:  test_files.py SizesTest.test_sizes
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_integration import NatterTestCase, is_event  # noqa: E402

CHUNK = 65536


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                return digest.hexdigest()
            digest.update(block)


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left > 0:
            block = os.urandom(min(left, 1 << 20))
            f.write(block)
            left -= len(block)


class FilesTestCase(NatterTestCase):
    def setUp(self):
        super().setUp()
        self.befriend()
        self.outbox = os.path.join(self.workdir.path, "outbox")
        self.inbox = os.path.join(self.workdir.path, "inbox")
        os.makedirs(self.outbox)

    def make_file(self, name, size):
        path = os.path.join(self.outbox, name)
        write_random(path, size)
        return path

    def send_file(self, *paths, check=True, timeout=300, extra=()):
        return self.alice.run(*extra, "send-file", self.bob.id, *paths, check=check,
                              timeout=timeout)

    def transfers(self, client):
        result = client.run("transfers", "--json")
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def received(self, listener, count=1, timeout=120):
        """The transfer events of bob's listen that reached done or failed"""
        done = []
        for _ in range(count):
            event = listener.wait_for(
                lambda e: e.get("event") == "transfer" and e.get("direction") == "in" and
                e.get("state") in ("done", "failed", "cancelled") and
                e.get("id") not in [d["id"] for d in done],
                timeout=timeout, what="a finished incoming transfer")
            done.append(event)
        return done


class SizesTest(FilesTestCase):
    def test_sizes(self):
        """Empty, 1 byte, 64 KiB and a byte either side: each arrives whole"""
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1]
        paths = [self.make_file(f"size-{size}.bin", size) for size in sizes]
        result = self.send_file(*paths)
        self.assertEqual(result.returncode, 0)
        events = self.received(bob, len(sizes))
        by_name = {e["name"]: e for e in events}
        for size, path in zip(sizes, paths):
            event = by_name[os.path.basename(path)]
            self.assertEqual(event["state"], "done", event)
            self.assertEqual(event["size"], size)
            self.assertEqual(os.path.getsize(event["path"]), size)
            self.assertEqual(sha256_of(event["path"]), sha256_of(path))
            self.assertEqual(event["sha256"], sha256_of(path))
        # No partial file is left behind
        self.assertEqual(sorted(os.listdir(self.inbox)), sorted(os.path.basename(p) for p in paths))
        # Both histories keep them, done
        for transfer in self.transfers(self.alice):
            self.assertEqual(transfer["state"], "done")
        self.assertEqual(len(self.transfers(self.bob)), len(sizes))

    def test_large_random(self):
        """50 MB of random data: the checksums match on both sides"""
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = self.make_file("random.bin", 50 * 1000 * 1000)
        self.send_file(path)
        event = self.received(bob)[0]
        self.assertEqual(event["state"], "done")
        self.assertEqual(sha256_of(event["path"]), sha256_of(path))


    def test_folder_is_refused(self):
        """A folder is refused with a clear message; nothing is offered"""
        result = self.send_file(self.outbox, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("folder", result.stderr)
        self.assertEqual(self.transfers(self.alice), [])


class HostileNamesTest(FilesTestCase):
    def test_hostile_names(self):
        """Names from a peer never become paths, hidden files or disguises"""
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = self.make_file("innocent.bin", 100)
        hostile = {
            "../../x": "_._x",
            "a/b": "a_b",
            ".bashrc": "bashrc",
            "\x1b]0;pwned\x07bell\x01.txt": "]0;pwnedbell.txt",
            "invoice\u202egpj.exe": "invoicegpj.exe",
            "CON": "_CON",
        }
        long_name = "x" * 300 + ".txt"
        for name in list(hostile) + [long_name]:
            self.send_file(path, extra=("--name", name))
        events = self.received(bob, len(hostile) + 1)
        names = [e["name"] for e in events]
        for expected in hostile.values():
            self.assertIn(expected, names)
        long_one = [n for n in names if n.startswith("xxx")][0]
        self.assertLessEqual(len(long_one.encode()), 255)
        self.assertTrue(long_one.endswith(".txt"))
        for event in events:
            self.assertEqual(event["state"], "done")
            self.assertEqual(os.path.dirname(event["path"]), self.inbox)
            self.assertEqual(sha256_of(event["path"]), sha256_of(path))
        # Nothing outside the folder, nothing hidden in it
        self.assertFalse(os.path.exists(os.path.join(self.workdir.path, "x")))
        self.assertFalse([n for n in os.listdir(self.inbox) if n.startswith(".")])

    def test_existing_file_is_kept(self):
        """A file of the same name is never overwritten: "name (1).ext" """
        os.makedirs(self.inbox)
        with open(os.path.join(self.inbox, "notes.txt"), "w") as f:
            f.write("mine")
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = self.make_file("notes.txt", 10)
        self.send_file(path)
        self.send_file(path)
        events = self.received(bob, 2)
        self.assertEqual(sorted(os.path.basename(e["path"]) for e in events),
                         ["notes (1).txt", "notes (2).txt"])
        with open(os.path.join(self.inbox, "notes.txt")) as f:
            self.assertEqual(f.read(), "mine")


class AnswerTest(FilesTestCase):
    def offered(self, listener):
        return listener.wait_for(is_event("transfer-added", direction="in"),
                                 what="a file offer")

    def test_decline(self):
        """The receiver declines: the sender hears it and no data flows"""
        bob = self.bob.listen()
        path = self.make_file("unwanted.bin", 1000)
        sender = subprocess.Popen(self.alice.args("send-file", self.bob.id, path),
                                  env=self.alice.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        offer = self.offered(bob)
        self.assertEqual(offer["state"], "waiting")
        self.assertEqual(offer["size"], 1000)
        self.bob.run("decline-file", offer["id"])
        _, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 1, err)
        self.assertIn("declined", err)
        self.assertEqual(self.transfers(self.alice)[0]["state"], "declined")
        self.assertEqual(self.transfers(self.bob)[0]["state"], "declined")

    def test_accept_into_folder(self):
        """An offer accepted by hand goes to the folder named"""
        bob = self.bob.listen()
        path = self.make_file("wanted.bin", 200000)
        sender = subprocess.Popen(self.alice.args("send-file", self.bob.id, path),
                                  env=self.alice.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        offer = self.offered(bob)
        self.bob.run("accept-file", offer["id"], self.inbox)
        out, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 0, err)
        self.assertIn(sha256_of(path), out)
        event = self.received(bob)[0]
        self.assertEqual(event["path"], os.path.join(self.inbox, "wanted.bin"))
        self.assertEqual(sha256_of(event["path"]), sha256_of(path))


def wait_until(predicate, timeout=60, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"no {what} within {timeout} s")


def partial_size(folder):
    """The size of the one partial download in @folder, or 0"""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".natterpart")]
    except FileNotFoundError:
        return 0
    return os.path.getsize(os.path.join(folder, names[0])) if names else 0


BIG = 200 * 1000 * 1000


class CancelTest(FilesTestCase):
    def test_receiver_cancels(self):
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = self.make_file("big.bin", BIG)
        sender = subprocess.Popen(self.alice.args("send-file", self.bob.id, path),
                                  env=self.alice.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        offer = bob.wait_for(is_event("transfer-started", direction="in"), what="a start")
        wait_until(lambda: partial_size(self.inbox) > 0, what="data")
        self.bob.run("cancel", offer["id"])
        _, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 1, err)
        self.assertIn("cancelled", err)
        self.assertEqual(self.transfers(self.bob)[0]["state"], "cancelled")
        self.assertEqual(self.transfers(self.alice)[0]["state"], "cancelled")
        # The partial file went with it
        self.assertEqual(os.listdir(self.inbox), [])

    def test_sender_cancels(self):
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        alice = self.alice.listen()
        path = self.make_file("big.bin", BIG)
        sent = json.loads(self.alice.run("send-file", "--no-wait", "--json", self.bob.id,
                                         path).stdout)
        bob.wait_for(is_event("transfer-started", id=sent["id"]), what="a start")
        wait_until(lambda: partial_size(self.inbox) > 0, what="data")
        self.alice.run("cancel", sent["id"])
        event = bob.wait_for(lambda e: e.get("event") == "transfer" and e.get("id") == sent["id"]
                             and e.get("state") != "transferring", what="the cancel")
        self.assertEqual(event["state"], "cancelled")
        alice.wait_for(is_event("transfer", id=sent["id"], state="cancelled"))
        wait_until(lambda: os.listdir(self.inbox) == [], what="the partial file removed")


class ResumeTest(FilesTestCase):
    def resume_check(self, bob, path, transfer_id, killed_at):
        started = bob.wait_for(lambda e: e.get("event") == "transfer-started" and
                               e.get("id") == transfer_id and e.get("offset", 0) > 0,
                               timeout=120, what="a resumed start")
        # It goes on from what had arrived, not from zero
        self.assertGreaterEqual(started["offset"], killed_at)
        self.assertLess(BIG - started["offset"], BIG)
        done = bob.wait_for(is_event("transfer", id=transfer_id, state="done"), timeout=180,
                            what="the resumed transfer done")
        self.assertEqual(sha256_of(done["path"]), sha256_of(path))
        self.assertEqual(done["sha256"], sha256_of(path))
        return started["offset"]

    def test_receiver_killed(self):
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = self.make_file("big.bin", BIG)
        sender = subprocess.Popen(self.alice.args("send-file", "--timeout", "120", self.bob.id,
                                                  path),
                                  env=self.alice.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        started = bob.wait_for(is_event("transfer-started", direction="in"), what="a start")
        killed_at = wait_until(lambda: partial_size(self.inbox) > 20 * 1000 * 1000 and
                               partial_size(self.inbox), what="20 MB")
        bob.process.send_signal(signal.SIGKILL)
        bob.stop()
        self.bob.listeners.remove(bob)
        # Only what the disk has counts: at least what was there when it died
        on_disk = partial_size(self.inbox)
        self.assertGreaterEqual(on_disk, killed_at)
        self.assertLess(on_disk, BIG)
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        offset = self.resume_check(bob, path, started["id"], killed_at)
        self.assertEqual(offset, on_disk)
        out, err = sender.communicate(timeout=120)
        self.assertEqual(sender.returncode, 0, err)

    def test_sender_killed(self):
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = self.make_file("big.bin", BIG)
        sender = subprocess.Popen(self.alice.args("send-file", self.bob.id, path),
                                  env=self.alice.env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        started = bob.wait_for(is_event("transfer-started", direction="in"), what="a start")
        killed_at = wait_until(lambda: partial_size(self.inbox) > 20 * 1000 * 1000 and
                               partial_size(self.inbox), what="20 MB")
        sender.send_signal(signal.SIGKILL)
        sender.wait()
        # The sender comes back: what it had not finished goes on
        alice = self.alice.listen()
        self.resume_check(bob, path, started["id"], killed_at)
        alice.wait_for(is_event("transfer", id=started["id"], state="done"))

    def test_damaged_partial_starts_again(self):
        """A partial that is not the file's beginning is not resumed from"""
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = self.make_file("big.bin", BIG)
        sender = subprocess.Popen(self.alice.args("send-file", "--timeout", "120", self.bob.id,
                                                  path),
                                  env=self.alice.env, stdout=subprocess.DEVNULL,
                                  stderr=self.alice.stderr)
        started = bob.wait_for(is_event("transfer-started", direction="in"), what="a start")
        wait_until(lambda: partial_size(self.inbox) > 20 * 1000 * 1000, what="20 MB")
        bob.process.send_signal(signal.SIGKILL)
        bob.stop()
        self.bob.listeners.remove(bob)
        partial = [n for n in os.listdir(self.inbox) if n.endswith(".natterpart")][0]
        with open(os.path.join(self.inbox, partial), "r+b") as f:
            f.seek(1000)
            f.write(b"damage")
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        restart = bob.wait_for(is_event("transfer-started", id=started["id"], offset=0),
                               timeout=120, what="a start from zero")
        self.assertEqual(restart["offset"], 0)
        done = bob.wait_for(is_event("transfer", id=started["id"], state="done"), timeout=180)
        self.assertEqual(sha256_of(done["path"]), sha256_of(path))
        sender.wait(timeout=120)
        self.assertEqual(sender.returncode, 0)


def can_mount():
    return os.geteuid() == 0 and os.path.exists("/proc/filesystems")


@unittest.skipUnless(can_mount(), "mounting a small tmpfs needs root")
class DiskFullTest(FilesTestCase):
    def mount_small(self, megabytes):
        os.makedirs(self.inbox)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", self.inbox],
                       check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", self.inbox])

    def test_no_space_before(self):
        """Not enough room: refused before any data flows, both sides say why"""
        self.mount_small(8)
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = self.make_file("too-big.bin", 20 * 1000 * 1000)
        result = self.send_file(path, check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not enough free space", result.stderr)
        event = self.received(bob)[0]
        self.assertEqual(event["state"], "failed")
        self.assertIn("not enough free space", event["error"])
        self.assertEqual(event["bytes"], 0)
        self.assertEqual(os.listdir(self.inbox), [])

    def test_disk_fills_during(self):
        """The disk fills mid-way: a clean failure, what arrived is kept, chat goes on"""
        self.mount_small(32)
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = self.make_file("fills.bin", 30 * 1000 * 1000)
        sender = subprocess.Popen(self.alice.args("send-file", self.bob.id, path),
                                  env=self.alice.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        bob.wait_for(is_event("transfer-started", direction="in"), what="a start")
        wait_until(lambda: partial_size(self.inbox) > 0, what="data")
        with open(os.path.join(self.inbox, "filler"), "wb") as f:
            try:
                f.write(b"\0" * (8 * 1000 * 1000))
            except OSError:
                pass
        _, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 1, err)
        self.assertIn("disk is full", err)
        event = self.received(bob)[0]
        self.assertEqual(event["state"], "failed")
        self.assertIn("disk is full", event["error"])
        kept = partial_size(self.inbox)
        self.assertGreater(kept, 0)
        self.assertLess(kept, 30 * 1000 * 1000)
        # Chat still works, and no message was lost
        self.alice.run("send", self.bob.id, "still there?")
        bob.wait_for(is_event("message", body="still there?"))
        self.assertIsNone(bob.process.poll())
        # Room again: it goes on from what was kept, not from zero
        os.unlink(os.path.join(self.inbox, "filler"))
        alice = self.alice.listen()
        self.bob.run("resume", event["id"])
        started = bob.wait_for(lambda e: e.get("event") == "transfer-started" and
                               e.get("id") == event["id"] and e.get("offset", 0) > 0,
                               what="the resumed start")
        self.assertEqual(started["offset"], kept)
        done = bob.wait_for(is_event("transfer", id=event["id"], state="done"))
        self.assertEqual(sha256_of(done["path"]), sha256_of(path))
        alice.wait_for(is_event("transfer", id=event["id"], state="done"))


class BusyTest(FilesTestCase):
    def test_two_transfers_while_chatting(self):
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        alice = self.alice.listen()
        first = self.make_file("one.bin", 100 * 1000 * 1000)
        second = self.make_file("two.bin", 100 * 1000 * 1000)
        result = self.alice.run("send-file", "--no-wait", "--json", self.bob.id, first, second)
        ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
        bob.wait_for(is_event("transfer-started", id=ids[0]))
        for i in range(5):
            self.alice.run("send", self.bob.id, f"chat {i}")
        events = self.received(bob, 2, timeout=180)
        chat = [bob.events.index(e) for e in bob.events
                if e.get("event") == "message" and e.get("body", "").startswith("chat ")]
        self.assertEqual(len(chat), 5)
        last_done = max(bob.events.index(e) for e in events)
        # The messages did not wait for the files
        self.assertLess(max(chat), last_done)
        for event, path in zip(sorted(events, key=lambda e: e["name"]), [first, second]):
            self.assertEqual(event["state"], "done")
            self.assertEqual(sha256_of(event["path"]), sha256_of(path))
        for transfer_id in ids:
            alice.wait_for(is_event("transfer", id=transfer_id, state="done"))


class OfflineTest(FilesTestCase):
    def test_offline_contact(self):
        """A file for an offline contact waits and goes when both are online"""
        path = self.make_file("later.bin", 300000)
        sender = subprocess.Popen(self.alice.args("send-file", self.bob.id, path),
                                  env=self.alice.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        self.assertIsNone(sender.poll())
        self.assertEqual(self.transfers(self.bob), [])
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        event = self.received(bob)[0]
        self.assertEqual(event["state"], "done")
        self.assertEqual(sha256_of(event["path"]), sha256_of(path))
        _, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 0, err)

    def test_offered_while_away(self):
        """Queued with --no-wait, it goes the next time the sender is online"""
        path = self.make_file("queued.bin", 1000)
        self.alice.run("send-file", "--no-wait", self.bob.id, path)
        self.assertEqual(self.transfers(self.alice)[0]["state"], "waiting")
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        self.alice.listen()
        event = self.received(bob)[0]
        self.assertEqual(event["state"], "done")


if __name__ == "__main__":
    unittest.main(verbosity=2)
