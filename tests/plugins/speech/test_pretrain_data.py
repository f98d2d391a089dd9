"""HuBERT pre-training data: .km units are checked against dict.km.txt when the dataset is built, not in a training step."""

from __future__ import annotations

import importlib

import pytest

from ssl_universal.errors import DataError


@pytest.fixture
def unit_folder(tmp_path, tone):
    """train.tsv of two 0.2 s tones with 50 Hz units (10 per utterance) and a four-unit dict.km.txt."""
    sizes = [tone(tmp_path / "audio" / f"{i}.wav", 0.2) for i in range(2)]
    (tmp_path / "train.tsv").write_text(f"{tmp_path / 'audio'}\n" + "".join(f"{i}.wav\t{n}\n" for i, n in enumerate(sizes)))
    (tmp_path / "train.km").write_text("0 1 2 3 0 1 2 3 0 1\n" * 2)
    (tmp_path / "dict.km.txt").write_text("".join(f"{k} 5\n" for k in range(4)))
    return tmp_path


def task_of(folder):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    pretrain = importlib.import_module("ssl_universal_plugins.speech.pretrain")
    return pretrain.HubertPretrainTask(pretrain.HubertPretrainTaskConfig(data_dir=str(folder), label_rate=50))


def test_good_units_reach_the_batch(unit_folder):
    task = task_of(unit_folder)
    batch = task.collate([task.dataset("train_all")[i] for i in range(2)])
    assert batch["targets"][1].tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]


@pytest.mark.parametrize("bad, found", [
    ("7", "symbol 4 is '7', which is not in"),  # once an IndexError in the first training step
    ("x", "symbol 4 is 'x' (units are non-negative integers"),  # once a ValueError in collate
])
def test_a_unit_outside_the_dictionary_fails_the_dataset_naming_file_line_and_unit(unit_folder, bad, found):
    (unit_folder / "train.km").write_text(f"0 1 2 3 0 1 2 3 0 1\n0 1 2 {bad} 0 1 2 3 0 1\n")
    task = task_of(unit_folder)
    with pytest.raises(DataError) as error:
        task.dataset("train_all")
    assert str(error.value).startswith(f"{unit_folder / 'train.km'}:2: {found}")
    assert str(unit_folder / "dict.km.txt") in str(error.value)


def test_a_dictionary_not_numbered_from_zero_is_refused(unit_folder):
    (unit_folder / "dict.km.txt").write_text("0 5\n1 5\n3 5\n2 5\n")  # collate takes a unit's number as its index
    with pytest.raises(DataError, match=r"dict\.km\.txt:3: expected unit '2', found '3'"):
        task_of(unit_folder)
