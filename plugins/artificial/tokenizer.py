"""The two alphabets of artificial-data transfer: artificial tokens ``tok0..tokV-1`` and English word pieces.

* ``artificial``: a generated sequence (a list of ids, or the text ``"tok3 tok17 ..."``) → the ids of
  its symbols ``tok<k>``, specials first. :func:`hf_tokenizer` writes the same vocabulary as a
  Hugging Face tokenizer, so a backbone pre-trained on artificial data carries the vocabulary that
  the transfer assignments (``random``, ``most_frequent``) map English pieces onto.
* ``english_pieces``: English text → word pieces of the packaged English BERT tokenizer, keeping the
  ``max_pieces`` most frequent pieces of the English fortunes (the packaged frequency table); every
  other piece is ``<unk>``. Its symbols are the English side of the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ssl_universal.errors import DataError
from ssl_universal.schema import bounded
from ssl_universal.tokenizer import Tokenizer, TokenizerConfig

from .generators import UNKNOWN

HF_SPECIALS = {"<pad>": "[PAD]", "<unk>": "[UNK]", "<cls>": "[CLS]", "<sep>": "[SEP]", "<mask>": "[MASK]"}


@dataclass
class ArtificialTokenizerConfig(TokenizerConfig):
    """Size of the artificial vocabulary (must equal task.vocab_size)."""

    vocab_size: int = bounded(500, ge=2, le=30000)  # artificial tokens tok0..tok{vocab_size-1}


class ArtificialTokenizer(Tokenizer):
    """Artificial token ``k`` is symbol ``tok<k>`` with id ``k + 5`` (after the five specials)."""

    Config = ArtificialTokenizerConfig

    def __init__(self, cfg: ArtificialTokenizerConfig | None = None):
        cfg = cfg or self.Config()
        super().__init__(cfg, symbols=[f"tok{k}" for k in range(cfg.vocab_size)])
        self.offset = len(self.specials)

    def split(self, item: Any) -> list[str]:
        if isinstance(item, str):
            symbols = item.split()
            bad = next((s for s in symbols if s not in self._index), None)
            if bad is not None:
                raise DataError(f"artificial symbol {bad!r} is not one of tok0..tok{self.cfg.vocab_size - 1}")
            return symbols
        return [self._token(int(k)) for k in item]

    def _token(self, k: int) -> str:
        if not 0 <= k < self.cfg.vocab_size:
            raise DataError(f"artificial token id {k} is outside 0..{self.cfg.vocab_size - 1} (tokenizer.vocab_size)")
        return f"tok{k}"

    def encode_ids(self, tokens, add_special: bool = True) -> list[int]:
        """Generator ids (0..V-1; the english reference's UNKNOWN = -1 is <unk>) → tokenizer ids, without building strings."""
        ids = [int(k) + self.offset for k in tokens]
        if ids and not (self.offset <= min(ids) and max(ids) < self.vocab_size):
            if min(ids) >= self.offset + UNKNOWN and max(ids) < self.vocab_size:  # the english reference's <unk>
                ids = [self.unk_id if i == self.offset + UNKNOWN else i for i in ids]
            else:
                raise DataError(f"artificial token ids must lie in 0..{self.cfg.vocab_size - 1}; got {min(ids) - self.offset}..{max(ids) - self.offset}")
        return [self.cls_id, *ids, self.sep_id] if add_special else ids

    def hf_tokenizer(self):
        """The same vocabulary (ids included) as a Hugging Face fast tokenizer over whitespace-separated symbols."""
        from tokenizers import Tokenizer as RustTokenizer
        from tokenizers.models import WordLevel
        from tokenizers.pre_tokenizers import WhitespaceSplit
        from transformers import PreTrainedTokenizerFast

        vocabulary = {HF_SPECIALS.get(s, s): i for i, s in enumerate(self.symbols)}
        rust = RustTokenizer(WordLevel(vocab=vocabulary, unk_token="[UNK]"))
        rust.pre_tokenizer = WhitespaceSplit()
        return PreTrainedTokenizerFast(tokenizer_object=rust, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                       sep_token="[SEP]", mask_token="[MASK]")


@dataclass
class EnglishPiecesConfig(TokenizerConfig):
    """How many English word pieces are symbols (the rest are <unk>)."""

    max_pieces: int = bounded(400, ge=1)  # the most frequent pieces of the frequency table; keep <= the artificial vocab_size
    token_counts: str | None = None  # frequency table {"counts": {piece: n}}; None = the packaged one (English fortunes)


class EnglishPiecesTokenizer(Tokenizer):
    """English text → word pieces of the packaged English BERT, restricted to ``max_pieces`` symbols."""

    Config = EnglishPiecesConfig

    def __init__(self, cfg: EnglishPiecesConfig | None = None):
        from ssl_universal.models.backbone import DEFAULT_BACKBONE
        from ssl_universal.models.transfer import default_token_counts_path, read_token_counts

        cfg = cfg or self.Config()
        path = Path(cfg.token_counts).expanduser() if cfg.token_counts else default_token_counts_path(DEFAULT_BACKBONE)
        counts = read_token_counts(path, "tokenizer.token_counts")
        ranked = sorted(((p, int(n)) for p, n in counts.items() if not (p.startswith("[") and p.endswith("]"))),
                        key=lambda kv: (-kv[1], kv[0]))
        super().__init__(cfg, symbols=[p for p, _ in ranked[: cfg.max_pieces]])
        self.counts_path = str(path)

    @cached_property
    def word_pieces(self):
        from ssl_universal.models.backbone import load_hf_tokenizer

        return load_hf_tokenizer("default")

    def split(self, item: str) -> list[str]:
        return [p if p in self._index else "<unk>" for p in self.word_pieces.tokenize(item)]

    def __getstate__(self):  # the wrapped Hugging Face tokenizer is rebuilt on demand
        state = dict(self.__dict__)
        state.pop("word_pieces", None)
        return state
