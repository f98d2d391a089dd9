"""Transfer: map a new alphabet onto a pre-trained vocabulary (assignment), freeze (policy), re-draw (init).

One mechanism for every modality (SCIENCE.md §2, §3, §6). Given a backbone pre-trained on a
vocabulary V and a task alphabet S (``tokenizer.symbols``, specials first) with symbol counts,
:func:`assign_symbols` decides for each symbol which row of the pre-trained input embedding
it starts from, and :func:`build_input_embeddings` builds the |S|-row embedding from that.

Assignments:
  * ``none``: the task tokenizer *is* the backbone's (text); embeddings are kept as they are.
  * ``random``: each non-special symbol gets a distinct text token drawn without replacement
    (fixed per seed).
  * ``most_frequent``: symbols ranked by task frequency go onto text tokens ranked by corpus
    frequency: the most frequent symbol gets the most frequent text token, and so on.
  * ``least_frequent``: the reverse ranking of text tokens: the most frequent symbol gets the
    least frequent text token, the second the second least frequent, and so on.
  * ``reinit``: pre-trained body, new randomly initialised embeddings.
  * ``scratch``: everything random (the caller builds the backbone with random weights).
In ``random`` / ``most_frequent`` / ``least_frequent`` the five specials ``<pad> <unk> <cls>
<sep> <mask>`` map onto the backbone's own ([PAD] [UNK] [CLS] [SEP] [MASK]); candidate text
tokens exclude special and ``[unused*]`` tokens. Ties in frequency break by id (lower id first
in the most-frequent order; ``least_frequent`` walks that order backwards).
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..tokenizer import Tokenizer
from .backbone import hf_special_ids, hf_vocabulary

ASSIGNMENTS = ("none", "random", "most_frequent", "least_frequent", "reinit", "scratch")
FREEZE_POLICIES = ("none", "fpt", "embeddings")
INITS = ("pretrained", "statistics_only")
MAPPING_FILE = "symbol_mapping.json"
_UNUSED = re.compile(r"^(\[unused\d+\]|<unused\d+>|\[UNUSED_\d+\])$")


@dataclass
class SymbolMapping:
    """Which pre-trained token each task symbol starts from; saved as JSON next to every model."""

    assignment: str  # the assignment that produced it
    backbone: str  # short name of the backbone
    seed: int | None  # seed of the random draw (random, reinit, scratch), else None
    token_counts: str | None  # the frequency table used by most_frequent / least_frequent
    symbols: list[str]  # the task alphabet, in tokenizer-id order
    token_ids: list[int | None]  # backbone token id per symbol; None = a freshly initialised row
    tokens: list[str | None]  # the backbone token strings, for reading

    def rows(self) -> torch.Tensor:
        """Source row per symbol, -1 where the row is new."""
        return torch.tensor([-1 if t is None else t for t in self.token_ids], dtype=torch.long)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / MAPPING_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> SymbolMapping:
        path = Path(path)
        if path.is_dir():
            path = path / MAPPING_FILE
        return cls(**json.loads(path.read_text()))


# -- frequencies ------------------------------------------------------------------------------
def default_token_counts_path(backbone_name: str) -> Path:
    """Where the packaged frequency table of a backbone lives (made by `ssl-universal token-frequencies`)."""
    return Path(str(importlib.resources.files("ssl_universal.assets") / f"{backbone_name}.token_counts.json"))


def load_token_counts(path: str | Path | None, backbone_name: str, hf_tokenizer: Any) -> tuple[dict[int, int], str]:
    """Corpus count per backbone token id from a JSON table ``{"counts": {token: n}}``, and its path."""
    path = Path(path).expanduser() if path else default_token_counts_path(backbone_name)
    if not path.is_file():
        raise ConfigError(
            f"frequency-ranked assignment needs token counts of backbone '{backbone_name}', but {path} does not exist; "
            "make one with `ssl-universal token-frequencies --backbone <backbone> --output counts.json` "
            "and set `model.token_counts=counts.json`"
        )
    counts = read_token_counts(path, "model.token_counts")
    vocab = hf_tokenizer.get_vocab()
    return {vocab[t]: int(n) for t, n in counts.items() if t in vocab}, str(path)


def read_token_counts(path: Path, key: str) -> dict[str, int]:
    """The ``{"counts": {token: n}}`` table at ``path`` (``key`` names the option that gave it, for errors)."""
    try:
        counts = json.loads(path.read_text())["counts"]
    except FileNotFoundError:
        raise ConfigError(f"{key}: {path} does not exist; give a JSON table {{\"counts\": {{token: n}}}}") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: expected JSON with a 'counts' object mapping token to count ({exc})") from None
    return counts


def candidate_token_ids(hf_tokenizer: Any) -> list[int]:
    """Text tokens a symbol may be assigned to: every id except specials and ``[unused*]`` slots."""
    special = set(hf_tokenizer.all_special_ids)
    return [i for i, tok in enumerate(hf_vocabulary(hf_tokenizer)) if i not in special and not _UNUSED.match(tok)]


def rank_by_count(ids: list[int], counts: Mapping[int, int]) -> list[int]:
    """``ids`` most frequent first; equal counts in increasing id order."""
    return sorted(ids, key=lambda i: (-counts.get(i, 0), i))


# -- assignment -------------------------------------------------------------------------------
def assign_symbols(
    assignment: str,
    tokenizer: Tokenizer,
    hf_tokenizer: Any,
    *,
    backbone_name: str = "",
    symbol_counts: Mapping[int, int] | None = None,
    token_counts: str | Path | None = None,
    seed: int = 0,
) -> SymbolMapping:
    """The symbol → backbone-token mapping of ``assignment`` for ``tokenizer.symbols``."""
    if assignment not in ASSIGNMENTS:  # configs are checked when they load; this guards direct callers
        raise ValueError(f"unknown assignment {assignment!r}; expected one of {', '.join(ASSIGNMENTS)}")
    symbols = list(tokenizer.symbols)
    token_ids: list[int | None] = [None] * len(symbols)
    counts_file = None
    if assignment == "none":
        _check_same_vocabulary(tokenizer, hf_tokenizer, backbone_name)
        token_ids = list(range(len(symbols)))
    elif assignment in ("random", "most_frequent", "least_frequent"):
        if hf_tokenizer is None:
            raise ConfigError(f"assignment {assignment!r} needs the backbone's tokenizer, but '{backbone_name}' ships none")
        own = hf_special_ids(hf_tokenizer)
        special_positions = _special_positions(tokenizer, own)
        ordinary = [i for i in range(len(symbols)) if i not in special_positions]
        candidates = candidate_token_ids(hf_tokenizer)
        if len(ordinary) > len(candidates):
            raise ConfigError(
                f"the task alphabet has {len(ordinary)} symbols but backbone '{backbone_name}' offers only "
                f"{len(candidates)} text tokens to assign; use assignment 'reinit' or a larger backbone"
            )
        if assignment == "random":
            generator = torch.Generator().manual_seed(seed)
            picks = [candidates[j] for j in torch.randperm(len(candidates), generator=generator)[: len(ordinary)].tolist()]
        else:
            by_token, counts_file = load_token_counts(token_counts, backbone_name, hf_tokenizer)
            ranked_tokens = rank_by_count(candidates, by_token)
            if assignment == "least_frequent":
                ranked_tokens = ranked_tokens[::-1]
            ordinary = rank_by_count(ordinary, symbol_counts or {})
            picks = ranked_tokens[: len(ordinary)]
        for position, token in special_positions.items():
            token_ids[position] = token
        for position, token in zip(ordinary, picks):
            token_ids[position] = token
    vocabulary = hf_vocabulary(hf_tokenizer) if hf_tokenizer is not None else []
    tokens = [vocabulary[t] if t is not None and t < len(vocabulary) else None for t in token_ids]
    uses_seed = assignment in ("random", "reinit", "scratch")
    return SymbolMapping(assignment, backbone_name, seed if uses_seed else None, counts_file, symbols, token_ids, tokens)


def _special_positions(tokenizer: Tokenizer, own: dict[str, int | None]) -> dict[int, int | None]:
    """Task id of each special symbol → the backbone's id for it (None: it has none, the row is new)."""
    positions = {}
    for symbol in Tokenizer.specials:
        try:
            task_id = getattr(tokenizer, f"{symbol.strip('<>')}_id")
        except (KeyError, AttributeError, ConfigError):
            continue  # this tokenizer has no such special symbol
        if task_id is not None:
            positions[int(task_id)] = own[symbol]
    return positions


