"""Collation helpers: pad variable-length id sequences into batch tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def pad_sequences(
    sequences: Sequence[Sequence[int]], pad_id: int, *, pad_to_multiple_of: int = 1, dtype=torch.long
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad sequences to the batch's longest; returns (ids, attention_mask)."""
    longest = max((len(s) for s in sequences), default=0)
    if pad_to_multiple_of > 1:
        longest = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    ids = torch.full((len(sequences), longest), pad_id, dtype=dtype)
    mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for row, seq in enumerate(sequences):
        n = len(seq)
        if n:
            ids[row, :n] = torch.as_tensor(np.asarray(seq), dtype=dtype)
            mask[row, :n] = 1
    return ids, mask
