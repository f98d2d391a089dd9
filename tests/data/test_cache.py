"""Tokenised-data cache: build once, invalidate on key change, atomic writes, memory-mapped reads."""

import os
import pickle

import numpy as np
import pytest

from ssl_universal.data import cache as cache_module
from ssl_universal.data.cache import (
    cache_key_hash,
    cache_root,
    cached_dataset,
    source_fingerprint,
)
from ssl_universal.errors import DataError

EXAMPLES = [
    {"input_ids": [2, 7, 8, 3], "label": 1, "tags": [-100, 0, 4, -100]},
    {"input_ids": [2, 3], "label": 0, "tags": [-100, -100]},
    {"input_ids": np.array([2, 9, 9, 9, 9, 3]), "label": 2, "tags": [-100, 1, 1, 1, 1, -100]},
]


class CountingBuild:
    def __init__(self, examples=EXAMPLES, fail_at=None):
        self.examples, self.fail_at, self.calls = examples, fail_at, 0

    def __call__(self):
        self.calls += 1
        for i, example in enumerate(self.examples):
            if i == self.fail_at:
                raise RuntimeError("tokenizer crashed")
            yield example


def test_second_call_reuses_cache(tmp_path):
    build = CountingBuild()
    first = cached_dataset(tmp_path, {"task": "toy"}, build, fields=("input_ids", "label"))
    second = cached_dataset(tmp_path, {"task": "toy"}, build, fields=("input_ids", "label"))
    assert build.calls == 1
    assert len(second) == len(first) == 3


def test_changed_key_rebuilds(tmp_path):
    build = CountingBuild()
    cached_dataset(tmp_path, {"task": "toy", "max_length": 128}, build)
    cached_dataset(tmp_path, {"max_length": 128, "task": "toy"}, build)  # same key, other order
    assert build.calls == 1
    cached_dataset(tmp_path, {"task": "toy", "max_length": 256}, build)
    assert build.calls == 2


def test_content_round_trips(tmp_path):
    ds = cached_dataset(tmp_path, "k", CountingBuild(), fields=("input_ids", "label", "tags"))
    assert ds.fields == {"input_ids": "token", "label": "scalar", "tags": "token"}
    for i, original in enumerate(EXAMPLES):
        got = ds[i]
        assert np.array_equal(got["input_ids"], original["input_ids"])
        assert np.array_equal(got["tags"], original["tags"])
        assert got["label"] == original["label"] and isinstance(got["label"], int)
    assert ds[-1]["label"] == 2
    assert np.array_equal(ds.lengths, [4, 2, 6]) and isinstance(ds.lengths, np.memmap)
    assert ds.num_tokens == 12
    with pytest.raises(IndexError):
        ds[3]
    assert [e["label"] for e in ds] == [1, 0, 2]  # Sequence iteration stops at IndexError


def test_float_labels_come_back_as_floats(tmp_path):
    ds = cached_dataset(tmp_path, "reg", lambda: iter([{"input_ids": [1], "label": 0.25}, {"input_ids": [1, 2], "label": 3}]))
    assert ds[0]["label"] == 0.25 and isinstance(ds[1]["label"], float)


def test_failed_build_leaves_no_cache(tmp_path):
    with pytest.raises(RuntimeError, match="crashed"):
        cached_dataset(tmp_path, "k", CountingBuild(fail_at=2))
    assert list(tmp_path.iterdir()) == []
    build = CountingBuild()
    assert len(cached_dataset(tmp_path, "k", build)) == 3 and build.calls == 1


def test_abandoned_temp_folder_is_ignored_and_cleaned(tmp_path):
    digest = cache_key_hash("k")
    stale = tmp_path / f".tmp-{digest}-999999999-deadbeef"  # no such process
    stale.mkdir()
    (stale / "offsets.int64").write_bytes(b"junk")
    cached_dataset(tmp_path, "k", CountingBuild())
    assert not stale.exists()


