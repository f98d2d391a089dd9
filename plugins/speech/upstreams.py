"""Speech upstreams: HuBERT sizes, finding a checkpoint (run directory, Hugging Face folder, torchaudio file), loading it,
and the reference upstreams every table needs beside a pre-trained one: ``fbank`` (SUPERB's FBANK) and ``random_init``."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

from ssl_universal.errors import ConfigError, DataError
from ssl_universal.models.backbone import quiet_transformers

log = logging.getLogger(__name__)

# Architectures for training from scratch. `tiny` fits a CPU run of minutes; `base` is HuBERT Base.
SIZES: dict[str, dict] = {
    "tiny": dict(hidden_size=96, num_hidden_layers=3, num_attention_heads=4, intermediate_size=384,
                 conv_dim=(32,) * 7, feat_extract_norm="group", num_conv_pos_embeddings=32,
                 num_conv_pos_embedding_groups=4, hidden_dropout=0.1, attention_dropout=0.1, activation_dropout=0.0,
                 feat_proj_dropout=0.0, layerdrop=0.0),
    "small": dict(hidden_size=256, num_hidden_layers=6, num_attention_heads=4, intermediate_size=1024,
                  conv_dim=(256,) * 7, feat_extract_norm="layer", num_conv_pos_embeddings=64,
                  num_conv_pos_embedding_groups=16, layerdrop=0.0),
    "base": dict(),  # HubertConfig's defaults are HuBERT Base (768 wide, 12 layers, 512-channel convolutions)
}

# torchaudio builders -> the matching Hugging Face HubertConfig fields (see torchaudio.models.hubert_*).
TORCHAUDIO_ARCHS: dict[str, dict] = {
    "hubert_base": dict(),
    "hubert_large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                         feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True),
    "hubert_xlarge": dict(hidden_size=1280, num_hidden_layers=48, num_attention_heads=16, intermediate_size=5120,
                          feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True),
}


def hubert_config(size: str, **overrides):
    """A HubertConfig for training from scratch; time masking on so the mask embedding exists."""
    from transformers import HubertConfig

    if size not in SIZES:
        raise ConfigError(f"model.size: expected one of {', '.join(SIZES)}; got {size!r}")
    return HubertConfig(**{"mask_time_prob": 0.05, **SIZES[size], **overrides})


def torchaudio_to_hf(state_dict: dict[str, torch.Tensor], config):
    """A Hugging Face HubertModel holding a torchaudio HuBERT/wav2vec2 state dict (plain or pre-training model)."""
    from transformers import HubertModel

    renamed = {}
    for key, value in state_dict.items():
        key = key.removeprefix("wav2vec2.")
        if key.startswith(("logit_generator.", "aux.")):
            continue  # pre-training head and CTC head: not part of the encoder
        if key == "mask_generator.mask_embedding":
            renamed["masked_spec_embed"] = value
            continue
        key = key.replace("encoder.feature_projection.", "feature_projection.")
        key = key.replace("encoder.transformer.", "encoder.")
        key = key.replace("pos_conv_embed.conv.weight_g", "pos_conv_embed.conv.parametrizations.weight.original0")
        key = key.replace("pos_conv_embed.conv.weight_v", "pos_conv_embed.conv.parametrizations.weight.original1")
        renamed[key] = value
    if "masked_spec_embed" not in renamed:
        config.mask_time_prob = config.mask_time_prob or 0.05
    model = HubertModel(config)
    missing, unexpected = model.load_state_dict(renamed, strict=False)
    missing = [k for k in missing if k != "masked_spec_embed"]
    if missing or unexpected:
        raise DataError(f"torchaudio checkpoint does not match the Hugging Face HuBERT config: missing {missing[:5]}, "
                        f"unexpected {unexpected[:5]}. Check init_arch (one of {', '.join(TORCHAUDIO_ARCHS)})")
    return model


def _read_state_dict(path: Path) -> dict:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    return state.get("model", state) if isinstance(state, dict) else state


def resolve_upstream(path: str | Path, *, arch: str = "hubert_base") -> Path:
    """The Hugging Face folder for ``path``: a run directory (its ``best/hf``), a folder with ``config.json``,
    or a torchaudio state-dict file (converted once into ``<file>.hf/`` beside it)."""
    path = Path(path).expanduser()
    for candidate in (path / "best" / "hf", path / "hf", path):
        if (candidate / "config.json").is_file():
            return candidate
    if path.is_file():
        converted = path.with_name(path.name + ".hf")
        if not (converted / "config.json").is_file():
            from transformers import HubertConfig

            if arch not in TORCHAUDIO_ARCHS:
                raise ConfigError(f"init_arch {arch!r}: expected one of {', '.join(TORCHAUDIO_ARCHS)}")
            model = torchaudio_to_hf(_read_state_dict(path), HubertConfig(**TORCHAUDIO_ARCHS[arch]))
            with quiet_transformers():
                model.save_pretrained(str(converted))
            log.info("converted torchaudio checkpoint %s -> %s", path, converted)
        return converted
    raise DataError(f"{path}: not an upstream. Expected a run directory (with best/hf/config.json), a Hugging Face "
                    "HuBERT or wav2vec2 folder (config.json + weights), a torchaudio state-dict file, or a reference "
                    f"upstream by name ({', '.join(REFERENCE_UPSTREAMS)}; random_init:<size> with size in "
                    f"{', '.join(SIZES)})")


# -- reference upstreams ------------------------------------------------------------------------
class FbankUpstream(nn.Module):
    """SUPERB's FBANK upstream (s3prl ``upstream/baseline``, ``fbank.yaml``): 80 Kaldi log-mel filterbanks
    (25 ms windows every 10 ms), their deltas and delta-deltas (window 5), then per-utterance mean and
    variance normalisation: 240 numbers per 10 ms frame, no parameters.

    It answers like a Hugging Face speech encoder (``config.num_hidden_layers``/``hidden_size``,
    ``_get_feat_extract_output_lengths``, ``hidden_states``), so every downstream head runs on it unchanged.
    Its single "hidden state" is the features themselves (``num_hidden_layers = 0``).
    """

    def __init__(self, sample_rate: int = 16000, num_mel_bins: int = 80, frame_length_ms: float = 25.0,
                 frame_shift_ms: float = 10.0, delta_order: int = 2, delta_window: int = 5, cmvn: bool = True):
        super().__init__()
        import torchaudio

        self.sample_rate, self.num_mel_bins, self.delta_order, self.cmvn = sample_rate, num_mel_bins, delta_order, cmvn
        self.frame_length_ms, self.frame_shift_ms = frame_length_ms, frame_shift_ms
        self.window = int(sample_rate * frame_length_ms / 1000)
        self.shift = int(sample_rate * frame_shift_ms / 1000)
        self.deltas = torchaudio.transforms.ComputeDeltas(win_length=delta_window)
        self.config = SimpleNamespace(num_hidden_layers=0, hidden_size=num_mel_bins * (1 + delta_order),
                                      model_type="fbank")

    def _get_feat_extract_output_lengths(self, lengths):
        """Frames of Kaldi's ``snip_edges``: one per full window, every ``shift`` samples (0 for shorter input)."""
        lengths = torch.as_tensor(lengths)
        return torch.where(lengths >= self.window, (lengths - self.window) // self.shift + 1, torch.zeros_like(lengths))

    def utterance(self, wave: torch.Tensor) -> torch.Tensor:
        """[samples] -> [frames, 240]."""
        from torchaudio.compliance import kaldi

        if wave.numel() < self.window:  # shorter than one window: one frame of the zero-padded audio
            wave = torch.nn.functional.pad(wave, (0, self.window - wave.numel()))
        x = kaldi.fbank(wave[None].float(), sample_frequency=self.sample_rate, num_mel_bins=self.num_mel_bins,
                        frame_length=self.frame_length_ms, frame_shift=self.frame_shift_ms, use_log_fbank=True,
                        dither=0.0)
        feats = [x]
        for _ in range(self.delta_order):
            feats.append(self.deltas(feats[-1].T[None])[0].T)
        x = torch.cat(feats, dim=-1)
        if self.cmvn:
            x = (x - x.mean(0, keepdim=True)) / (1e-10 + x.std(0, keepdim=True))
        return x

    @torch.no_grad()
    def forward(self, waveform: torch.Tensor, attention_mask: torch.Tensor | None = None,
                output_hidden_states: bool = True, **_) -> SimpleNamespace:
        lengths = attention_mask.sum(1) if attention_mask is not None else torch.full((len(waveform),), waveform.shape[1])
        feats = [self.utterance(w[: int(n)]) for w, n in zip(waveform, lengths)]
        frames = max(f.shape[0] for f in feats)
        out = waveform.new_zeros(len(feats), frames, self.config.hidden_size)
        for i, f in enumerate(feats):
            out[i, : f.shape[0]] = f
        return SimpleNamespace(hidden_states=(out,), last_hidden_state=out)


def random_init_upstream(size: str = "tiny", seed: int = 0):
    """A HuBERT of ``size`` exactly as pre-training starts it, never trained (the same seed gives the same weights)."""
    from transformers import HubertModel

    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream where it was
        torch.manual_seed(seed)
        return HubertModel(hubert_config(size))


#: Upstreams known by name: ``model.upstream=fbank``, ``model.upstream=random_init`` (tiny) or ``random_init:small``.
REFERENCE_UPSTREAMS = {
    "fbank": lambda arg, seed: FbankUpstream(),
    # s3prl's fbank_no_cmvn.yaml: per-utterance CMVN zeroes each dimension's mean over the utterance, so a
    # mean-pooled linear head (KS, IC, SID, ER) sees nothing of it; without CMVN it sees the average spectrum
    "fbank_no_cmvn": lambda arg, seed: FbankUpstream(cmvn=False),
    "random_init": lambda arg, seed: random_init_upstream(arg or "tiny", seed),
}


def reference_upstream(spec: str | Path, seed: int = 0) -> nn.Module | None:
    """The reference upstream that ``spec`` names (``fbank``, ``random_init[:<size>]``), or None for a path."""
    name, _, arg = str(spec).partition(":")
    if name not in REFERENCE_UPSTREAMS or Path(str(spec)).exists():
        return None
    if name.startswith("fbank") and arg:
        raise ConfigError(f"model.upstream {spec!r}: {name} takes no argument")
    return REFERENCE_UPSTREAMS[name](arg, seed)


def load_upstream(path: str | Path, *, arch: str = "hubert_base", seed: int = 0) -> torch.nn.Module:
    """Any Hugging Face speech encoder that returns hidden states (HuBERT, wav2vec 2.0, WavLM, ours), or a
    reference upstream by name (``fbank``, ``random_init[:<size>]``, its weights drawn with ``seed``)."""
    from transformers import AutoModel

    reference = reference_upstream(path, seed)
    if reference is not None:
        return reference
    folder = resolve_upstream(path, arch=arch)
    with quiet_transformers():  # no "Loading weights" bar: the run reports what matters
        model = AutoModel.from_pretrained(str(folder))
    if not hasattr(model, "_get_feat_extract_output_lengths"):
        raise DataError(f"{folder}: {type(model).__name__} is not a speech encoder with a convolutional front end "
                        "(expected HuBERT, wav2vec 2.0 or WavLM)")
    return model
