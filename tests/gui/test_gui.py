#!/usr/bin/env python3
# test_gui.py: the real natter app under Xvfb, with a real server and natter-cli peers
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""GUI tests (suite 'gui'). Each test saves a screenshot of what it checked.

Run under tests/keyring/natter-keyring-run, one class or test at a time:
  natter-keyring-run python3 test_gui.py SendTest
Exits 77 (skipped) with the reason when the GUI cannot run here.
"""

import configparser
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_gui import (  # noqa: E402
    CLI, SCREENSHOT_DIR, STATUS_NAMES, Session, Ui, befriend, is_valid_id, missing_requirement,
    seed_history, stop_process, text_of, wait_until, window_geometry)

LONG_CONVERSATION = 100_000


def is_event(event, **members):
    return lambda e: e.get("event") == event and all(e.get(k) == v for k, v in members.items())


class GuiTestCase(unittest.TestCase):
    # Whether the test's Ui keeps libatspi's cache (see Ui).
    atspi_cache = True

    def setUp(self):
        reason = missing_requirement()
        if reason is not None:
            self.skipTest(reason)
        self.session = Session()
        self.addCleanup(self._cleanup)
        self.session.start()

    def _cleanup(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        failed = bool(result and any(test is self for test, _ in result.errors + result.failures))
        if failed:
            # What the screen showed when the test gave up.
            try:
                self.screenshot("failed-" + self.id().rsplit(".", 1)[-1])
            except Exception as error:
                print(f"# no screenshot of the failure: {error}")
            for app in self.session.apps:
                if app.process is not None:
                    print(f"# app log ({app.profile}):\n{app.log_tail()}")
        self.session.close(keep=failed)

    def screenshot(self, name, window=None):
        """Saves the app's main window (or `window`, or the screen) as NAME.png."""
        path = os.path.join(SCREENSHOT_DIR, name + ".png")
        app = getattr(self, "app", None)
        if window is None and app is not None and app.process is not None:
            windows = app.windows()
            window = windows[0] if windows else None
        self.session.display.screenshot(path, window)
        print(f"# screenshot: {path}")
        return path

    def start_app(self, client):
        """The app on the profile `client` (a keyring natter-cli profile) set up."""
        self.app = self.session.app(client.name, client.env["XDG_DATA_HOME"])
        self.app.start()
        self.ui = Ui(self.app, cache=self.atspi_cache)
        self.wait_online()
        return self.app

    def me_and_bob(self, friends=True):
        """`me` (the app's profile, identity in the keyring) and `bob` (a natter-cli peer)."""
        self.me = self.session.client("me", use_keyring=True)
        self.bob = self.session.client("bob")
        if friends:
            befriend(self.bob, self.me)
            # The name the app shows for bob, kept in the app's own store.
            self.me.run("rename", self.bob.id, "Bob")

    def chat_with_bob(self):
        """The app online, befriended with bob, his conversation open."""
        self.me_and_bob()
        self.start_app(self.me)
        self.open_conversation("Bob")

    def open_conversation(self, name):
        row = self.ui.find("label", name, within=self.ui.find("list", "Contacts"))
        self.ui.click(row)
        self.ui.find("text", "Message")

    def wait_online(self):
        """Waits for the connection status to say the app is online."""
        seen = []

        def online():
            # Online, the status bar hides (it speaks only of trouble); the
            # window's description always says how it is connected.
            windows = self.ui.all("frame", within=self.ui._root())
            if not windows:
                self.app.check_running()
                return False
            seen.append(tuple(w.description for w in windows))
            return "Connected" in seen[-1]
        try:
            wait_until(online, what="the app online", interval=0.5)
        except AssertionError:
            raise AssertionError(f"the app did not go online; its status said {seen[-3:]}")


