"""The run config and the engine's options: typed dataclasses whose fields carry their own rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..schema import FieldError, bounded, choice

DEVICE = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


@dataclass
class TrainerConfig:
    """The engine's options (every key under ``trainer:``)."""

    max_steps: int = bounded(1000, ge=1)  # optimizer steps to train for
    max_epochs: int | None = bounded(None, ge=1)  # stop after this many passes over train, if sooner than max_steps
    batch_size: int = bounded(32, ge=1)  # examples per global batch (split across ranks under torchrun)
    max_tokens: int | None = bounded(None, ge=1)  # token budget per batch instead of a fixed batch_size (padded tokens)
    bucket_by_length: bool = True  # batch examples of similar length together to cut padding
    eval_batch_size: int | None = bounded(None, ge=1)  # examples per eval batch (default: 2 x batch_size; no gradients)
    eval_by_length: bool = True  # evaluation batches sorted by length (less padding; metrics do not depend on the order); false: dataset order
    grad_accum_steps: int = bounded(1, ge=1)  # micro-batches per optimizer step
    optimizer: str = choice("adamw", "sgd")  # optimizer family
    lr: float = bounded(5e-5, gt=0)  # peak learning rate
    weight_decay: float = bounded(0.01, ge=0)  # decoupled weight decay (not on biases and norms)
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # AdamW betas, each in [0, 1)
    clip_grad_norm: float | None = bounded(1.0, gt=0)  # max global gradient norm; null disables clipping
    schedule: str = choice("linear", "constant", "cosine")  # learning-rate decay after warm-up
    warmup_steps: int = bounded(0, ge=0)  # linear warm-up steps
    warmup_ratio: float = bounded(0.0, ge=0, le=1)  # warm-up as a share of max_steps (used when warmup_steps is 0)
    precision: str = choice("fp32", "bf16", "fp16")  # autocast dtype; fp16 uses a GradScaler
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    compile: bool = False  # wrap the model in torch.compile
    eval_every: int = bounded(100, ge=1)  # evaluate on eval_split every N optimizer steps (and at the end)
    eval_split: str = "valid"  # split used for best-checkpoint selection and early stopping
    test_split: str | None = "test"  # split scored with the best weights at the end (null: none)
    best_metric: str | None = None  # metric that picks the best checkpoint (default: the task's)
    best_mode: str | None = choice(None, "max", "min")  # max | min (default: the task's)
    early_stopping_patience: int | None = bounded(None, ge=1)  # stop after N evals without improvement
    early_stopping_min_delta: float = bounded(0.0, ge=0)  # an eval counts as improvement for patience only if it beats the last one that did by more than this (the best checkpoint still follows every improvement)
    early_stopping_min_steps: int = bounded(0, ge=0)  # never stop early before this many optimizer steps
    save_every: int = bounded(100, ge=1)  # write a resumable checkpoint every N optimizer steps
    keep_last: int = bounded(2, ge=1)  # resumable checkpoints kept on disk
    log_every: int = bounded(10, ge=1)  # log train loss / throughput every N optimizer steps
    progress_bar: bool = True  # tqdm bar on rank 0
    tensorboard: bool = True  # write TensorBoard event files
    max_nonfinite_steps: int = bounded(20, ge=0)  # stop with an error after this many NaN/inf losses
    num_workers: int = bounded(0, ge=0)  # DataLoader worker processes for collation
    threads: int | None = bounded(None, ge=1)  # CPU threads for torch (None: torch's default, one per core); on a busy machine 1 can be faster

    def validate(self, run: Any = None) -> None:
        if len(self.adam_betas) != 2 or not all(0 <= b < 1 for b in self.adam_betas):
            raise FieldError("adam_betas", f"{list(self.adam_betas)!r}; expected two numbers in [0, 1), e.g. [0.9, 0.999]")
        if not DEVICE.match(self.device):
            raise FieldError("device", f"{self.device!r}; expected auto, cpu, cuda or cuda:N")
        if self.warmup_steps > self.max_steps:
            raise FieldError("warmup_steps", f"{self.warmup_steps} exceeds trainer.max_steps={self.max_steps}; "
                             "the learning rate would never reach its peak")


@dataclass
class RunConfig:
    """One run: which task, model and tokenizer, how to train, and where to write."""

    task: Any = None  # {name: <registered task>, ...its options}
    model: Any = None  # {name: <registered model builder>, ...its options}
    tokenizer: Any = None  # {name: <registered tokenizer>, ...}; null: the task's default
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    seed: int = bounded(0, ge=0)  # seeds Python, NumPy and torch (model init, shuffling, dropout)
    run_dir: str | None = None  # outputs go here; default outputs/<recipe>/<time>
    resume: bool = True  # continue from run_dir's latest checkpoint when there is one
    replace: bool = False  # resume=false into a used run_dir: delete everything in it first (else refused)
    allow_config_change: bool = False  # resume although the config differs from run_dir/config.yaml (recorded in run_info.json)
    plugin_dirs: list[str] = field(default_factory=list)  # extra folders of user plugins
    recipe: str | None = None  # the recipe this run came from (set by the loader)
    preset: str | None = None  # a named size from the recipe's `presets:` (e.g. smoke, quick), applied over it
    row: str | None = None  # a named row of the recipe's table from its `rows:` (e.g. bert, rand), applied last


@dataclass
class RunView:
    """The sections of one run as built dataclasses, handed to each section's ``validate(run)`` hook
    so that rules across sections (e.g. the model's assignment and the tokenizer) live with the config."""

    task: Any
    model: Any
    tokenizer: Any  # the tokenizer section's config, or None when the task's default is used
    tokenizer_name: str | None  # the tokenizer the run will use (the section's, else the task's default)
    trainer: TrainerConfig
