"""HuBERT masked-unit prediction: span masks, the loss learning, gradient reversal, checkpoint conversion."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch


def speech(name: str):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    return importlib.import_module(f"ssl_universal_plugins.speech.{name}")


MICRO = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, conv_dim=(16,) * 7,
             num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, hidden_dropout=0.0, attention_dropout=0.0)


@pytest.fixture()
def micro_size(monkeypatch):
    """A very small HuBERT registered as size 'micro' for the duration of a test."""
    upstreams = speech("upstreams")
    monkeypatch.setitem(upstreams.SIZES, "micro", {**upstreams.SIZES["tiny"], **MICRO})
    return "micro"


def tone_batch(rng: np.random.Generator, batch: int = 8, seconds: float = 0.6, classes: int = 4):
    """Waveforms made of 100 ms tones; the unit of each 10 ms label frame is the tone's index."""
    freqs = np.array([300.0, 700.0, 1300.0, 2500.0])[:classes]
    seg, rate = 1600, 16000
    n_seg = int(seconds * 10)
    waves, labels = [], []
    for _ in range(batch):
        picks = rng.integers(classes, size=n_seg)
        t = np.arange(seg) / rate
        waves.append(np.concatenate([np.sin(2 * np.pi * freqs[k] * t) for k in picks]) * 0.5)
        labels.append(np.repeat(picks, 10))  # 100 labels per second
    return (torch.tensor(np.stack(waves), dtype=torch.float32), torch.full((batch,), n_seg * seg),
            torch.tensor(np.stack(labels)))


def test_span_mask_shares_and_padding():
    hubert = speech("hubert")
    lengths = torch.tensor([400, 200, 30])
    g = torch.Generator().manual_seed(0)
    masks = torch.stack([hubert.span_mask(lengths, 400, generator=g) for _ in range(50)])
    share = masks[:, 0, :400].float().mean()
    assert 0.35 < share < 0.65  # p=0.08, span 10: about half the frames, overlaps merged
    assert not masks[:, 1, 200:].any() and not masks[:, 2, 30:].any()  # never in the padding
    assert (masks[:, 2].sum(-1) >= 10).all()  # at least min_spans spans even for short utterances
    again = hubert.span_mask(lengths, 400, generator=torch.Generator().manual_seed(5))
    assert torch.equal(again, hubert.span_mask(lengths, 400, generator=torch.Generator().manual_seed(5)))


def test_frame_targets_pick_every_other_mfcc_label(micro_size):
    hubert = speech("hubert")
    model = hubert.HubertPretrainModel(hubert.HubertPretrainConfig(size=micro_size), num_targets=5, label_rate=100)
    targets = torch.arange(10)[None]
    picked = model.frame_targets(targets, 6)
    assert picked.tolist() == [[0, 2, 4, 6, 8, -100]]  # 50 Hz frames over 100 Hz labels; beyond the end: ignored


def test_masked_prediction_loss_falls(micro_size):
    hubert = speech("hubert")
    torch.manual_seed(0)
    model = hubert.HubertPretrainModel(hubert.HubertPretrainConfig(size=micro_size, final_dim=16), num_targets=4,
                                       label_rate=100)
    waves, lengths, targets = tone_batch(np.random.default_rng(0), batch=4, seconds=0.5)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    losses = []
    for step in range(25):
        out = model(waves, lengths, targets, mask_seed=step)
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        losses.append(float(out["loss"].detach()))
        assert out["count"] > 0
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses


def test_gradient_reversal_flips_and_scales():
    hubert = speech("hubert")
    x = torch.randn(3, 4, requires_grad=True)
    (hubert.reverse_gradient(x, 0.25) * torch.arange(4.0)).sum().backward()
    assert torch.allclose(x.grad, -0.25 * torch.arange(4.0).expand(3, 4))
    y = torch.randn(2, requires_grad=True)
    out = hubert.reverse_gradient(y, 1.0)
    assert torch.equal(out, y)  # identity forward


