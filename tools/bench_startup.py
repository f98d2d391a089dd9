"""Start-up wall time of the `ssl-universal` command: `--help` (no torch, no plugin) and `list` (discovery).

    python tools/bench_startup.py --repeats 5

Each command runs as a fresh process `repeats` times, interleaved so load on a shared machine
hits both alike; the table gives the median and the fastest run, and whether `--help` imported
torch (it must not).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "ssl-universal --help": ["--help"],
    "ssl-universal list": ["list"],
}


def wall_time(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ssl_universal.cli", *args], check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def help_imports_torch() -> bool:
    code = "import sys; from ssl_universal.cli import main; main(['--help']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120)
    return out.stdout.strip().splitlines()[-1] == "True"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    wall_time(["list"])  # warm the file cache once, untimed
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(wall_time(command))
    print("| command | median s | fastest s | runs |\n|---|---:|---:|---:|")
    for name, values in times.items():
        print(f"| `{name}` | {statistics.median(values):.2f} | {min(values):.2f} | {len(values)} |")
    print(f"`--help` imports torch: {'yes' if help_imports_torch() else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
