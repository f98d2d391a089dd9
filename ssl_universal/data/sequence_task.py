"""Labelled sequences as a task: the config of sequence files and length policy, and task bases scored per sequence.

:class:`GroupedSequenceTask` holds the model side shared by every task whose examples come in groups
(the windows of a long sequence, the segments of a piece): one classifier or regressor per example, a
majority vote (or mean) per group. :class:`SymbolSequenceTask` adds records read from files
(:mod:`ssl_universal.data.sequence_files`) and the ``overlong`` policy that makes windows.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import torch

from ..errors import DataError
from ..metrics import accuracy, classification_scores, mse, spearman
from ..schema import FieldError, bounded, choice
from ..task import Task, TaskConfig, examples_in
from .collate import pad_sequences
from .sequence_files import Record, subsample

log = logging.getLogger(__name__)


@dataclass
class SequenceFilesConfig(TaskConfig):
    """Where the split files are and how to read them (every sequence task of this plugin)."""

    max_length: int = bounded(128, ge=3)  # longest input in tokens, <cls> and <sep> included (room for one symbol)
    overlong: str = choice("truncate", "error", "window")  # longer inputs: error | truncate (keep the start) | window (cut into pieces, vote per sequence)
    train_file: str | None = None  # relative to data_dir or absolute; None = train.<fa|fasta|tsv|csv>
    valid_file: str | None = None  # None = valid.* or dev.*
    test_file: str | None = None  # None = test.*
    data_file: str | None = None  # one file of every labelled sequence instead: split here by label (identical sequences kept together)
    split_shares: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])  # data_file: train / valid / test shares
    sequence_column: str = "sequence"  # TSV/CSV column of the sequence: a header name or a 0-based index
    label_column: str = "label"  # TSV/CSV column of the label (or value, for regression)
    label_field: str = "label"  # FASTA: header field holding the label, as in ">id label=EI"
    labels_file: str | None = None  # FASTA without labels in the headers: a TSV "id<TAB>label", relative to data_dir
    limit_train: int | None = None  # keep at most this many training sequences (class-balanced, fixed by data_seed); None = all
    limit_eval: int | None = None  # the same for valid and test
    data_seed: int = 0  # seed of generated data, of the subsampling above and of the data_file split

    def validate(self, run=None) -> None:
        shares = list(self.split_shares)
        if len(shares) != 3 or any(s <= 0 for s in shares) or abs(sum(shares) - 1) > 1e-6:
            raise FieldError("split_shares", f"{shares}; expected three positive shares (train, valid, test) "
                             "that sum to 1, e.g. [0.8, 0.1, 0.1]")
        named = [f"{k}_file" for k in ("train", "valid", "test") if getattr(self, f"{k}_file")]
        if self.data_file and named:
            raise FieldError("data_file", f"is one file split three ways; it does not combine with task.{named[0]}")


class GroupedSequenceTask(Task):
    """Examples in groups (``group`` in each example), one label each; scored per group.

    A group's prediction is the majority vote of its examples (ties go to the class with the highest
    summed probability), or their mean for regression. A subclass provides ``label_names`` and
    :meth:`load_split`; the per-example accuracy is reported as ``<part_name>_accuracy`` when some group
    has several examples, or always with ``always_score_parts``.
    """

    regression = False
    best_metric = "accuracy"
    best_mode = "max"
    part_name = "window"  # what one example of a group is, in the name of the per-example score
    always_score_parts = False

    @property
    def num_labels(self) -> int:
        return 1 if self.regression else len(self.label_names)

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        input_ids, attention_mask = pad_sequences([e["input_ids"] for e in examples], self.tokenizer.pad_id)
        dtype = torch.float32 if self.regression else torch.long
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": torch.tensor([e["label"] for e in examples], dtype=dtype),
            "group": torch.tensor([e.get("group", i) for i, e in enumerate(examples)], dtype=torch.long),
        }

    def loss(self, model, batch):
        outputs = model(**{k: v for k, v in batch.items() if k != "group"})
        return outputs["loss"], outputs

    def eval_step(self, model, batch) -> dict:
        loss, outputs = self.loss(model, batch)
        logits = outputs["logits"].float()
        result = {"loss": float(loss), "n": examples_in(batch), "labels": batch["labels"].cpu(), "groups": batch["group"].cpu()}
        if self.regression:
            result["predictions"] = logits.squeeze(-1).cpu()
        else:
            result["predictions"] = logits.argmax(-1).cpu()
            result["probabilities"] = logits.softmax(-1).cpu()
        return result

    def score(self, steps: list[dict]) -> dict[str, float]:
        return score_groups(steps, self.regression, self.num_labels, part_metric=f"{self.part_name}_accuracy",
                            always_score_parts=self.always_score_parts)


class SymbolSequenceTask(GroupedSequenceTask):
    """Sequences of a closed alphabet, one label (class or value) each; scored per sequence.

    A subclass provides :meth:`records`. With ``overlong: window`` a long sequence becomes several
    examples sharing a ``group``; its prediction is the majority vote of its windows (ties go to the
    class with the highest summed probability), or their mean for regression.
    """

    Config = SequenceFilesConfig

    def __init__(self, cfg: SequenceFilesConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        self._label_names: list[str] | None = None
        self._records: dict[str, list[Record]] = {}
        self.data_report: dict[str, dict[str, int]] = {}  # per split: sequences, truncated, windowed, unknown symbols

    def records(self, split: str) -> list[Record]:
        raise NotImplementedError

    def _limited(self, split: str) -> list[Record]:
        if split not in self._records:
            limit = self.cfg.limit_train if split == "train" else self.cfg.limit_eval
            self._records[split] = subsample(self.records(split), limit, self.cfg.data_seed, balanced=not self.regression)
        return self._records[split]

    @property
    def label_names(self) -> list[str]:
        if self._label_names is None:
            self._label_names = sorted({r.label for r in self._limited("train")})
        return self._label_names

    def _label(self, record: Record) -> int | float:
        if self.regression:
            try:
                return float(record.label)
            except (TypeError, ValueError):
                raise DataError(f"{record.where}: label {record.label!r} is not a number (this is a regression task)") from None
        index = {name: i for i, name in enumerate(self.label_names)}
        if record.label not in index:
            raise DataError(
                f"{record.where}: label {record.label!r} does not occur in the training split (known: {', '.join(self.label_names)})"
            )
        return index[record.label]

    def _pieces(self, ids: list[int], where: str, report: Counter) -> list[list[int]]:
        room = self.cfg.max_length - 2
        if len(ids) <= room:
            return [ids]
        if self.cfg.overlong == "error":
            raise DataError(
                f"{where}: {len(ids)} tokens, more than max_length={self.cfg.max_length} allows ({room} + <cls> + <sep>); "
                "raise task.max_length or set task.overlong to truncate or window"
            )
        if self.cfg.overlong == "truncate":
            report["truncated"] += 1
            return [ids[:room]]
        pieces = [ids[i : i + room] for i in range(0, len(ids), room)]
        report["windowed"] += 1
        report["windows"] += len(pieces)
        return pieces

    def load_split(self, split: str) -> list[dict]:
        records = self._limited(split)
        report: Counter = Counter(sequences=len(records))
        unknown_before = getattr(self.tokenizer, "unknown_count", 0)
        examples = []
        for group, record in enumerate(records):
            try:
                ids = self.tokenizer.encode(record.sequence, add_special=False)
            except DataError as error:
                raise DataError(f"{record.where}: {error}") from None
            label = self._label(record)
            for piece in self._pieces(ids, record.where, report):
                examples.append({"input_ids": [self.tokenizer.cls_id, *piece, self.tokenizer.sep_id], "label": label, "group": group})
        report["unknown_symbols"] = getattr(self.tokenizer, "unknown_count", 0) - unknown_before
        self.data_report[split] = dict(report)
        changed = {k: v for k, v in report.items() if k != "sequences" and v}
        if changed:
            log.warning("%s %s: %d sequences; %s", type(self).__name__, split, len(records), ", ".join(f"{k}: {v}" for k, v in changed.items()))
        return examples


def score_groups(
    steps: list[dict], regression: bool, num_labels: int, *, part_metric: str = "window_accuracy",
    always_score_parts: bool = False,
) -> dict[str, float]:
    """Per-group scores from per-example eval steps (a vote, or a mean for regression).

    Classification also reports the per-example accuracy as ``part_metric`` when some group has
    several examples (always with ``always_score_parts``).
    """
    predictions = torch.cat([s["predictions"] for s in steps])
    labels = torch.cat([s["labels"] for s in steps])
    groups = torch.cat([s["groups"] for s in steps]).tolist()
    members: dict[int, list[int]] = defaultdict(list)
    for row, group in enumerate(groups):
        members[group].append(row)
    order = sorted(members)
    if regression:
        golds = [float(labels[members[g][0]]) for g in order]
        means = [float(predictions[members[g]].mean()) for g in order]
        return {"spearman": spearman(golds, means), "mse": mse(golds, means)}
    probabilities = torch.cat([s["probabilities"] for s in steps])
    golds, votes = [], []
    for g in order:
        rows = members[g]
        counts = torch.bincount(predictions[rows], minlength=num_labels)
        tied = counts == counts.max()
        mass = probabilities[rows].sum(0)
        votes.append(int(torch.where(tied, mass, torch.full_like(mass, -1.0)).argmax()))
        golds.append(int(labels[rows[0]]))
    scores = classification_scores(golds, votes, num_labels)
    if always_score_parts or len(groups) > len(order):
        scores[part_metric] = accuracy(labels.tolist(), predictions.tolist())
    return scores
