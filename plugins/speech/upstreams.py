"""Speech upstreams: HuBERT sizes, finding a checkpoint (run directory, Hugging Face folder, torchaudio file), loading it."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

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
            model.save_pretrained(str(converted))
            log.info("converted torchaudio checkpoint %s -> %s", path, converted)
        return converted
    raise DataError(f"{path}: not an upstream. Expected a run directory (with best/hf/config.json), a Hugging Face "
                    "HuBERT or wav2vec2 folder (config.json + weights), or a torchaudio state-dict file")


def load_upstream(path: str | Path, *, arch: str = "hubert_base") -> torch.nn.Module:
    """Any Hugging Face speech encoder that returns hidden states (HuBERT, wav2vec 2.0, WavLM, ours)."""
    from transformers import AutoModel

    folder = resolve_upstream(path, arch=arch)
    with quiet_transformers():  # no "Loading weights" bar: the run reports what matters
        model = AutoModel.from_pretrained(str(folder))
    if not hasattr(model, "_get_feat_extract_output_lengths"):
        raise DataError(f"{folder}: {type(model).__name__} is not a speech encoder with a convolutional front end "
                        "(expected HuBERT, wav2vec 2.0 or WavLM)")
    return model
