"""The reference upstreams every speech table carries: ``fbank`` (SUPERB's FBANK) and ``random_init`` (untrained HuBERT)."""

from __future__ import annotations

import importlib

import pytest
import torch

from ssl_universal.errors import DataError


def speech(name: str):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    return importlib.import_module(f"ssl_universal_plugins.speech.{name}")


def test_fbank_is_kaldi_log_mel_with_deltas_and_cmvn_per_utterance():
    import torchaudio
    from torchaudio.compliance import kaldi

    upstreams = speech("upstreams")
    fbank = upstreams.load_upstream("fbank")
    torch.manual_seed(0)
    waves = torch.randn(2, 8000) * 0.1
    mask = torch.ones(2, 8000, dtype=torch.long)
    mask[1, 4800:] = 0
    (hidden,) = fbank(waves, attention_mask=mask, output_hidden_states=True).hidden_states
    frames = fbank._get_feat_extract_output_lengths(mask.sum(1))
    assert frames.tolist() == [(8000 - 400) // 160 + 1, (4800 - 400) // 160 + 1]
    assert hidden.shape == (2, int(frames[0]), 240) and fbank.config.hidden_size == 240
    # the second utterance by hand: its own samples only, s3prl's recipe (fbank.yaml)
    x = kaldi.fbank(waves[1:2, :4800], num_mel_bins=80, frame_length=25.0, frame_shift=10.0, dither=0.0)
    delta = torchaudio.transforms.ComputeDeltas(win_length=5)
    d1 = delta(x.T[None])[0].T
    d2 = delta(d1.T[None])[0].T
    feats = torch.cat([x, d1, d2], -1)
    feats = (feats - feats.mean(0)) / (1e-10 + feats.std(0))
    assert torch.allclose(hidden[1, : int(frames[1])], feats, atol=1e-4)
    assert torch.all(hidden[1, int(frames[1]):] == 0)  # padding stays zero
    assert fbank.config.num_hidden_layers == 0 and list(fbank.parameters()) == []
    # with CMVN every dimension averages to 0 over the utterance (a mean-pooled head sees nothing): the
    # s3prl fbank_no_cmvn variant keeps the average spectrum
    assert torch.allclose(hidden[1, : int(frames[1])].mean(0), torch.zeros(240), atol=1e-4)
    raw = upstreams.load_upstream("fbank_no_cmvn")(waves, attention_mask=mask).hidden_states[0]
    assert torch.allclose(raw[1, : int(frames[1]), :80], x, atol=1e-4)


def test_random_init_is_the_pretraining_shape_untrained_and_seeded():
    upstreams = speech("upstreams")
    state = torch.random.get_rng_state()
    a, b = upstreams.load_upstream("random_init"), upstreams.load_upstream("random_init:tiny")
    other = upstreams.load_upstream("random_init", seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random stream is untouched
    tiny = upstreams.hubert_config("tiny")
    assert (a.config.hidden_size, a.config.num_hidden_layers) == (tiny.hidden_size, tiny.num_hidden_layers)
    key = "encoder.layers.0.attention.k_proj.weight"
    assert torch.equal(a.state_dict()[key], b.state_dict()[key])
    assert not torch.equal(a.state_dict()[key], other.state_dict()[key])
    with pytest.raises(Exception, match="model.size: expected one of"):
        upstreams.load_upstream("random_init:huge")


def test_unknown_upstream_lists_the_reference_names(tmp_path):
    upstreams = speech("upstreams")
    with pytest.raises(DataError, match="fbank, fbank_no_cmvn, random_init"):
        upstreams.load_upstream(tmp_path / "nothing_here")


def test_the_downstream_model_runs_on_both_references():
    superb = speech("superb")
    for spec in ("fbank", "random_init"):
        for kind, labels in (("utterance", 3), ("ctc", 5)):
            model = superb.SuperbDownstream(superb.DownstreamConfig(upstream=spec, projection=16, lstm_hidden=8),
                                            labels, kind)
            waves, lengths = torch.randn(2, 6400) * 0.1, torch.tensor([6400, 4000])
            if kind == "utterance":
                out = model(waves, lengths, labels=torch.tensor([0, 2]))
            else:
                out = model(waves, lengths, targets=torch.tensor([[1, 2], [3, 0]]), target_lengths=torch.tensor([2, 1]))
            assert torch.isfinite(out["loss"]), spec
            out["loss"].backward()
            assert all(p.grad is None for p in model.upstream.parameters())  # frozen


def test_saving_a_hubert_writes_no_progress_bars(tmp_path, capfd, monkeypatch):
    upstreams, hubert = speech("upstreams"), speech("hubert")
    monkeypatch.setitem(upstreams.SIZES, "micro", {**upstreams.SIZES["tiny"], "hidden_size": 16, "num_hidden_layers": 1,
                                                   "num_attention_heads": 2, "intermediate_size": 32,
                                                   "conv_dim": (8,) * 7, "num_conv_pos_embeddings": 8,
                                                   "num_conv_pos_embedding_groups": 2})
    model = hubert.HubertPretrainModel(hubert.HubertPretrainConfig(size="micro", final_dim=8), 5, 50.0)
    model.save_pretrained(tmp_path / "hf")
    continued = hubert.HubertPretrainModel(hubert.HubertPretrainConfig(init=str(tmp_path / "hf"), final_dim=8), 5, 50.0)
    err = capfd.readouterr().err
    assert "Writing model shards" not in err and "Loading weights" not in err, err
    assert continued.hubert.config.hidden_size == 16
