#!/usr/bin/env python3
# test_gui_files.py: files between the real app and a natter-cli peer, under Xvfb
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""GUI tests of files (suite 'gui'):

  natter-keyring-run python3 test_gui_files.py FileSendTest

FileSendTest drags a file from another GTK 4 program (natter_drag_source.py,
a real X11 drag and drop driven by the real mouse through xdotool) onto the
conversation, sends one through the attach button's file chooser, and pastes
a picture that program copied; the natter-cli peer receives them whole
(SHA-256 compared). FileReceiveTest (automatic acceptance off, as a keyfile
of settings says) has the peer offer files: the row shows Accept, and once
accepted the file is in the download folder; a picture shows the sender's
thumbnail before it is accepted, and itself once it has arrived.
FileAutoAcceptTest keeps the default (20 MB): a small file is saved without
asking, a big one waits.
"""

import hashlib
import os
import struct
import subprocess
import sys
import time
import zlib

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


def write_png(path, width, height):
    """A picture whose top half is red and bottom half blue."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    red = b"\x00" + b"\xff\x00\x00" * width
    blue = b"\x00" + b"\x00\x00\xff" * width
    rows = red * (height // 2) + blue * (height - height // 2)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def png_size(path):
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", header[16:24])


def mean_colour(path, x, y, width, height):
    """The mean (red, green, blue) of a rectangle of a screenshot, 0 to 1."""
    result = subprocess.run(["convert", path, "-crop", f"{width}x{height}+{x}+{y}", "+repage",
                             "-format", "%[fx:mean.r] %[fx:mean.g] %[fx:mean.b]", "info:"],
                            capture_output=True, text=True, check=True, timeout=60)
    return tuple(float(v) for v in result.stdout.split())


class FilesGuiTestCase(GuiTestCase):
    # Files from contacts up to this many MB are taken without asking; None
    # keeps the default
    AUTO_ACCEPT_MB = None

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
        self.set_env("XDG_CONFIG_HOME", config)
        if self.AUTO_ACCEPT_MB is not None:
            # The app's settings from a keyfile, rather than the tests' memory
            settings = os.path.join(config, "glib-2.0", "settings")
            os.makedirs(settings)
            with open(os.path.join(settings, "keyfile"), "w") as f:
                f.write(f"[io/github/natter/Natter]\nauto-accept-size=uint32 {self.AUTO_ACCEPT_MB}\n")
            self.set_env("GSETTINGS_BACKEND", "keyfile")

    def set_env(self, name, value):
        old = os.environ.get(name)
        os.environ[name] = value
        self.addCleanup(self._restore_env, name, old)

    @staticmethod
    def _restore_env(name, old):
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old

    def send_from_bob(self, path):
        process = subprocess.Popen(self.bob.args("send-file", self.me.id, path), env=self.bob.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(stop_process, process)
        return process

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

    def start_helper(self, *args):
        process = subprocess.Popen([sys.executable, DRAG_SOURCE] + list(args),
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

        source = self.start_helper(path)
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
        source = self.start_helper(folder)
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


    def test_pasted_picture_is_sent(self):
        self.chat_with_bob()
        bob = self.bob.listen("--auto-accept-files", self.inbox)
        picture = write_png(os.path.join(self.outbox, "copied.png"), 320, 200)
        self.start_helper("--copy-image", picture)

        self.ui.click(self.ui.find("text", "Message"))
        self.ui.key("ctrl+v")
        event = bob.wait_for(lambda e: e.get("event") == "transfer" and e.get("state") == "done",
                             timeout=120, what="the pasted picture at bob")
        self.assertTrue(event["name"].startswith("Pasted image "), event["name"])
        self.assertTrue(event["name"].endswith(".png"), event["name"])
        self.assertEqual(event["mime"], "image/png")
        self.assertEqual(png_size(event["path"]), (320, 200))
        # Nothing was pasted as text
        self.assertEqual(text_of(self.ui.find("text", "Message")), "")
        self.transfer_row(event["name"])
        self.screenshot("files-pasted")


class FileReceiveTest(FilesGuiTestCase):
    AUTO_ACCEPT_MB = 0

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


class FileThumbnailTest(FilesGuiTestCase):
    AUTO_ACCEPT_MB = 0

    def test_picture_offer_shows_thumbnail_then_itself(self):
        self.chat_with_bob()
        picture = write_png(os.path.join(self.outbox, "sunset.png"), 640, 480)
        sender = self.send_from_bob(picture)

        row = self.transfer_row("sunset.png")
        preview = self.ui.find("image", "Preview", within=row)
        extents = preview.queryComponent().getExtents(self.ui.pyatspi.WINDOW_COORDS)
        # The sender's thumbnail: at most 96 pixels, the picture's shape
        self.assertLessEqual(max(extents.width, extents.height), 96)
        self.assertGreater(extents.width, extents.height)
        shot = self.screenshot("files-thumbnail")
        r, g, b = mean_colour(shot, extents.x, extents.y, extents.width, extents.height)
        self.assertGreater(r, 0.3, (r, g, b))
        self.assertGreater(b, 0.3, (r, g, b))
        self.assertLess(g, 0.15, (r, g, b))

        self.ui.press(self.ui.find("push button", "Accept", within=row))
        self.assertEqual(sender.wait(timeout=120), 0, sender.stderr.read())
        # Arrived, the picture itself, larger, opens on a click
        shown = self.ui.find("push button", "Open sunset.png", within=row)
        extents = shown.queryComponent().getExtents(self.ui.pyatspi.WINDOW_COORDS)
        self.assertGreater(extents.width, 96)
        shot = self.screenshot("files-inline-picture")
        r, g, b = mean_colour(shot, extents.x + 8, extents.y + 8, extents.width - 16,
                              extents.height - 16)
        self.assertLess(g, 0.15, (r, g, b))
        self.assertEqual(sha256_of(os.path.join(self.downloads, "sunset.png")), sha256_of(picture))

        # On a phone-sized window the row still fits, buttons and all
        window = self.app.windows()[0]
        subprocess.run(["xdotool", "windowsize", "--sync", str(window), "360", "640"],
                       check=True, timeout=30)
        time.sleep(1)
        self.ui.find("push button", "Show in Folder", within=row)
        self.screenshot("files-inline-picture-narrow")


class FileAutoAcceptTest(FilesGuiTestCase):
    def test_small_file_is_saved_without_asking(self):
        self.chat_with_bob()
        small = write_random(os.path.join(self.outbox, "minutes.txt"), 5000)
        sender = self.send_from_bob(small)
        self.assertEqual(sender.wait(timeout=120), 0, sender.stderr.read())
        row = self.transfer_row("minutes.txt")
        self.wait_row_text(row, "Received")
        self.assertFalse(self.ui.all("push button", "Accept", within=row))
        self.assertEqual(sha256_of(os.path.join(self.downloads, "minutes.txt")), sha256_of(small))

    def test_big_file_waits(self):
        self.chat_with_bob()
        big = write_random(os.path.join(self.outbox, "video.bin"), 21 * 1000 * 1000)
        self.send_from_bob(big)
        row = self.transfer_row("video.bin")
        self.ui.find("push button", "Accept", within=row)
        self.wait_row_text(row, "Offered to you")
        self.assertFalse(os.path.exists(os.path.join(self.downloads, "video.bin")))


if __name__ == "__main__":
    main()
