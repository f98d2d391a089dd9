"""α-shift token translation (SCIENCE.md §1; the language-mean experiments of Liangtaiwan/lang-rep).

A masked LM reads a sentence of language src (English, or its translation for the reverse direction); after
layer L every position's hidden state is moved by ``α·(μ_tgt − μ_src)``, the difference of two language means (:mod:`.language_means`), and the remaining
layers and the MLM head run as usual (:class:`ssl_universal.models.hidden_shift.HiddenShift`). If the
mean difference carries "which language", the head's arg-max pieces turn into target-language pieces:

* **convert rate**: the share of output pieces that belong to the target language. A piece belongs to the
  language in whose training text its relative frequency is highest (``piece_languages``); pieces that
  occur in no language's text have none and are not counted.
* **BLEU-1**: sacrebleu's BLEU with unigrams only of the decoded output against the reference translation
  (Chinese with sacrebleu's ``zh`` tokenisation), on gettext message pairs (:mod:`.parallel`).

References in every table: ``α = 0`` (the model rebuilding its input: what "no shift" gives), and a
**random direction** of the same length as ``α·(μ_tgt − μ_en)`` (is it the language direction, or any push?).
Test sentences are drawn per seed; the means come from the corpus' ``valid`` text of each language.

Example (three pre-training seeds of ``crosslingual/pretrain``, on the corpus they were trained on):

    ssl-universal crosslingual-token-translation --backbone PRE0/best/hf,PRE1/best/hf,PRE2/best/hf \\
        --corpus CORPUS/multi --targets zh,de,es --alphas 0,1,2,3 --sentences 200 --out runs/token_translation
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ssl_universal.cli import keeps_log_level
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.models.hidden_shift import HiddenShift
from ssl_universal.outputs import Outputs, add_output_arguments, json_text

from . import language_means as lm
from . import parallel

# Corpus language → its gettext catalog language (pairs are English ↔ that language, both directions).
CATALOG = {"zh": "zh_CN", "de": "de", "es": "es", "tr": "tr"}


@dataclass
class Means:
    """Language means ``[layers + 1, hidden]`` per corpus language, and how many sentences made each."""

    by_language: dict[str, np.ndarray]
    sentences: dict[str, int]


def read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: not found (a corpus written by crosslingual-table has <lang>/train.txt, valid.txt, test.txt)")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: no sentences")
    return lines


def piece_languages(tokenizer, corpus: Path, languages: list[str]) -> dict[int, str]:
    """Piece id → the language whose training text uses it most, relative to that text's size (ties: none)."""
    shares: dict[str, dict[int, float]] = {}
    for language in languages:
        counts = Counter(i for line in read_lines(corpus / language / "train.txt")
                         for i in tokenizer(line, add_special_tokens=False)["input_ids"])
        total = sum(counts.values())
        shares[language] = {i: c / total for i, c in counts.items()}
    owner = {}
    for piece in set().union(*(s.keys() for s in shares.values())):
        ranked = sorted(((s.get(piece, 0.0), lang) for lang, s in shares.items()), reverse=True)
        if len(ranked) == 1 or ranked[0][0] > ranked[1][0]:
            owner[piece] = ranked[0][1]
    return owner


def language_means(model, tokenizer, corpus: Path, languages: list[str], n: int) -> Means:
    by_language, sentences = {}, {}
    for language in languages:
        lines = read_lines(corpus / language / "valid.txt")[:n]
        by_language[language] = lm.language_mean(lm.encode_layers(model, tokenizer, lines, max_length=128))
        sentences[language] = len(lines)
    return Means(by_language, sentences)


@torch.no_grad()
def shifted_predictions(model, tokenizer, texts: list[str], layer: int, vector: np.ndarray | None,
                        *, batch_size: int = 32, max_length: int = 128) -> list[list[int]]:
    """Arg-max pieces of the MLM head at every non-special position of each text, with ``vector`` added after ``layer``."""
    model.eval()
    special = set(tokenizer.all_special_ids)
    out: list[list[int]] = []
    shift = HiddenShift(model, layer, torch.as_tensor(vector, dtype=torch.float32) if vector is not None else None)
    with shift:
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt")
            predicted = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.argmax(-1)
            for ids, mask, guess in zip(batch["input_ids"], batch["attention_mask"], predicted):
                keep = [int(g) for i, m, g in zip(ids.tolist(), mask.tolist(), guess) if m and i not in special]
                out.append(keep)
    return out


def convert_rate(predictions: list[list[int]], owner: dict[int, str], target: str) -> float:
    """% of predicted pieces with a language that belong to ``target``."""
    owned = [owner[p] for sentence in predictions for p in sentence if p in owner]
    return 100.0 * sum(lang == target for lang in owned) / len(owned) if owned else 0.0


