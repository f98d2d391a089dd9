"""Length-bucketed, deterministic, resumable batch planning (fixed batch size or token budget)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError, DataError


class BatchPlan:
    """Which examples form each batch of each epoch, computed from the example lengths alone.

    ``epoch_batches(epoch)`` is a pure function of ``(seed, epoch)`` and the constructor
    arguments, so resuming mid-epoch means recomputing the epoch's plan and skipping the
    batches already done — nothing is replayed and nothing is stored but two integers.

    Batches are *global*: under DDP each rank takes ``shard_batch(batch, rank, world_size)``.
    Pass ``min_batch_size=world_size`` and the plan guarantees every batch holds at least that
    many examples, so no rank is ever handed an empty shard (the last, short batch of a
    bucket borrows examples from its neighbour or merges into it). Such forced batches may
    exceed ``max_tokens``; they are counted in ``over_budget`` after each ``epoch_batches``.

    Size rules:
      * ``batch_size`` only: ``batch_size`` examples per batch; the remainder forms one short
        batch, or is dropped with ``drop_last`` (counted in ``dropped``).
      * ``max_tokens``: as many examples as fit ``len(batch) * padded longest <= max_tokens``
        (capped by ``batch_size`` when that is also given). An example longer than
        ``max_tokens`` is never dropped: it gets a batch of its own and is counted in
        ``oversize``.

    Order rules:
      * ``bucket_by_length`` and ``shuffle`` (training): shuffle all indices, cut them into
        chunks of about ``batch_size * bucket_size_multiplier`` examples, sort each chunk by
        length, cut chunks into batches, shuffle the batch order. Batches hold examples of
        similar length (little padding) while what meets what still changes every epoch.
      * ``shuffle`` without bucketing: plain shuffled batches.
      * ``shuffle=False`` (evaluation): a fixed order — sorted by length when bucketing, in
        dataset order otherwise — identical for every epoch.

    The number of batches is the same in every epoch except with ``max_tokens`` and
    ``shuffle`` together, where it depends on which examples meet; ``len(plan)`` then raises
    ``TypeError`` and ``num_batches(epoch)`` gives the exact count of a given epoch.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        *,
        batch_size: int | None = None,
        max_tokens: int | None = None,
        bucket_by_length: bool = True,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        bucket_size_multiplier: int = 100,
        pad_to_multiple_of: int = 1,
        min_batch_size: int = 1,
    ):
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if self.lengths.ndim != 1:
            raise DataError(f"BatchPlan: lengths must be 1-D (one per example); got shape {self.lengths.shape}")
        if self.lengths.size and self.lengths.min() < 0:
            raise DataError(f"BatchPlan: example {int(self.lengths.argmin())} has negative length {self.lengths.min()}")
        if batch_size is None and max_tokens is None:
            raise ConfigError("BatchPlan: give batch_size, max_tokens or both; got neither")
        for name, value in (("batch_size", batch_size), ("max_tokens", max_tokens)):
            if value is not None and value < 1:
                raise ConfigError(f"BatchPlan: {name} must be >= 1; got {value}")
        if drop_last and max_tokens is not None:
            raise ConfigError(
                "BatchPlan: drop_last applies to fixed-size batches only; with max_tokens no batch is 'short'. "
                "Set drop_last: false or use batch_size without max_tokens"
            )
        if min(bucket_size_multiplier, pad_to_multiple_of, min_batch_size) < 1:
            raise ConfigError(
                "BatchPlan: bucket_size_multiplier, pad_to_multiple_of and min_batch_size must be >= 1; got "
                f"{bucket_size_multiplier}, {pad_to_multiple_of}, {min_batch_size}"
            )
        if batch_size is not None and batch_size < min_batch_size:
            raise ConfigError(
                f"BatchPlan: batch_size={batch_size} is smaller than min_batch_size={min_batch_size} (the world size): "
                "every rank needs at least one example per batch; raise batch_size"
            )
        if 0 < self.lengths.size < min_batch_size:
            raise DataError(
                f"BatchPlan: the dataset has {self.lengths.size} examples but every batch needs "
                f"min_batch_size={min_batch_size} (one per rank); run on fewer processes"
            )
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.bucket_by_length = bucket_by_length
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.bucket_size_multiplier = bucket_size_multiplier
        self.pad_to_multiple_of = pad_to_multiple_of
        self.min_batch_size = min_batch_size
        # The budget counts padded positions, so plan with lengths rounded up as the collator pads them.
        multiple = pad_to_multiple_of
        self.padded_lengths = -(-self.lengths // multiple) * multiple
        self.oversize = int((self.padded_lengths > max_tokens).sum()) if max_tokens is not None else 0
        self.dropped = 0  # examples left out by drop_last in the latest epoch_batches call
        self.over_budget = 0  # multi-example batches above max_tokens because of min_batch_size
        self._memo: tuple[int, list[np.ndarray]] | None = None

    # -- public API ---------------------------------------------------------------------------
    @property
    def constant_length(self) -> bool:
        """Whether every epoch has the same number of batches (so ``len(plan)`` is defined)."""
        return self.max_tokens is None or not self.shuffle

    def __len__(self) -> int:
        if not self.constant_length:
            raise TypeError(
                "BatchPlan: with max_tokens and shuffle the number of batches differs between epochs; "
                "call num_batches(epoch)"
            )
        return self.num_batches(0)

    def num_batches(self, epoch: int) -> int:
        """Exact number of batches in ``epoch``."""
        return len(self.epoch_batches(epoch))

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """The global batches of ``epoch`` in training order, each an int64 array of example indices."""
        if self._memo is not None and self._memo[0] == epoch:
            return list(self._memo[1])
        rng = np.random.default_rng([self.seed, epoch]) if self.shuffle else None
        order, chunk_bounds = self._ordered_indices(rng)
        batches: list[np.ndarray] = []
        for start, stop in chunk_bounds:
            batches.extend(self._pack(order[start:stop], sorted_by_length=self.bucket_by_length))
        self.dropped = 0
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            self.dropped = len(batches.pop())
        self.over_budget = 0
        if self.max_tokens is not None and self.min_batch_size > 1:  # otherwise only lone oversize examples exceed
            self.over_budget = sum(
                1 for b in batches if len(b) > 1 and len(b) * int(self.padded_lengths[b].max()) > self.max_tokens
            )
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        self._memo = (epoch, batches)
        return list(batches)

    # -- internals ----------------------------------------------------------------------------
    def _chunk_size(self) -> int:
        """Examples per sorting chunk: about ``bucket_size_multiplier`` batches."""
        if self.batch_size is not None and self.max_tokens is None:
            per_batch = self.batch_size
        else:
            mean_length = max(float(self.padded_lengths.mean()) if self.lengths.size else 1.0, 1.0)
            per_batch = max(1, int(self.max_tokens // mean_length))
            if self.batch_size is not None:
                per_batch = min(per_batch, self.batch_size)
        return max(per_batch * self.bucket_size_multiplier, self.min_batch_size)

    def _ordered_indices(self, rng: np.random.Generator | None) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """All indices in planning order, and the [start, stop) chunks that are packed separately."""
        n = self.lengths.size
        if not self.bucket_by_length:
            order = rng.permutation(n) if rng is not None else np.arange(n)
            return order, [(0, n)]
        if rng is None:  # evaluation: one global sort gives the least padding
            return np.argsort(self.lengths, kind="stable"), [(0, n)]
        chunk = self._chunk_size()
        # The remainder joins the last chunk so no chunk is tiny (fixed-size chunks stay
        # multiples of batch_size, leaving at most one short batch per epoch).
        n_chunks = max(1, n // chunk)
        perm = rng.permutation(n)
        chunk_id = np.minimum(np.arange(n) // chunk, n_chunks - 1)
        order = perm[np.lexsort((self.lengths[perm], chunk_id))]  # stable: equal lengths keep the random order
        bounds = [(i * chunk, (i + 1) * chunk if i < n_chunks - 1 else n) for i in range(n_chunks)]
        return order, bounds

    def _pack(self, indices: np.ndarray, *, sorted_by_length: bool) -> list[np.ndarray]:
        """Cut one run of indices into batches, respecting the size rules and ``min_batch_size``."""
        n = indices.size
        if n == 0:
            return []
        if self.max_tokens is None:
            cuts = list(range(self.batch_size, n, self.batch_size))
        elif sorted_by_length:
            cuts = self._token_cuts_sorted(self.padded_lengths[indices])
        else:
            cuts = self._token_cuts_unsorted(self.padded_lengths[indices].tolist())
        edges = [0, *cuts, n]
        if len(edges) > 2 and edges[-1] - edges[-2] < self.min_batch_size and not self.drop_last:
            # Short tail: take what it lacks from the previous batch, or merge when that would leave it short.
            lacking = self.min_batch_size - (edges[-1] - edges[-2])
            if edges[-2] - edges[-3] - lacking >= self.min_batch_size:
                edges[-2] -= lacking
            else:
                del edges[-2]
        return [indices[a:b] for a, b in itertools.pairwise(edges)]

    def _caps(self, padded: np.ndarray) -> np.ndarray:
        """Most examples a batch may hold when its longest example has each given padded length."""
        caps = self.max_tokens // np.maximum(padded, 1)
        if self.batch_size is not None:
            caps = np.minimum(caps, self.batch_size)
        return np.maximum(caps, max(1, self.min_batch_size))

    def _token_cuts_sorted(self, padded: np.ndarray) -> list[int]:
        """Greedy token-budget batches over ascending lengths, one binary search per batch.

        In ascending order a batch [s, j] is led by example j, so it fits when
        ``j - s + 1 <= caps[j]``, i.e. ``s >= first_start[j] = j + 1 - caps[j]``. ``caps`` never
        grows along the order, so ``first_start`` strictly increases and the furthest end for a
        start ``s`` is found by ``searchsorted``.
        """
        n = padded.size
        first_start = np.arange(1, n + 1) - self._caps(padded)
        cuts, start = [], 0
        while True:
            end = int(np.searchsorted(first_start, start, side="right"))  # one past the batch's last example
            if end >= n:
                return cuts
            cuts.append(end)
            start = end

    def _token_cuts_unsorted(self, padded: list[int]) -> list[int]:
        """Greedy token-budget batches in the given order (running maximum, so one pass in Python)."""
        budget, cap_count = self.max_tokens, self.batch_size or len(padded)
        floor = max(1, self.min_batch_size)
        cuts, count, longest = [], 0, 0
        for i, length in enumerate(padded):
            grown = max(longest, length)
            if count >= floor and (count + 1 > cap_count or (count + 1) * grown > budget):
                cuts.append(i)
                count, grown = 0, length
            count += 1
            longest = grown
        return cuts


def shard_batch(batch: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """This rank's part of a global batch: every ``world_size``-th example starting at ``rank``.

    Striding (rather than contiguous slices) spreads long and short examples of a
    length-sorted batch evenly over the ranks.
    """
    if not 0 <= rank < world_size:
        raise ConfigError(f"shard_batch: rank must be in [0, {world_size}); got {rank}")
    return batch[rank::world_size]


def padding_efficiency(
    lengths: Sequence[int] | np.ndarray, batches: Sequence[np.ndarray], *, pad_to_multiple_of: int = 1
) -> float:
    """Real tokens divided by padded tokens over ``batches`` (1.0 means no padding at all)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    real = padded = 0
    for batch in batches:
        if len(batch) == 0:
            continue
        sizes = lengths[batch]
        longest = -(-int(sizes.max()) // pad_to_multiple_of) * pad_to_multiple_of
        real += int(sizes.sum())
        padded += longest * len(batch)
    return real / padded if padded else 1.0
