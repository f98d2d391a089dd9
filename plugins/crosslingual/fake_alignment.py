"""Has an English + Fake-English pre-training aligned its two vocabularies? Sentence retrieval between the two.

Every English sentence has an exact Fake-English translation (:func:`fake.to_fake`), so the two halves of a
Fake-English pre-training are a parallel set for free. Each sentence and its translation are mean-pooled at every
layer of the backbone, and retrieval recall@1 (cosine, both directions, :mod:`centering`) says whether the model maps
a sentence and its translation near each other. Chance is 1 / n. The reference is the same architecture with random
weights (``random_init_seeds``): position embeddings and the shared special tokens alone retrieve a little.

    python -m ssl_universal_plugins.crosslingual.fake_alignment --texts CORPUS/en/test.txt --max 500 \
        --backbone OUT/pretrain/enfake/seed0/best/hf --backbone OUT/pretrain/en/seed0/best/hf --random-init 0,1,2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ssl_universal.errors import ConfigError, DataError

from . import language_means as lm
from .centering import cosine_matrix, recall_at_k
from .fake import to_fake


def read_sentences(path: str | Path, limit: int | None = None) -> list[str]:
    """Non-blank lines of ``path`` (the first ``limit``); an empty file is an error naming it."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: no sentence (expected one English sentence or document per line)")
    return lines[:limit] if limit else lines


def retrieval_by_layer(model, tokenizer, sentences: list[str]) -> list[dict[str, float]]:
    """Per layer (0 = embeddings): recall@1 % of English → Fake-English and back, over ``sentences``."""
    import torch

    if len(sentences) < 2:
        raise ConfigError(f"fake_alignment: retrieval needs at least 2 sentences, got {len(sentences)}")
    with torch.no_grad():
        english = lm.encode_layers(model, tokenizer, sentences).vectors
        fake = lm.encode_layers(model, tokenizer, [to_fake(s) for s in sentences]).vectors
    rows = []
    for layer in range(english.shape[0]):
        similarity = cosine_matrix(english[layer], fake[layer])
        rows.append({"en_to_fake": 100 * recall_at_k(similarity), "fake_to_en": 100 * recall_at_k(similarity.T)})
    return rows


def load_encoder(backbone: str | Path, random_init_seed: int | None = None):
    """``(encoder, tokenizer)`` of a Hugging Face BERT folder; with a seed, the same architecture with random weights."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from ssl_universal.models.backbone import quiet_transformers

    with quiet_transformers():  # the MLM head is not needed here; no load report for it
        tokenizer = AutoTokenizer.from_pretrained(str(backbone))
        if random_init_seed is None:
            model = AutoModel.from_pretrained(str(backbone), add_pooling_layer=False)
        else:
            torch.manual_seed(random_init_seed)
            model = AutoModel.from_config(AutoConfig.from_pretrained(str(backbone)), add_pooling_layer=False)
    return model.eval(), tokenizer


def _mean_std(runs: list[list[dict[str, float]]], key: str) -> list[tuple[float, float]]:
    values = np.array([[layer[key] for layer in run] for run in runs])
    std = values.std(0, ddof=1) if len(runs) > 1 else np.zeros(values.shape[1])
    return list(zip(values.mean(0).tolist(), std.tolist()))


def table(results: dict[str, list[list[dict[str, float]]]], n: int) -> str:
    """Markdown: rows = backbones (mean ± std over their runs), columns = layers, cells en→fake / fake→en."""
    layers = max(len(runs[0]) for runs in results.values())
    head = "| backbone (runs) | " + " | ".join(f"layer {i}" for i in range(layers)) + " |"
    lines = [f"**en ↔ Fake-English sentence retrieval, recall@1 % (en→fake / fake→en; {n} sentences, chance "
             f"{100 / n:.1f})**", "", head, "|---|" + "---|" * layers]
    for name, runs in results.items():
        forward, backward = _mean_std(runs, "en_to_fake"), _mean_std(runs, "fake_to_en")
        cells = [f"{f[0]:.1f} ± {f[1]:.1f} / {b[0]:.1f} ± {b[1]:.1f}" for f, b in zip(forward, backward)]
        lines.append(f"| {name} ({len(runs)}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ssl_universal_plugins.crosslingual.fake_alignment",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", required=True, help="English sentences, one per line (e.g. a corpus' en/test.txt)")
    parser.add_argument("--max", type=int, default=500, help="the first N sentences")
    parser.add_argument("--backbone", action="append", required=True,
                        help="a Hugging Face folder; repeat it; folders that differ only in their seed are one row")
    parser.add_argument("--random-init", default="", help="seeds of the random-weight reference (first backbone's shape)")
    parser.add_argument("--json", type=Path, default=None, help="also write every run's numbers here (must not exist)")
    args = parser.parse_args(argv)
    if args.json is not None and args.json.exists():
        raise ConfigError(f"{args.json} exists; results are never overwritten")
    sentences = read_sentences(args.texts, args.max)
    results: dict[str, list] = {}
    for backbone in args.backbone:
        path = Path(backbone)
        name = "/".join(p for p in path.parts[-4:] if not p.startswith("seed"))
        model, tokenizer = load_encoder(path)
        results.setdefault(name, []).append(retrieval_by_layer(model, tokenizer, sentences))
    for seed in [int(s) for s in args.random_init.split(",") if s.strip()]:
        model, tokenizer = load_encoder(args.backbone[0], random_init_seed=seed)
        results.setdefault("random weights, same shape", []).append(retrieval_by_layer(model, tokenizer, sentences))
    print(table(results, len(sentences)))
    if args.json is not None:
        args.json.write_text(json.dumps({"sentences": len(sentences), "runs": results}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
