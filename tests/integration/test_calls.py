#!/usr/bin/env python3
# test_calls.py: calls between two real natter-cli processes through a real natter-server
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Calls with test media: each side decodes the other's video and audio.

Run one test:  test_calls.py CallTest.test_video_call_both_ways
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_harness import Client, Listener, Server, Workdir, befriend  # noqa: E402

# Frames and buffers a side must have decoded before it counts as receiving
MIN_VIDEO_FRAMES = 30
MIN_AUDIO_BUFFERS = 30
CALL_TIMEOUT = 60


def is_call(state=None, **members):
    def match(event):
        if event.get("event") != "call":
            return False
        if state is not None and event.get("state") != state:
            return False
        return all(event.get(k) == v for k, v in members.items())
    return match


def decoding(video=True):
    """A call-media event that shows the other side's media arriving."""
    def match(event):
        if event.get("event") != "call-media":
            return False
        if event.get("audio_buffers", 0) < MIN_AUDIO_BUFFERS:
            return False
        return not video or event.get("video_frames", 0) >= MIN_VIDEO_FRAMES
    return match


def start_call(client, contact, *args):
    """`natter-cli call`, whose JSON lines are collected."""
    process = subprocess.Popen(client.args("call", contact, "--test-media", *args),
                               env=client.env, stdout=subprocess.PIPE, stderr=client.stderr)
    call = Listener(process, f"{client.name} (call)")
    client.listeners.append(call)
    return call


def wait_exit(listener, timeout=CALL_TIMEOUT):
    try:
        return listener.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{listener.name} did not exit; events: {listener.events[-10:]}")


class CallTestCase(unittest.TestCase):
    server_args = ()

    def setUp(self):
        self.workdir = Workdir()
        self.server = Server(self.workdir.path, extra_args=self.extra_server_args())
        self.server.start()
        self.addCleanup(self._cleanup)
        self.alice = Client(self.workdir.path, "alice", self.server.url)
        self.bob = Client(self.workdir.path, "bob", self.server.url)
        self.clients = [self.alice, self.bob]
        befriend(self.alice, self.bob)

    def extra_server_args(self):
        return list(self.server_args)

    def _cleanup(self):
        result = getattr(self._outcome, "result", None)
        failed = result is not None and any(
            error for _, error in result.errors + result.failures if error)
        for client in self.clients:
            client.close()
        self.server.close()
        self.workdir.cleanup(keep=failed)

    def assert_caps(self, event, video=True):
        audio_caps = event.get("audio_caps", "")
        self.assertTrue(audio_caps.startswith("audio/x-raw"), audio_caps)
        self.assertRegex(audio_caps, r"rate=\(int\)48000")
        if video:
            video_caps = event.get("video_caps", "")
            self.assertTrue(video_caps.startswith("video/x-raw"), video_caps)
            self.assertRegex(video_caps, r"width=\(int\)640")
            self.assertRegex(video_caps, r"height=\(int\)480")
        else:
            self.assertNotIn("video_caps", event)
            self.assertEqual(event.get("video_frames"), 0)

    def records(self, client, contact):
        return [r for r in client.history(contact) if "call" in r]