def bleu1(hypotheses: list[str], references: list[str], target: str) -> float:
    from sacrebleu.metrics import BLEU

    metric = BLEU(max_ngram_order=1, tokenize="zh" if target == "zh" else "13a", effective_order=True)
    return float(metric.corpus_score(hypotheses, [references]).score)


def random_direction(like: np.ndarray, seed: int) -> np.ndarray:
    """A random unit direction scaled to the norm of ``like``."""
    draw = np.random.default_rng(seed).standard_normal(like.shape).astype(np.float32)
    return draw / np.linalg.norm(draw) * float(np.linalg.norm(like))


def gettext_sample(target: str, n: int, seed: int, locale_dir: str) -> tuple[list[str], list[str]]:
    pairs = parallel.gettext_pairs(CATALOG[target], locale_dir=locale_dir).pairs
    if len(pairs) < n:
        raise ConfigError(f"only {len(pairs)} English→{CATALOG[target]} message pairs under {locale_dir}; ask for --sentences {len(pairs)} or fewer")
    chosen = random.Random(f"{seed}-{target}").sample(pairs, n)
    return [p.source for p in chosen], [p.target for p in chosen]


def run(backbone: str, corpus: Path, *, targets: list[str], layers: list[int], alphas: list[float], sentences: int,
        mean_sentences: int, seeds: list[int], locale_dir: str = parallel.DEFAULT_LOCALE_DIR, batch_size: int = 32) -> dict:
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(backbone)
    model = AutoModelForMaskedLM.from_pretrained(backbone)
    blocks = int(model.config.num_hidden_layers)
    bad = [layer for layer in layers if not 0 <= layer <= blocks]
    if bad:
        raise ConfigError(f"--layers {bad[0]}: the model has layers 0 (embeddings) .. {blocks}")
    languages = ["en", *targets]
    means = language_means(model, tokenizer, corpus, languages, mean_sentences)
    owner = piece_languages(tokenizer, corpus, languages)
    rows = []
    for other in targets:
        for seed in seeds:
            english, translated = gettext_sample(other, sentences, seed, locale_dir)
            for source, target, texts, references in (("en", other, english, translated), (other, "en", translated, english)):
                source_bleu = bleu1(texts, references, target)  # the untranslated input against the reference
                unshifted = None  # α = 0 is the same at every layer: computed once
                for layer in layers:
                    direction = means.by_language[target][layer] - means.by_language[source][layer]
                    for alpha in alphas:
                        for control in (("shift", "random") if alpha else ("shift",)):
                            vector = alpha * direction if control == "shift" else random_direction(alpha * direction, seed)
                            if alpha:
                                predicted = shifted_predictions(model, tokenizer, texts, layer, vector, batch_size=batch_size)
                            else:
                                if unshifted is None:
                                    unshifted = shifted_predictions(model, tokenizer, texts, layer, None, batch_size=batch_size)
                                predicted = unshifted
                            decoded = [tokenizer.decode(p) for p in predicted]
                            rows.append({"pair": f"{source}→{target}", "source": source, "target": target, "seed": seed,
                                         "layer": layer, "alpha": alpha, "direction": control,
                                         "convert_rate": convert_rate(predicted, owner, target),
                                         "bleu1": bleu1(decoded, references, target), "source_bleu1": source_bleu,
                                         "example": {"input": texts[0], "output": decoded[0], "reference": references[0]}})
    return {"backbone": backbone, "corpus": str(corpus), "sentences": sentences, "mean_sentences": means.sentences,
            "seeds": seeds, "layers": layers, "alphas": alphas, "pieces_with_a_language": len(owner), "rows": rows}


def _shown(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.1f} (n=1)"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def _pick(results: dict, pair: str, layer: int, alpha: float, direction: str, field: str) -> list[float]:
    return [r[field] for r in results["rows"]
            if (r["pair"], r["layer"], r["alpha"], r["direction"]) == (pair, layer, alpha, direction)]


