"""The Tokenizer contract: raw items ↔ integer ids, with named special tokens and a symbol list."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class TokenizerConfig:
    """Options shared by every tokenizer; a tokenizer's own Config subclasses this."""


class Tokenizer:
    """Base class. Subclasses set ``symbols`` (the whole vocabulary, specials first) in ``__init__``.

    ``encode`` turns one raw item (a string, a sequence, a score…) into ids; ``decode`` inverts it.
    The transfer mechanism (``ssl_universal.models.transfer``) maps ``symbols`` onto a pre-trained
    vocabulary, so every id below ``vocab_size`` must name a symbol.
    """

    Config = TokenizerConfig
    specials: tuple[str, ...] = ("<pad>", "<unk>", "<cls>", "<sep>", "<mask>")

    def __init__(self, cfg: Any = None, symbols: Sequence[str] = ()):
        self.cfg = cfg if cfg is not None else self.Config()
        self.symbols: list[str] = [*self.specials, *[s for s in symbols if s not in self.specials]]
        self._index = {s: i for i, s in enumerate(self.symbols)}

    # -- vocabulary -----------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    def id_of(self, symbol: str) -> int:
        return self._index.get(symbol, self.unk_id)

    @property
    def pad_id(self) -> int:
        return self._index["<pad>"]

    @property
    def unk_id(self) -> int:
        return self._index["<unk>"]

    @property
    def cls_id(self) -> int:
        return self._index["<cls>"]

    @property
    def sep_id(self) -> int:
        return self._index["<sep>"]

    @property
    def mask_id(self) -> int:
        return self._index["<mask>"]

    @property
    def special_ids(self) -> list[int]:
        return [self._index[s] for s in self.specials]

    # -- items ----------------------------------------------------------------------------
    def split(self, item: Any) -> list[str]:
        """Symbols of one raw item; the default treats a string as a sequence of characters."""
        return list(item)

    def encode(self, item: Any, add_special: bool = True) -> list[int]:
        ids = [self.id_of(s) for s in self.split(item)]
        return [self.cls_id, *ids, self.sep_id] if add_special else ids

    def decode(self, ids: Sequence[int]) -> list[str]:
        special = set(self.special_ids) - {self.unk_id}
        return [self.symbols[i] for i in ids if i not in special]

    # -- persistence ----------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        path = Path(directory) / "vocab.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"class": type(self).__name__, "symbols": self.symbols}, ensure_ascii=False))
