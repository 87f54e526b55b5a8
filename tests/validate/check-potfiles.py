#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that po/POTFILES.in lists exactly the files it should.

Every file listed must exist, and every file under src/ and resources/ that
marks a string for translation (_(), N_(), C_(), NC_(), g_dngettext (),
translatable="yes") must be listed, unless po/POTFILES.skip names it.

Usage: check-potfiles.py SOURCE_ROOT
Exit status 0 when the list is complete, 1 otherwise.
"""

import os
import re
import sys

from validate_common import read_list, report

SCANNED_DIRS = ('src', 'resources')

# The glib preset's keywords, as whole identifiers: "g_(" or "foo_(" do not count.
C_MARKERS = re.compile(
    r'(?<![A-Za-z0-9_])(?:_|N_|C_|NC_|g_dgettext|g_dngettext|g_dpgettext2|ngettext)\s*\(')
UI_MARKER = re.compile(r'translatable\s*=\s*["\']?(?:yes|true)', re.IGNORECASE)
# Comments, and string or character literals (so "ws://" is not taken for a comment).
C_NOISE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.DOTALL)

C_SUFFIXES = ('.c', '.h')
UI_SUFFIXES = ('.ui', '.blp', '.xml', '.in')


def marks_strings(path):
    """Whether the file at path marks any string for translation."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (UnicodeDecodeError, OSError):
        return False  # binary files (images, compiled resources) hold no strings
    if path.endswith(C_SUFFIXES):
        code = C_NOISE.sub(lambda m: '""' if m.group(0)[0] in '"\'' else ' ', text)
        return C_MARKERS.search(code) is not None
    if path.endswith(UI_SUFFIXES):
        return UI_MARKER.search(text) is not None
    return False


def files_with_strings(root):
    found = []
    for top in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if marks_strings(path):
                    found.append(os.path.relpath(path, root).replace(os.sep, '/'))
    return found


def check(root):
    """Return a list of problems, empty when POTFILES.in is right."""
    po_dir = os.path.join(root, 'po')
    potfiles_path = os.path.join(po_dir, 'POTFILES.in')
    if not os.path.isfile(potfiles_path):
        return ['po/POTFILES.in does not exist']

    listed = read_list(potfiles_path)
    skipped = read_list(os.path.join(po_dir, 'POTFILES.skip'))
    problems = []

    seen = set()
    for name in listed:
        if name in seen:
            problems.append(f'po/POTFILES.in lists {name} twice')
        seen.add(name)
        if not os.path.isfile(os.path.join(root, name)):
            problems.append(f'po/POTFILES.in lists {name}, which does not exist')

    for name in files_with_strings(root):
        if name not in seen and name not in skipped:
            problems.append(f'{name} has translatable strings but is not in po/POTFILES.in')

    return problems


def main(argv):
    if len(argv) != 2:
        print('usage: check-potfiles.py SOURCE_ROOT', file=sys.stderr)
        return 2
    return report(check(argv[1]), 'po/POTFILES.in is complete')


if __name__ == '__main__':
    sys.exit(main(sys.argv))
