"""The `ssl-universal` command: verbs from the core and from installed plugins, a light `--help`."""

import json
import subprocess
import sys

from ssl_universal.cli import CORE_COMMANDS, main
from ssl_universal.plugins import plugin_commands


def test_help_lists_core_and_plugin_verbs_and_imports_no_torch():
    code = ("import json, sys, io, contextlib\n"
            "from ssl_universal.cli import main\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    code = main(['--help'])\n"
            "print(json.dumps({'code': code, 'out': out.getvalue(), 'torch': 'torch' in sys.modules,\n"
            "                  'plugins': [m for m in sys.modules if m.startswith('ssl_universal_plugins')]}))\n")
    result = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                       timeout=120).stdout.strip().splitlines()[-1])
    assert result["code"] == 0 and result["torch"] is False and result["plugins"] == []
    for verb in [*CORE_COMMANDS, "prepare-dna", "make-speech-corpus", "extract-units", "speech-table"]:
        assert f"  {verb} " in result["out"], verb


def test_every_declared_command_points_at_a_callable():
    for verb, (_, target) in CORE_COMMANDS.items():
        module, _, function = target.partition(":")
        assert callable(getattr(__import__(module, fromlist=[function]), function)), verb
    for verb, entry_point in plugin_commands().items():
        assert callable(entry_point.load()), verb


def test_unknown_command_suggests_the_closest(capsys):
    assert main(["prepare-dan"]) == 2
    assert "did you mean 'prepare-dna'" in capsys.readouterr().err


def test_a_command_error_is_one_clean_line(capsys, tmp_path):
    assert main(["eval", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ssl-universal eval: error:") and "has no config.yaml" in err and "Traceback" not in err


def _all_verbs() -> list[str]:
    return [*CORE_COMMANDS, *plugin_commands()]


def test_every_verb_has_help_with_its_own_name(capsys):
    import pytest

    for verb in _all_verbs():
        with pytest.raises(SystemExit) as exit_info:
            main([verb, "--help"])
        assert exit_info.value.code == 0, verb
        out = capsys.readouterr().out
        assert f"usage: ssl-universal {verb}" in out, verb
        if verb in plugin_commands():  # a plugin verb's help shows a worked example
            assert f"ssl-universal {verb} " in out.split("usage:", 1)[1].split("\n", 1)[1], verb
