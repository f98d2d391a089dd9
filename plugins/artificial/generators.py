"""Seeded, streaming generators of artificial token-id sequences (SCIENCE.md §4): uniform, unigram, bigram, nesting, flat.

Every generator draws one sequence of ``length`` ids in ``[0, vocab_size)`` from a numpy Generator.
:class:`Corpus` makes a stream of them: sequence ``i`` of split ``s`` comes from its own generator
seeded by ``(seed, s, i)``, so any sequence can be built alone, in any order, and the stream is the
same whatever was read before. ``shuffled=True`` permutes each sequence's tokens (same counts,
structure destroyed).

* ``uniform``: every position an independent uniform draw.
* ``unigram``: independent draws from a Zipf law ``p(k) ∝ (k + 1)^-s`` (``distribution: zipf``) or
  from the top ``vocab_size`` counts of a frequency table (``distribution: token_counts``).
* ``bigram``: a first-order Markov chain estimated from real text (words ranked by frequency,
  the rarest merged into the last id), smoothed towards the unigram law (see :mod:`.bigram`).
* ``nesting``: paired tokens with stack discipline, after tilt-transfer's ``hierarchical_parens``:
  at each position open a new token (drawn from the unigram law) with probability ``open_prob``,
  else close the most recently opened one with the same token. Opens stop when the rest of the
  sequence is needed to close what is open, so every sequence is one well-formed bracket string.
* ``flat``: paired tokens at sampled distances, crossing allowed, after its ``flat_parens``: left
  to right, each free position opens a token and its partner goes ``d`` positions later, with
  ``d = 1 + Geometric`` of mean ``mean_distance`` (P(d) = p (1 - p)^(d - 1), p = 1 / mean_distance).
  A taken target moves to the nearest free position (first looking back, as flat_parens does); a
  target past the end moves to the last free position; a token with no free position after it
  stays unpaired. For two pairs with the second opening
  inside the first, memorylessness gives P(cross) = (1 - p) / (2 - p) before collisions, and a
  tie (P = p / (2 - p)) is moved by a collision to one side or the other.
* ``english`` (not artificial; the table's upper reference): windows of real English word pieces
  in the ``english_pieces`` ids, from fortunes files that no proxy task uses (see :mod:`.reference`);
  a piece outside the vocabulary is :data:`UNKNOWN` (``<unk>``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ssl_universal.errors import ConfigError
from ssl_universal.schema import FieldError, bounded, choice

GENERATORS = ("uniform", "unigram", "bigram", "nesting", "flat", "english")
UNKNOWN = -1  # only the english corpus: a word piece outside the vocabulary (the tokenizer's <unk>)
SPLITS = {"train": 0, "valid": 1, "test": 2}


@dataclass
class GeneratorConfig:
    """Which artificial corpus: the generator, its vocabulary, sequence length and parameters."""

    generator: str = choice("nesting", *(g for g in GENERATORS if g != "nesting"))  # uniform | unigram | bigram | nesting | flat | english (real text: the reference)
    vocab_size: int = bounded(500, ge=2, le=30000)  # distinct artificial tokens (ids 0..vocab_size-1)
    length: int = bounded(126, ge=2)  # tokens per sequence
    shuffled: bool = False  # permute each sequence's tokens: same counts, no structure
    distribution: str = choice("zipf", "uniform", "token_counts")  # token law of unigram, nesting and flat: zipf | uniform | token_counts (the top vocab_size counts of `token_counts`)
    zipf_exponent: float = bounded(1.0, gt=0)  # s of p(k) ∝ (k + 1)^-s
    token_counts: str | None = None  # distribution=token_counts: a JSON table {"counts": {token: n}}; None = the packaged English one
    open_prob: float = bounded(0.5, gt=0, lt=1)  # nesting: probability of opening at a free choice (tilt-transfer: 0.5)
    mean_distance: float = bounded(4.0, ge=1)  # flat: mean distance between a token and its partner
    bigram_text: list[str] = field(default_factory=list)  # bigram: text files to estimate from; empty = Debian's English fortunes
    bigram_smoothing: float = bounded(0.1, ge=0, le=1)  # bigram: weight of the unigram law mixed into every row
    english_text: list[str] = field(default_factory=list)  # english: text files; empty = the fortunes files no proxy uses

    def validate(self, run=None) -> None:
        if self.generator == "bigram" and self.vocab_size > 4096:
            raise FieldError("vocab_size", f"{self.vocab_size}: the bigram table is dense; expected <= 4096")
        if self.generator == "nesting" and self.length % 2:
            raise FieldError("length", f"{self.length} is odd; a nesting sequence pairs every token, so the length must be even")


# -- token laws -----------------------------------------------------------------------------------
def zipf_probabilities(vocab_size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, vocab_size + 1, dtype=np.float64) ** exponent
    return weights / weights.sum()


def table_probabilities(vocab_size: int, path: str | None) -> np.ndarray:
    """The top ``vocab_size`` counts of a frequency table, as probabilities (most frequent = id 0)."""
    from pathlib import Path

    from ssl_universal.models.backbone import DEFAULT_BACKBONE
    from ssl_universal.models.transfer import default_token_counts_path, read_token_counts

    file = Path(path).expanduser() if path else default_token_counts_path(DEFAULT_BACKBONE)
    counts = read_token_counts(file, "task.token_counts")
    top = sorted((int(n) for n in counts.values()), reverse=True)[:vocab_size]
    if len(top) < vocab_size or top[-1] <= 0:
        raise ConfigError(f"{file}: has {sum(n > 0 for n in top)} tokens with a count, fewer than task.vocab_size={vocab_size}")
    weights = np.asarray(top, dtype=np.float64)
    return weights / weights.sum()


def token_probabilities(cfg: GeneratorConfig) -> np.ndarray:
    """The unigram law of the tokens that unigram, nesting and flat draw."""
    if cfg.distribution == "uniform":
        return np.full(cfg.vocab_size, 1.0 / cfg.vocab_size)
    if cfg.distribution == "token_counts":
        return table_probabilities(cfg.vocab_size, cfg.token_counts)
    return zipf_probabilities(cfg.vocab_size, cfg.zipf_exponent)


# -- one sequence ---------------------------------------------------------------------------------
def nesting_sequence(rng: np.random.Generator, length: int, probabilities: np.ndarray, open_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, partner): partner[i] is the position paired with i (every position is paired)."""
    draws = rng.choice(len(probabilities), size=length, p=probabilities)
    opens = rng.random(length) < open_prob
    tokens = np.empty(length, dtype=np.int64)
    partner = np.empty(length, dtype=np.int64)
    stack: list[int] = []
    for i in range(length):
        left = length - i  # positions from i on; the length is even, so len(stack) and left have the same parity
        if stack and (len(stack) == left or not opens[i]):  # close when told to, or when the rest is needed to close
            j = stack.pop()
            tokens[i], partner[i], partner[j] = tokens[j], j, i
        else:
            tokens[i] = draws[i]
            stack.append(i)
    return tokens, partner


