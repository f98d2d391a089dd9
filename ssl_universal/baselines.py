"""``ssl-universal baseline``: the hand-feature references of a sequence-classification or -regression recipe, on its own splits.

    ssl-universal baseline recipe=dna/splice task.data_dir=data/splice_statlog
    ssl-universal baseline recipe=protein/amp --k 3
    ssl-universal baseline recipe=music/composer --json baselines.json

A pre-trained model has shown something only once it beats what a linear model reads off simple features of the
same inputs. This verb builds the recipe's task and tokenizer exactly as ``train`` does (same overrides, same
files, same split), takes each example's symbol ids (``input_ids`` without the specials) and fits logistic
regression on

* ``majority``: the most frequent training label (chance, as the test set is distributed);
* ``k-mer counts``: counts of every run of 1..k symbols (a bag of k-mers; order beyond k is lost);
* ``positional one-hot``: the symbol at each position, for tasks whose inputs all have one length (a fixed
  window such as 60-nt splice windows: the motif *at* the junction is what matters there).

The inverse regularisation ``C`` of each is chosen on the recipe's validation split from a fixed grid and test is
scored once; the features are deterministic, so there is no seed spread. Scores are accuracy and macro-F1 (%).

A regression task (``task.regression``, e.g. protein stability and fluorescence, scored by Spearman's rho) gets the
same features through ridge regression instead, its ``alpha`` chosen by Spearman's rho on valid, and in place of the
majority class the training mean (a constant: rho undefined, shown as "— (constant)", and the MSE of always
answering the mean).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ConfigError, DataError

C_GRID = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


@dataclass
class BaselineScore:
    name: str
    valid_accuracy: float
    test_accuracy: float
    test_macro_f1: float
    C: float | None
    features: int


def symbol_rows(task, split: str, specials: set[int]) -> tuple[list[tuple[int, ...]], list]:
    """Each example of ``split`` as its symbol ids (specials left out) and its label."""
    examples = task.load_split(split)
    rows, labels = [], []
    for i, example in enumerate(examples):
        if "input_ids" not in example or "label" not in example:
            raise DataError(f"{split} example {i}: has {sorted(example)}; the baseline needs input_ids and label "
                            "(a sequence-classification task)")
        rows.append(tuple(int(t) for t in example["input_ids"] if int(t) not in specials))
        labels.append(example["label"])
    return rows, labels


def _kmer_text(ids: tuple[int, ...]) -> str:
    return " ".join(f"s{t}" for t in ids)


def fit_logistic(x: dict, y: dict, grid=C_GRID):
    """Logistic regression on ``x["train"]``, its ``C`` chosen by accuracy on ``x["valid"]``:
    ``(valid accuracy %, C, fitted model)``; test is left to the caller, scored once."""
    from sklearn.linear_model import LogisticRegression

    best = None
    for c in grid:
        model = LogisticRegression(C=c, max_iter=5000).fit(x["train"], y["train"])
        valid = 100.0 * model.score(x["valid"], y["valid"])
        if best is None or valid > best[0]:
            best = (valid, c, model)
    return best


def feature_sets(splits: dict[str, tuple[list, list]], k: int) -> list[tuple[str, dict]]:
    """The references' inputs, fitted on train: ``k``-mer counts, and the positional one-hot when every input of
    every split has one length; each as (name, {split: sparse matrix})."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import OneHotEncoder

    if k < 1:
        raise ConfigError(f"--k {k}: expected k >= 1")
    vec = CountVectorizer(token_pattern=r"\S+", lowercase=False, ngram_range=(1, k))
    vec.fit([_kmer_text(r) for r in splits["train"][0]])
    out = [(f"{k}-mer counts (1..{k})", {s: vec.transform([_kmer_text(r) for r in rows]) for s, (rows, _) in splits.items()})]
    if len({len(r) for rows, _ in splits.values() for r in rows}) == 1:
        encoder = OneHotEncoder(handle_unknown="ignore").fit(np.asarray(splits["train"][0]))
        out.append(("positional one-hot", {s: encoder.transform(np.asarray(rows)) for s, (rows, _) in splits.items()}))
    return out


