#!/usr/bin/env python3
# natter_drag_source.py: a small GTK 4 window whose label can be dragged as a list of files
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a file manager does when files are dragged out of it, for the GUI
tests: the label offers the files named on the command line as a
GdkFileList (text/uri-list on the wire), so a real drag and drop over X11
brings them to the app. Prints "ready" once its window is shown.

  natter_drag_source.py FILE...
"""

import sys

import gi

gi.require_version("Gdk", "4.0")
gi.require_version("Gtk", "4.0")
from gi.repository import Gdk, Gio, GLib, GObject, Gtk  # noqa: E402


def main():
    paths = sys.argv[1:]
    Gtk.init()
    window = Gtk.Window(title="Drag source")
    window.set_default_size(220, 120)
    label = Gtk.Label(label="Drag these files")
    label.set_vexpand(True)
    label.set_hexpand(True)
    window.set_child(label)

    files = Gdk.FileList.new_from_array([Gio.File.new_for_path(p) for p in paths])
    value = GObject.Value(Gdk.FileList, files)
    source = Gtk.DragSource(actions=Gdk.DragAction.COPY)
    source.connect("prepare", lambda *args: Gdk.ContentProvider.new_for_value(value))
    source.connect("drag-end", lambda *args: print("drag-end", flush=True))
    label.add_controller(source)

    loop = GLib.MainLoop()
    window.connect("close-request", lambda *args: loop.quit())
    window.present()
    GLib.timeout_add(500, lambda: print("ready", flush=True) and False)
    loop.run()


if __name__ == "__main__":
    main()
