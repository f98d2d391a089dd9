"""Composer folders for ``task.data_dir``: from music21's corpus (installed, offline) or a MAESTRO download.

Both write ``OUT/{train,valid,test}/<composer>/<piece>`` (the layout the composer task reads) and
``OUT/manifest.tsv`` (split, label, piece, source) saying exactly which pieces were used.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

from ssl_universal.errors import ConfigError, DataError

from .corpus import corpus_pieces, corpus_root
from .readers import split_pieces

MAESTRO_COLUMNS = ("canonical_composer", "canonical_title", "split", "midi_filename")
MAESTRO_SPLITS = {"train": "train", "validation": "valid", "test": "test"}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("_") or "unknown"


def _write(out_dir: Path, items: list[tuple[str, str, Path, str]], link: bool) -> Path:
    """Copy (or symlink) each (split, label, source path, shown name) into the folder layout, plus the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for split, label, source, shown in items:
        target = out_dir / split / _safe(label) / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        if link:
            target.symlink_to(source.resolve())
        else:
            shutil.copyfile(source, target)
        rows.append((split, _safe(label), str(target.relative_to(out_dir)), shown))
    with open(out_dir / "manifest.tsv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["split", "label", "piece", "source"])
        writer.writerows(sorted(rows))
    return out_dir


def prepare_corpus(out_dir: Path, composers: list[str], pieces_per_composer: int | None = 40, valid_fraction: float = 0.15,
                   test_fraction: float = 0.15, seed: int = 0) -> Counter:
    """The same draw and split as the composer task with ``source: music21``, copied into ``out_dir``."""
    chosen = corpus_pieces(composers, pieces_per_composer, seed)
    splits = split_pieces(chosen, valid_fraction, test_fraction, seed)
    root = corpus_root()
    items = [(s, label, p, str(p.relative_to(root))) for s, pairs in splits.items() for p, label in pairs]
    _write(out_dir, items, link=False)
    return Counter((s, label) for s, label, _, _ in items)


def prepare_maestro(maestro_dir: Path, out_dir: Path, top_composers: int = 10, min_pieces: int = 10, link: bool = True) -> Counter:
    """MAESTRO (v2/v3): its CSV gives composer, title, split and MIDI file. Pieces credited to several composers
    ("A / B") are left out; the ``top_composers`` with the most pieces (at least ``min_pieces``) are kept; the
    published train/validation/test split is used as is. Every left-out performance is counted in the result."""
    csv_files = sorted(maestro_dir.glob("maestro-v*.csv"))
    if not csv_files:
        raise DataError(f"{maestro_dir}: no maestro-v*.csv; point --maestro-dir at the unpacked MAESTRO folder")
    with open(csv_files[-1], newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    missing = [c for c in MAESTRO_COLUMNS if records and c not in records[0]]
    if not records or missing:
        raise DataError(f"{csv_files[-1]}: expected columns {', '.join(MAESTRO_COLUMNS)}; missing {', '.join(missing) or 'all rows'}")
    report: Counter = Counter()
    single = []
    for number, record in enumerate(records, 2):
        if "/" in record["canonical_composer"]:
            report["left_out_several_composers"] += 1
            continue
        if record["split"] not in MAESTRO_SPLITS:
            raise DataError(f"{csv_files[-1]}, line {number}: split {record['split']!r}, expected train/validation/test")
        single.append(record)
    by_composer = Counter(r["canonical_composer"] for r in single)
    kept = [c for c, n in by_composer.most_common(top_composers) if n >= min_pieces]
    if not kept:
        raise ConfigError(f"no composer has {min_pieces} pieces; lower --min-pieces")
    items = []
    for record in single:
        if record["canonical_composer"] not in kept:
            report["left_out_other_composers"] += 1
            continue
        path = maestro_dir / record["midi_filename"]
        if not path.is_file():
            raise DataError(f"{path}: listed in {csv_files[-1].name} but missing; is the MIDI part of MAESTRO unpacked?")
        items.append((MAESTRO_SPLITS[record["split"]], record["canonical_composer"], path, record["canonical_title"]))
    _write(out_dir, items, link=link)
    report.update(Counter(f"{s}/{_safe(label)}" for s, label, _, _ in items))
    return report
