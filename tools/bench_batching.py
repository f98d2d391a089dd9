"""Padding efficiency and planning time of BatchPlan with and without length bucketing.

    python tools/bench_batching.py --examples 1000000
    python tools/bench_batching.py --recipe protein/amp      # a recipe's evaluation splits: dataset order vs sorted
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ssl_universal.data.batching import BatchPlan, padding_efficiency


def recipe_eval_padding(recipe: str, overrides: list[str]) -> None:
    """Padded tokens of a recipe's valid and test batches as the engine plans them, in dataset order and sorted."""
    from ssl_universal.config import load_config
    from ssl_universal.run import build_task

    cfg = load_config([f"recipe={recipe}", *overrides])
    task = build_task(cfg)  # the lengths only: no backbone to load
    batch_size = cfg.trainer.eval_batch_size or 2 * cfg.trainer.batch_size
    print(f"recipe {recipe}: evaluation batch {batch_size}")
    print("| split | examples | order | batches | real tokens | padded tokens | padding efficiency |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for split in ("valid", "test"):
        lengths = np.asarray(task.lengths(split), dtype=np.int64)
        for bucket, order in ((False, "dataset order"), (True, "sorted by length (eval_by_length)")):
            batches = BatchPlan(lengths, batch_size=batch_size, max_tokens=cfg.trainer.max_tokens,
                                bucket_by_length=bucket, shuffle=False, seed=0).epoch_batches(0)
            padded = sum(int(lengths[b].max()) * len(b) for b in batches if len(b))
            print(f"| {split} | {len(lengths):,} | {order} | {len(batches)} | {int(lengths.sum()):,} | {padded:,} | "
                  f"{padding_efficiency(lengths, batches):.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--recipe", default=None, help="measure this recipe's valid/test batches instead")
    parser.add_argument("--overrides", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    if args.recipe:
        recipe_eval_padding(args.recipe, args.overrides)
        return 0
    # Sentence-like lengths: log-normal, 5..512 tokens, median ~40.
    rng = np.random.default_rng(0)
    lengths = np.clip(rng.lognormal(3.7, 0.7, size=args.examples).astype(np.int64), 5, 512)
    settings = [
        ("batch_size=32", {"batch_size": 32}),
        ("max_tokens=8192", {"max_tokens": 8192}),
    ]
    print(f"{args.examples:,} examples, mean length {lengths.mean():.1f}")
    print("| batches by | bucketing | batches | plan s | padding efficiency |")
    print("|---|---|---:|---:|---:|")
    for name, kwargs in settings:
        for bucket in (True, False):
            plan = BatchPlan(lengths, bucket_by_length=bucket, seed=0, **kwargs)
            start = time.perf_counter()
            batches = plan.epoch_batches(0)
            seconds = time.perf_counter() - start
            efficiency = padding_efficiency(lengths, batches)
            print(f"| {name} | {'yes' if bucket else 'no'} | {len(batches):,} | {seconds:.2f} | {efficiency:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
