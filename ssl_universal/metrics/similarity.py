"""Similarity of two models' representations of the same inputs: linear CKA (Kornblith et al., 2019)."""

from __future__ import annotations

import numpy as np


def linear_cka(x, y) -> float:
    """Linear centered kernel alignment of ``x`` [n, d1] and ``y`` [n, d2], row i of each describing input i.

    CKA = ||Yᶜᵀ Xᶜ||²_F / (||Xᶜᵀ Xᶜ||_F · ||Yᶜᵀ Yᶜ||_F) on column-centred matrices: 1 for the same
    representation up to rotation and isotropic scaling, near 0 for unrelated ones. A coefficient in
    [0, 1], not a percentage; NaN when either side is constant over the inputs.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"linear_cka: expected two 2-D arrays [inputs, features], got shapes {x.shape} and {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"linear_cka: {x.shape[0]} rows against {y.shape[0]}; both must describe the same inputs")
    if x.shape[0] < 2:
        raise ValueError("linear_cka: needs at least 2 inputs")
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    if x.shape[0] < max(x.shape[1], y.shape[1]):
        # Fewer inputs than features: the n×n Gram matrices are the smaller products (same value).
        gram_x, gram_y = x @ x.T, y @ y.T
        cross, norm_x, norm_y = np.sum(gram_x * gram_y), np.linalg.norm(gram_x), np.linalg.norm(gram_y)
    else:
        cross = np.linalg.norm(y.T @ x) ** 2
        norm_x, norm_y = np.linalg.norm(x.T @ x), np.linalg.norm(y.T @ y)
    if norm_x == 0 or norm_y == 0:
        return float("nan")
    return float(cross / (norm_x * norm_y))
