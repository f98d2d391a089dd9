"""Peak memory of building and reading a synthetic tokenised corpus through the disk cache, at several sizes.

Each measurement runs in a fresh process (peak RSS only ever grows). Reported per size:
build and full-read times, peak RSS (``ru_maxrss``), and the peak of anonymous memory
(``RssAnon``: heap the process owns) sampled while building and reading. Pages of the memory-mapped
files count in RSS while touched but are clean page cache the kernel can drop at will, so
the anonymous peak is the number that must stay flat as the corpus grows. For contrast,
``--in-memory`` holds the same corpus as a list of arrays.

    python tools/bench_cache.py --tokens 2000000 20000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def _rss_anon_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _examples(num_tokens: int, peak: list[float], seed: int = 0):
    rng = np.random.default_rng(seed)
    made = count = 0
    while made < num_tokens:
        count += 1
        if count % 500 == 0:
            peak[0] = max(peak[0], _rss_anon_mb())
        n = int(min(rng.integers(50, 500), num_tokens - made))
        made += n
        yield {"input_ids": rng.integers(5, 30000, size=n, dtype=np.int32), "label": int(rng.integers(0, 3))}


def measure(num_tokens: int, in_memory: bool) -> dict:
    from ssl_universal.data.cache import cached_dataset

    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start_anon = _rss_anon_mb()
    build_peak = [start_anon]
    with tempfile.TemporaryDirectory() as root:
        t0 = time.perf_counter()
        if in_memory:
            data = list(_examples(num_tokens, build_peak))
        else:
            data = cached_dataset(root, {"bench": num_tokens}, lambda: _examples(num_tokens, build_peak))
        build_s = time.perf_counter() - t0
        read_start = _rss_anon_mb()
        peak_anon, total, t0 = read_start, 0, time.perf_counter()
        for i in range(len(data)):
            total += int(data[i]["input_ids"][-1])  # touch every example's last page
            if i % 2000 == 0:
                peak_anon = max(peak_anon, _rss_anon_mb())
        read_s = time.perf_counter() - t0
        peak_anon = max(peak_anon, _rss_anon_mb())
    return {
        "tokens": num_tokens,
        "mode": "in-memory list" if in_memory else "disk cache",
        "examples": len(data),
        "build_s": round(build_s, 2),
        "read_s": round(read_s, 2),
        "start_rss_mb": round(start_rss, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "anon_growth_mb": round(max(build_peak[0], peak_anon) - start_anon, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[2_000_000, 20_000_000])
    parser.add_argument("--in-memory", action="store_true", help="also measure a plain list of arrays")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-in-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child, args.child_in_memory)))
        return 0
    rows = []
    for tokens in args.tokens:
        for in_memory in ([False, True] if args.in_memory else [False]):
            command = [sys.executable, __file__, "--child", str(tokens)] + (["--child-in-memory"] if in_memory else [])
            rows.append(json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout))
    print("| tokens | storage | examples | build s | read s | RSS after imports MB | peak RSS MB "
          "| anonymous-memory growth MB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['tokens']:,} | {r['mode']} | {r['examples']:,} | {r['build_s']} | {r['read_s']} "
              f"| {r['start_rss_mb']} | {r['peak_rss_mb']} | {r['anon_growth_mb']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
