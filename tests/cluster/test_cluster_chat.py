#!/usr/bin/env python3
# test_cluster_chat.py: two natter-cli users chatting through two servers of one cluster
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real redis-server, two real natter-server processes with --cluster and
two real natter-cli clients, each on its own server, all on 127.0.0.1: the
signals that set up their WebRTC connection cross the servers through
Redis, and the chat goes peer to peer as on one server."""

import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from natter_harness import Client, Server, Workdir, befriend, free_port  # noqa: E402


def is_event(event, **members):
    return lambda e: e.get("event") == event and all(e.get(k) == v for k, v in members.items())


class Redis:
    def __init__(self, workdir):
        self.port = free_port()
        self.log = open(os.path.join(workdir, "redis.log"), "ab")
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind",
                                         "127.0.0.1", "--save", "", "--appendonly", "no"],
                                        stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                             text=True, check=False).stdout.strip() != "PONG":
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer")
            time.sleep(0.1)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


class HAProxy:
    """data/natter-cluster-haproxy.cfg as shipped, with this test's ports."""

    def __init__(self, workdir, port, server_ports):
        source = os.path.join(HERE, "..", "..", "data", "natter-cluster-haproxy.cfg")
        with open(source, encoding="utf-8") as f:
            config = f.read()
        config = config.replace("127.0.0.1:8443", f"127.0.0.1:{port}")
        for shipped, actual in zip((8444, 8445), server_ports):
            config = config.replace(f"127.0.0.1:{shipped}", f"127.0.0.1:{actual}")
        path = os.path.join(workdir, "haproxy.cfg")
        with open(path, "w", encoding="utf-8") as f:
            f.write(config)
        self.log = open(os.path.join(workdir, "haproxy.log"), "ab")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", path], stdout=self.log,
                                        stderr=self.log)
        self.url = f"ws://127.0.0.1:{port}/ws"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("haproxy did not start; see haproxy.log")
                time.sleep(0.1)

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@unittest.skipIf(shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
                 "redis-server is not installed (build-aux/dev deps installs it)")
class ClusterChatTest(unittest.TestCase):
    def setUp(self):
        self.workdir = Workdir()
        self.redis = Redis(self.workdir.path)
        self.haproxy = None
        self.lb_port = free_port()
        self.servers = []
        for name in ("one", "two"):
            path = os.path.join(self.workdir.path, name)
            os.makedirs(path)
            port = free_port()
            # The names clients sign in to: the load balancer's, and its own
            server = Server(path, ["--cluster", self.redis.url, "--heartbeat-interval", "2",
                                   "--public-name", f"127.0.0.1:{self.lb_port}",
                                   "--public-name", f"127.0.0.1:{port}"])
            server.port = port
            server.start()
            self.servers.append(server)
        self.alice = Client(self.workdir.path, "alice", self.servers[0].url)
        self.bob = Client(self.workdir.path, "bob", self.servers[0].url)

    def tearDown(self):
        self.alice.close()
        self.bob.close()
        if self.haproxy is not None:
            self.haproxy.close()
        for server in self.servers:
            server.close()
        self.redis.close()
        self.workdir.cleanup(keep=False)

    def test_chat_across_servers(self):
        befriend(self.alice, self.bob)
        # Bob's client now reaches the other server (a load balancer's choice).
        self.bob.server_url = self.servers[1].url
        bob = self.bob.listen()
        self.alice.run("send", self.bob.id, "Hello through the cluster")
        message = bob.wait_for(is_event("message", body="Hello through the cluster"))
        self.assertEqual(message["from"], self.alice.id)

        alice = self.alice.listen()
        self.bob.run("send", self.alice.id, "And back")
        message = alice.wait_for(is_event("message", body="And back"))
        self.assertEqual(message["from"], self.bob.id)
        history = self.alice.history(self.bob.id)
        self.assertEqual([(m["direction"], m["body"]) for m in history],
                         [("out", "Hello through the cluster"), ("in", "And back")])
        self.assertEqual(history[0]["status"], "delivered")

    @unittest.skipIf(shutil.which("haproxy") is None, "haproxy is not installed")
    def test_chat_through_haproxy(self):
        """Both clients dial the load balancer of data/, wherever it sends them."""
        self.haproxy = HAProxy(self.workdir.path, self.lb_port,
                               [server.port for server in self.servers])
        # Invitations are still each server's own: befriend on one.
        befriend(self.alice, self.bob)
        self.alice.server_url = self.haproxy.url
        self.bob.server_url = self.haproxy.url
        bob = self.bob.listen()
        self.alice.run("send", self.bob.id, "Hello through HAProxy")
        message = bob.wait_for(is_event("message", body="Hello through HAProxy"))
        self.assertEqual(message["from"], self.alice.id)


if __name__ == "__main__":
    unittest.main(verbosity=2)
