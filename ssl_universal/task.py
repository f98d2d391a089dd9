"""The Task contract: build data for a split, turn a batch into a loss, score predictions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .data.collate import pad_sequences


def examples_in(batch: dict) -> int:
    """Examples in a batch: the first dimension of its labels, else of its first tensor (ids, vectors, waveforms)."""
    labels = batch.get("labels")
    if torch.is_tensor(labels) and labels.dim() > 0:
        return int(labels.shape[0])
    for value in batch.values():
        if torch.is_tensor(value) and value.dim() > 0:
            return int(value.shape[0])
    raise ValueError(f"a batch without tensors (keys: {sorted(batch)}); cannot count its examples")


@dataclass
class TaskConfig:
    """Options shared by every task; a task's own Config subclasses this."""

    data_dir: str | None = None  # where the task reads its data; None means the task generates or installs it
    max_length: int = 512  # longest input in tokens; longer inputs follow `overlong`
    overlong: str = "error"  # what to do with longer inputs: error | truncate


class Task:
    """Base class of every task.

    A subclass implements :meth:`load_split` and usually :meth:`score`; the defaults fit
    single-label classification where each example is ``{"input_ids": [...], "label": int}``
    and the model returns ``{"loss": ..., "logits": ...}``.

    Class attributes:
      * ``Config`` — the task's config dataclass (every YAML key under ``task:``).
      * ``default_tokenizer`` — registry name used when the recipe names none.
      * ``best_metric`` / ``best_mode`` — what "best checkpoint" and early stopping watch.
    """

    Config = TaskConfig
    default_tokenizer: str | None = None
    best_metric: str = "accuracy"
    best_mode: str = "max"  # "max" or "min"

    def __init__(self, cfg: Any, tokenizer: Any = None):
        self.cfg = cfg
        self.tokenizer = tokenizer
        self._splits: dict[str, Sequence[dict]] = {}

    # -- data -----------------------------------------------------------------------------
    def load_split(self, split: str) -> Sequence[dict]:
        """Examples of ``split`` ("train", "valid", "test"): a sequence of dicts, indexable."""
        raise NotImplementedError(f"{type(self).__name__} must implement load_split(split)")

    def cache_key(self, split: str) -> dict | None:
        """Everything the tokenised ``split`` depends on (source files, tokenizer, config).

        A task that returns a key has its split stored as memory-mapped arrays under
        ``$SSL_UNIVERSAL_CACHE`` (:mod:`ssl_universal.data.cache`): a re-run does not
        re-tokenise, and a ``load_split`` written as a generator builds a corpus larger than
        RAM with flat memory. ``None`` (the default) keeps the split in memory only.
        """
        return None

    #: Fields of an example that the on-disk cache stores (numbers or per-token lists).
    cache_fields: tuple[str, ...] = ("input_ids", "label")

    def dataset(self, split: str) -> Sequence[dict]:
        """``load_split``, memoised (and cached on disk when :meth:`cache_key` gives a key)."""
        if split not in self._splits:
            key = self.cache_key(split)
            if key is None:
                self._splits[split] = self.load_split(split)
            else:
                from .data.cache import cached_dataset

                task = f"{type(self).__module__}.{type(self).__qualname__}"
                full_key = {"task": task, "split": split, **key}
                self._splits[split] = cached_dataset(None, full_key, lambda: self.load_split(split), self.cache_fields)
        return self._splits[split]

    def lengths(self, split: str) -> Sequence[int]:
        """Token length of each example (for length bucketing and token budgets)."""
        data = self.dataset(split)
        known = getattr(data, "lengths", None)
        if known is not None:
            return known
        return [len(example["input_ids"]) for example in data]

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        """Pad ``input_ids`` and stack labels into a batch of tensors."""
        pad_id = self.tokenizer.pad_id if self.tokenizer is not None else 0
        input_ids, attention_mask = pad_sequences([e["input_ids"] for e in examples], pad_id)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "label" in examples[0]:
            dtype = torch.float32 if isinstance(examples[0]["label"], float) else torch.long
            batch["labels"] = torch.tensor([e["label"] for e in examples], dtype=dtype)
        return batch

    def symbol_counts(self, split: str = "train") -> Counter:
        """How often each tokenizer id occurs in ``split`` (used by frequency-ranked transfer)."""
        counts: Counter = Counter()
        for example in self.dataset(split):
            counts.update(int(i) for i in example["input_ids"])
        return counts

    # -- model side -----------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        """Number of output classes (1 for regression)."""
        raise NotImplementedError(f"{type(self).__name__} must define num_labels")

    def loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        """The training loss of one batch and the model outputs."""
        outputs = model(**batch)
        return outputs["loss"], outputs

    def eval_step(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict:
        """What :meth:`score` needs from one batch, moved to CPU. Runs under ``torch.no_grad``."""
        loss, outputs = self.loss(model, batch)
        result = {"loss": float(loss.detach()), "n": examples_in(batch)}
        if "logits" in outputs and "labels" in batch:
            logits = outputs["logits"].float()
            result["predictions"] = (logits.squeeze(-1) if logits.shape[-1] == 1 else logits.argmax(-1)).cpu()
            result["labels"] = batch["labels"].cpu()
        return result

    def score(self, steps: list[dict]) -> dict[str, float]:
        """Metrics of a whole split from the :meth:`eval_step` outputs; the engine adds ``loss``."""
        predictions = torch.cat([s["predictions"] for s in steps])
        labels = torch.cat([s["labels"] for s in steps])
        return {"accuracy": float((predictions == labels).float().mean()) * 100.0}

    # -- resumable randomness -------------------------------------------------------------
    def rng_state(self) -> dict:
        """The state of every random generator this task owns (not the global ones, which the
        engine saves itself), for checkpoints: tensors, numbers, strings, lists and dicts only,
        as ``torch.load(weights_only=True)`` reads them. A task that draws from a generator of
        its own (noise, masking, augmentation) returns its state here, so a resumed run draws
        exactly what an uninterrupted one would."""
        return {}

    def load_rng_state(self, state: dict) -> None:
        """Restore what :meth:`rng_state` returned (``{}`` from a checkpoint saved without it)."""