def test_damaged_cache_is_rebuilt(tmp_path):
    build = CountingBuild()
    ds = cached_dataset(tmp_path, "k", build)
    with open(ds.directory / "input_ids.int32", "ab") as f:
        f.write(b"\0\0\0\0")
    cached_dataset(tmp_path, "k", build)
    assert build.calls == 2


def test_bad_examples_are_named(tmp_path):
    with pytest.raises(DataError, match="example 1 lacks field"):
        cached_dataset(tmp_path, "a", lambda: iter([{"input_ids": [1], "label": 0}, {"input_ids": [1]}]))
    bad_tags = [{"input_ids": [1, 2], "tags": [0]}]
    with pytest.raises(DataError, match="example 0 field 'tags' has 1 values"):
        cached_dataset(tmp_path, "b", lambda: iter(bad_tags), fields=("input_ids", "tags"))
    with pytest.raises(DataError, match="holds floats"):
        cached_dataset(tmp_path, "c", lambda: iter([{"input_ids": [1], "label": 1}, {"input_ids": [1], "label": 0.5}]))
    assert [p for p in tmp_path.iterdir()] == []


def test_million_tokens_through_mmap(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "CHUNK_TOKENS", 50_000)  # force many appends
    rng = np.random.default_rng(0)
    sizes = rng.integers(50, 150, size=12_000)

    def build():
        for i, n in enumerate(sizes):
            yield {"input_ids": np.full(n, i % 30000, dtype=np.int64), "label": i % 5}

    ds = cached_dataset(tmp_path, "big", build)
    assert ds.num_tokens == int(sizes.sum()) > 1_000_000
    assert np.array_equal(ds.lengths, sizes)
    for i in (0, 5_000, 11_999):
        item = ds[i]
        assert len(item["input_ids"]) == sizes[i] and item["input_ids"][0] == i % 30000 and item["label"] == i % 5
    assert not item["input_ids"].flags.owndata  # a view into the mapped file, not a copy
    item["input_ids"][0] = -1  # private mapping: the cache on disk is untouched
    assert cached_dataset(tmp_path, "big", build)[11_999]["input_ids"][0] == 11_999 % 30000


def test_pickles_by_path(tmp_path):
    ds = cached_dataset(tmp_path, "k", CountingBuild())
    clone = pickle.loads(pickle.dumps(ds))
    assert len(pickle.dumps(ds)) < 1000 and np.array_equal(clone[2]["input_ids"], ds[2]["input_ids"])


def test_empty_dataset(tmp_path):
    ds = cached_dataset(tmp_path, "empty", lambda: iter([]))
    assert len(ds) == 0 and ds.lengths.size == 0


def test_default_dir_and_fingerprint(tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c" and cache_root("text", "x") == tmp_path / "c" / "text" / "x"
    cached_dataset(None, "k", CountingBuild())
    assert (tmp_path / "c" / cache_key_hash("k") / "meta.json").is_file()
    source = tmp_path / "train.txt"
    source.write_text("a b c\n")
    before = cache_key_hash({"sources": source_fingerprint(source)})
    source.write_text("a b c d\n")
    os.utime(source, ns=(0, 123))
    assert cache_key_hash({"sources": source_fingerprint(source)}) != before
    with pytest.raises(DataError, match="does not exist"):
        source_fingerprint(tmp_path / "missing")


def test_from_hf_dataset():
    datasets = pytest.importorskip("datasets")
    from ssl_universal.data.cache import from_hf_dataset

    ds = datasets.Dataset.from_list([{"input_ids": e["input_ids"] if isinstance(e["input_ids"], list) else e["input_ids"].tolist(),
                                      "label": e["label"], "text": "x"} for e in EXAMPLES])
    wrapped = from_hf_dataset(ds.select([1, 0, 2]))  # a selection: rows behind an index mapping
    assert np.array_equal(wrapped.lengths, [2, 4, 6])
    assert np.array_equal(wrapped[2]["input_ids"], [2, 9, 9, 9, 9, 3]) and set(wrapped[0]) == {"input_ids", "label"}
    with pytest.raises(DataError, match="columns"):
        from_hf_dataset(ds, fields=("tokens",))
