"""The generic models registered in the core: sequence classifier, token tagger, span extractor, masked LM."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..registry import register_model
from .backbone import quiet_transformers
from .heads import SequenceHead, SpanHead, TokenHead, span_loss, token_cross_entropy
from .transfer_model import TransferModel, TransferModelConfig
from .vector_input import PositionsHead


class SequenceClassifier(TransferModel):
    """Pooled encoder output → class scores (cross-entropy) or one score (MSE regression).

    Reads symbol ids or, when the task sets ``input_size``, real-valued vectors (:mod:`.vector_input`).
    A task with ``predictions_per_example`` P > 1 gets logits [B, P, classes] from its last
    ``read_positions`` positions and labels [B, P] (e.g. one per bit).
    """

    head_kind = "sequence"

    def __init__(self, cfg: TransferModelConfig, task: Any):
        super().__init__(cfg, task)
        self.hf = self._backbone.model
        self.num_labels = int(task.num_labels)
        self.predictions = int(getattr(task, "predictions_per_example", 1) or 1)
        read_positions = int(getattr(task, "read_positions", 1) or 1)
        hidden = self.hf.config.hidden_size
        if self.predictions > 1 or read_positions > 1:
            if cfg.pooling != "last":
                raise ConfigError(f"task {type(task).__name__} reads {self.predictions} predictions from its last "
                                  f"{read_positions} positions; set model.pooling=last (got {cfg.pooling!r})")
            self.head = PositionsHead(hidden, read_positions, self.predictions, self.num_labels, self.dropout_p)
        else:
            self.head = SequenceHead(hidden, self.num_labels, self.dropout_p, cfg.pooling)
        self._finish()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, inputs=None, **_: Any) -> dict:
        hidden, mask = self.hidden_states(input_ids, attention_mask, token_type_ids, inputs=inputs)
        logits = self.head(hidden, mask)
        outputs = {"logits": logits}
        if labels is not None:
            if self.num_labels == 1:
                outputs["loss"] = F.mse_loss(logits.squeeze(-1).float(), labels.float())
            else:
                outputs["loss"] = F.cross_entropy(logits.reshape(-1, self.num_labels).float(), labels.reshape(-1).long())
        return outputs


class TokenTagger(TransferModel):
    """Every position → tag scores; cross-entropy over labelled positions (-100 = ignore)."""

    head_kind = "token"

    def __init__(self, cfg: TransferModelConfig, task: Any):
        super().__init__(cfg, task)
        self.hf = self._backbone.model
        self.head = TokenHead(self.hf.config.hidden_size, int(task.num_labels), self.dropout_p)
        self._finish()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, **_: Any) -> dict:
        hidden, _mask = self.hidden_states(input_ids, attention_mask, token_type_ids)
        logits = self.head(hidden)
        outputs = {"logits": logits}
        if labels is not None:
            outputs["loss"] = token_cross_entropy(logits, labels)
        return outputs


class SpanExtractor(TransferModel):
    """Start and end scores per position (extractive QA).

    Positions with ``attention_mask == 0`` can never be chosen. When the batch carries a
    ``passage_mask`` [B, T] (1 = may start or end an answer), positions outside it are ruled out
    as well; gold positions that fall on ruled-out or out-of-range positions are ignored in the
    loss (mean of start and end cross-entropy).
    """

    head_kind = "span"

    def __init__(self, cfg: TransferModelConfig, task: Any):
        super().__init__(cfg, task)
        self.hf = self._backbone.model
        self.head = SpanHead(self.hf.config.hidden_size)
        self._finish()

    def forward(
        self,
        input_ids,
        attention_mask=None,
        token_type_ids=None,
        start_positions=None,
        end_positions=None,
        passage_mask=None,
        **_: Any,
    ) -> dict:
        hidden, mask = self.hidden_states(input_ids, attention_mask, token_type_ids)
        allowed = mask.bool() if passage_mask is None else mask.bool() & passage_mask.bool()
        start_logits, end_logits = self.head(hidden, allowed)
        outputs = {"start_logits": start_logits, "end_logits": end_logits}
        if start_positions is not None and end_positions is not None:
            outputs["loss"] = span_loss(start_logits, end_logits, start_positions, end_positions, allowed)
        return outputs


class MaskedLM(TransferModel):
    """Masked-LM scores over the task alphabet. The pre-trained MLM head is reused when the
    checkpoint has one (its output rows follow the symbol mapping), else it starts random."""

    head_kind = "masked_lm"

    def __init__(self, cfg: TransferModelConfig, task: Any):
        super().__init__(cfg, task, with_mlm_head=True)
        self.hf = self._backbone.model
        self.mlm_head_pretrained = self._backbone.mlm_head_pretrained and cfg.init == "pretrained" and cfg.assignment != "scratch"
        self._finish()

    @property
    def head(self) -> nn.Module:
        # BERT keeps its MLM head in `cls`, RoBERTa-style models in `lm_head`.
        return getattr(self.hf, "cls", None) or self.hf.lm_head

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, **_: Any) -> dict:
        if attention_mask is None:
            attention_mask = (input_ids != self.pad_id).long()
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        logits = self.hf(input_ids=input_ids, attention_mask=attention_mask, **extra).logits
        outputs = {"logits": logits}
        if labels is not None:
            outputs["loss"] = token_cross_entropy(logits, labels)
        return outputs

    def save_pretrained(self, directory: str | Path) -> None:
        """Hugging Face layout of the whole masked LM (``AutoModelForMaskedLM`` and ``AutoModel`` load it)."""
        directory = Path(directory)
        self.hf.config.ssl_universal = {"head": self.head_kind, "model_config": asdict(self.cfg), "backbone": self.backbone_name}
        with quiet_transformers():
            self.hf.save_pretrained(str(directory))
        self._save_extras(directory)


@register_model("seq_classifier")
def seq_classifier(cfg: TransferModelConfig, task: Any) -> SequenceClassifier:
    """Sequence classification (num_labels > 1, cross-entropy) or regression (num_labels == 1, MSE) on a transferred backbone; symbols or vectors."""
    return SequenceClassifier(cfg, task)


@register_model("token_tagger")
def token_tagger(cfg: TransferModelConfig, task: Any) -> TokenTagger:
    """Per-token tagging (NER, POS) on a transferred backbone."""
    return TokenTagger(cfg, task)


@register_model("span_extractor")
def span_extractor(cfg: TransferModelConfig, task: Any) -> SpanExtractor:
    """Extractive span prediction (start/end over tokens) on a transferred backbone."""
    return SpanExtractor(cfg, task)


@register_model("masked_lm")
def masked_lm(cfg: TransferModelConfig, task: Any) -> MaskedLM:
    """Masked language model over the task alphabet on a transferred backbone."""
    return MaskedLM(cfg, task)