class CallTest(CallTestCase):
    def test_video_call_both_ways(self):
        bob = self.bob.listen("--auto-answer", "--test-media")
        alice = start_call(self.alice, self.bob.id, "--duration", "4")

        ringing = bob.wait_for(is_call("ringing", direction="in"), what="ringing call")
        self.assertEqual(ringing["contact"], self.alice.id)
        self.assertFalse(ringing["audio_only"])
        alice.wait_for(is_call("ringing", direction="out"), what="ringback")
        alice.wait_for(is_call("active"), what="active call (caller)")
        bob.wait_for(is_call("active"), what="active call (callee)")

        # Each side decodes the other's moving pattern and tone
        self.assert_caps(alice.wait_for(decoding(), what="caller decoding"))
        self.assert_caps(bob.wait_for(decoding(), what="callee decoding"))

        # The caller hangs up after --duration
        self.assertEqual(wait_exit(alice), 0)
        ended = alice.wait_for(is_call("ended"), what="caller's end")
        self.assertEqual(ended["outcome"], "answered")
        self.assertEqual(ended["reason"], "hung-up")
        self.assertGreaterEqual(ended["duration"], 3)
        theirs = bob.wait_for(is_call("ended"), what="callee's end")
        self.assertEqual(theirs["reason"], "remote-hung-up")
        self.assertEqual(theirs["call"], ended["call"])
        self.assertGreater(theirs["video_frames"], MIN_VIDEO_FRAMES)

        bob.stop()
        mine = self.records(self.alice, self.bob.id)
        self.assertEqual([(r["direction"], r["outcome"], r["video"]) for r in mine],
                         [("out", "answered", True)])
        self.assertGreaterEqual(mine[0]["duration"], 3)
        self.assertEqual([(r["direction"], r["outcome"]) for r in self.records(self.bob,
                                                                               self.alice.id)],
                         [("in", "answered")])

    def test_audio_only(self):
        bob = self.bob.listen("--auto-answer", "--test-media")
        alice = start_call(self.alice, self.bob.id, "--audio-only", "--duration", "3")
        self.assertTrue(bob.wait_for(is_call("ringing"))["audio_only"])
        self.assert_caps(alice.wait_for(decoding(video=False)), video=False)
        self.assert_caps(bob.wait_for(decoding(video=False)), video=False)
        self.assertEqual(wait_exit(alice), 0)
        bob.wait_for(is_call("ended"))
        bob.stop()
        self.assertEqual([r["video"] for r in self.records(self.alice, self.bob.id)], [False])

    def test_callee_hangs_up(self):
        bob = self.bob.listen("--auto-answer", "--test-media", "--duration", "3")
        alice = start_call(self.alice, self.bob.id)
        bob.wait_for(is_call("active"))
        self.assertEqual(wait_exit(alice), 0)
        ended = alice.wait_for(is_call("ended"))
        self.assertEqual(ended["reason"], "remote-hung-up")
        self.assertEqual(ended["outcome"], "answered")
        self.assertEqual(bob.wait_for(is_call("ended"))["reason"], "hung-up")

    def test_media_state_reaches_the_other_side(self):
        bob = self.bob.listen("--auto-answer", "--test-media", "--mute", "--camera-off")
        alice = start_call(self.alice, self.bob.id, "--duration", "5")
        alice.wait_for(lambda e: e.get("event") == "call-media" and
                       e.get("remote_microphone") is False and e.get("remote_camera") is False,
                       what="the callee's microphone and camera off")
        self.assertEqual(wait_exit(alice), 0)

    def test_decline(self):
        bob = self.bob.listen("--auto-decline")
        alice = start_call(self.alice, self.bob.id)
        self.assertNotEqual(wait_exit(alice), 0)
        ended = alice.wait_for(is_call("ended"))
        self.assertEqual((ended["outcome"], ended["reason"]), ("declined", "declined"))
        self.assertEqual(bob.wait_for(is_call("ended"))["outcome"], "declined")
        bob.stop()
        self.assertEqual([(r["direction"], r["outcome"]) for r in self.records(self.alice,
                                                                               self.bob.id)],
                         [("out", "declined")])
        self.assertEqual([(r["direction"], r["outcome"]) for r in self.records(self.bob,
                                                                               self.alice.id)],
                         [("in", "declined")])

    def test_unanswered_call_is_missed(self):
        bob = self.bob.listen()
        alice = start_call(self.alice, self.bob.id, "--ring-timeout", "3")
        bob.wait_for(is_call("ringing"))
        self.assertNotEqual(wait_exit(alice), 0)
        ended = alice.wait_for(is_call("ended"))
        self.assertEqual((ended["outcome"], ended["reason"]), ("missed", "no-answer"))
        theirs = bob.wait_for(is_call("ended"))
        self.assertEqual(theirs["outcome"], "missed")
        bob.stop()
        self.assertEqual([(r["direction"], r["outcome"]) for r in self.records(self.bob,
                                                                               self.alice.id)],
                         [("in", "missed")])

    def test_peer_killed_mid_call(self):
        bob = self.bob.listen("--auto-answer", "--test-media")
        alice = start_call(self.alice, self.bob.id)
        alice.wait_for(decoding())
        bob.process.send_signal(signal.SIGKILL)
        # (How soon is the benchmark's business; here, that it ends, and why)
        ended = alice.wait_for(is_call("ended"))
        self.assertEqual(ended["reason"], "peer-gone")
        self.assertEqual(ended["outcome"], "answered")
        wait_exit(alice)

    def test_both_call_at_once(self):
        alice = start_call(self.alice, self.bob.id, "--duration", "4")
        bob = start_call(self.bob, self.alice.id, "--duration", "4")
        self.assert_caps(alice.wait_for(decoding()))
        self.assert_caps(bob.wait_for(decoding()))
        self.assertEqual(wait_exit(alice), 0)
        self.assertEqual(wait_exit(bob), 0)
        # One call: both ended the same one, and each side keeps one record
        alice.wait_for(is_call("ended"))
        bob.wait_for(is_call("ended"))
        alice.drain(0.5)
        bob.drain(0.5)
        a = [e["call"] for e in alice.events if is_call("ended")(e)]
        b = [e["call"] for e in bob.events if is_call("ended")(e)]
        self.assertEqual(len(a), 1)
        self.assertEqual(a, b)
        # ... though each placed a call of its own
        dialled = {e["call"] for e in alice.events + bob.events if is_call("dialing")(e)}
        self.assertEqual(len(dialled), 2)
        self.assertIn(a[0], dialled)
        self.assertEqual(len(self.records(self.alice, self.bob.id)), 1)
        self.assertEqual(len(self.records(self.bob, self.alice.id)), 1)


