"""`ssl-universal prepare-text`: its help, one set made from a tiny fortunes folder, and the missing-data error."""

from __future__ import annotations

import pytest

from ssl_universal.errors import DataError
from ssl_universal_plugins.text import prepare
from ssl_universal_plugins.text.commands import prepare_text


def test_classification_set_from_a_fortunes_folder(tmp_path, capsys):
    fortunes = tmp_path / "fortunes"
    fortunes.mkdir()
    for category in prepare.CLASSIFICATION_CATEGORIES:
        entries = [f"The {category} fortune number {i} is quite long enough.\n\t\t-- Someone" for i in range(10)]
        (fortunes / category).write_text("\n%\n".join(entries) + "\n")
    out = tmp_path / "text"
    assert prepare_text(["--out", str(out), "--only", "classification", "--fortunes-dir", str(fortunes)]) == 0
    lines = (out / "classification" / "train.tsv").read_text().splitlines()
    assert lines[0] == "text\tlabel" and len(lines) == 1 + 32  # 4 categories x 10, 80 % of them
    assert "Someone" not in "".join(lines)
    assert "classification: " in capsys.readouterr().out and not (out / "mlm").exists()


def test_missing_fortunes_say_how_to_install(tmp_path):
    with pytest.raises(DataError, match="apt-get install -y fortunes fortunes-min"):
        prepare_text(["--out", str(tmp_path / "text"), "--only", "classification", "--fortunes-dir", str(tmp_path)])