class FirstRunTest(GuiTestCase):
    def test_first_run_against_real_server(self):
        profile_dir_home = os.path.join(self.session.workdir.path, "me-data")
        app = self.app = self.session.app("me", profile_dir_home)
        app.start()
        ui = self.ui = Ui(app)

        name = ui.find("text", "Display name")
        server = ui.find("text", "Server address")
        ui.set_text(name, "Ada")

        # An address where nothing answers is caught before going on.
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            nobody = f"ws://127.0.0.1:{unused.getsockname()[1]}/ws"
        ui.set_text(server, nobody)
        ui.press_button("Continue")
        refused = ui.find("label", match=lambda n: text_of(n).startswith(f"Can’t reach {nobody}: "),
                          what="the unreachable server explained")
        self.assertIn("refused", text_of(refused).lower())
        self.screenshot("first-run-unreachable")

        ui.set_text(server, self.session.server.url)
        # What was said of the old address goes with it.
        wait_until(lambda: not ui.all("label", match=lambda n: text_of(n).startswith("Can’t reach")),
                   what="the old address's error gone")
        self.screenshot("first-run")
        ui.press_button("Continue")

        settings_path = os.path.join(app.profile_dir, "settings.ini")

        def settings():
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(settings_path)
            return parser
        wait_until(lambda: settings().get("client", "server", fallback=None),
                   what="the server in settings.ini")
        self.assertEqual(settings().get("client", "server"), self.session.server.url)
        self.assertEqual(settings().get("profile", "name", fallback=None), "Ada")
        # The main window, online with the new identity.
        self.wait_online()
        self.screenshot("first-run-done")

        env = dict(os.environ, XDG_DATA_HOME=profile_dir_home)
        whoami = subprocess.run([CLI, "--profile", "me", "whoami"], env=env,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(whoami.returncode, 0, whoami.stderr)
        user_id = whoami.stdout.strip()
        self.assertTrue(is_valid_id(user_id), f"not a Natter ID: {user_id!r}")

        # It is the app's identity, not a new one: a peer's invitation to it
        # reaches the window.
        bob = self.session.client("bob")
        bob.run("invite", user_id, "Hello Ada")
        ui.find("push button", "Accept")


    def test_keyring_that_does_not_answer(self):
        # The test's real gnome-keyring-daemon, stopped: it owns its name on
        # the bus but answers nothing, as a stuck keyring does.
        owner = subprocess.run(
            ["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path",
             "/org/freedesktop/DBus", "--method",
             "org.freedesktop.DBus.GetConnectionUnixProcessID", "org.freedesktop.secrets"],
            capture_output=True, text=True, timeout=30)
        if owner.returncode != 0:
            self.skipTest("no Secret Service on the session bus: " + owner.stderr.strip())
        keyring_pid = int(re.search(r"uint32 (\d+)", owner.stdout).group(1))
        os.kill(keyring_pid, signal.SIGSTOP)
        self.addCleanup(os.kill, keyring_pid, signal.SIGCONT)

        profile_dir_home = os.path.join(self.session.workdir.path, "me-data")
        app = self.app = self.session.app("me", profile_dir_home)
        app.start()
        ui = self.ui = Ui(app)
        ui.set_text(ui.find("text", "Display name"), "Ada")
        server = ui.find("text", "Server address")
        ui.set_text(server, self.session.server.url)
        ui.press_button("Continue")

        # Said in plain words, with what to do, once the call times out
        problem = ui.find("label", match=lambda n: text_of(n).startswith(
            "Your keyring did not answer."), timeout=90, what="the keyring explained")
        said = text_of(problem)
        self.assertIn("log out and back in", said)
        for raw in ("GDBus", "org.freedesktop", "Timeout was reached", "Error:"):
            self.assertNotIn(raw, said)
        # ...away from the server address, which is not at fault and stays
        # without an error of its own.
        shown = " ".join(ui.texts())
        for raw in ("GDBus", "org.freedesktop", "Timeout was reached"):
            self.assertNotIn(raw, shown)
        self.assertFalse(ui.all("label", match=lambda n: text_of(n).startswith("Can’t reach")))
        self.assertLess(problem.queryComponent().getExtents(ui.pyatspi.WINDOW_COORDS).y,
                        server.queryComponent().getExtents(ui.pyatspi.WINDOW_COORDS).y,
                        "the keyring's problem is not shown above the server field")
        self.screenshot("first-run-keyring-no-answer")

        # Once the keyring answers again, Continue goes on.
        os.kill(keyring_pid, signal.SIGCONT)
        ui.press_button("Continue")
        self.wait_online()


class InvitationTest(GuiTestCase):
    def test_accept_invitation_in_window(self):
        self.me_and_bob(friends=False)
        self.bob.run("profile", "--name", "Bob Builder")
        self.start_app(self.me)
        self.bob.run("invite", self.me.id, "Hi, it is Bob")
        self.ui.find_text("Hi, it is Bob")
        # The name bob gave, with the start of his ID beside it
        self.ui.find_text(f"Bob Builder · {self.bob.id[:12]}…")
        accept = self.ui.find("push button", "Accept")
        self.ui.find("push button", "Decline")
        self.screenshot("invitation-pending")

        bob = self.bob.listen()
        self.ui.press(accept)
        answer = bob.wait_for(is_event("invitation-answer"), what="invitation-answer")
        self.assertEqual(answer["invitation"]["status"], "accepted")
        self.assertEqual(answer["invitation"]["to"], self.me.id)
        self.ui.gone("push button", "Accept")
        # Bob is now a contact in the window.
        wait_until(lambda: self.contact_rows(), what="bob in the contact list")
        self.screenshot("invitation-accepted")

    def test_decline_invitation_in_window(self):
        self.me_and_bob(friends=False)
        self.start_app(self.me)
        sent = self.bob.run("invite", self.me.id, "Remember me?", "--json")
        invitation_id = json.loads(sent.stdout)["id"]
        self.ui.find_text("Remember me?")
        bob = self.bob.listen()
        self.ui.press_button("Decline")
        answer = bob.wait_for(is_event("invitation-answer"), what="invitation-answer")
        self.assertEqual(answer["invitation"]["status"], "declined")
        self.ui.gone("push button", "Accept")
        self.assertEqual(answer["invitation"]["id"], invitation_id)
        self.screenshot("invitation-declined")
        # Answered: pending on neither side any more.
        self.assertNotIn(invitation_id, self.bob.run("invitations").stdout)
        # ...and bob did not become a contact in the window.
        self.assertEqual(self.contact_rows(), [])

    def test_decline_and_block_invitation(self):
        self.me_and_bob(friends=False)
        self.start_app(self.me)
        self.bob.run("invite", self.me.id, "Buy cheap watches")
        self.ui.find_text("Buy cheap watches")
        self.screenshot("invitation-three-answers")
        bob = self.bob.listen()
        self.ui.press_button("Decline and Block")
        answer = bob.wait_for(is_event("invitation-answer"), what="invitation-answer")
        self.assertEqual(answer["invitation"]["status"], "declined")
        self.ui.gone("push button", "Accept")
        # Blocked: listed as such, and a new invitation is declined unseen.
        wait_until(lambda: self.contact_rows(), what="the blocked sender in the list")
        self.ui.find_text("Blocked")
        # A new invitation from them is declined unseen.
        mark = bob.mark()
        self.bob.run("invite", self.me.id, "Second try")
        again = bob.wait_for(is_event("invitation-answer"), since=mark,
                             what="the second invitation's answer")
        self.assertEqual(again["invitation"]["status"], "declined")
        self.assertNotIn("Second try", self.ui.texts())

    def contact_rows(self):
        """The rows of the contact list (shown or not: with no contacts, a
        placeholder page hides the list)."""
        contacts = self.ui.all("list", "Contacts", showing=False)
        self.assertEqual(len(contacts), 1)
        return self.ui.all("list item", within=contacts[0], showing=False)

    def test_invite_from_add_contact_dialog(self):
        self.me_and_bob(friends=False)
        self.start_app(self.me)
        bob = self.bob.listen("--auto-accept-invitations")
        self.ui.press_button("Add contact")
        self.ui.set_text(self.ui.find("text", "Natter ID or @handle"), self.bob.id)
        self.ui.set_text(self.ui.find("text", "Note"), "Hi Bob, it is me from the lab")
        # No window manager places the dialog: put it over the middle of
        # the main window, as a desktop would, for the screenshot.
        self.app.center_dialog()
        self.screenshot("add-contact")
        self.ui.press_button("Send invitation")

        invitation = bob.wait_for(is_event("invitation"), what="invitation")["invitation"]
        self.assertEqual(invitation["from"], self.me.id)
        self.assertEqual(invitation["text"], "Hi Bob, it is me from the lab")
        bob.wait_for(is_event("invitation-accepted"), what="invitation accepted by bob")
        self.ui.gone("push button", "Send invitation")


    def test_invite_by_handle_shows_the_id_first(self):
        self.me_and_bob(friends=False)
        self.bob.run("register-handle", "bob")
        safety = self.bob.run("safety-number", self.me.id).stdout.strip()
        self.start_app(self.me)
        bob = self.bob.listen("--auto-accept-invitations")
        self.ui.press_button("Add contact")
        self.ui.set_text(self.ui.find("text", "Natter ID or @handle"), "@bob")
        self.app.center_dialog()
        self.ui.press_button("Send invitation")

        # Nothing is sent yet: the dialog says whom the server named, and the
        # safety number to compare.
        def shows_resolved(node):
            try:
                text = text_of(node)
            except Exception:
                return False
            return self.bob.id in text and safety in text
        self.ui.find("label", match=shows_resolved, what="the resolved ID and safety number")
        self.screenshot("add-contact-by-handle")
        self.assertFalse(any(e.get("event") == "invitation" for e in bob.drain(1)))

        self.ui.press_button("Invite this ID")
        invitation = bob.wait_for(is_event("invitation"), what="invitation")["invitation"]
        self.assertEqual(invitation["from"], self.me.id)
        self.assertEqual(invitation["to"], self.bob.id)
        bob.wait_for(is_event("invitation-accepted"), what="invitation accepted by bob")


class ReceiveTest(GuiTestCase):
    def test_message_from_peer_appears(self):
        self.chat_with_bob()
        self.bob.run("send", self.me.id, "Hello from the command line ✓")
        self.ui.find_text("Hello from the command line ✓")
        # Beside the name a contact chose, the start of the ID no one can choose
        self.ui.find_text(self.bob.id[:8])
        self.screenshot("received")


class SendTest(GuiTestCase):
    def test_typed_message_is_delivered(self):
        self.chat_with_bob()
        self.bob.run("send", self.me.id, "Are you coming to lunch?")
        self.ui.find_text("Are you coming to lunch?")

        bob = self.bob.listen()
        compose = self.ui.find("text", "Message")
        self.ui.set_text(compose, "Yes, see you at noon")
        self.ui.press_button("Send")
        message = bob.wait_for(is_event("message", body="Yes, see you at noon"),
                               what="the typed message at bob")
        self.assertEqual(message["from"], self.me.id)

        self.wait_status("Yes, see you at noon", "Delivered")
        self.screenshot("conversation")

        self.assert_delivered_in_history("Yes, see you at noon")

    def test_enter_sends_what_was_typed(self):
        self.chat_with_bob()
        bob = self.bob.listen()
        self.ui.click(self.ui.find("text", "Message"))
        self.ui.type("Typed on a real keyboard")
        self.ui.key("Return")
        bob.wait_for(is_event("message", body="Typed on a real keyboard"),
                     what="the typed message at bob")
        self.wait_status("Typed on a real keyboard", "Delivered")
        self.screenshot("typed")
        self.assert_delivered_in_history("Typed on a real keyboard")

    def wait_status(self, body, status):
        """Waits for the status icon of the message `body` to say `status`."""
        row = self.ui.ancestor(self.ui.find_text(body), "list item")
        self.assertIsNotNone(row, f"the message {body!r} has no row")
        seen = []

        def current():
            icons = self.ui.all("image", within=row, match=lambda n: n.name in STATUS_NAMES)
            seen.append(icons[0].name if icons else None)
            return seen[-1] == status
        try:
            wait_until(current, what=f"the status icon saying {status}")
        except AssertionError:
            raise AssertionError(f"the status of {body!r} stayed {seen[-1]!r}, not {status!r}")

    def assert_delivered_in_history(self, body):
        sent = [m for m in self.me.history(self.bob.id) if m["body"] == body]
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["direction"], "out")
        self.assertEqual(sent[0]["status"], "delivered")


