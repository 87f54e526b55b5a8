#!/usr/bin/env python3
# test_integration.py: a real natter-server and two real clients on 127.0.0.1
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration tests: every process is the real program; only loopback is used.

Run one test:  test_integration.py ChatTest.test_chat_both_ways
"""

import json
import os
import sqlite3
import struct
import subprocess
import sys
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_harness import Client, Relay, Server, Workdir, befriend, free_port  # noqa: E402


def png_header(width, height):
    """The start of a PNG: signature and IHDR, which is all a header check reads."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr
            + struct.pack(">I", zlib.crc32(ihdr)))


def is_event(event, **members):
    return lambda e: e.get("event") == event and all(e.get(k) == v for k, v in members.items())


class NatterTestCase(unittest.TestCase):
    use_keyring = False

    def setUp(self):
        self.workdir = Workdir()
        self.server = Server(self.workdir.path)
        self.server.start()
        self.addCleanup(self._cleanup)
        self.alice = Client(self.workdir.path, "alice", self.server.url, self.use_keyring)
        self.bob = Client(self.workdir.path, "bob", self.server.url, self.use_keyring)

    def _cleanup(self):
        failed = any(error for _, error in self._outcome.result.errors + self._outcome.result.failures
                     if error) if hasattr(self._outcome, "result") else False
        self.alice.close()
        self.bob.close()
        self.server.close()
        self.workdir.cleanup(keep=failed)

    def befriend(self):
        befriend(self.alice, self.bob)


