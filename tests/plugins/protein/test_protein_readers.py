"""FASTA and TSV/CSV readers: labels from headers or a side file; bad input fails naming file and line."""

from __future__ import annotations

import pytest

from ssl_universal.errors import ConfigError, DataError


def write_splits(root, text: str, suffix: str) -> None:
    for split in ("train", "valid", "test"):
        (root / f"{split}{suffix}").write_text(text)


def test_fasta_labels_from_header(tmp_path, make_task):
    write_splits(tmp_path, ">p1 label=AMP\nGLWSK\nIKEV\n>p2 label=other x=1\nMKTAY\n", ".fasta")
    task = make_task("protein_classification", data_dir=str(tmp_path))
    assert task.label_names == ["AMP", "other"]
    first = task.dataset("train")[0]
    assert first["label"] == 0 and len(first["input_ids"]) == 9 + 2


def test_fasta_labels_from_side_file(tmp_path, make_task):
    write_splits(tmp_path, ">p1\nGLWSK\n>p2 some words\nMKTAY\n", ".fa")
    (tmp_path / "labels.tsv").write_text("id\tlabel\np1\tyes\np2\tno\n")
    task = make_task("protein_classification", data_dir=str(tmp_path), labels_file="labels.tsv")
    assert [e["label"] for e in task.dataset("train")] == [1, 0]


def test_fasta_without_label_names_record_and_fix(tmp_path, make_task):
    write_splits(tmp_path, ">p1 label=a\nGLWSK\n>p2\nMKTAY\n", ".fasta")
    with pytest.raises(DataError, match=r"train\.fasta, line 3: record 'p2' has no 'label=' field"):
        make_task("protein_classification", data_dir=str(tmp_path)).dataset("train")


def test_fasta_empty_sequence_is_an_error(tmp_path, make_task):
    write_splits(tmp_path, ">p1 label=a\nGLWSK\n>p2 label=b\n>p3 label=b\nMK\n", ".fasta")
    with pytest.raises(DataError, match=r"train\.fasta, line 3: record 'p2' has an empty sequence"):
        make_task("protein_classification", data_dir=str(tmp_path)).dataset("train")


def test_bad_residue_names_file_line_and_position(tmp_path, make_task):
    write_splits(tmp_path, "sequence\tlabel\nGLWSK\ta\nMK1AY\tb\n", ".tsv")
    with pytest.raises(DataError, match=r"train\.tsv, line 3: residue '1' at position 3"):
        make_task("protein_classification", data_dir=str(tmp_path)).dataset("train")


def test_csv_regression_labels_must_be_numbers(tmp_path, make_task):
    write_splits(tmp_path, "sequence,label\nGLWSK,0.5\nMKTAY,high\n", ".csv")
    with pytest.raises(DataError, match=r"train\.csv, line 3: label 'high' is not a number"):
        make_task("protein_regression", data_dir=str(tmp_path)).dataset("train")


def test_table_missing_column_lists_header(tmp_path, make_task):
    write_splits(tmp_path, "seq\ttarget\nGLWSK\t1\n", ".tsv")
    with pytest.raises(DataError, match=r"no sequence column 'sequence'; the header has seq, target"):
        make_task("protein_classification", data_dir=str(tmp_path)).dataset("train")


def test_missing_split_file_lists_names_tried(tmp_path, make_task):
    (tmp_path / "train.tsv").write_text("sequence\tlabel\nGLWSK\ta\n")
    with pytest.raises(DataError, match=r"no valid file in .*dev\.tsv"):
        make_task("protein_classification", data_dir=str(tmp_path)).dataset("valid")


def test_overlong_error_truncate_and_window_are_counted(tmp_path, make_task):
    write_splits(tmp_path, "sequence\tlabel\n" + "A" * 20 + "\ta\nMK\tb\n", ".tsv")
    with pytest.raises(DataError, match=r"train\.tsv, line 2: 20 tokens, more than max_length=10"):
        make_task("protein_classification", data_dir=str(tmp_path), max_length=10, overlong="error").dataset("train")
    task = make_task("protein_classification", data_dir=str(tmp_path), max_length=10, overlong="truncate")
    assert len(task.dataset("train")[0]["input_ids"]) == 10 and task.data_report["train"]["truncated"] == 1
    task = make_task("protein_classification", data_dir=str(tmp_path), max_length=10, overlong="window")
    data = task.dataset("train")
    assert [e["group"] for e in data] == [0, 0, 0, 1] and task.data_report["train"]["windows"] == 3


def test_length_policy_and_max_length_are_checked_with_the_config(make_task):
    with pytest.raises(ConfigError, match=r"bad value for 'task.overlong': 'windows' \(did you mean 'window'\?\)"):
        make_task("protein_classification", overlong="windows")
    with pytest.raises(ConfigError, match=r"bad value for 'task.max_length': 2; expected a number >= 3"):
        make_task("protein_classification", max_length=2)


def test_window_votes_per_sequence():
    import torch

    from ssl_universal.data.sequence_task import score_groups

    # Sequence 0 has three windows predicted 1, 1, 0 (vote 1, gold 1); sequence 1 one window predicted 0 (gold 1).
    step = {"predictions": torch.tensor([1, 1, 0, 0]), "labels": torch.tensor([1, 1, 1, 1]), "groups": torch.tensor([0, 0, 0, 1]),
            "probabilities": torch.tensor([[0.1, 0.9], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])}
    scores = score_groups([step], regression=False, num_labels=2)
    assert scores["accuracy"] == 50.0 and scores["window_accuracy"] == 50.0
