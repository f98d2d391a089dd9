"""Add a vector (one for all, or one per example, e.g. per language) to every position's hidden state after a chosen layer of any Hugging Face encoder.

The one mechanism behind SCIENCE.md §1's interventions on language means: the α-shift token
translation adds ``α·(μ_tgt − μ_src)`` after layer L and lets the remaining layers (and the MLM
head) run; zero-mean adds ``−μ_lang``; MDS adds ``μ_src − μ_tgt`` to target-language inputs.

Layers are counted as ``output_hidden_states`` counts them: layer 0 is the embedding output,
layer L the output of block L; a shift at layer L is what ``hidden_states[L]`` shows. It is a
forward hook on that module, so it works for every model whose blocks are found by
:func:`encoder_blocks` (BERT, RoBERTa/XLM-R, ELECTRA, DistilBERT, ...), with or without an MLM head.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError

# Where the transformer blocks and the embeddings live, per architecture family (first match wins).
_BLOCK_PATHS = ("encoder.layer", "transformer.layer", "encoder.layers", "layers", "h")
_EMBEDDING_PATHS = ("embeddings", "wte")


def _get(module: torch.nn.Module, path: str):
    for name in path.split("."):
        module = getattr(module, name, None)
        if module is None:
            return None
    return module


def _base(model: torch.nn.Module) -> torch.nn.Module:
    # A model with a head (BertForMaskedLM, XLMRobertaForMaskedLM) holds the encoder as base_model.
    return getattr(model, "base_model", model)


def encoder_blocks(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The list of transformer blocks of a Hugging Face model (with or without a head)."""
    for root in (_base(model), model):
        for path in _BLOCK_PATHS:
            blocks = _get(root, path)
            if isinstance(blocks, torch.nn.ModuleList) and len(blocks):
                return blocks
    raise ConfigError(
        f"{type(model).__name__}: found no transformer blocks at any of {', '.join(_BLOCK_PATHS)}; hidden shifts need one of these layouts"
    )


def layer_module(model: torch.nn.Module, layer: int) -> torch.nn.Module:
    """The module whose output is ``hidden_states[layer]``: the embeddings for 0, block ``layer`` otherwise."""
    blocks = encoder_blocks(model)
    if not 0 <= layer <= len(blocks):
        raise ConfigError(f"layer {layer} is out of range for {type(model).__name__}: 0 (embeddings) .. {len(blocks)}")
    if layer > 0:
        return blocks[layer - 1]
    for root in (_base(model), model):
        for path in _EMBEDDING_PATHS:
            embeddings = _get(root, path)
            if isinstance(embeddings, torch.nn.Module):
                return embeddings
    raise ConfigError(
        f"{type(model).__name__}: found no embedding module at {', '.join(_EMBEDDING_PATHS)} for a shift at layer 0"
    )


class HiddenShift:
    """Context manager: while active, ``vector`` is added to every position's hidden state output by ``layer``.

    ``vector`` is ``[hidden]`` (the same for every example) or ``[batch, hidden]`` (one per example,
    e.g. built with :func:`per_example`); :meth:`set` changes it between batches. Padding
    positions are shifted too; they are masked out as attention keys, so nothing else sees them.
    """

    def __init__(self, model: torch.nn.Module, layer: int, vector: torch.Tensor | None = None):
        self.model, self.layer = model, layer
        self.module = layer_module(model, layer)
        self.hidden_size = getattr(getattr(model, "config", None), "hidden_size", None)
        self.vector: torch.Tensor | None = None
        self._handle = None
        if vector is not None:
            self.set(vector)

    def set(self, vector: torch.Tensor) -> None:
        vector = torch.as_tensor(vector)
        if vector.dim() not in (1, 2) or (self.hidden_size is not None and vector.shape[-1] != self.hidden_size):
            raise ConfigError(
                f"shift vector of shape {tuple(vector.shape)}: expected [{self.hidden_size}] or [batch, {self.hidden_size}]"
            )
        self.vector = vector

    def _hook(self, module, inputs, output):
        if self.vector is None:
            return output
        hidden = output[0] if isinstance(output, tuple) else output
        vector = self.vector.to(hidden.dtype).to(hidden.device)
        if vector.dim() == 2:
            if vector.shape[0] != hidden.shape[0]:
                raise ConfigError(f"per-example shift for {vector.shape[0]} examples, but the batch holds {hidden.shape[0]}")
            vector = vector[:, None, :]
        shifted = hidden + vector
        return (shifted, *output[1:]) if isinstance(output, tuple) else shifted

    def __enter__(self) -> HiddenShift:
        if self._handle is not None:
            raise ConfigError("this HiddenShift is already active")
        # prepend: run before the hooks transformers uses to record hidden_states, so they record the shifted output
        self._handle = self.module.register_forward_hook(self._hook, prepend=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


def per_example(vectors: dict[str, torch.Tensor], keys: list[str]) -> torch.Tensor:
    """``[len(keys), hidden]``: the vector of each example's key (e.g. its language)."""
    missing = sorted(set(keys) - set(vectors))
    if missing:
        raise ConfigError(f"no shift vector for {missing} (have {sorted(vectors)})")
    return torch.stack([torch.as_tensor(vectors[key]) for key in keys])
