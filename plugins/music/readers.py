"""Scores → note events with music21 (MIDI, MusicXML, Humdrum), cached per file; folders named by label.

An event is ``(midi, quarter_length)``. A score is flattened: every note of every part, a chord giving
one event per pitch, ordered by onset then pitch. Rests are not events.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from ssl_universal.data.cache import cache_root
from ssl_universal.errors import ConfigError, DataError

SCORE_SUFFIXES = (".mid", ".midi", ".xml", ".musicxml", ".mxl", ".krn")
SPLITS = ("train", "valid", "test")
_CACHE_VERSION = 1  # bump when the event extraction changes, so old caches are not reused


def events_of_score(score) -> list[tuple[int, float]]:
    """Note events of a music21 stream, ordered by onset then pitch."""
    timed = []
    for element in score.flatten().notes:
        onset, duration = float(element.offset), float(element.quarterLength)
        for pitch in element.pitches:
            timed.append((onset, int(pitch.midi), duration))
    timed.sort()
    return [(midi, duration) for _, midi, duration in timed]


def _cache_file(path: Path) -> Path:
    stat = path.stat()
    key = f"{_CACHE_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return cache_root("music", "events") / f"{hashlib.sha1(key.encode()).hexdigest()}.json"


def read_events(path: str | Path, *, use_cache: bool = True) -> list[tuple[int, float]]:
    """The note events of one score file; parsed by music21 once, then read from the cache."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such score file")
    cached = _cache_file(path)
    if use_cache and cached.is_file():
        return [(int(m), float(d)) for m, d in json.loads(cached.read_text())]
    try:
        import music21
    except ImportError:
        raise ConfigError("reading MIDI/MusicXML needs the PyPI package music21: pip install 'music21>=9'") from None
    try:
        score = music21.converter.parse(str(path))
    except Exception as error:  # noqa: BLE001 -- music21 raises many kinds; the file is what the user must fix
        raise DataError(f"{path}: music21 cannot read this score ({type(error).__name__}: {error})") from None
    events = events_of_score(score)
    if not events:
        raise DataError(f"{path}: the score holds no notes")
    if use_cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(".tmp")
        temporary.write_text(json.dumps(events))
        temporary.replace(cached)
    return events


def _scores_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SCORE_SUFFIXES)


def _label_folders(folder: Path) -> dict[str, list[Path]]:
    labels = {}
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            scores = _scores_in(child)
            if scores:
                labels[child.name] = scores
    return labels


def split_pieces(pieces: dict[str, list[Path]], valid_fraction: float, test_fraction: float, seed: int) -> dict[str, list[tuple[Path, str]]]:
    """Per label, shuffle with ``seed`` and hold out ``valid_fraction`` / ``test_fraction`` of the pieces (at least one each)."""
    if valid_fraction < 0 or test_fraction < 0 or valid_fraction + test_fraction >= 1:
        raise ConfigError(f"task.valid_fraction + task.test_fraction must be below 1; got {valid_fraction} + {test_fraction}")
    rng = random.Random(seed)
    splits: dict[str, list[tuple[Path, str]]] = {s: [] for s in SPLITS}
    for label, paths in sorted(pieces.items()):
        if len(paths) < 3:
            raise DataError(f"label {label!r} has {len(paths)} piece(s); at least 3 are needed for train, valid and test")
        order = sorted(paths)
        rng.shuffle(order)
        n_test = max(1, round(test_fraction * len(order)))
        n_valid = max(1, round(valid_fraction * len(order)))
        splits["test"] += [(p, label) for p in order[:n_test]]
        splits["valid"] += [(p, label) for p in order[n_test : n_test + n_valid]]
        splits["train"] += [(p, label) for p in order[n_test + n_valid :]]
    return splits


def read_folder(data_dir: Path, valid_fraction: float, test_fraction: float, seed: int) -> dict[str, list[tuple[Path, str]]]:
    """Pieces of ``data_dir``: ``train/``, ``valid/``, ``test/`` each holding one folder per label, or one folder
    per label directly (then split per label by the fractions)."""
    if not data_dir.is_dir():
        raise DataError(f"task.data_dir {data_dir} is not a folder")
    if all((data_dir / s).is_dir() for s in SPLITS):
        splits = {s: [(p, label) for label, paths in _label_folders(data_dir / s).items() for p in paths] for s in SPLITS}
        for split, items in splits.items():
            if not items:
                raise DataError(f"{data_dir / split}: no label folders holding {', '.join(SCORE_SUFFIXES)} files")
        return splits
    labels = _label_folders(data_dir)
    if not labels:
        raise DataError(
            f"{data_dir}: expected one folder per label holding score files ({', '.join(SCORE_SUFFIXES)}), "
            "or train/ valid/ test/ folders of such label folders"
        )
    return split_pieces(labels, valid_fraction, test_fraction, seed)
