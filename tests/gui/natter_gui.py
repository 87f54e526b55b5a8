# natter_gui.py: the real natter app under Xvfb, driven through AT-SPI and xdotool
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the GUI tests and the app benchmark share.

Runs inside tests/keyring/natter-keyring-run (a private D-Bus session with an
unlocked gnome-keyring). On top of that it starts an Xvfb display of its own
(with an X authority cookie), the AT-SPI bus on that session, and the app.
The server and the natter-cli peers come from tests/integration/natter_harness.py.
"""

import atexit
import ctypes
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from natter_harness import BUILD_DIR, CLI, EVENT_TIMEOUT, Client, Server, Workdir, befriend  # noqa: E402,F401

# The app runs with the tests' G_DEBUG (fatal warnings). This process only
# drives it: libatspi's own warnings about a toolkit without a cache must
# not abort the test.
APP_G_DEBUG = os.environ.get("G_DEBUG", "")
os.environ["G_DEBUG"] = ",".join(flag for flag in APP_G_DEBUG.split(",")
                                 if flag and flag != "fatal-warnings")

APP = os.environ.get("NATTER_APP", os.path.join(BUILD_DIR, "src/app/natter"))
SEED = os.environ.get("NATTER_GUI_SEED", os.path.join(BUILD_DIR, "tests/gui/natter-gui-seed"))
SCREENSHOT_DIR = os.environ.get("NATTER_GUI_SCREENSHOTS",
                                os.path.join(BUILD_DIR, "tests/gui/screenshots"))

# Where Debian and other distributions keep the AT-SPI bus launcher.
BUS_LAUNCHER_DIRS = ("/usr/libexec", "/usr/lib/at-spi2-core", "/usr/lib/at-spi2",
                     "/usr/lib/x86_64-linux-gnu/at-spi2-core")

SCREEN_SIZE = "1280x800"

# What a message row's status icon calls itself.
STATUS_NAMES = ("Queued", "Sent", "Delivered", "Read", "Failed")


def _die_with_parent():
    """In a child before exec: get SIGTERM when the test process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def stop_process(process, timeout=15):
    """SIGTERM, then SIGKILL if it does not end in time."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bus_launcher():
    override = os.environ.get("AT_SPI_BUS_LAUNCHER")
    if override:
        return override if os.access(override, os.X_OK) else None
    for folder in BUS_LAUNCHER_DIRS:
        path = os.path.join(folder, "at-spi-bus-launcher")
        if os.access(path, os.X_OK):
            return path
    return None


def quiet_pyatspi():
    """pyatspi calls libatspi functions that newer releases deprecate, and
    gi's importer trips an ImportWarning: neither says anything about Natter.
    (unittest resets the warning filters for each test, so this runs late.)"""
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="pyatspi")
    warnings.filterwarnings("ignore", category=ImportWarning)


def missing_requirement():
    """Why the GUI cannot run here, or None when everything is in place."""
    if os.environ.get("NATTER_TEST_KEYRING") != "1":
        return "needs a private Secret Service: run under tests/keyring/natter-keyring-run"
    if not os.access(APP, os.X_OK):
        return f"the app is not built ({os.path.basename(APP)} is missing)"
    for program, package in (("Xvfb", "xvfb"), ("xauth", "xauth"), ("xdotool", "xdotool"),
                             ("import", "imagemagick")):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian package {package})"
    if bus_launcher() is None:
        return "at-spi-bus-launcher is not installed (Debian package at-spi2-core)"
    try:
        quiet_pyatspi()
        import pyatspi  # noqa: F401
    except ImportError:
        return f"pyatspi is not importable by {sys.executable} (Debian package python3-pyatspi)"
    return None


def wait_until(predicate, timeout=EVENT_TIMEOUT, what="a condition", interval=0.1):
    """Polls predicate until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(interval)


