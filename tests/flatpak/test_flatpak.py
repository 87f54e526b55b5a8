#!/usr/bin/env python3
# test_flatpak.py: the Flatpak, built, installed and started from its desktop file
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Flatpak test suite (suite 'flatpak').

Builds flatpak/io.github.natter.Natter.json with flatpak-builder against the
stand-in GNOME 47 runtime and SDK of build-aux/flatpak-standin (Debian 12's
libraries, so this proves packaging and sandbox, not GNOME 47's versions),
installs it into a --user installation in a scratch HOME and then, in a
private D-Bus session (dbus-run-session) with a real, unlocked gnome-keyring,
an Xvfb display and the AT-SPI bus, starts it the way the desktop menu does:
the exported desktop file, looked up by its ID in XDG_DATA_DIRS and launched
by GIO, which activates the app over D-Bus through the exported service file.
The real first run follows inside the sandbox: an identity in the keyring,
a natter-server on 127.0.0.1, a message each way with a natter-cli peer.
Screenshots are kept in BUILD/tests/flatpak/screenshots.

Run it with meson (`meson test -C _build --suite flatpak`), or
  NATTER_BUILD_DIR=_build NATTER_SOURCE_DIR=. python3 tests/flatpak/test_flatpak.py
Exits 77 (skipped) with the reason when it cannot run here.
"""

import configparser
import contextlib
import glob
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gui"))

from natter_gui import (  # noqa: E402
    BUILD_DIR, CLI, EVENT_TIMEOUT, AccessibilityBus, Client, Display, Server, Ui, bus_launcher,
    stop_process, text_of, wait_until, window_geometry)

SOURCE_DIR = os.environ.get("NATTER_SOURCE_DIR",
                            os.path.abspath(os.path.join(HERE, "..", "..")))
APP_ID = "io.github.natter.Natter"
MANIFEST = os.path.join(SOURCE_DIR, "flatpak", APP_ID + ".json")
STANDIN = os.path.join(SOURCE_DIR, "build-aux", "flatpak-standin")
SCREENSHOT_DIR = os.path.join(BUILD_DIR, "tests", "flatpak", "screenshots")
KEYRING_PASSWORD = "natter-test-password"

# NatterMessageDirection as the store keeps it.
DIRECTION_IN, DIRECTION_OUT = 0, 1

# Modules of the manifest that the stand-in SDK has as Debian packages: the
# derived manifest drops them (they would be downloaded from the internet).
STANDIN_PROVIDES = ("libsodium", "libqrencode", "avahi")

# The one permission the first run cannot do without.
SECRETS = "org.freedesktop.secrets"


def log(message):
    print(f"# {message}", flush=True)


def run(args, env=None, timeout=900, check=True, cwd=None):
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


# The derived manifest ------------------------------------------------------------

def derive_manifest(manifest, source_dir):
    """The manifest as the tests build it: without the modules the stand-in
    provides, and with the app's sources taken from `source_dir`."""
    derived = json.loads(json.dumps(manifest))
    derived["modules"] = [m for m in derived["modules"]
                          if not (isinstance(m, dict) and m.get("name") in STANDIN_PROVIDES)]
    for module in derived["modules"]:
        if isinstance(module, dict) and module.get("name") == "natter":
            for source in module.get("sources", []):
                if source.get("type") == "dir":
                    source["path"] = os.path.abspath(source_dir)
    return derived


def manifest_differences(real, derived, manifest_dir):
    """Every way `derived` differs from `real`, as text. A dropped module the
    stand-in provides and the natter module's dir source pointing at the
    same tree are the only allowed ones; each is reported all the same."""
    differences = []
    for key in sorted(set(real) | set(derived)):
        if key != "modules" and real.get(key) != derived.get(key):
            differences.append(f"{key}: {real.get(key)!r} became {derived.get(key)!r}")
    real_modules = [m for m in real.get("modules", []) if isinstance(m, dict)]
    derived_modules = list(derived.get("modules", []))
    for module in real_modules:
        if module in derived_modules:
            derived_modules.remove(module)
            continue
        name = module.get("name")
        same_name = [m for m in derived_modules if m.get("name") == name]
        if not same_name:
            differences.append(f"module {name} dropped")
            continue
        other = same_name[0]
        derived_modules.remove(other)
        for key in sorted(set(module) | set(other)):
            if key == "sources":
                continue
            if module.get(key) != other.get(key):
                differences.append(f"module {name}: {key} changed")
        sources, other_sources = module.get("sources", []), other.get("sources", [])
        if len(sources) != len(other_sources):
            differences.append(f"module {name}: sources added or removed")
            continue
        for source, other_source in zip(sources, other_sources):
            if source == other_source:
                continue
            rest = {k: v for k, v in source.items() if k != "path"}
            other_rest = {k: v for k, v in other_source.items() if k != "path"}
            if rest != other_rest or source.get("type") != "dir":
                differences.append(f"module {name}: a source changed")
                continue
            same_tree = os.path.realpath(os.path.join(manifest_dir, source.get("path", ""))) == \
                os.path.realpath(other_source.get("path", ""))
            differences.append(f"module {name}: dir source at "
                               f"{'the same tree' if same_tree else 'another tree'}")
    for module in derived_modules:
        differences.append(f"module {module.get('name')} added")
    return differences


def allowed_differences():
    return sorted([f"module {name} dropped" for name in STANDIN_PROVIDES]
                  + ["module natter: dir source at the same tree"])


# The installation ---------------------------------------------------------------

def missing_requirement():
    """Why the suite cannot run here, or None."""
    for program, package in (("flatpak", "flatpak"), ("flatpak-builder", "flatpak-builder"),
                             ("bwrap", "bubblewrap"), ("ostree", "ostree"),
                             ("eu-strip", "elfutils"), ("debootstrap", "debootstrap"),
                             ("dbus-run-session", "dbus"),
                             ("gnome-keyring-daemon", "gnome-keyring"),
                             ("desktop-file-validate", "desktop-file-utils"),
                             ("Xvfb", "xvfb"), ("xauth", "xauth"), ("xdotool", "xdotool"),
                             ("weston", "weston"),
                             ("import", "imagemagick")):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian package {package})"
    if bus_launcher() is None:
        return "at-spi-bus-launcher is not installed (Debian package at-spi2-core)"
    for program in (CLI, os.path.join(BUILD_DIR, "src/server/natter-server")):
        if not os.access(program, os.X_OK):
            return f"{os.path.basename(program)} is not built"
    cached = subprocess.run([sys.executable, STANDIN, "--cached-only"],
                            capture_output=True).returncode == 0
    if not cached and os.geteuid() != 0:
        return "the stand-in runtime is not cached, and building it needs root (debootstrap)"
    return None


