"""Real-valued input for any backbone: a new linear layer from vectors (patches, bits) to the backbone width (FPT).

The symbol path (:mod:`.transfer`) maps an alphabet onto pre-trained token rows; this is its
counterpart for input that is not a symbol alphabet. A task says only "my inputs are vectors of
size d" by setting two attributes, and every batch it collates carries them as ``inputs``:

  * ``input_size`` — d, the length of each input vector (a flattened patch, a block of bits);
  * ``sequence_length`` — vectors per example (positions the backbone must have);
  * ``inputs`` in a batch — a float tensor [batch, positions, d], with ``attention_mask``
    [batch, positions] (1 = a real position) when examples differ in length.

Optionally a task sets ``read_positions`` (k) and ``predictions_per_example`` (P): the classifier
then reads the last k positions and each emits P / k predictions (the reference's bit tasks:
1,000 bits read from the 20 query patches). Otherwise one prediction is read at ``model.pooling``.

As kzl/universal-computation (``fpt.py``) does, the layer is ``nn.Linear`` with an orthogonal
weight (gain ``model.input_gain``, 1.41 there) and a zero bias, followed by dropout, and its output
goes into the backbone as ``inputs_embeds``, so the backbone adds its own position embeddings (and,
for BERT, token-type embeddings and the embedding LayerNorm). The backbone's token table is then
unused; it is swapped for one frozen row (``config.vocab_size = 1``) so it neither counts as a
trainable parameter nor fills the saved weights. With ``pooling: cls`` a trained start vector is put
before the first input vector and read as the summary (the reference reads the last position).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import ConfigError

VECTOR_ASSIGNMENTS = ("reinit", "scratch")  # a new input layer on the pre-trained body, or everything random
INPUT_LAYER_FILE = "input_layer.json"


def vector_input_size(task: Any) -> int | None:
    """The vector length a task declares (``task.input_size``), or None for a symbol task."""
    size = getattr(task, "input_size", None)
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"task {type(task).__name__}: input_size must be a positive int (the length of each input vector); got {size!r}")
    return size


class VectorInput(nn.Module):
    """Vectors [B, T, d] → embeddings [B, T (+1 with a start vector), hidden] and the matching mask."""

    def __init__(self, input_size: int, hidden_size: int, *, gain: float, dropout: float, start_vector: bool,
                 std: float, generator: torch.Generator):
        super().__init__()
        self.input_size = input_size
        self.projection = nn.Linear(input_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        with torch.no_grad():
            nn.init.orthogonal_(self.projection.weight, gain=gain, generator=generator)
            self.projection.bias.zero_()
        self.start = None
        if start_vector:
            self.start = nn.Parameter(torch.empty(hidden_size).normal_(0.0, std, generator=generator))

    def forward(self, inputs: torch.Tensor, attention_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if inputs.dim() != 3 or inputs.shape[-1] != self.input_size:
            raise ConfigError(f"vector input: expected inputs of shape [batch, positions, {self.input_size}], "
                              f"got {list(inputs.shape)}; the task's input_size and its batches disagree")
        embeds = self.dropout(self.projection(inputs.to(self.projection.weight.dtype)))
        if attention_mask is None:
            attention_mask = torch.ones(inputs.shape[:2], dtype=torch.long, device=inputs.device)
        if self.start is not None:
            start = self.start.to(embeds.dtype).expand(embeds.shape[0], 1, -1)
            embeds = torch.cat([start, embeds], dim=1)
            attention_mask = torch.cat([attention_mask.new_ones(attention_mask.shape[0], 1), attention_mask], dim=1)
        return embeds, attention_mask


def retire_token_embeddings(model: nn.Module) -> str:
    """Swap the (now unused) token table of ``model`` for one frozen row; returns its parameter name."""
    old = model.get_input_embeddings()
    new = nn.Embedding(1, old.embedding_dim).to(device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        new.weight.zero_()
    new.weight.requires_grad_(False)
    model.set_input_embeddings(new)
    model.config.vocab_size = 1
    for name, param in model.named_parameters():
        if param is new.weight:
            return name
    raise ConfigError(f"{type(model).__name__}: the new token table is not among its parameters")


def last_positions(hidden: torch.Tensor, attention_mask: torch.Tensor, count: int) -> torch.Tensor:
    """The last ``count`` non-padding positions of each row (right padding), [B, count, H]."""
    lengths = attention_mask.long().sum(1)
    if bool((lengths < count).any()):
        raise ConfigError(f"the head reads the last {count} positions but an example has only {int(lengths.min())}")
    offsets = torch.arange(count, device=hidden.device) - count
    index = (lengths.unsqueeze(1) + offsets).clamp_min(0)  # [B, count]
    return hidden.gather(1, index.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))


class PositionsHead(nn.Module):
    """The last ``read_positions`` positions → ``predictions`` predictions of ``num_labels`` classes each."""

    def __init__(self, hidden_size: int, read_positions: int, predictions: int, num_labels: int, dropout: float):
        super().__init__()
        if predictions % read_positions:
            raise ConfigError(f"predictions_per_example={predictions} is not a multiple of read_positions={read_positions}")
        self.read_positions, self.predictions, self.num_labels = read_positions, predictions, num_labels
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, predictions // read_positions * num_labels)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        read = last_positions(hidden, attention_mask, self.read_positions)
        return self.out(self.dropout(read)).reshape(hidden.shape[0], self.predictions, self.num_labels)
