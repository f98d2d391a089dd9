"""Composer sets from the corpus that ships with music21: pooled labels, balanced piece counts, a written manifest."""

from __future__ import annotations

import logging
import random
from pathlib import Path

from ssl_universal.errors import ConfigError

from .readers import SCORE_SUFFIXES

log = logging.getLogger(__name__)


def parse_label(spec: str) -> tuple[str, list[str]]:
    """``"bach"`` → ("bach", ["bach"]); ``"classical=haydn+mozart"`` → ("classical", ["haydn", "mozart"])."""
    label, sep, members = spec.partition("=")
    composers = [c.strip() for c in (members if sep else label).split("+") if c.strip()]
    if not label.strip() or not composers:
        raise ConfigError(f"task.composers entry {spec!r}: expected 'name' or 'label=composer+composer'")
    return label.strip(), composers


def corpus_pieces(composers: list[str], pieces_per_label: int | None, seed: int) -> dict[str, list[Path]]:
    """Score files of each label from ``music21.corpus.getComposer``; at most ``pieces_per_label`` per label,
    drawn with ``seed`` (labels with fewer keep all, with a warning), so classes are balanced by piece."""
    try:
        from music21 import corpus
    except ImportError:
        raise ConfigError("the music21 corpus needs the PyPI package music21: pip install 'music21>=9'") from None
    chosen: dict[str, list[Path]] = {}
    for spec in composers:
        label, members = parse_label(spec)
        paths = sorted({Path(p) for c in members for p in corpus.getComposer(c) if Path(p).suffix.lower() in SCORE_SUFFIXES})
        if not paths:
            raise ConfigError(
                f"task.composers: {spec!r} has no scores in the music21 corpus; composers with many pieces include "
                "bach, palestrina, monteverdi, trecento, beethoven, mozart, haydn"
            )
        rng = random.Random(f"{seed}-{label}")
        rng.shuffle(paths)
        if pieces_per_label is not None and len(paths) < pieces_per_label:
            log.warning("music21 corpus: %s has %d pieces, fewer than pieces_per_composer=%d; using all", label, len(paths), pieces_per_label)
        chosen[label] = sorted(paths[:pieces_per_label] if pieces_per_label is not None else paths)
    return chosen


def corpus_root() -> Path:
    """The folder of music21's corpus (manifests name pieces relative to it)."""
    from music21 import corpus

    return Path(corpus.__file__).resolve().parent
