"""Train/valid/test splits on disk: finding a split's file by its conventional names, and writing prepared splits."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError

# Names tried for each split when the config names no file; real corpora call "valid" "dev".
SPLIT_STEMS = {"train": ("train",), "valid": ("valid", "dev", "validation"), "test": ("test",)}
SPLIT_SHARES = (0.8, 0.1, 0.1)  # train / valid / test, per class


def split_file(cfg: Any, data_dir: Path, split: str, suffixes: tuple[str, ...]) -> Path:
    """The file of ``split``: ``cfg.<split>_file`` when set (relative to ``data_dir`` or absolute), else the
    first ``<stem><suffix>`` that exists under ``data_dir``, trying the stems of :data:`SPLIT_STEMS` in order."""
    if split not in SPLIT_STEMS:
        raise ConfigError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_STEMS)}")
    configured = getattr(cfg, f"{split}_file")
    if configured:
        path = data_dir / Path(configured).expanduser()
        if not path.is_file():
            raise DataError(f"task.{split}_file {configured!r} does not exist (looked for {path})")
        return path
    tried = [data_dir / f"{stem}{suffix}" for stem in SPLIT_STEMS[split] for suffix in suffixes]
    for path in tried:
        if path.is_file():
            return path
    names = ", ".join(dict.fromkeys(p.name for p in tried))
    raise DataError(f"no {split} file in {data_dir}: tried {names}; name it with task.{split}_file")


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


def check_prepared_folder(out_dir: Path, source: dict) -> None:
    """Refuse to write prepared splits over a folder that holds splits of another source.

    Runs read their data from the folder by path, so replacing its splits with those of another file, seed or
    policy would change, without a word, what those runs' configs point at. Preparing the same source again
    (every field of ``source`` equal to the one recorded in ``source.json``) rewrites the same splits and is allowed.
    """
    import json

    recorded = out_dir / "source.json"
    tables = [out_dir / f"{split}.tsv" for split in SPLIT_STEMS if (out_dir / f"{split}.tsv").exists()]
    if not recorded.exists():
        if tables:
            raise DataError(f"{out_dir} already holds {', '.join(t.name for t in tables)} but no source.json saying where "
                            "they came from; prepare into another --out folder (or move those files away)")
        return
    try:
        old = json.loads(recorded.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataError(f"{recorded}: not valid JSON ({error}); prepare into another --out folder") from error
    new = json.loads(json.dumps(source))  # the types source.json would hold
    changed = {key: (old.get(key), value) for key, value in new.items() if old.get(key) != value}
    if changed:
        shown = "; ".join(f"{key}: {before!r} there, {after!r} now" for key, (before, after) in sorted(changed.items()))
        raise DataError(f"{out_dir} holds splits prepared from another source ({shown}); runs that read that folder "
                        "would silently see other data: prepare into another --out folder, or remove the old one first")


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


def split_records_by_sequence(records: list, seed: int, shares=SPLIT_SHARES, *,
                              on_conflict: str = "error") -> tuple[dict[str, list], dict[str, int]]:
    """Train/valid/test from one list of records (``.sequence``, ``.label``, ``.where``), stratified by label.

    Identical sequences stay together in one split, so no test sequence is also a training one.
    The same sequence under two labels is an error naming both places (``on_conflict="error"``), or,
    with ``on_conflict="drop"`` (a published set one cannot fix), every copy of it is set aside and
    counted. Returns the splits and a report: ``sequences``, ``distinct``, ``repeated`` (sequences that
    occur more than once), ``repeats`` (the extra copies) and, when dropping, ``conflicting_sequences``
    and ``conflicting_records``.
    """
    if on_conflict not in ("error", "drop"):
        raise ConfigError(f"on_conflict must be error or drop; got {on_conflict!r}")
    first: dict[str, object] = {}
    groups: dict[str, list] = defaultdict(list)
    conflicting: set[str] = set()
    for record in records:
        other = first.setdefault(record.sequence, record)
        if other.label != record.label:
            if on_conflict == "drop":
                conflicting.add(record.sequence)
            else:
                raise DataError(f"{record.where}: this sequence is labelled {record.label!r}, but {other.where} labels it "
                                f"{other.label!r}; one sequence needs one label (fix or remove one of them)")
        groups[record.sequence].append(record)
    dropped = sum(len(groups.pop(sequence)) for sequence in conflicting)
    records = [r for r in records if r.sequence not in conflicting]
    keyed = [(sequence, members[0].label) for sequence, members in groups.items()]
    cut = stratified_split(keyed, seed, shares)
    splits = {name: [r for sequence, _ in rows for r in groups[sequence]] for name, rows in cut.items()}
    repeated = sum(1 for members in groups.values() if len(members) > 1)
    report = {"sequences": len(records), "distinct": len(groups), "repeated": repeated,
              "repeats": len(records) - len(groups)}
    if on_conflict == "drop":
        report.update(conflicting_sequences=len(conflicting), conflicting_records=dropped)
    return splits, report
