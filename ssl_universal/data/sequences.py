"""Labelled symbol sequences: FASTA and TSV/CSV readers, the length policy, and a task base that scores whole sequences.

Shared by the sequence plugins (DNA, protein, ...): plugins never import each other, so what
they both need lives here.
"""

from __future__ import annotations

import csv
import logging
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch

from .collate import pad_sequences
from ..errors import ConfigError, DataError
from ..metrics import accuracy, macro_f1, mse, spearman
from ..task import Task, TaskConfig

log = logging.getLogger(__name__)

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".faa", ".fas")
TABLE_SUFFIXES = (".tsv", ".csv", ".txt")
OVERLONG_POLICIES = ("error", "truncate", "window")
SPLIT_STEMS = {"train": ("train",), "valid": ("valid", "dev", "validation"), "test": ("test",)}


@dataclass
class Record:
    """One labelled sequence as read from a file, with where it came from (for error messages)."""

    sequence: str
    label: str | None
    where: str  # "file, line N" (the record's first line)
    ident: str = ""  # the FASTA id, when there is one


@dataclass
class SequenceFilesConfig(TaskConfig):
    """Where the split files are and how to read them (every sequence task of this plugin)."""

    max_length: int = 128  # longest input in tokens, <cls> and <sep> included
    overlong: str = "truncate"  # longer inputs: error | truncate (keep the start) | window (cut into pieces, vote per sequence)
    train_file: str | None = None  # relative to data_dir or absolute; None = train.<fa|fasta|tsv|csv>
    valid_file: str | None = None  # None = valid.* or dev.*
    test_file: str | None = None  # None = test.*
    sequence_column: str = "sequence"  # TSV/CSV column of the sequence: a header name or a 0-based index
    label_column: str = "label"  # TSV/CSV column of the label (or value, for regression)
    label_field: str = "label"  # FASTA: header field holding the label, as in ">id label=EI"
    labels_file: str | None = None  # FASTA without labels in the headers: a TSV "id<TAB>label", relative to data_dir
    limit_train: int | None = None  # keep at most this many training sequences (class-balanced, fixed by data_seed); None = all
    limit_eval: int | None = None  # the same for valid and test
    data_seed: int = 0  # seed of generated data and of the subsampling above


# -- readers -------------------------------------------------------------------------------
def read_labels_file(path: Path) -> dict[str, str]:
    """``id<TAB>label`` lines (a header line ``id<TAB>label`` is skipped) as a dict."""
    labels: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 2:
            raise DataError(f"{path}, line {number}: expected 'id<TAB>label', found {line!r}")
        if number == 1 and fields[0].lower() == "id":
            continue
        labels[fields[0].strip()] = fields[1].strip()
    return labels


def _header_label(header: str, field: str) -> tuple[str, str | None]:
    """(id, label) of a FASTA header ``id key=value ...``; label None when the field is absent."""
    parts = header.split()
    if not parts:
        return "", None
    label = None
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if sep and key == field:
            label = value
    return parts[0], label


def read_fasta(path: Path, label_field: str = "label", labels: dict[str, str] | None = None) -> list[Record]:
    """Records of a FASTA file; each label comes from ``label_field=...`` in the header, else ``labels[id]``."""
    records: list[Record] = []
    header: str | None = None
    start = 0
    chunks: list[str] = []

    def close() -> None:
        if header is None:
            return
        ident, label = _header_label(header, label_field)
        where = f"{path}, line {start}"
        if not ident:
            raise DataError(f"{where}: a '>' header with no id")
        sequence = "".join(chunks)
        if not sequence:
            raise DataError(f"{where}: record {ident!r} has an empty sequence")
        if label is None and labels is not None:
            label = labels.get(ident)
            if label is None:
                raise DataError(f"{where}: record {ident!r} has no label in the labels file")
        if label is None:
            raise DataError(
                f"{where}: record {ident!r} has no '{label_field}=' field in its header; "
                f"write '>{ident} {label_field}=...' or name a labels file (task.labels_file)"
            )
        records.append(Record(sequence, label, where, ident))

    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line or line.startswith(";"):
                continue
            if line.startswith(">"):
                close()
                header, start, chunks = line[1:].strip(), number, []
            elif header is None:
                raise DataError(f"{path}, line {number}: sequence text before the first '>' header; is this a FASTA file?")
            else:
                chunks.append("".join(line.split()))
    close()
    if not records:
        raise DataError(f"{path}: no FASTA records (expected lines starting with '>')")
    return records


