"""Amino-acid tokenizer: one symbol per residue, the 20 standard amino acids plus the IUPAC ambiguity codes."""

from __future__ import annotations

from dataclasses import dataclass

from ssl_universal.errors import DataError
from ssl_universal.schema import choice
from ssl_universal.tokenizer import Tokenizer, TokenizerConfig

STANDARD = "ACDEFGHIKLMNPQRSTVWY"
# B = D or N, Z = E or Q, J = I or L, X = any; U (selenocysteine) and O (pyrrolysine) are rare residues.
AMBIGUOUS = "BZJXUO"
ALPHABETS = {"standard": STANDARD, "extended": STANDARD + AMBIGUOUS}  # the names tokenizer.alphabet allows


@dataclass
class ProteinTokenizerConfig(TokenizerConfig):
    """Which residues are symbols and what happens to other letters."""

    alphabet: str = choice("extended", "standard")  # standard (20 amino acids) | extended (+ B Z J X U O)
    unknown: str = choice("error", "unk")  # a letter outside the alphabet: error (names it and its position) | unk (<unk>, counted)


class ProteinTokenizer(Tokenizer):
    """Residues in upper or lower case → one id each. ``unknown_count`` counts letters mapped to ``<unk>``."""

    Config = ProteinTokenizerConfig

    def __init__(self, cfg: ProteinTokenizerConfig | None = None):
        cfg = cfg or self.Config()
        super().__init__(cfg, symbols=list(ALPHABETS[cfg.alphabet]))
        self.letters = frozenset(ALPHABETS[cfg.alphabet])
        self.unknown_count = 0

    def split(self, item: str) -> list[str]:
        residues = list(item.strip().upper())
        for position, residue in enumerate(residues):
            if residue not in self.letters:
                if self.cfg.unknown == "error":
                    raise DataError(
                        f"residue {residue!r} at position {position + 1} is not in the {self.cfg.alphabet} amino-acid "
                        f"alphabet ({''.join(ALPHABETS[self.cfg.alphabet])}); clean the sequence, use "
                        "tokenizer.alphabet=extended, or map it to <unk> with tokenizer.unknown=unk"
                    )
                residues[position] = "<unk>"
                self.unknown_count += 1
        return residues

    def to_sequence(self, symbols: list[str]) -> str:
        """The residue string of decoded symbols (``<unk>`` becomes X)."""
        return "".join("X" if s == "<unk>" else s for s in symbols)
