"""The English proxy tasks made from fortunes: acceptability (real vs locally disordered), topic, paraphrase and the
silver sentiment proxy."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch

import ssl_universal_plugins.artificial  # noqa: F401  (registers the plugin)
from ssl_universal.errors import DataError
from ssl_universal_plugins.artificial import english
from ssl_universal_plugins.artificial.tasks import EnglishProxyConfig, EnglishProxyTask
from ssl_universal_plugins.artificial.tokenizer import EnglishPiecesConfig, EnglishPiecesTokenizer


def test_acceptability_pairs_real_sentences_with_local_disorder():
    rows = english.acceptability_rows("train", 200, seed=0)
    labels = Counter(label for _, label in rows)
    assert abs(labels["acceptable"] - labels["unacceptable"]) <= 4
    real = set(english._sentences(english.FORTUNES_DIR, 6, 25))
    for text, label in rows:
        if label == "acceptable":
            assert text in real
        else:
            assert text not in real
            words = text.split()
            assert words[-1][-1] in ".!?"  # the final word (and its punctuation) never moves
    assert rows == english.acceptability_rows("train", 200, seed=0)
    assert rows != english.acceptability_rows("train", 200, seed=1)


def test_minimal_pairs_give_every_sentence_in_both_forms_and_only_order_differs():
    rows = english.acceptability_rows("valid", 300, seed=0, minimal_pairs=True)
    assert len(rows) == 300 and Counter(label for _, label in rows) == {"acceptable": 150, "unacceptable": 150}
    by_words: dict = {}
    for text, label in rows:
        by_words.setdefault(tuple(sorted(text.lower().split())), []).append((text, label))
    assert len(by_words) == 150  # 150 sentences, each as one pair of the same words
    for pair in by_words.values():
        assert sorted(label for _, label in pair) == ["acceptable", "unacceptable"] and pair[0][0] != pair[1][0]
    train = {text for text, label in english.acceptability_rows("train", 400, seed=0, minimal_pairs=True) if label == "acceptable"}
    assert not train & {text for text, label in rows if label == "acceptable"}  # a sentence is in one split only
    assert rows == english.acceptability_rows("valid", 300, seed=0, minimal_pairs=True)
    with pytest.raises(DataError, match="sentences in both forms"):
        english.acceptability_rows("valid", 10**5, seed=0, minimal_pairs=True)


def test_disorder_changes_only_inner_neighbourhoods():
    rng = random.Random(0)
    words = "The quick brown fox jumps over the lazy dog.".split()
    for _ in range(50):
        out = english.disorder(words, rng)
        assert out != words and sorted(out) == sorted(words) and out[0] == "The" and out[-1] == "dog."
        moved = [i for i, (a, b) in enumerate(zip(words, out)) if a != b]
        assert max(moved) - min(moved) <= 2  # a swap of neighbours or a window of three
    assert english.disorder("a a a a a a".split(), rng) is None


def test_more_changes_disorder_more_and_keep_the_words():
    one = dict(english.acceptability_rows("train", 200, seed=0, changes=1))
    three = dict(english.acceptability_rows("train", 200, seed=0, changes=3))
    assert [label for label in one.values()].count("unacceptable") >= 95
    real = list(english._sentences(english.FORTUNES_DIR, 6, 25))
    by_words = {tuple(sorted(s.split())): s for s in real}

    def moved(rows):
        out = []
        for text, label in rows.items():
            if label == "unacceptable":
                source = by_words[tuple(sorted(text.split()))]  # the same words as a real sentence
                out.append(sum(a != b for a, b in zip(source.split(), text.split())))
        return sum(out) / len(out)

    assert moved(three) > moved(one) + 1


def test_splits_share_no_sentence():
    splits = {s: {text for text, _ in english.acceptability_rows(s, 100)} for s in ("train", "valid", "test")}
    assert not splits["train"] & splits["valid"] and not splits["train"] & splits["test"] and not splits["valid"] & splits["test"]


def test_topic_rows_are_balanced_over_the_five_files():
    rows = english.topic_rows("valid", 40)
    assert Counter(label for _, label in rows) == dict.fromkeys(english.TOPICS, 8)


def test_topic_splits_are_disjoint_capped_by_the_smallest_file_and_single_labelled():
    splits = {s: english.topic_rows(s, 10_000) for s in ("train", "valid", "test")}
    assert {s: len(r) for s, r in splits.items()} == {"train": 5 * 429, "valid": 5 * 53, "test": 5 * 54}
    texts = {s: {t for t, _ in r} for s, r in splits.items()}
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["valid"] and not texts["valid"] & texts["test"]
    label_of: dict[str, set] = {}
    for rows in splits.values():
        for text, label in rows:
            label_of.setdefault(text, set()).add(label)
    assert all(len(labels) == 1 for labels in label_of.values())
    entries = english.topic_entries()
    assert not set(entries["people"]) & set(entries["politics"])  # an entry in two topic files is dropped from both
    assert sum(len(v) for v in entries.values()) < sum(len(english.read_fortunes(t)) for t in english.TOPICS)


def test_the_task_encodes_word_pieces_and_scores_accuracy():
    tokenizer = EnglishPiecesTokenizer(EnglishPiecesConfig(max_pieces=50))
    assert tokenizer.symbols[5:9] == [".", ",", "-", "the"] and tokenizer.vocab_size == 55
    assert tokenizer.encode("The cat.", add_special=False) == [tokenizer.id_of("the"), tokenizer.unk_id, tokenizer.id_of(".")]
    task = EnglishProxyTask(EnglishProxyConfig(num_train=20, num_eval=10, max_length=12), tokenizer)
    train = task.dataset("train")
    assert len(train) == 20 and task.num_labels == 2 and max(len(e["input_ids"]) for e in train) <= 12
    steps = [{"predictions": torch.tensor([0, 1, 1]), "labels": torch.tensor([0, 1, 0])}]
    assert task.score(steps)["accuracy"] == pytest.approx(200 / 3)
    strict = EnglishProxyTask(EnglishProxyConfig(num_train=20, num_eval=10, max_length=5, overlong="error"), tokenizer)
    with pytest.raises(DataError, match="task.max_length=5"):
        strict.dataset("train")


def test_a_missing_fortunes_folder_says_what_to_install(tmp_path):
    with pytest.raises(DataError, match="apt-get install -y fortunes"):
        english.topic_rows("train", 10, fortunes_dir=str(tmp_path))


def test_paraphrase_pairs_substitute_wordnet_synonyms_or_pair_another_sentence():
    from ssl_universal_plugins.artificial.wordnet import synonyms

    table = synonyms()
    assert "automobile" in table["car"] and "car" not in table["car"]
    rows = english.paraphrase_rows("valid", 60, seed=0)
    labels = Counter(label for _, label in rows)
    assert labels == {"paraphrase": 30, "different": 30}
    real = set(english._sentences(english.FORTUNES_DIR, 6, 25))
    for (first, second), label in rows:
        assert first in real and second not in real or second == first
        a, b = first.split(), second.split()
        if label == "paraphrase":
            changed = [(x, y) for x, y in zip(a, b) if x != y]
            assert len(a) == len(b) and changed
            for x, y in changed:  # every change is a WordNet synonym of the word it replaced
                assert y.strip(".,;:!?'\"").lower() in table[x.strip(".,;:!?'\"").lower()]
    firsts = {first for (first, _), _ in rows}
    train = {first for (first, _), _ in english.paraphrase_rows("train", 60, seed=0)}
    assert not firsts & train
    task = EnglishProxyTask(EnglishProxyConfig(proxy="paraphrase", num_train=8, num_eval=8, max_length=128),
                            EnglishPiecesTokenizer(EnglishPiecesConfig(max_pieces=400)))
    example = task.dataset("valid")[0]
    assert example["input_ids"].count(task.tokenizer.sep_id) == 2 and example["input_ids"][0] == task.tokenizer.cls_id
    with pytest.raises(DataError, match="WordNet not found"):
        english.paraphrase_rows("valid", 4, wordnet_dir="/nonexistent")


def test_sentiment_rows_carry_the_sign_of_the_vader_score_beyond_the_threshold():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    splits = {s: english.sentiment_rows(s, 10_000, seed=0, threshold=0.3) for s in ("train", "valid", "test")}
    for rows in splits.values():
        assert Counter(label for _, label in rows)["positive"] == len(rows) // 2 and len(rows) % 2 == 0  # balanced
    real = set(english._sentences(english.FORTUNES_DIR, 6, 25))
    for text, label in splits["valid"]:
        score = vader.polarity_scores(text)["compound"]
        assert text in real and (score >= 0.3 if label == "positive" else score <= -0.3)
    texts = {s: {t for t, _ in rows} for s, rows in splits.items()}
    assert not texts["train"] & texts["valid"] and not texts["train"] & texts["test"] and not texts["valid"] & texts["test"]
    assert len(splits["train"]) > 1500 and len(splits["test"]) > 200  # the recipe's sizes (README)
    assert english.sentiment_rows("valid", 40, seed=0) == english.sentiment_rows("valid", 40, seed=0)
    stricter = english.sentiment_rows("train", 10_000, seed=0, threshold=0.6)
    assert len(stricter) < len(splits["train"])
    with pytest.raises(DataError, match="sentiment_threshold"):
        english.sentiment_rows("train", 10, threshold=1.5)


def test_the_sentiment_task_reads_its_labels_in_order():
    task = EnglishProxyTask(EnglishProxyConfig(proxy="sentiment", num_train=8, num_eval=8),
                            EnglishPiecesTokenizer(EnglishPiecesConfig(max_pieces=400)))
    assert task.label_names == ("positive", "negative") and task.num_labels == 2
    rows = task.rows("valid")
    assert [e["label"] for e in task.dataset("valid")] == [task.label_names.index(label) for _, label in rows]


def test_paraphrase_negatives_random_overlap_and_replaced():
    from statistics import mean

    from ssl_universal_plugins.artificial.wordnet import synonyms

    table = synonyms()

    def overlaps(rows):
        return {label: mean(english.word_overlap(a, b) for (a, b), lab in rows if lab == label)
                for label in english.PARAPHRASE_LABELS}

    random_rows = english.paraphrase_rows("valid", 80, seed=0)
    assert random_rows == english.paraphrase_rows("valid", 80, seed=0, negatives="random")  # the default, unchanged
    near = english.paraphrase_rows("valid", 80, seed=0, negatives="overlap")
    assert near == english.paraphrase_rows("valid", 80, seed=0, negatives="overlap")  # deterministic
    assert overlaps(near)["different"] > overlaps(random_rows)["different"] + 0.05  # lexically closer negatives
    replaced = english.paraphrase_rows("valid", 80, seed=0, negatives="replaced")
    assert Counter(label for _, label in replaced) == {"paraphrase": 40, "different": 40}
    ov = overlaps(replaced)
    assert abs(ov["paraphrase"] - ov["different"]) < 0.1  # word overlap no longer tells the labels apart
    for (first, second), label in replaced:
        a, b = first.split(), second.split()
        assert len(a) == len(b)  # one word for one word, in place, for both labels
        changed = [(x.strip(".,;:!?'\"").lower(), y.strip(".,;:!?'\"").lower()) for x, y in zip(a, b) if x != y]
        assert changed
        if label == "different":  # replaced by a word that is neither the word nor one of its synonyms
            assert all(y != x and y not in table[x] for x, y in changed), changed
    with pytest.raises(DataError, match="paraphrase_negatives must be one of random, overlap, replaced"):
        english.paraphrase_rows("valid", 4, negatives="nearest")
