"""Generated bit tasks of the FPT paper: bit memory (recall a stored pattern from a half-masked query) and bit XOR.

Both follow kzl/universal-computation (``datasets/bit_memory.py``, ``datasets/bit_xor.py``) and are pure
functions of their seed. Inputs are float arrays [examples, vectors, patch_size]; labels are one bit
(0/1) per output bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ssl_universal.errors import ConfigError


@dataclass
class BitSet:
    """Generated examples: ``inputs`` [N, T, patch], ``labels`` [N, n] in {0, 1}, ``masked`` [N, n] (bit memory)."""

    inputs: np.ndarray
    labels: np.ndarray
    masked: np.ndarray | None = None


def _patches(flat: np.ndarray, patch_size: int, what: str) -> np.ndarray:
    if flat.shape[1] % patch_size:
        raise ConfigError(f"{what}: patch_size={patch_size} does not divide the {flat.shape[1]} input bits")
    return flat.reshape(flat.shape[0], flat.shape[1] // patch_size, patch_size).astype(np.float32)


def bit_memory(count: int, *, n: int, patterns: int, patch_size: int, mask_probability: float, seed: int) -> BitSet:
    """``count`` examples: ``patterns`` random ±1 strings of ``n`` bits, then one of them again as the query
    with each bit zeroed (hidden) with ``mask_probability``; the label is the whole query string.

    The input is the ``patterns + 1`` strings one after the other, cut into vectors of ``patch_size`` bits, so
    the query is the last ``n / patch_size`` vectors. The reference: n=1000, 5 patterns, patches of 50, each
    query bit hidden with probability 1/2 (so copying the visible half scores 75% per bit).
    """
    if n % patch_size:
        raise ConfigError(f"bit memory: patch_size={patch_size} must divide n={n}")
    rng = np.random.default_rng([seed, 1])
    bits = rng.integers(0, 2, size=(count, patterns, n)) * 2 - 1
    which = rng.integers(0, patterns, size=count)
    query = bits[np.arange(count), which]
    masked = rng.random(size=(count, n)) < mask_probability
    shown = np.where(masked, 0, query)
    flat = np.concatenate([bits.reshape(count, patterns * n), shown], axis=1)
    return BitSet(_patches(flat, patch_size, "bit memory"), (query > 0).astype(np.int64), masked)


def bit_xor(count: int, *, n: int, patterns: int, patch_size: int, seed: int) -> BitSet:
    """``count`` examples: ``patterns`` random 0/1 strings of ``n`` bits; the label is their bitwise XOR.

    The reference: n=5, two strings, one vector per string (patch_size = n).
    """
    if n % patch_size:
        raise ConfigError(f"bit XOR: patch_size={patch_size} must divide n={n}")
    rng = np.random.default_rng([seed, 2])
    bits = rng.integers(0, 2, size=(count, patterns, n))
    xor = np.bitwise_xor.reduce(bits, axis=1)
    return BitSet(_patches(bits.reshape(count, patterns * n), patch_size, "bit XOR"), xor.astype(np.int64))
