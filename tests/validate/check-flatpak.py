#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check a Flatpak manifest against what meson builds and installs.

- the manifest is valid JSON with the keys flatpak-builder needs;
- its app-id is the application ID meson uses for the profile the manifest
  builds, and meson's desktop file carries that ID;
- its command is the program the desktop file starts;
- the natter module is a meson module built from the source tree, and each
  -D option in its config-opts exists in meson_options.txt with a valid value;
- every downloaded source is pinned by a sha256 over https;
- every finish-arg is explained in flatpak/README.md;
- with --flatpak-builder, flatpak-builder itself reads the manifest without
  a complaint (it warns about properties it does not know).

Usage: check-flatpak.py --source-root DIR --manifest FILE
           --application-id ID --profile PROFILE --desktop-file FILE
           [--flatpak-builder PROGRAM]
Exit status 0 when all checks pass, 1 otherwise.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

from validate_common import desktop_entry, parse_options, report

DEVEL_SUFFIX = '.Devel'
SHA256 = re.compile(r'^[0-9a-f]{64}$')
DOWNLOADED_SOURCE_TYPES = ('archive', 'file')


# meson_options.txt ------------------------------------------------------------

def _option_calls(text):
    """Yield the argument text of every option(...) call in a meson options file."""
    text = re.sub(r'#[^\n]*', '', text)
    for match in re.finditer(r'\boption\s*\(', text):
        depth = 1
        pos = match.end()
        while depth and pos < len(text):
            if text[pos] == "'":
                pos = text.index("'", pos + 1)
            elif text[pos] == '(':
                depth += 1
            elif text[pos] == ')':
                depth -= 1
            pos += 1
        yield text[match.end():pos - 1]


