"""From a resolved config to a trained, scored run: build tokenizer, task and model, then train."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from . import __version__
from .config import TrainerConfig, section_config
from .engine import distributed
from .engine.checkpoint import atomic_write_text, latest_checkpoint, load_weights
from .engine.trainer import Trainer
from .errors import CheckpointError, ConfigError
from .registry import MODELS, TASKS, TOKENIZERS

log = logging.getLogger("ssl_universal")
REPO_ROOT = Path(__file__).resolve().parent.parent


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def default_run_dir(cfg: DictConfig) -> Path:
    name = (cfg.recipe or cfg.task.name).replace("/", "_")
    return Path("outputs") / name / time.strftime("%Y%m%d-%H%M%S")


def build(cfg: DictConfig) -> tuple[Any, torch.nn.Module]:
    """The task (with its tokenizer) and the model a config names."""
    task_entry = TASKS.get(cfg.task.name)
    task_cfg = section_config(cfg, "task")
    tokenizer = None
    tokenizer_name = cfg.tokenizer.name if cfg.tokenizer is not None else task_entry.obj.default_tokenizer
    if tokenizer_name:
        tokenizer_entry = TOKENIZERS.get(tokenizer_name)
        tok_cfg = section_config(cfg, "tokenizer") if cfg.tokenizer is not None else tokenizer_entry.config_class()
        tokenizer = _make_tokenizer(tokenizer_entry.obj, tok_cfg, cfg)
    task = task_entry.obj(task_cfg, tokenizer)
    model = MODELS.get(cfg.model.name).obj(section_config(cfg, "model"), task)
    return task, model


def _make_tokenizer(cls: Any, tok_cfg: Any, cfg: DictConfig) -> Any:
    """A tokenizer may want the model's backbone (a text tokenizer must match its BERT)."""
    backbone = cfg.model.get("backbone") if cfg.model is not None else None
    if hasattr(cls, "for_backbone") and backbone is not None:
        return cls.for_backbone(tok_cfg, backbone)
    return cls(tok_cfg)


def write_run_files(cfg: DictConfig, run_dir: Path, world_size: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    info = {
        "version": __version__, "git_commit": git_commit(), "torch": torch.__version__,
        "python": sys.version.split()[0], "command": " ".join(sys.argv), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "world_size": world_size, "hostname": os.uname().nodename,
    }
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
