"""A bigram model of real English words (Debian's fortunes by default), as a Markov chain over artificial ids.

Words are lower-cased runs of letters (with an inner apostrophe) per line; id ``k`` is the
``k``-th most frequent word, and every word rarer than the top ``vocab_size - 1`` shares the last id.
Each row mixes the maximum-likelihood next-word law with the unigram law:
``P(b | a) = (1 - smoothing) c(a, b) / c(a) + smoothing p(b)`` (a row never seen is ``p``).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from ssl_universal.errors import DataError

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def text_lines(files: tuple[str, ...]) -> list[str]:
    """Lines of the given files, or of the English fortunes (top-level files, drawings left out)."""
    from ssl_universal.models.token_frequencies import FORTUNES, corpus_files, read_lines

    if files:
        paths = [Path(f).expanduser() for f in files]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise DataError(f"task.bigram_text: {missing[0]} is not a file; give text files to estimate the bigram model from")
    else:
        if not FORTUNES.is_dir():
            raise DataError(f"{FORTUNES} not found: install `apt-get install -y fortunes` or set task.bigram_text to text files")
        paths = corpus_files([FORTUNES])
    return [line for path in paths for line in read_lines(path)]


class BigramModel:
    """Row-wise cumulative transition probabilities and the unigram law, over ids ``0..vocab_size-1``."""

    def __init__(self, unigram: np.ndarray, transitions: np.ndarray, words: list[str]):
        self.unigram = unigram
        self.transitions = transitions  # [V, V], rows sum to 1
        self.cumulative = np.cumsum(transitions, axis=1)
        self.unigram_cumulative = np.cumsum(unigram)
        self.words = words  # the word of each id ("<other>" for the last when words were merged)

    def sample(self, rng: np.random.Generator, length: int) -> np.ndarray:
        draws = rng.random(length)
        out = np.empty(length, dtype=np.int64)
        last = len(self.unigram) - 1
        out[0] = min(int(np.searchsorted(self.unigram_cumulative, draws[0], side="right")), last)
        for i in range(1, length):
            row = self.cumulative[out[i - 1]]
            out[i] = min(int(np.searchsorted(row, draws[i] * row[-1], side="right")), last)
        return out


@lru_cache(maxsize=4)
def estimate_bigram(vocab_size: int, files: tuple[str, ...] = (), smoothing: float = 0.1) -> BigramModel:
    lines = [_WORD.findall(line.lower()) for line in text_lines(files)]
    counts = Counter(word for words in lines for word in words)
    if len(counts) < 2:
        raise DataError(f"the bigram text ({', '.join(files) or 'fortunes'}) has {len(counts)} distinct word(s); give more text")
    ranked = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    merged = len(ranked) > vocab_size
    kept = ranked[: vocab_size - 1] if merged else ranked
    index = {w: i for i, w in enumerate(kept)}
    other = vocab_size - 1
    pairs = np.zeros((vocab_size, vocab_size), dtype=np.float64)
    unigram = np.zeros(vocab_size, dtype=np.float64)
    for words in lines:
        ids = [index.get(w, other) for w in words]
        np.add.at(unigram, ids, 1.0)
        if len(ids) > 1:
            np.add.at(pairs, (ids[:-1], ids[1:]), 1.0)
    unigram /= unigram.sum()
    row_totals = pairs.sum(axis=1, keepdims=True)
    seen = row_totals[:, 0] > 0
    transitions = np.tile(unigram, (vocab_size, 1))
    transitions[seen] = (1 - smoothing) * pairs[seen] / row_totals[seen] + smoothing * unigram
    words = kept + (["<other>"] if merged else [])
    words += [f"<unused{i}>" for i in range(vocab_size - len(words))]  # a small text may have fewer words than ids
    return BigramModel(unigram, transitions, words)