def fit_baselines(splits: dict[str, tuple[list, list]], k: int = 3) -> list[BaselineScore]:
    """``splits``: {train|valid|test: (symbol-id tuples, labels)} → the scores of the three references."""
    import numpy as np
    from sklearn.metrics import f1_score

    y = {s: np.asarray(labels) for s, (_, labels) in splits.items()}
    majority = Counter(y["train"].tolist()).most_common(1)[0][0]
    scores = [BaselineScore("majority", 100.0 * float(np.mean(y["valid"] == majority)),
                            100.0 * float(np.mean(y["test"] == majority)),
                            100.0 * f1_score(y["test"], np.full(len(y["test"]), majority), average="macro", zero_division=0),
                            None, 0)]

    def fit(name: str, x: dict) -> None:
        valid, c, model = fit_logistic(x, y)
        predicted = model.predict(x["test"])
        scores.append(BaselineScore(name, valid, 100.0 * float(np.mean(predicted == y["test"])),
                                    100.0 * f1_score(y["test"], predicted, average="macro", zero_division=0), c,
                                    x["train"].shape[1]))

    for name, x in feature_sets(splits, k):
        fit(name, x)
    return scores


ALPHA_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)


@dataclass
class RegressionBaselineScore:
    name: str
    valid_spearman: float | None  # None: a constant prediction, whose rank correlation is undefined
    test_spearman: float | None
    test_mse: float
    alpha: float | None
    features: int


def _float_labels(labels: list, split: str):  # -> numpy array (numpy is imported lazily)
    import numpy as np

    for i, label in enumerate(labels):
        if isinstance(label, bool) or not isinstance(label, (int, float)):
            raise DataError(f"{split} example {i}: label {label!r} is not a number; a regression baseline needs numeric labels")
    values = np.asarray(labels, dtype=float)
    if not np.all(np.isfinite(values)):
        raise DataError(f"{split} example {int(np.flatnonzero(~np.isfinite(values))[0])}: label is not finite")
    return values


def fit_regression_baselines(splits: dict[str, tuple[list, list]], k: int = 3) -> list[RegressionBaselineScore]:
    """``splits`` as for :func:`fit_baselines`, with numeric labels → the training mean and ridge regression on
    k-mer counts (and on the positional one-hot when every input has one length), alpha chosen on valid by
    Spearman's rho; rho in [-1, 1] (the task's own ``spearman``), MSE in the labels' units squared."""
    import numpy as np
    from sklearn.linear_model import Ridge

    from .metrics import spearman

    y = {s: _float_labels(labels, s) for s, (_, labels) in splits.items()}
    mean = float(y["train"].mean())
    scores = [RegressionBaselineScore("training mean", None, None, float(np.mean((y["test"] - mean) ** 2)), None, 0)]

    def rho(gold, predicted) -> float:  # NaN (constant predictions) loses every comparison below
        return float(spearman(gold.tolist(), predicted.tolist()))

    def fit(name: str, x: dict) -> None:
        best = None
        for alpha in ALPHA_GRID:
            model = Ridge(alpha=alpha).fit(x["train"], y["train"])
            valid = rho(y["valid"], model.predict(x["valid"]))
            if best is None or (not math.isnan(valid) and (math.isnan(best[0]) or valid > best[0])):
                best = (valid, alpha, model)
        valid, alpha, model = best
        predicted = model.predict(x["test"])
        test = rho(y["test"], predicted)
        scores.append(RegressionBaselineScore(name, None if math.isnan(valid) else valid, None if math.isnan(test) else test,
                                              float(np.mean((y["test"] - predicted) ** 2)), alpha, x["train"].shape[1]))

    for name, x in feature_sets(splits, k):
        fit(name, x)
    return scores


def _rho_cell(value: float | None) -> str:
    return "— (constant)" if value is None else f"{value:.4f}"


