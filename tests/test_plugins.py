"""Plugin discovery: built-in plugins and third-party ones through entry points, user folders; a broken
plugin breaks nothing else; looking a name up never runs discovery."""

import json
import re
import subprocess
import sys
import textwrap

import pytest

from ssl_universal import plugins
from ssl_universal.errors import PluginError
from ssl_universal.registry import TASKS

PLUGIN = '''
from dataclasses import dataclass
from ssl_universal import Task, register_task

@dataclass
class Cfg:
    size: int = 1

@register_task("{task}")
class T(Task):
    Config = Cfg
'''


@pytest.fixture
def clean_plugins(isolated_plugins):
    return isolated_plugins


def _write_plugin(folder, name, task):
    pkg = folder / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PLUGIN.format(task=task))
    return pkg


def test_builtin_plugins_register_with_their_plugin_name(clean_plugins):
    plugins.load_plugins()
    assert plugins.get_plugin("text").source == "builtin"
    entries = [e for e in TASKS.entries() if e.plugin == "text"]
    assert entries, "the built-in text plugin registered no task"


def test_user_folder_from_config_and_from_environment(clean_plugins, tmp_path, monkeypatch):
    _write_plugin(tmp_path / "a", "alpha", "alpha_task")
    _write_plugin(tmp_path / "b", "beta", "beta_task")
    monkeypatch.setenv(plugins.ENV_VAR, str(tmp_path / "b"))
    plugins.load_plugins([tmp_path / "a"])
    assert TASKS.get("alpha_task").plugin == "alpha"
    assert TASKS.get("beta_task").plugin == "beta"
    assert plugins.get_plugin("beta").source == "user"


def test_single_module_and_package_folder_are_both_plugins(clean_plugins, tmp_path):
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "gamma.py").write_text(PLUGIN.format(task="gamma_task"))
    pkg = _write_plugin(tmp_path, "delta", "delta_task")
    plugins.load_plugins([tmp_path / "mods", pkg])
    assert TASKS.get("gamma_task").plugin == "gamma"
    assert TASKS.get("delta_task").plugin == "delta"


def test_broken_plugin_is_reported_and_the_others_still_load(clean_plugins, tmp_path):
    _write_plugin(tmp_path, "good", "good_task")
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "__init__.py").write_text("import numpy\nraise RuntimeError('missing calibration file foo.bin')\n")
    plugins.load_plugins([tmp_path])
    assert TASKS.get("good_task").plugin == "good"
    errors = plugins.plugin_errors()
    assert [e.name for e in errors] == ["broken"]
    assert "missing calibration file foo.bin" in errors[0].error
    with pytest.raises(KeyError, match="broken.*missing calibration file"):
        TASKS.get("task_of_broken")


def test_missing_user_folder_is_an_error_naming_it(clean_plugins, tmp_path, monkeypatch):
    with pytest.raises(PluginError, match=r"plugin folder .*nope \(from plugin_dirs\) does not exist"):
        plugins.load_plugins([tmp_path / "nope"])
    monkeypatch.setenv(plugins.ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(PluginError, match=r"gone \(from \$SSL_UNIVERSAL_PLUGIN_DIRS\) does not exist"):
        plugins.load_plugins()


def test_a_user_plugin_is_imported_under_its_own_name_without_touching_sys_path(clean_plugins, tmp_path):
    _write_plugin(tmp_path, "epsilon", "epsilon_task")
    path_before = list(sys.path)
    plugins.load_plugins([tmp_path])
    assert sys.path == path_before
    assert sys.modules["epsilon"].__file__ == str(tmp_path / "epsilon" / "__init__.py")
    assert TASKS.get("epsilon_task").obj.__module__ == "epsilon"


def test_a_user_plugin_whose_name_is_taken_is_reported(clean_plugins, tmp_path):
    (tmp_path / "json.py").write_text(PLUGIN.format(task="json_task"))
    plugins.load_plugins([tmp_path])
    assert any(e.name == "json" and "already taken" in e.error for e in plugins.plugin_errors())
    assert "json_task" not in TASKS


def test_looking_a_name_up_imports_no_plugin():
    """A registry is a plain table: get/contains on a fresh interpreter run no discovery."""
    script = textwrap.dedent("""
        import json, sys
        from ssl_universal.registry import TASKS
        found = "text_classification" in TASKS
        try:
            TASKS.get("text_classification")
            got = True
        except KeyError:
            got = False
        print(json.dumps({"found": found, "got": got,
                          "plugins_imported": [m for m in sys.modules if m.startswith("ssl_universal_plugins")],
                          "torch": "torch" in sys.modules}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"found": False, "got": False, "plugins_imported": [],
                                                               "torch": False}


def test_every_builtin_plugin_is_found_through_its_entry_point(clean_plugins):
    plugins.load_plugins()
    builtin = {p.name: p for p in plugins.loaded_plugins() if p.source == "builtin"}
    assert set(builtin) >= {"text", "dna", "protein", "music", "speech"}
    assert all(p.location == f"ssl_universal_plugins.{name}" for name, p in builtin.items())
    assert builtin["dna"].recipes() is not None and (builtin["dna"].recipes() / "splice.yaml").is_file()


def test_entry_point_plugin_from_an_installed_package(tmp_path):
    """A distribution on sys.path that declares the entry-point group is found without any path."""
    site = tmp_path / "site"
    pkg = site / "epplugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PLUGIN.format(task="entry_point_task"))
    dist = site / "epplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: epplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ssl_universal.plugins]\nmyplugin = epplugin\n")
    script = textwrap.dedent("""
        import json, sys
        from ssl_universal.registry import TASKS
        from ssl_universal.plugins import get_plugin, load_plugins
        load_plugins()
        entry = TASKS.get("entry_point_task")
        print(json.dumps({"plugin": entry.plugin, "source": get_plugin("myplugin").source}))
    """)
    out = subprocess.run([sys.executable, "-c", script], env={"PYTHONPATH": str(site), "PATH": ""},
                         capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"plugin": "myplugin", "source": "entry-point"}


def test_list_command_prints_entries_with_their_plugin(cli):
    out = cli("list").stdout
    assert re.search(r"toy_majority\s+\[toy\]", out)
    assert re.search(r"toy_tiny\s+\[toy\]", out)
    assert "toy/demo" in out  # the plugin's own recipe is listed


def test_list_reports_a_broken_plugin(cli, cli_env, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "__init__.py").write_text("raise ImportError('no module named nonexistent_dep')\n")
    env = {**cli_env, "SSL_UNIVERSAL_PLUGIN_DIRS": f"{cli_env['SSL_UNIVERSAL_PLUGIN_DIRS']}:{tmp_path}"}
    result = cli("list", check=False, env=env)
    assert result.returncode == 1
    assert "failed to import" in result.stdout and "nonexistent_dep" in result.stdout
    assert "toy_majority" in result.stdout  # the others still load


def test_a_plugin_imported_before_discovery_is_still_attributed_to_it():
    script = textwrap.dedent("""
        import json
        import ssl_universal_plugins.dna.commands  # a script importing a plugin module first
        from ssl_universal.plugins import load_plugins
        from ssl_universal.registry import TASKS
        load_plugins()
        print(json.dumps(TASKS.get("dna_classification").plugin))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == "dna"