def flat_sequence(rng: np.random.Generator, length: int, probabilities: np.ndarray, mean_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, partner): partner[i] is the paired position, -1 for a token left unpaired at the end."""
    draws = rng.choice(len(probabilities), size=length, p=probabilities)
    distances = rng.geometric(1.0 / mean_distance, size=length)
    tokens = np.full(length, -1, dtype=np.int64)
    partner = np.full(length, -1, dtype=np.int64)
    for i in range(length):
        if tokens[i] >= 0:
            continue  # the partner of an earlier token
        tokens[i] = draws[i]
        target = i + int(distances[i])
        spot = _nearest_free(tokens, i, min(target, length - 1)) if target < length else _last_free_after(tokens, i)
        if spot is not None:
            tokens[spot], partner[spot], partner[i] = draws[i], i, spot
    return tokens, partner


def _nearest_free(tokens: np.ndarray, start: int, target: int) -> int | None:
    """The free position after ``start`` nearest to ``target``, looking back first on a tie."""
    for displacement in range(len(tokens)):
        for spot in (target - displacement, target + displacement):
            if start < spot < len(tokens) and tokens[spot] < 0:
                return spot
        if target - displacement <= start and target + displacement >= len(tokens):
            return None
    return None


def _last_free_after(tokens: np.ndarray, start: int) -> int | None:
    """A partner that would fall past the end closes at the last free position instead."""
    free = np.flatnonzero(tokens[start + 1 :] < 0)
    return int(start + 1 + free[-1]) if len(free) else None


class Corpus:
    """A seeded stream of sequences of one generator: ``corpus.sequence(i, split)`` or iterate ``corpus.stream(split)``."""

    def __init__(self, cfg: GeneratorConfig, seed: int = 0):
        from ssl_universal.schema import check_config

        self.cfg = check_config(cfg, "task.")
        self.seed = seed
        self.probabilities = token_probabilities(cfg) if cfg.generator in ("unigram", "nesting", "flat") else None
        self.bigram = self.english = None
        if cfg.generator == "english":
            from .reference import english_stream

            self.english = english_stream(cfg.vocab_size, tuple(cfg.english_text), cfg.length)
        if cfg.generator == "bigram":
            from .bigram import estimate_bigram

            self.bigram = estimate_bigram(cfg.vocab_size, tuple(cfg.bigram_text), cfg.bigram_smoothing)

    def rng(self, index: int, split: str = "train") -> np.random.Generator:
        return np.random.default_rng([self.seed, SPLITS[split], index])

    def structured(self, index: int, split: str = "train") -> tuple[np.ndarray, np.ndarray | None]:
        """(tokens, partner positions or None) of sequence ``index``, before any shuffling."""
        cfg, rng = self.cfg, self.rng(index, split)
        if cfg.generator == "uniform":
            return rng.integers(0, cfg.vocab_size, size=cfg.length), None
        if cfg.generator == "unigram":
            return rng.choice(cfg.vocab_size, size=cfg.length, p=self.probabilities), None
        if cfg.generator == "bigram":
            return self.bigram.sample(rng, cfg.length), None
        if cfg.generator == "english":
            return self.english.window(rng, split, cfg.length), None
        if cfg.generator == "nesting":
            return nesting_sequence(rng, cfg.length, self.probabilities, cfg.open_prob)
        return flat_sequence(rng, cfg.length, self.probabilities, cfg.mean_distance)

    def sequence(self, index: int, split: str = "train") -> np.ndarray:
        tokens, _ = self.structured(index, split)
        if self.cfg.shuffled:
            tokens = np.random.default_rng([self.seed, SPLITS[split], index, 1]).permutation(tokens)
        return tokens

    def stream(self, split: str = "train", start: int = 0):
        index = start
        while True:
            yield self.sequence(index, split)
            index += 1
