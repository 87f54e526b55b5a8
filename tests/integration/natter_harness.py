# natter_harness.py: real natter-server and natter-cli processes for the integration tests
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start the real programs on 127.0.0.1 and talk to them the way a script would."""

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

BUILD_DIR = os.environ.get("NATTER_BUILD_DIR", ".")
SERVER = os.environ.get("NATTER_SERVER", os.path.join(BUILD_DIR, "src/server/natter-server"))
CLI = os.environ.get("NATTER_CLI", os.path.join(BUILD_DIR, "src/cli/natter-cli"))
RELAY = os.environ.get("NATTER_MITM_RELAY",
                       os.path.join(BUILD_DIR, "tests/integration/natter-mitm-relay"))

# Upper bounds for things that normally take well under a second. They only
# decide when a test gives up on something that is not going to happen.
EVENT_TIMEOUT = 45


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Relay:
    """tests/integration/natter-mitm-relay: a hostile relay in front of a server."""

    def __init__(self, workdir, upstream_url, *args, port=0):
        self.log = open(os.path.join(workdir, "relay.log"), "ab")
        self.process = subprocess.Popen([RELAY, "--port", str(port), *args, upstream_url],
                                        stdout=subprocess.PIPE, stderr=self.log)
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"natter-mitm-relay did not print its port (got {line!r})")
        self.port = int(line)

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def said(self, text):
        """Whether the relay logged doing `text`: that the attack was tried at all."""
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return text in f.read()

    def arm(self):
        """From now on the relay changes what its mode changes."""
        self.process.send_signal(signal.SIGUSR1)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process.stdout.close()
        self.log.close()


class Server:
    """The real natter-server on a free loopback port."""

    def __init__(self, workdir, extra_args=()):
        self.data_dir = os.path.join(workdir, "server-data")
        self.extra_args = list(extra_args)
        self.port = 0
        self.process = None
        self.log = open(os.path.join(workdir, "server.log"), "ab")

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self):
        args = [SERVER, "--address", "127.0.0.1", "--port", str(self.port), "--print-port",
                "--data-dir", self.data_dir] + self.extra_args
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log)
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"natter-server did not print its port (got {line!r})")
        self.port = int(line)

    def stop(self):
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process = None

    def restart(self):
        """Stop and start again on the same port with the same data."""
        self.stop()
        deadline = time.monotonic() + 20
        while True:
            try:
                self.start()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def close(self):
        self.stop()
        self.log.close()


class EventLog:
    """Events that arrive on a queue from another thread, kept in order."""

    def __init__(self, name):
        self.name = name
        self.events = []
        self._queue = queue.Queue()

    def put(self, event):
        """From any thread."""
        self._queue.put(event)

    def check(self, event):
        """Called on every event as it arrives; may raise."""

    def _take(self, timeout):
        event = self._queue.get(timeout=timeout)
        self.events.append(event)
        self.check(event)
        return event

    def mark(self):
        """A position in the event list, for waiting only for what comes after it."""
        self.drain(0)
        return len(self.events)

    def wait_for(self, predicate, timeout=EVENT_TIMEOUT, what="an event", since=0):
        """Returns the first event since `since` (seen before or arriving now) matching predicate."""
        for event in self.events[since:]:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.name}: no {what} within {timeout} s; events: {self.events[-20:]}")
            try:
                event = self._take(remaining)
            except queue.Empty:
                continue
            if predicate(event):
                return event

    def drain(self, seconds):
        """Collects events for a while, for checks that something did *not* happen."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._take(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pass
        return self.events


class Listener(EventLog):
    """A `natter-cli listen` process whose JSON events are collected."""

    def __init__(self, process, name):
        super().__init__(name)
        self.process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            try:
                self._queue.put(json.loads(line))
            except json.JSONDecodeError:
                self._queue.put({"event": "unparsable", "line": line})

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._thread.join(timeout=5)
        self.process.stdout.close()


