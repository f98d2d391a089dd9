"""Stages of a multi-step command (a table verb: make data, pre-train, fine-tune, report).

A stage runs once: when the file that marks it done exists, it is skipped, so a stopped command
resumes where it stopped. Each run stage's wall time is kept for the command's report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


class Stages:
    """Runs named stages in order, skipping finished ones, and notes their wall times (``timings``)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def stage(self, name: str, done: Path, fn: Callable[[], object]) -> None:
        """Run ``fn`` unless ``done`` exists; print what happens and record the seconds it took."""
        if Path(done).exists():
            print(f"[skip] {name}: {done} exists", flush=True)
            return
        start = time.perf_counter()
        print(f"[run] {name}", flush=True)
        fn()
        self.timings[name] = round(time.perf_counter() - start, 1)
        print(f"[done] {name} in {self.timings[name]} s", flush=True)
