#!/usr/bin/env python3
# test_lan.py: LAN mode with no server: real avahi-daemons in two network namespaces
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two natter-cli clients on two hosts joined by a veth pair, each host with its
own avahi-daemon on its own system bus, and no natter-server anywhere."""

import hashlib
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))

import natter_lan_net  # noqa: E402

WAIT = 30


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def nearby_event(user, here=True):
    return lambda e: e.get("event") == "nearby" and e.get("user") == user and e.get("here") == here


class LanTestCase(unittest.TestCase):
    avahi_b = True

    @classmethod
    def setUpClass(cls):
        why = natter_lan_net.why_not()
        if why is not None:
            raise unittest.SkipTest(why)

    def setUp(self):
        self.net = natter_lan_net.Net(avahi_b=self.avahi_b)
        self.clients = []

    def tearDown(self):
        result = self._outcome.result
        failed = any(test is self for test, _ in result.errors + result.failures)
        for client in self.clients:
            client.close()
        self.net.close(keep=failed)

    def client(self, host, name):
        client = natter_lan_net.LanClient(host, name)
        self.clients.append(client)
        return client

    def nearby(self, client):
        result = client.run("nearby", "--json")
        return {peer["user"]: peer for peer in json.loads(result.stdout)}


class NearbyChatTest(LanTestCase):
    """Found, proven, invited, chatting both ways; gone within seconds of quitting."""

    def test_nearby_chat(self):
        alice = self.client(self.net.a, "alice")
        bob = self.client(self.net.b, "bob")
        alice.run("profile", "--name", "Alice A.")
        bob.run("profile", "--name", "Bob B.")

        inbox = os.path.join(self.net.workdir, "bob-inbox")
        os.makedirs(inbox)
        listen_a = alice.listen()
        listen_b = bob.listen("--auto-accept-invitations", "--auto-accept-files", inbox)
        listen_a.wait_for(nearby_event(bob.id), timeout=WAIT, what="bob nearby")
        listen_b.wait_for(nearby_event(alice.id), timeout=WAIT, what="alice nearby")

        # What `nearby` lists: the other, proven, with the signed name (from the
        # announcement, which may resolve a moment after the other dialled in);
        # never ourselves
        deadline = time.monotonic() + WAIT
        peers = self.nearby(alice)
        while (peers.get(bob.id, {}).get("name") is None or
               "address" not in peers.get(bob.id, {})) and time.monotonic() < deadline:
            time.sleep(0.3)
            peers = self.nearby(alice)
        self.assertEqual(set(peers), {bob.id})
        self.assertEqual(peers[bob.id]["name"], "Bob B.")
        self.assertTrue(peers[bob.id]["address"].startswith(self.net.b.address + ":"))

        # Invitations directly between the two
        alice.run("invite", bob.id, "Hello from the LAN")
        listen_b.wait_for(lambda e: e.get("event") == "invitation-accepted",
                          timeout=WAIT, what="accepted invitation")
        contacts = alice.run("contacts", "--json").stdout
        self.assertIn(bob.id, contacts)

        alice.run("send", bob.id, "over the veth")
        message = listen_b.wait_for(lambda e: e.get("event") == "message" and
                                    e.get("from") == alice.id, timeout=WAIT, what="message")
        self.assertEqual(message["body"], "over the veth")

        bob.run("send", alice.id, "and back")
        message = listen_a.wait_for(lambda e: e.get("event") == "message" and
                                    e.get("from") == bob.id, timeout=WAIT, what="reply")
        self.assertEqual(message["body"], "and back")
        self.assertEqual([m["body"] for m in alice.history(bob.id)], ["over the veth", "and back"])

        # A file, from one namespace to the other: whole, the same bytes
        path = os.path.join(self.net.workdir, "photo.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(3 * 1000 * 1000 + 7))
        alice.run("send-file", bob.id, path, timeout=120)
        done = listen_b.wait_for(lambda e: e.get("event") == "transfer" and
                                 e.get("direction") == "in" and
                                 e.get("state") in ("done", "failed", "cancelled"),
                                 timeout=120, what="the file received")
        self.assertEqual(done["state"], "done", done)
        self.assertEqual(done["name"], "photo.bin")
        self.assertEqual(sha256_of(done["path"]), sha256_of(path))
        self.assertEqual(done["sha256"], sha256_of(path))
        self.assertEqual(os.path.dirname(done["path"]), inbox)

        # Bob quits: gone from Alice's list within seconds
        mark = listen_a.mark()
        quit_at = time.monotonic()
        listen_b.stop()
        bob.listeners.remove(listen_b)
        listen_a.wait_for(nearby_event(bob.id, here=False), timeout=10, since=mark,
                          what="bob gone")
        print(f"# bob left alice's list {time.monotonic() - quit_at:.2f} s after quitting")
        self.assertEqual(self.nearby(alice), {})

    def test_killed_peer_disappears(self):
        alice = self.client(self.net.a, "alice")
        bob = self.client(self.net.b, "bob")
        listen_a = alice.listen()
        listen_b = bob.listen()
        listen_a.wait_for(nearby_event(bob.id), timeout=WAIT, what="bob nearby")

        mark = listen_a.mark()
        listen_b.process.kill()
        listen_a.wait_for(nearby_event(bob.id, here=False), timeout=15, since=mark,
                          what="killed bob gone")


class ForgedTest(LanTestCase):
    """Announcements that do not prove their ID are never shown."""

    def publish(self, host, name, port, *txt):
        process = host.popen(["avahi-publish", "-s", name, "_natter._tcp", str(port), *txt],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return process

    def test_forged_announcements(self):
        alice = self.client(self.net.a, "alice")
        bob = self.client(self.net.b, "bob")
        carol = self.client(self.net.b, "carol")
        dave = self.client(self.net.b, "dave")   # never online: only his ID is used

        # Bob's real announcement, as anyone on the network can read it
        listen_a = alice.listen()
        listen_b = bob.listen()
        listen_a.wait_for(nearby_event(bob.id), timeout=WAIT, what="bob nearby")
        line = None
        deadline = time.monotonic() + WAIT
        while line is None and time.monotonic() < deadline:
            browse = subprocess.run(self.net.a.wrap(["avahi-browse", "-rpt", "_natter._tcp"]),
                                    env=self.net.a.env(), capture_output=True, text=True,
                                    timeout=30).stdout
            line = next((l for l in browse.splitlines()
                         if l.startswith("=") and f'"id={bob.id}"' in l), None)
        self.assertIsNotNone(line, "avahi-browse did not resolve Bob's announcement")
        fields = line.split(";")
        bob_port = int(fields[8])
        bob_txt = [t.strip('"') for t in fields[9].split('" "')]
        self.assertTrue(any(t.startswith("sig=") for t in bob_txt))

        mark = listen_a.mark()
        listen_b.stop()
        bob.listeners.remove(listen_b)
        listen_a.wait_for(nearby_event(bob.id, here=False), timeout=15, since=mark,
                          what="bob gone")

        # Carol takes Bob's port, and someone replays Bob's announcement to it:
        # the signature checks, but whoever answers there cannot prove Bob's key
        carol.set_port(bob_port)
        listen_c = carol.listen()
        self.assertEqual(carol.port(), bob_port)
        listen_a.wait_for(nearby_event(carol.id), timeout=WAIT, what="carol nearby")
        self.publish(self.net.b, "natter-replayed", bob_port, *bob_txt)
        # Dave's ID with a signature that is not his
        self.publish(self.net.b, "natter-wrong-sig", bob_port, "v=1", f"id={dave.id}",
                     "sig=" + bob_txt[-1].split("=", 1)[1])
        # Someone else's ID with no signature at all
        self.publish(self.net.b, "natter-unsigned", bob_port, "v=1", f"id={dave.id}")

        # Avahi sees all four announcements; Natter shows only Carol
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            browse = subprocess.run(self.net.a.wrap(["avahi-browse", "-pt", "_natter._tcp"]),
                                    env=self.net.a.env(), capture_output=True, text=True,
                                    timeout=30).stdout
            if all(n in browse for n in ("natter-replayed", "natter-wrong-sig",
                                         "natter-unsigned")):
                break
            time.sleep(0.5)
        else:
            self.fail(f"the forged announcements were not published: {browse}")

        events = listen_a.drain(5)
        shown = {e["user"] for e in events[mark:] if e.get("event") == "nearby" and e.get("here")}
        self.assertEqual(shown, {carol.id})
        self.assertEqual(set(self.nearby(alice)), {carol.id})
        listen_c.stop()
        carol.listeners.remove(listen_c)


class NoAvahiTest(LanTestCase):
    """A host with no Avahi says why, and is reached by its typed address, remembered."""

    avahi_b = False

    def test_typed_address(self):
        alice = self.client(self.net.a, "alice")
        erin = self.client(self.net.b, "erin")

        listen_e = erin.listen("--auto-accept-invitations")
        why = listen_e.wait_for(lambda e: e.get("event") == "discovery", timeout=WAIT,
                                what="discovery unavailable")
        self.assertFalse(why["available"])
        self.assertIn("Avahi", why["error"])
        result = erin.run("nearby")
        self.assertIn("Nearby discovery is unavailable", result.stderr)

        address = f"{self.net.b.address}:{erin.port()}"
        self.assertRaises(AssertionError, alice.run, "connect", "not an address")
        reached = alice.run("connect", address).stdout.strip()
        self.assertEqual(reached, erin.id)
        self.assertIn(address, alice.settings())

        # The address is remembered: a later process reaches Erin by itself
        listen_a = alice.listen()
        listen_a.wait_for(nearby_event(erin.id), timeout=WAIT, what="erin reached again")
        alice.run("invite", erin.id)
        listen_e.wait_for(lambda e: e.get("event") == "invitation-accepted",
                          timeout=WAIT, what="accepted invitation")
        alice.run("send", erin.id, "typed by hand")
        message = listen_e.wait_for(lambda e: e.get("event") == "message", timeout=WAIT,
                                    what="message")
        self.assertEqual(message["body"], "typed by hand")


class ServerAndNearbyTest(LanTestCase):
    """With a server and --nearby: invited through the server, reached directly, and
    `contacts` says which way."""

    def route(self, client, contact, want):
        deadline = time.monotonic() + WAIT
        while True:
            found = [json.loads(line) for line in
                     client.run("contacts", "--json").stdout.splitlines() if line.strip()]
            entry = next((c for c in found if c["id"] == contact), None)
            if entry is not None and entry.get("route") == want:
                return entry
            if time.monotonic() > deadline:
                self.fail(f"{contact} never reached {want}: {entry}")
            time.sleep(0.5)

    def contacts_nearby(self, body):
        """Alice and Bob, with a server and nearby, become contacts through the server's
        invitation, and a message goes directly; their listeners are returned."""
        server = natter_lan_net.Server(self.net.a)
        alice = natter_lan_net.DualClient(self.net.a, "alice", server.url)
        bob = natter_lan_net.DualClient(self.net.b, "bob", server.url)
        self.clients += [alice, bob]

        listen_a = alice.listen()
        listen_b = bob.listen("--auto-accept-invitations")
        for listener in (listen_a, listen_b):
            listener.wait_for(lambda e: e.get("event") == "server" and e.get("state") == "online",
                              timeout=WAIT, what="server online")
        listen_a.wait_for(nearby_event(bob.id), timeout=WAIT, what="bob nearby")

        # The server keeps the invitation; the contact is then reached directly
        alice.run("invite", bob.id)
        listen_b.wait_for(lambda e: e.get("event") == "invitation-accepted",
                          timeout=WAIT, what="accepted invitation")
        self.route(alice, bob.id, "nearby")
        alice.run("send", bob.id, body)
        listen_b.wait_for(lambda e: e.get("event") == "message" and e.get("body") == body,
                          timeout=WAIT, what="message")
        return alice, bob, listen_a, listen_b

    def test_both_ways(self):
        self.contacts_nearby("nearby first")

    def test_nearby_then_server(self):
        """Bob leaves this network but not the server: the route goes back to the server,
        and Bob never shows offline on the way."""
        alice, bob, listen_a, listen_b = self.contacts_nearby("while nearby")

        # Bob's host stops announcing him (its avahi-daemon quits): no longer nearby
        mark = listen_a.mark()
        self.net.b.stop_avahi()
        listen_a.wait_for(nearby_event(bob.id, here=False), timeout=WAIT, since=mark,
                          what="bob no longer nearby")
        self.route(alice, bob.id, "server")
        offline = [e for e in listen_a.drain(3)[mark:] if e.get("event") == "presence" and
                   e.get("contact") == bob.id and not e.get("online")]
        self.assertEqual(offline, [], "bob showed offline while the server still reached him")

        # And he is still reached, through the server now
        bob.run("send", alice.id, "through the server")
        listen_a.wait_for(lambda e: e.get("event") == "message" and
                          e.get("body") == "through the server", timeout=WAIT, since=mark,
                          what="message after the switch")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=2)