class Client:
    """One person: a natter-cli profile with its own identity and history."""

    def __init__(self, workdir, name, server_url, use_keyring=False):
        self.name = name
        self.workdir = workdir
        self.server_url = server_url
        self.use_keyring = use_keyring
        self.identity_file = os.path.join(workdir, f"{name}.key")
        self.env = dict(os.environ)
        self.env["XDG_DATA_HOME"] = os.path.join(workdir, f"{name}-data")
        self.env.setdefault("G_MESSAGES_DEBUG", "")
        self.stderr = open(os.path.join(workdir, f"{name}.stderr"), "ab")
        self.listeners = []
        self.id = self.run("whoami").stdout.strip()

    def args(self, *args):
        base = [CLI, "--profile", self.name, "--loopback", "--server", self.server_url]
        if not self.use_keyring:
            base += ["--identity-file", self.identity_file]
        return base + list(args)

    def run(self, *args, timeout=90, check=True):
        result = subprocess.run(self.args(*args), env=self.env, capture_output=True,
                                timeout=timeout, text=True)
        self.stderr.write(result.stderr.encode())
        self.stderr.flush()
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: natter-cli {' '.join(args)} exited "
                                 f"{result.returncode}: {result.stderr.strip()}")
        return result

    def listen(self, *args):
        process = subprocess.Popen(self.args("listen", *args), env=self.env,
                                   stdout=subprocess.PIPE, stderr=self.stderr)
        listener = Listener(process, self.name)
        listener.wait_for(lambda e: e.get("event") == "server" and e.get("state") == "online",
                          what="server online event")
        self.listeners.append(listener)
        return listener

    def history(self, contact):
        result = self.run("history", contact, "--json", "--limit", "1000")
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def close(self):
        for listener in self.listeners:
            listener.stop()
        self.stderr.close()


def befriend(a, b):
    """a invites b, b accepts: the way two strangers become contacts."""
    listener = b.listen("--auto-accept-invitations")
    a.run("invite", b.id, f"Hello from {a.name}")
    listener.wait_for(lambda e: e.get("event") == "invitation-accepted",
                      what="accepted invitation")
    listener.stop()
    b.listeners.remove(listener)


class Workdir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="natter-integration-")

    def cleanup(self, keep):
        if keep:
            print(f"# logs kept in {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def exercise_handed_over_commands(test, me, bob, carol, bob_listener):
    """Every natter-cli command that needs the network, run by a second process
    on `me`'s profile while another process (natter-cli listen or the app) is
    online on it: each must run there, with natter-cli's own output coming back.
    `bob` is a contact of `me` whose listen is `bob_listener`; `carol` is not."""
    def is_event(event, **members):
        return lambda e: e.get("event") == event and all(e.get(k) == v
                                                         for k, v in members.items())

    def run(*args, **kwargs):
        result = me.run(*args, check=False, **kwargs)
        test.assertNotIn("not available while", result.stderr)
        test.assertEqual(result.returncode, 0,
                         f"natter-cli {' '.join(args)} handed over: {result.stderr.strip()}")
        return result

    contacts = run("contacts")
    test.assertRegex(contacts.stdout, rf"{bob.id}\s+online")

    mark = bob_listener.mark()
    run("send", bob.id, "handed over")
    bob_listener.wait_for(is_event("message", body="handed over"), since=mark)
    history = me.history(bob.id)
    test.assertEqual(history[-1]["body"], "handed over")
    test.assertEqual(history[-1]["status"], "delivered")

    run("typing", bob.id, "on")
    bob_listener.wait_for(is_event("typing", contact=me.id, active=True), since=mark)
    bob.run("send", me.id, "read me")
    run("read", bob.id)
    bob_listener.wait_for(is_event("receipt", status="read"), since=mark,
                          what="a read receipt sent by the online process")

    run("register-handle", f"h{me.id[:6].lower()}")
    looked_up = run("lookup", f"@h{me.id[:6].lower()}")
    test.assertEqual(looked_up.stdout.strip(), me.id)

    invited = run("invite", carol.id, "Hello carol", "--json")
    test.assertEqual(json.loads(invited.stdout)["to"], carol.id)
    listing = json.loads(run("invitations", "--json").stdout)
    test.assertIn(carol.id, [i["to"] for i in listing["outgoing"]])

    carol.run("invite", me.id, "from carol")
    listing = json.loads(run("invitations", "--json").stdout)
    incoming = [i for i in listing["incoming"] if i["from"] == carol.id]
    test.assertTrue(incoming, f"carol's invitation is not listed: {listing}")
    test.assertIn("Accepted", run("accept", incoming[0]["id"]).stdout)
    test.assertRegex(run("contacts").stdout, carol.id)

    members = run("room", "members", f"room-{me.id[:6]}")
    test.assertIn(me.id, members.stdout)

    run("rename", bob.id, "Bob Handed Over")
    test.assertIn("Bob Handed Over", run("contacts").stdout)

    run("block", bob.id)
    test.assertIn("(blocked)", run("contacts").stdout)
    run("unblock", bob.id)
    test.assertNotIn("(blocked)", run("contacts").stdout)

    # Those that need the profile alone are still refused, and say why.
    refused = me.run("restore-backup", check=False)
    test.assertEqual(refused.returncode, 2)
    test.assertIn("another process is online", refused.stderr)
