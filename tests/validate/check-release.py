#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that the metainfo's newest release is the version meson builds.

Software centres show the newest <release>; a version bump in meson.build
without a release entry (or the other way round) would show the wrong one.

Usage: check-release.py --metainfo-file FILE --version VERSION
"""

import sys
import xml.etree.ElementTree as ET

from validate_common import parse_options, report


def version_key(version):
    return [int(part) if part.isdigit() else part for part in version.split('.')]


def check(args):
    releases = ET.parse(args.metainfo_file).getroot().findall('releases/release')
    if not releases:
        return ['the metainfo has no <release>']
    versions = [r.get('version', '') for r in releases]
    problems = []
    if versions != sorted(versions, key=version_key, reverse=True):
        problems.append('the releases are not listed newest first: ' + ', '.join(versions))
    if versions[0] != args.version:
        problems.append(f'the newest release is {versions[0]}, but meson builds {args.version}')
    for release in releases:
        if not release.get('date') and not release.get('timestamp'):
            problems.append(f'release {release.get("version")} has no date')
    return problems


def main(argv):
    args = parse_options(argv, 'Check the metainfo release list.', ['metainfo-file', 'version'])
    return report(check(args), f'the newest release is {args.version}')


if __name__ == '__main__':
    sys.exit(main(sys.argv))
