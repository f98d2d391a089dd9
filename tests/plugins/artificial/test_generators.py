"""Each artificial generator's defining property, determinism per seed, and clear errors for bad settings."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

import ssl_universal_plugins.artificial  # noqa: F401  (registers the plugin)
from ssl_universal.errors import ConfigError, DataError
from ssl_universal_plugins.artificial.generators import Corpus, GeneratorConfig, zipf_probabilities


def corpus(**values) -> Corpus:
    return Corpus(GeneratorConfig(**values), seed=0)


def well_formed(tokens) -> bool:
    """Whether ``tokens`` derive from S -> empty | x S x S (every opened token later closed by the same token, nested)."""
    tokens = [int(t) for t in tokens]

    @cache
    def ok(i: int, j: int) -> bool:
        if i == j:
            return True
        return any(tokens[k] == tokens[i] and ok(i + 1, k) and ok(k + 1, j) for k in range(i + 1, j, 2))

    return ok(0, len(tokens))


def pairs_of(partner) -> list[tuple[int, int]]:
    return [(i, int(j)) for i, j in enumerate(partner) if j > i]


def test_every_nesting_sequence_is_a_well_formed_bracket_string():
    nest = corpus(generator="nesting", vocab_size=6, length=24)
    for i in range(40):
        tokens, partner = nest.structured(i)
        assert well_formed(tokens)
        pairs = pairs_of(partner)
        assert len(pairs) == 12 and all(tokens[a] == tokens[b] for a, b in pairs)
        assert not any(a < c < b < d for a, b in pairs for c, d in pairs)  # stack discipline: no two pairs cross
    depths = [max(np.cumsum([1 if p > i else -1 for i, p in enumerate(nest.structured(i)[1])])) for i in range(40)]
    assert max(depths) >= 4  # it nests, not only "x x y y"


def test_shuffling_keeps_the_counts_and_destroys_the_nesting():
    nest = corpus(generator="nesting", vocab_size=6, length=24)
    shuffled = corpus(generator="nesting", vocab_size=6, length=24, shuffled=True)
    formed = 0
    for i in range(40):
        assert sorted(shuffled.sequence(i)) == sorted(nest.sequence(i))
        formed += well_formed(shuffled.sequence(i))
    assert formed <= 8


def test_flat_pairs_cross_at_the_rate_of_geometric_distances():
    mean = 4.0
    flat = corpus(generator="flat", vocab_size=50, length=400, mean_distance=mean)
    crossing = overlapping = 0
    distances = []
    for i in range(10):
        tokens, partner = flat.structured(i)
        pairs = pairs_of(partner)
        assert all(tokens[a] == tokens[b] for a, b in pairs)
        assert (partner >= 0).mean() > 0.99
        distances += [b - a for a, b in pairs]
        for k, (_, b) in enumerate(pairs):
            for c, d in pairs[k + 1 :]:
                if c >= b:
                    break
                overlapping += 1
                crossing += d > b
    p = 1 / mean
    cross, tie = (1 - p) / (2 - p), p / (2 - p)  # before collisions; a collision moves a tie to either side
    assert cross - 0.02 < crossing / overlapping < cross + tie
    assert abs(np.mean(distances) - mean) < 0.6


def test_the_table_dependency_length_corpora_differ_only_in_distance():
    """flat_short / flat / flat_long (the table's dependency-length contrast): realized mean distance 2 < 4 < ~13 at
    the quick length of 62 (a partner past the end closes at the last free position, so 16 is cut short)."""
    from ssl_universal_plugins.artificial import table

    means = {}
    for name in ("flat_short", "flat", "flat_long"):
        options = dict(o.removeprefix("task.").split("=") for o in table.CORPORA[name])
        assert options.pop("generator") == "flat" and set(options) <= {"mean_distance"}
        c = corpus(generator="flat", vocab_size=50, length=62, mean_distance=float(options.get("mean_distance", 4.0)))
        means[name] = np.mean([b - a for i in range(50) for a, b in pairs_of(c.structured(i)[1])])
    assert abs(means["flat_short"] - 2) < 0.3 and abs(means["flat"] - 4) < 0.5
    assert 10 < means["flat_long"] < 16


def test_the_table_nesting_depth_corpora_differ_in_distance_and_depth():
    """nesting_shallow / nesting / nesting_deep (open_prob 0.3 / 0.5 / 0.7) stay well-formed bracket strings while the
    realized mean pair distance (about 2.3 / 7.6 / 19 at length 62) and the maximum depth grow."""
    from ssl_universal_plugins.artificial import table

    means, depths = {}, {}
    for name in ("nesting_shallow", "nesting", "nesting_deep"):
        options = dict(o.removeprefix("task.").split("=") for o in table.CORPORA[name])
        assert options.pop("generator") == "nesting" and set(options) <= {"open_prob"}
        c = corpus(generator="nesting", vocab_size=50, length=62, open_prob=float(options.get("open_prob", 0.5)))
        partners = [c.structured(i)[1] for i in range(100)]
        assert all(well_formed(c.structured(i)[0]) for i in range(5))
        means[name] = np.mean([b - a for p in partners for a, b in pairs_of(p)])
        depths[name] = np.mean([max(np.cumsum([1 if q > i else -1 for i, q in enumerate(p)])) for p in partners])
    assert 1.8 < means["nesting_shallow"] < 3 and 6 < means["nesting"] < 9.5 and 15 < means["nesting_deep"] < 24
    assert depths["nesting_shallow"] < 5 < depths["nesting"] < 11 < depths["nesting_deep"]


def test_nesting_never_crosses_where_flat_does():
    nest = corpus(generator="nesting", vocab_size=50, length=64)
    flat = corpus(generator="flat", vocab_size=50, length=64)
    crossings = lambda pairs: sum(a < c < b < d for a, b in pairs for c, d in pairs)  # noqa: E731
    assert sum(crossings(pairs_of(nest.structured(i)[1])) for i in range(5)) == 0
    assert sum(crossings(pairs_of(flat.structured(i)[1])) for i in range(5)) > 20


def frequencies(c: Corpus, n: int) -> np.ndarray:
    tokens = np.concatenate([c.sequence(i) for i in range(n)])
    return np.bincount(tokens, minlength=c.cfg.vocab_size) / len(tokens)


def test_unigram_frequencies_match_zipf_within_tolerance():
    c = corpus(generator="unigram", vocab_size=100, length=200, zipf_exponent=1.2)
    observed = frequencies(c, 200)  # 40,000 tokens
    target = zipf_probabilities(100, 1.2)
    assert 0.5 * np.abs(observed - target).sum() < 0.02
    assert observed[0] > observed[1] > observed[10]


def test_unigram_follows_a_frequency_table(tmp_path):
    table = tmp_path / "counts.json"
    table.write_text(json.dumps({"counts": {"the": 500, "a": 300, "cat": 150, "sat": 50, "rare": 0}}))
    c = corpus(generator="unigram", vocab_size=4, length=100, distribution="token_counts", token_counts=str(table))
    assert np.abs(frequencies(c, 200) - [0.5, 0.3, 0.15, 0.05]).max() < 0.01
    with pytest.raises(ConfigError, match="fewer than"):
        corpus(generator="unigram", vocab_size=5, distribution="token_counts", token_counts=str(table))


def test_uniform_is_flat():
    observed = frequencies(corpus(generator="uniform", vocab_size=20, length=100), 200)
    assert np.abs(observed - 0.05).max() < 0.01


def test_bigram_follows_the_text_it_was_estimated_from(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat\n" * 30 + "the dog ran\n" * 10)
    c = corpus(generator="bigram", vocab_size=8, length=50, bigram_text=[str(text)], bigram_smoothing=0.0)
    words = c.bigram.words
    the, cat, dog, sat = (words.index(w) for w in ("the", "cat", "dog", "sat"))
    sequences = [c.sequence(i) for i in range(40)]
    after = lambda word: np.concatenate([s[1:][s[:-1] == word] for s in sequences])  # noqa: E731
    assert set(after(the)) <= {cat, dog} and abs((after(the) == cat).mean() - 0.75) < 0.06
    assert set(after(cat)) == {sat}  # a word never seen last in a line has only its observed successors
    smoothed = corpus(generator="bigram", vocab_size=8, length=50, bigram_text=[str(text)], bigram_smoothing=0.5)
    assert smoothed.bigram.transitions[cat, sat] < 1 and np.allclose(smoothed.bigram.transitions.sum(1), 1)


@pytest.mark.parametrize("generator", ["uniform", "unigram", "nesting", "flat"])
def test_same_seed_same_stream_other_seed_other_stream(generator):
    a = Corpus(GeneratorConfig(generator=generator, vocab_size=30, length=20), seed=3)
    b = Corpus(GeneratorConfig(generator=generator, vocab_size=30, length=20), seed=3)
    other = Corpus(GeneratorConfig(generator=generator, vocab_size=30, length=20), seed=4)
    stream = a.stream("train")
    first = [next(stream) for _ in range(5)]
    assert all(np.array_equal(s, b.sequence(i)) for i, s in reversed(list(enumerate(first))))  # order of access does not matter
    assert not np.array_equal(first[0], other.sequence(0))
    assert not np.array_equal(a.sequence(0, "train"), a.sequence(0, "valid"))


def test_bad_settings_name_the_field():
    with pytest.raises(ConfigError, match="length.*odd"):
        corpus(generator="nesting", length=15)
    with pytest.raises(ConfigError, match="generator.*expected one of"):
        corpus(generator="nestin")
    with pytest.raises(ConfigError, match="vocab_size"):
        corpus(generator="bigram", vocab_size=5000)
    with pytest.raises(DataError, match="task.bigram_text: /nonexistent.txt is not a file"):
        corpus(generator="bigram", vocab_size=8, bigram_text=["/nonexistent.txt"])