def _column(name: str, header: list[str] | None, path: Path, what: str) -> int:
    if header is not None and name in header:
        return header.index(name)
    if name.isdigit():
        return int(name)
    found = ", ".join(header) if header else "(no header line)"
    raise DataError(f"{path}: no {what} column {name!r}; the header has {found}; set task.{what}_column")


def read_table(path: Path, sequence_column: str = "sequence", label_column: str = "label") -> list[Record]:
    """Records of a TSV (tab) or CSV (comma) file: one sequence and one label per row.

    Column names are looked up in the header line; when both are numbers (0-based indexes) the file has no header.
    """
    delimiter = "," if path.suffix == ".csv" else "\t"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    if not rows:
        raise DataError(f"{path}: the file is empty")
    header = None if (sequence_column.isdigit() and label_column.isdigit()) else rows[0]
    seq_i = _column(sequence_column, header, path, "sequence")
    label_i = _column(label_column, header, path, "label")
    records = []
    for number, row in enumerate(rows[1:] if header else rows, 2 if header else 1):
        if not row or not any(cell.strip() for cell in row):
            continue
        where = f"{path}, line {number}"
        if len(row) <= max(seq_i, label_i):
            raise DataError(f"{where}: {len(row)} field(s), expected at least {max(seq_i, label_i) + 1} separated by {delimiter!r}")
        sequence, label = "".join(row[seq_i].split()), row[label_i].strip()
        if not sequence:
            raise DataError(f"{where}: empty sequence")
        if not label:
            raise DataError(f"{where}: empty label")
        records.append(Record(sequence, label, where))
    if not records:
        raise DataError(f"{path}: no rows with a sequence and a label")
    return records


def split_file(cfg: SequenceFilesConfig, data_dir: Path, split: str) -> Path:
    """The file of ``split``: the configured one, else ``<stem>.<suffix>`` for the usual stems and suffixes."""
    configured = getattr(cfg, f"{split}_file")
    if configured:
        path = data_dir / Path(configured).expanduser()
        if not path.is_file():
            raise DataError(f"task.{split}_file {configured!r} does not exist (looked for {path})")
        return path
    tried = [data_dir / f"{stem}{suffix}" for stem in SPLIT_STEMS[split] for suffix in (*FASTA_SUFFIXES, *TABLE_SUFFIXES)]
    for path in tried:
        if path.is_file():
            return path
    raise DataError(f"no {split} file in {data_dir}: tried {', '.join(sorted({p.name for p in tried}))}; name it with task.{split}_file")


def read_records(cfg: SequenceFilesConfig, data_dir: Path, split: str) -> list[Record]:
    """The records of ``split`` under ``data_dir``, FASTA or table by file suffix."""
    path = split_file(cfg, data_dir, split)
    if path.suffix.lower() in FASTA_SUFFIXES:
        labels = read_labels_file(data_dir / cfg.labels_file) if cfg.labels_file else None
        return read_fasta(path, cfg.label_field, labels)
    return read_table(path, cfg.sequence_column, cfg.label_column)


def subsample(records: list[Record], limit: int | None, seed: int, balanced: bool) -> list[Record]:
    """At most ``limit`` records, fixed by ``seed``; class-balanced (round robin over labels) when ``balanced``."""
    if limit is None or len(records) <= limit:
        return records
    rng = random.Random(seed)
    if not balanced:
        return sorted(rng.sample(records, limit), key=records.index)
    by_label: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_label[record.label].append(record)
    pools = [rng.sample(group, len(group)) for _, group in sorted(by_label.items())]
    chosen: list[Record] = []
    while len(chosen) < limit:
        for pool in pools:
            if pool and len(chosen) < limit:
                chosen.append(pool.pop())
    return chosen


