"""An analysis command's --out files: a clash with an earlier call fails before the work, --overwrite replaces."""

from __future__ import annotations

import json

import pytest

from ssl_universal import cli
from ssl_universal.errors import ConfigError
from ssl_universal.outputs import Outputs, json_text


def test_outputs_refuse_to_replace_an_earlier_call_unless_told(tmp_path):
    out = tmp_path / "table"
    first = Outputs(out, ("results.json", "table.md"), command="verb")
    first.check()  # nothing there yet
    first.write({"results.json": json_text({"a": {2, 1}}), "table.md": "| x |\n"})
    assert json.loads((out / "results.json").read_text()) == {"a": [1, 2]}
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "table.md"]  # no temporary file left

    again = Outputs(out, ("results.json", "table.md"), command="verb")
    with pytest.raises(ConfigError, match=r"verb: .*results\.json, .*table\.md already exist\(s\) from an earlier call"):
        again.check()
    with pytest.raises(ConfigError, match="--overwrite"):
        again.write({"table.md": "other\n"})
    assert (out / "table.md").read_text() == "| x |\n"  # untouched

    Outputs(out, ("results.json", "table.md"), overwrite=True).write({"table.md": "new\n"})
    assert (out / "table.md").read_text() == "new\n"
    with pytest.raises(ValueError, match="not among the declared files"):
        Outputs(out, ("table.md",), overwrite=True).write({"other.md": ""})


def test_outputs_without_a_folder_write_nothing_and_a_file_is_not_a_folder(tmp_path):
    assert Outputs(None, ("results.json",)).write({"results.json": "{}"}) == []
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="is a file, expected a folder"):
        Outputs(tmp_path / "f", ("results.json",)).check()


@pytest.mark.parametrize("verb, args, earlier", [
    ("crosslingual-zero-mean-mds", ["--runs", "missing_run", "--data", "missing", "--corpus", "missing"], "results.json"),
    ("crosslingual-token-translation", ["--backbone", "missing_backbone", "--corpus", "missing"], "results.json"),
    ("crosslingual-template-translation", ["--backbone", "missing_backbone", "--corpus", "missing"], "results.json"),
    ("crosslingual-centering", ["--backbone", "missing_backbone"], "centering.json"),
])
def test_analysis_verbs_fail_at_once_on_an_earlier_calls_files(tmp_path, capsys, verb, args, earlier):
    """The clash is found before any model or data is read (the paths given here do not even exist)."""
    (tmp_path / earlier).write_text("{\"earlier\": true}\n")
    assert cli.main([verb, *args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"ssl-universal {verb}: error:" in err and "already exist(s) from an earlier call" in err
    assert json.loads((tmp_path / earlier).read_text()) == {"earlier": True}