class Display:
    """A private Xvfb with an X authority cookie, on the first free display number."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.process = None
        self.name = None
        self.authority = os.path.join(workdir, "Xauthority")
        self.log = open(os.path.join(workdir, "xvfb.log"), "ab")

    def start(self):
        cookie = secrets.token_hex(16)
        open(self.authority, "wb").close()
        # The server only compares the cookie; the display number in the
        # file is for the clients and is known once Xvfb has picked one.
        subprocess.run(["xauth", "-q", "-f", self.authority, "add", ":0", ".", cookie],
                       check=True)
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", SCREEN_SIZE + "x24",
             "-nolisten", "tcp", "-auth", self.authority, "-noreset"],
            pass_fds=(write_end,), stdout=self.log, stderr=self.log,
            preexec_fn=_die_with_parent)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            self.stop()
            raise RuntimeError("Xvfb did not start; see xvfb.log")
        self.name = ":" + number
        subprocess.run(["xauth", "-q", "-f", self.authority, "add", self.name, ".", cookie],
                       check=True)
        os.environ["DISPLAY"] = self.name
        os.environ["XAUTHORITY"] = self.authority

    def screenshot(self, path, window=None):
        """Saves what the screen shows as PNG: all of it, or the rectangle of
        one X window (with whatever lies on top of it, such as a dialog)."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        crop = []
        geometry = window_geometry(window) if window is not None else None
        if geometry is not None:
            x, y, width, height = geometry
            crop = ["-crop", f"{width}x{height}+{x}+{y}", "+repage"]
        subprocess.run(["import", "-display", self.name, "-window", "root"] + crop + [path],
                       check=True, capture_output=True, timeout=60)
        return path

    def stop(self):
        stop_process(self.process)
        self.process = None
        self.log.close()


class AccessibilityBus:
    """The AT-SPI bus of this private session, on the private display."""

    def __init__(self, workdir):
        self.process = None
        self.log = open(os.path.join(workdir, "at-spi.log"), "ab")

    def start(self):
        self.process = subprocess.Popen([bus_launcher(), "--launch-immediately"],
                                        stdout=self.log, stderr=self.log,
                                        preexec_fn=_die_with_parent)
        subprocess.run(["gdbus", "wait", "--session", "--timeout", "60", "org.a11y.Bus"],
                       check=True)

    def stop(self):
        stop_process(self.process)
        self.process = None
        self.log.close()


