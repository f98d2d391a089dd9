"""The English reference corpus: real word pieces in the english_pieces ids, seeded windows, disjoint splits, a backbone."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ssl_universal_plugins.artificial  # noqa: F401  (registers the plugin)
from ssl_universal import run
from ssl_universal.config import load_config
from ssl_universal.errors import DataError
from ssl_universal_plugins.artificial import english, recipe_path
from ssl_universal_plugins.artificial.generators import UNKNOWN, Corpus, GeneratorConfig
from ssl_universal_plugins.artificial.reference import EXCLUDED, english_stream, reference_files
from ssl_universal_plugins.artificial.tokenizer import (
    ArtificialTokenizer,
    ArtificialTokenizerConfig,
    EnglishPiecesConfig,
    EnglishPiecesTokenizer,
)

TEXT = [f"the cat number {n} sat on the mat , and it was very happy ." for n in range(60)]


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "english.txt"
    path.write_text("\n".join(TEXT) + "\n")
    return path


def _corpus(text_file, **kw) -> Corpus:
    return Corpus(GeneratorConfig(generator="english", vocab_size=40, length=8, english_text=[str(text_file)], **kw), seed=kw.pop("seed", 0))


def test_sequences_are_windows_of_the_english_pieces_ids(text_file):
    corpus = _corpus(text_file)
    pieces = EnglishPiecesTokenizer(EnglishPiecesConfig(max_pieces=40))
    train_lines = [line for n, line in enumerate(TEXT) if n % 20 < 18]
    expected = np.concatenate([np.asarray(pieces.encode(line, add_special=False)) - 5 for line in train_lines])
    expected[expected == pieces.unk_id - 5] = UNKNOWN
    assert np.array_equal(corpus.english.splits["train"], expected)
    text = " ".join(map(str, expected))
    for i in range(20):
        window = corpus.sequence(i)
        assert len(window) == 8 and " ".join(map(str, window)) in text  # a contiguous window of the train split
    # token tok<k> is english piece k: the artificial tokenizer gives the english_pieces ids, <unk> included
    artificial = ArtificialTokenizer(ArtificialTokenizerConfig(vocab_size=40))
    line = pieces.encode(TEXT[0])
    assert artificial.encode_ids(expected[: len(line) - 2]) == line
    assert (expected == UNKNOWN).any() and (expected >= 0).any()  # the small vocabulary leaves some pieces out


def test_unknown_pieces_become_unk_and_nothing_else_does(text_file):
    artificial = ArtificialTokenizer(ArtificialTokenizerConfig(vocab_size=40))
    assert artificial.encode_ids([0, UNKNOWN, 39]) == [artificial.cls_id, 5, artificial.unk_id, 44, artificial.sep_id]
    with pytest.raises(DataError, match="0..39"):
        artificial.encode_ids([-2])


def test_seeded_and_splits_disjoint_by_line(text_file):
    a, b = _corpus(text_file), _corpus(text_file)
    assert all(np.array_equal(a.sequence(i, s), b.sequence(i, s)) for i in range(5) for s in ("train", "valid", "test"))
    other = Corpus(GeneratorConfig(generator="english", vocab_size=40, length=8, english_text=[str(text_file)]), seed=1)
    assert any(not np.array_equal(a.sequence(i), other.sequence(i)) for i in range(5))
    stream = a.english
    pieces = EnglishPiecesTokenizer(EnglishPiecesConfig(max_pieces=40))
    valid_lines = [line for n, line in enumerate(TEXT) if n % 20 == 18]
    assert len(stream.splits["valid"]) == sum(len(pieces.encode(line, add_special=False)) for line in valid_lines)


def test_default_text_leaves_out_every_proxy_source():
    names = {p.name for p in reference_files()}
    assert names and not names & set(english.SENTENCE_SOURCES) and not names & set(english.TOPICS)
    assert not names & {"chinese", "tang300", "song100"} and EXCLUDED >= set(english.TOPICS)


def test_too_little_text_is_an_error(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("a b\n")
    with pytest.raises(DataError, match="task.length"):
        english_stream(40, (str(path),), 8)
    with pytest.raises(DataError, match="not a file"):
        english_stream(40, (str(tmp_path / "missing.txt"),), 8)


def test_english_pretraining_gives_a_backbone_in_the_same_ids(text_file, tmp_path):
    cfg = load_config([f"recipe={recipe_path('pretrain')}", "preset=smoke", "task.generator=english", "task.length=8",
                       "task.max_length=10", f"task.english_text=[{text_file}]", f"run_dir={tmp_path}"])
    results = run.train(cfg)
    table = json.loads((tmp_path / "best" / "hf" / "token_counts.json").read_text())
    assert table["corpus"]["generator"] == "english" and results["test"]["perplexity"] > 1
    corpus = _corpus(text_file)
    known = np.concatenate([corpus.sequence(i) for i in range(32)])
    assert table["total_tokens"] == int((known != UNKNOWN).sum())  # <unk> is not an artificial token, so not counted
    pieces = EnglishPiecesTokenizer(EnglishPiecesConfig(max_pieces=40))
    top = next(iter(table["counts"]))
    assert pieces.symbols[int(top[3:]) + 5] in {"the", ",", "."}  # tok<k> is piece k: the most frequent is an English one
