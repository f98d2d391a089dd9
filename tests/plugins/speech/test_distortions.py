"""Distortions hit the requested SNR (within 0.1 dB) for every noise kind; reverberation keeps length and energy."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from ssl_universal.errors import ConfigError

SNRS = torch.tensor([0.0, 10.0, 14.5, 19.0])


def speech_like(batch=4, steps=16000, seed=0):
    """Amplitude-modulated tones of different loudness, with padding: lengths differ per row."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(steps) / 16000
    waves = torch.stack([(0.1 + i) * torch.sin(2 * np.pi * (200 + 50 * i) * t) * (1 + torch.sin(2 * np.pi * 3 * t))
                         for i in range(batch)])
    waves += 0.01 * torch.randn(waves.shape, generator=g)
    lengths = torch.tensor([steps - (steps // (2 * batch)) * i for i in range(batch)])
    mask = torch.arange(steps)[None] < lengths[:, None]
    return waves * mask, lengths


@pytest.fixture
def musan(tmp_path):
    """A MUSAN-shaped folder: noise/ music/ speech/ with a few short files (one 8 kHz stereo)."""
    rng = np.random.default_rng(0)
    for kind in ("noise", "music", "speech"):
        for i in range(3):
            path = tmp_path / "musan" / kind / "src" / f"{kind}{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            data = rng.standard_normal((6000 + 4000 * i, 2 if i == 2 else 1)) * 0.3
            sf.write(str(path), data, 8000 if i == 2 else 16000)
    return tmp_path / "musan"


def achieved(distortions, clean, noisy, lengths):
    return distortions.snr_db(clean, noisy - clean, lengths)


def test_gaussian_noise_hits_snr(distortions):
    clean, lengths = speech_like()
    noisy = distortions.add_gaussian_noise(clean, SNRS, lengths, torch.Generator().manual_seed(1))
    assert torch.allclose(achieved(distortions, clean, noisy, lengths), SNRS, atol=0.1)
    assert noisy[3, lengths[3]:].abs().sum() == 0  # padding stays silent


@pytest.mark.parametrize("kind", ["noise", "music", "speech"])
def test_noise_files_hit_snr(distortions, musan, kind):
    files = distortions.find_noise_files(musan, category=kind)
    assert len(files) == 3 and all(kind in f.name for f in files)
    bank = distortions.NoiseBank(files)
    clean, lengths = speech_like()
    rng = np.random.default_rng(0)
    noise = distortions.babble(bank, 4, clean.shape[1], rng) if kind == "speech" else bank.batch(4, clean.shape[1], rng)
    assert noise.shape == clean.shape
    noisy = distortions.add_at_snr(clean, noise, SNRS, lengths)
    assert torch.allclose(achieved(distortions, clean, noisy, lengths), SNRS, atol=0.1)


def test_fsd50k_layout_picks_dev_or_eval(distortions, tmp_path):
    for part in ("dev", "eval"):
        folder = tmp_path / f"FSD50K.{part}_audio"
        folder.mkdir()
        sf.write(str(folder / f"{part}1.wav"), np.zeros(100) + 0.1, 16000)
    assert [f.name for f in distortions.find_noise_files(tmp_path, split="test")] == ["eval1.wav"]
    assert [f.name for f in distortions.find_noise_files(tmp_path, split="train")] == ["dev1.wav"]


@pytest.mark.parametrize("p_reverb", [0.0, 1.0])
def test_mixture_hits_snr_and_is_seeded(distortions, musan, p_reverb):
    rir = np.zeros(800, dtype=np.float32)
    rir[40], rir[300], rir[700] = 1.0, 0.4, -0.2
    (musan.parent / "rirs").mkdir()
    sf.write(str(musan.parent / "rirs" / "r.wav"), rir, 16000, subtype="FLOAT")
    cfg = distortions.DistortionConfig(noise_root=str(musan), p_reverb=p_reverb, rir_root=str(musan.parent / "rirs"),
                                       seed=3)
    clean, lengths = speech_like(batch=16)
    out, record = distortions.Distorter(cfg)(clean, lengths)
    again, _ = distortions.Distorter(cfg)(clean, lengths)
    assert torch.equal(out, again)
    assert {r["kind"] for r in record} <= {"noise", "music", "speech", "gaussian"} and len({r["kind"] for r in record}) > 1
    assert all(10 <= r["snr_db"] <= 19 for r in record)
    dry = clean
    if p_reverb:
        assert all(r["reverb"] for r in record)
        dry = distortions.reverberate(clean, torch.from_numpy(rir), lengths)
    got = achieved(distortions, dry, out, lengths)
    assert torch.allclose(got, torch.tensor([r["snr_db"] for r in record]), atol=0.1)


def test_mixture_needs_sources(distortions):
    with pytest.raises(ConfigError, match="kind 'noise' needs noise_root"):
        distortions.Distorter(distortions.DistortionConfig())
    with pytest.raises(ConfigError, match="rir_root or simulated_rirs"):
        distortions.Distorter(distortions.DistortionConfig(additive_weights={"gaussian": 1.0}))


def test_reverberation_keeps_length_and_energy(distortions):
    clean, lengths = speech_like()
    t = torch.arange(4000) / 16000
    rir = torch.exp(-t / 0.05) * torch.randn(4000, generator=torch.Generator().manual_seed(0))
    wet = distortions.reverberate(clean, rir, lengths)
    assert wet.shape == clean.shape and wet[2, lengths[2]:].abs().sum() == 0
    power = distortions.mean_power
    assert torch.allclose(power(wet, lengths), power(clean, lengths), rtol=1e-3)
    raw = distortions.reverberate(clean, rir, lengths, keep_energy=False)
    ratio = power(raw, lengths) / power(clean, lengths)
    assert ((ratio > 0.05) & (ratio < 20)).all()  # unit-norm RIR: same order of energy
    delta = torch.zeros(100)
    delta[30] = 2.0  # a pure delayed impulse is aligned on its peak: output == input
    assert torch.allclose(distortions.reverberate(clean, delta, lengths, keep_energy=False), clean, atol=1e-5)


def test_simulated_rooms_decay(distortions):
    pytest.importorskip("pyroomacoustics")
    rirs = distortions.simulate_rirs(2, seed=0)
    again = distortions.simulate_rirs(2, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(rirs, again))
    for rir in rirs:
        peak = int(np.abs(rir).argmax())
        early, late = np.square(rir[peak: peak + 800]).sum(), np.square(rir[-800:]).sum()
        assert early > 10 * late


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_distortions_run_on_gpu(distortions):
    clean, lengths = speech_like()
    clean, lengths = clean.cuda(), lengths.cuda()
    noisy = distortions.add_gaussian_noise(clean, SNRS.cuda(), lengths, torch.Generator("cuda").manual_seed(0))
    assert noisy.is_cuda and torch.allclose(achieved(distortions, clean, noisy, lengths).cpu(), SNRS, atol=0.1)
    wet = distortions.reverberate(clean, torch.rand(500, device="cuda"), lengths)
    assert wet.is_cuda and wet.shape == clean.shape