def _check_same_vocabulary(tokenizer: Tokenizer, hf_tokenizer: Any, backbone_name: str) -> None:
    if hf_tokenizer is not None and list(tokenizer.symbols) == hf_vocabulary(hf_tokenizer):
        return
    raise ConfigError(
        f"assignment 'none' keeps the embeddings of backbone '{backbone_name}', so the task must use its "
        f"tokenizer (`tokenizer: backbone` with the same backbone); this task's tokenizer "
        f"{type(tokenizer).__name__} has {tokenizer.vocab_size} symbols of its own. Choose one of "
        f"{', '.join(a for a in ASSIGNMENTS if a != 'none')} instead"
    )


# -- building the model -----------------------------------------------------------------------
def init_std(config: Any) -> float:
    """Standard deviation of fresh weights, as the model's own ``_init_weights`` uses."""
    return float(getattr(config, "initializer_range", 0.02))


def build_input_embeddings(
    old: nn.Embedding, mapping: SymbolMapping, *, pad_id: int, std: float, generator: torch.Generator
) -> nn.Embedding:
    """An |S|-row embedding: row s copies old row ``mapping.token_ids[s]``, or is drawn from N(0, std²).

    New rows follow ``PreTrainedModel._init_weights`` (normal, padding row zero).
    """
    rows = mapping.rows()
    new = nn.Embedding(len(rows), old.embedding_dim, padding_idx=pad_id)
    new = new.to(device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        fresh = torch.empty(new.weight.shape, dtype=torch.float32).normal_(0.0, std, generator=generator)
        new.weight.copy_(fresh.to(new.weight.dtype))
        if rows[pad_id] < 0:
            new.weight[pad_id].zero_()
        kept = rows >= 0
        new.weight[kept] = old.weight[rows[kept]]
    return new


def apply_assignment(model: nn.Module, mapping: SymbolMapping, *, pad_id: int, seed: int) -> None:
    """Swap ``model``'s input (and, for an MLM, output) vocabulary for the task alphabet in place."""
    if mapping.assignment == "none":
        return
    generator = torch.Generator().manual_seed(seed)
    config = model.config
    old_in = model.get_input_embeddings()
    model.set_input_embeddings(build_input_embeddings(old_in, mapping, pad_id=pad_id, std=init_std(config), generator=generator))
    old_out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if isinstance(old_out, nn.Linear):
        rows = mapping.rows()
        new_out = nn.Linear(old_out.in_features, len(rows), bias=old_out.bias is not None)
        new_out = new_out.to(device=old_out.weight.device, dtype=old_out.weight.dtype)
        with torch.no_grad():
            new_out.weight.normal_(0.0, init_std(config), generator=generator)
            kept = rows >= 0
            new_out.weight[kept] = old_out.weight[rows[kept]]
            if new_out.bias is not None:
                new_out.bias.zero_()
                new_out.bias[kept] = old_out.bias[rows[kept]]
        model.set_output_embeddings(new_out)
    config.vocab_size = len(mapping.symbols)
    config.pad_token_id = pad_id
    if isinstance(old_out, nn.Linear) and getattr(config, "tie_word_embeddings", False):
        model.tie_weights()


def position_embeddings(model: nn.Module) -> tuple[nn.Module, str] | None:
    """(owner, attribute) of the learned absolute position table: BERT's ``embeddings.position_embeddings``
    or GPT-2's ``wpe``; None when the backbone has none of these."""
    base = model.base_model
    embeddings = getattr(base, "embeddings", None)
    if isinstance(getattr(embeddings, "position_embeddings", None), nn.Embedding):
        return embeddings, "position_embeddings"
    if isinstance(getattr(base, "wpe", None), nn.Embedding):
        return base, "wpe"
    return None


def resize_positions(model: nn.Module, max_positions: int, *, seed: int) -> None:
    """Keep the first ``max_positions`` position embeddings, drawing any extra rows fresh (BERT and GPT-2 layouts)."""
    found = position_embeddings(model)
    old = getattr(found[0], found[1]) if found else None
    if old is None or getattr(old, "padding_idx", None) is not None:
        raise ConfigError(f"model.max_positions: cannot resize positions of a {type(model.base_model).__name__}")
    if max_positions == old.num_embeddings:
        return
    owner, attribute = found
    # the extra rows come from their own generator and the layer is built around them, so growing the
    # positions leaves the global RNG stream (and so every later draw of the run) as it was
    generator = torch.Generator().manual_seed(seed + 1)
    weight = torch.empty(max_positions, old.embedding_dim).normal_(0.0, init_std(model.config), generator=generator)
    n = min(max_positions, old.num_embeddings)
    weight[:n] = old.weight.detach()[:n].to(weight.dtype)
    new = nn.Embedding(max_positions, old.embedding_dim, _weight=weight.to(device=old.weight.device, dtype=old.weight.dtype))
    setattr(owner, attribute, new)
    device = old.weight.device
    if attribute == "position_embeddings":
        if hasattr(owner, "position_ids"):
            owner.position_ids = torch.arange(max_positions, device=device).expand((1, -1))
        if hasattr(owner, "token_type_ids"):
            owner.token_type_ids = torch.zeros((1, max_positions), dtype=torch.long, device=device)
    model.config.max_position_embeddings = max_positions


def redraw_from_statistics(module: nn.Module, *, seed: int) -> None:
    """``statistics_only`` init: every tensor re-drawn from N(mean, std²) of that pre-trained tensor (FPT)."""
    generator = torch.Generator().manual_seed(seed + 2)
    with torch.no_grad():
        for _, param in module.named_parameters():  # tied tensors come once
            values = param.detach().float()
            mean = float(values.mean())
            std = float(values.std()) if values.numel() > 1 else 0.0
            draw = torch.empty(param.shape, dtype=torch.float32).normal_(mean, std, generator=generator)
            param.copy_(draw.to(param.dtype))


def transformer_blocks(encoder: nn.Module) -> nn.ModuleList:
    """The stack of transformer layers of a Hugging Face encoder (``encoder.layer`` for BERT)."""
    base = getattr(encoder, "base_model", encoder)
    n_layers = getattr(base.config, "num_hidden_layers", None)
    for name in ("encoder.layer", "encoder.layers", "layers", "h", "transformer.layer"):
        module: Any = base
        for part in name.split("."):
            module = getattr(module, part, None)
        if isinstance(module, nn.ModuleList):
            return module
    lists = [m for m in base.modules() if isinstance(m, nn.ModuleList) and len(m) == n_layers]
    if not lists:
        raise ConfigError(f"freeze_policy 'fpt': cannot find the transformer layers of a {type(base).__name__}")
    return lists[0]


def is_normalization(module: nn.Module) -> bool:
    """A LayerNorm-like module (``nn.LayerNorm``, ``T5LayerNorm``, ``LlamaRMSNorm`` ...), which FPT trains."""
    return isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)) or "norm" in type(module).__name__.lower()