def table(results: dict) -> str:
    """Markdown: the seed's table (rows convert rate and BLEU-1 per α, columns language pairs) at the last layer
    shifted, then every layer with the random-direction control, then one example."""
    rows = results["rows"]
    pairs = list(dict.fromkeys(r["pair"] for r in rows))
    last = max(results["layers"])
    alphas = results["alphas"]
    models = results.get("models", 1)
    head = (f"α-shift token translation: {results['backbone']}; {results['sentences']} gettext sentences per seed and "
            f"pair, test-draw seeds {results['seeds']} × {models} model(s) (mean ± std); means from "
            f"{results['mean_sentences']} valid sentences per language")
    lines = [head, "", f"Shift after layer {last}:", "", "| | " + " | ".join(pairs) + " |", "|---|" + "---:|" * len(pairs)]
    for field, title in (("convert_rate", "convert rate %"), ("bleu1", "BLEU-1")):
        for alpha in alphas:
            cells = [_shown(_pick(results, pair, last, alpha, "shift", field)) for pair in pairs]
            lines.append(f"| {title}, α = {alpha:g} | " + " | ".join(cells) + " |")
        if field == "bleu1":
            cells = [_shown(_pick(results, pair, last, alphas[0], "shift", "source_bleu1")) for pair in pairs]
            lines.append("| BLEU-1 of the unshifted input itself | " + " | ".join(cells) + " |")
    lines += ["", "Every layer, with a random direction of the same length as the control:", "",
              "| pair | layer | α | convert rate % (shift) | convert rate % (random direction) | BLEU-1 (shift) | BLEU-1 (random) |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for pair in pairs:
        for layer in results["layers"]:
            for alpha in alphas:
                shift_rate, random_rate = (_pick(results, pair, layer, alpha, d, "convert_rate") for d in ("shift", "random"))
                shift_bleu, random_bleu = (_pick(results, pair, layer, alpha, d, "bleu1") for d in ("shift", "random"))
                lines.append(f"| {pair} | {layer} | {alpha:g} | {_shown(shift_rate)} | {_shown(random_rate) if random_rate else '–'} | "
                             f"{_shown(shift_bleu)} | {_shown(random_bleu) if random_bleu else '–'} |")
    example = next((r for r in rows if r["pair"] == "en→zh" and r["layer"] == last and r["direction"] == "shift"
                    and r["alpha"] == max(alphas)), rows[0])
    lines += ["", f"Example ({example['pair']}, layer {example['layer']}, α = {example['alpha']:g}, seed {example['seed']}):",
              f"input: {example['example']['input']}", f"output: {example['example']['output']}",
              f"reference: {example['example']['reference']}"]
    return "\n".join(lines)


def _numbers(text: str, kind) -> list:
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"expected a comma-separated list of {kind.__name__}s, got {text!r}") from None


@keeps_log_level
def main(argv: list[str]) -> int:
    """Shift an MLM's hidden states by α·(μ_tgt − μ_src) and measure how many output pieces turn into the target language."""
    p = argparse.ArgumentParser(prog="ssl-universal crosslingual-token-translation", description=main.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--backbone", required=True,
                   help="a masked LM with its head, e.g. RUN/best/hf of crosslingual/pretrain; comma-separated for several "
                        "pre-training seeds (every cell is then the mean ± std over models × --seeds)")
    p.add_argument("--corpus", required=True, type=Path, help="the corpus it was trained on: <lang>/train.txt and valid.txt")
    p.add_argument("--targets", default="zh,de,es", help=f"comma-separated languages paired with English, both directions: {','.join(CATALOG)}")
    p.add_argument("--layers", default=None, help="comma-separated layers to shift after (default: every block)")
    p.add_argument("--alphas", default="0,1,2,3")
    p.add_argument("--sentences", type=int, default=200, help="gettext test sentences per seed and target")
    p.add_argument("--mean-sentences", type=int, default=300, help="valid sentences per language for its mean")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds of the test-sentence draw")
    p.add_argument("--locale-dir", default=parallel.DEFAULT_LOCALE_DIR)
    add_output_arguments(p)
    args = p.parse_args(argv)
    outputs = Outputs(args.out, ("results.json", "table.md"), overwrite=args.overwrite, command=p.prog)
    outputs.check()
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in targets if t not in CATALOG]
    if unknown or not targets:
        p.error(f"--targets: {', '.join(unknown) or 'nothing given'}; expected some of {', '.join(CATALOG)}")
    from transformers import AutoConfig

    backbones = [b.strip() for b in args.backbone.split(",") if b.strip()]
    blocks = int(AutoConfig.from_pretrained(backbones[0]).num_hidden_layers)
    layers = _numbers(args.layers, int) if args.layers else list(range(1, blocks + 1))
    parts = [run(backbone, args.corpus, targets=targets, layers=layers, alphas=_numbers(args.alphas, float),
                 sentences=args.sentences, mean_sentences=args.mean_sentences, seeds=_numbers(args.seeds, int),
                 locale_dir=args.locale_dir) for backbone in backbones]
    results = {**parts[0], "backbone": ", ".join(backbones), "models": len(backbones),
               "rows": [dict(row, model=i) for i, part in enumerate(parts) for row in part["rows"]]}
    text = table(results)
    print(text)
    outputs.write({"results.json": json_text(results), "table.md": text + "\n"})
    return 0
