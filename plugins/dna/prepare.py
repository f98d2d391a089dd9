"""Published DNA sets as split TSV files: the UCI splice-junction data and histone-mark sets (Pokholok et al. /
Nguyen et al. 2016). Neither installs from a registry; users run ``ssl-universal prepare-dna`` where they have them.

Each function writes ``train.tsv``, ``valid.tsv``, ``test.tsv`` (columns ``sequence``, ``label``) and
``source.json`` (source, class counts, how many records were set aside and why) into a folder that
the recipes read with ``task.data_dir``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ssl_universal.data.splits import stratified_split, write_split_tables
from ssl_universal.data.text_files import read_text
from ssl_universal.errors import ConfigError, DataError

AMBIGUOUS_POLICIES = ("keep", "drop")
SPLICE_CLASSES = ("EI", "IE", "N")




def write_splits(out_dir: Path, splits: dict[str, list[tuple[str, str]]], source: dict) -> Path:
    write_split_tables(out_dir, splits)
    counts = {split: dict(sorted(Counter(label for _, label in rows).items())) for split, rows in splits.items()}
    (out_dir / "source.json").write_text(json.dumps({**source, "class_counts": counts}, indent=2) + "\n")
    return out_dir


def _check_policy(ambiguous: str) -> None:
    if ambiguous not in AMBIGUOUS_POLICIES:
        raise ConfigError(f"ambiguous must be one of {', '.join(AMBIGUOUS_POLICIES)}; got {ambiguous!r}")


def read_uci_splice(path: Path, ambiguous: str = "keep") -> tuple[list[tuple[str, str]], Counter]:
    """Rows of UCI ``splice.data``: ``CLASS, NAME, SEQUENCE`` (classes EI, IE, N; 60 bases; D N S R mark
    ambiguous bases). ``ambiguous=drop`` sets sequences with a non-ACGT base aside; either way they are counted."""
    _check_policy(ambiguous)
    rows, report = [], Counter()
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 3:
            raise DataError(f"{path}, line {number}: expected 'CLASS, NAME, SEQUENCE', found {line!r}")
        label, _name, sequence = fields
        if label not in SPLICE_CLASSES:
            raise DataError(f"{path}, line {number}: class {label!r}, expected one of {', '.join(SPLICE_CLASSES)}")
        if not sequence:
            raise DataError(f"{path}, line {number}: empty sequence")
        if set(sequence.upper()) - set("ACGT"):
            report["with_ambiguous_bases"] += 1
            if ambiguous == "drop":
                report["dropped"] += 1
                continue
        rows.append((sequence.upper(), label))
    return rows, report


def read_histone(path: Path, ambiguous: str = "keep") -> tuple[list[tuple[str, str]], Counter]:
    """Records of a histone-mark file (H3.txt, H4.txt, H3K9ac.txt, ... as released with Nguyen et al. 2016):
    a ``>`` name line, the sequence (one or more lines), and a label line ``0`` or ``1``. FASTA whose header
    ends with the label (``>name 1``) or carries ``label=1`` is read too."""
    _check_policy(ambiguous)
    rows, report = [], Counter()
    name, start, chunks, label = None, 0, [], None

    def close() -> None:
        if name is None:
            return
        sequence = "".join(chunks).upper()
        if not sequence:
            raise DataError(f"{path}, line {start}: record {name!r} has an empty sequence")
        if label not in ("0", "1"):
            raise DataError(f"{path}, line {start}: record {name!r} has no 0/1 label (a line after the sequence or at the header's end)")
        if set(sequence) - set("ACGT"):
            report["with_ambiguous_bases"] += 1
            if ambiguous == "drop":
                report["dropped"] += 1
                return
        rows.append((sequence, label))

    for number, raw in enumerate(read_text(path).splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">"):
            close()
            parts = line[1:].split()
            name, start, chunks, label = (parts[0] if parts else ""), number, [], None
            for part in parts[1:]:
                key, sep, value = part.partition("=")
                label = value if sep and key == "label" else (part if part in ("0", "1") else label)
        elif name is None:
            raise DataError(f"{path}, line {number}: text before the first '>' line")
        elif line in ("0", "1"):
            label = line
        else:
            chunks.append(line)
    close()
    if not rows:
        raise DataError(f"{path}: no records read")
    return rows, report


def prepare(kind: str, path: Path, out_dir: Path, seed: int = 0, ambiguous: str = "keep") -> Path:
    """``kind`` = splice | histone: read ``path`` and write a stratified 80/10/10 split into ``out_dir``."""
    readers = {"splice": read_uci_splice, "histone": read_histone}
    if kind not in readers:
        raise ConfigError(f"unknown DNA set kind {kind!r}; known: {', '.join(readers)}")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows, report = readers[kind](path, ambiguous)
    source = {"source": f"{kind} file {path}", "seed": seed, "ambiguous": ambiguous, "records": len(rows), **report}
    return write_splits(out_dir, stratified_split(rows, seed), source)
