"""Language means of any Hugging Face encoder: per-layer pooled sentence vectors, their language means, distances and language identification by nearest mean.

SCIENCE.md §1 "Where is the language?" (arXiv 2004.09205 / 2010.10041). One forward pass per
sentence gives every layer at once (``output_hidden_states``; index 0 is the embedding output).

Pooling, stated once: a sentence's vector at a layer is the mean of the hidden vectors of all its
non-padding positions, ``<s>``/``[CLS]`` and ``</s>``/``[SEP]`` (and any prompt prefix) included;
a language mean is the average of its sentences' vectors — what the reference code of 2010.10041
does. :func:`encode_layers` also keeps each sentence's token count, so the other definition (the
mean over all positions of all sentences, long sentences weighing more) is
:func:`language_mean` with ``pooling="token"``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ssl_universal.data.cache import cache_root
from ssl_universal.errors import ConfigError

POOLINGS = ("sentence", "token")


@dataclass
class LayerVectors:
    """Per-layer mean-pooled vectors of sentences: ``vectors[layer, sentence, hidden]`` and each sentence's position count."""

    vectors: np.ndarray  # float32 [layers + 1, n, hidden]; layer 0 = embedding output
    lengths: np.ndarray  # int64 [n]: non-padding positions of each sentence

    def __len__(self) -> int:
        return self.vectors.shape[1]

    def subset(self, index) -> LayerVectors:
        return LayerVectors(self.vectors[:, index], self.lengths[index])


@torch.no_grad()
def encode_layers(
    model, tokenizer, texts: list[str], *, prefix: str = "", batch_size: int = 32, max_length: int = 128
) -> LayerVectors:
    """Mean-pooled vectors of ``prefix + text`` at every layer. Sentences are batched by length (less padding) and returned in input order."""
    if not texts:
        raise ConfigError("encode_layers: no sentences to encode")
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors: np.ndarray | None = None
    lengths = np.zeros(len(texts), dtype=np.int64)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        batch = tokenizer(
            [prefix + texts[i] for i in chunk], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        mask = batch["attention_mask"]
        out = model(input_ids=batch["input_ids"], attention_mask=mask, output_hidden_states=True)
        weights = mask.unsqueeze(-1).to(torch.float32)
        counts = weights.sum(1)  # [b, 1]
        pooled = torch.stack([(hidden.float() * weights).sum(1) / counts for hidden in out.hidden_states])  # [L+1, b, H]
        if vectors is None:
            vectors = np.zeros((pooled.shape[0], len(texts), pooled.shape[2]), dtype=np.float32)
        vectors[:, chunk] = pooled.numpy()
        lengths[chunk] = counts.squeeze(-1).long().numpy()
    return LayerVectors(vectors, lengths)


def cached_encode_layers(
    model,
    tokenizer,
    texts: list[str],
    *,
    model_id: str,
    prefix: str = "",
    max_length: int = 128,
    batch_size: int = 32,
    cache_dir: str | os.PathLike | None = None,
) -> LayerVectors:
    """:func:`encode_layers`, stored as ``.npz`` keyed by the model id, prefix, length limit and the texts themselves."""
    digest = hashlib.sha256(json.dumps([model_id, prefix, max_length, texts], ensure_ascii=False).encode()).hexdigest()[:20]
    path = Path(cache_dir or cache_root("crosslingual", "layer_vectors")) / f"{digest}.npz"
    if path.is_file():
        stored = np.load(path)
        if stored["vectors"].shape[1] == len(texts):
            return LayerVectors(stored["vectors"], stored["lengths"])
    result = encode_layers(model, tokenizer, texts, prefix=prefix, batch_size=batch_size, max_length=max_length)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez(partial, vectors=result.vectors, lengths=result.lengths)
    partial.replace(path)
    return result


def language_mean(layer_vectors: LayerVectors, pooling: str = "sentence") -> np.ndarray:
    """[layers + 1, hidden] mean of a language: of its sentence vectors (``sentence``), or of all its positions (``token``)."""
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if pooling == "sentence":
        return layer_vectors.vectors.mean(axis=1)
    weights = layer_vectors.lengths.astype(np.float64)
    return (np.einsum("lnh,n->lh", layer_vectors.vectors.astype(np.float64), weights) / weights.sum()).astype(np.float32)


def mean_distances(means: dict[str, np.ndarray]) -> np.ndarray:
    """[layers + 1, k, k] Euclidean distances between the language means (languages in ``means``' order)."""
    stacked = np.stack(list(means.values()), axis=1)  # [L+1, k, H]
    return np.linalg.norm(stacked[:, :, None, :] - stacked[:, None, :, :], axis=-1)


def within_spread(layer_vectors: dict[str, LayerVectors], means: dict[str, np.ndarray]) -> np.ndarray:
    """[layers + 1] average distance of a sentence vector to its own language's mean (the scale the distances compare to)."""
    spreads = [np.linalg.norm(layer_vectors[lang].vectors - means[lang][:, None, :], axis=-1).mean(axis=1) for lang in means]
    return np.mean(spreads, axis=0)


def nearest_mean_accuracy(means: dict[str, np.ndarray], test: dict[str, LayerVectors]) -> np.ndarray:
    """[layers + 1] share of test sentences whose nearest language mean (Euclidean) is their own language's."""
    languages = list(means)
    stacked = np.stack([means[lang] for lang in languages], axis=1)  # [L+1, k, H]
    correct = np.zeros(stacked.shape[0])
    total = 0
    for gold, vectors in test.items():
        if gold not in means:
            raise ConfigError(f"nearest_mean_accuracy: test language {gold!r} has no mean (means: {languages})")
        distances = np.linalg.norm(vectors.vectors[:, :, None, :] - stacked[:, None, :, :], axis=-1)  # [L+1, n, k]
        correct += (distances.argmin(-1) == languages.index(gold)).sum(axis=1)
        total += len(vectors)
    return correct / max(total, 1)


def plot_over_layers(
    path: str | os.PathLike,
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    ylabel: str,
    title: str,
    reference: tuple[str, float] | None = None,
) -> Path:
    """A PNG of ``name → (mean, std)`` curves over layers (0 = embeddings), with an optional horizontal reference line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.6), dpi=120)
    for name, (mean, std) in curves.items():
        layers = np.arange(len(mean))
        axis.plot(layers, mean, marker="o", markersize=3, label=name)
        axis.fill_between(layers, mean - std, mean + std, alpha=0.2)
    if reference is not None:
        axis.axhline(reference[1], color="grey", linestyle="--", linewidth=1, label=reference[0])
    axis.set_xlabel("layer (0 = embedding output)")
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