def apply_freeze_policy(model: nn.Module, encoder: nn.Module, policy: str) -> list[str]:
    """Freeze parameters of ``model`` by ``policy``; returns the frozen parameter names.

    ``fpt`` (frozen pretrained transformer) freezes every parameter inside the transformer blocks
    except those of normalisation layers: the self-attention query/key/value/output projections and
    the feed-forward layers, whether they are ``nn.Linear`` (BERT: ``attention.self.query``,
    ``intermediate.dense``, ...) or ``Conv1D`` (GPT-2: ``attn.c_attn``, ``attn.c_proj``, ``mlp.c_fc``,
    ``mlp.c_proj``). Input and position (and token-type) embeddings, every LayerNorm (BERT's
    ``LayerNorm``, GPT-2's ``ln_1``/``ln_2``/``ln_f``) and the task head stay trainable, as in
    kzl/universal-computation's ``fpt.py``.

    ``embeddings`` freezes the word-embedding matrix only (positions, token types, LayerNorms, the body
    and the head train): the usual choice for zero-shot cross-lingual fine-tuning, where updating only
    the fine-tuning language's rows moves them away from the other languages' rows (Wu & Dredze 2019,
    "Beto, Bentz, Becas", freeze the embeddings for this reason). With a 250k-piece vocabulary it is also
    most of the fine-tuning cost on a CPU (the optimiser step over the matrix).
    """
    if policy not in FREEZE_POLICIES:  # configs are checked when they load; this guards direct callers
        raise ValueError(f"unknown freeze policy {policy!r}; expected one of {', '.join(FREEZE_POLICIES)}")
    if policy == "none":
        return []
    if policy == "embeddings":
        base = getattr(encoder, "base_model", encoder)
        embedding = base.get_input_embeddings() if hasattr(base, "get_input_embeddings") else None
        if embedding is None:
            raise ConfigError(f"freeze_policy 'embeddings': a {type(base).__name__} has no input embeddings")
        embedding.weight.requires_grad_(False)
        return [name for name, p in model.named_parameters() if p is embedding.weight]
    frozen_ids = set()
    for module in transformer_blocks(encoder).modules():
        if is_normalization(module):
            continue
        for param in module.parameters(recurse=False):
            param.requires_grad_(False)
            frozen_ids.add(id(param))
    return [name for name, p in model.named_parameters() if id(p) in frozen_ids]
