"""`ssl-universal extract-units`: MFCC or HuBERT-layer units, seeded k-means, dict.km.txt, merged runs, rate checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ssl_universal.errors import ConfigError
from ssl_universal_plugins.speech.commands import extract_units


def run_units(argv: list[str]) -> dict:
    """``ssl-universal extract-units ARGV`` (which must name --out-dir); the summary it wrote to units.json."""
    assert extract_units(argv) == 0
    return json.loads((Path(argv[argv.index("--out-dir") + 1]) / "units.json").read_text())


@pytest.fixture(scope="module")
def manifests(tmp_path_factory):
    """train/test manifests of chirps and noise bursts of different lengths (16 kHz)."""
    folder = tmp_path_factory.mktemp("units_data")
    (folder / "wav").mkdir()
    rng = np.random.default_rng(0)
    for split, count in (("train", 8), ("test", 3)):
        rows = []
        for i in range(count):
            n = int(rng.integers(8000, 20000))
            t = np.arange(n) / 16000
            wave = 0.3 * np.sin(2 * np.pi * (200 + 600 * t) * t) + 0.05 * rng.standard_normal(n)
            wave[n // 2: n // 2 + 2000] += 0.3 * rng.standard_normal(2000)
            sf.write(str(folder / "wav" / f"{split}{i}.wav"), wave, 16000)
            rows.append(f"{split}{i}.wav\t{n}")
        (folder / f"{split}.tsv").write_text(f"{folder / 'wav'}\n" + "\n".join(rows) + "\n")
    return folder


def km_lines(path: Path) -> list[list[int]]:
    return [[int(x) for x in line.split()] for line in path.read_text().splitlines()]


def test_mfcc_units_are_seeded_and_complete(manifests, tmp_path):
    args = ["--manifest-dir", str(manifests), "--n-clusters", "12", "--batch-size", "256", "--chunk-frames", "500",
            "--label-rate", "100", "--merge"]
    first = run_units([*args, "--seed", "4", "--out-dir", str(tmp_path / "a")])
    run_units([*args, "--seed", "4", "--out-dir", str(tmp_path / "b")])
    for name in ("train.km", "test.km", "dict.km.txt", "train.merged.km", "test.merged.cnt"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text(), name
    other = run_units([*args, "--seed", "5", "--out-dir", str(tmp_path / "c")])
    assert (tmp_path / "a" / "train.km").read_text() != (tmp_path / "c" / "train.km").read_text()
    train = km_lines(tmp_path / "a" / "train.km")
    assert len(train) == 8 and len(km_lines(tmp_path / "a" / "test.km")) == 3
    sizes = [int(r.split("\t")[1]) for r in (manifests / "train.tsv").read_text().splitlines()[1:]]
    assert all(abs(len(u) - n / 160) <= 3 for u, n in zip(train, sizes))  # 100 labels per second
    counts = [line.split() for line in (tmp_path / "a" / "dict.km.txt").read_text().splitlines()]
    assert [c[0] for c in counts] == [str(k) for k in range(12)]
    assert sum(int(c[1]) for c in counts) == sum(map(len, train))
    assert first["label_rate"] == 100.0 and other["frames"] == first["frames"]
    assert not (tmp_path / "a" / "features").exists()  # features are removed unless asked to keep them


def test_merged_units_reconstruct_km(manifests, tmp_path):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    from ssl_universal_plugins.speech.units import expand_runs

    run_units(["--manifest-dir", str(manifests), "--out-dir", str(tmp_path), "--n-clusters", "8", "--merge",
               "--batch-size", "256"])
    frames, merged, runs = (km_lines(tmp_path / n) for n in ("train.km", "train.merged.km", "train.merged.cnt"))
    assert all(expand_runs(m, r) == f for f, m, r in zip(frames, merged, runs))
    assert sum(map(len, merged)) < sum(map(len, frames))


def test_label_rate_must_match_features(manifests, tmp_path):
    with pytest.raises(ConfigError, match="label_rate 50.0 Hz does not match the mfcc frame rate 100.0 Hz"):
        run_units(["--manifest-dir", str(manifests), "--out-dir", str(tmp_path), "--label-rate", "50"])


def test_hubert_layer_units_from_a_hugging_face_folder(manifests, tmp_path):
    import torch
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    config = HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                          conv_dim=(16, 16, 16), conv_stride=(5, 8, 8), conv_kernel=(10, 8, 8),
                          num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    HubertModel(config).save_pretrained(tmp_path / "hubert")
    summary = run_units(["--manifest-dir", str(manifests), "--out-dir", str(tmp_path / "units"), "--feature",
                         "hubert", "--checkpoint", str(tmp_path / "hubert"), "--layer", "2", "--label-rate", "50",
                         "--n-clusters", "6", "--batch-size", "64"])
    assert summary["dim"] == 32 and summary["label_rate"] == 50.0
    train = km_lines(tmp_path / "units" / "train.km")
    assert len(train) == 8 and all(0 <= u < 6 for line in train for u in line)
    with pytest.raises(ConfigError, match="layer must be in 1..2"):
        run_units(["--manifest-dir", str(manifests), "--out-dir", str(tmp_path / "u2"), "--feature", "hubert",
                   "--checkpoint", str(tmp_path / "hubert"), "--layer", "3"])
    json.loads((tmp_path / "units" / "units.json").read_text())


def test_cmvn_flag_reaches_the_features(manifests, tmp_path):
    args = ["--manifest-dir", str(manifests), "--n-clusters", "12", "--batch-size", "256", "--seed", "4"]
    plain = run_units([*args, "--out-dir", str(tmp_path / "plain")])
    normalised = run_units([*args, "--cmvn", "--out-dir", str(tmp_path / "cmvn")])
    assert plain["config"]["cmvn"] is False and normalised["config"]["cmvn"] is True
    assert (tmp_path / "plain" / "train.km").read_text() != (tmp_path / "cmvn" / "train.km").read_text()
