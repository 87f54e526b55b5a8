#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the validate suite's checkers on small trees with known mistakes.

A checker that passes everything would make the validate suite useless, so
each mistake it is meant to catch is planted here once, next to a tree that
is right.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
CHECK_POTFILES = os.path.join(HERE, 'check-potfiles.py')
CHECK_FLATPAK = os.path.join(HERE, 'check-flatpak.py')
CHECK_TRANSLATIONS = os.path.join(HERE, 'check-translations.py')
CHECK_RELEASE = os.path.join(HERE, 'check-release.py')
CHECK_INSTALL = os.path.join(HERE, 'check-install.py')

APP_ID = 'io.github.natter.Natter'


def run(*args):
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(textwrap.dedent(text))


class TreeTestCase(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix='natter-validate-')
        self.addCleanup(shutil.rmtree, self.root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def check(self):
        raise NotImplementedError

    def assertPasses(self):
        status, output = self.check()
        self.assertEqual(status, 0, output)

    def assertFails(self, *expected):
        """The checker fails, and says each of the expected things."""
        status, output = self.check()
        self.assertEqual(status, 1, output)
        for text in expected:
            self.assertIn(text, output)


class PotfilesTest(TreeTestCase):
    def setUp(self):
        super().setUp()
        write(self.path('src', 'app', 'natter-window.c'),
              'static void f (void) { g_print ("%s", _("Hello")); }\n')
        write(self.path('src', 'core', 'natter-store.c'),
              '/* _("in a comment") */\nstatic const char *url = "ws://x"; // _("no")\n'
              'static int g_(int x);\n')
        write(self.path('resources', 'ui', 'natter-window.ui'),
              '<interface><object class="GtkLabel">'
              '<property name="label" translatable="yes">Hi</property></object></interface>\n')
        write(self.path('resources', 'ui', 'natter-plain.ui'), '<interface/>\n')
        write(self.path('po', 'POTFILES.in'),
              '# comment\nsrc/app/natter-window.c\nresources/ui/natter-window.ui\n')

    def check(self):
        return run(CHECK_POTFILES, self.root)

    def test_complete_list_passes(self):
        self.assertPasses()

    def test_listed_file_must_exist(self):
        with open(self.path('po', 'POTFILES.in'), 'a', encoding='utf-8') as f:
            f.write('src/app/natter-gone.c\n')
        self.assertFails('src/app/natter-gone.c, which does not exist')

    def test_unlisted_c_file_fails(self):
        write(self.path('src', 'cli', 'natter-cli.c'), 'int main (void) { puts (N_("x")); }\n')
        self.assertFails('src/cli/natter-cli.c has translatable strings')

    def test_unlisted_ui_file_fails(self):
        write(self.path('resources', 'ui', 'natter-row.ui'),
              '<property name="title" translatable="yes">Row</property>\n')
        self.assertFails('resources/ui/natter-row.ui')

    def test_skip_list_is_honoured(self):
        write(self.path('src', 'cli', 'natter-cli.c'), 'int main (void) { puts (_("x")); }\n')
        write(self.path('po', 'POTFILES.skip'), 'src/cli/natter-cli.c\n')
        self.assertPasses()

    def test_duplicate_entry_fails(self):
        with open(self.path('po', 'POTFILES.in'), 'a', encoding='utf-8') as f:
            f.write('src/app/natter-window.c\n')
        self.assertFails('twice')


class FlatpakTest(TreeTestCase):
    def setUp(self):
        super().setUp()
        shutil.copy(os.path.join(SOURCE_ROOT, 'meson_options.txt'), self.root)
        with open(os.path.join(SOURCE_ROOT, 'flatpak', 'io.github.natter.Natter.json'),
                  encoding='utf-8') as f:
            self.manifest = json.load(f)
        os.makedirs(self.path('flatpak'))
        shutil.copy(os.path.join(SOURCE_ROOT, 'flatpak', 'README.md'), self.path('flatpak'))
        self.desktop = self.path('build', APP_ID + '.desktop')
        write(self.desktop, '[Desktop Entry]\nName=Natter\nExec=natter\nType=Application\n')

    def check(self, app_id=APP_ID, profile='default', desktop=None, raw=None, extra=()):
        manifest = self.path('flatpak', 'manifest.json')
        with open(manifest, 'w', encoding='utf-8') as f:
            f.write(raw if raw is not None else json.dumps(self.manifest))
        return run(CHECK_FLATPAK, '--source-root', self.root, '--manifest', manifest,
                   '--application-id', app_id, '--profile', profile,
                   '--desktop-file', desktop or self.desktop, *extra)

    def natter_module(self):
        return next(m for m in self.manifest['modules'] if m['name'] == 'natter')

    def test_project_manifest_passes(self):
        self.assertPasses()

    def test_invalid_json_fails(self):
        status, output = self.check(raw='{"app-id": "x",')
        self.assertEqual(status, 1)
        self.assertIn('not valid JSON', output)

    def test_wrong_app_id_fails(self):
        self.manifest['app-id'] = 'io.github.natter.Chatter'
        self.assertFails('app-id is io.github.natter.Chatter')

    def test_wrong_command_fails(self):
        self.manifest['command'] = 'natter-cli'
        self.assertFails('command is natter-cli')

    def test_unknown_option_fails(self):
        self.natter_module()['config-opts'].append('-Dwith-magic=true')
        self.assertFails('no option "with-magic"')

    def test_invalid_values_fail(self):
        self.natter_module()['config-opts'] += ['-Dtests=yes', '-Dprofile=nightly']
        self.assertFails('-Dtests=yes: invalid value', '-Dprofile=nightly: invalid value')

    def test_devel_manifest_needs_devel_id(self):
        self.natter_module()['config-opts'].append('-Dprofile=development')
        self.assertFails('as io.github.natter.Natter.Devel')

        self.manifest['app-id'] = APP_ID + '.Devel'
        self.assertPasses()

    def test_devel_build_checks_release_manifest(self):
        desktop = self.path('build-devel', APP_ID + '.Devel.desktop')
        write(desktop, '[Desktop Entry]\nName=Natter\nExec=natter\nType=Application\n')
        status, output = self.check(app_id=APP_ID + '.Devel', profile='development',
                                    desktop=desktop)
        self.assertEqual(status, 0, output)

    def test_unpinned_archive_fails(self):
        sodium = next(m for m in self.manifest['modules'] if m['name'] == 'libsodium')
        del sodium['sources'][0]['sha256']
        self.assertFails('has no valid sha256')

    def test_unexplained_permission_fails(self):
        self.manifest['finish-args'].append('--filesystem=home')
        self.assertFails('--filesystem=home is not explained')

    @unittest.skipUnless(shutil.which('flatpak-builder'), 'flatpak-builder is not installed')
    def test_flatpak_builder_complaints_fail(self):
        builder = ['--flatpak-builder', shutil.which('flatpak-builder')]
        status, output = self.check(extra=builder)
        self.assertEqual(status, 0, output)

        self.manifest['finnish-args'] = self.manifest.pop('finish-args')
        status, output = self.check(extra=builder)
        self.assertEqual(status, 1, output)
        self.assertIn('flatpak-builder: Unknown property finnish-args', output)

    def test_natter_must_build_this_tree(self):
        self.natter_module()['sources'] = [{'type': 'git', 'url': 'https://example.org/x.git'}]
        self.assertFails('not built from the source tree')


class TranslationsTest(TreeTestCase):
    PO = textwrap.dedent('''\
        msgid ""
        msgstr ""
        "Content-Type: text/plain; charset=UTF-8\\n"
        "Language: de\\n"

        msgid "Natter"
        msgstr "Natter"
        ''')

    def setUp(self):
        super().setUp()
        write(self.path('po', 'LINGUAS'), '# languages\nde\n')
        write(self.path('po', 'de.po'), self.PO)
        self.desktop = self.path('app.desktop')
        write(self.desktop, '[Desktop Entry]\nName=Natter\nName[de]=Natter\nComment=Chat\n'
                            'Comment[de]=Plaudern\nKeywords=chat;\nKeywords[de]=Chat;\n')
        self.metainfo = self.path('app.metainfo.xml')
        write(self.metainfo, '<component><summary>Chat</summary>'
                             '<summary xml:lang="de">Plaudern</summary>'
                             '<description><p>Text</p><p xml:lang="de">Text</p></description>'
                             '</component>\n')

    def check(self):
        return run(CHECK_TRANSLATIONS, '--po-dir', self.path('po'),
                   '--desktop-file', self.desktop, '--metainfo-file', self.metainfo)

    def test_merged_translation_passes(self):
        self.assertPasses()

    def test_missing_po_file_fails(self):
        write(self.path('po', 'LINGUAS'), 'de fr\n')
        self.assertFails('po/fr.po does not exist')

    def test_broken_po_file_fails(self):
        write(self.path('po', 'de.po'), self.PO + '\n#, c-format\nmsgid "%d file"\nmsgstr "%s Datei"\n')
        self.assertFails('po/de.po')

    def test_unmerged_desktop_file_fails(self):
        write(self.desktop, '[Desktop Entry]\nName=Natter\nComment=Chat\nKeywords=chat;\n')
        self.assertFails('has no Comment[de]')


class ReleaseTest(TreeTestCase):
    def setUp(self):
        super().setUp()
        self.metainfo = self.path('app.metainfo.xml')
        self.releases('<release version="0.10.0" date="2027-01-01"/>'
                      '<release version="0.9.0" date="2026-12-01"/>')

    def releases(self, xml):
        write(self.metainfo, f'<component><releases>{xml}</releases></component>\n')

    def check(self, version='0.10.0'):
        return run(CHECK_RELEASE, '--metainfo-file', self.metainfo, '--version', version)

    def test_newest_release_passes(self):
        self.assertPasses()

    def test_version_without_release_fails(self):
        status, output = self.check(version='0.11.0')
        self.assertEqual(status, 1, output)
        self.assertIn('the newest release is 0.10.0, but meson builds 0.11.0', output)

    def test_releases_out_of_order_fail(self):
        self.releases('<release version="0.9.0" date="2026-12-01"/>'
                      '<release version="0.10.0" date="2027-01-01"/>')
        self.assertFails('not listed newest first')

    def test_release_without_date_fails(self):
        self.releases('<release version="0.10.0"/>')
        self.assertFails('release 0.10.0 has no date')


class InstallTest(TreeTestCase):
    """A fake build directory: meson-info as meson writes it, and the built files."""

    def setUp(self):
        super().setUp()
        write(self.path('po', 'LINGUAS'), 'de\n')
        self.app_id = APP_ID + '.Devel'
        self.make_build(self.app_id)

    def make_build(self, app_id, bin_natter='/usr/bin/natter'):
        share = '/usr/share'
        schema_path = '/' + app_id.replace('.', '/') + '/'
        self.built = {
            'desktop': (f'{share}/applications/{app_id}.desktop',
                        f'[Desktop Entry]\nName=Natter\nExec=natter\nIcon={app_id}\n'),
            'metainfo': (f'{share}/metainfo/{app_id}.metainfo.xml',
                         f'<component><id>{app_id}</id>'
                         f'<launchable type="desktop-id">{app_id}.desktop</launchable>'
                         '</component>\n'),
            'schema': (f'{share}/glib-2.0/schemas/{app_id}.gschema.xml',
                       f'<schemalist><schema id="{app_id}" '
                       f'path="{schema_path}"/></schemalist>\n'),
            'service': (f'{share}/dbus-1/services/{app_id}.service',
                        f'[D-BUS Service]\nName={app_id}\n'
                        f'Exec={bin_natter} --gapplication-service\n'),
            'icon': (f'{share}/icons/hicolor/scalable/apps/{app_id}.svg', '<svg/>\n'),
            'symbolic': (f'{share}/icons/hicolor/symbolic/apps/{app_id}-symbolic.svg',
                         '<svg/>\n'),
            'mo': (f'{share}/locale/de/LC_MESSAGES/natter.mo', ''),
            'program': ('/usr/bin/natter', ''),
        }
        self.write_build()

    def write_build(self):
        installed = {}
        for what, (dest, text) in self.built.items():
            src = self.path('build', 'data', what + '-' + os.path.basename(dest))
            write(src, text)
            installed[src] = dest
        write(self.path('build', 'meson-info', 'intro-installed.json'), json.dumps(installed))
        options = [{'name': 'prefix', 'value': '/usr'}, {'name': 'datadir', 'value': 'share'},
                   {'name': 'localedir', 'value': 'share/locale'},
                   {'name': 'bindir', 'value': 'bin'}]
        write(self.path('build', 'meson-info', 'intro-buildoptions.json'), json.dumps(options))

    def check(self):
        return run(CHECK_INSTALL, '--build-root', self.path('build'),
                   '--application-id', self.app_id, '--po-dir', self.path('po'))

    def test_devel_build_passes(self):
        self.assertPasses()

    def test_file_under_the_release_id_fails(self):
        dest, text = self.built['icon']
        self.built['icon'] = (dest.replace('.Devel', ''), text)
        self.write_build()
        self.assertFails('is installed under io.github.natter.Natter, not '
                         'io.github.natter.Natter.Devel',
                         'nothing is installed as /usr/share/icons/hicolor/scalable/apps/'
                         'io.github.natter.Natter.Devel.svg')

    def test_missing_translation_fails(self):
        del self.built['mo']
        self.write_build()
        self.assertFails('/usr/share/locale/de/LC_MESSAGES/natter.mo (mo-de)')

    def test_missing_program_fails(self):
        del self.built['program']
        self.write_build()
        self.assertFails('nothing is installed as /usr/bin/natter (program)')

    def test_service_outside_bindir_fails(self):
        self.make_build(self.app_id, bin_natter='/opt/natter')
        self.assertFails('the D-Bus service runs /opt/natter --gapplication-service')

    def test_release_ids_inside_devel_files_fail(self):
        dest, text = self.built['desktop']
        self.built['desktop'] = (dest, text.replace('Icon=' + self.app_id, 'Icon=' + APP_ID))
        dest, text = self.built['schema']
        self.built['schema'] = (dest, text.replace('/Devel/', '/'))
        self.write_build()
        self.assertFails('names icon io.github.natter.Natter, not',
                         'schema path /io/github/natter/Natter/ does not match')


if __name__ == '__main__':
    unittest.main(verbosity=2)
