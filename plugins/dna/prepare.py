"""Published DNA sets as split TSV files: the UCI splice-junction data (as ``splice.data``, or as the StatLog
"DNA" table that Debian's ``r-cran-mlbench`` installs) and histone-mark sets (Pokholok et al. / Nguyen et al.
2016); ``ssl-universal prepare-dna`` reads them.

Each function writes ``train.tsv``, ``valid.tsv``, ``test.tsv`` (columns ``sequence``, ``label``) and
``source.json`` (source, class counts, how many records were set aside and why) into a folder that
the recipes read with ``task.data_dir``. The split is stratified by class and keeps identical sequences
in one split (the splice sets repeat some windows), so no test window is also a training one; a window
that the file gives two labels is set aside with all its copies, and counted.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ssl_universal.data.splits import check_prepared_folder, split_records_by_sequence, write_split_tables
from ssl_universal.data.text_files import read_text
from ssl_universal.errors import ConfigError, DataError

AMBIGUOUS_POLICIES = ("keep", "drop")
SPLICE_CLASSES = ("EI", "IE", "N")
#: Where ``apt install r-cran-mlbench`` puts the StatLog DNA table (``bash tools/install_system_deps.sh r-cran-mlbench``).
STATLOG_DNA = Path("/usr/lib/R/site-library/mlbench/data/DNA.rda")
#: StatLog's binary code of a base: three indicators per position (the UCI bases as the StatLog project coded them).
STATLOG_CODE = {(1, 0, 0): "A", (0, 1, 0): "C", (0, 0, 1): "G", (0, 0, 0): "T"}
STATLOG_CLASSES = {"ei": "EI", "ie": "IE", "n": "N"}


@dataclass(frozen=True)
class _Record:
    sequence: str
    label: str
    where: str


def write_splits(out_dir: Path, splits: dict[str, list[tuple[str, str]]], source: dict) -> Path:
    check_prepared_folder(out_dir, source)
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


def read_statlog_dna(path: Path, ambiguous: str = "keep") -> tuple[list[tuple[str, str]], Counter]:
    """The StatLog "DNA" table (R data file, object ``DNA``): 180 binary columns ``V1..V180``, three per base of
    the 60-nt window (:data:`STATLOG_CODE`), and ``Class`` in ei / ie / n. Returned as UCI-style windows with the
    UCI class names (EI, IE, N); StatLog had already replaced the UCI file's ambiguous bases, so ``ambiguous``
    has nothing to act on and is only checked."""
    _check_policy(ambiguous)
    try:
        import rdata
    except ImportError as err:  # pragma: no cover - a dependency of the data extra
        raise ConfigError("reading an R data file needs the pip package rdata (pip install 'ssl-universal[data]')") from err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Unknown encoding. Assumed ASCII." for every factor level
        try:
            objects = rdata.read_rda(str(path))
        except Exception as err:  # noqa: BLE001 - rdata raises many kinds on a file that is not R data
            raise DataError(f"{path}: not a readable R data file ({type(err).__name__}: {err})") from err
    if "DNA" not in objects:
        raise DataError(f"{path}: holds {sorted(objects)}, expected the object 'DNA' (mlbench's StatLog table)")
    table = objects["DNA"]
    bits = [f"V{i}" for i in range(1, 181)]
    missing = [c for c in (*bits, "Class") if c not in table.columns]
    if missing:
        raise DataError(f"{path}: table DNA lacks the columns {missing[:5]}{' ...' if len(missing) > 5 else ''}; "
                        "expected V1..V180 and Class")
    values = table[bits].astype(str).to_numpy()
    rows, report = [], Counter()
    for index, (row, label) in enumerate(zip(values, table["Class"].astype(str)), 1):
        if label not in STATLOG_CLASSES:
            raise DataError(f"{path}, row {index}: Class {label!r}, expected one of {', '.join(STATLOG_CLASSES)}")
        bases = []
        for position in range(60):
            triple = tuple(row[3 * position: 3 * position + 3])
            base = STATLOG_CODE.get(tuple(int(v) if v in ("0", "1") else -1 for v in triple))
            if base is None:
                raise DataError(f"{path}, row {index}: base {position + 1} (V{3 * position + 1}..V{3 * position + 3}) is "
                                f"{'/'.join(triple)}, expected one of 100 (A), 010 (C), 001 (G), 000 (T)")
            bases.append(base)
        rows.append(("".join(bases), STATLOG_CLASSES[label]))
    return rows, report


READERS = {"splice": read_uci_splice, "statlog": read_statlog_dna, "histone": read_histone}


def prepare(kind: str, path: Path | None, out_dir: Path, seed: int = 0, ambiguous: str = "keep") -> Path:
    """``kind`` = splice | statlog | histone: read ``path`` (statlog: the installed table by default) and write a
    stratified 80/10/10 split into ``out_dir``, identical sequences kept in one split."""
    if kind not in READERS:
        raise ConfigError(f"unknown DNA set kind {kind!r}; known: {', '.join(READERS)}")
    if path is None:
        if kind != "statlog":
            raise ConfigError(f"prepare-dna {kind}: give the file to read")
        path = STATLOG_DNA
        if not path.is_file():
            raise DataError(f"{path}: not installed; run `bash tools/install_system_deps.sh r-cran-mlbench` "
                            "(Debian's mlbench ships the StatLog DNA table) or give the file's path")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows, report = READERS[kind](path, ambiguous)
    records = [_Record(sequence, label, f"{path}, record {i}") for i, (sequence, label) in enumerate(rows, 1)]
    splits, repeats = split_records_by_sequence(records, seed, on_conflict="drop")
    source = {"source": f"{kind} file {path}", "seed": seed, "ambiguous": ambiguous, "records": len(rows), **report,
              **repeats}
    tables = {name: [(r.sequence, r.label) for r in members] for name, members in splits.items()}
    return write_splits(out_dir, tables, source)
