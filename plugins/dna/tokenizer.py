"""Nucleotide tokenizer: single bases or k-mers (overlapping or not) over a closed alphabet such as ACGT."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ssl_universal.errors import ConfigError, DataError
from ssl_universal.schema import FieldError, bounded, choice
from ssl_universal.tokenizer import Tokenizer, TokenizerConfig


@dataclass
class DnaTokenizerConfig(TokenizerConfig):
    """Symbol size and alphabet of DNA sequences."""

    k: int = bounded(1, ge=1)  # symbols are k-mers; 1 = one base per symbol
    stride: int = bounded(1, ge=1)  # step between k-mers: 1 = overlapping (DNABERT style), k = non-overlapping; 1 <= stride <= k
    alphabet: str = "ACGT"  # bases (upper case); add N (or other IUPAC codes) to keep them as symbols
    unknown: str = choice("error", "unk")  # a base outside the alphabet: error (names it and its position) | unk (<unk>, counted)

    def validate(self, run=None) -> None:
        if self.stride > self.k:
            raise FieldError("stride", f"{self.stride} is more than k={self.k}; expected 1 <= stride <= k")


class DnaTokenizer(Tokenizer):
    """Bases → k-mers at ``stride`` steps, exactly invertible by :meth:`to_sequence`.

    The rest after the last full k-mer (shorter than the stride) is one shorter symbol; the
    vocabulary is every string of length 1..k over the alphabet. ``unknown_count`` counts
    symbols mapped to ``<unk>``.
    """

    Config = DnaTokenizerConfig

    def __init__(self, cfg: DnaTokenizerConfig | None = None):
        cfg = cfg or self.Config()
        alphabet = "".join(dict.fromkeys(cfg.alphabet.upper()))
        if not alphabet or not alphabet.isalpha():
            raise ConfigError(f"tokenizer.alphabet must be letters, such as ACGT; got {cfg.alphabet!r}")
        if len(alphabet) ** cfg.k > 50_000:
            raise ConfigError(f"{len(alphabet)}^{cfg.k} k-mers are more symbols than a text vocabulary can host; lower tokenizer.k")
        symbols = ["".join(p) for n in range(cfg.k, 0, -1) for p in itertools.product(alphabet, repeat=n)]
        super().__init__(cfg, symbols=symbols)
        self.bases = frozenset(alphabet)
        self.unknown_count = 0

    def split(self, item: str) -> list[str]:
        sequence = "".join(item.split()).upper()
        bad = [(i, base) for i, base in enumerate(sequence) if base not in self.bases]
        if bad and self.cfg.unknown == "error":
            position, base = bad[0]
            raise DataError(
                f"base {base!r} at position {position + 1} is not in the alphabet {''.join(sorted(self.bases))} "
                f"({len(bad)} such base(s) in this sequence); clean the data, add it to tokenizer.alphabet, "
                "or map it to <unk> with tokenizer.unknown=unk"
            )
        k, stride = self.cfg.k, self.cfg.stride
        if len(sequence) < k:
            pieces = [sequence] if sequence else []
        else:
            starts = range(0, len(sequence) - k + 1, stride)
            pieces = [sequence[i : i + k] for i in starts]
            tail = sequence[starts[-1] + k :]
            if tail:
                pieces.append(tail)
        if not bad:
            return pieces
        symbols = [p if self.bases.issuperset(p) else "<unk>" for p in pieces]
        self.unknown_count += symbols.count("<unk>")
        return symbols

    def to_sequence(self, symbols: list[str]) -> str:
        """The base string of decoded k-mer symbols (the inverse of :meth:`split` when nothing was unknown)."""
        if not symbols:
            return ""
        k, stride = self.cfg.k, self.cfg.stride
        out = [symbols[0]]
        for symbol in symbols[1:]:
            out.append(symbol[k - stride :] if len(symbol) == k else symbol)
        return "".join(out)
