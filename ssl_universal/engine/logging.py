"""Run logging: JSONL metrics (the record reports read), TensorBoard, and the console."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write_text

log = logging.getLogger("ssl_universal")

METRICS_FILE = "metrics.jsonl"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class MetricsLogger:
    """Appends one JSON object per record to ``metrics.jsonl`` and mirrors scalars to TensorBoard.

    On resume the file is cut back to the resumed step, so a killed-and-resumed run leaves the
    same record as one never stopped. Records of ``once_splits`` (the test split, scored once at
    the very end) are dropped too: a resumed run writes them again.
    """

    def __init__(self, run_dir: Path, *, enabled: bool = True, tensorboard: bool = True, resume_step: int | None = None,
                 once_splits: tuple = ()):
        self.enabled = enabled
        self.path = run_dir / METRICS_FILE
        self._writer = None
        if not enabled:
            return
        if resume_step is not None and self.path.is_file():
            kept = []
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # the last line of a process killed while writing it
                    continue
                if record["step"] <= resume_step and record["split"] not in once_splits:
                    kept.append(line)
            atomic_write_text(self.path, "".join(f"{line}\n" for line in kept))
        elif resume_step is None and self.path.is_file():
            self.path.unlink()
        self._handle = open(self.path, "a")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"), purge_step=resume_step)
            except ImportError:  # tensorboard is a dependency, but a slim install may lack it
                log.warning("tensorboard is not installed; skipping TensorBoard logs")

    def log(self, step: int, split: str, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"step": step, "split": split, **{k: _clean(v) for k, v in values.items()}}
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()
        if self._writer is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._writer.add_scalar(f"{split}/{key}", value, step)

    def close(self) -> None:
        if not self.enabled:
            return
        self._handle.close()
        if self._writer is not None:
            self._writer.close()