class InvitationTest(NatterTestCase):
    def test_invitation_makes_contacts_on_both_sides(self):
        self.assertEqual(len(self.alice.id), 56)
        self.assertNotEqual(self.alice.id, self.bob.id)

        bob = self.bob.listen()
        self.alice.run("invite", self.bob.id, "Hi, it is Alice")
        invitation = bob.wait_for(is_event("invitation"))["invitation"]
        self.assertEqual(invitation["from"], self.alice.id)
        self.assertEqual(invitation["text"], "Hi, it is Alice")

        listed = self.bob.run("invitations").stdout
        self.assertIn(invitation["id"], listed)
        self.bob.run("accept", invitation["id"])

        self.assertIn(self.alice.id, self.bob.run("contacts").stdout)
        self.assertIn(self.bob.id, self.alice.run("contacts").stdout)
        # The answered invitation is no longer pending.
        self.assertNotIn(invitation["id"], self.bob.run("invitations").stdout)

    def test_invitation_carries_the_senders_name(self):
        self.alice.run("profile", "--name", "Alice from the lab")
        bob = self.bob.listen()
        self.alice.run("invite", self.bob.id, "Hi")
        invitation = bob.wait_for(is_event("invitation"))["invitation"]
        self.assertEqual(invitation["from_name"], "Alice from the lab")
        listed = self.bob.run("invitations").stdout
        self.assertIn(f"{self.alice.id} (Alice from the lab)", listed)

    def test_server_database_of_schema_one_is_upgraded(self):
        """A server that kept invitations before they had a name keeps them."""
        self.server.stop()
        path = os.path.join(self.server.data_dir, "natter-server.db")
        os.remove(path)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        now = int(time.time())
        db = sqlite3.connect(path)
        db.executescript("""
            CREATE TABLE schema_version (version INTEGER NOT NULL);
            INSERT INTO schema_version VALUES (1);
            CREATE TABLE invitations (id TEXT PRIMARY KEY, sender TEXT NOT NULL,
              recipient TEXT NOT NULL, text TEXT NOT NULL, created INTEGER NOT NULL,
              expires INTEGER NOT NULL, status INTEGER NOT NULL);
            CREATE INDEX invitations_by_recipient ON invitations (recipient, status);
            CREATE INDEX invitations_by_sender ON invitations (sender, status);
            CREATE TABLE handles (handle TEXT PRIMARY KEY, user TEXT NOT NULL UNIQUE,
              created INTEGER NOT NULL);
        """)
        db.execute("INSERT INTO invitations VALUES (?, ?, ?, 'kept from before', ?, ?, 0)",
                   ("0" * 32, self.alice.id, self.bob.id, now, now + 3600))
        db.commit()
        db.close()
        self.server.restart()

        listing = json.loads(self.bob.run("invitations", "--json").stdout)
        self.assertEqual([(i["id"], i["text"]) for i in listing["incoming"]],
                         [("0" * 32, "kept from before")])
        self.assertNotIn("from_name", listing["incoming"][0])
        self.alice.run("profile", "--name", "Alice")
        self.alice.run("invite", self.bob.id, "again")
        listing = json.loads(self.bob.run("invitations", "--json").stdout)
        self.assertEqual([(i["id"], i["from_name"]) for i in listing["incoming"]],
                         [("0" * 32, "Alice")])

    def test_mistyped_id_is_rejected_before_sending(self):
        wrong = ("a" if self.bob.id[10] != "a" else "b").join([self.bob.id[:10], self.bob.id[11:]])
        result = self.alice.run("invite", wrong, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("checksum", result.stderr)

    def test_invite_by_handle(self):
        self.bob.run("register-handle", "bob")
        self.assertEqual(self.alice.run("lookup", "@bob").stdout.strip(), self.bob.id)
        bob = self.bob.listen("--auto-accept-invitations")

        # The server's answer is held against what Alice expects: a different
        # one sends nothing.
        wrong = self.alice.run("invite", "@bob", "--expect", self.alice.id, check=False)
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("not the expected", wrong.stderr)
        self.assertFalse(any(e.get("event") == "invitation-accepted" for e in bob.drain(2)))
        self.assertNotIn(self.bob.id, self.alice.run("contacts").stdout)

        # The resolved ID and the safety number are shown before it is sent.
        sent = self.alice.run("invite", "@bob", "--expect", self.bob.id).stdout
        safety = self.alice.run("safety-number", self.bob.id).stdout.strip()
        self.assertIn(f"@bob is {self.bob.id}", sent)
        self.assertIn(safety, sent)
        bob.wait_for(is_event("invitation-accepted"))
        self.assertIn(self.alice.id, self.bob.run("contacts").stdout)

        # Found through the server, so not verified.
        contacts = [json.loads(line) for line in
                    self.alice.run("contacts", "--json").stdout.splitlines() if line.strip()]
        self.assertFalse(next(c for c in contacts if c["id"] == self.bob.id)["verified"])


class ChatTest(NatterTestCase):
    def test_chat_both_ways(self):
        self.befriend()
        bob = self.bob.listen()
        self.alice.run("send", self.bob.id, "Hello Bob")
        message = bob.wait_for(is_event("message", body="Hello Bob"))
        self.assertEqual(message["from"], self.alice.id)

        alice = self.alice.listen()
        bob.stop()
        self.bob.listeners.remove(bob)
        self.bob.run("send", self.alice.id, "Hello Alice, ünïcödé ✓")
        message = alice.wait_for(is_event("message", body="Hello Alice, ünïcödé ✓"))
        self.assertEqual(message["from"], self.bob.id)

        # Both histories hold both messages, in order, with the right directions.
        history = self.alice.history(self.bob.id)
        self.assertEqual([(m["direction"], m["body"]) for m in history],
                         [("out", "Hello Bob"), ("in", "Hello Alice, ünïcödé ✓")])
        self.assertEqual(history[0]["status"], "delivered")

    def test_delivered_and_read_receipts(self):
        self.befriend()
        # Queued by one process, sent by alice's listener from the same outbox.
        self.alice.run("send", self.bob.id, "Did you read this?", "--no-wait")
        alice = self.alice.listen()
        bob = self.bob.listen("--mark-read")
        sent = bob.wait_for(is_event("message", body="Did you read this?"))
        alice.wait_for(is_event("receipt", id=sent["id"], status="delivered"),
                       what="delivered receipt")
        alice.wait_for(is_event("receipt", id=sent["id"], status="read"), what="read receipt")
        history = self.alice.history(self.bob.id)
        self.assertEqual(history[-1]["status"], "read")

    def test_typing_starts_and_expires(self):
        self.befriend()
        bob = self.bob.listen()
        self.alice.run("typing", self.bob.id, "on")
        started = bob.wait_for(is_event("typing", active=True))
        self.assertEqual(started["contact"], self.alice.id)
        # Nobody said "stop": the indicator expires by itself.
        stopped = bob.wait_for(is_event("typing", active=False), timeout=20)
        self.assertGreaterEqual(stopped["time"] - started["time"], 4000)

    def test_message_to_blocked_contact_is_refused(self):
        self.befriend()
        self.bob.run("block", self.alice.id)
        result = self.bob.run("send", self.alice.id, "You should never see this", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("blocked", result.stderr)

        # A blocked contact cannot reach us either: alice's message stays queued.
        bob = self.bob.listen()
        result = self.alice.run("send", self.bob.id, "Let me in", "--timeout", "8", check=False)
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertFalse(any(e.get("event") == "message" for e in bob.drain(1)))
        self.assertEqual(self.bob.history(self.alice.id), [])

        # ...nor invite: the invitation is declined at once, without bob seeing it.
        sent = self.alice.run("invite", self.bob.id, "Please?", "--json")
        invitation_id = json.loads(sent.stdout)["id"]
        self.assertFalse(any(e.get("event") == "invitation" for e in bob.drain(2)))
        self.assertNotIn(invitation_id, self.bob.run("invitations").stdout)
        self.assertNotIn(invitation_id, self.alice.run("invitations").stdout)


class InvitationPagesTest(NatterTestCase):
    def setUp(self):
        self.workdir = Workdir()
        # Frames of 1 KiB hold one invitation each: every listing is paged.
        self.server = Server(self.workdir.path, ["--max-frame-size", "1024"])
        self.server.start()
        self.addCleanup(self._cleanup)
        self.alice = Client(self.workdir.path, "alice", self.server.url, self.use_keyring)
        self.bob = Client(self.workdir.path, "bob", self.server.url, self.use_keyring)
        self.others = [Client(self.workdir.path, f"sender{i}", self.server.url, self.use_keyring)
                       for i in range(4)]
        self.addCleanup(lambda: [client.close() for client in self.others])

    def test_every_page_is_listed_and_answerable(self):
        sent = []
        for sender in self.others + [self.alice]:
            result = sender.run("invite", self.bob.id, "x" * 400, "--json")
            sent.append(json.loads(result.stdout)["id"])
        self.bob.run("invite", self.alice.id, "y" * 400)

        listing = json.loads(self.bob.run("invitations", "--json").stdout)
        self.assertEqual(sorted(i["id"] for i in listing["incoming"]), sorted(sent))
        self.assertEqual([i["to"] for i in listing["outgoing"]], [self.alice.id])

        # The last invitation is on the last page of incoming ones.
        self.bob.run("accept", sent[-1])
        self.assertIn(self.alice.id, self.bob.run("contacts").stdout)
        listing = json.loads(self.bob.run("invitations", "--json").stdout)
        self.assertEqual(len(listing["incoming"]), len(sent) - 1)


class HostileTextTest(NatterTestCase):
    """Names and bodies with markup, terminal escapes and raw control characters."""

    NAME = "Ana\x1b]0;owned\x07<a href='https://evil.example/'>"
    BODY = "\x1b]0;owned\x07 <a href=\"https://evil.example/\">click</a> \x1f\x1b[2J end"

    def test_cli_output_stays_text_and_json(self):
        self.alice.run("profile", "--name", self.NAME)
        self.befriend()
        bob = self.bob.listen()
        self.alice.run("send", self.bob.id, self.BODY)
        message = bob.wait_for(is_event("message", body=self.BODY))
        self.assertEqual(message["from"], self.alice.id)
        bob.wait_for(is_event("contact", contact=self.alice.id, name=self.NAME))
        self.assertFalse([e for e in bob.events if e.get("event") == "unparsable"])
        self.stop_listeners(self.bob)

        # JSON lines: valid whatever the text holds, and the text comes back exactly
        history = self.bob.history(self.alice.id)
        self.assertEqual([m["body"] for m in history], [self.BODY])

        # For a person: no control character reaches the terminal
        for args in (("history", self.alice.id), ("contacts",), ("invitations",)):
            out = self.bob.run(*args).stdout
            self.assertFalse(any(ord(c) < 0x20 and c != "\n" for c in out), (args, out))
            self.assertNotIn("\x7f", out)
        self.assertIn("<a href=", self.bob.run("history", self.alice.id).stdout)
        self.assertIn("]0;owned", self.bob.run("contacts").stdout)

    def stop_listeners(self, client):
        for listener in list(client.listeners):
            listener.stop()
            client.listeners.remove(listener)


class ProfileTest(NatterTestCase):
    def test_profile_and_avatar_reach_the_contact(self):
        # A picture of ~200 KiB: several avatar envelopes on the wire.
        picture = png_header(64, 64) + os.urandom(200 * 1024)
        path = os.path.join(self.workdir.path, "alice.png")
        with open(path, "wb") as f:
            f.write(picture)
        self.alice.run("profile", "--name", "Alice Liddell", "--bio", "Down the rabbit hole",
                       "--avatar", path)
        self.befriend()

        bob = self.bob.listen()
        self.alice.run("send", self.bob.id, "It's me")
        bob.wait_for(is_event("message", body="It's me"))
        bob.wait_for(is_event("contact", contact=self.alice.id, name="Alice Liddell"))
        bob.stop()
        self.bob.listeners.remove(bob)

        contacts = [json.loads(line) for line in
                    self.bob.run("contacts", "--json").stdout.splitlines() if line.strip()]
        alice = next(c for c in contacts if c["id"] == self.alice.id)
        self.assertEqual(alice["name"], "Alice Liddell")
        self.assertEqual(alice["bio"], "Down the rabbit hole")
        self.assertEqual(alice["avatar_bytes"], len(picture))

    def test_unusable_avatar_is_refused_clearly(self):
        big = os.path.join(self.workdir.path, "big.png")
        with open(big, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + bytes(300 * 1024))
        result = self.alice.run("profile", "--avatar", big, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("256 KiB", result.stderr)

        text = os.path.join(self.workdir.path, "notes.txt")
        with open(text, "w") as f:
            f.write("not a picture")
        result = self.alice.run("profile", "--avatar", text, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("PNG, JPEG or WebP", result.stderr)

        # A few bytes that would decode to 40000 x 40000 pixels
        bomb = os.path.join(self.workdir.path, "bomb.png")
        with open(bomb, "wb") as f:
            f.write(png_header(40000, 40000) + bytes(1024))
        result = self.alice.run("profile", "--avatar", bomb, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("4096", result.stderr)


class OfflineTest(NatterTestCase):
    def test_offline_queue_delivered_in_order(self):
        self.befriend()
        bodies = ["first", "second", "third"]
        for body in bodies:
            self.alice.run("send", self.bob.id, body, "--no-wait")
        self.assertEqual([m["status"] for m in self.alice.history(self.bob.id)], ["queued"] * 3)

        alice = self.alice.listen()
        bob = self.bob.listen()
        for body in bodies:
            bob.wait_for(is_event("message", body=body))
        received = [e["body"] for e in bob.events if e.get("event") == "message"]
        self.assertEqual(received, bodies)
        for message in self.alice.history(self.bob.id):
            alice.wait_for(is_event("receipt", id=message["id"], status="delivered"))

        # A message delivered twice is shown once.
        self.assertEqual([m["body"] for m in self.bob.history(self.alice.id)], bodies)

    def test_history_survives_restart(self):
        self.befriend()
        bob = self.bob.listen()
        self.alice.run("send", self.bob.id, "keep me")
        bob.wait_for(is_event("message", body="keep me"))
        bob.stop()
        self.bob.listeners.remove(bob)
        self.server.restart()
        self.assertEqual([m["body"] for m in self.bob.history(self.alice.id)], ["keep me"])
        result = self.alice.run("history", self.bob.id, "--search", "keep")
        self.assertIn("keep me", result.stdout)

    def test_reconnect_after_server_restart(self):
        self.befriend()
        alice = self.alice.listen()
        bob = self.bob.listen()
        alice.wait_for(is_event("presence", contact=self.bob.id, online=True))
        mark_alice, mark_bob = alice.mark(), bob.mark()
        self.server.restart()
        for listener, mark in ((alice, mark_alice), (bob, mark_bob)):
            listener.wait_for(is_event("server", state="waiting"), since=mark,
                              what="lost server event")
            listener.wait_for(is_event("server", state="online"), since=mark,
                              what="server online again")
        alice.wait_for(is_event("presence", contact=self.bob.id, online=True), since=mark_alice,
                       what="bob online again")
        # The restarted server relays again: a new message gets through.
        alice.stop()
        self.alice.listeners.remove(alice)
        self.alice.run("send", self.bob.id, "after the restart")
        bob.wait_for(is_event("message", body="after the restart"))


class GlareTest(NatterTestCase):
    def test_both_sides_connect_at_once(self):
        self.befriend()
        self.alice.run("send", self.bob.id, "from alice", "--no-wait")
        self.bob.run("send", self.alice.id, "from bob", "--no-wait")
        # Both come online with something to send: both start a connection.
        alice = self.alice.listen()
        bob = self.bob.listen()
        alice.wait_for(is_event("message", body="from bob"))
        bob.wait_for(is_event("message", body="from alice"))
        alice.wait_for(is_event("receipt", status="delivered"))
        bob.wait_for(is_event("receipt", status="delivered"))
        # They converged on one connection: each side saw it connect.
        self.assertTrue(any(e.get("event") == "peer" and e.get("state") == "connected"
                            for e in alice.events))


class TrustTest(NatterTestCase):
    """A hostile server: natter-server with a relay in front that changes what it passes on.

    The server takes sign-ins for the relay's name (it is configured with it as a public
    name): the relay and the server behind it are one server run by the attacker.
    """

    def setUp(self):
        self.workdir = Workdir()
        self.relay_port = free_port()
        server_port = free_port()
        self.server = Server(self.workdir.path, extra_args=[
            "--public-name", f"127.0.0.1:{server_port}",
            "--public-name", f"127.0.0.1:{self.relay_port}"])
        self.server.port = server_port
        self.server.start()
        self.addCleanup(self._cleanup)
        relay_url = f"ws://127.0.0.1:{self.relay_port}/ws"
        self.alice = Client(self.workdir.path, "alice", relay_url)
        self.bob = Client(self.workdir.path, "bob", relay_url)
        self.relay = None

    def _cleanup(self):
        super()._cleanup()
        if self.relay is not None:
            self.relay.stop()

    def start_relay(self, *args):
        self.relay = Relay(self.workdir.path, self.server.url, *args, port=self.relay_port)
        return self.relay

    def stop(self, client, listener):
        listener.stop()
        client.listeners.remove(listener)

    def test_fingerprint_swapped_in_the_middle_is_refused(self):
        self.start_relay("--mode", "swap")
        self.befriend()
        self.alice.run("send", self.bob.id, "secret", "--no-wait")
        bob = self.bob.listen()
        alice = self.alice.listen()
        # Bob receives alice's offer with a fingerprint her key did not sign,
        # refuses it and says why; nothing reaches him.
        failure = bob.wait_for(is_event("trust-failure"))
        self.assertEqual(failure["contact"], self.alice.id)
        self.assertFalse(any(e.get("event") == "message" for e in bob.drain(2)))
        self.assertFalse(any(e.get("event") == "peer" and e.get("state") == "connected"
                             for e in alice.events + bob.events))
        self.assertEqual(self.bob.history(self.alice.id), [])
        self.stop(self.alice, alice)
        self.assertNotIn(self.alice.history(self.bob.id)[0]["status"], ("delivered", "read"))

    def honest_message_first(self):
        """Bob reaches Alice once before the relay is armed; the relay records it."""
        alice = self.alice.listen()
        self.bob.run("send", self.alice.id, "first")
        alice.wait_for(is_event("message", body="first"))
        self.stop(self.alice, alice)

    def splice(self, *relay_args):
        """Alice has two contacts, Bob and Mallory; Mallory colludes with the server."""
        mallory = Client(self.workdir.path, "mallory", self.alice.server_url)
        self.addCleanup(mallory.close)
        relay = self.start_relay("--mode", "splice", "--alice", self.alice.id, "--bob", self.bob.id,
                                 "--mallory-key", mallory.identity_file, *relay_args)
        self.bob.run("profile", "--name", "Bob Builder")
        self.befriend()
        befriend(self.alice, mallory)
        return mallory, relay

    def assert_nothing_misrouted(self, mallory, alice_listener, alice_bodies):
        # Nothing of Bob's reached Alice, under Mallory's name or any other.
        self.assertFalse(any(e.get("event") == "message" and e.get("body") == "for Alice only"
                             for e in alice_listener.drain(2)))
        self.assertEqual(self.alice.history(mallory.id), [])
        self.assertEqual([m["body"] for m in self.alice.history(self.bob.id)], alice_bodies)
        contacts = [json.loads(line) for line in
                    self.alice.run("contacts", "--json").stdout.splitlines() if line.strip()]
        self.assertNotEqual(next(c for c in contacts if c["id"] == mallory.id).get("name"),
                            "Bob Builder")
        self.assertNotIn(self.bob.history(self.alice.id)[-1]["status"], ("delivered", "read"))

    def test_splice_with_a_recorded_signature_is_refused(self):
        mallory, relay = self.splice()
        self.honest_message_first()
        relay.arm()
        self.bob.run("send", self.alice.id, "for Alice only", "--no-wait")
        alice = self.alice.listen()
        bob = self.bob.listen()
        # Alice's answer reaches Bob with her signature of another session: refused.
        failure = bob.wait_for(is_event("trust-failure"))
        self.assertEqual(failure["contact"], self.alice.id)
        self.assertTrue(relay.said("with a recorded signature"))
        self.stop(self.bob, bob)
        self.assert_nothing_misrouted(mallory, alice, ["first"])

    def test_splice_past_the_sdp_signature_is_refused_by_the_binding(self):
        # The relay also holds Alice's key, standing in for any gap in the SDP
        # signature: the descriptions check out, and DTLS runs Bob <-> Alice.
        mallory, relay = self.splice("--alice-key", self.alice.identity_file)
        relay.arm()
        self.bob.run("send", self.alice.id, "for Alice only", "--no-wait")
        alice = self.alice.listen()
        bob = self.bob.listen()
        # Inside DTLS each side names whom it talks to: both refuse.
        failure = alice.wait_for(is_event("trust-failure"))
        self.assertEqual(failure["contact"], mallory.id)
        failure = bob.wait_for(is_event("trust-failure"))
        self.assertEqual(failure["contact"], self.alice.id)
        self.assertFalse(any(e.get("event") == "peer" and e.get("state") == "connected"
                             for e in alice.events + bob.events))
        self.assertTrue(relay.said("signed afresh"))
        self.stop(self.bob, bob)
        self.assert_nothing_misrouted(mallory, alice, [])

    def test_replayed_offer_is_refused(self):
        relay = self.start_relay("--mode", "replay", "--bob", self.bob.id)
        self.befriend()
        self.honest_message_first()

        # Bob's next offer carries the recorded description and signature of
        # the first session: Alice refuses it.
        relay.arm()
        self.bob.run("send", self.alice.id, "second", "--no-wait")
        alice = self.alice.listen()
        bob = self.bob.listen()
        failure = alice.wait_for(is_event("trust-failure"))
        self.assertEqual(failure["contact"], self.bob.id)
        self.assertFalse(any(e.get("event") == "message" for e in alice.drain(2)))
        self.assertTrue(relay.said("replayed a recorded offer"))
        self.stop(self.bob, bob)
        self.assertEqual([m["body"] for m in self.alice.history(self.bob.id)], ["first"])


    def test_client_answers_one_challenge(self):
        relay = self.start_relay("--mode", "pass", "--hello-again")
        listener = self.bob.listen()
        listener.drain(2)
        self.assertTrue(relay.said("sent the client a second challenge"))
        self.assertFalse(relay.said("answered a second challenge"))


class SignInRelayTest(NatterTestCase):
    def test_forwarded_challenge_gets_the_victim_refused(self):
        """Server A passes server B's challenge to a victim who signs in to A.

        The victim's signature names A, so B refuses it, and what A wanted to do
        with the victim's session on B (release the victim's handle) never happens.
        """
        self.bob.run("register-handle", "bob")
        relay = Relay(self.workdir.path, self.server.url, "--mode", "pass", "--inject",
                      '{"type":"handle-release","id":"x","handle":"bob"}')
        self.addCleanup(relay.stop)
        victim_url, self.bob.server_url = self.bob.server_url, relay.url
        result = self.bob.run("lookup", "@bob", check=False)
        self.bob.server_url = victim_url
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("did not accept", result.stderr)
        self.assertFalse(relay.said("signed in as the victim"))

        mallory = Client(self.workdir.path, "mallory", self.server.url)
        self.addCleanup(mallory.close)
        taken = mallory.run("register-handle", "bob", check=False)
        self.assertNotEqual(taken.returncode, 0)
        self.assertEqual(self.alice.run("lookup", "@bob").stdout.strip(), self.bob.id)


class KeyringTest(NatterTestCase):
    """Identities kept by a real gnome-keyring (run under tests/keyring/natter-keyring-run)."""
    use_keyring = True

    def setUp(self):
        if os.environ.get("NATTER_TEST_KEYRING") != "1":
            self.skipTest("needs a private Secret Service: run under natter-keyring-run")
        super().setUp()

    def test_identity_in_keyring_and_chat(self):
        # Asking again gives the same identity: it came back from the keyring.
        self.assertEqual(self.alice.run("whoami").stdout.strip(), self.alice.id)
        self.assertFalse(os.path.exists(self.alice.identity_file))
        self.befriend()
        bob = self.bob.listen()
        self.alice.run("send", self.bob.id, "kept in the keyring")
        bob.wait_for(is_event("message", body="kept in the keyring"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
