#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that meson installs the desktop files where GNOME looks for them.

Reads what `meson install` would install (meson-info/intro-installed.json)
and the built files, and checks for the build's application ID:
- the natter program goes to bindir, and the desktop file, metainfo,
  GSettings schema, D-Bus service, full-colour and symbolic icons and each
  translation go to their standard directories;
- nothing is installed under the other profile's ID;
- the files agree with each other: desktop Icon, metainfo id and launchable,
  schema id, D-Bus service Name and Exec.

Usage: check-install.py --build-root DIR --application-id ID --po-dir DIR
"""

import json
import os
import re
import sys
import xml.etree.ElementTree as ET

from validate_common import desktop_entry, parse_options, read_list, report

APP_ID_FAMILY = re.compile(r'io\.github\.natter\.Natter(?:\.Devel)?(?=[.-])')


def build_options(build_root):
    with open(os.path.join(build_root, 'meson-info', 'intro-buildoptions.json'),
              encoding='utf-8') as f:
        return {o['name']: o['value'] for o in json.load(f)}


def installed_files(build_root):
    """{destination: built or source file} for everything meson installs."""
    with open(os.path.join(build_root, 'meson-info', 'intro-installed.json'),
              encoding='utf-8') as f:
        return {dest: src for src, dest in json.load(f).items()}


def read_key_file(path, group):
    values = {}
    in_group = False
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line.startswith('['):
                in_group = line == f'[{group}]'
            elif in_group and '=' in line and not line.startswith('#'):
                key, value = line.split('=', 1)
                values[key.strip()] = value.strip()
    return values


def check(args):
    opts = build_options(args.build_root)
    prefix = opts['prefix']
    datadir = os.path.join(prefix, opts['datadir'])
    localedir = os.path.join(prefix, opts['localedir'])
    bindir = os.path.join(prefix, opts['bindir'])
    app_id = args.application_id
    installed = installed_files(args.build_root)
    problems = []

    expected = {
        'program': f'{bindir}/natter',
        'desktop': f'{datadir}/applications/{app_id}.desktop',
        'metainfo': f'{datadir}/metainfo/{app_id}.metainfo.xml',
        'schema': f'{datadir}/glib-2.0/schemas/{app_id}.gschema.xml',
        'service': f'{datadir}/dbus-1/services/{app_id}.service',
        'icon': f'{datadir}/icons/hicolor/scalable/apps/{app_id}.svg',
        'symbolic': f'{datadir}/icons/hicolor/symbolic/apps/{app_id}-symbolic.svg',
    }
    for lang in read_list(os.path.join(args.po_dir, 'LINGUAS')):
        expected['mo-' + lang] = f'{localedir}/{lang}/LC_MESSAGES/natter.mo'
    for what, dest in expected.items():
        if dest not in installed:
            problems.append(f'nothing is installed as {dest} ({what})')

    for dest in installed:
        for other in APP_ID_FAMILY.findall(os.path.basename(dest)):
            if other != app_id:
                problems.append(f'{dest} is installed under {other}, not {app_id}')
    if problems:
        return problems

    def built(what):
        return installed[expected[what]]

    icon = desktop_entry(built('desktop')).get('Icon')
    if icon != app_id:
        problems.append(f'the desktop file names icon {icon}, not {app_id}')

    root = ET.parse(built('metainfo')).getroot()
    if root.findtext('id') != app_id:
        problems.append(f'the metainfo id is {root.findtext("id")}, not {app_id}')
    launchable = root.findtext('launchable[@type="desktop-id"]')
    if launchable != f'{app_id}.desktop':
        problems.append(f'the metainfo launches {launchable}, not {app_id}.desktop')

    schema = ET.parse(built('schema')).getroot().find('schema')
    if schema is None or schema.get('id') != app_id:
        problems.append(f'the GSettings schema does not have the id {app_id}')
    elif schema.get('path') != '/' + app_id.replace('.', '/') + '/':
        problems.append(f'the GSettings schema path {schema.get("path")} does not match {app_id}')

    service = read_key_file(built('service'), 'D-BUS Service')
    if service.get('Name') != app_id:
        problems.append(f'the D-Bus service is named {service.get("Name")}, not {app_id}')
    exec_words = service.get('Exec', '').split()
    if not exec_words or exec_words[0] != os.path.join(bindir, 'natter'):
        problems.append(f'the D-Bus service runs {service.get("Exec")}, '
                        f'not {bindir}/natter --gapplication-service')
    elif '--gapplication-service' not in exec_words:
        problems.append('the D-Bus service does not start natter with --gapplication-service')

    return problems


def main(argv):
    args = parse_options(argv, 'Check where the desktop files are installed.',
                         ['build-root', 'application-id', 'po-dir'])
    return report(check(args), f'the desktop files install under {args.application_id}')


if __name__ == '__main__':
    sys.exit(main(sys.argv))
