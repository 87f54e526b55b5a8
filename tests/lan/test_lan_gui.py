#!/usr/bin/env python3
# test_lan_gui.py: the real app with the people nearby only, in a network namespace
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app on one host of the lan suite's test network (tests/lan/natter_lan_net.py:
two network namespaces joined by a veth pair, each with its own avahi-daemon on a
private system bus), a natter-cli peer on the other, and no server anywhere.

The test process makes the network and starts the peer, then runs itself again
inside the app's namespace under tests/keyring/natter-keyring-run: the D-Bus
session, the keyring, Xvfb, the AT-SPI bus and the app all live in that
namespace, so that their sockets (some of them abstract, which belong to a
network namespace) reach each other.

  python3 test_lan_gui.py NearbyAppTest
"""

import json
import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gui"))

WAIT = 60
SKIP = 77
KEYRING_RUN = os.environ.get("NATTER_KEYRING_RUN",
                             os.path.join(HERE, "..", "keyring", "natter-keyring-run"))


class Peer:
    """A natter-cli profile on the other host, as the inner run drives it."""

    def __init__(self, description):
        self.argv = description["argv"]
        self.env = description["env"]
        self.id = description["id"]
        self.address = description["address"]

    def run(self, *args, timeout=90):
        result = subprocess.run(self.argv + list(args), env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"natter-cli {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def history(self, contact):
        result = self.run("history", contact, "--json", "--limit", "1000")
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


class LanGuiTestCase(unittest.TestCase):
    avahi_a = True
    inner = None

    def run_inner(self):
        import natter_lan_net

        why = natter_lan_net.why_not()
        if why is not None:
            self.skipTest(why)

        net = natter_lan_net.Net(avahi_a=self.avahi_a)
        failed = True
        try:
            bob = natter_lan_net.LanClient(net.b, "bob")
            try:
                bob.run("profile", "--name", "Bob B.")
                bob.listen("--auto-accept-invitations")
                description = os.path.join(net.workdir, "peer.json")
                with open(description, "w") as f:
                    json.dump({"argv": bob.args(), "env": bob.env, "id": bob.id,
                               "address": f"{net.b.address}:{bob.port()}"}, f)

                env = net.a.env()
                env["NATTER_LAN_GUI_PEER"] = description
                env["NATTER_LAN_GUI_WORKDIR"] = net.workdir
                inner = subprocess.run(net.a.wrap([KEYRING_RUN, sys.executable,
                                                   os.path.abspath(__file__), "--inner",
                                                   self.inner]),
                                       env=env, timeout=600)
                if inner.returncode == SKIP:
                    failed = False
                    self.skipTest("the GUI cannot run here (see the output above)")
                self.assertEqual(inner.returncode, 0, "the app's side failed (output above)")
                failed = False
            finally:
                bob.close()
        finally:
            net.close(keep=failed)


class NearbyAppTest(LanGuiTestCase):
    """First run with "People Nearby Only"; the peer shows in Nearby with its signed name;
    Invite makes them a contact; messages both ways; the header says "on this network";
    the preference hides us from the peer and shows us again."""

    inner = "InnerTest.test_nearby"

    def test_nearby_app(self):
        self.run_inner()


class NoAvahiAppTest(LanGuiTestCase):
    """No Avahi daemon where the app runs: it says why, and reaches the peer by the
    address typed in, which the profile remembers."""

    avahi_a = False
    inner = "InnerTest.test_no_avahi"

    def test_no_avahi_app(self):
        self.run_inner()


class InnerTest(unittest.TestCase):
    """Inside the app's namespace, under natter-keyring-run."""

    def setUp(self):
        from natter_gui import Desktop

        self.desktop = Desktop.get()
        self.workdir = os.environ["NATTER_LAN_GUI_WORKDIR"]
        with open(os.environ["NATTER_LAN_GUI_PEER"]) as f:
            self.bob = Peer(json.load(f))
        self.app = None
        self.data_home = os.path.join(self.workdir, "me-data")

    def tearDown(self):
        if self.app is not None:
            outcome = getattr(self, "_outcome", None)
            result = getattr(outcome, "result", None)
            if result and any(test is self for test, _ in result.errors + result.failures):
                try:
                    self.screenshot("failed-lan-nearby-app")
                except Exception as error:
                    print(f"# no screenshot of the failure: {error}")
                print(f"# app log:\n{self.app.log_tail(60)}")
            self.app.stop()

    def screenshot(self, name):
        from natter_gui import SCREENSHOT_DIR

        path = os.path.join(SCREENSHOT_DIR, name + ".png")
        windows = self.app.windows()
        self.desktop.display.screenshot(path, windows[0] if windows else None)
        print(f"# screenshot: {path}")

    def resize(self, width, height):
        from natter_gui import wait_until, window_geometry

        window = self.app.windows()[0]
        subprocess.run(["xdotool", "windowsize", "--sync", str(window), str(width), str(height)],
                       check=True, timeout=30)
        wait_until(lambda: window_geometry(window)[2] <= width + 2, what=f"the window {width} wide")
        time.sleep(0.5)

    def start_nearby_only(self):
        """The app on a fresh profile, through the first run with no server"""
        from natter_gui import App, Ui

        self.app = App(self.workdir, "me", self.data_home)
        self.app.loopback = False
        self.app.start()
        ui = Ui(self.app)

        # The first run: a name, and no server at all
        ui.set_text(ui.find("text", "Display name"), "Ada")
        self.screenshot("lan-first-run")
        ui.press_button("People Nearby Only")
        return ui

    def find_bob(self, ui, name="Bob B."):
        """Bob in the Nearby section: the name he signed (announced) and the start of his ID"""
        return ui.find("list item", match=lambda n: n.name == f"{name}, nearby, {self.bob.id[:12]}…",
                       timeout=WAIT, what=f"Bob in the Nearby section as {name}")

    def settings(self):
        with open(os.path.join(self.data_home, "natter", "profiles", "me", "settings.ini")) as f:
            return f.read()

    def bob_sees(self, user_id):
        result = self.bob.run("nearby", "--json")
        return any(peer["user"] == user_id for peer in json.loads(result.stdout))

    def test_nearby(self):
        from natter_gui import CLI, text_of, wait_until

        ui = self.start_nearby_only()
        bob_row = self.find_bob(ui)
        self.assertTrue(ui.find("list", "People nearby"))
        self.screenshot("lan-nearby")

        me = subprocess.run([CLI, "--profile", "me", "whoami"],
                            env=dict(os.environ, XDG_DATA_HOME=self.data_home),
                            capture_output=True, text=True, timeout=60)
        self.assertEqual(me.returncode, 0, me.stderr)
        my_id = me.stdout.strip()

        # Invite: Bob (who accepts what comes) becomes a contact, directly between the two
        ui.press(ui.find("push button", "Invite", within=bob_row))
        open_button = ui.find("push button", "Open", within=bob_row, timeout=WAIT,
                              what="Open in Bob's row once he is a contact")
        wait_until(lambda: any(c.get("id") == my_id for c in
                               (json.loads(line) for line in
                                self.bob.run("contacts", "--json").stdout.splitlines()
                                if line.strip())),
                   timeout=WAIT, what="Ada among Bob's contacts", interval=0.5)
        ui.press(open_button)

        compose = ui.find("text", "Message")
        ui.set_text(compose, "hello across the veth")
        ui.key("Return")
        wait_until(lambda: any(m.get("body") == "hello across the veth"
                               for m in self.bob.history(my_id)),
                   timeout=WAIT, what="Ada's message in Bob's history", interval=0.5)

        self.bob.run("send", my_id, "and back from bob")
        ui.find_text("and back from bob", timeout=WAIT)

        # The conversation header says which way: on this network
        ui.find("label", match=lambda n: text_of(n) == "Connected directly, on this network",
                timeout=WAIT, what="the route in the header")
        self.screenshot("lan-conversation")

        # As a person sees it on a phone-sized window
        self.resize(360, 700)
        ui.find("label", match=lambda n: text_of(n) == "Connected directly, on this network",
                what="the route in the narrow header")
        self.screenshot("lan-conversation-narrow")
        self.resize(900, 640)

        # Visible by default with no server; the preference hides us from Bob
        self.assertTrue(self.bob_sees(my_id))
        ui.key("ctrl+comma")
        visible = ui.find("check box", match=lambda n: n.name.replace("_", "") ==
                          "Visible to people nearby", what="the visibility switch")
        self.assertTrue(visible.getState().contains(ui.pyatspi.STATE_CHECKED))
        self.screenshot("lan-preferences")
        ui.press(visible)
        wait_until(lambda: not self.bob_sees(my_id), timeout=WAIT,
                   what="Ada gone from Bob's nearby list", interval=0.5)
        self.assertIn("visible=false", self.settings())
        ui.press(visible)
        wait_until(lambda: self.bob_sees(my_id), timeout=WAIT,
                   what="Ada back in Bob's nearby list", interval=0.5)

    def test_no_avahi(self):
        from natter_gui import text_of, wait_until

        ui = self.start_nearby_only()
        why = ui.find("label", match=lambda n: text_of(n).startswith(
                          "Nearby discovery is unavailable: "), timeout=WAIT,
                      what="why nearby discovery is unavailable")
        self.assertIn("Avahi", text_of(why))
        self.screenshot("lan-no-avahi")

        entry = ui.find("text", "Address of someone nearby")
        ui.set_text(entry, "not an address")
        ui.press_button("Connect")
        ui.find_text("“not an address” is not an address of the form host:port")

        # Reached, proven; no announcement reached this host, so no signed name yet
        ui.set_text(entry, self.bob.address)
        ui.press_button("Connect")
        self.find_bob(ui, "Unnamed")
        wait_until(lambda: self.bob.address in self.settings(), what="the address remembered")
        self.screenshot("lan-no-avahi-reached")


if __name__ == "__main__":
    if "--inner" in sys.argv:
        from natter_gui import missing_requirement

        reason = missing_requirement()
        if reason is not None:
            print(f"# SKIP {reason}")
            sys.exit(SKIP)
        unittest.main(argv=[sys.argv[0], sys.argv[-1]], verbosity=2)
    else:
        unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=2)
