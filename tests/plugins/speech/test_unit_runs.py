"""Merged speech units with run-length counts map back to the frame sequence (spoken QA keeps time).

Merging is the core's ``merge_repeated_units`` (tested in tests/metrics/test_units.py); the plugin
adds its inverse, ``expand_runs``.
"""

from __future__ import annotations

import numpy as np
import pytest

from ssl_universal.errors import DataError
from ssl_universal.metrics import merge_repeated_units


@pytest.mark.parametrize("seed", range(5))
def test_merged_units_and_counts_reconstruct_frames(units, seed):
    rng = np.random.default_rng(seed)
    frames = np.repeat(rng.integers(0, 4, size=50), rng.integers(1, 6, size=50)).tolist()
    merged, counts = merge_repeated_units(frames)
    assert all(a != b for a, b in zip(merged, merged[1:]))  # no two neighbours alike
    assert sum(counts) == len(frames)
    assert units.expand_runs(merged, counts) == frames


def test_expand_rejects_mismatched_counts(units):
    with pytest.raises(DataError, match="differ in length: 2 vs 1"):
        units.expand_runs([1, 2], [3])