def test_domain_classifier_gets_reversed_gradient(micro_size, monkeypatch):
    """The encoder is pushed to *increase* the domain loss that the classifier learns to decrease."""
    hubert = speech("hubert")
    torch.manual_seed(0)
    cfg = hubert.HubertPretrainConfig(size=micro_size, dat_weight=0.5, final_dim=8)
    model = hubert.HubertPretrainModel(cfg, num_targets=4, label_rate=100, num_domains=3)
    waves, lengths, targets = tone_batch(np.random.default_rng(1), batch=4)
    domains = torch.tensor([0, 1, 2, 1])
    encoder = model.hubert.encoder.layers[-1].final_layer_norm.bias
    classifier = model.domain_classifier[0].weight

    def grads(domain_labels):
        out = model(waves, lengths, targets, domains=domain_labels, mask_seed=0)
        if domain_labels is not None:
            assert {"domain_loss", "domain_correct"} <= set(out)
            return torch.autograd.grad(out["loss"], [encoder, classifier])
        return torch.autograd.grad(out["loss"], [encoder])[0], None

    masked_only, _ = grads(None)
    reversed_encoder, reversed_classifier = grads(domains)
    # the same forward and gradient scale, without the flip
    monkeypatch.setattr(hubert, "reverse_gradient", lambda x, scale: x * scale + (x * (1 - scale)).detach())
    plain_encoder, plain_classifier = grads(domains)
    domain_part = plain_encoder - masked_only
    assert domain_part.abs().max() > 1e-6
    assert torch.allclose(reversed_encoder - masked_only, -domain_part, atol=1e-6)
    assert torch.allclose(reversed_classifier, plain_classifier)  # the classifier itself is trained normally


def test_torchaudio_checkpoint_converts_exactly(micro_size, tmp_path):
    upstreams = speech("upstreams")
    from torchaudio.models import wav2vec2_model

    cfg = upstreams.hubert_config(micro_size)
    source = wav2vec2_model(
        extractor_mode="group_norm", extractor_conv_layer_config=list(zip(cfg.conv_dim, cfg.conv_kernel, cfg.conv_stride)),
        extractor_conv_bias=False, encoder_embed_dim=32, encoder_projection_dropout=0.0, encoder_pos_conv_kernel=16,
        encoder_pos_conv_groups=2, encoder_num_layers=2, encoder_num_heads=2, encoder_attention_dropout=0.0,
        encoder_ff_interm_features=64, encoder_ff_interm_dropout=0.0, encoder_dropout=0.0,
        encoder_layer_norm_first=False, encoder_layer_drop=0.0, aux_num_out=None).eval()
    converted = upstreams.torchaudio_to_hf(source.state_dict(), cfg).eval()
    x = torch.randn(2, 8000)
    with torch.no_grad():
        expected = source.extract_features(x)[0]
        got = converted(x, output_hidden_states=True).hidden_states[1:]
    for a, b in zip(expected, got):
        assert torch.allclose(a, b, atol=1e-5)


def _tone_units_folder(root, rng, n=12, seconds=0.5):
    """train/valid manifests of tone audio with 50 Hz units (the tone index), and dict.km.txt."""
    import soundfile as sf

    (root / "audio").mkdir(parents=True)
    waves, _, labels = tone_batch(rng, batch=n, seconds=seconds)
    rows = []
    for i, (wave, units) in enumerate(zip(waves, labels)):
        sf.write(str(root / "audio" / f"{i}.wav"), wave.numpy(), 16000)
        rows.append((f"{i}.wav", wave.numel(), " ".join(map(str, units[::2].tolist()))))
    for split, picked in (("train", rows[:-3]), ("valid", rows[-3:])):
        (root / f"{split}.tsv").write_text(f"{root / 'audio'}\n" + "".join(f"{r}\t{s}\n" for r, s, _ in picked))
        (root / f"{split}.km").write_text("".join(f"{u}\n" for _, _, u in picked))
    (root / "dict.km.txt").write_text("".join(f"{k} 1\n" for k in range(4)))
    return root


