#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check the translations in po/ and that the build merged them.

For every language in po/LINGUAS:
- its .po file exists and msgfmt --check accepts it;
- the built desktop file has its Name, Comment and Keywords;
- the built metainfo has its summary and description paragraphs.
Prints how complete each translation is; untranslated strings do not fail
(new strings reach translators after they land), broken files do.

Usage: check-translations.py --po-dir DIR --desktop-file FILE --metainfo-file FILE
"""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from validate_common import desktop_entry, parse_options, read_list, report

XML_LANG = '{http://www.w3.org/XML/1998/namespace}lang'
DESKTOP_KEYS = ('Name', 'Comment', 'Keywords')
METAINFO_ELEMENTS = ('summary', 'description/p')


def po_statistics(po_path):
    """Run msgfmt --check; return (problem or None, statistics line)."""
    result = subprocess.run(
        ['msgfmt', '--check', '--statistics', '-o', os.devnull, po_path],
        capture_output=True, text=True, env=dict(os.environ, LC_ALL='C'))
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        return output or f'msgfmt failed on {po_path}', ''
    return None, output.splitlines()[-1] if output else ''


def metainfo_languages(path, tag):
    root = ET.parse(path).getroot()
    return {el.get(XML_LANG) for el in root.findall(tag) if el.get(XML_LANG)}


def check(args):
    problems = []
    langs = read_list(os.path.join(args.po_dir, 'LINGUAS'))
    if not langs:
        problems.append('po/LINGUAS lists no language')

    entry = desktop_entry(args.desktop_file)
    metainfo = {tag: metainfo_languages(args.metainfo_file, tag) for tag in METAINFO_ELEMENTS}

    for lang in langs:
        po_path = os.path.join(args.po_dir, lang + '.po')
        if not os.path.isfile(po_path):
            problems.append(f'po/LINGUAS lists {lang} but po/{lang}.po does not exist')
            continue
        problem, stats = po_statistics(po_path)
        if problem:
            problems.append(f'po/{lang}.po: {problem}')
            continue
        print(f'{lang}: {stats}')
        if re.search(r'fuzzy|untranslated', stats):
            print(f'{lang}: incomplete, see po/{lang}.po')

        for key in DESKTOP_KEYS:
            if f'{key}[{lang}]' not in entry:
                problems.append(f'{os.path.basename(args.desktop_file)} has no {key}[{lang}]')
        for tag in METAINFO_ELEMENTS:
            if lang not in metainfo[tag]:
                problems.append(f'{os.path.basename(args.metainfo_file)} has no '
                                f'<{tag} xml:lang="{lang}">')
    return problems


def main(argv):
    args = parse_options(argv, 'Check translations and their merge.',
                         ['po-dir', 'desktop-file', 'metainfo-file'])

    return report(check(args), 'the translations are merged into the desktop files')


if __name__ == '__main__':
    sys.exit(main(sys.argv))
