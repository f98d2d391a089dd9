"""Labelled symbol sequences from files: FASTA and TSV/CSV readers, a labels file, and class-balanced subsampling.

Shared by the sequence plugins (DNA, protein, ...): plugins never import each other, so what
they both need lives here. The task base that turns records into examples is
:mod:`ssl_universal.data.sequence_task`.
"""

from __future__ import annotations

import csv
import io
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError
from .splits import split_file
from .text_files import read_text

if TYPE_CHECKING:
    from .sequence_task import SequenceFilesConfig

log = logging.getLogger(__name__)

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".faa", ".fas")
TABLE_SUFFIXES = (".tsv", ".csv", ".txt")


@dataclass
class Record:
    """One labelled sequence as read from a file, with where it came from (for error messages)."""

    sequence: str
    label: str | None
    where: str  # "file, line N" (the record's first line)
    ident: str = ""  # the FASTA id, when there is one


def read_labels_file(path: Path) -> dict[str, str]:
    """``id<TAB>label`` lines (a header line ``id<TAB>label`` is skipped) as a dict; exactly two fields per line."""
    labels: dict[str, str] = {}
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(
                f"{path}, line {number}: expected 2 tab-separated fields 'id<TAB>label', found {len(fields)}: {line[:80]!r}; "
                "remove the extra columns (or the stray tab)"
            )
        if number == 1 and fields[0].strip().lower() == "id":
            continue
        ident, label = fields[0].strip(), fields[1].strip()
        if not ident or not label:
            raise DataError(f"{path}, line {number}: empty {'id' if not ident else 'label'} in {line[:80]!r}; every line needs both")
        labels[ident] = label
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

    for number, raw in enumerate(io.StringIO(read_text(path)), 1):
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
    Every row has as many fields as the header (or, without one, the first row): a row with a field more or
    less is an error, since it would shift a sequence into the label column or drop a column unseen.
    """
    delimiter = "," if path.suffix == ".csv" else "\t"
    rows = list(csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter))
    if not any(rows):
        raise DataError(f"{path}: the file is empty")
    header = None if (sequence_column.isdigit() and label_column.isdigit()) else rows[0]
    seq_i = _column(sequence_column, header, path, "sequence")
    label_i = _column(label_column, header, path, "label")
    numbered = list(enumerate(rows[1:] if header else rows, 2 if header else 1))
    numbered = [(number, row) for number, row in numbered if row and any(cell.strip() for cell in row)]
    width = len(header) if header else len(numbered[0][1]) if numbered else 0
    shape = f"the header line: {', '.join(header)}" if header else "the first row"
    separator = "tab" if delimiter == "\t" else "comma"
    records = []
    for number, row in numbered:
        where = f"{path}, line {number}"
        if len(row) != width:
            raise DataError(
                f"{where}: {len(row)} {separator}-separated field(s), expected {width} as in {shape}; "
                f"a column more or less would shift the sequence or the label. Fix the row (a stray {separator}, "
                "an unquoted field?) or give every line, header included, the same columns"
            )
        if max(seq_i, label_i) >= width:
            raise DataError(f"{where}: {width} field(s), but task.sequence_column/label_column ask for index "
                            f"{max(seq_i, label_i)} (0-based)")
        sequence, label = "".join(row[seq_i].split()), row[label_i].strip()
        if not sequence:
            raise DataError(f"{where}: empty sequence")
        if not label:
            raise DataError(f"{where}: empty label")
        records.append(Record(sequence, label, where))
    if not records:
        raise DataError(f"{path}: no rows with a sequence and a label")
    return records


def read_records(cfg: SequenceFilesConfig, data_dir: Path, split: str) -> list[Record]:
    """The records of ``split``: from its own file under ``data_dir``, or, with ``cfg.data_file``, the
    split's share of that one file (see :func:`ssl_universal.data.splits.split_records_by_sequence`)."""
    if cfg.data_file:
        path = data_dir / Path(cfg.data_file).expanduser()
        if not path.is_file():
            raise DataError(f"task.data_file {cfg.data_file!r} does not exist (looked for {path})")
        return _split_one_file(path, cfg.labels_file and data_dir / cfg.labels_file, cfg.label_field,
                               cfg.sequence_column, cfg.label_column, tuple(cfg.split_shares), cfg.data_seed)[split]
    path = split_file(cfg, data_dir, split, (*FASTA_SUFFIXES, *TABLE_SUFFIXES))
    return _read_file(path, cfg.labels_file and data_dir / cfg.labels_file, cfg.label_field, cfg.sequence_column,
                      cfg.label_column)


def _read_file(path: Path, labels_file: Path | None, label_field: str, sequence_column: str, label_column: str) -> list[Record]:
    if path.suffix.lower() in FASTA_SUFFIXES:
        return read_fasta(path, label_field, read_labels_file(labels_file) if labels_file else None)
    return read_table(path, sequence_column, label_column)


_ONE_FILE_SPLITS: dict[tuple, dict[str, list[Record]]] = {}


def _split_one_file(path: Path, labels_file: Path | None, label_field: str, sequence_column: str, label_column: str,
                    shares: tuple[float, ...], seed: int) -> dict[str, list[Record]]:
    """Read and split ``path`` once per (file state, shares, seed); the three splits come from one cut."""
    from .splits import split_records_by_sequence

    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, labels_file, label_field, sequence_column,
           label_column, shares, seed)
    if key not in _ONE_FILE_SPLITS:
        records = _read_file(path, labels_file, label_field, sequence_column, label_column)
        splits, report = split_records_by_sequence(records, seed, shares)
        sizes = ", ".join(f"{name} {len(rows)}" for name, rows in splits.items())
        message = f"{path}: {report['sequences']} sequences split by label into {sizes} (task.data_seed={seed})"
        if report["repeated"]:
            message += (f"; {report['repeated']} sequences occur more than once ({report['repeats']} extra copies), "
                        "each kept within one split")
        log.info(message)
        _ONE_FILE_SPLITS[key] = splits
    return _ONE_FILE_SPLITS[key]


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
