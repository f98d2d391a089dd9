"""Composer classification: pieces cut into segments of note events; a piece's label is its segments' majority vote.

The model side (loss, eval step, the vote per piece) is the core's :class:`GroupedSequenceTask`; this
module reads and cuts the pieces.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ssl_universal.data.cache import cache_root
from ssl_universal.data.sequence_task import GroupedSequenceTask
from ssl_universal.errors import DataError
from ssl_universal.schema import bounded, choice
from ssl_universal.task import TaskConfig

from . import synthetic
from .corpus import corpus_pieces, corpus_root
from .readers import read_events, read_folder, split_pieces

log = logging.getLogger(__name__)


@dataclass
class ComposerConfig(TaskConfig):
    """Which pieces, how they are split and how they are cut into segments (every piece is cut; overlong is unused)."""

    max_length: int = bounded(66, ge=3)  # tokens per segment: <cls> + up to max_length - 2 note events + <sep>
    source: str = choice("music21", "synthetic")  # with data_dir null: music21 (the corpus installed with music21) | synthetic
    composers: list[str] = field(default_factory=lambda: ["bach", "monteverdi", "palestrina"])  # music21 labels; "label=a+b" pools composers
    pieces_per_composer: int | None = 40  # music21: pieces drawn per label (balanced); null = all
    valid_fraction: float = 0.15  # share of each label's pieces held out for valid (when the data has no split folders)
    test_fraction: float = 0.15  # share held out for test
    split_seed: int = 0  # seed of the piece draw and the split
    max_segments_per_piece: int | None = 8  # train: evenly spaced segments kept per piece (long pieces would dominate); null = all
    max_eval_segments_per_piece: int | None = 16  # valid/test: segments that vote per piece; null = all
    num_pieces: int = 30  # synthetic: pieces per style


class ComposerTask(GroupedSequenceTask):
    """Which composer (or style) wrote a piece, by majority vote of its segments.

    Scores: ``accuracy`` and ``macro_f1`` per piece (ties of the vote go to the highest summed
    probability) and ``segment_accuracy`` per segment.

    The best checkpoint and early stopping watch ``segment_accuracy``: a valid split of ~20 pieces
    makes the piece vote move in steps of 5 points and peak early by chance (it picked under-trained
    checkpoints in the 3-seed benchmark), while its ~300 segments give a smooth score.
    ``trainer.best_metric=accuracy`` selects on the vote instead.
    """

    Config = ComposerConfig
    default_tokenizer = "music"
    best_metric = "segment_accuracy"
    best_mode = "max"
    part_name = "segment"  # every piece is cut into segments, so segment_accuracy is always reported
    always_score_parts = True

    def __init__(self, cfg: ComposerConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
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
