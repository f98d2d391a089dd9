"""Tokenised text splits are cached on disk: a re-run reads them back instead of re-tokenising."""

import numpy as np

from ssl_universal.data.cache import TokenDataset


def _write(tmp_path, extra=""):
    folder = tmp_path / "data"  # not tmp_path itself: the test cache lives there
    folder.mkdir(exist_ok=True)
    rows = "".join(f"the {w} runs fast\tanimal\n" for w in ("cat", "dog", "fox")) + "".join(
        f"the {w} drives far\tvehicle\n" for w in ("car", "bus", "van")) + extra
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        (folder / name).write_text("text\tlabel\n" + rows)
    return str(folder)


def test_second_task_reads_the_cache_without_tokenising(tmp_path, make_task, monkeypatch):
    data = _write(tmp_path)
    first = make_task("text_classification", data_dir=data)
    built = first.dataset("train")
    assert isinstance(built, TokenDataset) and len(built) == 6

    again = make_task("text_classification", data_dir=data)
    calls = []
    original = type(again)._encode
    monkeypatch.setattr(type(again), "_encode", lambda self, *a: calls.append(a) or original(self, *a))
    cached = again.dataset("train")
    assert calls == []  # nothing re-tokenised
    assert [list(np.asarray(cached[i]["input_ids"])) for i in range(6)] == [list(np.asarray(built[i]["input_ids"])) for i in range(6)]
    assert [cached[i]["label"] for i in range(6)] == [0, 0, 0, 1, 1, 1]
    assert list(cached.lengths) == [len(built[i]["input_ids"]) for i in range(6)]


def test_changed_source_file_is_tokenised_again(tmp_path, make_task, monkeypatch):
    data = _write(tmp_path)
    make_task("text_classification", data_dir=data).dataset("train")
    _write(tmp_path, extra="the owl flies high\tanimal\n")
    task = make_task("text_classification", data_dir=data)
    calls = []
    original = type(task)._encode
    monkeypatch.setattr(type(task), "_encode", lambda self, *a: calls.append(a) or original(self, *a))
    assert len(task.dataset("train")) == 7 and len(calls) == 7
