"""What a run says on the console: a start line, a periodic status line, and its wall and CPU time."""

from __future__ import annotations

import logging
import time
from typing import Any

import torch

log = logging.getLogger("ssl_universal")


def start_line(task: Any, model: torch.nn.Module, cfg: Any, *, device: torch.device, total_steps: int,
               steps_per_epoch: int, start_step: int, world_size: int) -> str:
    """One line with everything a reader of the log needs to know the run is the one they meant."""
    counts = []
    for split in dict.fromkeys(("train", cfg.eval_split, cfg.test_split)):
        if split is None:
            continue
        try:
            counts.append(f"{split} {len(task.dataset(split))}")
        except (FileNotFoundError, KeyError):
            counts.append(f"{split} -")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    backbone = getattr(model, "backbone_name", type(model).__name__)
    epochs = f"{total_steps / max(steps_per_epoch, 1):.1f} epochs of {steps_per_epoch} steps"
    resumed = f", resuming at step {start_step}" if start_step else ""
    return (f"training {backbone}: {trainable:,} of {total:,} parameters trainable; examples {', '.join(counts)}; "
            f"{total_steps} steps ({epochs}){resumed}; batch {cfg.batch_size if cfg.max_tokens is None else f'{cfg.max_tokens} tokens'}"
            f" x {cfg.grad_accum_steps} accumulation on {world_size} process(es); device {device}, "
            f"{torch.get_num_threads()} threads, {cfg.precision}")


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class Clock:
    """Wall and CPU seconds of training, carried across resumes (the checkpointed totals plus this process's)."""

    def __init__(self, wall_before: float = 0.0, cpu_before: float = 0.0):
        self.wall_before, self.cpu_before = wall_before, cpu_before
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()
        self._step0: int | None = None
        self._step_wall0 = self._wall0

    @property
    def wall(self) -> float:
        return self.wall_before + time.perf_counter() - self._wall0

    @property
    def cpu(self) -> float:
        return self.cpu_before + time.process_time() - self._cpu0

    def status(self, step: int, total_steps: int, loss: float, examples_per_s: float) -> str:
        """``step 130/650 (20%) loss 0.4213 85.2 ex/s elapsed 1m32s eta 6m08s``; the rate of this process's steps."""
        if self._step0 is None:
            self._step0, self._step_wall0 = step, time.perf_counter()
            eta = "?"
        else:
            done = step - self._step0
            per_step = (time.perf_counter() - self._step_wall0) / max(done, 1)
            eta = _duration(per_step * (total_steps - step)) if done else "?"
        return (f"step {step}/{total_steps} ({100 * step / max(total_steps, 1):.0f}%) loss {loss:.4f} "
                f"{examples_per_s:.1f} ex/s elapsed {_duration(self.wall)} eta {eta}")
