"""SUPERB-style downstream tasks: WER/CER against jiwer, greedy CTC decoding, test conditions, learning above chance."""

from __future__ import annotations

import importlib

import jiwer
import numpy as np
import pytest
import soundfile as sf
import torch

RATE = 16000
FREQS = {"a": 300.0, "b": 800.0, "c": 1500.0, "d": 2600.0}


def speech(name: str):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    return importlib.import_module(f"ssl_universal_plugins.speech.{name}")


def _tone(freq: float, seconds: float, rng) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.4 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.28)) + 0.01 * rng.standard_normal(t.size))


def _write(folder, rel, wave) -> tuple[str, int]:
    path = folder / "audio" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave.astype(np.float32), RATE)
    return rel, wave.size


def _manifest(folder, split, rows):
    (folder / f"{split}.tsv").write_text(f"{(folder / 'audio').resolve()}\n" + "".join(f"{r}\t{n}\n" for r, n in rows))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A tiny corpus in the synthetic corpus's layout: cls/ (tone classes), asr/ (tone 'letters'), noise/, rir/."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    cls = root / "cls"
    for split, n in (("train", 48), ("test", 16)):
        rows, labels = [], []
        for i in range(n):
            label = "abcd"[i % 4]
            rows.append(_write(cls, f"{split}/{i}.wav", _tone(FREQS[label], rng.uniform(0.3, 0.5), rng)))
            labels.append(label)
        _manifest(cls, split, rows)
        (cls / f"{split}.label").write_text("".join(f"{x}\n" for x in labels))
    asr = root / "asr"
    for split, n in (("train", 48), ("test", 12)):
        rows, letters, words = [], [], []
        for i in range(n):
            word = "".join(rng.choice(list("abcd"), size=3))
            parts = []
            for ch in word:
                parts += [_tone(FREQS[ch], 0.12, rng), np.zeros(int(0.04 * RATE))]
            rows.append(_write(asr, f"{split}/{i}.wav", np.concatenate(parts)))
            letters.append(" ".join(word.upper()) + " |")
            words.append(word.upper())
        _manifest(asr, split, rows)
        (asr / f"{split}.ltr").write_text("".join(f"{x}\n" for x in letters))
        (asr / f"{split}.wrd").write_text("".join(f"{x}\n" for x in words))
    (asr / "dict.ltr.txt").write_text("".join(f"{s} 10\n" for s in ["|", "A", "B", "C", "D"]))
    for kind, names in (("noise", ["white_0", "blue_0", "hum_0"]), ("music", ["m_0"]), ("speech", ["s_0", "s_1"])):
        for name in names:
            path = root / "noise" / "test" / kind / f"{name}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), rng.standard_normal(RATE).astype(np.float32) * 0.1, RATE)
    rir = np.zeros(800, dtype=np.float32)
    rir[0], rir[400] = 1.0, 0.3
    (root / "rir" / "test").mkdir(parents=True)
    sf.write(str(root / "rir" / "test" / "room_0.wav"), rir, RATE)
    return root


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """A small random-init HuBERT saved with save_pretrained (frozen random features still separate tones)."""
    upstreams = speech("upstreams")
    folder = tmp_path_factory.mktemp("upstream")
    from transformers import HubertModel

    torch.manual_seed(0)
    config = upstreams.hubert_config("tiny", hidden_size=48, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=96, conv_dim=(32,) * 7, num_conv_pos_embeddings=16,
                                     num_conv_pos_embedding_groups=2)
    HubertModel(config).save_pretrained(str(folder))
    return folder


def test_wer_and_cer_equal_jiwer():
    superb = speech("superb")
    task = object.__new__(superb.CtcAsrTask)  # score() needs no data
    refs = ["THE CAT SAT", "A DOG RAN HOME", "GREEN LAMP"]
    hyps = ["THE CAT SAT", "A DOG RUN", "GREEN LAMB LIGHT"]
    steps = [{"condition": ["clean", "clean", "mgr"], "references": refs, "hypotheses": hyps}]
    scores = task.score(steps)
    assert scores["wer"] == pytest.approx(100 * jiwer.wer(refs, hyps))
    assert scores["cer"] == pytest.approx(100 * jiwer.cer(refs, hyps))
    assert scores["wer_clean"] == pytest.approx(100 * jiwer.wer(refs[:2], hyps[:2]))
    assert scores["wer_mgr"] == pytest.approx(100 * 2 / 2)  # one substitution, one insertion over two words


