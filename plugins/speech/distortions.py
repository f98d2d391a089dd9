"""Batched audio distortions at a target SNR: Gaussian, noise files (MUSAN/FSD50K), babble, reverberation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from ssl_universal.errors import ConfigError, DataError

from .audio import audio_info, resample, to_mono_float

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
ADDITIVE_KINDS = ("noise", "music", "speech", "gaussian")  # MUSAN's three folders (m) and Gaussian (g)
_EPS = 1e-12


# -- the SNR arithmetic --------------------------------------------------------------------------
def valid_mask(lengths: torch.Tensor | None, batch: torch.Tensor) -> torch.Tensor:
    """[B, T] float mask of the real (non-padded) samples."""
    if lengths is None:
        return torch.ones_like(batch)
    steps = torch.arange(batch.shape[-1], device=batch.device)
    return (steps[None, :] < lengths.to(batch.device)[:, None]).to(batch.dtype)


def mean_power(x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Mean power per item over its non-padded samples: [B]."""
    mask = valid_mask(lengths, x)
    return (x.square() * mask).sum(-1) / mask.sum(-1).clamp_min(1)


def snr_db(signal: torch.Tensor, noise: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """10*log10(P_signal / P_noise) per item (the definition every distortion here is held to)."""
    return 10 * torch.log10(mean_power(signal, lengths).clamp_min(_EPS) / mean_power(noise, lengths).clamp_min(_EPS))


def add_at_snr(
    signal: torch.Tensor, noise: torch.Tensor, snr: torch.Tensor | float, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """``signal + g * noise`` with the gain ``g`` per item that makes the SNR exactly ``snr`` dB.

    Silent signals or silent noise segments get no noise (there is no gain that reaches the SNR).
    """
    mask = valid_mask(lengths, signal)
    noise = noise * mask
    snr = torch.as_tensor(snr, dtype=signal.dtype, device=signal.device).expand(signal.shape[0])
    p_signal, p_noise = mean_power(signal, lengths), mean_power(noise, lengths)
    gain = torch.where(p_noise > _EPS, torch.sqrt(p_signal / (p_noise.clamp_min(_EPS) * 10 ** (snr / 10))),
                       torch.zeros_like(p_noise))
    return signal * mask + gain[:, None] * noise


def add_gaussian_noise(
    signal: torch.Tensor, snr: torch.Tensor | float, lengths: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """White Gaussian noise at ``snr`` dB (``generator`` must live on the signal's device)."""
    noise = torch.randn(signal.shape, generator=generator, device=signal.device, dtype=signal.dtype)
    return add_at_snr(signal, noise, snr, lengths)


# -- noise files ---------------------------------------------------------------------------------
def find_noise_files(root: str | Path, *, category: str | None = None, split: str | None = None,
                     layout: str = "auto") -> list[Path]:
    """Audio files of a noise collection, sorted for determinism.

    Layouts: ``musan`` (``root/{noise,music,speech}/<source>/*.wav``; ``category`` picks the folder),
    ``fsd50k`` (``root/FSD50K.dev_audio`` for train, ``root/FSD50K.eval_audio`` for test),
    ``flat`` (every audio file under ``root``), ``auto`` (recognise one of those).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: noise folder not found")
    if layout == "auto":
        if any((root / f"FSD50K.{p}_audio").is_dir() for p in ("dev", "eval")):
            layout = "fsd50k"
        elif category is not None and (root / category).is_dir():
            layout = "musan"
        else:
            layout = "flat"
    if layout == "fsd50k":
        folder = root / ("FSD50K.eval_audio" if split == "test" else "FSD50K.dev_audio")
    elif layout == "musan":
        folder = root / category if category else root
    elif layout == "flat":
        folder = root
    else:
        raise ConfigError(f"noise layout must be auto, musan, fsd50k or flat; got {layout!r}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no {'/'.join(AUDIO_SUFFIXES)} files found (layout {layout}, category {category})")
    return files


class NoiseBank:
    """Random segments of noise files, read on demand (only the needed samples leave the disk)."""

    def __init__(self, files: Sequence[str | Path], sample_rate: int = 16000):
        self.files = [Path(f) for f in files]
        if not self.files:
            raise DataError("NoiseBank: no noise files given")
        self.sample_rate = sample_rate
        self.info = [audio_info(f) for f in self.files]  # fails early, naming the bad file

    def segment(self, num_samples: int, rng: np.random.Generator) -> torch.Tensor:
        """``num_samples`` at the model rate from a random file and offset; short files are looped."""
        k = int(rng.integers(len(self.files)))
        info = self.info[k]
        need = int(np.ceil(num_samples * info.samplerate / self.sample_rate)) + 1
        start = int(rng.integers(info.frames - need + 1)) if info.frames > need else 0
        data, _ = sf.read(str(self.files[k]), start=start, frames=min(need, info.frames), dtype="float32",
                          always_2d=True)
        wave = torch.from_numpy(to_mono_float(data))
        if wave.numel() < need:
            wave = wave.repeat(-(-need // wave.numel()))
        return resample(wave[:need], info.samplerate, self.sample_rate)[:num_samples]

    def batch(self, batch_size: int, num_samples: int, rng: np.random.Generator, talkers: int = 1) -> torch.Tensor:
        """[B, T] noise; with ``talkers > 1`` each row sums that many power-normalised segments (babble)."""
        rows = []
        for _ in range(batch_size):
            parts = [self.segment(num_samples, rng) for _ in range(talkers)]
            if talkers > 1:
                parts = [p / p.square().mean().clamp_min(_EPS).sqrt() for p in parts]
            rows.append(torch.stack(parts).sum(0))
        return torch.stack(rows)


def babble(bank: NoiseBank, batch_size: int, num_samples: int, rng: np.random.Generator,
           talkers: tuple[int, int] = (3, 7)) -> torch.Tensor:
    """[B, T] babble: per row, a random number of talkers in ``[low, high]`` speaking at equal level."""
    return torch.cat([bank.batch(1, num_samples, rng, int(rng.integers(talkers[0], talkers[1] + 1)))
                      for _ in range(batch_size)])


# -- reverberation -------------------------------------------------------------------------------
def reverberate(signal: torch.Tensor, rirs: torch.Tensor, lengths: torch.Tensor | None = None,
                keep_energy: bool = True) -> torch.Tensor:
    """Convolve each row with its room impulse response ([B, R] or one [R]); same shape out.

    The output is aligned on the direct path (the RIR's peak), so frame labels stay in step, and the
    tail beyond each item's length is cut. ``keep_energy`` rescales to the dry signal's power.
    """
    if rirs.dim() == 1:
        rirs = rirs.expand(signal.shape[0], -1)
    rirs = rirs.to(signal)
    peak = rirs.abs().argmax(-1)
    rirs = rirs / rirs.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    wet = AF.fftconvolve(signal, rirs)  # [B, T + R - 1]
    steps = torch.arange(signal.shape[-1], device=signal.device)
    wet = torch.gather(wet, 1, steps[None, :] + peak[:, None])
    mask = valid_mask(lengths, signal)
    wet = wet * mask
    if keep_energy:
        gain = torch.sqrt(mean_power(signal, lengths) / mean_power(wet, lengths).clamp_min(_EPS))
        wet = wet * gain[:, None]
    return wet


def load_rirs(files: Sequence[str | Path], sample_rate: int = 16000) -> list[torch.Tensor]:
    """Room impulse responses from audio files, mono, at ``sample_rate``."""
    rirs = []
    for f in files:
        data, rate = sf.read(str(f), dtype="float32", always_2d=True)
        if data.size == 0:
            raise DataError(f"{f}: empty room impulse response")
        rirs.append(resample(torch.from_numpy(to_mono_float(data)), rate, sample_rate))
    return rirs


def simulate_rirs(count: int, sample_rate: int = 16000, seed: int = 0, rt60: tuple[float, float] = (0.2, 0.8),
                  room: tuple[float, float] = (3.0, 10.0), max_order: int = 12) -> list[np.ndarray]:
    """Shoebox rooms by the image-source method (pyroomacoustics); sizes, RT60s and positions drawn by seed."""
    import pyroomacoustics as pra  # optional dependency (the `data` extra)

    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        dims = np.array([rng.uniform(*room), rng.uniform(*room), rng.uniform(2.5, 4.0)])
        target = rng.uniform(*rt60)
        try:
            absorption, order = pra.inverse_sabine(target, dims)
        except ValueError:  # RT60 impossible for this room volume: draw again
            continue
        shoebox = pra.ShoeBox(dims, fs=sample_rate, materials=pra.Material(absorption),
                              max_order=min(order, max_order))
        margin = 0.5
        shoebox.add_source(rng.uniform(margin, dims - margin))
        shoebox.add_microphone(rng.uniform(margin, dims - margin))
        shoebox.compute_rir()
        out.append(np.asarray(shoebox.rir[0][0], dtype=np.float32))
    return out


# -- the configurable mixture --------------------------------------------------------------------
@dataclass
class DistortionConfig:
    """The m+g+r mixture of continual training on noisy audio (SNR in dB drawn per utterance)."""

    p_additive: float = 1.0  # share of utterances that get one additive distortion
    additive_weights: dict[str, float] = field(  # relative chance of each additive kind
        default_factory=lambda: {"noise": 1.0, "music": 1.0, "speech": 1.0, "gaussian": 1.0})
    p_reverb: float = 0.5  # share of utterances convolved with a room impulse response (before noise)
    snr_low: float = 10.0  # lowest SNR drawn, dB
    snr_high: float = 19.0  # highest SNR drawn, dB
    noise_root: str | None = None  # MUSAN-like folder with noise/ music/ speech/ (or FSD50K, or flat)
    noise_layout: str = "auto"  # auto | musan | fsd50k | flat
    noise_split: str | None = None  # train | test: picks FSD50K dev vs eval audio
    babble_talkers: tuple[int, int] = (3, 7)  # talkers summed for speech (babble) noise
    rir_root: str | None = None  # folder of impulse-response audio files
    simulated_rirs: int = 0  # when no rir_root: this many simulated rooms
    sample_rate: int = 16000  # the waveforms' rate
    seed: int = 0  # draws of kinds, SNRs, files, offsets and Gaussian noise


class Distorter:
    """Applies a :class:`DistortionConfig` to padded batches; returns what it did to each item."""

    def __init__(self, config: DistortionConfig):
        self.config = c = config
        if not 0 <= c.p_additive <= 1 or not 0 <= c.p_reverb <= 1 or c.snr_low > c.snr_high:
            raise ConfigError(f"distortions: need 0<=p<=1 and snr_low<=snr_high; got p_additive={c.p_additive}, "
                              f"p_reverb={c.p_reverb}, snr=[{c.snr_low}, {c.snr_high}]")
        unknown = set(c.additive_weights) - set(ADDITIVE_KINDS)
        if unknown:
            raise ConfigError(f"distortions.additive_weights: unknown kinds {sorted(unknown)}; known {ADDITIVE_KINDS}")
        self.kinds = [k for k in ADDITIVE_KINDS if c.additive_weights.get(k, 0) > 0]
        self.banks: dict[str, NoiseBank] = {}
        for kind in self.kinds:
            if kind == "gaussian":
                continue
            if c.noise_root is None:
                raise ConfigError(f"distortions: kind '{kind}' needs noise_root (a MUSAN-like folder); "
                                  f"give one or set additive_weights.{kind}: 0")
            files = find_noise_files(c.noise_root, category=kind, split=c.noise_split, layout=c.noise_layout)
            self.banks[kind] = NoiseBank(files, c.sample_rate)
        weights = np.array([c.additive_weights[k] for k in self.kinds], dtype=float)
        self.weights = weights / weights.sum() if weights.size else weights
        self.rirs: list[torch.Tensor] = []
        if c.p_reverb > 0:
            if c.rir_root:
                self.rirs = load_rirs(find_noise_files(c.rir_root, layout="flat"), c.sample_rate)
            elif c.simulated_rirs > 0:
                self.rirs = [torch.from_numpy(r) for r in simulate_rirs(c.simulated_rirs, c.sample_rate, c.seed)]
            else:
                raise ConfigError("distortions: p_reverb > 0 needs rir_root or simulated_rirs > 0")
        if c.p_additive > 0 and not self.kinds:
            raise ConfigError("distortions: p_additive > 0 but every additive weight is 0")
        self.rng = np.random.default_rng(c.seed)

    def __call__(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, list[dict]]:
        c, rng = self.config, self.rng
        batch, steps = wave.shape
        record = [{"reverb": False, "kind": None, "snr_db": None} for _ in range(batch)]
        out = wave
        reverb_rows = np.flatnonzero(rng.random(batch) < c.p_reverb) if self.rirs else np.array([], int)
        if reverb_rows.size:
            chosen = [self.rirs[int(rng.integers(len(self.rirs)))] for _ in reverb_rows]
            longest = max(r.numel() for r in chosen)
            rirs = torch.stack([torch.nn.functional.pad(r, (0, longest - r.numel())) for r in chosen])
            rows = torch.as_tensor(reverb_rows, device=wave.device)
            sub_len = lengths[rows] if lengths is not None else None
            out = out.clone()
            out[rows] = reverberate(out[rows], rirs.to(wave.device), sub_len)
            for r in reverb_rows:
                record[r]["reverb"] = True
        noisy = rng.random(batch) < c.p_additive
        kinds = rng.choice(len(self.kinds), size=batch, p=self.weights) if self.kinds else np.zeros(batch, int)
        snrs = rng.uniform(c.snr_low, c.snr_high, size=batch)
        noise = torch.zeros_like(out)
        for kind_index, kind in enumerate(self.kinds):
            rows = np.flatnonzero(noisy & (kinds == kind_index))
            if not rows.size:
                continue
            if kind == "gaussian":
                gen = torch.Generator(device=wave.device).manual_seed(int(rng.integers(2**62)))
                part = torch.randn((rows.size, steps), generator=gen, device=wave.device, dtype=wave.dtype)
            elif kind == "speech":
                part = babble(self.banks[kind], rows.size, steps, rng, c.babble_talkers)
            else:
                part = self.banks[kind].batch(rows.size, steps, rng)
            noise[torch.as_tensor(rows, device=wave.device)] = part.to(wave)
            for r in rows:
                record[r].update(kind=kind, snr_db=float(snrs[r]))
        rows = torch.as_tensor(np.flatnonzero(noisy), device=wave.device)
        if rows.numel():
            sub_len = lengths[rows] if lengths is not None else None
            out = out.clone()
            out[rows] = add_at_snr(out[rows], noise[rows],
                                   torch.as_tensor(snrs[noisy], dtype=wave.dtype, device=wave.device), sub_len)
        return out, record
