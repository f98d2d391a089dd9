"""token_classification: one tag per word from CoNLL files.

Chunk tags (NER: ``B-PER``, ``I-LOC``, ``O``, ...) are scored by entity-span F1 (conlleval); word tags without
chunk prefixes (POS: ``NOUN``, ``VERB``, ...) by per-word accuracy and macro F1 over the tags, since span F1 of
such tags is not defined (seqeval would cut ``ADV`` into a prefix ``A`` and a type ``DV``). The best checkpoint
follows the same choice: ``f1`` for chunk tags, ``accuracy`` for word tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ssl_universal.data.collate import pad_sequences
from ssl_universal.data.splits import split_file
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.metrics import accuracy, macro_f1, span_f1
from ssl_universal.task import Task

from .common import (
    TextTaskConfig,
    check_length,
    hf_tokenizer_of,
    special_id,
)
from .readers import read_conll

IGNORE = (
    -100
)  # label of positions the loss and the scores skip (specials, non-first word pieces)


@dataclass
class TokenClassificationConfig(TextTaskConfig):
    """Files are CoNLL columns (train.conll, valid.conll/dev.conll, test.conll, or .txt) under data_dir."""

    max_length: int = 128  # longest input in word pieces, special tokens included
    token_column: int = 0  # column of the word (0-based)
    tag_column: int = -1  # column of the tag (0-based; -1 = last, as in CoNLL-2003 NER)
    tags: list[str] | None = (
        None  # tag vocabulary in id order; None = the sorted tags of the training split
    )
    scheme: str | None = (
        None  # None = conlleval chunking; IOB2 | IOBES ... = seqeval strict mode
    )
    scoring: str | None = (
        None  # spans (entity-span F1: NER) | words (accuracy, macro F1: POS); None = spans iff every tag is a chunk tag
    )


SCORINGS = ("spans", "words")
CHUNK_PREFIXES = ("B-", "I-", "E-", "S-", "L-", "U-")


def is_chunk_tag(tag: str) -> bool:
    """``O`` or a tag with a chunk prefix (IOB, IOE, IOBES, BILOU)."""
    return tag == "O" or (tag[:2] in CHUNK_PREFIXES and len(tag) > 2)


class TokenClassificationTask(Task):
    """Word tagging: the first word piece of each word carries its tag, the others are ignored."""

    Config = TokenClassificationConfig
    default_tokenizer = "backbone"
    best_mode = "max"

    def __init__(self, cfg: TokenClassificationConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        if cfg.scoring is not None and cfg.scoring not in SCORINGS:
            raise ConfigError(f"task.scoring: expected one of {', '.join(SCORINGS)} or null, got {cfg.scoring!r}")
        self._tag_names: list[str] | None = list(cfg.tags) if cfg.tags else None

    @property
    def scoring(self) -> str:
        """``spans`` (entity-span F1) or ``words`` (accuracy): task.scoring, else what the tag set is."""
        plain = [t for t in self.tag_names if not is_chunk_tag(t)]
        if self.cfg.scoring == "spans" and plain:
            raise ConfigError(f"task.scoring=spans needs chunk tags (O, B-X, I-X, ...), but tag {plain[0]!r} has no "
                              "chunk prefix; use task.scoring=words for word tags such as POS")
        if self.cfg.scoring is not None:
            return self.cfg.scoring
        return "words" if plain else "spans"

    @property
    def best_metric(self) -> str:  # type: ignore[override]
        return "f1" if self.scoring == "spans" else "accuracy"

    @property
    def data_dir(self) -> Path:
        if self.cfg.data_dir is None:
            from .prepare import ensure_prepared

            return ensure_prepared("ner", self.cfg.prepare_seed)
        return Path(self.cfg.data_dir).expanduser()

    def read(self, split: str) -> tuple[list[dict], Path]:
        """Sentences of ``split`` (``tokens``, ``tags``, ``line``) and their file."""
        path = split_file(self.cfg, self.data_dir, split, (".conll", ".txt", ".tsv"))
        return read_conll(path, self.cfg.tag_column, self.cfg.token_column), path

    @property
    def tag_names(self) -> list[str]:
        if self._tag_names is None:
            sentences, _ = self.read("train")
            self._tag_names = sorted({t for s in sentences for t in s["tags"]})
        return self._tag_names

    def _word_pieces(self, words: list[str]) -> tuple[list[int], list[int | None]]:
        """Ids with specials and, per id, the index of its word (None for specials)."""
        hf = hf_tokenizer_of(self.tokenizer)
        if hf is not None and getattr(hf, "is_fast", False):
            encoded = hf(words, is_split_into_words=True, add_special_tokens=True)
            return list(encoded["input_ids"]), encoded.word_ids()
        ids, word_ids = [special_id(self.tokenizer, "cls")], [None]
        for index, word in enumerate(words):
            pieces = self.tokenizer.encode(word, add_special=False)
            ids += pieces
            word_ids += [index] * len(pieces)
        return [*ids, special_id(self.tokenizer, "sep")], [*word_ids, None]

    def load_split(self, split: str) -> list[dict]:
        sentences, path = self.read(split)
        index = {tag: i for i, tag in enumerate(self.tag_names)}
        examples = []
        for sentence in sentences:
            unknown = [t for t in sentence["tags"] if t not in index]
            if unknown:
                raise DataError(
                    f"{path}, sentence at line {sentence['line']}: tag {unknown[0]!r} does not occur in the "
                    f"training split (known: {', '.join(self.tag_names)}); list every tag in task.tags"
                )
            ids, word_ids = self._word_pieces(sentence["tokens"])
            labels, previous = [], None
            for word in word_ids:
                first = word is not None and word != previous
                labels.append(index[sentence["tags"][word]] if first else IGNORE)
                previous = word
            if check_length(
                len(ids), self.cfg, f"{path}, sentence at line {sentence['line']}"
            ):
                ids = [
                    *ids[: self.cfg.max_length - 1],
                    special_id(self.tokenizer, "sep"),
                ]
                labels = [*labels[: self.cfg.max_length - 1], IGNORE]
            examples.append({"input_ids": ids, "labels": labels})
        return examples

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        input_ids, attention_mask = pad_sequences(
            [e["input_ids"] for e in examples], special_id(self.tokenizer, "pad")
        )
        labels, _ = pad_sequences([e["labels"] for e in examples], IGNORE)
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": labels,
        }

    # -- model side -----------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return len(self.tag_names)

    def eval_step(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict:
        loss, outputs = self.loss(model, batch)
        predicted = outputs["logits"].argmax(-1).cpu()
        labels = batch["labels"].cpu()
        golds, guesses = [], []
        for row in range(labels.shape[0]):
            keep = labels[row] != IGNORE  # one position per word: its first piece
            golds.append([self.tag_names[i] for i in labels[row][keep].tolist()])
            guesses.append([self.tag_names[i] for i in predicted[row][keep].tolist()])
        return {
            "loss": float(loss),
            "n": len(golds),
            "golds": golds,
            "predictions": guesses,
        }

    def score(self, steps: list[dict]) -> dict[str, float]:
        golds = [s for step in steps for s in step["golds"]]
        predictions = [s for step in steps for s in step["predictions"]]
        flat_gold = [t for s in golds for t in s]
        flat_pred = [t for s in predictions for t in s]
        if self.scoring == "words":
            return {"accuracy": accuracy(flat_gold, flat_pred),
                    "macro_f1": macro_f1(flat_gold, flat_pred)}
        return {
            "f1": span_f1(golds, predictions, self.cfg.scheme),
            "accuracy": accuracy(flat_gold, flat_pred),
        }
