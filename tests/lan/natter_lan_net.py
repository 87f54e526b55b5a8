# natter_lan_net.py: two network namespaces joined by a veth pair, each with its own
# avahi-daemon on a private system bus, for the lan suite
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""The network the lan tests run on, made and unmade by the tests themselves."""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))

import natter_harness  # noqa: E402

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

AVAHI_CONFIG = """[server]
host-name={host}
use-ipv4=yes
use-ipv6=no
allow-interfaces={interface}
enable-dbus=yes
ratelimit-interval-usec=0
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
[rlimits]
"""


def why_not():
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for program in ("ip", "avahi-daemon", "dbus-daemon", "unshare", "avahi-publish"):
        if shutil.which(program) is None:
            return f"{program} is not installed"
    probe = f"natter-probe-{os.getpid()}"
    result = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if result.returncode != 0:
        return f"this machine does not allow network namespaces: {result.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Host:
    """One machine on the test network: a namespace, maybe with Avahi."""

    def __init__(self, net, name, address, avahi):
        self.net = net
        self.name = name
        self.netns = f"natter-{os.getpid()}-{name}"
        self.interface = f"nv{os.getpid() % 10000}{name}"
        self.address = address
        self.avahi = avahi
        self.bus_socket = os.path.join(net.workdir, f"bus-{name}")
        self.processes = []
        self.logs = []

    @property
    def bus_address(self):
        if not self.avahi:
            return f"unix:path={self.bus_socket}-none"
        return f"unix:path={self.bus_socket}"

    def env(self, base=None):
        env = dict(base if base is not None else os.environ)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        return env

    def wrap(self, argv):
        """argv run inside this host's namespace."""
        return ["ip", "netns", "exec", self.netns] + list(argv)

    def start_avahi(self):
        config = os.path.join(self.net.workdir, f"bus-{self.name}.conf")
        with open(config, "w") as f:
            f.write(BUS_CONFIG.format(socket=self.bus_socket))
        log = open(os.path.join(self.net.workdir, f"dbus-{self.name}.log"), "ab")
        self.logs.append(log)
        self.processes.append(subprocess.Popen(
            self.wrap(["dbus-daemon", "--config-file", config, "--nofork", "--nopidfile"]),
            stdout=log, stderr=log))
        deadline = time.monotonic() + 10
        while not os.path.exists(self.bus_socket):
            if time.monotonic() > deadline:
                raise RuntimeError(f"dbus-daemon of {self.name} did not start")
            time.sleep(0.05)

        avahi_config = os.path.join(self.net.workdir, f"avahi-{self.name}.conf")
        with open(avahi_config, "w") as f:
            f.write(AVAHI_CONFIG.format(host=f"natter-test-{self.name}", interface=self.interface))
        log = open(os.path.join(self.net.workdir, f"avahi-{self.name}.log"), "ab")
        self.logs.append(log)
        # Its own /run/avahi-daemon (pid file, socket): a mount namespace of its own
        script = ("mount -t tmpfs tmpfs /run/avahi-daemon 2>/dev/null || "
                  "{ mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon; }; "
                  f"exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f {avahi_config}")
        self.avahi_process = subprocess.Popen(
            self.wrap(["unshare", "-m", "sh", "-c", script]),
            stdout=log, stderr=log, env=self.env())
        self.processes.append(self.avahi_process)
        deadline = time.monotonic() + 15
        while True:
            probe = subprocess.run(self.wrap(["avahi-browse", "-atp", "--terminate"]),
                                   env=self.env(), capture_output=True, text=True)
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"avahi-daemon of {self.name} did not start: {probe.stderr}")
            time.sleep(0.2)

    def stop_avahi(self):
        """The daemon quits as a daemon does: it withdraws what it announced."""
        self.avahi_process.terminate()
        self.avahi_process.wait(timeout=10)

    def popen(self, argv, **kwargs):
        kwargs.setdefault("env", self.env())
        process = subprocess.Popen(self.wrap(argv), **kwargs)
        self.processes.append(process)
        return process

    def stop(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in self.logs:
            log.close()


class Net:
    """Two hosts joined by a veth pair; removed again whatever happens."""

    def __init__(self, avahi_a=True, avahi_b=True):
        self.workdir = natter_harness.Workdir().path
        self.a = Host(self, "a", "10.203.0.1", avahi_a)
        self.b = Host(self, "b", "10.203.0.2", avahi_b)
        try:
            for host in (self.a, self.b):
                subprocess.run(["ip", "netns", "add", host.netns], check=True)
                subprocess.run(host.wrap(["ip", "link", "set", "lo", "up"]), check=True)
            subprocess.run(["ip", "link", "add", self.a.interface, "netns", self.a.netns,
                            "type", "veth", "peer", "name", self.b.interface,
                            "netns", self.b.netns], check=True)
            for host in (self.a, self.b):
                subprocess.run(host.wrap(["ip", "addr", "add", f"{host.address}/24", "dev",
                                          host.interface]), check=True)
                subprocess.run(host.wrap(["ip", "link", "set", host.interface, "up"]),
                               check=True)
            for host in (self.a, self.b):
                if host.avahi:
                    host.start_avahi()
        except BaseException:
            self.close(keep=True)
            raise

    def close(self, keep=False):
        for host in (self.a, self.b):
            host.stop()
        for host in (self.a, self.b):
            subprocess.run(["ip", "netns", "del", host.netns], capture_output=True)
        if keep:
            print(f"# logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


class LanClient(natter_harness.Client):
    """A natter-cli profile with no server, on one host of the test network."""

    def __init__(self, host, name):
        self.host = host
        super().__init__(host.net.workdir, name, None)
        self.env = host.env(self.env)

    def args(self, *args):
        base = [natter_harness.CLI, "--profile", self.name, "--identity-file",
                self.identity_file]
        return self.host.wrap(base + list(args))

    def settings(self):
        path = os.path.join(self.env["XDG_DATA_HOME"], "natter", "profiles", self.name,
                            "settings.ini")
        with open(path) as f:
            return f.read()

    def port(self):
        for line in self.settings().splitlines():
            if line.startswith("port="):
                return int(line.split("=", 1)[1])
        return None

    def set_port(self, port):
        path = os.path.join(self.env["XDG_DATA_HOME"], "natter", "profiles", self.name,
                            "settings.ini")
        with open(path, "a") as f:
            f.write(f"\n[lan]\nport={port}\n")

    def listen(self, *args):
        process = subprocess.Popen(self.args("listen", *args), env=self.env,
                                   stdout=subprocess.PIPE, stderr=self.stderr)
        listener = natter_harness.Listener(process, self.name)
        self.listeners.append(listener)
        listener.wait_for(lambda e: e.get("event") == "lan" and e.get("online"),
                          what="lan online event")
        return listener


class Server:
    """The real natter-server, listening on one host of the test network."""

    def __init__(self, host):
        self.host = host
        self.log = open(os.path.join(host.net.workdir, "server.log"), "ab")
        host.logs.append(self.log)
        self.process = host.popen([natter_harness.SERVER, "--address", host.address, "--port",
                                   "0", "--print-port", "--data-dir",
                                   os.path.join(host.net.workdir, "server-data")],
                                  stdout=subprocess.PIPE, stderr=self.log)
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"natter-server did not print its port (got {line!r})")
        self.url = f"ws://{host.address}:{line}/ws"


class DualClient(LanClient):
    """A natter-cli profile with a server that also looks nearby (--nearby)."""

    def __init__(self, host, name, server_url):
        self.dual_server_url = server_url
        super().__init__(host, name)

    def args(self, *args):
        base = [natter_harness.CLI, "--profile", self.name, "--identity-file",
                self.identity_file, "--server", self.dual_server_url, "--nearby"]
        return self.host.wrap(base + list(args))