class BusyTest(CallTestCase):
    def test_call_during_a_call_is_busy(self):
        carol = Client(self.workdir.path, "carol", self.server.url)
        self.clients.append(carol)
        befriend(carol, self.bob)
        bob = self.bob.listen("--auto-answer", "--test-media")
        alice = start_call(self.alice, self.bob.id, "--duration", "8")
        alice.wait_for(is_call("active"))

        busy = start_call(carol, self.bob.id)
        self.assertNotEqual(wait_exit(busy), 0)
        ended = busy.wait_for(is_call("ended"))
        self.assertEqual((ended["outcome"], ended["reason"]), ("busy", "busy"))
        self.assertEqual(bob.wait_for(is_call("ended", contact=carol.id))["outcome"], "busy")

        # The first call goes on undisturbed
        self.assertEqual(wait_exit(alice), 0)
        self.assertEqual(alice.wait_for(is_call("ended"))["outcome"], "answered")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stun_answers(port, seconds):
    """Whether a STUN binding request to 127.0.0.1:port gets an answer in time."""
    request = struct.pack(">HHI", 0x0001, 0, 0x2112A442) + os.urandom(12)
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        while time.monotonic() < deadline:
            probe.sendto(request, ("127.0.0.1", port))
            try:
                reply = probe.recv(512)
            except socket.timeout:
                continue
            if reply[4:20] == request[4:20]:
                return True
    return False


class Coturn:
    """A real coturn on 127.0.0.1 that takes TURN REST credentials made with `secret`."""

    def __init__(self, workdir, secret):
        turnserver = shutil.which("turnserver")
        self.process = None
        self.log = open(os.path.join(workdir, "coturn.log"), "ab")
        for _ in range(5):
            self.port = free_udp_port()
            self.process = subprocess.Popen(
                [turnserver, "-n", "--no-tls", "--no-dtls", "--no-cli", "--no-tcp",
                 "--no-tcp-relay", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1",
                 "--listening-port", str(self.port), "--use-auth-secret",
                 "--static-auth-secret", secret, "--realm", "natter.test",
                 "--allow-loopback-peers", "--pidfile", os.path.join(workdir, "turn.pid"),
                 "--userdb", os.path.join(workdir, "turndb"), "--log-file", "stdout",
                 "--verbose"],
                stdout=self.log, stderr=subprocess.STDOUT)
            if stun_answers(self.port, 10):
                return
            self.stop()
        raise RuntimeError("coturn did not start")

    def said(self, text):
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return text in f.read()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@unittest.skipIf(shutil.which("turnserver") is None, "coturn (turnserver) is not installed")
class RelayCallTest(CallTestCase):
    """Relay-only ICE: the media can only go through coturn, with the server's credentials."""

    secret = "natter-call-test-secret"

    def extra_server_args(self):
        self.coturn = Coturn(self.workdir.path, self.secret)
        self.addCleanup(self.coturn.stop)
        return ["--turn", f"turn:127.0.0.1:{self.coturn.port}?transport=udp",
                "--turn-secret", self.secret]

    def test_call_through_the_relay(self):
        bob = self.bob.listen("--auto-answer", "--test-media", "--relay-only")
        alice = start_call(self.alice, self.bob.id, "--relay-only", "--duration", "5")
        for side in (alice, bob):
            event = side.wait_for(decoding(), what="media through the relay")
            self.assert_caps(event)
            relayed = side.wait_for(
                lambda e: e.get("event") == "call-media" and
                e.get("stats", {}).get("local_candidate_type") is not None,
                what="the candidate in use")
            self.assertEqual(relayed["stats"]["local_candidate_type"], "relay")
        self.assertEqual(wait_exit(alice), 0)
        # coturn itself saw allocations made with the server's credentials
        self.assertTrue(self.coturn.said("ALLOCATE processed, success"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
