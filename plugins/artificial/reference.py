"""The upper reference of the artificial-data table: real English text in the ``english_pieces`` symbol ids.

Generator ``english`` is not artificial: it cuts windows of ``length`` word pieces out of real English
(Debian's fortunes), so a masked LM pre-trained on it has "the same size and steps" as one pre-trained on
an artificial corpus, and its backbone folder looks the same (artificial tokens ``tok0..tokV-1``, their
counts in ``token_counts.json``). Token ``tok<k>`` *is* the ``k``-th English piece of the ``english_pieces``
tokenizer with ``max_pieces = vocab_size`` (both put the five specials first, so the ids coincide); a
piece outside the top ``vocab_size`` is ``<unk>`` (:data:`UNKNOWN` here), never predicted by the masked LM,
exactly as the English tasks see it. An English task then maps onto this backbone through the same
assignments as onto an artificial one; ``most_frequent`` nearly restores the identity, since both rankings
come from fortunes text.

The default text is every English fortunes file that **no proxy task draws from** (not the acceptability
sentences' sources, not the topic files, not the Chinese poems), so pre-training never sees a proxy's test
sentence. Lines are split between train / valid / test by line number (every 20th line valid, the next
test); each split's pieces are concatenated and sequence ``i`` is the window at an offset drawn by the
sequence's own generator, so the stream is seeded and any sequence can be built alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ssl_universal.errors import ConfigError, DataError

from .english import SENTENCE_SOURCES, TOPICS
from .generators import UNKNOWN

NOT_ENGLISH = ("chinese", "song100", "tang300")  # Chinese poems and texts among the top-level fortunes files
EXCLUDED = frozenset((*SENTENCE_SOURCES, *TOPICS, *NOT_ENGLISH))
SPLIT_OF_LINE = {18: "valid", 19: "test"}  # line number % 20; the rest is train


def reference_files(files: tuple[str, ...] = ()) -> list[Path]:
    """The given text files, or the English fortunes files that no proxy task uses."""
    from ssl_universal.models.token_frequencies import FORTUNES, corpus_files

    if files:
        paths = [Path(f).expanduser() for f in files]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise DataError(f"task.english_text: {missing[0]} is not a file; give English text files")
        return paths
    if not FORTUNES.is_dir():
        raise DataError(f"{FORTUNES} not found: install `apt-get install -y fortunes` or set task.english_text to text files")
    return [p for p in corpus_files([FORTUNES]) if p.name not in EXCLUDED]


@dataclass(frozen=True)
class EnglishStream:
    """The word-piece ids (0..vocab_size-1, or UNKNOWN) of each split, concatenated; which files made them."""

    splits: dict
    files: tuple[str, ...]

    def window(self, rng: np.random.Generator, split: str, length: int) -> np.ndarray:
        stream = self.splits[split]
        start = int(rng.integers(0, len(stream) - length + 1))
        return stream[start : start + length].copy()


@lru_cache(maxsize=4)
def english_stream(vocab_size: int, files: tuple[str, ...] = (), length: int = 1) -> EnglishStream:
    """Tokenise the reference text once per vocabulary (a few seconds for the fortunes)."""
    from ssl_universal.models.token_frequencies import read_lines

    from .tokenizer import EnglishPiecesConfig, EnglishPiecesTokenizer

    tokenizer = EnglishPiecesTokenizer(EnglishPiecesConfig(max_pieces=vocab_size))
    offset = len(tokenizer.specials)
    if tokenizer.vocab_size - offset < vocab_size:
        raise ConfigError(f"task.vocab_size={vocab_size}: the English frequency table {tokenizer.counts_path} has only "
                          f"{tokenizer.vocab_size - offset} pieces")
    hf = tokenizer.word_pieces
    lookup = np.full(len(hf), UNKNOWN, dtype=np.int64)  # Hugging Face id -> generator id
    for piece_id, piece in enumerate(hf.convert_ids_to_tokens(list(range(len(hf))))):
        if piece in tokenizer._index and tokenizer._index[piece] >= offset:
            lookup[piece_id] = tokenizer._index[piece] - offset
    paths = reference_files(files)
    parts: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "test": []}
    for path in paths:
        lines = read_lines(path)
        encoded = hf(lines, add_special_tokens=False)["input_ids"] if lines else []
        for n, ids in enumerate(encoded):
            parts[SPLIT_OF_LINE.get(n % 20, "train")].append(lookup[np.asarray(ids, dtype=np.int64)])
    splits = {s: np.concatenate(p) if p else np.zeros(0, dtype=np.int64) for s, p in parts.items()}
    short = [s for s, ids in splits.items() if len(ids) < length]
    if short:
        raise DataError(f"the English reference text ({', '.join(files) or 'fortunes'}) gives {len(splits[short[0]])} pieces "
                        f"for its {short[0]} split, fewer than task.length={length}; give more text")
    return EnglishStream(splits, tuple(str(p) for p in paths))
