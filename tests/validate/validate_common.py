# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the validate suite's checkers."""

import argparse
import configparser


def read_list(path):
    """The entries of a POTFILES- or LINGUAS-style file: one or more per line,
    '#' starts a comment line. A missing file is an empty list."""
    entries = []
    try:
        with open(path, encoding='utf-8') as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith('#'):
                    entries.extend(line.split())
    except FileNotFoundError:
        pass
    return entries


def desktop_entry(path):
    """The keys of a desktop file's [Desktop Entry] group, localized ones included."""
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(path, encoding='utf-8')
    if not parser.has_section('Desktop Entry'):
        return {}
    return dict(parser.items('Desktop Entry'))


def report(problems, success):
    """Print the problems, or success when there are none; return the exit status."""
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(success)
    return 0


def parse_options(argv, description, names, optional=()):
    """Parse argv[1:], in which each of names is a required --option VALUE
    and each of optional an --option VALUE that may be left out."""
    parser = argparse.ArgumentParser(description=description)
    for name in names:
        parser.add_argument('--' + name, required=True)
    for name in optional:
        parser.add_argument('--' + name)
    return parser.parse_args(argv[1:])
