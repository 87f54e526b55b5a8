#!/usr/bin/env python3
# test_gui_files.py: files between the real app and a natter-cli peer, under Xvfb
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""GUI tests of files (suite 'gui'):

  natter-keyring-run python3 test_gui_files.py FileSendTest

FileSendTest drags a file from another GTK 4 program (natter_drag_source.py,
a real X11 drag and drop driven by the real mouse through xdotool) onto the
conversation, and sends one through the attach button's file chooser; the
natter-cli peer receives both whole (SHA-256 compared). FileReceiveTest has
the peer offer files: the row shows Accept, and once accepted the file is in
the download folder; a picture shows the sender's thumbnail before it is
accepted, and itself once it has arrived.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_gui import _die_with_parent, stop_process, text_of, wait_until, window_geometry  # noqa: E402
from test_gui import GuiTestCase, is_event, main  # noqa: E402

DRAG_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "natter_drag_source.py")


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_random(path, size):
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    return path


class FilesGuiTestCase(GuiTestCase):
    def setUp(self):
        super().setUp()
        self.outbox = os.path.join(self.session.workdir.path, "outbox")
        self.inbox = os.path.join(self.session.workdir.path, "inbox")
        os.makedirs(self.outbox)
        # The app's download folder, as the desktop's user-dirs.dirs names it
        self.downloads = os.path.join(self.session.workdir.path, "Downloads")
        config = os.path.join(self.session.workdir.path, "config")
        os.makedirs(config)
        with open(os.path.join(config, "user-dirs.dirs"), "w") as f:
            f.write(f'XDG_DOWNLOAD_DIR="{self.downloads}"\n')
        old = os.environ.get("XDG_CONFIG_HOME")
        os.environ["XDG_CONFIG_HOME"] = config
        self.addCleanup(self._restore_config, old)

    @staticmethod
    def _restore_config(old):
        if old is None:
            os.environ.pop("XDG_CONFIG_HOME", None)
        else:
            os.environ["XDG_CONFIG_HOME"] = old

    def transfer_row(self, name):
        """The accessible of the row of the file `name`."""
        label = self.ui.find_text(name)
        row = self.ui.ancestor(label, "list item")
        self.assertIsNotNone(row, f"the file {name!r} has no row")
        return row

    def wait_row_text(self, row, text, timeout=60):
        wait_until(lambda: any(text in t for t in self.ui.texts(within=row)), timeout,
                   f"{text!r} in the file's row")

    def finished(self, listener, name, timeout=120):
        return listener.wait_for(
            lambda e: e.get("event") == "transfer" and e.get("name") == name and
            e.get("state") in ("done", "failed", "cancelled", "declined"),
            timeout=timeout, what=f"{name} finished at bob")


class FileSendTest(FilesGuiTestCase):
    def drag(self, source_window, target):
        """The real mouse: press on the drag source, move over `target`, release."""
        sx, sy, sw, sh = window_geometry(source_window)
        extents = target.queryComponent().getExtents(self.ui.pyatspi.WINDOW_COORDS)
        ax, ay, _, _ = window_geometry(self.app.windows()[0])
        tx, ty = ax + extents.x + extents.width // 2, ay + extents.y + extents.height // 2

        def xdotool(*args):
            subprocess.run(["xdotool"] + [str(a) for a in args], check=True, timeout=30)
        xdotool("mousemove", sx + sw // 2, sy + sh // 2)
        time.sleep(0.3)
        xdotool("mousedown", 1)
        # Past GTK's drag threshold in small steps, then over to the target
        for step in range(1, 6):
            xdotool("mousemove", sx + sw // 2 - 4 * step, sy + sh // 2 - 4 * step)
            time.sleep(0.05)
        for step in range(1, 11):
            x = sx + sw // 2 + (tx - sx - sw // 2) * step // 10
            y = sy + sh // 2 + (ty - sy - sh // 2) * step // 10
            xdotool("mousemove", x, y)
            time.sleep(0.08)
        time.sleep(0.5)
        xdotool("mousemove", tx + 2, ty + 2)
        time.sleep(0.5)
        # The drop highlight, while the files hover over the conversation
        self.screenshot("files-drop-highlight")
        xdotool("mouseup", 1)

    def start_drag_source(self, *paths):
        process = subprocess.Popen([sys.executable, DRAG_SOURCE] + list(paths),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   preexec_fn=_die_with_parent)
        self.addCleanup(stop_process, process)
        line = process.stdout.readline().strip()
        self.assertEqual(line, "ready", f"the drag source did not start: {line}")

        def window():
            result = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid",
                                     str(process.pid)], capture_output=True, text=True)
            return result.stdout.split()[0] if result.stdout.split() else None
        source_window = wait_until(window, 30, "the drag source's window")
        # Beside the app's window, not over it
        subprocess.run(["xdotool", "windowmove", "--sync", source_window, "1020", "600"],
                       check=True, timeout=30)
        return source_window

    def test_dropped_file_arrives(self):
        self.chat_with_bob()
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = write_random(os.path.join(self.outbox, "notes from the meeting.bin"), 300_000)

        source = self.start_drag_source(path)
        self.drag(source, self.ui.find("list", "Messages"))

        event = self.finished(bob, os.path.basename(path))
        self.assertEqual(event["state"], "done", event)
        self.assertEqual(sha256_of(event["path"]), sha256_of(path))
        row = self.transfer_row(os.path.basename(path))
        self.wait_row_text(row, "Sent")
        self.assertTrue(self.ui.all("push button", "Open", within=row))
        self.screenshot("files-sent")

    def test_folder_is_refused(self):
        self.chat_with_bob()
        folder = os.path.join(self.outbox, "holiday photos")
        os.makedirs(folder)
        source = self.start_drag_source(folder)
        self.drag(source, self.ui.find("list", "Messages"))
        self.ui.find("label", match=lambda n: "A folder cannot be sent" in text_of(n),
                     what="the folder refused")
        self.screenshot("files-folder-refused")
        transfers = self.me.run("transfers", "--json").stdout.split("\n")
        self.assertEqual([t for t in transfers if t.strip()], [])

    def test_attach_button_sends(self):
        self.chat_with_bob()
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        path = write_random(os.path.join(self.outbox, "report.pdf"), 70_000)

        self.ui.press_button("Send Files")
        # Without a portal, GtkFileChooserNative is GTK's own dialog: type
        # the path as a person would (Ctrl+L, then the location)
        chooser = wait_until(lambda: len(self.app.windows()) > 1 and self.app.windows()[1], 30,
                             "the file chooser")
        time.sleep(1)
        self.screenshot("files-chooser", window=chooser)
        subprocess.run(["xdotool", "windowfocus", "--sync", str(chooser)], check=True, timeout=30)
        subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+l"], check=True, timeout=30)
        time.sleep(0.5)
        subprocess.run(["xdotool", "type", "--clearmodifiers", "--delay", "10", path], check=True,
                       timeout=60)
        time.sleep(0.5)
        subprocess.run(["xdotool", "key", "--clearmodifiers", "Return"], check=True, timeout=30)

        event = self.finished(bob, "report.pdf")
        self.assertEqual(event["state"], "done", event)
        self.assertEqual(sha256_of(event["path"]), sha256_of(path))
        self.wait_row_text(self.transfer_row("report.pdf"), "Sent")


