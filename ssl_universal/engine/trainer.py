"""The one training loop: any Task with any Model, on CPU or GPU, alone or under torchrun."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import get_scheduler

from ..config import TrainerConfig
from ..data.batching import BatchPlan, shard_batch
from ..errors import ConfigError, NonFiniteLossError
from . import checkpoint as ckpt
from . import distributed
from .logging import MetricsLogger
from .precision import autocast, grad_scaler

log = logging.getLogger("ssl_universal")

SCHEDULES = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}


@dataclass
class Progress:
    """Everything about where training is that a resumed run must restore (besides weights)."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current pass over train
    batch_in_epoch: int = 0  # global batches of this epoch already consumed
    best_value: float | None = None
    best_step: int | None = None
    evals_since_best: int = 0
    nonfinite_skipped: int = 0
    window_loss: float = 0.0  # train-loss sum since the last log line
    window_count: int = 0
    last_eval_step: int = -1
    best_eval: dict = field(default_factory=dict)  # eval metrics at best_step


def _to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on biases and normalisation weights (1-D tensors), as is standard."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class Trainer:
    """Train ``model`` on ``task`` as ``cfg`` says, writing everything under ``run_dir``."""

    def __init__(self, cfg: TrainerConfig, task: Any, model: torch.nn.Module, run_dir: str | Path, *,
                 seed: int = 0, dist: distributed.DistInfo | None = None, resume: bool = True):
        self.cfg = cfg
        self.allow_resume = resume
        self.task = task
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.seed = seed
        self.dist = dist or distributed.DistInfo(device=distributed.resolve_device(cfg.device))
        self.device = self.dist.device
        self.best_metric = cfg.best_metric or task.best_metric
        self.best_mode = cfg.best_mode or task.best_mode
        if self.best_mode not in ("max", "min"):
            raise ConfigError(f"trainer.best_mode: expected max or min, got {self.best_mode!r}")
        if cfg.precision == "fp16" and self.device.type == "cpu":
            log.warning("fp16 autocast on CPU is slow and rarely useful; bf16 is the CPU choice")

        self.model = model.to(self.device)  # the plain module: what is saved and loaded
        self.train_model: torch.nn.Module = self.model
        if cfg.compile:
            self.train_model = torch.compile(self.train_model)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.train_model, device_ids=ids)
        self.optimizer = self._build_optimizer()
        warmup = cfg.warmup_steps or int(cfg.warmup_ratio * cfg.max_steps)
        self.scheduler = get_scheduler(SCHEDULES[cfg.schedule], self.optimizer, num_warmup_steps=warmup,
                                       num_training_steps=cfg.max_steps)
        self.scaler = grad_scaler(cfg.precision, self.device)
        self.progress = Progress()
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.best_dir = self.run_dir / "best"

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
        batch_size = cfg.batch_size if train else (cfg.eval_batch_size or cfg.batch_size)
        return BatchPlan(
            self.task.lengths(split), batch_size=batch_size, max_tokens=cfg.max_tokens,
            bucket_by_length=cfg.bucket_by_length, shuffle=train, seed=self.seed,
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
        )

    # -- state ----------------------------------------------------------------------------
    def _trainer_state(self) -> dict:
        p = self.progress
        return {
            "progress": {k: v for k, v in vars(p).items() if k != "best_eval"},
            "best_eval": json.dumps(p.best_eval),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": ckpt.rng_state(),
            "world_size": self.dist.world_size,
        }

    def save(self) -> None:
        if self.dist.is_main:
            meta = {"epoch": self.progress.epoch, "batch_in_epoch": self.progress.batch_in_epoch,
                    "world_size": self.dist.world_size}
            ckpt.save_checkpoint(self.ckpt_dir, self.progress.step, self.model.state_dict(), self._trainer_state(),
                                 meta, keep_last=self.cfg.keep_last)
        distributed.barrier(self.dist)

    def resume(self) -> bool:
        """Restore the newest complete checkpoint under ``run_dir``; False when there is none."""
        folder = ckpt.latest_checkpoint(self.ckpt_dir)
        if folder is None:
            return False
        weights, state, _ = ckpt.load_checkpoint(folder)
        self.model.load_state_dict(weights)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        ckpt.set_rng_state(state["rng"])
        self.progress = Progress(**state["progress"], best_eval=json.loads(state["best_eval"]))
        if state.get("world_size", 1) != self.dist.world_size:
            log.warning("resuming a run saved with %s processes on %s: the batch order stays the same, "
                        "per-rank RNG streams do not", state.get("world_size"), self.dist.world_size)
        log.info("resumed from %s (step %d)", folder, self.progress.step)
        return True

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

    def _improved(self, value: float) -> bool:
        best = self.progress.best_value
        if best is None:
            return True
        return value > best if self.best_mode == "max" else value < best

    def _after_eval(self, metrics: dict, logger: MetricsLogger) -> bool:
        """Track the best checkpoint; True when early stopping says stop."""
        p = self.progress
        p.last_eval_step = p.step
        logger.log(p.step, self.cfg.eval_split, {"epoch": p.epoch, **metrics})
        if self.best_metric not in metrics:
            raise ConfigError(f"best metric {self.best_metric!r} is not among the eval metrics "
                              f"{sorted(metrics)}; set trainer.best_metric to one of them")
        value = float(metrics[self.best_metric])
        if self._improved(value):
            p.best_value, p.best_step, p.evals_since_best, p.best_eval = value, p.step, 0, dict(metrics)
            self._save_best()
        else:
            p.evals_since_best += 1
        patience = self.cfg.early_stopping_patience
        return patience is not None and p.evals_since_best >= patience

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
        cfg, p = self.cfg, self.progress
        resumed = self.resume() if self.allow_resume else False
        p = self.progress
        logger = MetricsLogger(self.run_dir, enabled=self.dist.is_main, tensorboard=cfg.tensorboard,
                               resume_step=p.step if resumed else None)
        plan = self._plan("train", train=True)
        self.model.train()
        bar = tqdm(total=cfg.max_steps, initial=p.step, disable=not (cfg.progress_bar and self.dist.is_main),
                   desc="train", dynamic_ncols=True)
        stopped = "max_steps"
        micro, skip_step = 0, False
        window_tokens, window_examples, window_start = 0, 0, time.perf_counter()
        done = p.step >= cfg.max_steps
        while not done:
            if cfg.max_epochs is not None and p.epoch >= cfg.max_epochs:
                stopped = "max_epochs"
                break
            batches = plan.epoch_batches(p.epoch)
            loader = self._loader("train", batches[p.batch_in_epoch:])
            for batch in loader:
                p.batch_in_epoch += 1
                tokens = int(batch["attention_mask"].sum()) if "attention_mask" in batch else 0  # on CPU: no sync
                batch = _to_device(batch, self.device)
                last_micro = (micro + 1) % cfg.grad_accum_steps == 0
                with autocast(cfg.precision, self.device):
                    loss, _ = self.task.loss(self.train_model, batch)
                bad = distributed.any_true(not bool(torch.isfinite(loss.detach())), self.dist)
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
                    continue
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
                    p.window_loss, p.window_count = 0.0, 0
                    window_tokens, window_examples, window_start = 0, 0, time.perf_counter()
                final = p.step >= cfg.max_steps
                if p.step % cfg.eval_every == 0 or final:
                    if self._after_eval(self.evaluate(cfg.eval_split), logger):
                        stopped = "early_stopping"
                        done = True
                if p.step % cfg.save_every == 0 or final or done:
                    if p.batch_in_epoch >= len(batches):
                        p.epoch, p.batch_in_epoch = p.epoch + 1, 0
                    self.save()
                if final or done:
                    done = True
                    break
            else:  # the epoch ran out (unless a save at its last batch already rolled it over)
                if p.batch_in_epoch >= len(batches):
                    p.epoch, p.batch_in_epoch = p.epoch + 1, 0
        bar.close()
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
