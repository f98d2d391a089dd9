"""Merged speech units and the mapping from unit-index spans to seconds."""

import pytest

from ssl_universal.metrics import merge_repeated_units, unit_boundaries, units_to_seconds


def test_merge_keeps_run_lengths():
    assert merge_repeated_units([5, 5, 7, 5, 5, 5]) == ([5, 7, 5], [2, 1, 3])
    assert merge_repeated_units([]) == ([], [])


def test_span_maps_to_summed_frames():
    counts = [3, 2, 5, 1]
    # [1, 2] → [sum(counts[:1]) * 0.02, sum(counts[:3]) * 0.02] = [0.06, 0.20]
    assert units_to_seconds(counts, 1, 2) == (0.06, 0.2)
    assert units_to_seconds(counts, 0, 0) == (0.0, 0.06)
    assert units_to_seconds(counts, 3, 3) == (0.2, 0.22)
    assert units_to_seconds(counts, 1, 2, frame_seconds=0.01) == (0.03, 0.1)


def test_round_trip_from_frames():
    frames = [1] * 4 + [2] * 3 + [1] * 5 + [9]
    _, counts = merge_repeated_units(frames)
    # the third merged unit starts at frame 7 and lasts 5 frames
    assert units_to_seconds(counts, 2, 2) == pytest.approx((7 * 0.02, 12 * 0.02))
    assert unit_boundaries(counts)[-1] == pytest.approx(len(frames) * 0.02)


def test_bad_spans_raise():
    with pytest.raises(ValueError, match="outside the passage's 2 units"):
        units_to_seconds([1, 1], 0, 2)
    with pytest.raises(ValueError, match="ends before it starts"):
        units_to_seconds([1, 1, 1], 2, 1)
    with pytest.raises(ValueError, match="positive integers"):
        unit_boundaries([1, 0, 2])
