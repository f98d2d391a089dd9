"""Wall time of one sweep run one by one vs side by side (``train -m --jobs N``), in one call, on this machine.

    python tools/bench_side_by_side.py --sweep recipe=dna/splice preset=quick seed=0,1,2,3 --jobs 2 --threads 1

Three ways, the same runs, one after another in this order: (a) one by one with ``--threads`` threads each; (b) one
by one with ``jobs x threads`` threads each (all cores on one run); (c) ``--jobs`` side by side with ``--threads``
each. (a) and (c) must give the same test numbers (checked: side by side changes no number). Prints a Markdown
table; ``--out FILE`` also writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def sweep(overrides: list[str], jobs: int, threads: int, folder: Path) -> tuple[float, list[dict]]:
    command = [sys.executable, "-m", "ssl_universal.cli", "train", "-m", *overrides, f"trainer.threads={threads}",
               "trainer.progress_bar=false", "trainer.tensorboard=false", "--jobs", str(jobs), "--sweep-dir", str(folder)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"bench_side_by_side: {' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, json.loads((folder / "sweep.json").read_text())["runs"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", nargs="+", required=True, metavar="KEY=VALUE", help="the sweep's overrides (with a comma list)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    ways = [("one by one", 1, args.threads), ("one by one, all cores on each run", 1, args.jobs * args.threads),
            ("side by side", args.jobs, args.threads)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, jobs, threads) in enumerate(ways):
            wall, runs = sweep(args.sweep, jobs, threads, Path(tmp) / f"way{index}")
            rows.append({"way": name, "jobs": jobs, "threads": threads, "wall_s": wall, "runs": len(runs),
                         "test": [r["test"] for r in runs]})
            print(f"{name}: {wall:.1f} s for {len(runs)} runs", flush=True)
    same = rows[0]["test"] == rows[2]["test"]
    base = rows[0]["wall_s"]
    print(f"\n`python tools/bench_side_by_side.py --sweep {' '.join(args.sweep)} --jobs {args.jobs} --threads {args.threads}`\n")
    print("| way | --jobs | threads per run | wall s | vs one by one |\n|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['way']} | {row['jobs']} | {row['threads']} | {row['wall_s']:.1f} | {base / row['wall_s']:.2f}× |")
    print(f"\nside by side gives the same test numbers as one by one: {same}")
    if args.out:
        args.out.write_text(json.dumps({"sweep": args.sweep, "rows": rows, "same_numbers": same}, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