class Home:
    """A scratch HOME with the XDG folders in it, as a new user's."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="natter-flatpak-")
        self.path = os.path.join(self.root, "home")
        self.runtime_dir = os.path.join(self.root, "runtime")
        for folder in (self.path, self.runtime_dir, os.path.join(self.path, "Downloads")):
            os.makedirs(folder, mode=0o700)
        os.makedirs(os.path.join(self.path, ".config"))
        with open(os.path.join(self.path, ".config", "user-dirs.dirs"), "w") as dirs:
            dirs.write('XDG_DOWNLOAD_DIR="$HOME/Downloads"\n')
        self.data_home = os.path.join(self.path, ".local", "share")
        self.exports = os.path.join(self.data_home, "flatpak", "exports", "share")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY",
                                 "DBUS_SESSION_BUS_ADDRESS", "G_DEBUG", "GSETTINGS_BACKEND",
                                 "GSETTINGS_SCHEMA_DIR", "XDG_DATA_DIRS")}
        self.env.update({
            "HOME": self.path,
            "XDG_DATA_HOME": self.data_home,
            "XDG_CONFIG_HOME": os.path.join(self.path, ".config"),
            "XDG_CACHE_HOME": os.path.join(self.path, ".cache"),
            "XDG_RUNTIME_DIR": self.runtime_dir,
            # As flatpak's profile script sets it on a desktop.
            "XDG_DATA_DIRS": f"{self.exports}:/usr/local/share:/usr/share",
        })

    @property
    def app_data(self):
        """Where the sandboxed app's XDG_DATA_HOME is on the host."""
        return os.path.join(self.path, ".var", "app", APP_ID, "data")

    def flatpak(self, *args, timeout=900, check=True):
        return run(["flatpak", "--user"] + list(args), env=self.env, timeout=timeout, check=check)

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


