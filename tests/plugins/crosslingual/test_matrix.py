"""Transfer tables from run folders: a 2x2 matrix, mean ± std over seeds, duplicate runs refused."""

from __future__ import annotations

import json
import math

import pytest

from ssl_universal.errors import DataError
from ssl_universal_plugins.crosslingual.matrix import (
    find_transfer_records,
    markdown_matrix,
    markdown_rows,
    transfer_matrix,
)

SCORES = {  # (train language, seed) -> {test language: f1}
    ("en", 0): {"en": 80.0, "zh": 40.0}, ("en", 1): {"en": 70.0, "zh": 30.0}, ("en", 2): {"en": 75.0, "zh": 50.0},
    ("zh", 0): {"en": 20.0, "zh": 60.0}, ("zh", 1): {"en": 30.0, "zh": 64.0}, ("zh", 2): {"en": 25.0, "zh": 62.0},
}


def _run_folders(root, pretrain="multilingual"):
    for (language, seed), scores in SCORES.items():
        run = root / pretrain / language / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "results.json").write_text("{}")
        record = {"task": "qa", "pretrain": pretrain, "train_language": language, "seed": seed,
                  "scores": {b: {"f1": f, "exact_match": f / 2} for b, f in scores.items()}}
        (run / "transfer.json").write_text(json.dumps(record))


def test_two_by_two_matrix_from_run_folders(tmp_path):
    _run_folders(tmp_path)
    _run_folders(tmp_path, "none")  # another pre-training: kept apart
    records = find_transfer_records([tmp_path])
    assert len(records) == 12
    matrix = transfer_matrix(records, "qa", "multilingual", "f1")
    assert sorted(matrix["rows"]) == ["en", "zh"] and sorted(matrix["columns"]) == ["en", "zh"]
    mean, std, n = matrix["cells"][("en", "zh")]
    assert (mean, n) == (40.0, 3) and math.isclose(std, 10.0)
    assert matrix["cells"][("zh", "zh")][:2] == (62.0, 2.0)
    assert matrix["cells"][("en", "en")][0] == 75.0 and matrix["cells"][("zh", "en")][0] == 25.0
    assert transfer_matrix(records, "qa", "multilingual", "exact_match")["cells"][("en", "zh")][0] == 20.0
    text = markdown_matrix(matrix)
    assert "| en | 75.0 ± 5.0 | 40.0 ± 10.0 |" in text
    rows = markdown_rows(records, [("multi en→zh", "multilingual", "en", "zh"), ("none zh→zh", "none", "zh", "zh")],
                         [("qa", "f1")])
    assert "| multi en→zh | 40.0 ± 10.0 |" in rows and "| none zh→zh | 62.0 ± 2.0 |" in rows


def test_a_run_counted_twice_and_a_broken_record_are_errors(tmp_path):
    _run_folders(tmp_path / "a")
    _run_folders(tmp_path / "b")
    with pytest.raises(DataError, match="two runs of qa/multilingual fine-tuned on en with seed 0"):
        transfer_matrix(find_transfer_records([tmp_path]), "qa", "multilingual", "f1")
    bad = tmp_path / "c" / "transfer.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps({"task": "qa"}))
    with pytest.raises(DataError, match="missing field"):
        find_transfer_records([bad])
    with pytest.raises(DataError, match="no 'accuracy'"):
        transfer_matrix(find_transfer_records([tmp_path / "a"]), "qa", "multilingual", "accuracy")
