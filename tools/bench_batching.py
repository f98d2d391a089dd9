"""Padding efficiency and planning time of BatchPlan with and without length bucketing.

    python tools/bench_batching.py --examples 1000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ssl_universal.data.batching import BatchPlan, padding_efficiency


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    args = parser.parse_args(argv)
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
