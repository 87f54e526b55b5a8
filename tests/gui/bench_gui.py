#!/usr/bin/env python3
# bench_gui.py: how fast the real natter app starts and opens a long conversation
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""The app benchmark (meson benchmark 'gui-app'). Prints figures; never fails
because the machine is slow, only when something does not work.

  - start to first drawn window: the app's own "first-frame-ms" (from
    process start, NATTER_REPORT_TIMING=1) and the wall time from spawning
    the process until that line arrives, over several starts;
  - a conversation of 100,000 messages, opened after three fresh starts:
    the app's "conversation-open-ms", the wall time from the click until
    that line, and the app's resident memory (VmRSS) before and after.

Run under tests/keyring/natter-keyring-run. Exits 77 when the GUI cannot run.
Arguments: [STARTS [MESSAGES]] (default 5 and 100000).
"""

import os
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from natter_gui import Session, Ui, missing_requirement, seed_history  # noqa: E402


def summary(values):
    return (f"median {statistics.median(values):8.1f}   min {min(values):8.1f}   "
            f"max {max(values):8.1f}   ({len(values)} runs)")


def bench_start(session, starts):
    me = session.client("me", use_keyring=True)
    app = session.app("me", me.env["XDG_DATA_HOME"])
    reported, wall, rss = [], [], []
    # One start first that is not counted: it fills the disk and shader caches.
    for run in range(starts + 1):
        app.start()
        first_frame = app.wait_timing("first-frame-ms")
        elapsed = (time.monotonic() - app.started_at) * 1000
        if run > 0:
            reported.append(first_frame)
            wall.append(elapsed)
            rss.append(app.rss_kib() / 1024)
        app.stop()
    print(f"{'start to first frame, as the app reports (ms)':64} {summary(reported)}")
    print(f"{'start to first frame, spawn to report (ms)':64} {summary(wall)}")
    print(f"{'app VmRSS at its first frame, no contacts (MiB)':64} {summary(rss)}")


def bench_long_conversation(session, messages, runs):
    me = session.client("dana-friend", use_keyring=True)
    profile_dir = os.path.join(me.env["XDG_DATA_HOME"], "natter", "profiles", me.name)
    started = time.monotonic()
    seed_history(profile_dir, "Dana", messages)
    print(f"{'seeding the history (s, not part of the app)':64} "
          f"{time.monotonic() - started:8.1f}")

    app = session.app(me.name, me.env["XDG_DATA_HOME"])
    reported, wall, rss_before, rss_after = [], [], [], []
    for _ in range(runs):
        app.start()
        app.wait_timing("first-frame-ms")
        ui = Ui(app)
        row = ui.find("label", "Dana", within=ui.find("list", "Contacts"))
        time.sleep(1)  # let start-up work settle before measuring memory
        rss_before.append(app.rss_kib() / 1024)
        clicked = time.monotonic()
        ui.click(row)
        reported.append(app.wait_timing("conversation-open-ms"))
        wall.append((time.monotonic() - clicked) * 1000)
        time.sleep(1)
        rss_after.append(app.rss_kib() / 1024)
        app.stop()

    label = f"conversation of {messages} messages"
    print(f"{label + ', open as the app reports (ms)':64} {summary(reported)}")
    print(f"{label + ', click to report (ms)':64} {summary(wall)}")
    print(f"{'app VmRSS before opening it (MiB)':64} {summary(rss_before)}")
    print(f"{'app VmRSS with it open (MiB)':64} {summary(rss_after)}")


def main():
    starts = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    opens = 3

    reason = missing_requirement()
    if reason is not None:
        print(f"SKIP: {reason}")
        return 77

    # Under Xvfb GTK's GL renderer draws with Mesa's software rasterizer,
    # which weighs on memory; GSK_RENDERER=cairo gives the other figure.
    print(f"{'renderer (GSK_RENDERER)':64} {os.environ.get('GSK_RENDERER', 'GTK default')}")
    session = Session()
    ok = False
    try:
        session.start()
        bench_start(session, starts)
        bench_long_conversation(session, messages, opens)
        ok = True
    finally:
        for app in session.apps:
            if not ok and app.process is not None:
                print(f"# app log ({app.profile}):\n{app.log_tail()}")
        session.close(keep=not ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
