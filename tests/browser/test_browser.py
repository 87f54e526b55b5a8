#!/usr/bin/env python3
# test_browser.py: headless Chromium as the other peer of natter-cli
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Browser tests (suite 'browser').

A page of the project's own, docs/browser/natter-peer.html, written from
docs/protocol.md and docs/peer.md alone, runs in Debian's Chromium (headless)
and talks to a real natter-cli through a real natter-server, all on 127.0.0.1:
sign-in, the SDP signature, the binding inside DTLS both ways, chat, receipts
and typing; and, as a hostile contact, what natter-cli must refuse.

Run one test:  test_browser.py BrowserChatTest.test_cli_offers
Exits 77 (skipped) when Chromium is not installed.
"""

import base64
import hashlib
import http.server
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from natter_harness import EVENT_TIMEOUT, Client, EventLog, Server, Workdir  # noqa: E402

PAGE_DIR = os.environ.get("NATTER_BROWSER_PAGE", os.path.join(HERE, "..", "..", "docs", "browser"))
CHROMIUM = os.environ.get("NATTER_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")


def is_event(event, **members):
    return lambda e: e.get("event") == event and all(e.get(k) == v for k, v in members.items())


class PageServer(http.server.ThreadingHTTPServer):
    """Serves the page and carries commands to it and events from it."""

    daemon_threads = True

    def __init__(self, events):
        super().__init__(("127.0.0.1", 0), PageHandler)
        self.commands = queue.Queue()
        self.events = events


class PageHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/command":
            pending = []
            try:
                pending.append(self.server.commands.get(timeout=1))
                while True:
                    pending.append(self.server.commands.get_nowait())
            except queue.Empty:
                pass
            self.reply(200, json.dumps(pending).encode(), "application/json")
            return
        name = {"/natter-peer.html": "text/html", "/natter-peer.js": "text/javascript"}
        if path not in name:
            self.reply(404, b"not found", "text/plain")
            return
        with open(os.path.join(PAGE_DIR, path[1:]), "rb") as f:
            self.reply(200, f.read(), name[path] + "; charset=utf-8")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/event":
            self.server.events.put(json.loads(body))
        self.reply(204, b"", "text/plain")


class Page(EventLog):
    """The page in a headless Chromium of its own."""

    def __init__(self, workdir, server_url):
        super().__init__("page")
        self.http = PageServer(self)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
        url = (f"http://127.0.0.1:{self.http.server_address[1]}/natter-peer.html"
               f"?server={server_url}")
        self.log = open(os.path.join(workdir, "chromium.log"), "ab")
        self.process = subprocess.Popen([
            CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", f"--user-data-dir={self.profile}",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            url], stdout=self.log, stderr=self.log)
        self.id = self.wait_for(is_event("ready"), what="the page")["id"]

    def check(self, event):
        if event.get("event") == "error":
            raise AssertionError(f"page: {event.get('message')}")

    def command(self, op, **members):
        self.http.commands.put({"op": op, **members})

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.http.shutdown()
        self.http.server_close()
        self.log.close()


def png_header(width, height):
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr
            + struct.pack(">I", zlib.crc32(ihdr)))


class BrowserTestCase(unittest.TestCase):
    def setUp(self):
        self.workdir = Workdir()
        self.server = Server(self.workdir.path)
        self.server.start()
        self.addCleanup(self._cleanup)
        self.cli = Client(self.workdir.path, "cli", self.server.url)
        self.page = Page(self.workdir.path, self.server.url)
        self.page.wait_for(is_event("online"), what="the page signed in")
        self.page.command("peer", id=self.cli.id)

    def _cleanup(self):
        failed = any(error for _, error in self._outcome.result.errors + self._outcome.result.failures
                     if error) if hasattr(self._outcome, "result") else False
        self.page.close()
        self.cli.close()
        self.server.close()
        self.workdir.cleanup(keep=failed)

    def become_contacts(self):
        """The page invites natter-cli, which accepts: they are contacts."""
        listener = self.cli.listen("--auto-accept-invitations")
        self.page.command("invite", text="Hello from a browser")
        listener.wait_for(lambda e: e.get("event") == "invitation-accepted", what="accepted")
        return listener

    def history(self):
        return self.cli.history(self.page.id)


class BrowserChatTest(BrowserTestCase):
    def exchange(self, cli):
        """Chat, receipts and typing both ways once the page is bound."""
        # page -> cli, and cli's delivered and read receipts back
        self.page.command("message", body="Hello from Chromium ✓")
        sent = self.page.wait_for(is_event("sent"))
        message = cli.wait_for(lambda e: e.get("event") == "message"
                               and e.get("body") == "Hello from Chromium ✓", what="the message")
        self.assertEqual(message["from"], self.page.id)
        self.assertEqual(message["id"], sent["id"])
        for status in ("delivered", "read"):
            receipt = self.page.wait_for(
                lambda e: e.get("event") == "receipt" and e["envelope"]["status"] == status,
                what=f"{status} receipt")
            self.assertEqual(receipt["envelope"]["ids"], [sent["id"]])

        # typing at the page shows at natter-cli, and expires there
        self.page.command("typing", active=True)
        cli.wait_for(lambda e: e.get("event") == "typing" and e.get("active") is True,
                     what="typing")
        cli.wait_for(lambda e: e.get("event") == "typing" and e.get("active") is False,
                     what="typing expired", timeout=20)

        history = self.history()
        self.assertIn(("in", "Hello from Chromium ✓"), [(m["direction"], m["body"]) for m in history])

    def test_cli_offers(self):
        self.become_contacts().stop()
        self.cli.listeners.clear()
        # Queued first: natter-cli connects to send it, so it makes the offer
        self.cli.run("send", self.page.id, "Hello, browser", "--no-wait")
        cli = self.cli.listen("--mark-read")
        negotiated = self.page.wait_for(is_event("negotiated"), what="negotiation")
        self.assertEqual(negotiated["role"], "answerer")
        self.page.wait_for(is_event("bound"), what="natter-cli's binding statement")
        cli.wait_for(lambda e: e.get("event") == "peer" and e.get("state") == "connected",
                     what="natter-cli bound")
        message = self.page.wait_for(is_event("message"), what="the message")
        self.assertEqual(message["envelope"]["body"], "Hello, browser")
        receipt = cli.wait_for(lambda e: e.get("event") == "receipt" and e.get("status") == "delivered",
                               what="delivered")
        self.assertEqual(receipt["id"], message["envelope"]["id"])

        # and read, when the page says so
        self.page.command("receipt", ids=[message["envelope"]["id"]], status="read")
        cli.wait_for(lambda e: e.get("event") == "receipt" and e.get("status") == "read",
                     what="read")
        self.exchange(cli)
        self.assertEqual(self.history()[0]["status"], "read")

    def test_page_offers(self):
        cli = self.become_contacts()
        cli.stop()
        self.cli.listeners.clear()
        cli = self.cli.listen("--mark-read")
        self.page.command("connect")
        negotiated = self.page.wait_for(is_event("negotiated"), what="negotiation")
        self.assertEqual(negotiated["role"], "offerer")
        self.page.wait_for(is_event("bound"), what="natter-cli's binding statement")
        cli.wait_for(lambda e: e.get("event") == "peer" and e.get("state") == "connected",
                     what="natter-cli bound")
        self.exchange(cli)


class BrowserFilesTest(BrowserTestCase):
    """Files between the page and natter-cli, from docs/peer.md alone."""

    def connected(self, *args):
        cli = self.become_contacts()
        cli.stop()
        self.cli.listeners.clear()
        cli = self.cli.listen(*args)
        self.page.command("connect")
        self.page.wait_for(is_event("bound"), what="natter-cli's binding statement")
        cli.wait_for(lambda e: e.get("event") == "peer" and e.get("state") == "connected",
                     what="natter-cli bound")
        return cli

    def test_page_sends_file(self):
        inbox = os.path.join(self.workdir.path, "inbox")
        cli = self.connected("--auto-accept-files", inbox)
        for size in (0, 1, 300001):
            mark = self.page.mark()
            self.page.command("sendFile", name=f"../from-page-{size}.bin", size=size,
                              mime="application/octet-stream")
            offered = self.page.wait_for(is_event("file-offered"), what="the offer", since=mark)
            done = cli.wait_for(lambda e: e.get("event") == "transfer" and
                                e.get("id") == offered["id"] and e.get("state") == "done",
                                what="the file at natter-cli")
            self.assertEqual(done["name"], f"_from-page-{size}.bin")
            self.assertEqual(os.path.dirname(done["path"]), inbox)
            with open(done["path"], "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), offered["sha256"])
            confirmed = self.page.wait_for(lambda e: e.get("event") == "file-confirmed" and
                                           e.get("id") == offered["id"], what="the confirmation")
            self.assertEqual(confirmed["sha256"], offered["sha256"])

    def test_cli_sends_file(self):
        self.connected()
        path = os.path.join(self.workdir.path, "to-page.bin")
        data = os.urandom(1000 * 1000 + 7)
        with open(path, "wb") as f:
            f.write(data)
        result = self.cli.run("send-file", self.page.id, path)
        self.assertEqual(result.returncode, 0)
        arrived = self.page.wait_for(is_event("file-arrived"), what="the file at the page")
        self.assertEqual(arrived["size"], len(data))
        self.assertEqual(arrived["name"], "to-page.bin")
        self.assertEqual(arrived["sha256"], hashlib.sha256(data).hexdigest())

    def test_page_declines(self):
        self.connected()
        self.page.command("declineFiles", on=True)
        path = os.path.join(self.workdir.path, "unwanted.bin")
        with open(path, "wb") as f:
            f.write(b"no thanks")
        result = self.cli.run("send-file", self.page.id, path, check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("declined", result.stderr)


class BrowserHostileTest(BrowserTestCase):
    """The page as a hostile contact."""

    def connected(self):
        cli = self.become_contacts()
        cli.stop()
        self.cli.listeners.clear()
        cli = self.cli.listen()
        self.page.command("connect")
        self.page.wait_for(is_event("bound"), what="natter-cli's binding statement")
        cli.wait_for(lambda e: e.get("event") == "peer" and e.get("state") == "connected",
                     what="connected")
        return cli

    def test_binding_for_someone_else_is_refused(self):
        cli = self.become_contacts()
        cli.stop()
        self.cli.listeners.clear()
        cli = self.cli.listen()
        self.page.command("badBinding", on=True)
        self.page.command("connect")
        failure = cli.wait_for(is_event("trust-failure"), what="trust failure")
        self.assertEqual(failure["contact"], self.page.id)
        self.page.command("message", body="should not count")
        time.sleep(2)
        self.assertFalse(any(e.get("event") == "peer" and e.get("state") == "connected"
                             for e in cli.drain(1)))
        self.assertEqual(self.history(), [])

    def test_text_with_nul_is_dropped(self):
        cli = self.connected()
        hidden = json.dumps({"type": "message", "id": "nul-1", "ts": int(time.time() * 1000),
                             "body": "before the NUL"})
        self.page.command("raw", text=hidden + "\u0000 and after it")
        self.page.command("message", body="after it")
        cli.wait_for(lambda e: e.get("event") == "message" and e.get("body") == "after it",
                     what="the next message")
        self.assertEqual([m["body"] for m in self.history()], ["after it"])

    def test_pictures_are_checked_before_they_are_stored(self):
        cli = self.connected()
        good = png_header(64, 64) + os.urandom(1000)
        pictures = (("Bomb", png_header(40000, 40000) + bytes(4096), "40000"),
                    ("Words", b"not a picture, but the checksum is right", "PNG, JPEG or WebP"),
                    ("Good", good, None))
        for name, picture, _ in pictures:
            # Each with the right size and SHA-256; a message after it shows
            # that natter-cli has dealt with all of its pieces (one channel, in order)
            self.page.command("profile", name=name, picture=base64.b64encode(picture).decode())
            self.page.command("message", body=f"after {name}")
            cli.wait_for(lambda e: e.get("event") == "message" and e.get("body") == f"after {name}",
                         what=f"the message after {name}")
        cli.stop()
        self.cli.listeners.clear()

        with open(os.path.join(self.workdir.path, "cli.stderr"), encoding="utf-8",
                  errors="replace") as f:
            dropped = [line for line in f if "Dropped an avatar" in line]
        for name, _, reason in pictures:
            self.assertEqual(any(reason in line for line in dropped) if reason else len(dropped),
                             True if reason else 2, (name, dropped))
        contacts = [json.loads(line) for line in
                    self.cli.run("contacts", "--json").stdout.splitlines() if line.strip()]
        page = next(c for c in contacts if c["id"] == self.page.id)
        self.assertEqual(page["name"], "Good")
        self.assertEqual(page["avatar_bytes"], len(good))

    def test_timestamps_out_of_range_are_not_believed(self):
        cli = self.connected()
        before = int(time.time() * 1000)
        for n, ts in enumerate((253402300800000, 0, -5, 9007199254740991)):
            self.page.command("raw", text=json.dumps({"type": "message", "id": f"ts-{n}",
                                                      "ts": ts, "body": f"clock {n}"}))
        self.page.command("message", body="clock right")
        cli.wait_for(lambda e: e.get("event") == "message" and e.get("body") == "clock right",
                     what="the last message")
        after = int(time.time() * 1000)
        history = self.history()
        self.assertEqual(len(history), 5)
        for message in history:
            # The time of receipt instead
            self.assertGreaterEqual(message["ts"], before, message)
            self.assertLessEqual(message["ts"], after, message)
        plain = self.cli.run("history", self.page.id)
        self.assertEqual(plain.stderr.count("CRITICAL"), 0, plain.stderr)
        self.assertEqual(len(plain.stdout.splitlines()), 5)

    def test_hostile_name_and_body(self):
        cli = self.connected()
        name = "<a href='https://evil.example/'>Ana</a>\x1b]0;owned\x07"
        body = "\x1b[2J<b>bold</b>\x1f"
        self.page.command("profile", name=name)
        self.page.command("message", body=body)
        message = cli.wait_for(lambda e: e.get("event") == "message" and e.get("body") == body,
                               what="the message, exactly")
        self.assertEqual(message["from"], self.page.id)
        out = self.cli.run("history", self.page.id).stdout
        self.assertFalse(any(ord(c) < 0x20 and c != "\n" for c in out), out)


def main():
    if not os.path.exists(CHROMIUM):
        print(f"# skipped: no Chromium at {CHROMIUM}")
        sys.exit(77)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
