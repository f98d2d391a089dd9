"""HuBERT masked-unit prediction on a Hugging Face HubertModel: span masks, cosine logits, DAT, checkpoints."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ssl_universal.errors import ConfigError
from ssl_universal.models.backbone import quiet_transformers

from .upstreams import hubert_config, resolve_upstream

log = logging.getLogger(__name__)

HEAD_FILE = "pretraining_head.safetensors"  # projection, label embeddings, domain classifier
HEAD_INFO = "pretraining_head.json"


# -- span masking --------------------------------------------------------------------------------
def span_mask(frame_lengths: torch.Tensor, num_frames: int, *, start_prob: float = 0.08, span: int = 10,
              min_spans: int = 2, generator: torch.Generator | None = None) -> torch.Tensor:
    """[B, T] bool mask of spans, as in HuBERT/wav2vec 2.0: each real frame starts a span of ``span``
    frames with probability ``start_prob`` (about half the frames end up masked at 0.08 × 10, overlaps
    merged); at least ``min_spans`` spans per utterance, and none in the padding."""
    lengths = frame_lengths.detach().cpu().long().tolist()
    mask = torch.zeros(len(lengths), num_frames, dtype=torch.bool)
    for row, length in enumerate(lengths):
        width = min(span, max(length - 1, 1))
        starts_available = length - width + 1
        if length <= 1 or starts_available <= 0:
            continue
        expected = start_prob * length + float(torch.rand((), generator=generator))  # random rounding
        count = min(max(int(expected), min_spans), starts_available)
        starts = torch.randperm(starts_available, generator=generator)[:count]
        index = (starts[:, None] + torch.arange(width)[None, :]).reshape(-1)
        mask[row, index] = True
    return mask.to(frame_lengths.device)


# -- gradient reversal ---------------------------------------------------------------------------
class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; the gradient is multiplied by ``-scale`` on the way back (Ganin & Lempitsky)."""
    return _ReverseGradient.apply(x, scale)


def frame_mask(frame_lengths: torch.Tensor, num_frames: int) -> torch.Tensor:
    return torch.arange(num_frames, device=frame_lengths.device)[None, :] < frame_lengths[:, None]