class Installed:
    """What setUpClass made: the scratch home with the app installed."""
    home = None
    derived_path = None
    figures = {}


def install():
    """The stand-in runtime, the app built with flatpak-builder, both installed."""
    home = Installed.home = Home()
    started = time.monotonic()
    result = run([sys.executable, STANDIN], timeout=3000)
    repo = result.stdout.strip().splitlines()[-1]
    Installed.figures["stand-in runtime"] = time.monotonic() - started
    log(f"stand-in runtime: {repo} ({result.stderr.strip().splitlines()[-1]})")

    started = time.monotonic()
    home.flatpak("remote-add", "--no-gpg-verify", "natter-standin", "file://" + repo)
    home.flatpak("install", "--noninteractive", "-y", "natter-standin",
                 "org.gnome.Platform//47", "org.gnome.Sdk//47")
    Installed.figures["runtime install"] = time.monotonic() - started

    with open(MANIFEST, encoding="utf-8") as f:
        manifest = json.load(f)
    Installed.derived_path = os.path.join(home.root, APP_ID + ".json")
    with open(Installed.derived_path, "w", encoding="utf-8") as f:
        json.dump(derive_manifest(manifest, SOURCE_DIR), f, indent=2)

    started = time.monotonic()
    build = os.path.join(home.root, "build")
    run(["flatpak-builder", "--user", "--install", "--force-clean", "--disable-rofiles-fuse",
         "--state-dir=" + os.path.join(home.root, "flatpak-builder"),
         "--repo=" + os.path.join(home.root, "repo"), build, Installed.derived_path],
        env=home.env, cwd=home.root, timeout=1800)
    Installed.figures["flatpak-builder"] = time.monotonic() - started
    shutil.rmtree(build, ignore_errors=True)


def sandbox_processes(home=None):
    """Host PIDs of every process in a sandbox of the app installed in `home`
    (default: $HOME), whatever other installations run elsewhere."""
    installation = os.path.join(home or os.environ["HOME"], ".local", "share", "flatpak") + "/"
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/root/.flatpak-info", encoding="utf-8") as f:
                info = configparser.ConfigParser(interpolation=None, strict=False)
                info.read_string(f.read())
        except (OSError, configparser.Error):
            continue
        if info.get("Application", "name", fallback=None) == APP_ID and \
                info.get("Instance", "app-path", fallback="").startswith(installation):
            pids.append(int(entry))
    return pids


