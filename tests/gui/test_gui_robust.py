#!/usr/bin/env python3
# test_gui_robust.py: the real app under Xvfb when the server goes away
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""GUI robustness tests (suite 'gui'), run like test_gui.py:
  natter-keyring-run python3 test_gui_robust.py ServerLossTest
"""

import os
import signal
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_gui import wait_until  # noqa: E402
from test_gui import GuiTestCase, is_event  # noqa: E402


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
        status = self.ui.find("label", "Connection status")
        return f"{status.name} {status.description}"

    def test_server_stopped_under_connected_app(self):
        self.lose_server(kill=False)

    def test_server_killed_under_connected_app(self):
        self.lose_server(kill=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
