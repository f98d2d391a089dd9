"""The fortunes-derived datasets: deterministic per seed, well-formed, and used when data_dir is unset."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from ssl_universal.errors import DataError
from ssl_universal.plugins import load_plugins

load_plugins()
from ssl_universal_plugins.text import prepare  # noqa: E402  (after load_plugins)
from ssl_universal_plugins.text.readers import read_conll, read_squad, read_table  # noqa: E402

WORDS = [
    "apple",
    "river",
    "window",
    "garden",
    "silver",
    "castle",
    "thunder",
    "pocket",
    "ladder",
    "candle",
    "mirror",
    "forest",
]


@pytest.fixture(scope="module")
def fortunes_dir(tmp_path_factory) -> Path:
    """A fortunes folder in the Debian format (entries between % lines, attributions after --)."""
    folder = tmp_path_factory.mktemp("fortunes")
    rng = random.Random(7)
    categories = sorted(
        set(prepare.PROSE_CATEGORIES) | set(prepare.CLASSIFICATION_CATEGORIES)
    )
    for c, category in enumerate(categories):
        entries = []
        for i in range(12 + c % 3):  # unequal sizes, so balancing matters
            sentences = []
            for _ in range(2):
                words = [rng.choice(WORDS) for _ in range(7)]
                words.insert(3, rng.choice(["Paris", "Kirk", "42", "the"]))
                sentences.append(f"The {category} " + " ".join(words) + ".")
            entries.append(
                " ".join(sentences) + f'\n\t\t-- Author{i}, "Secret", stardate {i}.5'
            )
        (folder / category).write_text("\n%\n".join(entries) + "\n")
    return folder


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("kind", sorted(prepare.PREPARERS))
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, fortunes_dir, kind):
    first = prepare.prepare(kind, tmp_path / "a", seed=3, fortunes_dir=fortunes_dir)
    second = prepare.prepare(kind, tmp_path / "b", seed=3, fortunes_dir=fortunes_dir)
    other = prepare.prepare(kind, tmp_path / "c", seed=4, fortunes_dir=fortunes_dir)
    assert files(first) == files(second)
    assert files(first) != files(other)
    assert {"train", "valid", "test"} <= {p.stem for p in first.iterdir()}


def test_attribution_lines_are_removed(fortunes_dir):
    texts = prepare.read_fortunes("startrek", fortunes_dir)
    assert texts and not any("stardate" in t or "Author" in t for t in texts)


def test_classification_is_balanced_and_readable(tmp_path, fortunes_dir):
    folder = prepare.prepare(
        "classification", tmp_path / "cls", seed=0, fortunes_dir=fortunes_dir
    )
    rows = [
        r
        for split in ("train", "valid", "test")
        for r in read_table(folder / f"{split}.tsv", "text", "label")
    ]
    counts = Counter(r["label"] for r in rows)
    assert set(counts) == set(prepare.CLASSIFICATION_CATEGORIES)
    assert len(set(counts.values())) == 1  # balanced to the smallest category


def test_qa_answers_sit_in_their_contexts(tmp_path, fortunes_dir):
    folder = prepare.prepare("qa", tmp_path / "qa", seed=0, fortunes_dir=fortunes_dir)
    examples = read_squad(folder / "train.json")  # raises if an answer_start is wrong
    assert examples
    for example in examples:
        ((answer, start),) = example.answers
        assert example.context[start : start + len(answer)] == answer
        # Putting the answer back in place of "what" gives a sentence of the context.
        assert example.question[:-1].replace("what", answer, 1) in example.context


def test_ner_tags_follow_the_rule(tmp_path, fortunes_dir):
    folder = prepare.prepare("ner", tmp_path / "ner", seed=0, fortunes_dir=fortunes_dir)
    sentences = read_conll(folder / "train.conll")
    for sentence in sentences:
        for word, tag in zip(sentence["tokens"], sentence["tags"]):
            if word == "42":
                assert tag == "B-NUM"
            if word in ("Paris", "Kirk"):
                assert tag.endswith("-CAP")
        assert sentence["tags"][0] in ("O", "B-NUM")  # the first word is never CAP


def test_missing_fortunes_file_says_how_to_install(tmp_path):
    with pytest.raises(DataError, match="apt-get install -y fortunes fortunes-min"):
        prepare.read_fortunes("food", tmp_path)


def test_task_without_data_dir_prepares_and_caches(
    tmp_path, fortunes_dir, monkeypatch, make_task
):
    monkeypatch.setattr(prepare, "FORTUNES_DIR", fortunes_dir)
    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "cache"))
    task = make_task("text_classification", prepare_seed=5)
    assert len(task.dataset("train")) > 0 and task.num_labels == 4
    cached = list((tmp_path / "cache" / "text").glob("fortunes-classification-seed5-*"))
    assert len(cached) == 1 and (cached[0] / "SOURCE.txt").is_file()


@pytest.mark.skipif(
    not (prepare.FORTUNES_DIR / "food").is_file(),
    reason="Debian fortunes not installed",
)
def test_real_fortunes_sets_have_the_documented_shape(tmp_path):
    folder = prepare.prepare("classification", tmp_path / "cls", seed=0)
    train = read_table(folder / "train.tsv", "text", "label")
    assert 400 < len(train) < 700 and len(Counter(r["label"] for r in train)) == 4
