#!/usr/bin/env python3
# natter-background-portal-standin.py: the desktop's Background portal, for a test
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""Owns org.freedesktop.portal.Desktop on the test's private session bus and
answers org.freedesktop.portal.Background.RequestBackground as a desktop that
allows it would: the Request object's Response says background and autostart
were granted. Each request's options go to LOG as one JSON line.

usage: natter-background-portal-standin.py LOG
"""

import json
import sys

from gi.repository import Gio, GLib

INTERFACE = """
<node>
  <interface name="org.freedesktop.portal.Background">
    <method name="RequestBackground">
      <arg type="s" name="parent_window" direction="in"/>
      <arg type="a{sv}" name="options" direction="in"/>
      <arg type="o" name="handle" direction="out"/>
    </method>
  </interface>
</node>
"""


def main():
    log_path = sys.argv[1]
    loop = GLib.MainLoop()
    info = Gio.DBusNodeInfo.new_for_xml(INTERFACE).interfaces[0]

    def on_call(connection, sender, path, interface, method, parameters, invocation):
        _, options = parameters.unpack()
        token = options.get("handle_token", "t")
        handle = ("/org/freedesktop/portal/desktop/request/"
                  f"{sender[1:].replace('.', '_')}/{token}")
        with open(log_path, "a") as log:
            log.write(json.dumps({"sender": sender, **options}) + "\n")
        invocation.return_value(GLib.Variant("(o)", (handle,)))

        def respond():
            results = {"background": GLib.Variant("b", True),
                       "autostart": GLib.Variant("b", bool(options.get("autostart")))}
            connection.emit_signal(sender, handle, "org.freedesktop.portal.Request",
                                   "Response", GLib.Variant("(ua{sv})", (0, results)))
            return False
        GLib.timeout_add(50, respond)

    def on_bus(connection, name):
        connection.register_object("/org/freedesktop/portal/desktop", info, on_call, None, None)

    def on_name(connection, name):
        print("ready", flush=True)

    Gio.bus_own_name(Gio.BusType.SESSION, "org.freedesktop.portal.Desktop",
                     Gio.BusNameOwnerFlags.NONE, on_bus, on_name, lambda *a: loop.quit())
    loop.run()


if __name__ == "__main__":
    main()