def sample_mask(lengths: torch.Tensor, num_samples: int) -> torch.Tensor:
    """[B, T] long attention mask of the real samples (what Hugging Face audio models take)."""
    return (torch.arange(num_samples, device=lengths.device)[None, :] < lengths[:, None]).long()


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over time of [B, T, H] where ``mask`` [B, T] is true."""
    weights = mask.to(x.dtype)[..., None]
    return (x * weights).sum(1) / weights.sum(1).clamp_min(1.0)


# -- the model -----------------------------------------------------------------------------------
@dataclass
class HubertPretrainConfig:
    """The registered model ``hubert``: a HubertModel plus the masked-prediction head (and DAT)."""

    size: str = "tiny"  # tiny | small | base: architecture when training from scratch
    init: str | None = None  # continue from: Hugging Face HuBERT folder, run directory, or torchaudio file; null = scratch
    init_arch: str = "hubert_base"  # torchaudio architecture of a state-dict `init`
    final_dim: int = 64  # projection size before the cosine logits (fairseq: 256 for base)
    logit_temp: float = 0.1  # cosine similarity is divided by this (fairseq: 0.1)
    mask_start_prob: float = 0.08  # chance that a frame starts a masked span
    mask_length: int = 10  # masked span, frames (20 ms each)
    unmasked_weight: float = 0.0  # weight of the loss on unmasked frames (HuBERT: 0)
    dat_weight: float = 0.0  # domain-adversarial gradient scale; 0 = no domain classifier
    dat_layer: int = -1  # hidden state the domain classifier reads (-1 = last layer)
    dat_hidden: int = 128  # width of the domain classifier's hidden layer
    dropout: float | None = None  # override the encoder's hidden/attention dropout (null: keep)


class HubertPretrainModel(nn.Module):
    """HubertModel + projection + label embeddings: cross-entropy of cosine logits on masked frames."""

    def __init__(self, cfg: HubertPretrainConfig, num_targets: int, label_rate: float, num_domains: int = 0):
        super().__init__()
        from transformers import HubertConfig, HubertModel

        self.cfg, self.label_rate = cfg, float(label_rate)
        overrides: dict[str, Any] = {"apply_spec_augment": True}
        if cfg.dropout is not None:
            overrides.update(hidden_dropout=cfg.dropout, attention_dropout=cfg.dropout)
        if cfg.init:
            folder = resolve_upstream(cfg.init, arch=cfg.init_arch)
            config = HubertConfig.from_pretrained(folder)
            # masked_spec_embed exists only when the config allows time masking
            overrides["mask_time_prob"] = config.mask_time_prob or 0.05
            with quiet_transformers():  # no "Loading weights" bar: the run reports what matters
                self.hubert = HubertModel.from_pretrained(folder, **overrides)
            log.info("continuing from %s", folder)
        else:
            config = hubert_config(cfg.size)
            for key, value in overrides.items():
                setattr(config, key, value)
            self.hubert = HubertModel(config)
        hidden = self.hubert.config.hidden_size
        self.feature_rate = 16000 / float(torch.tensor(self.hubert.config.conv_stride).prod())
        self.final_proj = nn.Linear(hidden, cfg.final_dim)
        self.label_embs = nn.Parameter(torch.empty(num_targets, cfg.final_dim).uniform_(-1, 1))
        self.num_domains = num_domains if cfg.dat_weight > 0 else 0
        if self.num_domains:
            self.domain_classifier = nn.Sequential(nn.Linear(hidden, cfg.dat_hidden), nn.ReLU(),
                                                   nn.Linear(cfg.dat_hidden, self.num_domains))

    def frame_targets(self, targets: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Labels at ``label_rate`` picked for each 20 ms frame (100 Hz MFCC units: every other one)."""
        index = (torch.arange(num_frames, device=targets.device) * (self.label_rate / self.feature_rate)).long()
        picked = targets[:, index.clamp_max(targets.shape[1] - 1)]
        return picked.masked_fill(index[None, :] >= targets.shape[1], -100)

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor,
                domains: torch.Tensor | None = None, mask_seed: int | None = None) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        frame_lengths = self.hubert._get_feat_extract_output_lengths(lengths)
        num_frames = int(self.hubert._get_feat_extract_output_lengths(torch.tensor(waveform.shape[1])))
        generator = torch.Generator().manual_seed(mask_seed) if mask_seed is not None else None
        masked = span_mask(frame_lengths, num_frames, start_prob=cfg.mask_start_prob, span=cfg.mask_length,
                           generator=generator)
        output = self.hubert(waveform, attention_mask=sample_mask(lengths, waveform.shape[1]),
                             mask_time_indices=masked, output_hidden_states=self.num_domains > 0)
        hidden = output.last_hidden_state
        labels = self.frame_targets(targets, num_frames)
        valid = frame_mask(frame_lengths, num_frames) & (labels >= 0)
        logits = F.normalize(self.final_proj(hidden).float(), dim=-1) @ F.normalize(self.label_embs.float(), dim=-1).T
        logits = logits / cfg.logit_temp
        on_masked, on_unmasked = valid & masked, valid & ~masked
        loss_m = F.cross_entropy(logits[on_masked], labels[on_masked]) if on_masked.any() else logits.sum() * 0
        loss = loss_m
        if cfg.unmasked_weight > 0 and on_unmasked.any():
            loss = loss + cfg.unmasked_weight * F.cross_entropy(logits[on_unmasked], labels[on_unmasked])
        with torch.no_grad():
            correct = (logits[on_masked].argmax(-1) == labels[on_masked]).sum()
        out = {"loss": loss, "masked_loss": loss_m.detach(), "correct": correct, "count": on_masked.sum()}
        if self.num_domains and domains is not None:
            pooled = masked_mean(output.hidden_states[cfg.dat_layer], frame_mask(frame_lengths, num_frames))
            domain_logits = self.domain_classifier(reverse_gradient(pooled, cfg.dat_weight)).float()
            domain_loss = F.cross_entropy(domain_logits, domains)
            out["loss"] = loss + domain_loss
            out["domain_loss"] = domain_loss.detach()
            out["domain_correct"] = (domain_logits.argmax(-1) == domains).sum()
        return out

    def save_pretrained(self, directory: str | Path) -> None:
        """The encoder in Hugging Face layout (what downstream tasks and unit extraction load), plus the head."""
        from safetensors.torch import save_file

        directory = Path(directory)
        with quiet_transformers():  # no "Writing model shards" bar in the middle of the run's log
            self.hubert.save_pretrained(str(directory))
        head = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items() if not k.startswith("hubert.")}
        save_file(head, str(directory / HEAD_FILE))
        info = {"num_targets": int(self.label_embs.shape[0]), "label_rate": self.label_rate,
                "final_dim": self.cfg.final_dim, "num_domains": self.num_domains}
        (directory / HEAD_INFO).write_text(json.dumps(info, indent=2) + "\n")


def build_hubert(cfg: HubertPretrainConfig, task) -> HubertPretrainModel:
    """Builder of the registered model ``hubert`` (the task supplies the number of units and their rate)."""
    if cfg.logit_temp <= 0 or cfg.mask_length < 1 or not 0 < cfg.mask_start_prob < 1:
        raise ConfigError(f"model: need logit_temp > 0, mask_length >= 1 and 0 < mask_start_prob < 1; got "
                          f"{cfg.logit_temp}, {cfg.mask_length}, {cfg.mask_start_prob}")
    return HubertPretrainModel(cfg, num_targets=task.num_labels, label_rate=task.label_rate,
                               num_domains=getattr(task, "num_domains", 0))
