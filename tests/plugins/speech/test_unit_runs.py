"""Merged speech units with run-length counts map back to the frame sequence (spoken QA keeps time).

Merging is the core's ``merge_repeated_units`` (tested in tests/metrics/test_units.py); the plugin
adds its inverse, ``expand_runs``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_universal.errors import ConfigError, DataError
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


def test_mfcc_cmvn_normalises_each_utterance(units):
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    wave = torch.from_numpy((0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(16000)).astype(np.float32))
    plain = units.MfccFeatures(16000)(wave)
    normed = units.MfccFeatures(16000, cmvn=True)(wave)
    assert plain.shape == normed.shape and normed.shape[1] == 39
    assert np.abs(plain.mean(0)).max() > 1.0  # raw cepstra carry a large constant offset
    np.testing.assert_allclose(normed.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(normed.std(0), 1.0, atol=1e-3)


def test_cmvn_refused_for_hubert_features(units):
    cfg = units.UnitConfig(feature="hubert", checkpoint="x", cmvn=True)
    with pytest.raises(ConfigError, match="cmvn applies to feature: mfcc only"):
        units.make_extractor(cfg)
