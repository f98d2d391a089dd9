"""What a resumed run must get back, and how the trainer saves and restores it (a part of :class:`Trainer`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CheckpointError
from . import checkpoint as ckpt
from . import distributed

log = logging.getLogger("ssl_universal")


@dataclass
class Progress:
    """Everything about where training is that a resumed run must restore (besides weights)."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current pass over train
    batch_in_epoch: int = 0  # global batches of this epoch already consumed
    best_value: float | None = None
    best_step: int | None = None
    evals_since_best: int = 0  # evals since the metric last beat ``patience_ref`` by more than min_delta
    patience_ref: float | None = None  # the value that last reset the early-stopping count
    nonfinite_skipped: int = 0
    window_loss: float = 0.0  # train-loss sum since the last log line
    window_count: int = 0
    last_eval_step: int = -1
    best_eval: dict = field(default_factory=dict)  # eval metrics at best_step
    wall_s: float = 0.0  # training wall seconds before this process (summed over resumed segments)
    cpu_s: float = 0.0  # CPU seconds of those segments (all threads)


class CheckpointedState:
    """Checkpointing of :class:`~ssl_universal.engine.trainer.Trainer`: its weights, optimizer, scheduler,
    loss scaler, progress, every RNG of every rank and the task's own generators."""

    # -- state ----------------------------------------------------------------------------
    def _trainer_state(self, rng_per_rank: list[dict]) -> dict:
        p = self.progress
        return {
            "progress": {k: v for k, v in vars(p).items() if k != "best_eval"},
            "best_eval": json.dumps(p.best_eval),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            # Each process's own streams (dropout differs per rank) and its task's generators.
            "rng_per_rank": rng_per_rank,
            "world_size": self.dist.world_size,
        }

    def save(self) -> None:
        """Checkpoint the current step (every rank takes part; rank 0 writes)."""
        rng = distributed.gather_objects({"global": ckpt.rng_state(), "task": self.task.rng_state()}, self.dist)
        clock = getattr(self, "clock", None)
        if clock is not None:  # the time spent so far travels with the checkpoint
            self.progress.wall_s, self.progress.cpu_s = clock.wall, clock.cpu
        if self.dist.is_main:
            meta = {"epoch": self.progress.epoch, "batch_in_epoch": self.progress.batch_in_epoch,
                    "world_size": self.dist.world_size}
            ckpt.save_checkpoint(self.ckpt_dir, self.progress.step, self.model.state_dict(), self._trainer_state(rng),
                                 meta, keep_last=self.cfg.keep_last)
        self._saved_step = self.progress.step
        distributed.barrier(self.dist)

    def resume(self) -> bool:
        """Restore the newest checkpoint under ``run_dir`` that loads; False when there is none.

        Reads only: nothing in ``run_dir`` changes here. A checkpoint that fails to load (a
        truncated file, another model's weights) is skipped with a warning for the next older
        one, the same on every rank; when none loads, a CheckpointError lists why each failed.
        Calling it again returns the first answer.
        """
        if self._resume_done:
            return self.resumed_from is not None
        self._resume_done = True
        folder = ckpt.restore_newest(self.ckpt_dir, self._restore, self.dist)
        if folder is None:
            return False
        log.info("resumed from %s (step %d)", folder, self.progress.step)
        self.resumed_from, self._saved_step = folder, self.progress.step
        return True

    def _restore(self, folder: Path) -> None:
        """Load every part of checkpoint ``folder``; any mismatch is a CheckpointError naming the file."""
        weights, state, _ = ckpt.load_checkpoint(folder)
        try:
            self.model.load_state_dict(weights)
        except Exception as err:  # noqa: BLE001 - missing keys, size mismatches
            raise CheckpointError(f"{folder / ckpt.MODEL_FILE}: the weights do not fit the model this config builds "
                                  f"({type(err).__name__}: {ckpt.first_lines(err)})") from err
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
            per_rank = state.get("rng_per_rank") or [{"global": state["rng"], "task": {}}]
            saved_world = state.get("world_size", 1)
            own = per_rank[self.dist.rank] if len(per_rank) == self.dist.world_size else per_rank[0]
            ckpt.set_rng_state(own["global"])
            self.task.load_rng_state(own.get("task", {}))
            self.progress = Progress(**state["progress"], best_eval=json.loads(state["best_eval"]))
            if self.progress.patience_ref is None:  # a checkpoint from before min_delta existed
                self.progress.patience_ref = self.progress.best_value
        except Exception as err:  # noqa: BLE001 - a state of another optimizer, task or version
            raise CheckpointError(f"{folder / ckpt.STATE_FILE}: the trainer state does not fit this run "
                                  f"({type(err).__name__}: {ckpt.first_lines(err)})") from err
        if saved_world != self.dist.world_size:
            log.warning("resuming a run saved with %s processes on %s: the batch order stays the same, "
                        "per-rank RNG streams do not", saved_world, self.dist.world_size)

