"""Composer classification: pieces cut into segments of note events; a piece's label is its segments' majority vote."""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ssl_universal.data.cache import cache_root
from ssl_universal.data.collate import pad_sequences
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.metrics import accuracy, macro_f1
from ssl_universal.task import Task, TaskConfig

from . import synthetic
from .corpus import corpus_pieces, corpus_root
from .readers import read_events, read_folder, split_pieces

log = logging.getLogger(__name__)
SOURCES = ("music21", "synthetic")


@dataclass
class ComposerConfig(TaskConfig):
    """Which pieces, how they are split and how they are cut into segments (every piece is cut; overlong is unused)."""

    max_length: int = 66  # tokens per segment: <cls> + up to max_length - 2 note events + <sep>
    source: str = "music21"  # with data_dir null: music21 (the corpus installed with music21) | synthetic
    composers: list[str] = field(default_factory=lambda: ["bach", "monteverdi", "palestrina"])  # music21 labels; "label=a+b" pools composers
    pieces_per_composer: int | None = 40  # music21: pieces drawn per label (balanced); null = all
    valid_fraction: float = 0.15  # share of each label's pieces held out for valid (when the data has no split folders)
    test_fraction: float = 0.15  # share held out for test
    split_seed: int = 0  # seed of the piece draw and the split
    max_segments_per_piece: int | None = 8  # train: evenly spaced segments kept per piece (long pieces would dominate); null = all
    max_eval_segments_per_piece: int | None = 16  # valid/test: segments that vote per piece; null = all
    num_pieces: int = 30  # synthetic: pieces per style