def test_greedy_ctc_decoding_merges_repeats_and_drops_blanks():
    superb = speech("superb")
    task = object.__new__(superb.CtcAsrTask)
    task.symbols = [superb.BLANK, "|", "A", "B"]
    path = [2, 2, 0, 2, 3, 3, 1, 1, 0, 3, 0]  # A A _ A B B | | _ B _
    log_probs = torch.nn.functional.one_hot(torch.tensor([path]), 4).float().log()
    assert task.greedy_decode(log_probs, torch.tensor([len(path)])) == ["AAB B"]
    assert task.greedy_decode(log_probs, torch.tensor([3])) == ["A"]


def test_conditions_are_fixed_per_utterance_and_unseen_uses_named_files(corpus):
    conditions = speech("conditions")
    cfg = conditions.ConditionsConfig()
    wave = torch.tensor(_tone(500.0, 0.5, np.random.default_rng(3)), dtype=torch.float32)
    mgr = conditions.ConditionDistorter("mgr", cfg, corpus / "cls")
    unseen = conditions.ConditionDistorter("unseen", cfg, corpus / "cls")
    assert torch.equal(mgr(wave, 7), mgr(wave, 7)) and not torch.equal(mgr(wave, 7), mgr(wave, 8))
    assert not torch.allclose(mgr(wave, 7), wave)
    assert {f.name for f in unseen.distorter.banks["noise"].files} == {"blue_0.wav", "hum_0.wav"}
    assert {f.name for f in mgr.distorter.banks["noise"].files} == {"white_0.wav"}
    assert torch.equal(conditions.ConditionDistorter("clean", cfg, corpus / "cls")(wave, 1), wave)


def _train(overrides, tmp_path):
    from ssl_universal.config import load_config
    from ssl_universal.run import train

    cfg = load_config([*overrides, f"run_dir={tmp_path}", "trainer.progress_bar=false", "trainer.tensorboard=false",
                       "trainer.save_every=1000", "trainer.log_every=10"])
    return train(cfg)


@pytest.mark.slow
def test_utterance_classification_learns_above_chance(corpus, upstream, tmp_path):
    results = _train(["recipe=speech/superb_ks", f"task.data_dir={corpus / 'cls'}", f"model.upstream={upstream}",
                      "task.conditions=[clean,mgr,unseen]", "trainer.max_steps=60", "trainer.eval_every=30",
                      "trainer.batch_size=16", "trainer.lr=3e-3"], tmp_path)
    test = results["test"]
    assert test["accuracy_clean"] > 60.0, test  # 4 classes: chance is 25 %
    assert {"accuracy_mgr", "accuracy_unseen"} <= set(test)
    assert results["best_metric"] == "accuracy"
    from safetensors.torch import load_file  # the frozen upstream must not have moved
    from transformers import HubertModel

    trained = load_file(str(tmp_path / "best" / "model.safetensors"))
    original = HubertModel.from_pretrained(str(upstream)).state_dict()
    key = "encoder.layers.0.attention.k_proj.weight"
    assert torch.equal(trained[f"upstream.{key}"], original[key])


@pytest.mark.slow
def test_ctc_asr_learns_above_chance(corpus, upstream, tmp_path):
    results = _train(["recipe=speech/superb_asr", f"task.data_dir={corpus / 'asr'}", f"model.upstream={upstream}",
                      "task.conditions=[clean]", "trainer.max_steps=150", "trainer.eval_every=75",
                      "trainer.batch_size=16", "trainer.lr=5e-3"], tmp_path)
    test = results["test"]
    assert test["cer_clean"] < 60.0, test  # an untrained head outputs nothing or noise: CER about 100 %
