"""The artificial plugin's tasks: masked-LM pre-training on a generated corpus, and the English proxy tasks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ssl_universal.data.collate import pad_sequences
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.metrics import classification_scores
from ssl_universal.schema import FieldError, bounded, choice
from ssl_universal.task import Task, TaskConfig

from . import english
from .generators import Corpus, GeneratorConfig

IGNORE = -100


@dataclass
class ArtificialMLMConfig(GeneratorConfig, TaskConfig):
    """A generated corpus (the generator fields) cut into masked-LM examples of ``length`` tokens + <cls>, <sep>."""

    max_length: int = bounded(128, ge=3)  # must be at least length + 2
    num_train: int = bounded(2000, ge=1)  # training sequences (generated on the fly, never stored)
    num_eval: int = bounded(200, ge=1)  # valid and test sequences each
    data_seed: int = 0  # seed of the corpus (the run seed drives init and training masks)
    mask_prob: float = bounded(0.15, gt=0, lt=1)  # share of tokens chosen for prediction
    mask_token_prob: float = bounded(0.8, ge=0, le=1)  # of the chosen: replaced by <mask>
    random_token_prob: float = bounded(0.1, ge=0, le=1)  # of the chosen: replaced by a random artificial token

    def validate(self, run=None) -> None:
        super().validate(run)
        if self.length + 2 > self.max_length:
            raise FieldError("max_length", f"{self.max_length} is less than task.length + 2 = {self.length + 2}")
        if self.mask_token_prob + self.random_token_prob > 1:
            raise FieldError("random_token_prob", "mask_token_prob + random_token_prob must not exceed 1")
        if run is not None:
            size = getattr(run.tokenizer, "vocab_size", None)
            if run.tokenizer_name == "artificial" and size != self.vocab_size:
                raise FieldError("vocab_size", f"{self.vocab_size} but tokenizer.vocab_size={size}; set both to the same number")


class GeneratedSplit(Sequence):
    """The examples of one split, generated when indexed (memory stays flat whatever the corpus size)."""

    def __init__(self, corpus: Corpus, tokenizer, split: str, size: int, mask_seed: int | None):
        self.corpus, self.tokenizer, self.split, self.size, self.mask_seed = corpus, tokenizer, split, size, mask_seed
        self.lengths = [corpus.cfg.length + 2] * size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        if not -self.size <= index < self.size:
            raise IndexError(index)
        index %= self.size
        example = {"input_ids": self.tokenizer.encode_ids(self.corpus.sequence(index, self.split))}
        if self.mask_seed is not None:
            example["mask_seed"] = self.mask_seed * 1_000_003 + index
        return example


class ArtificialMLMTask(Task):
    """BERT-style masked LM on an artificial corpus. Training masks are drawn afresh each batch from torch's
    global RNG (seeded by the engine); valid/test masks are fixed per sequence, so every evaluation scores
    the same positions."""

    Config = ArtificialMLMConfig
    default_tokenizer = "artificial"
    best_metric = "perplexity"
    best_mode = "min"

    def __init__(self, cfg: ArtificialMLMConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        if not hasattr(tokenizer, "encode_ids"):
            raise ConfigError(f"task artificial_mlm reads generated ids and needs `tokenizer: artificial`, got {type(tokenizer).__name__}")
        if tokenizer.cfg.vocab_size != cfg.vocab_size:
            raise ConfigError(f"task.vocab_size={cfg.vocab_size} but tokenizer.vocab_size={tokenizer.cfg.vocab_size}; set both to the same number")
        self.corpus = Corpus(GeneratorConfig(**{f: getattr(cfg, f) for f in GeneratorConfig.__dataclass_fields__}), seed=cfg.data_seed)

    def load_split(self, split: str) -> Sequence[dict]:
        size = self.cfg.num_train if split == "train" else self.cfg.num_eval
        return GeneratedSplit(self.corpus, self.tokenizer, split, size, None if split == "train" else self.cfg.data_seed)

    def token_counts(self, split: str = "train") -> dict[str, int]:
        """How often each artificial symbol (``tok<k>``) occurs in ``split``: the backbone's frequency table."""
        counts = self.symbol_counts(split)
        specials = set(self.tokenizer.special_ids)
        return {self.tokenizer.symbols[i]: n for i, n in counts.items() if i not in specials}

    def _mask(self, ids: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        cfg, tok = self.cfg, self.tokenizer
        ordinary = ids >= tok.offset
        chosen = (torch.rand(ids.shape[0], generator=generator) < cfg.mask_prob) & ordinary
        candidates = ordinary.nonzero().flatten()
        if not bool(chosen.any()) and len(candidates):  # at least one prediction per sequence (none if all are <unk>)
            chosen[candidates[torch.randint(len(candidates), (1,), generator=generator)]] = True
        labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
        how = torch.rand(ids.shape[0], generator=generator)
        masked = ids.clone()
        masked[chosen & (how < cfg.mask_token_prob)] = tok.mask_id
        to_random = chosen & (how >= cfg.mask_token_prob) & (how < cfg.mask_token_prob + cfg.random_token_prob)
        random_ids = torch.randint(tok.offset, tok.vocab_size, ids.shape, generator=generator)
        masked[to_random] = random_ids[to_random]
        return masked, labels

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        masked, labels = [], []
        for example in examples:
            seed = example.get("mask_seed")
            generator = torch.Generator().manual_seed(seed) if seed is not None else None
            m, label = self._mask(torch.as_tensor(example["input_ids"], dtype=torch.long), generator)
            masked.append(m)
            labels.append(label)
        input_ids, attention_mask = pad_sequences(masked, self.tokenizer.pad_id)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": pad_sequences(labels, IGNORE)[0]}

    @property
    def num_labels(self) -> int:
        return self.tokenizer.vocab_size

    def eval_step(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict:
        loss, outputs = self.loss(model, batch)
        logits, labels = outputs["logits"].detach().float(), batch["labels"]
        keep = labels != IGNORE
        token_loss = torch.nn.functional.cross_entropy(logits[keep], labels[keep], reduction="sum")
        return {"loss": float(loss), "n": int(labels.shape[0]), "masked_loss_sum": float(token_loss), "masked": int(keep.sum()),
                "correct": int((logits[keep].argmax(-1) == labels[keep]).sum())}

    def score(self, steps: list[dict]) -> dict[str, float]:
        masked = max(sum(s["masked"] for s in steps), 1)
        mean_loss = sum(s["masked_loss_sum"] for s in steps) / masked
        return {"mlm_accuracy": 100.0 * sum(s["correct"] for s in steps) / masked,
                "perplexity": math.exp(min(mean_loss, 50.0))}  # capped so a diverged run still reports a number


@dataclass
class EnglishProxyConfig(TaskConfig):
    """A GLUE-like English proxy made from fortunes (see :mod:`.english`): which one and how big."""

    proxy: str = choice("acceptability", "topic", "paraphrase", "sentiment")  # acceptability (CoLA proxy: real vs locally disordered) | topic (fortunes file) | paraphrase (MRPC proxy: WordNet synonyms vs another sentence) | sentiment (SST-2 proxy, silver VADER labels)
    max_length: int = bounded(64, ge=3)  # longest input in tokens, <cls> and <sep> included
    overlong: str = choice("truncate", "error")  # a longer input: truncate (keep the start) | error
    num_train: int = bounded(2000, ge=2)  # training examples
    num_eval: int = bounded(300, ge=2)  # valid and test examples each
    data_seed: int = 0  # seed of the split and the disordering
    changes: int = bounded(1, ge=1)  # acceptability: local changes (swap / window of 3 shuffled) in an unacceptable sentence
    minimal_pairs: bool = False  # acceptability: every sentence in both forms (num_train / 2 sentences), so only word order separates the labels
    paraphrase_negatives: str = choice("random", "overlap", "replaced")  # paraphrase: a 'different' pair's second sentence is the next of the split (random), the most word-overlapping of 256 drawn from it (overlap), or the first with as many words replaced by non-synonyms as a paraphrase gets synonyms (replaced: equal overlap)
    sentiment_threshold: float = bounded(0.3, gt=0, lt=1)  # sentiment: keep sentences whose VADER compound score is >= this (positive) or <= -this (negative)
    fortunes_dir: str = english.FORTUNES_DIR  # the Debian fortunes folder


class EnglishProxyTask(Task):
    """One label per English text, scored by accuracy and macro-F1 (a proxy, not a GLUE set)."""

    Config = EnglishProxyConfig
    default_tokenizer = "english_pieces"
    best_metric = "accuracy"
    best_mode = "max"

    @property
    def label_names(self) -> tuple[str, ...]:
        return {"acceptability": english.ACCEPTABILITY_LABELS, "paraphrase": english.PARAPHRASE_LABELS,
                "sentiment": english.SENTIMENT_LABELS}.get(self.cfg.proxy, english.TOPICS)

    def rows(self, split: str) -> list[tuple[str, str]]:
        cfg = self.cfg
        size = cfg.num_train if split == "train" else cfg.num_eval
        if cfg.proxy == "acceptability":
            return english.acceptability_rows(split, size, cfg.data_seed, cfg.fortunes_dir, cfg.changes, cfg.minimal_pairs)
        if cfg.proxy == "paraphrase":
            return english.paraphrase_rows(split, size, cfg.data_seed, cfg.fortunes_dir, negatives=cfg.paraphrase_negatives)
        if cfg.proxy == "sentiment":
            return english.sentiment_rows(split, size, cfg.data_seed, cfg.fortunes_dir, cfg.sentiment_threshold)
        return english.topic_rows(split, size, cfg.data_seed, cfg.fortunes_dir)

    def load_split(self, split: str) -> list[dict]:
        index = {name: i for i, name in enumerate(self.label_names)}
        examples = []
        for line, (text, label) in enumerate(self.rows(split), start=1):
            if isinstance(text, tuple):  # a sentence pair: <cls> first <sep> second <sep>
                ids = [*self.tokenizer.encode(text[0]), *self.tokenizer.encode(text[1], add_special=False), self.tokenizer.sep_id]
            else:
                ids = self.tokenizer.encode(text)
            if len(ids) > self.cfg.max_length:
                if self.cfg.overlong == "error":
                    raise DataError(f"{self.cfg.proxy} proxy, {split} example {line}: {len(ids)} tokens > task.max_length={self.cfg.max_length}; "
                                    "raise it or set task.overlong=truncate")
                ids = [*ids[: self.cfg.max_length - 1], self.tokenizer.sep_id]
            examples.append({"input_ids": ids, "label": index[label]})
        return examples

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def score(self, steps: list[dict]) -> dict[str, float]:
        predictions = torch.cat([s["predictions"] for s in steps]).tolist()
        labels = torch.cat([s["labels"] for s in steps]).tolist()
        return classification_scores(labels, predictions, self.num_labels)
