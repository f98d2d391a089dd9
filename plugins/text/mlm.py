"""masked_lm: masked-language-model training on plain text, scored by masked-token accuracy and perplexity."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from ssl_universal.data.collate import pad_sequences
from ssl_universal.data.splits import split_file
from ssl_universal.errors import ConfigError
from ssl_universal.task import Task

from .common import (
    TextTaskConfig,
    hf_tokenizer_of,
    special_id,
    vocab_size_of,
)
from .readers import read_lines

log = logging.getLogger(__name__)

IGNORE = -100


@dataclass
class MaskedLMConfig(TextTaskConfig):
    """Files are plain UTF-8 text, one document or sentence per line (train.txt, valid.txt, test.txt)."""

    max_length: int = 128  # tokens per chunk, special tokens included
    mask_prob: float = 0.15  # share of tokens chosen for prediction
    mask_token_prob: float = 0.8  # of the chosen: replaced by the mask token
    random_token_prob: float = (
        0.1  # of the chosen: replaced by a random token (the rest stay as they are)
    )
    max_lines: int | None = None  # read at most this many lines per split; None = all


class MaskedLMTask(Task):
    """BERT-style masked LM. Lines are tokenised, joined into one stream per split and cut into
    chunks of ``max_length``. Training masks are drawn afresh in every batch (torch's global RNG,
    which the engine seeds); validation and test masks are fixed per chunk by ``prepare_seed``,
    so every evaluation scores the same positions."""

    Config = MaskedLMConfig
    default_tokenizer = "backbone"
    best_metric = "perplexity"
    best_mode = "min"

    def __init__(self, cfg: MaskedLMConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        self.data_report: dict[str, dict[str, int]] = {}  # per split: chunks kept / left out (no text token)
        if not 0.0 < cfg.mask_prob < 1.0:
            raise ConfigError(f"task.mask_prob must be in (0, 1), got {cfg.mask_prob}")
        if cfg.mask_token_prob + cfg.random_token_prob > 1.0:
            raise ConfigError(
                "task.mask_token_prob + task.random_token_prob must not exceed 1"
            )
        if cfg.max_length < 3:
            raise ConfigError(
                f"task.max_length must leave room for text between CLS and SEP, got {cfg.max_length}"
            )

    @property
    def data_dir(self) -> Path:
        if self.cfg.data_dir is None:
            from .prepare import ensure_prepared

            return ensure_prepared("mlm", self.cfg.prepare_seed)
        return Path(self.cfg.data_dir).expanduser()

    def _encode_lines(self, lines: list[str]) -> list[list[int]]:
        hf = hf_tokenizer_of(self.tokenizer)
        if hf is not None:
            return [
                list(ids) for ids in hf(lines, add_special_tokens=False)["input_ids"]
            ]
        return [self.tokenizer.encode(line, add_special=False) for line in lines]

    def load_split(self, split: str) -> list[dict]:
        lines = read_lines(split_file(self.cfg, self.data_dir, split, (".txt",)))
        if self.cfg.max_lines is not None:
            lines = lines[: self.cfg.max_lines]
        cls, sep = special_id(self.tokenizer, "cls"), special_id(self.tokenizer, "sep")
        stream: list[int] = []
        for ids in self._encode_lines(lines):
            stream += [*ids, sep]  # SEP between documents, as in BERT pre-training
        body = self.cfg.max_length - 2
        chunks = [stream[i : i + body] for i in range(0, len(stream), body)]
        special = set(self._special_ids.tolist())
        # A chunk needs one text token to predict: a lone SEP tail, or lines that became only [UNK],
        # have none. They are left out, counted and reported, never masked into an empty draw.
        kept = [chunk for chunk in chunks if any(t not in special for t in chunk)]
        if len(kept) < len(chunks):
            log.warning(
                "%s split: %d of %d chunks have no text token (only SEP/UNK); left out",
                split, len(chunks) - len(kept), len(chunks),
            )
        self.data_report[split] = {"chunks": len(kept), "chunks_left_out": len(chunks) - len(kept)}
        examples = [{"input_ids": [cls, *chunk, sep]} for chunk in kept]
        if split != "train":
            for number, example in enumerate(examples):
                example["mask_seed"] = self.cfg.prepare_seed * 1_000_003 + number
        return examples

    def _mask(
        self, ids: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(masked ids, labels) of one chunk, 80/10/10 over the chosen positions (specials never chosen)."""
        special = torch.isin(ids, self._special_ids)
        draw = torch.rand(ids.shape[0], generator=generator)
        chosen = (draw < self.cfg.mask_prob) & ~special
        if not bool(chosen.any()):  # at least one prediction per chunk
            candidates = (~special).nonzero().flatten()
            pick = torch.randint(len(candidates), (1,), generator=generator)
            chosen[candidates[pick]] = True
        labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
        how = torch.rand(ids.shape[0], generator=generator)
        masked = ids.clone()
        to_mask = chosen & (how < self.cfg.mask_token_prob)
        to_random = (
            chosen
            & (how >= self.cfg.mask_token_prob)
            & (how < self.cfg.mask_token_prob + self.cfg.random_token_prob)
        )
        masked[to_mask] = special_id(self.tokenizer, "mask")
        random_ids = torch.randint(self._vocab_size, ids.shape, generator=generator)
        masked[to_random] = random_ids[to_random]
        return masked, labels

    @cached_property
    def _special_ids(self) -> torch.Tensor:
        hf = hf_tokenizer_of(self.tokenizer)
        ids = hf.all_special_ids if hf is not None else self.tokenizer.special_ids
        return torch.tensor(sorted(set(ids)), dtype=torch.long)

    @cached_property
    def _vocab_size(self) -> int:
        return vocab_size_of(self.tokenizer)

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        masked, labels = [], []
        for example in examples:
            seed = example.get("mask_seed")
            generator = (
                torch.Generator().manual_seed(seed) if seed is not None else None
            )
            m, label = self._mask(
                torch.as_tensor(example["input_ids"], dtype=torch.long), generator
            )
            masked.append(m)
            labels.append(label)
        input_ids, attention_mask = pad_sequences(
            masked, special_id(self.tokenizer, "pad")
        )
        labels_padded, _ = pad_sequences(labels, IGNORE)
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": labels_padded,
        }

    # -- model side -----------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return self._vocab_size

    def eval_step(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict:
        loss, outputs = self.loss(model, batch)
        logits = outputs["logits"].detach().float()
        labels = batch["labels"]
        keep = labels != IGNORE
        token_losses = torch.nn.functional.cross_entropy(
            logits[keep], labels[keep], reduction="sum"
        )
        correct = (logits[keep].argmax(-1) == labels[keep]).sum()
        return {
            "loss": float(loss),
            "n": int(labels.shape[0]),
            "masked_loss_sum": float(token_losses),
            "masked": int(keep.sum()),
            "correct": int(correct),
        }

    def score(self, steps: list[dict]) -> dict[str, float]:
        masked = sum(s["masked"] for s in steps)
        mean_loss = sum(s["masked_loss_sum"] for s in steps) / max(masked, 1)
        return {
            "mlm_accuracy": 100.0 * sum(s["correct"] for s in steps) / max(masked, 1),
            "perplexity": math.exp(
                min(mean_loss, 50.0)
            ),  # capped so a diverged run still reports a number
        }
