"""The one training loop: any Task with any Model, on CPU or GPU, alone or under torchrun."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import get_scheduler

from ..config import TrainerConfig
from ..data.batching import BatchPlan, shard_batch
from ..errors import ConfigError, NonFiniteLossError, TrainingInterrupted
from . import checkpoint as ckpt
from . import distributed, signals
from .console import Clock, start_line
from .logging import MetricsLogger
from .precision import autocast, grad_scaler, precision_advice
from .trainer_state import CheckpointedState, Progress

log = logging.getLogger("ssl_universal")

SCHEDULES = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}


def _to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on biases and normalisation weights (1-D tensors), as is standard."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class Trainer(CheckpointedState):
    """Train ``model`` on ``task`` as ``cfg`` says, writing everything under ``run_dir``."""

    def __init__(self, cfg: TrainerConfig, task: Any, model: torch.nn.Module, run_dir: str | Path, *,
                 seed: int = 0, dist: distributed.DistInfo | None = None, resume: bool = True):
        self.cfg = cfg
        self.allow_resume = resume
        self.task = task
        self.run_dir = Path(run_dir)  # nothing is written there before resume() has loaded a checkpoint
        self.seed = seed
        self.dist = dist or distributed.DistInfo(device=distributed.resolve_device(cfg.device))
        self.device = self.dist.device
        self.best_metric = cfg.best_metric or task.best_metric
        self.best_mode = cfg.best_mode or task.best_mode
        if self.best_mode not in ("max", "min"):
            raise ConfigError(f"trainer.best_mode: expected max or min, got {self.best_mode!r}")
        advice = precision_advice(cfg.precision, self.device)
        if advice and self.dist.is_main:
            log.warning(advice)

        self.model = model.to(self.device)  # the plain module: what is saved and loaded
        self.train_model: torch.nn.Module = self.model
        if cfg.compile:
            self.train_model = torch.compile(self.train_model)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.train_model, device_ids=ids)
        self.optimizer = self._build_optimizer()
        # Training length in optimizer steps: max_steps, or fewer when max_epochs ends the run first; the
        # schedule decays over it, so an epoch-measured run reaches the end of its schedule.
        self.steps_per_epoch = max(len(self._plan("train", train=True).epoch_batches(0)) // cfg.grad_accum_steps, 1)
        self.total_steps = cfg.max_steps if cfg.max_epochs is None else min(cfg.max_steps, cfg.max_epochs * self.steps_per_epoch)
        warmup = cfg.warmup_steps or int(cfg.warmup_ratio * self.total_steps)
        self.scheduler = get_scheduler(SCHEDULES[cfg.schedule], self.optimizer, num_warmup_steps=warmup,
                                       num_training_steps=self.total_steps)
        self.scaler = grad_scaler(cfg.precision, self.device)
        self.progress = Progress()
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.best_dir = self.run_dir / "best"
        self.resumed_from: Path | None = None  # the checkpoint resume() restored
        self._resume_done = False
        self._saved_step: int | None = None  # the step of the newest checkpoint this process wrote or read

    # -- setup ----------------------------------------------------------------------------
    def _build_optimizer(self) -> torch.optim.Optimizer:
        groups = _param_groups(self.model, self.cfg.weight_decay)
        if not any(g["params"] for g in groups):
            raise ConfigError("the model has no trainable parameters (check model.freeze_policy)")
        if self.cfg.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=self.cfg.lr, momentum=0.9)
        fused = self.device.type == "cuda"
        return torch.optim.AdamW(groups, lr=self.cfg.lr, betas=tuple(self.cfg.adam_betas), fused=fused)

    def _plan(self, split: str, *, train: bool) -> BatchPlan:
        cfg = self.cfg
        batch_size = cfg.batch_size if train else (cfg.eval_batch_size or 2 * cfg.batch_size)  # no gradients: room for more
        return BatchPlan(
            self.task.lengths(split), batch_size=batch_size, max_tokens=cfg.max_tokens,
            # Evaluation order cannot change a score, padding only costs time: sorted by length unless told
            # otherwise, whatever training does (a shuffled training order may have reasons not to sort).
            bucket_by_length=cfg.bucket_by_length if train else cfg.eval_by_length, shuffle=train, seed=self.seed,
            min_batch_size=self.dist.world_size if train else 1,
        )

    def _loader(self, split: str, batches: list) -> DataLoader:
        shards = [shard_batch(b, self.dist.rank, self.dist.world_size).tolist() for b in batches]
        return DataLoader(
            self.task.dataset(split), batch_sampler=[s for s in shards if s], collate_fn=self.task.collate,
            num_workers=self.cfg.num_workers, pin_memory=self.device.type == "cuda",
            # A private generator: creating a loader iterator would otherwise draw from the global
            # RNG, so a resumed run (one extra iterator) would get different dropout masks.
            generator=torch.Generator().manual_seed(self.seed),
            worker_init_fn=signals.ignore_stop_signals,  # a stop signal is the main process's to handle
        )

    # -- evaluation -----------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, split: str) -> dict[str, float]:
        """Score ``split`` with the current weights; identical on every rank."""
        was_training = self.model.training
        self.model.eval()
        steps = []
        for batch in self._loader(split, self._plan(split, train=False).epoch_batches(0)):
            with autocast(self.cfg.precision, self.device):
                steps.append(self.task.eval_step(self.model, _to_device(batch, self.device)))
        steps = [s for rank_steps in distributed.gather_objects(steps, self.dist) for s in rank_steps]
        self.model.train(was_training)
        total = sum(s["n"] for s in steps)
        metrics = {"loss": sum(s["loss"] * s["n"] for s in steps) / max(total, 1)}
        metrics.update(self.task.score(steps))
        return metrics

    def _improved(self, value: float, reference: float | None, margin: float = 0.0) -> bool:
        if reference is None:
            return True
        return value > reference + margin if self.best_mode == "max" else value < reference - margin

    def _patience_exhausted(self) -> bool:
        cfg, p = self.cfg, self.progress
        return (cfg.early_stopping_patience is not None and p.last_eval_step >= 0
                and p.evals_since_best >= cfg.early_stopping_patience and p.step >= cfg.early_stopping_min_steps)

    def _after_eval(self, metrics: dict, logger: MetricsLogger) -> bool:
        """Track the best checkpoint; True when early stopping says stop."""
        p = self.progress
        p.last_eval_step = p.step
        logger.log(p.step, self.cfg.eval_split, {"epoch": p.epoch, **metrics})
        if self.best_metric not in metrics:
            raise ConfigError(f"best metric {self.best_metric!r} is not among the eval metrics "
                              f"{sorted(metrics)}; set trainer.best_metric to one of them")
        value = float(metrics[self.best_metric])
        if self._improved(value, p.best_value):
            p.best_value, p.best_step, p.best_eval = value, p.step, dict(metrics)
            self._save_best()
        # patience counts from the last eval that beat its reference by more than min_delta; with
        # min_delta 0 that is the best eval, so the two rules coincide
        if self._improved(value, p.patience_ref, self.cfg.early_stopping_min_delta):
            p.patience_ref, p.evals_since_best = value, 0
        else:
            p.evals_since_best += 1
        return self._patience_exhausted()

    def _save_best(self) -> None:
        if not self.dist.is_main:
            return
        tmp = self.run_dir / ".best.tmp"
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        ckpt.save_weights(self.model.state_dict(), tmp / ckpt.MODEL_FILE)
        (tmp / "best.json").write_text(json.dumps({"step": self.progress.step, self.best_metric: self.progress.best_value}))
        if hasattr(self.model, "save_pretrained"):
            self.model.save_pretrained(tmp / "hf")
        old = self.run_dir / ".best.old"
        shutil.rmtree(old, ignore_errors=True)
        if self.best_dir.exists():
            self.best_dir.rename(old)
        tmp.rename(self.best_dir)
        shutil.rmtree(old, ignore_errors=True)

    # -- training -------------------------------------------------------------------------
    def _optimizer_step(self) -> None:
        if self.cfg.clip_grad_norm:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def fit(self) -> dict[str, Any]:
        """Train to the end (resuming first, unless told not to); returns the contents of ``results.json``.

        SIGTERM or SIGINT ends the run after the current optimizer step with a checkpoint of that
        step and raises :class:`TrainingInterrupted`; see :mod:`.signals`.
        """
        with signals.stop_signals() as stop:
            return self._fit(stop)

    def _stop_reason(self) -> str | None:
        """Why training is over at this point (``None`` while it goes on); also right after a resume."""
        cfg, p = self.cfg, self.progress
        if self._patience_exhausted():
            return "early_stopping"
        if p.step >= cfg.max_steps:
            return "max_steps"
        if cfg.max_epochs is not None and p.epoch >= cfg.max_epochs:
            return "max_epochs"
        return None

    def _save_step(self, epoch_batches: int) -> None:
        if self.progress.batch_in_epoch >= epoch_batches:  # the epoch is done: resume at the next one
            self.progress.epoch, self.progress.batch_in_epoch = self.progress.epoch + 1, 0
        self.save()

    def _interrupt(self, stop: signals.StopRequest, epoch_batches: int, *closing: Any) -> TrainingInterrupted:
        """Checkpoint the step just finished (unless it is on disk already) and say how to go on."""
        p = self.progress
        if self._saved_step != p.step and p.step > 0:
            self._save_step(epoch_batches)
        for item in closing:
            item.close()
        if self._saved_step is None:
            where = "no checkpoint yet: the run will start from step 0"
        else:
            where = f"checkpoint {self.ckpt_dir / ckpt.checkpoint_name(p.step)}"
        message = (f"stopped by {stop.name} after step {p.step} of {self.total_steps} ({where}); "
                   f"run the same command again to resume")
        if self.dist.is_main:
            log.warning(message)
        return TrainingInterrupted(message, signal_name=stop.name, step=p.step,
                                   checkpoint=None if self._saved_step is None else ckpt.checkpoint_name(p.step))

    def _fit(self, stop: signals.StopRequest) -> dict[str, Any]:
        cfg = self.cfg
        resumed = self.resume() if self.allow_resume else False
        p = self.progress
        stop.immediate = False  # from here on a signal lets the current step finish and checkpoints it
        if self.dist.is_main:  # the one writer (another rank would delete its live temporary files)
            self.run_dir.mkdir(parents=True, exist_ok=True)
            ckpt.remove_temporary_files(self.run_dir)
        logger = MetricsLogger(self.run_dir, enabled=self.dist.is_main, tensorboard=cfg.tensorboard,
                               resume_step=p.step if resumed else None, once_splits=(cfg.test_split,))
        plan = self._plan("train", train=True)
        self.model.train()
        clock = self.clock = Clock(p.wall_s, p.cpu_s)
        console = self.dist.is_main and not cfg.progress_bar  # with no bar, a status line every log_every steps
        if self.dist.is_main:
            log.info(start_line(self.task, self.model, cfg, device=self.device, total_steps=self.total_steps,
                                steps_per_epoch=self.steps_per_epoch, start_step=p.step, world_size=self.dist.world_size))
        bar = tqdm(total=self.total_steps, initial=p.step, disable=not (cfg.progress_bar and self.dist.is_main),
                   desc="train", dynamic_ncols=True)
        micro, skip_step = 0, False
        window_tokens, window_examples, window_start = 0, 0, time.perf_counter()
        stopped = self._stop_reason()  # a resumed run may be finished already
        batches: list = []
        while stopped is None:
            batches = plan.epoch_batches(p.epoch)
            loader = self._loader("train", batches[p.batch_in_epoch:])
            for batch in loader:
                p.batch_in_epoch += 1
                tokens = int(batch["attention_mask"].sum()) if "attention_mask" in batch else 0  # on CPU: no sync
                batch = _to_device(batch, self.device)
                last_micro = (micro + 1) % cfg.grad_accum_steps == 0
                with autocast(cfg.precision, self.device):
                    loss, _ = self.task.loss(self.train_model, batch)
                # One all-reduce per micro-batch says whether any rank's loss is non-finite; the one of a
                # step's last micro-batch also carries the stop flag, so every rank stops after the same
                # step at no extra cost (a signal that comes later in the step stops the next one).
                bad, stop_agreed = distributed.any_true_each(
                    [not bool(torch.isfinite(loss.detach())), last_micro and stop.requested], self.dist)
                if bad:
                    skip_step = True  # drop the whole optimizer step this micro-batch belongs to
                else:
                    sync = self.train_model.no_sync() if (self.dist.enabled and not last_micro) else _null()
                    with sync:
                        self.scaler.scale(loss / cfg.grad_accum_steps).backward()
                    p.window_loss += float(loss.detach())
                    p.window_count += 1
                    window_examples += _batch_size(batch)
                    window_tokens += tokens
                micro += 1
                if not last_micro:
                    continue
                if skip_step:
                    self.optimizer.zero_grad(set_to_none=True)
                    p.nonfinite_skipped += 1
                    skip_step = False
                    log.warning("non-finite loss at step %d: optimizer step skipped (%d so far)", p.step, p.nonfinite_skipped)
                    if p.nonfinite_skipped > cfg.max_nonfinite_steps:
                        logger.close()
                        raise NonFiniteLossError(
                            f"{p.nonfinite_skipped} optimizer steps had NaN/inf losses (limit trainer.max_nonfinite_steps="
                            f"{cfg.max_nonfinite_steps}); lower trainer.lr, enable trainer.clip_grad_norm, or use bf16 "
                            f"instead of fp16. Run dir: {self.run_dir}")
                else:
                    self._optimizer_step()
                    p.step += 1
                    bar.update(1)
                    if p.step % cfg.log_every == 0 and p.window_count:
                        elapsed = max(time.perf_counter() - window_start, 1e-9)
                        values = {"epoch": p.epoch, "loss": p.window_loss / p.window_count,
                                  "lr": self.scheduler.get_last_lr()[0],
                                  "examples_per_s": window_examples * self.dist.world_size / elapsed,
                                  "tokens_per_s": window_tokens * self.dist.world_size / elapsed}
                        logger.log(p.step, "train", values)
                        bar.set_postfix(loss=f"{values['loss']:.4f}")
                        if console:
                            log.info(clock.status(p.step, self.total_steps, values["loss"], values["examples_per_s"]))
                        p.window_loss, p.window_count = 0.0, 0
                        window_tokens, window_examples, window_start = 0, 0, time.perf_counter()
                    if p.step % cfg.eval_every == 0 or p.step >= cfg.max_steps:
                        self._after_eval(self.evaluate(cfg.eval_split), logger)
                    stopped = self._stop_reason()
                    if p.step % cfg.save_every == 0 or stopped is not None:
                        self._save_step(len(batches))
                    if stopped is not None:
                        break
                # The end of an optimizer step (taken or skipped): stop here if any rank was signalled.
                if stop_agreed if self.dist.enabled else stop.requested:
                    raise self._interrupt(stop, len(batches), bar, logger)
            else:  # the epoch ran out (unless a save at its last batch already rolled it over)
                if p.batch_in_epoch >= len(batches):
                    p.epoch, p.batch_in_epoch = p.epoch + 1, 0
                stopped = self._stop_reason()
        bar.close()
        if distributed.any_true(stop.requested, self.dist):
            raise self._interrupt(stop, len(batches), logger)
        if p.last_eval_step != p.step:
            self._after_eval(self.evaluate(cfg.eval_split), logger)
            self.save()
        results = self._finish(stopped, logger)
        logger.close()
        return results

    def _finish(self, stopped: str, logger: MetricsLogger) -> dict[str, Any]:
        p = self.progress
        test = None
        if self.cfg.test_split and self._has_split(self.cfg.test_split):
            if (self.best_dir / ckpt.MODEL_FILE).is_file():
                current = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                self.model.load_state_dict(ckpt.load_weights(self.best_dir / ckpt.MODEL_FILE))
                test = self.evaluate(self.cfg.test_split)
                self.model.load_state_dict(current)
            else:
                test = self.evaluate(self.cfg.test_split)
            logger.log(p.step, self.cfg.test_split, test)
        results = {
            "best_metric": self.best_metric, "best_mode": self.best_mode, "best_step": p.best_step,
            "best_value": p.best_value, "best": p.best_eval,
            "test": test, "steps": p.step, "stopped": stopped, "nonfinite_skipped": p.nonfinite_skipped,
            # Seconds of training and evaluation, summed over resumed segments (start-up outside); the
            # one part of results.json that differs between an interrupted run and an uninterrupted one.
            "timing": {"wall_s": round(self.clock.wall, 3), "cpu_s": round(self.clock.cpu, 3),
                       "threads": torch.get_num_threads()},
        }
        if self.dist.is_main:
            ckpt.atomic_write_text(self.run_dir / "results.json", json.dumps(results, indent=2))
        return results

    def _has_split(self, split: str) -> bool:
        try:
            return len(self.task.dataset(split)) > 0
        except FileNotFoundError:
            return False


def _batch_size(batch: dict) -> int:
    for value in batch.values():
        if torch.is_tensor(value) and value.ndim > 0:
            return int(value.shape[0])
    return 0


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
