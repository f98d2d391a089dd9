"""``spoken-qa-table`` refuses to resume over a dataset built with other settings (runs would be mixed in)."""

from __future__ import annotations

import json

import pytest

from ssl_universal_plugins.spoken_qa.table import main


def test_a_dataset_of_other_settings_is_refused_naming_the_keys(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    config = {"out": "/elsewhere/data", "seed": 0, "train": 6, "valid": 3, "test": 3, "fortunes_per_passage": 2,
              "max_fortune_chars": 90, "min_fortune_chars": 40, "sample_rate": 16000, "check_alignment": 2, "workers": 2}
    (data / "dataset.json").write_text(json.dumps({"config": config}))
    with pytest.raises(SystemExit) as stopped:
        main(["--out", str(tmp_path), "--preset", "smoke", "--data-seed", "1", "--question-voice", "passage"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "seed: 0 there, 1 asked" in err and "question_voice: 'flite' there, 'passage' asked" in err
    assert "use another --out" in err and not (tmp_path / "units").exists()