def cmdline(pid):
    """A process's arguments, the program's name without its folder."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []
    return [os.path.basename(words[0])] + words[1:] if words else []


# The tests ----------------------------------------------------------------------

class FlatpakTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = missing_requirement()
        if reason is not None:
            raise unittest.SkipTest(reason)
        started = time.monotonic()
        try:
            install()
        except BaseException:
            if Installed.home is not None:
                Installed.home.cleanup()
            raise
        Installed.figures["build and install"] = time.monotonic() - started

    @classmethod
    def tearDownClass(cls):
        figures = ", ".join(f"{name} {seconds:.0f} s"
                            for name, seconds in Installed.figures.items())
        log(f"time: {figures}")
        if Installed.home is not None:
            Installed.home.cleanup()

    def setUp(self):
        self.home = Installed.home

    def test_derived_manifest_drops_only_what_the_standin_provides(self):
        with open(MANIFEST, encoding="utf-8") as f:
            real = json.load(f)
        with open(Installed.derived_path, encoding="utf-8") as f:
            derived = json.load(f)
        manifest_dir = os.path.dirname(MANIFEST)
        self.assertEqual(sorted(manifest_differences(real, derived, manifest_dir)),
                         allowed_differences())
        # The comparison sees what it must not let through.
        changed = json.loads(json.dumps(derived))
        changed["finish-args"].append("--filesystem=home")
        changed["modules"][-1]["config-opts"].append("-Dprofile=development")
        self.assertEqual(sorted(manifest_differences(real, changed, manifest_dir)),
                         sorted(allowed_differences() + [
                             "finish-args: %r became %r" % (real["finish-args"],
                                                            changed["finish-args"]),
                             "module natter: config-opts changed"]))

    def test_installed_app_exports_desktop_file_and_service(self):
        listing = self.home.flatpak("list", "--app", "--columns=application,branch").stdout
        self.assertIn(APP_ID, listing)
        desktop = os.path.join(self.home.exports, "applications", APP_ID + ".desktop")
        self.assertTrue(os.path.isfile(desktop), f"no exported {desktop}")
        result = run(["desktop-file-validate", desktop], check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        entry = configparser.ConfigParser(interpolation=None, strict=False)
        entry.optionxform = str
        entry.read(desktop)
        section = entry["Desktop Entry"]
        self.assertEqual(section.get("X-Flatpak"), APP_ID)
        self.assertEqual(section.get("DBusActivatable"), "true")
        self.assertIn("flatpak run", section.get("Exec"))
        self.assertIn(APP_ID, section.get("Exec"))
        self.assertEqual(section.get("Icon"), APP_ID)
        icons = os.path.join(self.home.exports, "icons", "hicolor")
        self.assertTrue(any(name.startswith(APP_ID) for _, _, names in os.walk(icons)
                            for name in names), "no icon of the app exported")
        service = os.path.join(self.home.exports, "dbus-1", "services", APP_ID + ".service")
        with open(service, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(f"Name={APP_ID}\n", text)
        self.assertIn("flatpak run", text)

    def test_permissions_inside_the_sandbox(self):
        """The Downloads folder is there to write, the rest of HOME is not."""
        with open(os.path.join(self.home.path, "private.txt"), "w") as private:
            private.write("not for the app\n")
        script = ('echo saved > "$HOME/Downloads/from-the-sandbox.txt" && '
                  'if [ -e "$HOME/private.txt" ]; then echo home-visible; fi')
        result = self.home.flatpak("run", "--command=sh", APP_ID, "-c", script, timeout=120)
        self.assertNotIn("home-visible", result.stdout)
        with open(os.path.join(self.home.path, "Downloads", "from-the-sandbox.txt")) as saved:
            self.assertEqual(saved.read(), "saved\n")

    def test_first_run_launched_from_the_desktop_file(self):
        workdir = os.path.join(self.home.root, "session")
        os.makedirs(workdir)
        # The display outlives the session, so that what ends the app at
        # the end is the session bus that started it, not a lost display.
        display = Display(workdir)
        display.start()
        self.addCleanup(display.stop)
        env = dict(self.home.env, DISPLAY=display.name, XAUTHORITY=display.authority)
        env["NATTER_FLATPAK_SESSION"] = workdir
        # A test's addition: a message exchanged on one machine needs the app
        # to offer 127.0.0.1, and no command line can say --loopback to an
        # app that the desktop starts.
        env["NATTER_LOOPBACK"] = "1"
        started = time.monotonic()
        session = subprocess.run(["dbus-run-session", "--", sys.executable,
                                  os.path.abspath(__file__), "--session"],
                                 env=env, capture_output=True, text=True, timeout=900)
        Installed.figures["session"] = time.monotonic() - started
        print(session.stdout, end="")
        self.assertEqual(session.returncode, 0,
                         f"the session failed:\n{session.stderr[-6000:]}")

        # The app ended with the session bus that launched it.
        with open(os.path.join(workdir, "app-pids.json")) as f:
            seen = json.load(f)
        self.assertTrue(seen, "the session saw no process of the app")
        ended = time.monotonic()
        wait_until(lambda: not sandbox_processes(self.home.path), 30,
                   "the app's processes ending with its session")
        log(f"the app ended {time.monotonic() - ended:.1f} s after its session")

        # Both messages are in the app's own store, in the sandbox's data folder.
        with open(os.path.join(workdir, "result.json")) as f:
            result = json.load(f)
        store = os.path.join(self.home.app_data, "natter", "profiles", "default", "history.db")
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            stored = set(db.execute("SELECT direction, body FROM messages"))
        self.assertIn((DIRECTION_IN, result["received"]), stored)
        self.assertIn((DIRECTION_OUT, result["sent"]), stored)


# The session: runs inside dbus-run-session ---------------------------------------

class SandboxedApp:
    """The app in its sandbox, as the Ui helper of the GUI tests sees it."""

    class _Process:
        pid = -1

    def __init__(self):
        self.process = self._Process()

    def check_running(self):
        if not sandbox_processes():
            raise AssertionError("the app's sandbox is gone")

    def windows(self):
        """The visible windows on the private display, biggest first: only
        the app draws there."""
        result = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", ""],
                                capture_output=True, text=True)
        found = []
        for line in result.stdout.split():
            geometry = window_geometry(int(line))
            if geometry is not None and geometry[2] > 1 and geometry[3] > 1:
                found.append((geometry[2] * geometry[3], int(line)))
        return [window for _, window in sorted(found, reverse=True)]


class SandboxedUi(Ui):
    """The app's accessible tree. Through the sandbox's bus proxy the AT-SPI
    registry sees the proxy's PID, not the app's: find the app by name."""

    def _root(self):
        self._pump()
        desktop = self.pyatspi.Registry.getDesktop(0)
        desktop.clear_cache()
        for application in desktop:
            try:
                if application is not None and application.name in ("natter", "Natter", APP_ID):
                    self.root = application
                    return application
            except Exception:
                continue
        return None


def start_keyring(workdir):
    """A real gnome-keyring on this session bus, its login keyring unlocked."""
    log_file = open(os.path.join(workdir, "gnome-keyring.log"), "ab")
    env = {k: v for k, v in os.environ.items() if k != "G_DEBUG"}
    process = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock",
                                "--components=secrets"], stdin=subprocess.PIPE,
                               stdout=log_file, stderr=log_file, env=env)
    process.stdin.write(KEYRING_PASSWORD.encode())
    process.stdin.close()
    run(["gdbus", "wait", "--session", "--timeout", "60", SECRETS], timeout=90)
    return process


def screenshot(display, name):
    path = os.path.join(SCREENSHOT_DIR, name + ".png")
    display.screenshot(path)
    log(f"screenshot: {path}")
    return path


def first_run_page(ui, name, server_url):
    ui.set_text(ui.find("text", "Display name", timeout=90), name)
    ui.set_text(ui.find("text", "Server address"), server_url)
    ui.press_button("Continue")


@contextlib.contextmanager
def flatpak_run(name, *args, env=None):
    """The app started with `flatpak run` (and --die-with-parent, which ends
    the sandbox when that process ends); stopped, and waited for, after."""
    with open(os.path.join(os.environ["NATTER_FLATPAK_SESSION"], f"app-{name}.log"),
              "ab") as log_file:
        app = subprocess.Popen(["flatpak", "run", "--die-with-parent"] + list(args),
                               stdout=log_file, stderr=log_file, env=env)
    try:
        wait_until(lambda: natter_pid() or app.poll() is not None, 60, "the sandbox")
        yield app
    finally:
        stop_process(app)
        wait_until(lambda: not sandbox_processes(), 30, f"the sandbox of {name} ending")


def natter_pid():
    """The host PID of the app itself in its sandbox, or None."""
    for pid in sandbox_processes():
        if cmdline(pid)[:1] == ["natter"]:
            return pid
    return None


def display_sockets(pid):
    """Which display servers a sandboxed process can reach: 'x11', 'wayland'."""
    root = f"/proc/{pid}/root"
    found = set()
    if glob.glob(os.path.join(root, "tmp", ".X11-unix", "X*")):
        found.add("x11")
    for path in glob.glob(os.path.join(root, "run", "user", "*", "wayland-*")) + \
            glob.glob(os.path.join(root, "run", "flatpak", "wayland-*")):
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                found.add("wayland")
        except FileNotFoundError:
            continue  # a link to nothing
    return found


def check_without_secret_service(display, server):
    """Without the Secret Service permission the first run fails, and says
    why once. (flatpak run, not the desktop file: the permission is taken
    away for this one run.)"""
    with flatpak_run("nokeyring", f"--no-talk-name={SECRETS}", APP_ID, "--profile", "nokeyring"):
        ui = SandboxedUi(SandboxedApp())
        first_run_page(ui, "Ada", server.url)
        hint = ui.find("label", match=lambda n: "no keyring service is running"
                       in text_of(n), what="the keyring error")
        text = text_of(hint)
        screenshot(display, "flatpak-no-secret-service")
        saying = ui.all("label", match=lambda n: "keyring" in text_of(n).lower())
        if len(saying) != 1:
            raise AssertionError(f"{len(saying)} labels speak of the keyring")
        if text.count("GNOME Keyring") != 1 or "No Secret Service is running" in text:
            raise AssertionError(f"the keyring error says it more than once:\n{text}")


def check_on_wayland(workdir):
    """On a Wayland session the window opens there (--socket=wayland), and
    the sandbox has no X11 at all (--socket=fallback-x11), though the
    session has an X display too. A headless Weston is the compositor."""
    socket = "wayland-natter-test"
    with open(os.path.join(workdir, "weston.log"), "ab") as log_file:
        weston = subprocess.Popen(["weston", "--backend=headless-backend.so",
                                   "--socket=" + socket, "--idle-time=0"],
                                  stdout=log_file, stderr=log_file)
    try:
        wait_until(lambda: os.path.exists(os.path.join(os.environ["XDG_RUNTIME_DIR"], socket)),
                   30, "Weston's socket")
        env = dict(os.environ, WAYLAND_DISPLAY=socket)
        with flatpak_run("wayland", APP_ID, "--profile", "wayland", env=env):
            ui = SandboxedUi(SandboxedApp())
            ui.find("text", "Display name", timeout=90)
            sockets = display_sockets(natter_pid())
            if sockets != {"wayland"}:
                raise AssertionError(f"on Wayland the sandbox reaches {sorted(sockets)}")
    finally:
        stop_process(weston)


def launch_from_desktop_file():
    """What the desktop menu does: the desktop file by its ID, launched by GIO
    (D-Bus activation, since it says DBusActivatable=true)."""
    from gi.repository import Gio
    info = Gio.DesktopAppInfo.new(APP_ID + ".desktop")
    if info is None:
        raise AssertionError(f"GIO finds no {APP_ID}.desktop in XDG_DATA_DIRS")
    if not info.get_filename().startswith(os.environ["HOME"]):
        raise AssertionError(f"GIO found {info.get_filename()}, not the exported desktop file")
    info.launch([], Gio.AppLaunchContext())


def session():
    """The desktop session: keyring, display, AT-SPI, server, app and peer."""
    workdir = os.environ["NATTER_FLATPAK_SESSION"]
    keyring = start_keyring(workdir)
    # The display of the test, which started before this session.
    display = Display(workdir)
    display.name = os.environ["DISPLAY"]
    a11y = AccessibilityBus(workdir)
    a11y.start()
    server = Server(workdir)
    server.start()
    bob = Client(workdir, "bob", server.url)
    app_pids = set()
    try:
        check_without_secret_service(display, server)
        check_on_wayland(workdir)
        # What those runs left: the real first run starts from nothing.
        shutil.rmtree(os.path.join(os.environ["HOME"], ".var", "app", APP_ID))

        launch_from_desktop_file()
        app = SandboxedApp()
        wait_until(lambda: sandbox_processes(), 60, "the app's sandbox")
        # Started by the session bus (D-Bus activation): GApplication's
        # service mode, not the desktop file's Exec line.
        commands = wait_until(lambda: [cmdline(pid) for pid in sandbox_processes()
                                       if cmdline(pid)[:1] == ["natter"]], 60, "natter running")
        if commands != [["natter", "--gapplication-service"]]:
            raise AssertionError(f"the app was not activated over D-Bus: {commands}")
        app_pids.update(sandbox_processes())
        # With no Wayland in the session, the window is on X11.
        sockets = display_sockets(natter_pid())
        if sockets != {"x11"}:
            raise AssertionError(f"with X11 only the sandbox reaches {sorted(sockets)}")

        ui = SandboxedUi(app)
        first_run_page(ui, "Ada", server.url)
        # Online, the app's connection bar hides; its window says how it is
        # connected, for screen readers.
        ui.find("frame", timeout=90, match=lambda n: "Connected" in (n.description or ""),
                what="the app online")
        screenshot(display, "flatpak-first-run-done")

        # The identity is in the real keyring: natter-cli on the host reads
        # it from there (no key file), and it is the app's: bob's
        # invitation to it reaches the window.
        cli_env = dict(os.environ, XDG_DATA_HOME=os.path.join(
            os.environ["HOME"], ".var", "app", APP_ID, "data"))
        app_id = run([CLI, "--profile", "default", "whoami"], env=cli_env).stdout.strip()
        # (One connection per identity: bob listens only between his commands.)
        bob.run("invite", app_id, "Hello Ada, it is Bob")
        ui.find_text("Hello Ada, it is Bob")
        listener = bob.listen()
        ui.press_button("Accept")
        answer = listener.wait_for(lambda e: e.get("event") == "invitation-answer",
                                   what="the invitation's answer")
        if answer["invitation"]["status"] != "accepted":
            raise AssertionError(f"the invitation was answered {answer}")
        listener.stop()
        bob.listeners.remove(listener)

        received = "Hi from the command line"
        bob.run("send", app_id, received)
        contact = ui.find("list", "Contacts")
        ui.click(wait_until(lambda: ui.all("list item", within=contact), EVENT_TIMEOUT,
                            "bob in the contact list")[0])
        ui.find_text(received)
        listener = bob.listen()
        sent = "Hello from the sandbox"
        ui.set_text(ui.find("text", "Message"), sent)
        ui.press_button("Send")
        message = listener.wait_for(lambda e: e.get("event") == "message" and
                                    e.get("body") == sent, what="the app's message at bob")
        if message["from"] != app_id:
            raise AssertionError(f"the message came from {message['from']}, not the app")
        row = ui.ancestor(ui.find_text(sent), "list item")
        ui.find("image", "Delivered", within=row, what="the message's Delivered icon")
        screenshot(display, "flatpak-conversation")
        app_pids.update(sandbox_processes())

        with open(os.path.join(workdir, "result.json"), "w") as f:
            json.dump({"bob": bob.id, "app": app_id, "received": received, "sent": sent}, f)
    finally:
        with open(os.path.join(workdir, "app-pids.json"), "w") as f:
            json.dump(sorted(app_pids), f)
        bob.close()
        server.close()
        a11y.stop()
        display.log.close()
        stop_process(keyring)
    # The app still runs: what ends it is the end of this session, and with
    # it of the bus that launched it.
    if not sandbox_processes():
        raise AssertionError("the app ended before its session did")


def main():
    if "--session" in sys.argv:
        session()
        return
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun == 0 or len(result.skipped) == result.testsRun:
        for _, reason in result.skipped:
            print(f"SKIP: {reason}")
        sys.exit(77)


if __name__ == "__main__":
    main()
