#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The layers hold in both directions: the app and natter-cli cannot include
what only core may use (SQLite, libsoup, GStreamer, libsecret), and core
cannot include GTK.

Each probe is compiled (syntax only) with exactly the command the build uses
for one real file of a layer, taken from compile_commands.json, with the
probe in that file's place. A probe that must fail has to fail because of
the header it names; probes that must compile (the same headers under core's
own command, GTK under the app's) show that the check itself works.

usage: check-layers.py BUILD_ROOT SOURCE_ROOT
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile

# What only core may use: the header, and a call that needs it
PRIVATE = {
    "sqlite3": ("#include <sqlite3.h>", "sqlite3_libversion ()"),
    "libsoup": ("#include <libsoup/soup.h>", "soup_get_major_version ()"),
    "gstreamer": ("#include <gst/gst.h>", "gst_version_string ()"),
    "libsecret": ("#include <libsecret/secret.h>", "secret_password_free (NULL)"),
}
GTK = ("#include <gtk/gtk.h>", "gtk_get_major_version ()")

# One real file of each layer; its compile command is the layer's
LAYER_FILES = {
    "core": "src/core/natter-client.c",
    "app": "src/app/natter-window.c",
    "cli": "src/cli/natter-cli.c",
}


def probe_source(include, call, extra=""):
    return (f'#include "config.h"\n{include}\n{extra}\n'
            f"int natter_layer_probe (void);\n"
            f"int natter_layer_probe (void) {{ (void) {call}; return 0; }}\n")


def command_for(entries, source_root, relative):
    wanted = os.path.realpath(os.path.join(source_root, relative))
    for entry in entries:
        path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
        if path == wanted:
            return entry
    sys.exit(f"check-layers: {relative} is not in compile_commands.json")


def compile_probe(entry, text):
    """Compiles @text with @entry's command; returns (ok, compiler output)."""
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.c")
        with open(probe, "w") as f:
            f.write(text)
        out = []
        skip = False
        for arg in args:
            if skip:
                skip = False
                continue
            if arg in ("-o", "-MQ", "-MF", "-MT"):
                skip = True
                continue
            if arg in ("-c", "-MD", "-MMD"):
                continue
            if os.path.realpath(os.path.join(entry["directory"], arg)) == \
               os.path.realpath(os.path.join(entry["directory"], entry["file"])):
                arg = probe
            out.append(arg)
        out += ["-fsyntax-only", "-Werror=implicit-function-declaration"]
        result = subprocess.run(out, cwd=entry["directory"], capture_output=True, text=True)
        return result.returncode == 0, result.stdout + result.stderr


def main():
    build_root, source_root = sys.argv[1], sys.argv[2]
    with open(os.path.join(build_root, "compile_commands.json")) as f:
        entries = json.load(f)
    commands = {layer: command_for(entries, source_root, path)
                for layer, path in LAYER_FILES.items()}
    failures = []

    def expect(layer, what, text, should_compile, header):
        ok, output = compile_probe(commands[layer], text)
        if ok != should_compile:
            failures.append(f"{layer}: {what} {'did not compile' if should_compile else 'compiled'}"
                            f"\n{output}")
            return
        # A refusal must be the header's doing, not some other error
        if not ok and header not in output and "poisoned" not in output:
            failures.append(f"{layer}: {what} failed for another reason:\n{output}")
            return
        print(f"ok - {layer}: {what} {'compiles' if ok else 'is refused'}")

    for name, (include, call) in PRIVATE.items():
        header = include.split("<")[1].rstrip(">").split("/")[-1]
        # Core itself uses them: the probe is sound
        expect("core", name, probe_source(include, call), True, header)
        for layer in ("app", "cli"):
            expect(layer, name, probe_source(include, call), False, header)

    # Above core, core's own headers and GTK (in the app) are there
    expect("app", "gtk + natter-profile.h",
           probe_source(GTK[0], GTK[1], '#include "natter-profile.h"'), True, "")
    expect("cli", "natter-profile.h",
           probe_source("#include <gio/gio.h>", "natter_profile_get_type ()",
                        '#include "natter-profile.h"'), True, "")
    # Core cannot see GTK
    expect("core", "gtk", probe_source(*GTK), False, "gtk.h")

    if failures:
        print("\n\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
