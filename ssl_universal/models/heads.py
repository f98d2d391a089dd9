"""Task heads on top of an encoder's hidden states, and the losses that go with them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

POOLINGS = ("cls", "mean", "last")
IGNORE_INDEX = -100  # label value that a loss skips (padding, sub-word continuations, unmasked positions)
MASKED_LOGIT = -1.0e4  # logit of a position that may not be chosen; finite so fp16 stays finite


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """One vector per sequence: the first position (``cls``), the mean over non-padding positions, or the
    last non-padding position (``last``, right padding; what a causal model such as GPT-2 must read)."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "last":
        last = attention_mask.long().sum(1).clamp_min(1) - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    if pooling == "mean":
        weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)
    raise ValueError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")


def token_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over positions whose label is not ``IGNORE_INDEX``.

    A batch with nothing to predict gives a zero loss that still depends on the logits (so
    backward and DDP see every parameter) instead of the NaN that ``F.cross_entropy`` returns.
    """
    logits = logits.reshape(-1, logits.shape[-1]).float()
    labels = labels.reshape(-1).long()
    if not bool((labels != IGNORE_INDEX).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX)


class SequenceHead(nn.Module):
    """Pooled vector → ``num_labels`` scores (one score for regression)."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float, pooling: str):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(pool(hidden, attention_mask, self.pooling)))


class TokenHead(nn.Module):
    """Every position → ``num_labels`` scores (tagging)."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(hidden))


class SpanHead(nn.Module):
    """Every position → a start score and an end score (extractive QA)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.out = nn.Linear(hidden_size, 2)

    def forward(self, hidden: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.out(hidden).float().masked_fill(~allowed.bool().unsqueeze(-1), MASKED_LOGIT)
        start, end = logits.unbind(-1)
        return start, end


def span_loss(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    start_positions: torch.Tensor,
    end_positions: torch.Tensor,
    allowed: torch.Tensor,
) -> torch.Tensor:
    """Mean of the start and end cross-entropies. Targets outside the sequence or at a position
    that ``allowed`` rules out (padding, or outside ``passage_mask``) are ignored."""
    losses = []
    for logits, positions in ((start_logits, start_positions), (end_logits, end_positions)):
        positions = positions.reshape(-1).long().clone()
        length = logits.shape[-1]
        inside = (positions >= 0) & (positions < length)
        safe = positions.clamp(0, length - 1)
        ok = inside & allowed.bool().gather(1, safe.unsqueeze(1)).squeeze(1)
        positions[~ok] = IGNORE_INDEX
        losses.append(token_cross_entropy(logits, positions))
    return (losses[0] + losses[1]) / 2