class FileReceiveTest(FilesGuiTestCase):
    def send_from_bob(self, path):
        process = subprocess.Popen(self.bob.args("send-file", self.me.id, path), env=self.bob.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(stop_process, process)
        return process

    def test_offer_is_accepted_into_downloads(self):
        self.chat_with_bob()
        path = write_random(os.path.join(self.outbox, "budget 2027.ods"), 150_000)
        sender = self.send_from_bob(path)

        row = self.transfer_row("budget 2027.ods")
        accept = self.ui.find("push button", "Accept", within=row)
        self.ui.find("push button", "Decline", within=row)
        self.wait_row_text(row, "Offered to you")
        self.screenshot("files-offer")
        self.assertFalse(os.path.exists(os.path.join(self.downloads, "budget 2027.ods")))

        self.ui.press(accept)
        self.assertEqual(sender.wait(timeout=120), 0, sender.stderr.read())
        self.wait_row_text(row, "Received")
        received = os.path.join(self.downloads, "budget 2027.ods")
        self.assertEqual(sha256_of(received), sha256_of(path))
        self.ui.find("push button", "Show in Folder", within=row)
        self.ui.find("push button", "Open", within=row)
        self.screenshot("files-received")

    def test_offer_is_declined(self):
        self.chat_with_bob()
        path = write_random(os.path.join(self.outbox, "unwanted.exe"), 1000)
        sender = self.send_from_bob(path)
        row = self.transfer_row("unwanted.exe")
        self.ui.press(self.ui.find("push button", "Decline", within=row))
        self.wait_row_text(row, "You declined")
        self.assertNotEqual(sender.wait(timeout=120), 0)
        self.assertFalse(os.listdir(self.downloads) if os.path.isdir(self.downloads) else [])

    def test_transfers_survive_a_restart_in_time_order(self):
        self.chat_with_bob()
        self.bob.run("send", self.me.id, "Here comes the file")
        self.ui.find_text("Here comes the file")
        path = write_random(os.path.join(self.outbox, "between.txt"), 10)
        sender = self.send_from_bob(path)
        self.transfer_row("between.txt")
        sender.terminate()
        self.bob.run("send", self.me.id, "That was the file")
        self.ui.find_text("That was the file")

        self.app.stop()
        self.start_app(self.me)
        self.open_conversation("Bob")
        row = self.transfer_row("between.txt")
        self.ui.find("push button", "Accept", within=row)
        labels = [t for t in self.ui.texts(within=self.ui.find("list", "Messages"))
                  if t in ("Here comes the file", "between.txt", "That was the file")]
        self.assertEqual(labels, ["Here comes the file", "between.txt", "That was the file"])
        self.screenshot("files-after-restart")


if __name__ == "__main__":
    main()
