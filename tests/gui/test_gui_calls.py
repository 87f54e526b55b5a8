#!/usr/bin/env python3
# test_gui_calls.py: the real app rings, answers and shows a call from a natter-cli peer
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""GUI call tests (suite 'gui'), under tests/keyring/natter-keyring-run:
  natter-keyring-run python3 test_gui_calls.py CallGuiTest
"""

import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_gui import SCREENSHOT_DIR, wait_until  # noqa: E402
from test_gui import NOTIFICATION_DAEMON, GuiTestCase, NotificationTest  # noqa: E402
from test_calls import decoding, is_call, start_call, wait_exit  # noqa: E402


def window_named(app, name):
    """The app's visible X window titled `name`."""
    result = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(app.process.pid),
                             "--name", f"^{name}$"], capture_output=True, text=True, timeout=30)
    found = result.stdout.split()
    return int(found[0]) if found else None


def middle_stats(path):
    """The standard deviation of the middle third of a screenshot (0 for a flat area)."""
    result = subprocess.run(["convert", path, "-gravity", "center", "-crop", "33%x33%+0+0",
                             "+repage", "-colorspace", "Gray", "-format",
                             "%[fx:standard_deviation]", "info:"],
                            capture_output=True, text=True, check=True, timeout=60)
    return float(result.stdout.strip())


def pixels_differing(a, b):
    result = subprocess.run(["compare", "-metric", "AE", "-fuzz", "5%", a, b, "null:"],
                            capture_output=True, text=True, timeout=60)
    return float(result.stderr.split()[0])


class CallGuiTest(GuiTestCase):
    # A real notification server, as for messages
    start_daemon = NotificationTest.start_daemon
    popup = NotificationTest.popup

    def setUp(self):
        os.environ["NATTER_TEST_MEDIA"] = "1"
        self.addCleanup(os.environ.pop, "NATTER_TEST_MEDIA", None)
        super().setUp()
        if not os.access(NOTIFICATION_DAEMON, os.X_OK):
            self.skipTest("notification-daemon is not installed (Debian package "
                          "notification-daemon)")

    def test_incoming_call_rings_is_answered_and_shows_video(self):
        daemon = self.start_daemon()
        self.chat_with_bob()
        bob = start_call(self.bob, self.me.id, "--duration", "120")

        # It rings: the notification with its buttons, and the window's own
        popup = self.popup(daemon)
        popup.find_text("Incoming video call")
        popup.find("push button", "Answer")
        popup.find("push button", "Decline")
        bob.wait_for(is_call("ringing"), what="ringback")
        self.ui.press_button("Answer")

        self.assertGreater(bob.wait_for(decoding(), what="bob decoding the app's video")
                           ["video_frames"], 0)
        window = None

        def call_window():
            nonlocal window
            window = window_named(self.app, "Bob")
            return window is not None
        wait_until(call_window, what="the call window")
        time.sleep(2)
        first = self.session.display.screenshot(os.path.join(SCREENSHOT_DIR, "call-1.png"), window)
        time.sleep(0.7)
        second = self.session.display.screenshot(os.path.join(SCREENSHOT_DIR, "call-2.png"),
                                                 window)
        print(f"# screenshots: {first} {second}")
        # The remote test pattern fills the middle, and it moves
        self.assertGreater(middle_stats(first), 0.05)
        self.assertGreater(pixels_differing(first, second), 100)

        # Hanging up in the window ends the call on both sides
        self.ui.press_button("Hang Up")
        ended = bob.wait_for(is_call("ended"), what="bob's end of the call")
        self.assertEqual(ended["reason"], "remote-hung-up")
        self.assertEqual(ended["outcome"], "answered")
        wait_exit(bob)
        self.ui.gone("frame", "Bob")
        self.ui.find("text", "Message")

        # The call is in the history
        self.app.stop()
        calls = self.me.run("calls", self.bob.id, "--json").stdout
        self.assertIn('"outcome":"answered"', calls.replace(" ", ""))
        self.assertIn('"direction":"in"', calls.replace(" ", ""))


if __name__ == "__main__":
    unittest.main(verbosity=2)