def read_meson_options(path):
    """Return {name: {'type': str, 'choices': [str] or None, 'value': str or None}}."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    options = {}
    for args in _option_calls(text):
        name = re.match(r"\s*'([^']+)'", args)
        kind = re.search(r"\btype\s*:\s*'([^']+)'", args)
        if not name or not kind:
            continue
        choices = re.search(r'\bchoices\s*:\s*\[([^\]]*)\]', args)
        value = re.search(r"\bvalue\s*:\s*('[^']*'|true|false|-?\d+)", args)
        options[name.group(1)] = {
            'type': kind.group(1),
            'choices': re.findall(r"'([^']*)'", choices.group(1)) if choices else None,
            'value': value.group(1).strip("'") if value else None,
        }
    return options


def option_value_problem(option, value):
    """Return why value is not valid for the meson option, or None."""
    kind = option['type']
    if kind == 'boolean':
        if value not in ('true', 'false'):
            return 'a boolean option takes true or false'
    elif kind == 'combo':
        if value not in option['choices']:
            return 'choose one of ' + ', '.join(option['choices'])
    elif kind == 'feature':
        if value not in ('enabled', 'disabled', 'auto'):
            return 'a feature option takes enabled, disabled or auto'
    elif kind == 'integer':
        if not re.fullmatch(r'-?\d+', value):
            return 'an integer option takes a whole number'
    elif kind == 'array':
        if option['choices'] is not None:
            bad = [v for v in value.split(',') if v and v not in option['choices']]
            if bad:
                return 'not among the choices: ' + ', '.join(bad)
    elif kind != 'string':
        return f'unknown option type {kind}'
    return None


# the desktop file ---------------------------------------------------------------

def desktop_exec_program(path):
    exec_line = desktop_entry(path).get('Exec', '')
    words = [w for w in shlex.split(exec_line) if not w.startswith('%')]
    return words[0] if words else None


# the manifest -------------------------------------------------------------------

def find_module(modules, name):
    for module in modules:
        if isinstance(module, dict):
            if module.get('name') == name:
                return module
            found = find_module(module.get('modules', []), name)
            if found:
                return found
    return None


def all_modules(modules):
    for module in modules:
        if isinstance(module, dict):
            yield module
            yield from all_modules(module.get('modules', []))


def flatpak_builder_problems(program, manifest):
    """What flatpak-builder --show-manifest says is wrong with the manifest."""
    # Its warnings go to stderr; never let them abort it (G_DEBUG=fatal-warnings).
    env = {k: v for k, v in os.environ.items() if k != 'G_DEBUG'}
    # It leaves a .flatpak-builder state folder where it runs: not in the tree.
    with tempfile.TemporaryDirectory(prefix='natter-flatpak-') as scratch:
        result = subprocess.run([program, '--show-manifest', os.path.abspath(manifest)],
                                capture_output=True, text=True, env=env, cwd=scratch)
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    if result.returncode != 0:
        return ['flatpak-builder cannot read it: ' + ' '.join(lines)]
    return ['flatpak-builder: ' + line.split('WARNING **:', 1)[-1].split(': ', 1)[-1]
            for line in lines if 'WARNING' in line]


def check(args):
    problems = []
    try:
        with open(args.manifest, encoding='utf-8') as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        return [f'{args.manifest} is not valid JSON: {e}']
    if not isinstance(manifest, dict):
        return [f'{args.manifest} is not a JSON object']

    for key in ('app-id', 'runtime', 'runtime-version', 'sdk', 'command', 'modules'):
        if key not in manifest:
            problems.append(f'the manifest has no "{key}"')
    if problems:
        return problems

    runtime, sdk = manifest['runtime'], manifest['sdk']
    if runtime.rsplit('.', 1)[0] != sdk.rsplit('.', 1)[0]:
        problems.append(f'runtime {runtime} and sdk {sdk} are not from the same platform')

    # natter module and its meson options
    natter = find_module(manifest['modules'], 'natter')
    options = read_meson_options(os.path.join(args.source_root, 'meson_options.txt'))
    manifest_profile = options.get('profile', {}).get('value')
    if natter is None:
        problems.append('the manifest has no module named "natter"')
    else:
        if natter.get('buildsystem') != 'meson':
            problems.append('the natter module does not use the meson buildsystem')
        for opt in natter.get('config-opts', []):
            match = re.fullmatch(r'-D([^=]+)=(.*)', opt)
            if not match:
                problems.append(f'config-opt {opt} is not of the form -Dname=value')
                continue
            name, value = match.groups()
            if name not in options:
                problems.append(f'config-opt {opt}: meson_options.txt has no option "{name}"')
                continue
            why = option_value_problem(options[name], value)
            if why:
                problems.append(f'config-opt {opt}: invalid value: {why}')
            elif name == 'profile':
                manifest_profile = value
        dirs = [s for s in natter.get('sources', [])
                if isinstance(s, dict) and s.get('type') == 'dir']
        manifest_dir = os.path.dirname(os.path.abspath(args.manifest))
        if not any(os.path.realpath(os.path.join(manifest_dir, s.get('path', '')))
                   == os.path.realpath(args.source_root) for s in dirs):
            problems.append('the natter module is not built from the source tree (type dir)')

    # application ID: meson appends .Devel for the development profile
    base_id = args.application_id
    if args.profile == 'development':
        if not base_id.endswith(DEVEL_SUFFIX):
            problems.append(f'meson builds profile development as {base_id}, without {DEVEL_SUFFIX}')
        base_id = base_id[:-len(DEVEL_SUFFIX)]
    expected_id = base_id + (DEVEL_SUFFIX if manifest_profile == 'development' else '')
    if manifest['app-id'] != expected_id:
        problems.append(f'app-id is {manifest["app-id"]}, but meson installs profile '
                        f'{manifest_profile} as {expected_id}')
    desktop_name = os.path.basename(args.desktop_file)
    if desktop_name != args.application_id + '.desktop':
        problems.append(f'meson installs the desktop file as {desktop_name}, '
                        f'not {args.application_id}.desktop')

    # command
    program = desktop_exec_program(args.desktop_file)
    if program is None:
        problems.append(f'{desktop_name} has no Exec line')
    elif manifest['command'] != os.path.basename(program):
        problems.append(f'command is {manifest["command"]}, but {desktop_name} runs {program}')

    # downloaded sources are pinned
    for module in all_modules(manifest['modules']):
        for source in module.get('sources', []):
            if not isinstance(source, dict) or source.get('type') not in DOWNLOADED_SOURCE_TYPES:
                continue
            where = f'module {module.get("name")}: {source.get("url", source.get("path"))}'
            if 'url' in source and not source['url'].startswith('https://'):
                problems.append(f'{where} is not fetched over https')
            if 'url' in source and not SHA256.match(source.get('sha256', '')):
                problems.append(f'{where} has no valid sha256')

    # finish-args are explained
    readme_path = os.path.join(os.path.dirname(os.path.abspath(args.manifest)), 'README.md')
    try:
        with open(readme_path, encoding='utf-8') as f:
            readme = f.read()
    except OSError:
        readme = ''
    for arg in manifest.get('finish-args', []):
        if f'`{arg}`' not in readme:
            problems.append(f'finish-arg {arg} is not explained in flatpak/README.md')

    if args.flatpak_builder:
        problems += flatpak_builder_problems(args.flatpak_builder, args.manifest)

    return problems


def main(argv):
    args = parse_options(argv, 'Check the Flatpak manifest.',
                         ['source-root', 'manifest', 'application-id', 'profile', 'desktop-file'],
                         optional=['flatpak-builder'])

    name = os.path.basename(args.manifest)
    return report([f'{name}: {problem}' for problem in check(args)],
                  f'{name} matches the meson build')


if __name__ == '__main__':
    sys.exit(main(sys.argv))