class App:
    """The real natter app for one profile; collects its NATTER_REPORT_TIMING figures."""

    TIMING = re.compile(r"^natter: ([a-z-]+) (\d+(?:\.\d+)?)$")

    def __init__(self, workdir, profile, data_home):
        self.workdir = workdir
        self.profile = profile
        self.data_home = data_home
        self.process = None
        self.timings = []
        self._queue = queue.Queue()
        self._thread = None
        self.log_path = os.path.join(workdir, f"app-{profile}.log")

    @property
    def profile_dir(self):
        return os.path.join(self.data_home, "natter", "profiles", self.profile)

    def _env(self):
        env = dict(os.environ)
        env.update({
            "XDG_DATA_HOME": self.data_home,
            "GDK_BACKEND": "x11",
            "GTK_A11Y": "atspi",
            "NATTER_REPORT_TIMING": "1",
            # libadwaita reads the colour scheme from the desktop portal,
            # which the test session does not have.
            "ADW_DISABLE_PORTAL": "1",
            "G_DEBUG": APP_G_DEBUG,
            "G_MESSAGES_DEBUG": "",
        })
        # The app's own settings schema from the build (window size and
        # the rest at their defaults; the tests' memory backend keeps
        # nothing).
        schemas = os.path.join(BUILD_DIR, "data")
        if os.path.exists(os.path.join(schemas, "gschemas.compiled")):
            env["GSETTINGS_SCHEMA_DIR"] = schemas
        env.pop("NO_AT_BRIDGE", None)
        return env

    def start(self, *extra_args):
        env = self._env()
        self.timings = []
        self._queue = queue.Queue()
        log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen([APP, "--profile", self.profile, "--loopback"]
                                        + list(extra_args),
                                        env=env, stdout=subprocess.PIPE, stderr=log,
                                        preexec_fn=_die_with_parent)
        log.close()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for raw in self.process.stdout:
            match = self.TIMING.match(raw.decode(errors="replace").strip())
            if match:
                self._queue.put((match.group(1), float(match.group(2))))

    def run_again(self, *args):
        """Starts the app a second time for the same profile, as the desktop
        does to open a link: it hands `args` to the running one and exits."""
        result = subprocess.run([APP, "--profile", self.profile] + list(args), env=self._env(),
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"the second app exited with {result.returncode}: "
                                 f"{result.stderr.strip()}")

    def wait_timing(self, name, timeout=EVENT_TIMEOUT):
        """The next figure NAME the app printed, in ms."""
        for i, (seen, value) in enumerate(self.timings):
            if seen == name:
                del self.timings[i]
                return value
        deadline = time.monotonic() + timeout
        while True:
            self.check_running()
            try:
                seen, value = self._queue.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the app printed no {name} within {timeout} s")
                continue
            if seen == name:
                return value
            self.timings.append((seen, value))

    def check_running(self):
        if self.process.poll() is not None:
            raise AssertionError(f"the app exited with status {self.process.returncode}:\n"
                                 + self.log_tail())

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except OSError:
            return ""

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for the app")

    def windows(self):
        """The app's visible X windows, biggest first."""
        result = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid",
                                 str(self.process.pid)], capture_output=True, text=True)
        found = []
        for line in result.stdout.split():
            geometry = window_geometry(int(line))
            if geometry is not None:
                found.append((geometry[2] * geometry[3], int(line)))
        return [window for _, window in sorted(found, reverse=True)]

    def center_dialog(self):
        """Moves the app's second-biggest window over the middle of its main one."""
        windows = self.windows()
        if len(windows) < 2:
            raise AssertionError("the app shows no dialog")
        main_x, main_y, main_width, main_height = window_geometry(windows[0])
        _, _, width, height = window_geometry(windows[1])
        x = main_x + max(0, (main_width - width) // 2)
        y = main_y + max(0, (main_height - height) // 3)
        subprocess.run(["xdotool", "windowmove", "--sync", str(windows[1]), str(x), str(y)],
                       check=True, timeout=30)

    def stop(self):
        if self.process is None:
            return
        stop_process(self.process)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.process.stdout.close()
        self.process = None


def text_of(node):
    """The whole text of an accessible with the Text interface. (GTK 4.8
    answers an end offset of -1 with nothing, so ask for the exact length.)"""
    text = node.queryText()
    return text.getText(0, text.characterCount)


def window_geometry(window):
    """(x, y, width, height) of an X window on the screen, or None when it is gone."""
    result = subprocess.run(["xdotool", "getwindowgeometry", "--shell", str(window)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return None
    values = dict(line.split("=", 1) for line in result.stdout.split() if "=" in line)
    try:
        return tuple(int(values[key]) for key in ("X", "Y", "WIDTH", "HEIGHT"))
    except (KeyError, ValueError):
        return None


class Ui:
    """The app's accessible tree: find widgets by role and name, press, type."""

    def __init__(self, app, cache=True):
        """With `cache` False, every question goes to the app: slower, and
        what GTK 4.8 adds without telling (a toast's text) can be missed,
        but libatspi 2.46 never walks its cache, which it sometimes does
        into freed memory when a window opens meanwhile."""
        quiet_pyatspi()
        import pyatspi
        from gi.repository import GLib

        # libatspi asks every application for a cache that GTK 4.8 does not
        # offer, and warns each time: nothing the test can act on.
        GLib.log_set_handler("dbind", GLib.LogLevelFlags.LEVEL_WARNING,
                             lambda *args: None, None)

        self.pyatspi = pyatspi
        self.context = GLib.MainContext.default()
        self.app = app
        self.cache = cache
        self.root = None

    def _pump(self):
        while self.context.iteration(False):
            pass

    def _root(self):
        self._pump()
        if self.root is not None:
            try:
                if self.cache:
                    self.root.clear_cache()
                if self.root.get_process_id() == self.app.process.pid:
                    return self.root
            except Exception:
                pass
            self.root = None
        desktop = self.pyatspi.Registry.getDesktop(0)
        if self.cache:
            desktop.clear_cache()
        for application in desktop:
            try:
                if application is not None and application.get_process_id() == self.app.process.pid:
                    if not self.cache:
                        from gi.repository import Atspi
                        application.set_cache_mask(Atspi.Cache.NONE)
                    self.root = application
                    return application
            except Exception:
                continue
        return None

    def _walk(self, node, depth=0, showing=False):
        if node is None or depth > 60:
            return
        if showing and depth > 0 and not self._showing(node):
            return
        yield node
        try:
            children = list(node)
        except Exception:
            return
        for child in children:
            yield from self._walk(child, depth + 1, showing)

    def _showing(self, node):
        """Whether a widget is on screen. GTK 4.8 sets no SHOWING state, and
        the pages a GtkStack hides stay VISIBLE: what is not mapped has an
        empty rectangle."""
        try:
            if not node.getState().contains(self.pyatspi.STATE_VISIBLE):
                return False
            if "Component" not in self.pyatspi.listInterfaces(node):
                return True
            extents = node.queryComponent().getExtents(self.pyatspi.WINDOW_COORDS)
            return extents.width > 0 or extents.height > 0
        except Exception:
            return False

    def all(self, role=None, name=None, within=None, showing=True, match=None):
        """Every accessible below `within` (default: the app) that fits."""
        top = within if within is not None else self._root()
        found = []
        for node in self._walk(top, showing=showing):
            try:
                if role is not None and node.getRoleName() != role:
                    continue
                if name is not None and node.name != name:
                    continue
                if match is not None and not match(node):
                    continue
            except Exception:
                continue
            found.append(node)
        return found

    def find(self, role=None, name=None, within=None, timeout=EVENT_TIMEOUT, match=None,
             what=None):
        """Waits for the first showing accessible with this role and name."""
        def look():
            self.app.check_running()
            found = self.all(role, name, within, match=match)
            return found[0] if found else None
        try:
            return wait_until(look, timeout, what or f"{role or 'widget'} {name!r} in the app",
                              interval=0.25)
        except AssertionError as error:
            raise AssertionError(f"{error}; what is showing:\n{self.dump(within)}") from None

    def dump(self, within=None):
        """The showing part of the tree as text, for failure messages."""
        lines = []

        def visit(node, depth):
            try:
                if not self._showing(node) and depth > 0:
                    return
                text = ""
                if node.getRoleName() in ("label", "text"):
                    text = " = " + repr(text_of(node)[:80])
                lines.append(f"{'  ' * depth}{node.getRoleName()} {node.name!r}{text}")
                for child in node:
                    visit(child, depth + 1)
            except Exception as error:
                lines.append(f"{'  ' * depth}({error})")
        visit(within if within is not None else self._root(), 0)
        return "\n".join(lines)

    def gone(self, role=None, name=None, within=None, timeout=EVENT_TIMEOUT):
        wait_until(lambda: not self.all(role, name, within), timeout,
                   f"{role or 'widget'} {name!r} disappearing")

    def texts(self, within=None):
        """The text of every showing label below `within`."""
        result = []
        for node in self.all("label", within=within):
            try:
                result.append(text_of(node))
            except Exception:
                pass
        return result

    def find_text(self, text, timeout=EVENT_TIMEOUT):
        """Waits for a showing label whose text is `text`."""
        def has_text(node):
            try:
                return text_of(node) == text
            except Exception:
                return False
        return self.find("label", match=has_text, timeout=timeout, what=f"label {text!r}")

    def ancestor(self, node, role):
        while node is not None:
            try:
                if node.getRoleName() == role:
                    return node
                node = node.parent
            except Exception:
                return None
        return None

    def press(self, node):
        """Activates a button through its AT-SPI action."""
        action = node.queryAction()
        names = [action.getName(i) for i in range(action.nActions)]
        for wanted in ("click", "activate", "press"):
            if wanted in names:
                action.doAction(names.index(wanted))
                return
        action.doAction(0)

    def press_button(self, name, timeout=EVENT_TIMEOUT):
        button = self.find("push button", name, timeout=timeout,
                           match=lambda n: n.getState().contains(self.pyatspi.STATE_SENSITIVE))
        self.press(button)
        return button

    def press_response(self, label, timeout=EVENT_TIMEOUT):
        """Presses a response button of a message dialog. (libadwaita 1.2
        names them "_Label Label": the mnemonic, then the label.)"""
        button = self.find("push button", timeout=timeout,
                           match=lambda n: n.name in (label, f"_{label} {label}")
                           or (n.name.endswith(" " + label) and "_" in n.name),
                           what=f"the dialog's {label!r} button")
        self.press(button)
        return button

    def set_text(self, node, text):
        """Replaces the text of an entry or text view through AT-SPI."""
        if not node.queryEditableText().setTextContents(text):
            raise AssertionError(f"the app refused text in {node.name!r}")
        wait_until(lambda: text_of(node) == text, 10, f"the text {text!r} in {node.name!r}")

    def click(self, node, button=1, window=None):
        """A real mouse click in the middle of an accessible of the main window,
        or of another X window of the app (for what has no action, such as
        the rows of a GtkListView)."""
        extents = node.queryComponent().getExtents(self.pyatspi.WINDOW_COORDS)
        x, y, _, _ = window_geometry(window if window is not None else self.app.windows()[0])
        # One xdotool, so the move reaches the server before the click.
        # (No --sync: it waits for a motion that never comes when the
        # pointer already is there.)
        subprocess.run(["xdotool", "mousemove", str(x + extents.x + extents.width // 2),
                        str(y + extents.y + extents.height // 2), "click", str(button)],
                       check=True, timeout=30)

    def right_click(self, node):
        """A real right click in the middle of an accessible of the main window."""
        self.click(node, button=3)

    def menu_item(self, name):
        """Activates the showing menu item `name` (of a popover menu)."""
        item = self.find("menu item", name,
                         match=lambda n: n.getState().contains(self.pyatspi.STATE_SENSITIVE))
        self.press(item)
        return item

    def scroll_up(self, node, clicks):
        """Turns the mouse wheel up over a widget."""
        extents = node.queryComponent().getExtents(self.pyatspi.WINDOW_COORDS)
        x, y, _, _ = window_geometry(self.app.windows()[0])
        subprocess.run(["xdotool", "mousemove", str(x + extents.x + extents.width // 2),
                        str(y + extents.y + extents.height // 2),
                        "click", "--repeat", str(clicks), "--delay", "30", "4"],
                       check=True, timeout=30)

    def _focus_main_window(self):
        window = self.app.windows()[0]
        subprocess.run(["xdotool", "windowfocus", "--sync", str(window)], check=True,
                       timeout=30)

    def key(self, *keys):
        """Key presses (xdotool names, such as Return) to the app's main window."""
        self._focus_main_window()
        subprocess.run(["xdotool", "key", "--clearmodifiers"] + list(keys), check=True,
                       timeout=60)

    def type(self, text):
        """Types text on the keyboard into the focused widget of the main window."""
        self._focus_main_window()
        subprocess.run(["xdotool", "type", "--clearmodifiers", "--delay", "20", text],
                       check=True, timeout=120)


class Desktop:
    """The display and the AT-SPI bus, shared by all tests of one process:
    libatspi connects to one accessibility bus per process and keeps it."""

    _current = None

    @classmethod
    def get(cls):
        if cls._current is None:
            desktop = cls()
            desktop.start()
            cls._current = desktop
            atexit.register(desktop.stop)
            signal.signal(signal.SIGTERM, cls._on_sigterm)
        return cls._current

    @classmethod
    def _on_sigterm(cls, number, frame):
        """A timeout ends the tests with SIGTERM: stop every process all the same."""
        for session in list(Session.open_sessions):
            session.close(keep=True)
        if cls._current is not None:
            cls._current.stop()
        os._exit(128 + number)

    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="natter-gui-desktop-")
        self.display = Display(self.workdir)
        self.a11y = AccessibilityBus(self.workdir)

    def start(self):
        self.display.start()
        self.a11y.start()

    def stop(self):
        if self.display is None:
            return
        self.a11y.stop()
        self.display.stop()
        self.display = None
        shutil.rmtree(self.workdir, ignore_errors=True)


class Session:
    """A fresh server and work folder on the shared desktop: one test's world."""

    open_sessions = set()

    def __init__(self):
        self.workdir = Workdir()
        self.desktop = None
        self.display = None
        self.server = Server(self.workdir.path)
        self.clients = []
        self.apps = []

    def start(self):
        Session.open_sessions.add(self)
        self.desktop = Desktop.get()
        self.display = self.desktop.display
        self.server.start()

    def client(self, name, use_keyring=False):
        client = Client(self.workdir.path, name, self.server.url, use_keyring)
        self.clients.append(client)
        return client

    def app(self, profile, data_home=None):
        data_home = data_home or os.path.join(self.workdir.path, f"{profile}-data")
        app = App(self.workdir.path, profile, data_home)
        self.apps.append(app)
        return app

    def close(self, keep):
        Session.open_sessions.discard(self)
        for app in self.apps:
            app.stop()
        for client in self.clients:
            client.close()
        self.server.close()
        self.workdir.cleanup(keep)


def seed_history(profile_dir, name, count):
    """Writes a conversation of `count` messages into a profile; returns the contact's ID.

    The store syncs every message to disk, as it should for the app. For a
    seed that is only waiting, so it is written in memory (a tmpfs) when the
    system has one, then moved into the profile.
    """
    os.makedirs(profile_dir, mode=0o700, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="natter-gui-seed-",
                               dir="/dev/shm" if os.path.isdir("/dev/shm") else profile_dir)
    try:
        path = os.path.join(scratch, "history.db")
        result = subprocess.run([SEED, "seed", path, name, str(count)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError(f"natter-gui-seed failed: {result.stderr.strip()}")
        for suffix in ("", "-wal", "-shm"):
            target = os.path.join(profile_dir, "history.db" + suffix)
            if os.path.exists(target):
                os.remove(target)
            if os.path.exists(path + suffix):
                shutil.move(path + suffix, os.path.join(profile_dir, "history.db" + suffix))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result.stdout.strip()


def is_valid_id(user_id):
    return subprocess.run([SEED, "check-id", user_id]).returncode == 0
