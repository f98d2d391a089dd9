"""Linear CKA on known cases, and the two-run comparison tool on tiny trained runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ssl_universal.metrics.similarity import linear_cka


def test_identical_rotated_and_scaled_representations_give_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8))
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, x @ rotation) == pytest.approx(1.0)
    assert linear_cka(x, 3.0 * x + 5.0) == pytest.approx(1.0)  # isotropic scale and a shift
    wide = rng.normal(size=(10, 40))  # fewer inputs than features: the Gram-matrix path
    assert linear_cka(wide, wide @ np.linalg.qr(rng.normal(size=(40, 40)))[0]) == pytest.approx(1.0)


def test_unrelated_representations_score_low_and_partial_overlap_in_between():
    rng = np.random.default_rng(1)
    x, noise = rng.normal(size=(400, 6)), rng.normal(size=(400, 6))
    assert linear_cka(x, noise) < 0.1
    mixed = linear_cka(x, np.hstack([x[:, :3], noise[:, :3]]))
    assert 0.3 < mixed < 0.8
    assert linear_cka(x, x[:, :4] @ rng.normal(size=(4, 4))) < 1.0


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="3 rows against 4"):
        linear_cka(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="two 2-D arrays"):
        linear_cka(np.zeros(3), np.zeros((3, 2)))
    assert np.isnan(linear_cka(np.ones((5, 2)), np.random.default_rng(0).normal(size=(5, 2))))


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny_bert")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *[f"w{i}" for i in range(30)]]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(str(folder))
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).save_pretrained(str(folder))
    return folder


def _train_run(run_dir: Path, backbone: Path, assignment: str, seed: int) -> Path:
    from ssl_universal.config import load_config
    from ssl_universal.run import train

    cfg = load_config([
        "recipe=dna/splice", f"model.backbone={backbone}", f"model.assignment={assignment}", "model.num_layers=null",
        f"seed={seed}", "task.num_train=32", "task.num_eval=24", "trainer.max_steps=4", "trainer.batch_size=8",
        "trainer.eval_every=4", "trainer.tensorboard=false", f"run_dir={run_dir}",
    ])
    train(cfg)
    return run_dir


def test_command_gives_one_for_the_same_run_and_less_for_another(tmp_path, tiny_backbone, monkeypatch, capsys):
    from ssl_universal import representations
    from ssl_universal.cli import main

    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "cache"))
    run_a = _train_run(tmp_path / "a", tiny_backbone, "random", 0)
    run_b = _train_run(tmp_path / "b", tiny_backbone, "scratch", 1)
    assert main(["representation-similarity", str(run_a), str(run_a), "--out", str(tmp_path / "same.json")]) == 0
    assert "| last | 1.000 |" in capsys.readouterr().out
    same = json.loads((tmp_path / "same.json").read_text())
    assert len(same["per_layer"]) == 3 and same["examples"] == 24
    assert same["per_layer"] == pytest.approx([1.0, 1.0, 1.0]) and same["last"] == pytest.approx(1.0)
    other = representations.compare(run_a, run_b, pooling="cls")
    assert other["last"] < 0.99