class ComposerTask(Task):
    """Which composer (or style) wrote a piece, by majority vote of its segments.

    Scores: ``accuracy`` and ``macro_f1`` per piece (ties of the vote go to the highest summed
    probability) and ``segment_accuracy`` per segment.
    """

    Config = ComposerConfig
    default_tokenizer = "music"
    best_metric = "accuracy"
    best_mode = "max"

    def __init__(self, cfg: ComposerConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        if cfg.data_dir is None and cfg.source not in SOURCES:
            raise ConfigError(f"task.source must be one of {', '.join(SOURCES)}; got {cfg.source!r}")
        if cfg.max_length < 3:
            raise ConfigError(f"task.max_length must leave room for <cls>, one event and <sep>; got {cfg.max_length}")
        self._pieces: dict[str, list[tuple[str, str, list]]] | None = None
        self.data_report: dict[str, dict[str, int]] = {}

    # -- data -----------------------------------------------------------------------------
    def pieces(self) -> dict[str, list[tuple[str, str, list]]]:
        """Per split: (name, label, events) of every piece."""
        if self._pieces is not None:
            return self._pieces
        cfg = self.cfg
        if cfg.data_dir is None and cfg.source == "synthetic":
            by_style = synthetic.pieces(cfg.num_pieces, cfg.split_seed)
            names = {style: [Path(f"{style}-{i}") for i in range(len(p))] for style, p in by_style.items()}
            events = {name: piece for style in by_style for name, piece in zip(names[style], by_style[style])}
            splits = split_pieces(names, cfg.valid_fraction, cfg.test_fraction, cfg.split_seed)
            self._pieces = {s: [(str(p), label, events[p]) for p, label in items] for s, items in splits.items()}
            return self._pieces
        if cfg.data_dir is not None:
            splits = read_folder(Path(cfg.data_dir).expanduser(), cfg.valid_fraction, cfg.test_fraction, cfg.split_seed)
        else:
            chosen = corpus_pieces(list(cfg.composers), cfg.pieces_per_composer, cfg.split_seed)
            splits = split_pieces(chosen, cfg.valid_fraction, cfg.test_fraction, cfg.split_seed)
            self._write_manifest(splits)
        self._pieces = {s: [(str(p), label, read_events(p)) for p, label in items] for s, items in splits.items()}
        return self._pieces

    def _write_manifest(self, splits: dict[str, list[tuple[Path, str]]]) -> None:
        """Which corpus pieces went where, so a table can say exactly what it was computed on."""
        root = corpus_root()
        rows = [{"split": s, "label": label, "piece": str(p.relative_to(root)) if p.is_relative_to(root) else str(p)}
                for s, items in splits.items() for p, label in items]
        key = "-".join(sorted(self.cfg.composers)).replace("/", "_")[:80]
        path = cache_root("music", "manifests") / f"music21-{key}-n{self.cfg.pieces_per_composer}-seed{self.cfg.split_seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=1))
        counts = Counter((r["split"], r["label"]) for r in rows)
        log.info("music21 pieces (split, label): %s; manifest %s", dict(sorted(counts.items())), path)

    @property
    def label_names(self) -> list[str]:
        return sorted({label for _, label, _ in self.pieces()["train"]})

    def segments(self, events: list) -> list[list]:
        room = self.cfg.max_length - 2
        return [events[i : i + room] for i in range(0, len(events), room)]

    def load_split(self, split: str) -> list[dict]:
        index = {name: i for i, name in enumerate(self.label_names)}
        cap = self.cfg.max_segments_per_piece if split == "train" else self.cfg.max_eval_segments_per_piece
        report = Counter()
        examples = []
        for group, (name, label, events) in enumerate(self.pieces()[split]):
            if label not in index:
                raise DataError(f"{name}: label {label!r} has no training pieces (known: {', '.join(self.label_names)})")
            segments = self.segments(events)
            if cap is not None and len(segments) > cap:
                report["segments_left_out"] += len(segments) - cap
                step = len(segments) / cap
                segments = [segments[int(i * step)] for i in range(cap)]
            report["pieces"] += 1
            report["segments"] += len(segments)
            for segment in segments:
                try:
                    ids = self.tokenizer.encode(segment)
                except DataError as error:
                    raise DataError(f"{name}: {error}") from None
                examples.append({"input_ids": ids, "label": index[label], "group": group})
        self.data_report[split] = dict(report)
        log.info("composer %s: %s", split, ", ".join(f"{k}: {v}" for k, v in report.items()))
        return examples

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        input_ids, attention_mask = pad_sequences([e["input_ids"] for e in examples], self.tokenizer.pad_id)
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": torch.tensor([e["label"] for e in examples], dtype=torch.long),
            "group": torch.tensor([e["group"] for e in examples], dtype=torch.long),
        }

    # -- model side -----------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def loss(self, model, batch):
        outputs = model(**{k: v for k, v in batch.items() if k != "group"})
        return outputs["loss"], outputs

    def eval_step(self, model, batch) -> dict:
        loss, outputs = self.loss(model, batch)
        logits = outputs["logits"].float()
        return {"loss": float(loss), "n": int(batch["input_ids"].shape[0]), "labels": batch["labels"].cpu(),
                "groups": batch["group"].cpu(), "predictions": logits.argmax(-1).cpu(), "probabilities": logits.softmax(-1).cpu()}

    def score(self, steps: list[dict]) -> dict[str, float]:
        predictions = torch.cat([s["predictions"] for s in steps])
        probabilities = torch.cat([s["probabilities"] for s in steps])
        labels = torch.cat([s["labels"] for s in steps])
        members: dict[int, list[int]] = defaultdict(list)
        for row, group in enumerate(torch.cat([s["groups"] for s in steps]).tolist()):
            members[group].append(row)
        golds, votes = [], []
        for group in sorted(members):
            rows = members[group]
            counts = torch.bincount(predictions[rows], minlength=self.num_labels)
            mass = probabilities[rows].sum(0)
            votes.append(int(torch.where(counts == counts.max(), mass, torch.full_like(mass, -1.0)).argmax()))
            golds.append(int(labels[rows[0]]))
        return {
            "accuracy": accuracy(golds, votes),
            "macro_f1": macro_f1(golds, votes, labels=list(range(self.num_labels))),
            "segment_accuracy": accuracy(labels.tolist(), predictions.tolist()),
        }
