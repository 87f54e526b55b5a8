#!/usr/bin/env python3
# test_gui_robust.py: the real app under Xvfb when the server goes away
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""GUI robustness tests (suite 'gui'), run like test_gui.py:
  natter-keyring-run python3 test_gui_robust.py ServerLossTest
"""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_gui import text_of, wait_until  # noqa: E402
from natter_harness import exercise_handed_over_commands  # noqa: E402
from test_gui import GuiTestCase, is_event  # noqa: E402


def connection_state(ui):
    """What the windows say of the connection. Online, the status bar
    hides; the window's accessible description always says it."""
    return " ".join(w.description for w in ui.all("frame", within=ui._root()))


class ServerLossTest(GuiTestCase):
    def connected(self):
        """The app in a conversation with bob, the peer connection up."""
        self.chat_with_bob()
        bob = self.bob.listen()
        compose = self.ui.find("text", "Message")
        self.ui.set_text(compose, "Still there?")
        self.ui.press_button("Send")
        bob.wait_for(is_event("message", body="Still there?"), what="the message at bob")
        bob.wait_for(is_event("peer", contact=self.me.id, state="connected"))
        return bob

    def lose_server(self, kill):
        bob = self.connected()
        server = self.session.server
        for _ in range(3):
            if kill:
                server.process.send_signal(signal.SIGKILL)
                server.process.wait()
                server.process.stdout.close()
                server.process = None
            else:
                server.stop()
            # The app notices, lets the peer go, and keeps running.
            wait_until(lambda: "Connected" not in self.status_text(), what="the app offline",
                       interval=0.25)
            time.sleep(2)
            self.app.check_running()
            self.assertIsNone(bob.process.poll(), "bob's natter-cli listen died")
            server.restart()
            self.wait_online()
            self.app.check_running()
            self.assertIsNone(bob.process.poll(), "bob's natter-cli listen died")
        self.screenshot("server-back-" + ("killed" if kill else "stopped"))
        # Connected again, the conversation goes on.
        mark = bob.mark()
        self.ui.set_text(self.ui.find("text", "Message"), "And now?")
        self.ui.press_button("Send")
        bob.wait_for(is_event("message", body="And now?"), since=mark,
                     what="a message after the server came back")

    def status_text(self):
        return connection_state(self.ui)

    def test_server_stopped_under_connected_app(self):
        self.lose_server(kill=False)

    def test_server_killed_under_connected_app(self):
        self.lose_server(kill=True)


class SharedProfileTest(GuiTestCase):
    def test_cli_hands_its_command_to_the_open_app(self):
        self.chat_with_bob()
        bob = self.bob.listen()
        sent = self.me.run("send", self.bob.id, "Sent by natter-cli while the app is open")
        self.assertEqual(sent.returncode, 0)
        bob.wait_for(is_event("message", body="Sent by natter-cli while the app is open"))
        # It is the app's message: the open conversation shows it.
        self.ui.find_text("Sent by natter-cli while the app is open")
        self.screenshot("cli-through-app")

        # Every other command that needs the network runs in the app too.
        carol = self.session.client("carol")
        exercise_handed_over_commands(self, self.me, self.bob, carol, bob)
        self.ui.find_text("read me")
        # The rename reached the window at once, not at the next start.
        self.ui.find_text("Bob Handed Over")
        self.app.check_running()
        second = self.me.run("listen", check=False, timeout=30)
        self.assertEqual(second.returncode, 2)
        self.assertIn("another process is online", second.stderr)

        # The app never went offline.
        self.assertIn("Connected", self.status_text())
        self.app.check_running()
        mark = bob.mark()
        self.ui.set_text(self.ui.find("text", "Message"), "And from the window")
        self.ui.press_button("Send")
        bob.wait_for(is_event("message", body="And from the window"), since=mark)

    def status_text(self):
        return connection_state(self.ui)


class DiskFullTest(GuiTestCase):
    def test_app_says_the_disk_is_full_and_gets_the_message_later(self):
        home = os.path.join(self.session.workdir.path, "me-data")
        os.makedirs(home)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs",
                                  home], capture_output=True, text=True)
        if mounted.returncode != 0:
            self.skipTest("cannot mount a small tmpfs for a full disk (needs root): "
                          + mounted.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", home])
        self.chat_with_bob()
        filler = os.path.join(home, "filler")
        with open(filler, "wb", buffering=0) as f:
            for chunk in (65536, 4096, 512, 1):
                try:
                    while True:
                        f.write(b"\0" * chunk)
                except OSError:
                    pass

        sender = subprocess.Popen(self.bob.args("send", self.me.id, "Arrives once there is room",
                                                "--timeout", "120"),
                                  env=self.bob.env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        self.addCleanup(sender.kill)
        self.ui.find_text("The disk is full: an incoming message waits with its sender")
        self.screenshot("disk-full-notice")
        self.app.check_running()

        os.remove(filler)
        self.ui.find_text("Arrives once there is room", timeout=120)
        _, errors = sender.communicate(timeout=120)
        self.assertEqual(sender.returncode, 0, errors)


class RestoreBackupTest(GuiTestCase):
    def test_damaged_history_restored_from_the_window(self):
        self.me_and_bob()
        lines = "".join(f"kept message {i} " + "x" * 200 + "\n" for i in range(300))
        sent = subprocess.run(self.me.args("send", self.bob.id, "-", "--no-wait"),
                              env=self.me.env, input=lines, capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(sent.returncode, 0, sent.stderr)
        self.me.run("backup")
        profile = os.path.join(self.me.env["XDG_DATA_HOME"], "natter", "profiles", self.me.name)
        path = os.path.join(profile, "history.db")
        # A page of noise in the middle of the history, as a failing disk leaves it.
        size = os.path.getsize(path)
        self.assertGreater(size, 16 * 4096)
        with open(path, "r+b") as f:
            f.seek((size // 4096 // 2) * 4096)
            f.write(os.urandom(4096))

        self.start_app(self.me)
        # The check after start-up finds it; the window says so and offers the backup.
        self.ui.find_text("The history is damaged: nothing more is stored in it")
        self.screenshot("history-damaged")
        # A toast's button: AT-SPI names it after its label twice
        self.ui.press(self.ui.find("push button", match=lambda n: n.name.startswith(
            "Restore Backup")))
        self.wait_online()
        self.app.check_running()

        # The messages are back, the damaged file is kept aside, and the
        # restored history takes new messages.
        self.open_conversation("Bob")
        self.ui.find_text("kept message 299 " + "x" * 200)
        self.assertTrue([n for n in os.listdir(profile) if ".damaged-" in n],
                        "the damaged history was not kept")
        self.assertFalse(self.ui.all("label", match=lambda n: text_of(n).startswith(
            "The history is damaged")), "the notice stayed after the restore")
        self.screenshot("history-restored")
        bob = self.bob.listen()
        self.ui.set_text(self.ui.find("text", "Message"), "After the restore")
        self.ui.press_button("Send")
        bob.wait_for(is_event("message", body="After the restore"))
        history = self.me.history(self.bob.id)
        self.assertEqual(len([m for m in history if m["body"].startswith("kept message")]), 300)


if __name__ == "__main__":
    unittest.main(verbosity=2)
