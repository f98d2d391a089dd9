"""What the text tasks share: the file-naming config and tokenizer access."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ssl_universal.errors import ConfigError, DataError
from ssl_universal.task import TaskConfig


@dataclass
class TextTaskConfig(TaskConfig):
    """Options every text task has: where its split files are and which prepared data to use."""

    train_file: str | None = (
        None  # training file, relative to data_dir or absolute; None = train.<ext>
    )
    valid_file: str | None = None  # validation file; None = valid.<ext> or dev.<ext>
    test_file: str | None = (
        None  # test file; None = test.<ext> (set it to the dev file when there is no test set)
    )
    prepare_seed: int = (
        0  # seed of the data generated from fortunes when data_dir is unset
    )


def hf_tokenizer_of(tokenizer: Any):
    """The Hugging Face tokenizer inside ``tokenizer`` (or ``tokenizer`` itself), or None."""
    from transformers import PreTrainedTokenizerBase

    if isinstance(tokenizer, PreTrainedTokenizerBase):
        return tokenizer
    for name in ("hf_tokenizer", "hf", "backend", "tokenizer", "_tokenizer"):
        inner = getattr(tokenizer, name, None)
        if isinstance(inner, PreTrainedTokenizerBase):
            return inner
    return None


def fast_tokenizer_of(tokenizer: Any, task: str):
    """A fast (Rust) Hugging Face tokenizer, which gives character offsets; else a ConfigError."""
    hf = hf_tokenizer_of(tokenizer)
    if hf is None or not getattr(hf, "is_fast", False):
        raise ConfigError(
            f"task {task} needs a tokenizer wrapping a fast Hugging Face tokenizer (for character offsets), "
            f"got {type(tokenizer).__name__}; use tokenizer: {{name: backbone}}"
        )
    return hf


def special_id(tokenizer: Any, name: str) -> int:
    """``pad``/``cls``/``sep``/``mask`` id of a core tokenizer or a bare Hugging Face one."""
    value = getattr(tokenizer, f"{name}_id", None)
    if value is None:
        value = getattr(tokenizer, f"{name}_token_id", None)
    if value is None:
        raise ConfigError(f"tokenizer {type(tokenizer).__name__} has no {name} id")
    return int(value)


def vocab_size_of(tokenizer: Any) -> int:
    """Vocabulary size including added tokens."""
    hf = hf_tokenizer_of(tokenizer)
    return len(hf) if hf is not None else int(tokenizer.vocab_size)


def model_inputs(
    batch: dict[str, torch.Tensor], private: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """The batch without the task's bookkeeping keys, i.e. what the model's forward takes."""
    return {k: v for k, v in batch.items() if k not in private}


def check_length(n: int, cfg: TaskConfig, where: str) -> bool:
    """True when an input of ``n`` tokens must be cut; raises when ``overlong`` is ``error``."""
    if n <= cfg.max_length:
        return False
    if cfg.overlong == "truncate":
        return True
    raise DataError(
        f"{where}: {n} tokens, more than max_length={cfg.max_length}; "
        f"raise task.max_length or set task.overlong: truncate"
    )