@pytest.mark.slow
def test_hugging_face_folder_continues_training_on_distorted_audio(micro_size, tmp_path):
    """A HuBERT saved with save_pretrained is loaded as the start, trained on noisy input with DAT, exported."""
    from safetensors.torch import load_file
    from transformers import HubertModel

    from ssl_universal.config import load_config
    from ssl_universal.run import train

    upstreams, hubert = speech("upstreams"), speech("hubert")
    folder = tmp_path / "hf"
    torch.manual_seed(0)
    HubertModel(upstreams.hubert_config(micro_size, mask_time_prob=0.0)).save_pretrained(str(folder))  # no mask embedding
    data = _tone_units_folder(tmp_path / "data", np.random.default_rng(0))

    start = hubert.HubertPretrainModel(hubert.HubertPretrainConfig(init=str(folder)), num_targets=4, label_rate=50)
    original = HubertModel.from_pretrained(str(folder)).state_dict()
    key = "encoder.layers.0.feed_forward.intermediate_dense.weight"
    assert torch.equal(start.hubert.state_dict()[key], original[key])  # the weights are the folder's

    cfg = load_config(["recipe=speech/hubert_continual", f"model.init={folder}", f"task.data_dir={data}",
                       "task.additive_weights={noise:0,music:0,speech:0,gaussian:1}", "task.p_reverb=0",
                       "task.p_additive=0.5", "model.dat_weight=0.1", "trainer.max_steps=6", "trainer.eval_every=3",
                       "trainer.batch_size=4", "trainer.max_tokens=null", "trainer.progress_bar=false",
                       "trainer.tensorboard=false", f"run_dir={tmp_path / 'run'}"])
    results = train(cfg)
    assert results["steps"] == 6 and np.isfinite(results["best"]["loss"])
    assert "domain_accuracy" in results["best"]
    exported = HubertModel.from_pretrained(str(tmp_path / "run" / "best" / "hf")).state_dict()
    assert not torch.equal(exported[key], original[key])  # it trained
    head = load_file(str(tmp_path / "run" / "best" / "hf" / hubert.HEAD_FILE))
    assert head["label_embs"].shape == (4, 64) and "domain_classifier.0.weight" in head


def test_valid_is_carved_from_train_when_missing(micro_size, tmp_path):
    pretrain = speech("pretrain")
    data = _tone_units_folder(tmp_path / "data", np.random.default_rng(0), n=24, seconds=0.3)
    (data / "valid.tsv").unlink()
    task = pretrain.HubertPretrainTask(pretrain.HubertPretrainTaskConfig(data_dir=str(data), label_rate=50,
                                                                        valid_share=0.25))
    train, valid = task.dataset("train"), task.dataset("valid")
    assert len(train) + len(valid) == 21 and len(valid) >= 4  # _tone_units_folder puts 21 rows in train.tsv
    assert not {train[i]["id"] for i in range(len(train))} & {valid[i]["id"] for i in range(len(valid))}
    batch = task.collate([train[0], train[1]])
    assert batch["waveform"].shape[0] == 2 and (batch["targets"][0] >= 0).sum() == len(train[0]["units"].split())


def test_the_training_distortions_resume_with_the_same_draws(micro_size, tmp_path):
    """The task's noise generator goes into checkpoints: a resumed run gets the noise an uninterrupted one would."""
    import io

    pretrain = speech("pretrain")
    data = _tone_units_folder(tmp_path / "data", np.random.default_rng(0), n=8, seconds=0.3)
    config = pretrain.HubertPretrainTaskConfig(data_dir=str(data), label_rate=50, distort=True, p_reverb=0.0,
                                               additive_weights={"noise": 0, "music": 0, "speech": 0, "gaussian": 1})
    running, restarted = pretrain.HubertPretrainTask(config), pretrain.HubertPretrainTask(config)
    batch = running.collate([running.dataset("train")[i] for i in range(3)])
    running.train_distorter(batch["waveform"], batch["lengths"])  # the draws of the steps before the checkpoint
    saved = io.BytesIO()
    torch.save(running.rng_state(), saved)  # as the engine stores it: loadable with weights_only=True
    saved.seek(0)
    restarted.load_rng_state(torch.load(saved, weights_only=True))
    expected, _ = running.train_distorter(batch["waveform"], batch["lengths"])
    resumed, _ = restarted.train_distorter(batch["waveform"], batch["lengths"])
    assert torch.equal(expected, resumed) and not torch.equal(expected, batch["waveform"])
    assert pretrain.HubertPretrainTask(pretrain.HubertPretrainTaskConfig(data_dir=str(data), label_rate=50)).rng_state() == {}