def install_uri_handler(data_home, log_path):
    """A stand-in web browser for the app's profile: a desktop file that
    handles http: and https: and writes each address it is given to `log_path`."""
    applications = os.path.join(data_home, "applications")
    os.makedirs(applications, exist_ok=True)
    script = os.path.join(data_home, "natter-test-browser")
    with open(script, "w") as handler:
        handler.write(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{log_path}"\n')
    os.chmod(script, 0o755)
    with open(os.path.join(applications, "natter-test-browser.desktop"), "w") as desktop:
        desktop.write("[Desktop Entry]\nType=Application\nName=Test Browser\n"
                      f"Exec={script} %u\n"
                      "MimeType=x-scheme-handler/http;x-scheme-handler/https;\n")
    with open(os.path.join(applications, "mimeapps.list"), "w") as mimeapps:
        mimeapps.write("[Default Applications]\n"
                       "x-scheme-handler/http=natter-test-browser.desktop\n"
                       "x-scheme-handler/https=natter-test-browser.desktop\n")


class MessageTest(GuiTestCase):
    """What one does with a message in the conversation."""

    def test_link_opens_in_browser(self):
        self.me_and_bob()
        opened = os.path.join(self.session.workdir.path, "opened-uris")
        install_uri_handler(self.me.env["XDG_DATA_HOME"], opened)
        self.start_app(self.me)
        self.open_conversation("Bob")
        link = "https://example.org/natter?q=1&r=2"
        self.bob.run("send", self.me.id, link)
        label = self.ui.find_text(link)
        self.screenshot("link")
        self.ui.click(label)
        def opened_uris():
            if not os.path.exists(opened):
                return None
            with open(opened) as log:
                return log.read().split()
        self.assertEqual(wait_until(opened_uris, what="the stand-in browser opening the link"),
                         [link])

    def test_markup_stays_text(self):
        self.chat_with_bob()
        text = "<b>not bold</b> & <a href='file:///etc/passwd'>x</a>"
        self.bob.run("send", self.me.id, text)
        self.ui.find_text(text)

    def test_copy_text_from_menu(self):
        self.chat_with_bob()
        self.bob.run("send", self.me.id, "Copy me, see www.example.org.")
        label = self.ui.find_text("Copy me, see www.example.org.")
        self.ui.right_click(label)
        self.ui.find("menu item", "Copy Link")
        self.screenshot("message-menu")
        self.ui.menu_item("Copy Text")
        self.ui.gone("menu item", "Copy Text")
        compose = self.ui.find("text", "Message")
        self.ui.click(compose)
        self.ui.key("ctrl+v")
        wait_until(lambda: text_of(compose) == "Copy me, see www.example.org.",
                   what="the copied text pasted into the compose box")

        # Copy Link takes the address alone.
        self.ui.set_text(compose, "")
        self.ui.right_click(label)
        self.ui.menu_item("Copy Link")
        self.ui.click(compose)
        self.ui.key("ctrl+v")
        wait_until(lambda: text_of(compose) == "https://www.example.org",
                   what="the copied link pasted into the compose box")

    def test_menu_key_opens_menu(self):
        self.chat_with_bob()
        self.bob.run("send", self.me.id, "Reach me from the keyboard")
        label = self.ui.find_text("Reach me from the keyboard")
        row = self.ui.ancestor(label, "list item")
        self.ui.click(self.ui.find("text", "Message"))
        # Shift+Tab from the compose box reaches the newest message.
        self.ui.key("shift+Tab")
        wait_until(lambda: row.getState().contains(self.ui.pyatspi.STATE_FOCUSED)
                   or any(n.getState().contains(self.ui.pyatspi.STATE_FOCUSED)
                          for n in self.ui.all(within=row)),
                   what="the newest message focused")
        self.ui.key("Menu")
        self.ui.find("menu item", "Copy Text")
        self.ui.key("Escape")
        self.ui.gone("menu item", "Copy Text")

    def test_delete_for_me_survives_restart(self):
        self.chat_with_bob()
        self.bob.run("send", self.me.id, "Keep this one")
        self.bob.run("send", self.me.id, "Delete this one")
        label = self.ui.find_text("Delete this one")
        self.ui.right_click(label)
        self.ui.menu_item("Delete for Me")
        self.ui.press_response("Delete")
        self.ui.gone("label", "Delete this one")
        self.ui.find_text("Keep this one")
        self.screenshot("message-deleted")

        self.app.stop()
        bodies = [m["body"] for m in self.me.history(self.bob.id)]
        self.assertIn("Keep this one", bodies)
        self.assertNotIn("Delete this one", bodies)

        self.app.start()
        self.ui = Ui(self.app, cache=self.atspi_cache)
        self.wait_online()
        self.open_conversation("Bob")
        self.ui.find_text("Keep this one")
        self.assertEqual([n for n in self.ui.texts() if n == "Delete this one"], [])

    def test_accessible_names_on_rows(self):
        self.chat_with_bob()
        self.bob.run("send", self.me.id, "Read me aloud")
        self.ui.find_text("Read me aloud")
        named = self.ui.find(match=lambda n: n.name.startswith("Bob: Read me aloud, "),
                             what="a message row named after sender and text")
        self.assertRegex(named.name, r"^Bob: Read me aloud, \d\d:\d\d$")

        compose = self.ui.find("text", "Message")
        self.ui.set_text(compose, "And me")
        self.ui.press_button("Send")
        self.ui.find(match=lambda n: re.match(r"^You: And me, \d\d:\d\d, (Queued|Sent|Delivered|Read)$",
                                              n.name or ""),
                     what="our own message row named with its status")
        self.ui.find(match=lambda n: re.match(r"^Bob, (Online|Offline)$", n.name or ""),
                     what="the contact row named with its presence")

    def test_new_messages_divider(self):
        self.me_and_bob()
        self.me.run("rename", self.bob.id, "Bob")
        self.start_app(self.me)
        self.bob.run("send", self.me.id, "First unread")
        self.bob.run("send", self.me.id, "Second unread")
        self.ui.find(match=lambda n: re.match(r"^Bob, (Online|Offline), 2 unread messages$",
                                              n.name or ""),
                     what="the contact row counting two unread messages")
        self.open_conversation("Bob")
        divider = self.ui.find_text("New messages")
        first = self.ui.find_text("First unread")
        rows = self.ui.all("list item", within=self.ui.find("list", "Messages"))
        divider_row = self.ui.ancestor(divider, "list item")
        self.assertEqual(divider_row, self.ui.ancestor(first, "list item"))
        self.assertIn(divider_row, rows)
        self.screenshot("new-messages")


class ReplyTest(GuiTestCase):
    def test_reply_quotes_and_jumps(self):
        self.chat_with_bob()
        self.bob.run("send", self.me.id, "Lunch at noon?")
        question_id = [m["id"] for m in self.bob.history(self.me.id)
                       if m["body"] == "Lunch at noon?"][0]
        bob = self.bob.listen()
        self.ui.right_click(self.ui.find_text("Lunch at noon?"))
        self.ui.menu_item("Reply")
        self.ui.find_text("Replying to Bob: Lunch at noon?")
        compose = self.ui.find("text", "Message")
        self.ui.set_text(compose, "Yes, at noon")
        self.screenshot("replying")
        self.ui.press_button("Send")

        # The other side gets the reply with the ID of what it answers.
        answer = bob.wait_for(is_event("message", body="Yes, at noon"), what="the reply at bob")
        self.assertEqual(answer.get("reply_to"), question_id)
        self.ui.gone("label", "Replying to Bob: Lunch at noon?")
        self.ui.find_text("Bob: Lunch at noon?")
        bob.stop()

        # A reply from bob quotes our message; the quote leads to it.
        self.bob.run("send", self.me.id, "Great, see you", "--reply-to", answer["id"])
        great = self.ui.ancestor(self.ui.find_text("Great, see you"), "list item")
        quote = self.ui.find("push button", "Replying to", within=great)
        self.assertEqual(quote.description, "You: Yes, at noon")
        self.screenshot("reply-received")
        self.ui.press(quote)

        def ours_focused():
            return any(n.getState().contains(self.ui.pyatspi.STATE_FOCUSED)
                       for n in self.ui.all(match=lambda n: (n.name or "").startswith(
                           "You: Yes, at noon, ")))
        wait_until(ours_focused, what="the quoted message focused after the jump")

        # The same conversation on a phone-sized window.
        window = self.app.windows()[0]
        subprocess.run(["xdotool", "windowsize", "--sync", str(window), "360", "720"], check=True,
                       timeout=30)
        wait_until(lambda: self.app.windows() and
                   window_geometry(self.app.windows()[0])[2] <= 400, what="the window at 360 px")
        self.ui.find_text("Great, see you")
        self.screenshot("conversation-narrow")


class ContactTest(GuiTestCase):
    """Blocking, removing and waiting for an answer."""

    def conversation_menu(self, item):
        self.ui.click(self.ui.find(name="Conversation Menu"))
        self.ui.menu_item(item)

    def test_block_asks_then_shows_banner(self):
        self.chat_with_bob()
        self.conversation_menu("Block Contact…")
        self.ui.find("dialog", "Block Bob?")
        self.app.center_dialog()
        self.screenshot("block-confirm")
        # Cancel changes nothing.
        self.ui.press_response("Cancel")
        self.ui.gone("dialog", "Block Bob?")
        self.ui.find("text", "Message")

        self.conversation_menu("Block Contact…")
        self.ui.press_response("Block")
        self.ui.find_text("You blocked Bob.")
        self.ui.gone("text", "Message")
        self.screenshot("blocked")

        self.ui.press_button("Unblock")
        self.ui.find("text", "Message")
        self.ui.gone("label", "You blocked Bob.")

    def test_delete_conversation_and_remove_contact(self):
        self.chat_with_bob()
        self.bob.run("send", self.me.id, "Soon gone")
        self.ui.find_text("Soon gone")
        self.conversation_menu("Delete Conversation…")
        self.ui.press_response("Delete")
        self.ui.gone("label", "Soon gone")
        self.ui.find_text("No messages yet")

        self.conversation_menu("Remove Contact…")
        self.ui.find("dialog", "Remove Bob?")
        self.ui.press_response("Remove")
        self.ui.find_text("No Conversation Selected")
        # With no conversation there is no one to call.
        wait_until(lambda: not self.ui.find("push button", "Video Call").getState().contains(
            self.ui.pyatspi.STATE_SENSITIVE), what="the call buttons off")
        contacts = self.ui.all("list", "Contacts", showing=False)
        wait_until(lambda: not self.ui.all("list item", within=contacts[0], showing=False),
                   what="the contact list without bob")
        self.app.stop()
        self.assertNotIn(self.bob.id, self.me.run("contacts").stdout)

    def test_sent_invitation_waits_for_answer(self):
        self.me_and_bob(friends=False)
        self.start_app(self.me)
        bob = self.bob.listen()
        self.ui.press_button("Add contact")
        self.ui.set_text(self.ui.find("text", "Natter ID or @handle"), self.bob.id)
        self.ui.press_button("Send invitation")
        invitation = bob.wait_for(is_event("invitation"), what="invitation")["invitation"]
        self.ui.gone("push button", "Send invitation")

        self.ui.find_text("Invited, waiting for an answer")
        # Someone without a name yet shows as the start of their ID.
        self.open_conversation(self.bob.id[:12])
        waiting = self.ui.find("label", match=lambda n: text_of(n).startswith("Waiting for ")
                               and text_of(n).endswith(" to accept your invitation"),
                               what="the waiting subtitle")
        self.assertNotIn("Connecting", self.ui.texts())
        self.screenshot("invitation-waiting")

        bob.stop()
        self.bob.run("accept", invitation["id"])
        wait_until(lambda: not text_of(waiting).startswith("Waiting for "),
                   what="the subtitle after bob accepted")
        self.ui.gone("label", "Invited, waiting for an answer")


class HandleTest(GuiTestCase):
    def lookup(self, handle):
        return self.bob.run("lookup", handle, check=False)

    def claim(self, row, handle):
        self.ui.set_text(row, handle)
        # Enter in the row applies, as its apply button does (which shows
        # only after typing, and is not in the accessibility tree before)
        # (AT-SPI cannot focus it in GTK 4.8: click into the dialog's row.)
        self.ui.click(row, window=self.app.windows()[1])
        subprocess.run(["xdotool", "key", "--clearmodifiers", "End", "Return"], check=True,
                       timeout=30)

    def test_claim_change_release(self):
        self.me_and_bob(friends=False)
        self.start_app(self.me)
        self.ui.click(self.ui.find("push button", "Main menu"))
        self.ui.menu_item("Profile")
        row = self.ui.find("text", "Handle")
        self.claim(row, "@ada_gui")
        self.ui.find_text("You are @ada_gui now")
        self.app.center_dialog()
        self.screenshot("handle-claimed")
        self.assertEqual(self.lookup("@ada_gui").stdout.strip(), self.me.id)

        # Changing it gives the old one back.
        self.claim(row, "@ada_two")
        self.ui.find_text("You are @ada_two now")
        self.assertEqual(self.lookup("@ada_two").stdout.strip(), self.me.id)
        self.assertNotEqual(self.lookup("@ada_gui").returncode, 0)

        # Someone else's handle is refused in words.
        self.bob.run("register-handle", "@bob_gui")
        self.claim(row, "@bob_gui")
        self.ui.find_text("@bob_gui belongs to someone else. Try another one.")

        self.ui.press_button("Release")
        self.ui.find_text("Handle released")
        self.assertNotEqual(self.lookup("@ada_two").returncode, 0)

    def test_profile_shows_id_link_and_qr_code(self):
        self.me_and_bob(friends=False)
        self.start_app(self.me)
        self.ui.click(self.ui.find("push button", "Main menu"))
        self.ui.menu_item("Profile")
        # The ID in groups of four, and the natter: link of it
        grouped = " ".join(self.me.id[i:i + 4] for i in range(0, len(self.me.id), 4))
        self.ui.find_text(grouped)
        self.ui.find_text("natter:" + self.me.id)
        self.ui.find("image", "QR code of your Natter link")
        # Tall enough to show the code; a real decoder reads it off the screen
        dialog = self.app.windows()[1]
        subprocess.run(["xdotool", "windowsize", "--sync", str(dialog), "460", "780"],
                       check=True, timeout=30)
        subprocess.run(["xdotool", "windowmove", "--sync", str(dialog), "0", "0"], check=True,
                       timeout=30)
        # ...and scrolled down to it
        subprocess.run(["xdotool", "mousemove", "230", "400", "click", "--repeat", "15",
                        "--delay", "30", "5"], check=True, timeout=30)
        zbarimg = shutil.which("zbarimg")
        if zbarimg is None:
            self.skipTest("zbarimg is not installed (Debian package zbar-tools)")

        def decoded():
            shot = self.screenshot("profile-qr-code", window=dialog)
            result = subprocess.run([zbarimg, "--raw", "-q", shot], capture_output=True,
                                    text=True, timeout=60)
            return result.stdout.strip() or None
        self.assertEqual(wait_until(decoded, what="a QR code on screen"), "natter:" + self.me.id)


NOTIFICATION_DAEMON = "/usr/lib/notification-daemon/notification-daemon"


class NotificationTest(GuiTestCase):
    """Notifications through a real notification server (Debian's
    notification-daemon) on the test's session bus, read and clicked
    through AT-SPI like the app."""

    def setUp(self):
        super().setUp()
        if not os.access(NOTIFICATION_DAEMON, os.X_OK):
            self.skipTest("notification-daemon is not installed (Debian package "
                          "notification-daemon)")
        if shutil.which("xmessage") is None:
            self.skipTest("xmessage is not installed (Debian package x11-utils)")

    def start_daemon(self):
        env = dict(os.environ)
        env.pop("NO_AT_BRIDGE", None)
        log = open(os.path.join(self.session.workdir.path, "notification-daemon.log"), "ab")
        daemon = subprocess.Popen([NOTIFICATION_DAEMON], env=env, stdout=log, stderr=log)
        log.close()
        self.addCleanup(stop_process, daemon)
        subprocess.run(["gdbus", "wait", "--session", "--timeout", "30",
                        "org.freedesktop.Notifications"], check=True, timeout=60)
        return daemon

    def look_elsewhere(self):
        """Another window takes the focus, as when the user works in another app."""
        other = subprocess.Popen(["xmessage", "-geometry", "+700+500", "Elsewhere"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(stop_process, other)
        # (xmessage does not say its PID: find it by its class.)
        window = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--class",
                                 "Xmessage"], capture_output=True, text=True,
                                timeout=60).stdout.split()[0]
        subprocess.run(["xdotool", "windowfocus", "--sync", window], check=True, timeout=30)
        frame = self.ui.find("frame", "Natter", match=lambda n: True)
        wait_until(lambda: not frame.getState().contains(self.ui.pyatspi.STATE_ACTIVE),
                   what="the app's window inactive")

    def popup(self, daemon):
        """The daemon's accessible tree."""
        return Ui(type("Process", (), {"process": daemon, "check_running": lambda self: None})())

    def test_notification_mark_as_read(self):
        daemon = self.start_daemon()
        self.chat_with_bob()
        self.look_elsewhere()
        self.bob.run("send", self.me.id, "Did you see this?")
        popup = self.popup(daemon)
        popup.find_text("Did you see this?")
        self.ui.find(match=lambda n: re.match(r"^Bob, \w+, 1 unread message$", n.name or ""),
                     what="one unread message in the sidebar")
        popup.find("push button", "Open")
        # A real click on the popup (GTK 3 gives screen coordinates)
        button = popup.find("push button", "Mark as Read")
        extents = button.queryComponent().getExtents(self.ui.pyatspi.DESKTOP_COORDS)
        subprocess.run(["xdotool", "mousemove", str(extents.x + extents.width // 2),
                        str(extents.y + extents.height // 2), "click", "1"],
                       check=True, timeout=30)
        self.ui.find(match=lambda n: re.match(r"^Bob, \w+$", n.name or ""),
                     what="no unread message left in the sidebar")

    def test_notification_can_hide_text(self):
        daemon = self.start_daemon()
        self.chat_with_bob()
        self.ui.key("ctrl+comma")
        # (The row's switch carries the row's title as its name.)
        switch = self.ui.find("check box", "Show message text in notifications")
        self.assertTrue(switch.getState().contains(self.ui.pyatspi.STATE_CHECKED))
        self.ui.press(switch)
        wait_until(lambda: not switch.getState().contains(self.ui.pyatspi.STATE_CHECKED),
                   what="the preview switch off")
        self.look_elsewhere()
        self.bob.run("send", self.me.id, "A secret")
        popup = self.popup(daemon)
        popup.find_text("New message")
        self.assertNotIn("A secret", popup.texts())


class BackgroundTest(GuiTestCase):
    """Running in the background and starting at login, through the desktop's
    Background portal."""

    # Opening the preferences while the harness cleared libatspi's cache
    # crashed the test process now and then (libatspi 2.46); nothing here
    # waits for a toast, so ask the app every time instead.
    atspi_cache = False

    def open_preferences(self):
        self.ui.key("ctrl+comma")
        return self.ui.find("label", match=lambda n: text_of(n) == "Run in the background"
                            or text_of(n) == "Run in the _background", what="the preferences")

    def switch(self, title):
        """The switch of the preferences row titled `title`."""
        return self.ui.find(match=lambda n: n.getRoleName() in ("check box", "toggle button", "switch")
                            and title in n.name, what=f"the switch {title!r}")

    def test_no_portal_is_said_in_the_preference(self):
        self.me_and_bob(friends=False)
        self.start_app(self.me)
        self.open_preferences()
        self.ui.press(self.switch("Run in the background"))
        self.ui.find("label", match=lambda n: text_of(n).startswith(
            "No background portal answers on this desktop"), what="the missing portal said")
        self.screenshot("preferences-no-background-portal", window=None)

    def test_start_at_login_asks_the_portal(self):
        log = os.path.join(self.session.workdir.path, "portal.log")
        portal = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "natter-background-portal-standin.py"), log],
            stdout=subprocess.PIPE, text=True)
        self.addCleanup(stop_process, portal)
        self.assertEqual(portal.stdout.readline().strip(), "ready")

        self.me_and_bob(friends=False)
        self.start_app(self.me)
        self.open_preferences()
        self.ui.press(self.switch("Run in the background"))
        login = self.switch("Start at login")
        wait_until(lambda: login.getState().contains(self.ui.pyatspi.STATE_SENSITIVE),
                   what="Start at login offered once running in the background")
        self.ui.press(login)
        wait_until(lambda: login.getState().contains(self.ui.pyatspi.STATE_CHECKED),
                   what="Start at login switched on")

        def requests():
            if not os.path.exists(log):
                return []
            with open(log) as f:
                return [json.loads(line) for line in f if line.strip()]
        wait_until(lambda: any(r.get("autostart") for r in requests()),
                   what="a request to start at login")
        asked = [r for r in requests() if r.get("autostart")][-1]
        self.assertEqual(asked["commandline"][:2], ["natter", "--background"])
        self.assertIn("--profile", asked["commandline"])
        self.assertTrue(asked["reason"])
        # Granted: the preference says nothing is in the way.
        self.assertFalse(self.ui.all("label", match=lambda n: text_of(n).startswith(
            "No background portal")))
        self.screenshot("preferences-background")

        # What the portal would start at login: online, with no window.
        self.app.stop()
        self.app.start("--background")

        # The app takes the profile's control socket once it is online
        digest = hashlib.sha256(self.app.profile_dir.encode()).hexdigest()[:32]
        control = os.path.join(os.environ["XDG_RUNTIME_DIR"], "natter", digest + ".sock")

        def listening():
            self.app.check_running()
            with socket.socket(socket.AF_UNIX) as probe:
                return probe.connect_ex(control) == 0
        wait_until(listening, what="the app online on the profile", interval=0.5)
        second = self.me.run("listen", check=False, timeout=30)
        self.assertEqual(second.returncode, 2, second.stderr)
        self.assertIn("another process is online", second.stderr)
        self.assertEqual(self.app.windows(), [], "a window showed at login")
        # Activated again (from the desktop), the window comes.
        self.app.run_again()
        wait_until(lambda: self.app.windows(), what="the window on activation")


class LinkTest(GuiTestCase):
    def test_natter_link_opens_add_contact(self):
        self.me_and_bob(friends=False)
        self.start_app(self.me)
        self.app.run_again("natter:" + self.bob.id)
        entry = self.ui.find("text", "Natter ID or @handle")
        wait_until(lambda: text_of(entry) == self.bob.id, what="the ID from the link")
        self.ui.find_text("Your Natter ID")
        own = self.ui.find("label", match=lambda n: text_of(n).replace(" ", "") == self.me.id,
                           what="our own ID in the dialog")
        # Our own ID in groups of four, so it wraps between groups.
        self.assertEqual(text_of(own).replace(" ", ""), self.me.id)
        self.assertTrue(all(len(group) == 4 for group in text_of(own).split(" ")[:-1]))
        self.app.center_dialog()
        self.screenshot("add-contact-from-link")
        self.ui.press_button("Cancel")
        self.ui.gone("text", "Natter ID or @handle")

        # A link that holds no valid ID says so.
        self.app.run_again("natter:not-an-id")
        self.ui.find_text("That link does not hold a valid Natter ID")


class LongConversationTest(GuiTestCase):
    def test_hundred_thousand_messages_open(self):
        me = self.session.client("me", use_keyring=True)
        profile_dir = os.path.join(me.env["XDG_DATA_HOME"], "natter", "profiles", "me")
        seed_history(profile_dir, "Dana", LONG_CONVERSATION)
        self.start_app(me)

        self.open_conversation("Dana")
        open_ms = self.app.wait_timing("conversation-open-ms")
        # The newest message is at the bottom and in view.
        last = f"#{LONG_CONVERSATION} "
        self.ui.find("label", match=lambda n: text_of(n).startswith(last),
                     what="the newest message")
        self.screenshot("long-conversation")
        print(f"# conversation of {LONG_CONVERSATION} messages opened in {open_ms:.0f} ms, "
              f"app RSS {self.app.rss_kib() / 1024:.1f} MiB")

        # Scrolling up with the wheel goes on past the first page: older
        # pages keep loading. Message numbers below the first page's oldest
        # (#{N - 99}) only exist once another page came in.
        newest = self.ui.find("label", match=lambda n: text_of(n).startswith(last),
                              what="the newest message")
        first_page_oldest = LONG_CONVERSATION - 99

        def older_than_first_page():
            for node in self.ui.all("label"):
                text = text_of(node)
                if text.startswith("#") and text[1:].split(" ")[0].isdigit() and \
                        int(text[1:].split(" ")[0]) < first_page_oldest:
                    return True
            self.ui.scroll_up(newest, 15)
            return False

        wait_until(older_than_first_page, what="older pages while scrolling up")
        self.screenshot("long-conversation-scrolled")


def main():
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun > 0 and len(result.skipped) == result.testsRun:
        for _, reason in result.skipped:
            print(f"SKIP: {reason}")
        sys.exit(77)
    sys.exit(0)


if __name__ == "__main__":
    main()
