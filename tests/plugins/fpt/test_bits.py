"""Bit memory and bit XOR: deterministic per seed, and labels that follow from the inputs as the reference defines them."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_universal.errors import ConfigError
from ssl_universal_plugins.fpt import bits


def test_bit_memory_is_deterministic_per_seed_and_differs_across_seeds():
    a = bits.bit_memory(20, n=12, patterns=3, patch_size=4, mask_probability=0.5, seed=3)
    b = bits.bit_memory(20, n=12, patterns=3, patch_size=4, mask_probability=0.5, seed=3)
    c = bits.bit_memory(20, n=12, patterns=3, patch_size=4, mask_probability=0.5, seed=4)
    assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.labels, b.labels) and np.array_equal(a.masked, b.masked)
    assert not np.array_equal(a.inputs, c.inputs)


def test_bit_memory_label_is_the_stored_pattern_the_half_masked_query_repeats():
    data = bits.bit_memory(200, n=12, patterns=3, patch_size=4, mask_probability=0.5, seed=0)
    assert data.inputs.shape == (200, (3 + 1) * 12 // 4, 4) and data.labels.shape == (200, 12)
    flat = data.inputs.reshape(200, 4, 12)  # 3 patterns, then the query
    patterns, query = flat[:, :3], flat[:, 3]
    assert set(np.unique(patterns)) == {-1.0, 1.0}
    for i in range(200):
        target = data.labels[i] * 2 - 1  # the label as +-1 bits
        assert any(np.array_equal(target, p) for p in patterns[i])  # it is one of the stored patterns
        shown = ~data.masked[i]
        assert np.array_equal(query[i][shown], target[shown])  # shown query bits are the pattern's
        assert np.all(query[i][data.masked[i]] == 0)  # hidden bits read 0
    assert 0.45 < data.masked.mean() < 0.55


def test_bit_memory_hand_checked_layout():
    data = bits.bit_memory(1, n=4, patterns=1, patch_size=2, mask_probability=0.0, seed=5)
    pattern = data.inputs[0, :2].reshape(-1)
    assert np.array_equal(data.inputs[0, 2:].reshape(-1), pattern)  # nothing hidden: the query is the pattern
    assert list(data.labels[0]) == [int(b > 0) for b in pattern]


def test_bit_xor_labels_are_the_bitwise_xor_of_the_strings():
    data = bits.bit_xor(50, n=5, patterns=2, patch_size=5, seed=1)
    assert data.inputs.shape == (50, 2, 5) and data.labels.shape == (50, 5)
    for i in range(50):
        first = int("".join(str(int(b)) for b in data.inputs[i, 0]), 2)
        second = int("".join(str(int(b)) for b in data.inputs[i, 1]), 2)
        assert "".join(map(str, data.labels[i])) == format(first ^ second, "05b")
    three = bits.bit_xor(30, n=4, patterns=3, patch_size=2, seed=2)
    strings = three.inputs.reshape(30, 3, 4).astype(int)
    assert np.array_equal(three.labels, (strings.sum(1) % 2))  # parity of three bits
    again = bits.bit_xor(50, n=5, patterns=2, patch_size=5, seed=1)
    assert np.array_equal(data.inputs, again.inputs) and not np.array_equal(data.inputs, bits.bit_xor(50, n=5, patterns=2, patch_size=5, seed=9).inputs)


def test_a_patch_size_that_does_not_divide_n_is_refused():
    with pytest.raises(ConfigError, match="patch_size=3 must divide n=10"):
        bits.bit_memory(2, n=10, patterns=2, patch_size=3, mask_probability=0.5, seed=0)
