"""From a resolved config to a trained, scored run: build tokenizer, task and model, then train."""

from __future__ import annotations

import json
import logging
import os
import random
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from . import run_folder
from .config import TrainerConfig, section_config
from .engine import distributed
from .engine.checkpoint import atomic_write_text, latest_checkpoint, load_weights
from .engine.signals import stop_signals
from .engine.trainer import Trainer
from .errors import CheckpointError, ConfigError, TrainingInterrupted
from .provenance import run_info
from .registry import MODELS, TASKS, TOKENIZERS

log = logging.getLogger("ssl_universal")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_run_dir(cfg: DictConfig) -> Path:
    name = (cfg.recipe or cfg.task.name).replace("/", "_")
    return Path("outputs") / name / time.strftime("%Y%m%d-%H%M%S")


def build_task(cfg: DictConfig) -> Any:
    """The task (with its tokenizer) a config names, without building the model."""
    tokenizer = None
    if cfg.tokenizer is not None:  # the loader fills in the task's default tokenizer
        tokenizer = TOKENIZERS.get(cfg.tokenizer.name).obj(section_config(cfg, "tokenizer"))
    return TASKS.get(cfg.task.name).obj(section_config(cfg, "task"), tokenizer)


def build(cfg: DictConfig) -> tuple[Any, torch.nn.Module]:
    """The task (with its tokenizer) and the model a config names."""
    task = build_task(cfg)
    return task, MODELS.get(cfg.model.name).obj(section_config(cfg, "model"), task)


def write_run_files(cfg: DictConfig, run_dir: Path, world_size: int, *, resumed_step: int | None = None,
                    changes: dict | None = None) -> None:
    """``config.yaml`` and ``run_info.json``; a resumed run keeps the first start's record and adds its own."""
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    info = run_info(world_size)
    info = run_folder.run_info_record(run_dir, info, resumed_step=resumed_step, changes=changes or {})
    atomic_write_text(run_dir / "run_info.json", json.dumps(info, indent=2, default=str))


def resume_command(run_dir: Path, run_dir_given: bool) -> str:
    """The command that continues this run: the one that started it (with the folder it chose)."""
    argv = list(sys.argv)
    if argv and Path(argv[0]).parts[-2:] == ("ssl_universal", "cli.py"):
        argv[:1] = ["python", "-m", "ssl_universal.cli"]
    elif argv:
        argv[0] = Path(argv[0]).name
    if not run_dir_given:
        argv.append(f"run_dir={run_dir}")
    elif any(a in ("-m", "--multirun") for a in argv) and not any(a.startswith("--sweep-dir") for a in argv):
        argv.append(f"--sweep-dir={run_dir.parent}")  # the default sweep folder has the time in its name
    command = shlex.join(argv)
    if "TORCHELASTIC_RUN_ID" in os.environ:
        return f"the same torchrun command (each worker ran: {command})"
    return command


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one run; returns the contents of its ``results.json``.

    The run folder holds one run (:mod:`.run_folder`): a differing config or ``resume=false`` into
    a used folder is refused before anything is written, and nothing in the folder changes until
    the checkpoint to resume from has loaded. SIGTERM or SIGINT stop the run after the current
    optimizer step with a checkpoint of it and raise :class:`TrainingInterrupted` (exit status
    :data:`~ssl_universal.errors.EXIT_INTERRUPTED` from the command line).
    """
    trainer_cfg: TrainerConfig = OmegaConf.to_object(cfg.trainer)
    if trainer_cfg.threads is not None:
        torch.set_num_threads(trainer_cfg.threads)
    dist = distributed.init(trainer_cfg.device)
    run_dir_given = bool(cfg.run_dir)
    run_dir = Path(cfg.run_dir) if cfg.run_dir else default_run_dir(cfg)
    if dist.enabled and not cfg.run_dir:  # every rank must write to the rank-0 folder
        run_dir = Path(distributed.broadcast_object(str(run_dir), dist))
    cfg = cfg.copy()
    OmegaConf.set_struct(cfg, False)
    cfg.run_dir = str(run_dir)
    with stop_signals():
        try:
            return _train(cfg, trainer_cfg, dist, run_dir)
        except TrainingInterrupted:
            if dist.is_main:
                log.warning("to resume, run: %s", resume_command(run_dir, run_dir_given))
            raise


def _train(cfg: DictConfig, trainer_cfg: TrainerConfig, dist: distributed.DistInfo, run_dir: Path) -> dict[str, Any]:
    if not dist.is_main:
        return _train_unlocked(cfg, trainer_cfg, dist, run_dir)
    with run_folder.writer_lock(run_dir):  # one writing process per folder (the main rank holds it)
        return _train_unlocked(cfg, trainer_cfg, dist, run_dir)


def _train_unlocked(cfg: DictConfig, trainer_cfg: TrainerConfig, dist: distributed.DistInfo,
                    run_dir: Path) -> dict[str, Any]:
    folder = run_folder.check_run_folder(cfg, run_dir)  # every rank reads; nobody writes yet
    distributed.barrier(dist)
    seed_everything(cfg.seed)
    task, model = build(cfg)
    seed_everything(cfg.seed)  # the same data order whatever building the model consumed
    trainer = Trainer(trainer_cfg, task, model, run_dir, seed=cfg.seed, dist=dist,
                      resume=cfg.resume and not folder.replace)
    if folder.replace:
        if dist.is_main:
            log.warning("replace=true: deleting the earlier run in %s", run_dir)
            run_folder.delete_run_files(folder)
        distributed.barrier(dist)
    elif cfg.resume:
        trainer.resume()  # reads only; a CheckpointError here leaves the folder as it was
    if folder.changes and dist.is_main:
        log.warning("allow_config_change=true: %s continues with %d changed keys (recorded in run_info.json): %s",
                    run_dir, len(folder.changes), ", ".join(folder.changes))
    if dist.is_main:
        resumed_step = trainer.progress.step if trainer.resumed_from is not None else None
        write_run_files(cfg, run_dir, dist.world_size, resumed_step=resumed_step, changes=folder.changes)
    distributed.barrier(dist)
    results = trainer.fit()
    if dist.is_main:
        log.info("run finished: %s", run_dir)
    return results


def evaluate(run_dir: str | Path, split: str = "test", weights: str = "best", overrides: list[str] | None = None) -> dict:
    """Score a finished (or interrupted) run's weights on ``split``."""
    from .config import load_config

    run_dir = Path(run_dir)
    config_file = run_dir / "config.yaml"
    if not config_file.is_file():
        raise ConfigError(f"{run_dir} has no config.yaml; pass the folder of a run made by `ssl-universal train`")
    base = OmegaConf.to_container(OmegaConf.load(config_file), resolve=True)
    cfg = load_config(list(overrides or []), base=base)
    if weights == "best":
        path = run_dir / "best" / "model.safetensors"
    elif weights == "latest":
        folder = latest_checkpoint(run_dir / "checkpoints")
        if folder is None:
            raise CheckpointError(f"{run_dir / 'checkpoints'} holds no complete checkpoint")
        path = folder / "model.safetensors"
    else:
        path = Path(weights)
        path = path / "model.safetensors" if path.is_dir() else path
    seed_everything(cfg.seed)
    task, model = build(cfg)
    model.load_state_dict(load_weights(path))
    trainer_cfg: TrainerConfig = OmegaConf.to_object(cfg.trainer)
    trainer = Trainer(trainer_cfg, task, model, run_dir, seed=cfg.seed, resume=False)
    metrics = trainer.evaluate(split)
    return {"split": split, "weights": str(path), **metrics}
