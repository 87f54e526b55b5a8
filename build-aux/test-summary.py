#!/usr/bin/env python3
# Prints one closing line for meson test runs: "tests: N passed, N failed, N skipped"
# (the sum over every testlog.json given).
# SPDX-License-Identifier: GPL-3.0-or-later
import json
import sys

counts = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as log:
            for line in log:
                result = json.loads(line).get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    counts["passed"] += 1
                elif result == "SKIP":
                    counts["skipped"] += 1
                else:
                    counts["failed"] += 1
    except FileNotFoundError:
        print(f"tests: no test log was written ({path})", file=sys.stderr)
        sys.exit(1)

print(f"tests: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
