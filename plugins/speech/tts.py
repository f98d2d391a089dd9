"""Offline text-to-speech voices (espeak-ng, flite) for the synthetic speech corpus."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ssl_universal.errors import DataError

from .audio import resample, to_mono_float

ENGINES = ("espeak-ng", "flite")


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: an engine, its voice id and a base pitch and rate."""

    name: str  # speaker label written to the label files
    engine: str  # espeak-ng | flite
    voice: str  # the engine's voice id (espeak-ng ``-v``, flite ``-voice``)
    pitch: int = 50  # espeak-ng base pitch 0..99 (flite: its own default is kept)
    rate: int = 165  # espeak-ng words per minute (flite: its own default is kept)


# flite's voices are separate recordings of different people (or diphone sets) and differ far more
# than espeak-ng's variants, which all share one formant synthesiser. awb_time is left out: it only
# speaks clock times.
FLITE_VOICES = (Voice("flite_kal", "flite", "kal"), Voice("flite_kal16", "flite", "kal16"),
                Voice("flite_awb", "flite", "awb"), Voice("flite_rms", "flite", "rms"),
                Voice("flite_slt", "flite", "slt"))
ESPEAK_VOICES = (Voice("espeak_us_m1", "espeak-ng", "en-us+m1", 45, 160),
                 Voice("espeak_gb_f3", "espeak-ng", "en-gb+f3", 60, 170),
                 Voice("espeak_scot_m4", "espeak-ng", "en-gb-scotland+m4", 35, 150),
                 Voice("espeak_029_f2", "espeak-ng", "en-029+f2", 70, 175),
                 Voice("espeak_nyc_klatt", "espeak-ng", "en-us-nyc+klatt", 50, 155))


def engine_available(engine: str) -> bool:
    return shutil.which(engine) is not None


def available_voices(engines: tuple[str, ...] = ENGINES) -> list[Voice]:
    """Voices of the engines that are installed, flite first."""
    voices = []
    if "flite" in engines and engine_available("flite"):
        voices += FLITE_VOICES
    if "espeak-ng" in engines and engine_available("espeak-ng"):
        voices += ESPEAK_VOICES
    return voices


def synthesize(
    voice: Voice, text: str, sample_rate: int, *, rate_scale: float = 1.0, pitch_shift: int = 0,
    amplitude: int = 100, variant: str | None = None,
) -> np.ndarray:
    """Speak ``text`` with ``voice``; mono float32 at ``sample_rate``.

    ``rate_scale`` > 1 speaks faster; ``pitch_shift`` moves espeak-ng's pitch (0..99 scale) or flite's
    mean F0 (in Hz/2); ``variant`` swaps espeak-ng's voice variant (e.g. ``whisper``).
    """
    if not engine_available(voice.engine):
        raise DataError(f"{voice.engine} is not installed; install the Debian package '{voice.engine}'")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "out.wav"
        if voice.engine == "espeak-ng":
            name = voice.voice if variant is None else f"{voice.voice.split('+')[0]}+{variant}"
            cmd = ["espeak-ng", "-v", name, "-s", str(int(voice.rate * rate_scale)),
                   "-p", str(int(np.clip(voice.pitch + pitch_shift, 0, 99))), "-a", str(amplitude),
                   "-w", str(wav), "--", text]
        elif voice.engine == "flite":
            cmd = ["flite", "-voice", voice.voice, "--setf", f"duration_stretch={1.0 / rate_scale:.4f}"]
            if pitch_shift:
                base = 110 if voice.voice in ("kal", "kal16", "awb", "rms") else 170
                cmd += ["--setf", f"int_f0_target_mean={base + 2 * pitch_shift}"]
            cmd += ["-t", text, "-o", str(wav)]
        else:
            raise DataError(f"unknown TTS engine {voice.engine!r}; known {ENGINES}")
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not wav.is_file():
            raise DataError(f"{voice.engine} failed for voice {voice.voice!r} on {text!r}: {result.stderr.strip()}")
        data, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    wave = resample(torch.from_numpy(to_mono_float(data)), rate, sample_rate).numpy()
    return trim_silence(wave) * (amplitude / 100 if voice.engine == "flite" else 1.0)


def trim_silence(wave: np.ndarray, threshold: float = 1e-3, pad: int = 800) -> np.ndarray:
    """Drop leading/trailing near-silence, keeping ``pad`` samples either side."""
    loud = np.flatnonzero(np.abs(wave) > threshold)
    if loud.size == 0:
        return wave
    return wave[max(0, loud[0] - pad): loud[-1] + pad]
