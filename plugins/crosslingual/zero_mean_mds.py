"""Zero-mean and MDS at test time on zero-shot POS (SCIENCE.md §1 "Where is the language?"; arXiv 2004.09205).

A POS tagger fine-tuned on the source language (English) is tested on other languages. At test time, after layer L
of its encoder, every position's hidden state of a test sentence of language t is moved (the core
:class:`ssl_universal.models.hidden_shift.HiddenShift`):

* **Original**: nothing added;
* **Zero-mean**: ``−μ_t`` (the test language's mean is removed);
* **MDS** (mean difference shift): ``μ_src − μ_t`` (the sentence is moved to where source-language sentences lie;
  zero for the source language itself);
* **random direction** (control): a random vector of the same length as MDS's (is it the language direction, or any
  push?).

The means ``μ`` are language means (:mod:`.language_means`, sentence pooling, every layer in one pass) of **the
fine-tuned tagger's own encoder**, over held-out text of each language: the first ``--mean-sentences`` lines of the
pre-training corpus' ``<lang>/valid.txt`` — documents of the ``valid`` split, while the POS test sentences come from
the ``test`` split (for English and Turkish alike, ``corpus.split_of``); the command counts test sentences found
inside the mean texts and prints that count. No label is used. Reference rows: most frequent tag per word (from the
source training file; unseen words get the overall most frequent tag) and the majority tag.

Example (three POS fine-tunings, one per pre-training seed, of ``crosslingual/pos`` on English):

    ssl-universal crosslingual-zero-mean-mds --runs POS0,POS1,POS2 --data OUT/data/pos --corpus OUT/corpus/multi \\
        --source en --targets tr --out runs/zero_mean_mds
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from ssl_universal.cli import keeps_log_level
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.models.hidden_shift import HiddenShift
from ssl_universal.outputs import Outputs, add_output_arguments, json_text

from . import language_means as lm

CONDITIONS = ("original", "zero-mean", "mds", "random")
LABELS = {"original": "Original", "zero-mean": "Zero-mean", "mds": "MDS", "random": "random direction (MDS length)"}


# -- data ------------------------------------------------------------------------------------------------------------
def read_tagged(path: Path) -> list[list[tuple[str, str]]]:
    """Sentences of a ``word<TAB>tag`` CoNLL file (blank line between sentences)."""
    if not path.is_file():
        raise DataError(f"{path}: not found (POS sets written by crosslingual-table are <lang>/train.conll, valid.conll, test.conll)")
    sentences, current = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        cells = line.split("\t")
        if len(cells) < 2:
            raise DataError(f"{path}:{number}: expected 'word<TAB>tag', found {line!r}")
        current.append((cells[0], cells[-1]))
    if current:
        sentences.append(current)
    if not sentences:
        raise DataError(f"{path}: no sentences")
    return sentences


def tag_baselines(train: Path, test: Path) -> dict[str, float]:
    """Accuracy % of the most frequent tag per word (seen in ``train``; others: the overall most frequent) and of the
    majority tag, on ``test``."""
    per_word: dict[str, Counter] = defaultdict(Counter)
    overall: Counter = Counter()
    for sentence in read_tagged(train):
        for word, tag in sentence:
            per_word[word][tag] += 1
            overall[tag] += 1
    top = overall.most_common(1)[0][0]
    pairs = [pair for sentence in read_tagged(test) for pair in sentence]
    mft = sum((per_word[w].most_common(1)[0][0] if w in per_word else top) == t for w, t in pairs)
    return {"most_frequent_tag_per_word": 100.0 * mft / len(pairs), "majority_tag": 100.0 * sum(t == top for _, t in pairs) / len(pairs),
            "unseen_words": 100.0 * sum(w not in per_word for w, _ in pairs) / len(pairs), "majority": top}


def mean_texts(corpus: Path, language: str, n: int) -> list[str]:
    path = corpus / language / "valid.txt"
    if not path.is_file():
        raise DataError(f"{path}: not found; the language means need held-out text of {language!r} "
                        "(the pre-training corpus written by crosslingual-table has <lang>/valid.txt)")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: no sentences")
    return lines[:n]


def overlap(test: Path, texts: list[str]) -> int:
    """How many test sentences (words joined by spaces, or without spaces) occur inside the mean texts."""
    joined = "\n".join(texts)
    found = 0
    for sentence in read_tagged(test):
        words = [w for w, _ in sentence]
        found += " ".join(words) in joined or "".join(words) in joined
    return found


# -- the tagger ------------------------------------------------------------------------------------------------------
def load_tagger(run_dir: Path, data_dir: Path):
    """The task (reading ``data_dir``) and model of a ``token_classification`` run, with its best weights."""
    from omegaconf import OmegaConf

    from ssl_universal.config import load_config
    from ssl_universal.engine.checkpoint import load_weights
    from ssl_universal.run import build, seed_everything

    weights = run_dir / "best" / "model.safetensors"
    if not (run_dir / "config.yaml").is_file() or not weights.is_file():
        raise DataError(f"{run_dir}: not a finished run folder (needs config.yaml and best/model.safetensors)")
    base = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=True)
    if base.get("task", {}).get("name") != "token_classification":
        raise ConfigError(f"{run_dir}: task {base.get('task', {}).get('name')!r}; zero-mean/MDS here scores a "
                          "token_classification (POS) run")
    base["preset"] = base["row"] = None  # the saved config already holds what they set (see matrix.evaluate_on)
    cfg = load_config([f"task.data_dir={data_dir}"], base=base)
    seed_everything(cfg.seed)
    task, model = build(cfg)
    model.load_state_dict(load_weights(weights))
    model.eval()
    return task, model


@torch.no_grad()
def tag_accuracy(task, model, examples: list[dict], layer: int, vector: np.ndarray | None, batch_size: int = 32) -> float:
    """Word accuracy % on ``examples`` (``task.load_split``) with ``vector`` added after ``layer`` of the encoder."""
    steps = []
    shift = HiddenShift(model.encoder, layer, None if vector is None else torch.as_tensor(vector, dtype=torch.float32))
    with shift:
        for start in range(0, len(examples), batch_size):
            steps.append(task.eval_step(model, task.collate(examples[start:start + batch_size])))
    return float(task.score(steps)["accuracy"])


def shift_vector(condition: str, means: dict[str, np.ndarray], source: str, language: str, layer: int,
                 seed: int = 0) -> np.ndarray | None:
    """The vector each condition adds after ``layer`` to sentences of ``language`` (None: nothing)."""
    if condition == "original":
        return None
    if condition == "zero-mean":
        return -means[language][layer]
    difference = means[source][layer] - means[language][layer]
    if condition == "mds":
        return difference
    if condition == "random":
        draw = np.random.default_rng(seed).standard_normal(difference.shape).astype(np.float32)
        return draw / np.linalg.norm(draw) * float(np.linalg.norm(difference))
    raise ConfigError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")


def score_run(run_dir: Path, data_root: Path, corpus: Path, *, source: str, targets: list[str], layers: list[int] | None,
              mean_sentences: int, seed: int = 0) -> dict:
    """Every (test language, layer, condition) accuracy of one fine-tuned run."""
    languages = [source, *[t for t in targets if t != source]]
    rows, means, mean_counts = [], {}, {}
    for language in languages:
        task, model = load_tagger(run_dir, data_root / language)
        if not means:
            texts = {lang: mean_texts(corpus, lang, mean_sentences) for lang in languages}
            tokenizer = getattr(task.tokenizer, "hf", None)
            if tokenizer is None:
                raise ConfigError(f"{run_dir}: the run's tokenizer is not a Hugging Face tokenizer (tokenizer: backbone)")
            for lang, lines in texts.items():
                means[lang] = lm.language_mean(lm.encode_layers(model.encoder, tokenizer, lines, max_length=task.cfg.max_length))
                mean_counts[lang] = {"sentences": len(lines),
                                     "test_sentences_inside": overlap(data_root / lang / "test.conll", lines)}
            blocks = means[source].shape[0] - 1
            layers = list(range(blocks + 1)) if layers is None else layers
            bad = [layer for layer in layers if not 0 <= layer <= blocks]
            if bad:
                raise ConfigError(f"--layers {bad[0]}: the encoder has layers 0 (embeddings) .. {blocks}")
        examples = task.load_split("test")
        original = tag_accuracy(task, model, examples, 0, None)
        for layer in layers:
            for condition in CONDITIONS:
                if condition == "original":
                    value = original
                elif language == source and condition in ("mds", "random"):
                    value = original  # μ_src − μ_src = 0: nothing moves
                else:
                    value = tag_accuracy(task, model, examples, layer, shift_vector(condition, means, source, language, layer, seed))
                rows.append({"language": language, "layer": layer, "condition": condition, "accuracy": value})
    return {"run": str(run_dir), "rows": rows, "means": mean_counts, "layers": layers,
            "mds_norm": {lang: [float(np.linalg.norm(means[source][layer] - means[lang][layer])) for layer in layers]
                         for lang in languages},
            "mean_norm": {lang: [float(np.linalg.norm(means[lang][layer])) for layer in layers] for lang in languages}}


# -- the table -------------------------------------------------------------------------------------------------------
def _shown(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) < 2:
        return f"{values[0]:.1f} (n=1)"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def table(results: dict) -> str:
    """Markdown: per layer, rows Original / Zero-mean / MDS / random control, columns the source (in-language), each
    target and the Average over targets; mean ± std over runs."""
    source, targets, parts = results["source"], results["targets"], results["runs"]
    layers = parts[0]["layers"]
    columns = [f"{source} (in-language)", *targets, "Average (zero-shot)"]
    first = parts[0]["means"]
    lines = [f"Zero-mean / MDS at test time: POS fine-tuned on {source}, {len(parts)} run(s) (mean ± std); "
             f"means of each run's own encoder over held-out valid text: "
             + ", ".join(f"{lang} {m['sentences']} sentences ({m['test_sentences_inside']} test sentences inside)"
                         for lang, m in first.items()), ""]
    base = results["baselines"]
    lines += ["| reference | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for key, title in (("most_frequent_tag_per_word", f"most frequent tag per word (from {source} train)"),
                       ("majority_tag", f"majority tag ({base[source]['majority']})"),
                       ("unseen_words", "test words unseen in training %")):
        values = [base[lang][key] for lang in [source, *targets]]
        average = statistics.mean(values[1:]) if targets else float("nan")
        lines.append(f"| {title} | " + " | ".join(f"{v:.1f}" for v in values) + f" | {average:.1f} |")
    for layer in layers:
        lines += ["", f"Shift after layer {layer} (0 = embedding output):", "",
                  "| | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
        for condition in CONDITIONS:
            cells = []
            for language in [source, *targets]:
                values = [r["accuracy"] for part in parts for r in part["rows"]
                          if (r["language"], r["layer"], r["condition"]) == (language, layer, condition)]
                cells.append(_shown(values))
            averages = [statistics.mean([r["accuracy"] for r in part["rows"] if r["language"] in targets
                                         and (r["layer"], r["condition"]) == (layer, condition)]) for part in parts]
            lines.append(f"| {LABELS[condition]} | " + " | ".join(cells) + f" | {_shown(averages)} |")
        norms = [f"{lang} {statistics.mean(p['mds_norm'][lang][layers.index(layer)] for p in parts):.2f} "
                 f"(|μ_{lang}| {statistics.mean(p['mean_norm'][lang][layers.index(layer)] for p in parts):.2f})"
                 for lang in targets]
        lines.append(f"\n|μ_{source} − μ_t| at layer {layer}: " + ", ".join(norms))
    return "\n".join(lines)


def run(runs: list[Path], data_root: Path, corpus: Path, *, source: str, targets: list[str], layers: list[int] | None,
        mean_sentences: int, seed: int = 0) -> dict:
    available = sorted(p.name for p in data_root.iterdir() if (p / "test.conll").is_file()) if data_root.is_dir() else []
    missing = [lang for lang in [source, *targets] if lang not in available]
    if missing:
        raise DataError(f"{data_root}: no POS test set for {', '.join(missing)} (found: {', '.join(available) or 'none'}; "
                        "expected <lang>/test.conll as crosslingual-table writes)")
    if not targets or source in targets:
        raise ConfigError(f"--targets must name zero-shot languages other than the source {source!r}; got {targets}")
    baselines = {lang: tag_baselines(data_root / source / "train.conll", data_root / lang / "test.conll")
                 for lang in [source, *targets]}
    parts = [score_run(r, data_root, corpus, source=source, targets=targets, layers=layers,
                       mean_sentences=mean_sentences, seed=seed) for r in runs]
    return {"source": source, "targets": targets, "data": str(data_root), "corpus": str(corpus),
            "baselines": baselines, "runs": parts}


def _languages(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


@keeps_log_level
def main(argv: list[str]) -> int:
    """Zero-mean and MDS (mean difference shift) at test time on a POS tagger fine-tuned on one language and tested on others."""
    p = argparse.ArgumentParser(prog="ssl-universal crosslingual-zero-mean-mds", description=main.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--runs", required=True, help="comma-separated run folders of crosslingual/pos fine-tuned on --source "
                                                  "(one per seed: every cell is the mean ± std over them)")
    p.add_argument("--data", required=True, type=Path, help="the POS root: <lang>/train.conll and test.conll")
    p.add_argument("--corpus", required=True, type=Path, help="held-out text for the means: <lang>/valid.txt")
    p.add_argument("--source", default="en", help="the fine-tuning language")
    p.add_argument("--targets", default="tr", help="comma-separated zero-shot test languages")
    p.add_argument("--layers", default=None, help="comma-separated layers to shift after (default: every layer, 0 = embeddings)")
    p.add_argument("--mean-sentences", type=int, default=300, help="valid.txt lines per language for its mean")
    p.add_argument("--seed", type=int, default=0, help="seed of the random-direction control")
    add_output_arguments(p)
    args = p.parse_args(argv)
    outputs = Outputs(args.out, ("results.json", "table.md"), overwrite=args.overwrite, command=p.prog)
    outputs.check()
    try:
        layers = [int(x) for x in args.layers.split(",") if x.strip()] if args.layers else None
    except ValueError:
        p.error(f"--layers: expected comma-separated integers, got {args.layers!r}")
    runs = [Path(r) for r in _languages(args.runs)]
    results = run(runs, args.data, args.corpus, source=args.source, targets=_languages(args.targets), layers=layers,
                  mean_sentences=args.mean_sentences, seed=args.seed)
    text = table(results)
    print(text)
    outputs.write({"results.json": json_text(results), "table.md": text + "\n"})
    return 0
