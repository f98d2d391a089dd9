"""Generated pieces in three styles with a known rule, for tests and offline smoke runs.

``scales`` moves stepwise inside a major key, ``arpeggios`` leaps through triads, ``chromatic``
moves by semitones; each style has its own rhythm. A piece is a list of ``(midi, quarter_length)``.
"""

from __future__ import annotations

import random

MAJOR = (0, 2, 4, 5, 7, 9, 11)
STYLES = ("arpeggios", "chromatic", "scales")
RHYTHMS = {"scales": (0.5, 0.5, 1.0), "arpeggios": (1.0, 1.0, 2.0), "chromatic": (0.25, 0.25, 0.5)}


def _piece(style: str, rng: random.Random, length: int) -> list[tuple[int, float]]:
    tonic = 48 + rng.randrange(12)
    if style == "chromatic":
        pitches, current = [], tonic + 12
        for _ in range(length):
            current = min(96, max(36, current + rng.choice((-1, 1, 1, -1, 2, -2))))
            pitches.append(current)
    else:
        scale = [tonic + 12 * octave + step for octave in range(3) for step in MAJOR]
        index, pitches = 7, []
        for _ in range(length):
            if style == "scales":
                index += rng.choice((-1, 1))
            else:
                index += rng.choice((-4, -2, 2, 4))
            index = min(len(scale) - 1, max(0, index))
            pitches.append(scale[index])
    return [(p, rng.choice(RHYTHMS[style])) for p in pitches]


def pieces(num_per_style: int, seed: int, min_events: int = 80, max_events: int = 240) -> dict[str, list[list[tuple[int, float]]]]:
    """``num_per_style`` pieces of each style, fixed by ``seed``."""
    rng = random.Random(f"music-{seed}")
    return {style: [_piece(style, rng, rng.randint(min_events, max_events)) for _ in range(num_per_style)] for style in STYLES}
