#!/usr/bin/env python3
# test_gui_calls.py: the real app rings, answers and shows a call from a natter-cli peer
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""GUI call tests (suite 'gui'), under tests/keyring/natter-keyring-run:
  natter-keyring-run python3 test_gui_calls.py CallGuiTest
"""

import array
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_gui import SCREENSHOT_DIR, text_of, wait_until, window_geometry  # noqa: E402
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


def loud_tenths(path, offset=0):
    """How many tenths of a second of sound (louder than -40 dB) the app
    wrote to its NATTER_SOUND_OUTPUT (S16LE mono 48 kHz) after `offset` bytes."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return 0
    samples = array.array("h")
    samples.frombytes(data[:len(data) // 2 * 2])
    window = 4800
    loud = 0
    for start in range(0, len(samples) - window + 1, window):
        power = sum((v / 32768.0) ** 2 for v in samples[start:start + window]) / window
        loud += power > 1e-4
    return loud


def size_of(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def click_on_screen(ui, node):
    """A real click on another process's widget (GTK 3 gives screen coordinates)."""
    extents = node.queryComponent().getExtents(ui.pyatspi.DESKTOP_COORDS)
    subprocess.run(["xdotool", "mousemove", str(extents.x + extents.width // 2),
                    str(extents.y + extents.height // 2), "click", "1"],
                   check=True, timeout=30)


class CallGuiTest(GuiTestCase):
    # A real notification server, as for messages
    start_daemon = NotificationTest.start_daemon
    popup = NotificationTest.popup

    def setUp(self):
        os.environ["NATTER_TEST_MEDIA"] = "1"
        self.addCleanup(os.environ.pop, "NATTER_TEST_MEDIA", None)
        super().setUp()
        # What the app would play through the speakers: ringing, ringback
        self.sound = os.path.join(self.session.workdir.path, "sound.raw")
        os.environ["NATTER_SOUND_OUTPUT"] = self.sound
        self.addCleanup(os.environ.pop, "NATTER_SOUND_OUTPUT", None)
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
        # ... audibly (the sound theme's phone-incoming-call)
        wait_until(lambda: loud_tenths(self.sound) >= 5, what="the app ringing audibly")
        self.ui.press_button("Answer")

        self.assertGreater(bob.wait_for(decoding(), what="bob decoding the app's video")
                           ["video_frames"], 0)
        # Answered, it rings no more
        rung = size_of(self.sound)
        time.sleep(1)
        self.assertEqual(size_of(self.sound), rung)
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
        # ... where the call has its row: which way, and how long
        self.ui.find_text("Incoming video call")
        self.find_label(r"^\d\d:\d\d · \d+:\d\d$", "the call's time and duration")
        self.screenshot("call-row")

        # The call is in the history
        self.app.stop()
        calls = self.me.run("calls", self.bob.id, "--json").stdout
        self.assertIn('"outcome":"answered"', calls.replace(" ", ""))
        self.assertIn('"direction":"in"', calls.replace(" ", ""))

    def test_missed_call_notifies_and_calls_back(self):
        daemon = self.start_daemon()
        self.chat_with_bob()
        # Bob gives up after three seconds of ringing
        bob = start_call(self.bob, self.me.id, "--ring-timeout", "3")
        bob.wait_for(is_call("ringing"))
        self.assertEqual(bob.wait_for(is_call("ended"))["outcome"], "missed")
        wait_exit(bob)

        # The app says so, and offers to call back
        popup = self.popup(daemon)
        popup.find_text("Missed video call")
        call_back = popup.find("push button", "Call Back")
        self.ui.gone("frame", "Bob")
        rung = size_of(self.sound)

        bob = self.bob.listen()
        click_on_screen(self.ui, call_back)
        bob.wait_for(is_call("ringing"), what="bob's computer ringing")
        # The caller hears the ringback while the other side rings
        wait_until(lambda: loud_tenths(self.sound, rung) >= 5, what="the ringback")
        self.ui.press_button("Hang Up")
        self.assertEqual(bob.wait_for(is_call("ended"))["outcome"], "missed")
        self.ui.gone("frame", "Bob")
        stopped = size_of(self.sound)
        time.sleep(1)
        self.assertEqual(size_of(self.sound), stopped)

        # Both calls stand in the conversation, the missed one with Call Back
        self.ui.find_text("Missed video call")
        self.ui.find_text("Outgoing video call")
        self.find_label(r"^\d\d:\d\d · No answer$", "the unanswered call's row")
        self.screenshot("call-rows")
        # (At a phone's width too: the rows fit)
        window = self.app.windows()[0]
        subprocess.run(["xdotool", "windowsize", "--sync", str(window), "360", "720"], check=True,
                       timeout=30)
        wait_until(lambda: window_geometry(window)[2] <= 400, what="the window at 360 px")
        self.ui.find_text("Missed video call")
        self.screenshot("call-rows-narrow")

        # The row calls back too
        self.ui.press_button("Call Back")
        self.wait_ringing_again(bob)
        self.ui.press_button("Hang Up")
        self.ui.gone("frame", "Bob")
        bob.stop()

        self.app.stop()
        calls = [(c["direction"], c["outcome"])
                 for c in map(json.loads, self.me.run("calls", self.bob.id, "--json")
                              .stdout.splitlines())]
        self.assertEqual(calls, [("in", "missed"), ("out", "missed"), ("out", "missed")])

    def test_preferences_choose_devices(self):
        self.chat_with_bob()
        self.ui.key("ctrl+comma")
        # One row a kind, over the devices GStreamer lists here (none on a
        # machine without a camera, microphone or sound server)
        for title in ("Camera", "Microphone", "Speaker"):
            self.ui.find(match=lambda n, t=title: (n.name or "").startswith(t),
                         what=f"the {title} row")
        self.ui.find_text("Calls")
        window = None

        def preferences():
            nonlocal window
            window = window_named(self.app, "Preferences")
            return window is not None
        wait_until(preferences, what="the preferences window")
        # (Scrolled down to the group, for the screenshot)
        x, y, width, height = window_geometry(window)
        subprocess.run(["xdotool", "mousemove", str(x + width // 2), str(y + height // 2),
                        "click", "--repeat", "10", "5"], check=True, timeout=30)
        time.sleep(0.5)
        self.screenshot("preferences-devices", window)

    def find_label(self, pattern, what):
        def matches(node):
            try:
                return re.match(pattern, text_of(node)) is not None
            except Exception:
                return False
        return self.ui.find("label", match=matches, what=what)

    def wait_ringing_again(self, listener):
        """A second `ringing` event from `listener`."""
        wait_until(lambda: (listener.drain(0.2) or True) and
                   sum(1 for e in listener.events if is_call("ringing")(e)) >= 2,
                   what="bob's computer ringing again")


if __name__ == "__main__":
    unittest.main(verbosity=2)
