"""Pre-training must be worth something: a HuBERT pre-trained on MFCC k-means units beats the same HuBERT
untrained (``random_init``) on a frame probe where the structure of speech matters.

The audio is vowel-like: harmonics of a pitch (F0) under one of four formant envelopes. The probe's
label is the vowel (the envelope); its nuisance is the pitch, and the probe is trained on low voices
(F0 90-160 Hz) and tested on high ones (190-260 Hz). Pre-training never sees a vowel label: its
targets are k-means clusters of MFCCs (HuBERT's first iteration), which follow the envelope more than
the pitch, so the masked-prediction encoder learns an envelope code that carries over to unheard
pitches; random features mix pitch and envelope and do not. A regression that makes pre-training
useless (a broken loss, masks, targets or optimiser) brings the two together and fails this test.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

RATE = 16000
FORMANTS = [(300, 2300), (700, 1200), (400, 800), (600, 1800)]  # four vowel-like envelopes (Hz)
MICRO = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=2, intermediate_size=96, conv_dim=(32,) * 7,
             num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, hidden_dropout=0.0, attention_dropout=0.0)


def speech(name: str):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    return importlib.import_module(f"ssl_universal_plugins.speech.{name}")


def vowel(k: int, f0: float, samples: int, rng) -> np.ndarray:
    t = np.arange(samples) / RATE
    wave = np.zeros(samples)
    for h in range(1, int(4000 / f0)):
        amp = sum(np.exp(-((h * f0 - f) / 120.0) ** 2) for f in FORMANTS[k]) + 0.02
        wave += amp * np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 2 * np.pi))
    return wave


def utterance(rng, f0_low: float, f0_high: float, segments: int = 6, samples: int = 1600):
    """Six 100 ms vowels of one voice; the vowel of each 20 ms frame (50 Hz labels)."""
    f0 = rng.uniform(f0_low, f0_high)
    vowels = rng.integers(len(FORMANTS), size=segments)
    wave = np.concatenate([vowel(k, f0, samples, rng) for k in vowels])
    return torch.tensor(0.3 * wave / np.abs(wave).max(), dtype=torch.float32), np.repeat(vowels, samples // 320)


def probe_accuracy(encoder, rng) -> float:
    """Logistic regression on the last layer's frames: train on low voices, score on high ones."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    encoder.eval()

    def frames(f0_low, f0_high, count):
        xs, ys = [], []
        for _ in range(count):
            wave, labels = utterance(rng, f0_low, f0_high)
            with torch.no_grad():
                hidden = encoder(wave[None], output_hidden_states=True).hidden_states[-1][0].numpy()
            n = min(len(hidden), len(labels))
            xs.append(hidden[:n])
            ys.append(labels[:n])
        return np.concatenate(xs), np.concatenate(ys)

    x_train, y_train = frames(90, 160, 12)
    x_test, y_test = frames(190, 260, 12)
    scale = StandardScaler().fit(x_train)
    probe = LogisticRegression(max_iter=300).fit(scale.transform(x_train), y_train)
    return float(probe.score(scale.transform(x_test), y_test))


@pytest.mark.slow
def test_pretrained_hubert_beats_random_init_on_a_vowel_probe_across_voices(monkeypatch):
    from sklearn.cluster import KMeans

    upstreams, hubert, units = speech("upstreams"), speech("hubert"), speech("units")
    monkeypatch.setitem(upstreams.SIZES, "micro", {**upstreams.SIZES["tiny"], **MICRO})
    rng = np.random.default_rng(0)
    audio = [utterance(rng, 90, 260)[0] for _ in range(64)]  # unlabelled pre-training audio, every pitch
    mfcc = units.MfccFeatures()
    features = [mfcc(w) for w in audio]
    kmeans = KMeans(12, n_init=2, random_state=0).fit(np.concatenate(features))
    frames = min(len(f) for f in features)
    targets = torch.stack([torch.tensor(kmeans.predict(f)[:frames]).long() for f in features])
    waves, lengths = torch.stack(audio), torch.full((len(audio),), audio[0].numel())

    torch.manual_seed(0)
    model = hubert.HubertPretrainModel(hubert.HubertPretrainConfig(size="micro", final_dim=16), num_targets=12,
                                       label_rate=100)
    untrained = upstreams.random_init_upstream("micro", seed=0)  # the same shape, never trained
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(150):
        rows = torch.randint(len(audio), (16,))
        out = model(waves[rows], lengths[rows], targets[rows], mask_seed=step)
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()

    state = rng.bit_generator.state  # both encoders are probed on the very same utterances
    pretrained = probe_accuracy(model.hubert, rng)
    rng.bit_generator.state = state
    random_init = probe_accuracy(untrained, rng)
    assert pretrained > random_init + 0.15, (pretrained, random_init)  # chance is 0.25
