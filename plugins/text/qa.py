"""extractive_qa: SQuAD v1.1 / DRCD reading comprehension, an answer span predicted in the context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ssl_universal.data.collate import pad_sequences
from ssl_universal.data.splits import split_file
from ssl_universal.errors import ConfigError
from ssl_universal.metrics import squad_scores
from ssl_universal.task import Task

from .common import (
    TextTaskConfig,
    fast_tokenizer_of,
    model_inputs,
    special_id,
)
from .readers import QAExample, read_squad
from .spans import best_span, span_text, windows


@dataclass
class ExtractiveQAConfig(TextTaskConfig):
    """Files are SQuAD v1.1-shaped JSON (train.json, valid.json/dev.json, test.json under data_dir)."""

    max_length: int = 384  # tokens per window: question + context + special tokens
    doc_stride: int = 128  # tokens shared by consecutive windows over a long context
    max_query_length: int = 64  # questions longer than this many tokens are cut
    max_answer_length: int = 30  # longest predicted answer, in tokens
    lang: str = (
        "en"  # en | zh: how EM/F1 split answers (words, or characters for Chinese)
    )
    bad_answers: str = "error"  # error | skip: what to do with an answer_start that does not point at the answer


class ExtractiveQATask(Task):
    """Span extraction scored by SQuAD exact match and F1 (percent).

    Training windows that miss the answer point at the CLS token (position 0). At evaluation the
    best span over all windows of a question is its prediction.
    """

    Config = ExtractiveQAConfig
    default_tokenizer = "backbone"
    best_metric = "f1"
    best_mode = "max"

    def __init__(self, cfg: ExtractiveQAConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        if cfg.lang not in ("en", "zh"):
            raise ConfigError(f"task.lang must be en or zh, got {cfg.lang!r}")
        if cfg.bad_answers not in ("error", "skip"):
            raise ConfigError(
                f"task.bad_answers must be error or skip, got {cfg.bad_answers!r}"
            )
        if cfg.doc_stride >= cfg.max_length - cfg.max_query_length - 3:
            raise ConfigError(
                f"task.doc_stride={cfg.doc_stride} leaves no room to slide: it must be below "
                f"max_length - max_query_length - 3 = {cfg.max_length - cfg.max_query_length - 3}"
            )
        # Every window of every split gets a global id; these tables map it back to its text.
        self._examples: list[QAExample] = []
        self._window_offsets: list[list[tuple[int, int] | None]] = []
        self._window_example: list[int] = []
        self.data_report: dict[str, dict[str, int]] = {}  # per split: questions read, answers skipped (bad_answers: skip)

    @property
    def data_dir(self) -> Path:
        if self.cfg.data_dir is None:
            from .prepare import ensure_prepared

            return ensure_prepared("qa", self.cfg.prepare_seed)
        return Path(self.cfg.data_dir).expanduser()

    def read(self, split: str) -> list[QAExample]:
        """The questions of ``split`` as read from its JSON file (answers skipped under bad_answers: skip are counted)."""
        skipped: list[str] = []
        examples = read_squad(
            split_file(self.cfg, self.data_dir, split, (".json",)), self.cfg.bad_answers, skipped
        )
        self.data_report[split] = {"questions": len(examples), "skipped_answers": len(skipped)}
        return examples

    def load_split(self, split: str) -> list[dict]:
        examples = self.read(split)
        hf = fast_tokenizer_of(self.tokenizer, "extractive_qa")
        cfg = self.cfg
        features = []
        for example, example_windows in zip(
            examples,
            windows(examples, hf, cfg.max_length, cfg.doc_stride, cfg.max_query_length),
        ):
            self._examples.append(example)
            for window in example_windows:
                features.append(
                    {
                        "input_ids": window.input_ids,
                        "token_type_ids": window.token_type_ids,
                        "start_position": window.start_position,
                        "end_position": window.end_position,
                        "window_id": len(self._window_offsets),
                    }
                )
                self._window_offsets.append(window.offsets)
                self._window_example.append(len(self._examples) - 1)
        return features

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        input_ids, attention_mask = pad_sequences(
            [e["input_ids"] for e in examples], special_id(self.tokenizer, "pad")
        )
        token_type_ids, _ = pad_sequences([e["token_type_ids"] for e in examples], 0)
        # Where an answer may start or end: the context, and CLS (the label of windows without the answer).
        passage_mask = torch.zeros_like(attention_mask)
        for row, example in enumerate(examples):
            offsets = self._window_offsets[example["window_id"]]
            passage_mask[row, : len(offsets)] = torch.tensor(
                [o is not None for o in offsets], dtype=torch.long
            )
            passage_mask[row, 0] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": token_type_ids,
            "passage_mask": passage_mask,
            "start_positions": torch.tensor(
                [e["start_position"] for e in examples], dtype=torch.long
            ),
            "end_positions": torch.tensor(
                [e["end_position"] for e in examples], dtype=torch.long
            ),
            "window_ids": torch.tensor(
                [e["window_id"] for e in examples], dtype=torch.long
            ),
        }

    # -- model side -----------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return 2  # start and end

    def loss(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict]:
        outputs = model(**model_inputs(batch, ("window_ids",)))
        return outputs["loss"], outputs

    def eval_step(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict:
        loss, outputs = self.loss(model, batch)
        starts, ends = (
            outputs["start_logits"].detach().float().cpu(),
            outputs["end_logits"].detach().float().cpu(),
        )
        candidates = []
        for row, window_id in enumerate(batch["window_ids"].tolist()):
            offsets = self._window_offsets[window_id]
            found = best_span(
                starts[row], ends[row], offsets, self.cfg.max_answer_length
            )
            example_id = self._window_example[window_id]
            if found is not None:
                score, s, e = found
                candidates.append(
                    (
                        example_id,
                        score,
                        span_text(self._examples[example_id].context, offsets, s, e),
                    )
                )
            else:
                candidates.append((example_id, float("-inf"), ""))
        return {"loss": float(loss), "n": len(candidates), "candidates": candidates}

    def predictions(self, steps: list[dict]) -> dict[int, str]:
        """Best answer text per example id over all its windows."""
        best: dict[int, tuple[float, str]] = {}
        for step in steps:
            for example_id, score, text in step["candidates"]:
                if example_id not in best or score > best[example_id][0]:
                    best[example_id] = (score, text)
        return {k: text for k, (_, text) in best.items()}

    def score(self, steps: list[dict]) -> dict[str, float]:
        predicted = self.predictions(steps)
        golds = {
            str(k): [text for text, _ in self._examples[k].answers] for k in predicted
        }
        scores = squad_scores(
            golds, {str(k): v for k, v in predicted.items()}, lang=self.cfg.lang
        )
        return {"exact_match": scores["exact_match"], "f1": scores["f1"]}
