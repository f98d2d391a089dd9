"""From a resolved config to a trained, scored run: build tokenizer, task and model, then train."""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from .config import TrainerConfig, section_config
from .engine import distributed
from .engine.checkpoint import atomic_write_text, latest_checkpoint, load_weights
from .engine.trainer import Trainer
from .errors import CheckpointError, ConfigError
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


def build(cfg: DictConfig) -> tuple[Any, torch.nn.Module]:
    """The task (with its tokenizer) and the model a config names."""
    tokenizer = None
    if cfg.tokenizer is not None:  # the loader fills in the task's default tokenizer
        tokenizer = TOKENIZERS.get(cfg.tokenizer.name).obj(section_config(cfg, "tokenizer"))
    task = TASKS.get(cfg.task.name).obj(section_config(cfg, "task"), tokenizer)
    model = MODELS.get(cfg.model.name).obj(section_config(cfg, "model"), task)
    return task, model


def write_run_files(cfg: DictConfig, run_dir: Path, world_size: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    info = run_info(world_size)
    atomic_write_text(run_dir / "run_info.json", json.dumps(info, indent=2))


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one run; returns the contents of its ``results.json``."""
    trainer_cfg: TrainerConfig = OmegaConf.to_object(cfg.trainer)
    dist = distributed.init(trainer_cfg.device)
    run_dir = Path(cfg.run_dir) if cfg.run_dir else default_run_dir(cfg)
    if dist.enabled and not cfg.run_dir:  # every rank must write to the rank-0 folder
        run_dir = Path(distributed.broadcast_object(str(run_dir), dist))
    cfg = cfg.copy()
    OmegaConf.set_struct(cfg, False)
    cfg.run_dir = str(run_dir)
    if dist.is_main:
        write_run_files(cfg, run_dir, dist.world_size)
    distributed.barrier(dist)
    seed_everything(cfg.seed)
    task, model = build(cfg)
    seed_everything(cfg.seed)  # the same data order whatever building the model consumed
    trainer = Trainer(trainer_cfg, task, model, run_dir, seed=cfg.seed, dist=dist, resume=cfg.resume)
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
