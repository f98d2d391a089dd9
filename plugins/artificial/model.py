"""artificial_masked_lm: the core masked LM, whose saved Hugging Face folder is a backbone for transfer to English.

Besides what :class:`ssl_universal.models.generic.MaskedLM` writes (config, weights, symbol mapping),
the folder gets the artificial vocabulary as a Hugging Face tokenizer (``[PAD] [UNK] [CLS] [SEP]
[MASK] tok0 tok1 ...``, the ids the weights were trained with) and ``token_counts.json``, the
generator's token frequencies over the training split in the format
:func:`ssl_universal.models.transfer.load_token_counts` reads. So a later run takes
``model.backbone=RUN/best/hf model.token_counts=RUN/best/hf/token_counts.json`` and maps its own
symbols onto the artificial tokens with ``random`` or ``most_frequent``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ssl_universal.errors import ConfigError
from ssl_universal.models.backbone import quiet_transformers
from ssl_universal.models.generic import MaskedLM
from ssl_universal.models.transfer_model import TransferModelConfig

TOKEN_COUNTS_FILE = "token_counts.json"


class ArtificialMaskedLM(MaskedLM):
    """A masked LM over artificial tokens that saves itself as a reusable backbone."""

    def __init__(self, cfg: TransferModelConfig, task: Any):
        if not hasattr(task, "token_counts") or not hasattr(getattr(task, "tokenizer", None), "hf_tokenizer"):
            raise ConfigError("model artificial_masked_lm needs task artificial_mlm with tokenizer artificial; "
                              "for other tasks use model masked_lm")
        super().__init__(cfg, task)
        self._task = task
        self._counts: dict[str, int] | None = None

    def backbone_counts(self) -> dict[str, int]:
        """Token frequencies of the training split, counted once (the corpus is generated, so this is a pass over it)."""
        if self._counts is None:
            self._counts = self._task.token_counts("train")
        return self._counts

    def save_pretrained(self, directory: str | Path) -> None:
        super().save_pretrained(directory)
        directory = Path(directory)
        with quiet_transformers():
            self._task.tokenizer.hf_tokenizer().save_pretrained(str(directory))
        write_token_counts(directory / TOKEN_COUNTS_FILE, self.backbone_counts(), self._task.cfg)


def write_token_counts(path: Path, counts: dict[str, int], corpus_cfg: Any) -> Path:
    """The frequency table ``{"counts": {token: n}, ...}``, most frequent first, with what made it."""
    fields = ("generator", "vocab_size", "length", "shuffled", "distribution", "zipf_exponent", "open_prob",
              "mean_distance", "num_train", "data_seed")
    table = {
        "corpus": {f: getattr(corpus_cfg, f) for f in fields if hasattr(corpus_cfg, f)},
        "split": "train",
        "total_tokens": sum(counts.values()),
        "counts": dict(sorted(counts.items(), key=lambda kv: (-kv[1], int(kv[0][3:])))),
    }
    path.write_text(json.dumps(table, indent=0))
    return path


def artificial_masked_lm(cfg: TransferModelConfig, task: Any) -> ArtificialMaskedLM:
    """Masked LM on an artificial corpus, saved as a backbone (HF tokenizer over tok0..tokV-1 + token_counts.json)."""
    return ArtificialMaskedLM(cfg, task)
