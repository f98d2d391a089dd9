"""Noise sources for the synthetic corpus: coloured noise, music synthesised from scores/MIDI, hum, babble."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

# Spectral slope of the power spectrum, P(f) ~ f**beta.
COLOURS = {"white": 0.0, "pink": -1.0, "brown": -2.0, "blue": 1.0, "violet": 2.0}


def coloured_noise(kind: str, num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise shaped in frequency to the colour's power slope, unit RMS."""
    beta = COLOURS[kind]
    spectrum = np.fft.rfft(rng.standard_normal(num_samples))
    freqs = np.fft.rfftfreq(num_samples)
    freqs[0] = freqs[1]  # no infinite gain at DC
    spectrum *= freqs ** (beta / 2)
    wave = np.fft.irfft(spectrum, n=num_samples)
    return (wave / max(np.sqrt(np.mean(wave**2)), 1e-12)).astype(np.float32)


def mains_hum(num_samples: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Electrical hum: 50 or 60 Hz and its odd harmonics with a little noise, unit RMS."""
    base = 50.0 if rng.random() < 0.5 else 60.0
    t = np.arange(num_samples) / sample_rate
    wave = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi))
               for k in (1, 3, 5, 7, 9))
    wave = wave + 0.05 * rng.standard_normal(num_samples)
    return (wave / np.sqrt(np.mean(wave**2))).astype(np.float32)


# -- music ---------------------------------------------------------------------------------------
def score_notes(source) -> list[tuple[float, float, float]]:
    """(onset in quarter notes, duration in quarter notes, frequency Hz) of every note of a score.

    ``source`` is a path (MIDI, MusicXML, ...) or a music21 corpus path; music21 parses both.
    """
    from music21 import converter  # optional dependency (the `data` extra)

    score = converter.parse(str(source))
    notes = []
    for element in score.flatten().notes:
        for pitch in element.pitches:
            notes.append((float(element.offset), float(element.quarterLength), float(pitch.frequency)))
    return notes


def render_notes(notes: Sequence[tuple[float, float, float]], sample_rate: int, *, bpm: float, seconds: float,
                 harmonics: Sequence[float], start_beat: float = 0.0) -> np.ndarray:
    """Additive synthesis: each note a sum of harmonics (relative amplitudes ``harmonics``) under an
    attack/decay envelope; the excerpt starts at ``start_beat`` and lasts ``seconds``. Unit RMS."""
    total = int(seconds * sample_rate)
    out = np.zeros(total, dtype=np.float64)
    beat = 60.0 / bpm
    for onset, duration, freq in notes:
        begin = int((onset - start_beat) * beat * sample_rate)
        length = int(max(duration, 0.25) * beat * sample_rate)
        if begin >= total or begin + length <= 0 or freq > sample_rate / 2:
            continue
        t = np.arange(length) / sample_rate
        tone = sum(a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics)
                   if freq * (k + 1) < sample_rate / 2)
        envelope = np.minimum(1.0, t / 0.01) * np.exp(-3.0 * t / max(length / sample_rate, 1e-3))
        lo, hi = max(begin, 0), min(begin + length, total)
        out[lo:hi] += (tone * envelope)[lo - begin: hi - begin]
    rms = np.sqrt(np.mean(out**2))
    return (out / rms).astype(np.float32) if rms > 0 else out.astype(np.float32)


# Timbres (relative harmonic amplitudes): different instruments for train and test music.
TRAIN_TIMBRES = ((1.0, 0.5, 0.25, 0.12), (1.0, 0.0, 0.33, 0.0, 0.2))  # soft organ, clarinet-like
TEST_TIMBRES = ((1.0, 0.8, 0.6, 0.5, 0.4, 0.3), (1.0, 0.1, 0.05))  # bright brass-like, near-sine flute


# Composers of music21's bundled corpus: Bach chorales for train; renaissance polyphony, unheard in
# train, for test.
TRAIN_COMPOSERS = ("bach",)
TEST_COMPOSERS = ("palestrina", "josquin", "monteverdi")


@cache
def _short_scores(composer: str, max_bytes: int = 12_000) -> tuple[Path, ...]:
    """The composer's small score files (large ones take seconds to parse and add nothing to noise)."""
    from music21 import corpus  # optional dependency (the `data` extra)

    return tuple(p for p in sorted(corpus.getComposer(composer)) if Path(p).stat().st_size <= max_bytes)


def corpus_scores(composer: str, count: int, rng: np.random.Generator) -> list[Path]:
    """``count`` scores of ``composer`` from music21's bundled corpus, drawn by ``rng``."""
    paths = _short_scores(composer)
    if not paths:
        raise ValueError(f"music21's corpus has no short scores by {composer!r}")
    picks = rng.choice(len(paths), size=min(count, len(paths)), replace=False)
    return [paths[i] for i in sorted(picks)]


def babble_mix(clips: Sequence[np.ndarray], num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sum of speech clips at equal level, each looped and offset randomly; unit RMS."""
    out = np.zeros(num_samples, dtype=np.float64)
    for clip in clips:
        clip = clip / max(np.sqrt(np.mean(clip**2)), 1e-12)
        looped = np.tile(clip, -(-2 * num_samples // clip.size))
        start = int(rng.integers(looped.size - num_samples))
        out += looped[start: start + num_samples]
    return (out / max(np.sqrt(np.mean(out**2)), 1e-12)).astype(np.float32)
