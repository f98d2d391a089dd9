"""Batch planning: determinism, coverage, token budgets, bucketing and DDP sharding."""

import numpy as np
import pytest

from ssl_universal.data.batching import BatchPlan, padding_efficiency, shard_batch
from ssl_universal.errors import ConfigError, DataError


def _lengths(n=1000, seed=0):
    return np.random.default_rng(seed).integers(1, 200, size=n)


def _flat(batches):
    return np.concatenate(batches) if batches else np.array([], dtype=np.int64)


PLANS = [
    dict(batch_size=16),
    dict(batch_size=16, bucket_by_length=False),
    dict(max_tokens=2048),
    dict(max_tokens=2048, bucket_by_length=False),
    dict(max_tokens=2048, batch_size=8),
    dict(max_tokens=2048, pad_to_multiple_of=8, min_batch_size=4),
]


@pytest.mark.parametrize("kwargs", PLANS)
def test_every_example_exactly_once_and_deterministic(kwargs):
    lengths = _lengths()
    plan = BatchPlan(lengths, seed=3, **kwargs)
    first = plan.epoch_batches(0)
    assert np.array_equal(np.sort(_flat(first)), np.arange(len(lengths)))
    again = BatchPlan(lengths, seed=3, **kwargs).epoch_batches(0)
    assert len(again) == len(first) and all(np.array_equal(a, b) for a, b in zip(first, again))
    second = plan.epoch_batches(1)
    assert np.array_equal(np.sort(_flat(second)), np.arange(len(lengths)))
    assert not np.array_equal(_flat(first), _flat(second))
    other_seed = BatchPlan(lengths, seed=4, **kwargs).epoch_batches(0)
    assert not np.array_equal(_flat(first), _flat(other_seed))
    assert plan.num_batches(1) == len(second)


def test_len_matches_every_epoch_for_fixed_size():
    plan = BatchPlan(_lengths(1003), batch_size=10, seed=1)
    assert len(plan) == 101
    assert all(len(plan.epoch_batches(e)) == len(plan) for e in range(4))


def test_len_refuses_when_count_varies():
    plan = BatchPlan(_lengths(), max_tokens=1000)
    with pytest.raises(TypeError, match="num_batches"):
        len(plan)
    fixed = BatchPlan(_lengths(), max_tokens=1000, shuffle=False)
    assert len(fixed) == len(fixed.epoch_batches(3)) > 0


def test_token_budget_respected_and_oversize_kept():
    lengths = _lengths()
    lengths[[5, 77]] = [600, 900]  # longer than the budget alone
    plan = BatchPlan(lengths, max_tokens=500, seed=0)
    batches = plan.epoch_batches(0)
    assert plan.oversize == 2
    for b in batches:
        if len(b) > 1:
            assert len(b) * lengths[b].max() <= 500
    singles = [b for b in batches if len(b) == 1 and lengths[b[0]] > 500]
    assert sorted(int(b[0]) for b in singles) == [5, 77]
    assert np.array_equal(np.sort(_flat(batches)), np.arange(len(lengths)))


def test_batch_size_caps_token_batches():
    batches = BatchPlan(np.full(100, 3), max_tokens=1000, batch_size=8).epoch_batches(0)
    assert max(len(b) for b in batches) == 8


def test_pad_to_multiple_counts_in_budget():
    lengths = np.full(64, 9)  # padded to 16 each
    plan = BatchPlan(lengths, max_tokens=64, pad_to_multiple_of=16, shuffle=False)
    assert {len(b) for b in plan.epoch_batches(0)} == {4}


def test_bucketing_reduces_padding():
    lengths = _lengths(5000)
    bucketed = BatchPlan(lengths, batch_size=32, seed=0)
    plain = BatchPlan(lengths, batch_size=32, bucket_by_length=False, seed=0)
    eff_bucketed = padding_efficiency(lengths, bucketed.epoch_batches(0))
    eff_plain = padding_efficiency(lengths, plain.epoch_batches(0))
    assert eff_bucketed > 0.95
    assert eff_plain < 0.7


def test_drop_last_counts_what_it_drops():
    plan = BatchPlan(_lengths(103), batch_size=10, drop_last=True, seed=2)
    batches = plan.epoch_batches(0)
    assert len(batches) == len(plan) == 10 and all(len(b) == 10 for b in batches)
    assert plan.dropped == 3
    kept = BatchPlan(_lengths(103), batch_size=10, seed=2)
    assert sum(len(b) for b in kept.epoch_batches(0)) == 103 and kept.dropped == 0
    with pytest.raises(ConfigError, match="drop_last"):
        BatchPlan(_lengths(), max_tokens=100, drop_last=True)


def test_shuffle_false_is_fixed_and_sorted():
    lengths = _lengths(300)
    plan = BatchPlan(lengths, batch_size=7, shuffle=False)
    a, b = plan.epoch_batches(0), plan.epoch_batches(5)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert np.all(np.diff(lengths[_flat(a)]) >= 0)
    in_order = BatchPlan(lengths, batch_size=7, shuffle=False, bucket_by_length=False).epoch_batches(0)
    assert np.array_equal(_flat(in_order), np.arange(300))


@pytest.mark.parametrize("kwargs", [dict(batch_size=10), dict(max_tokens=300), dict(max_tokens=300, bucket_by_length=False)])
def test_min_batch_size_gives_every_rank_an_example(kwargs):
    lengths = _lengths(1001)
    lengths[0] = 5000  # oversize: must still share a batch with world_size - 1 others
    plan = BatchPlan(lengths, min_batch_size=4, seed=0, **kwargs)
    batches = plan.epoch_batches(0)
    assert min(len(b) for b in batches) >= 4
    assert np.array_equal(np.sort(_flat(batches)), np.arange(len(lengths)))
    if "max_tokens" in kwargs:
        assert plan.over_budget >= 1  # the oversize example's batch, counted rather than hidden


def test_min_batch_size_larger_than_dataset_is_an_error():
    with pytest.raises(DataError, match="min_batch_size=4"):
        BatchPlan([3, 4, 5], batch_size=4, min_batch_size=4)


def test_shards_partition_the_batch():
    batch = np.arange(10, 23)
    shards = [shard_batch(batch, r, 4) for r in range(4)]
    assert np.array_equal(np.sort(np.concatenate(shards)), batch)
    assert [len(s) for s in shards] == [4, 3, 3, 3]
    with pytest.raises(ConfigError):
        shard_batch(batch, 4, 4)


def test_empty_dataset_and_bad_arguments():
    assert BatchPlan([], batch_size=4).epoch_batches(0) == []
    with pytest.raises(ConfigError, match="neither"):
        BatchPlan([1, 2])
    with pytest.raises(DataError, match="1-D"):
        BatchPlan(np.ones((2, 2)), batch_size=1)


def test_million_examples_plan_quickly():
    lengths = np.random.default_rng(0).integers(5, 512, size=1_000_000)
    plan = BatchPlan(lengths, max_tokens=16384, seed=0)
    batches = plan.epoch_batches(0)
    assert sum(len(b) for b in batches) == 1_000_000
    assert padding_efficiency(lengths, batches) > 0.97