def regression_markdown(scores: list[RegressionBaselineScore], title: str) -> str:
    lines = [f"**{title}**", "", "| reference | valid Spearman | test Spearman | test MSE | alpha | features |",
             "|---|---:|---:|---:|---:|---:|"]
    for s in scores:
        lines.append(f"| {s.name} | {_rho_cell(s.valid_spearman)} | {_rho_cell(s.test_spearman)} | {s.test_mse:.4g} | "
                     f"{'—' if s.alpha is None else f'{s.alpha:g}'} | {s.features} |")
    return "\n".join(lines) + "\n" + edge_note([(s.name, s.alpha) for s in scores], ALPHA_GRID, "alpha")


def edge_note(chosen: list[tuple[str, float | None]], grid: tuple[float, ...], name: str) -> str:
    """A line naming the references whose regularisation was chosen at an end of ``grid`` ('' when none was): the
    best value may lie beyond it, so the reference may be a little weaker than it could be."""
    at_edge = [f"{reference} ({name} = {value:g})" for reference, value in chosen if value in (grid[0], grid[-1])]
    if not at_edge:
        return ""
    return (f"\nNote: {', '.join(at_edge)} chose {name} at an end of its grid ({grid[0]:g} … {grid[-1]:g}); "
            "a value beyond it might score higher on valid.\n")


def markdown(scores: list[BaselineScore], title: str) -> str:
    lines = [f"**{title}**", "", "| reference | valid acc | test acc | test macro-F1 | C | features |", "|---|---:|---:|---:|---:|---:|"]
    for s in scores:
        lines.append(f"| {s.name} | {s.valid_accuracy:.2f} | {s.test_accuracy:.2f} | {s.test_macro_f1:.2f} | "
                     f"{'—' if s.C is None else f'{s.C:g}'} | {s.features} |")
    return "\n".join(lines) + "\n" + edge_note([(s.name, s.C) for s in scores], C_GRID, "C")


def main(argv: list[str] | None = None) -> int:
    """``ssl-universal baseline recipe=... [key=value ...] [--k K] [--json FILE]``."""
    parser = argparse.ArgumentParser(prog="ssl-universal baseline", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("overrides", nargs="+", help="recipe=... and key=value, as for train")
    parser.add_argument("--k", type=int, default=3, help="longest k-mer counted (default 3)")
    parser.add_argument("--json", type=Path, default=None, help="also write the scores here (an existing file: see --overwrite)")
    parser.add_argument("--overwrite", action="store_true", help="replace the --json file of an earlier call")
    args = parser.parse_args(argv)
    from .outputs import Outputs, json_text

    outputs = Outputs(args.json.parent if args.json else None, (args.json.name,) if args.json else (),
                      overwrite=args.overwrite, command=parser.prog, flag="--json")
    from .config import load_config, section_config
    from .registry import TASKS, TOKENIZERS

    try:
        outputs.check()
        cfg = load_config(args.overrides)
        tokenizer = TOKENIZERS.get(cfg.tokenizer.name).obj(section_config(cfg, "tokenizer")) if cfg.tokenizer else None
        task = TASKS.get(cfg.task.name).obj(section_config(cfg, "task"), tokenizer)
        if tokenizer is None or not hasattr(tokenizer, "special_ids"):
            raise ConfigError(f"task {cfg.task.name!r} has no symbol tokenizer; the baseline reads symbol sequences")
        specials = set(tokenizer.special_ids) - {tokenizer.unk_id}  # <unk> is a symbol the models see too
        splits = {s: symbol_rows(task, s, specials) for s in ("train", "valid", "test")}
        regression = bool(getattr(task, "regression", False))
        scores = (fit_regression_baselines if regression else fit_baselines)(splits, args.k)
    except (ConfigError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sizes = ", ".join(f"{s} {len(rows)}" for s, (rows, _) in splits.items())
    print((regression_markdown if regression else markdown)(
        scores, f"hand-feature references of {cfg.recipe or cfg.task.name} ({sizes})"))
    if args.json:
        outputs.write({args.json.name: json_text([asdict(s) for s in scores])})
    return 0
