"""Speech units: merging repeated units and mapping unit-index spans back to seconds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FRAME_SECONDS = 0.02  # HuBERT / wav2vec 2.0 features come every 20 ms


def merge_repeated_units(units: Sequence[int]) -> tuple[list[int], list[int]]:
    """Collapse runs of the same unit: ``[5, 5, 7, 5]`` → ``([5, 7, 5], [2, 1, 1])``.

    The second list holds each merged unit's run length in frames, which is what
    :func:`units_to_seconds` needs to map a span over merged units back to time.
    """
    merged: list[int] = []
    counts: list[int] = []
    for unit in units:
        if merged and merged[-1] == unit:
            counts[-1] += 1
        else:
            merged.append(int(unit))
            counts.append(1)
    return merged, counts


def unit_boundaries(counts: Sequence[int], frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """Start time of every merged unit plus the end of the last one: ``len(counts) + 1`` values (s)."""
    counts_array = np.asarray(counts, dtype=np.int64)
    if counts_array.ndim != 1 or (counts_array.size and counts_array.min() < 1):
        raise ValueError(f"run-length counts must be a flat list of positive integers, found {list(counts)[:10]!r}")
    return np.concatenate([[0], np.cumsum(counts_array)]) * frame_seconds


def units_to_seconds(
    counts: Sequence[int], start_unit: int, end_unit: int, frame_seconds: float = FRAME_SECONDS
) -> tuple[float, float]:
    """Time interval covered by merged units ``start_unit .. end_unit`` (both inclusive).

    Returns ``(sum(counts[:start_unit]) * frame_seconds, sum(counts[:end_unit + 1]) * frame_seconds)``.
    Raises ``ValueError`` for an index outside the passage or end before start.
    """
    n = len(counts)
    if not (0 <= start_unit < n and 0 <= end_unit < n):
        raise ValueError(f"unit span [{start_unit}, {end_unit}] is outside the passage's {n} units (0..{n - 1})")
    if end_unit < start_unit:
        raise ValueError(f"unit span [{start_unit}, {end_unit}] ends before it starts")
    start_frames = sum(int(c) for c in counts[:start_unit])
    end_frames = start_frames + sum(int(c) for c in counts[start_unit : end_unit + 1])
    # Round away float noise from the multiplication (0.02 * 3 = 0.06000000000000001).
    return round(start_frames * frame_seconds, 9), round(end_frames * frame_seconds, 9)