# -- the task base -------------------------------------------------------------------------
class SymbolSequenceTask(Task):
    """Sequences of a closed alphabet, one label (class or value) each; scored per sequence.

    A subclass provides :meth:`records`. With ``overlong: window`` a long sequence becomes several
    examples sharing a ``group``; its prediction is the majority vote of its windows (ties go to the
    class with the highest summed probability), or their mean for regression.
    """

    Config = SequenceFilesConfig
    regression = False
    best_metric = "accuracy"
    best_mode = "max"

    def __init__(self, cfg: SequenceFilesConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        if cfg.overlong not in OVERLONG_POLICIES:
            raise ConfigError(f"task.overlong must be one of {', '.join(OVERLONG_POLICIES)}; got {cfg.overlong!r}")
        if cfg.max_length < 3:
            raise ConfigError(f"task.max_length must leave room for <cls>, one symbol and <sep>; got {cfg.max_length}")
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

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        input_ids, attention_mask = pad_sequences([e["input_ids"] for e in examples], self.tokenizer.pad_id)
        dtype = torch.float32 if self.regression else torch.long
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": torch.tensor([e["label"] for e in examples], dtype=dtype),
            "group": torch.tensor([e.get("group", i) for i, e in enumerate(examples)], dtype=torch.long),
        }

    # -- model side -----------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return 1 if self.regression else len(self.label_names)

    def loss(self, model, batch):
        outputs = model(**{k: v for k, v in batch.items() if k != "group"})
        return outputs["loss"], outputs

    def eval_step(self, model, batch) -> dict:
        loss, outputs = self.loss(model, batch)
        logits = outputs["logits"].float()
        result = {"loss": float(loss), "n": int(batch["input_ids"].shape[0]), "labels": batch["labels"].cpu(), "groups": batch["group"].cpu()}
        if self.regression:
            result["predictions"] = logits.squeeze(-1).cpu()
        else:
            result["predictions"] = logits.argmax(-1).cpu()
            result["probabilities"] = logits.softmax(-1).cpu()
        return result

    def score(self, steps: list[dict]) -> dict[str, float]:
        return score_groups(steps, self.regression, self.num_labels)


def score_groups(steps: list[dict], regression: bool, num_labels: int) -> dict[str, float]:
    """Per-sequence scores from per-window eval steps (a vote, or a mean for regression)."""
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
    scores = {"accuracy": accuracy(golds, votes), "macro_f1": macro_f1(golds, votes, labels=list(range(num_labels)))}
    if len(groups) > len(order):
        scores["window_accuracy"] = accuracy(labels.tolist(), predictions.tolist())
    return scores


SPLIT_SHARES = (0.8, 0.1, 0.1)  # train / valid / test, per class


def stratified_split(rows: list[tuple[str, str]], seed: int, shares=SPLIT_SHARES) -> dict[str, list[tuple[str, str]]]:
    """Per class, shuffle with ``seed`` and cut into train/valid/test by ``shares``."""
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[1]].append(row)
    rng = random.Random(seed)
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "valid": [], "test": []}
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        n_train, n_valid = round(shares[0] * len(group)), round(shares[1] * len(group))
        splits["train"] += group[:n_train]
        splits["valid"] += group[n_train : n_train + n_valid]
        splits["test"] += group[n_train + n_valid :]
    for part in splits.values():
        rng.shuffle(part)
    return splits


def write_split_tables(out_dir: Path, splits: dict[str, list[tuple[str, str]]]) -> None:
    """Each split's ``(sequence, label)`` rows as ``<split>.tsv``, each file written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        if not rows:
            raise DataError(f"prepared split {split!r} is empty; the source holds too few sequences")
        temporary = out_dir / f".{split}.tsv.tmp"
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(["sequence", "label"])
            writer.writerows(rows)
        temporary.replace(out_dir / f"{split}.tsv")
