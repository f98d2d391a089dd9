"""Scores over labels and real values: accuracy, F1, multiple choice, accuracy@k, Spearman ρ, MSE."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from typing import Any

import numpy as np

# Distinct classes a classifier predicted on a split: 1 means it collapsed onto one class (often
# the majority), which `ssl-universal report` flags; a diagnostic, not a score.
PREDICTED_CLASSES = "predicted_classes"

def _check_pairs(golds: Sequence, predictions: Sequence, name: str) -> None:
    # Every metric here compares position by position; a length mismatch is always a caller bug.
    if len(golds) != len(predictions):
        raise ValueError(
            f"{name}: {len(golds)} gold labels but {len(predictions)} predictions; pass one prediction per gold example"
        )
    if len(golds) == 0:
        raise ValueError(f"{name}: no examples to score (both inputs are empty)")


def accuracy(golds: Sequence[Hashable], predictions: Sequence[Hashable]) -> float:
    """Share of predictions equal to the gold label, in percent."""
    _check_pairs(golds, predictions, "accuracy")
    return 100.0 * sum(g == p for g, p in zip(golds, predictions)) / len(golds)


def macro_f1(golds: Sequence[Hashable], predictions: Sequence[Hashable], labels: Sequence | None = None) -> float:
    """Unweighted mean of per-class F1 (scikit-learn), in percent.

    ``labels`` fixes the classes averaged over; by default every class seen in gold or
    predictions counts (a class never predicted and never gold adds nothing).
    """
    from sklearn.metrics import f1_score

    _check_pairs(golds, predictions, "macro_f1")
    return 100.0 * float(f1_score(list(golds), list(predictions), labels=labels, average="macro", zero_division=0))


def micro_f1(golds: Sequence[Hashable], predictions: Sequence[Hashable], labels: Sequence | None = None) -> float:
    """F1 over pooled true/false positives of all classes (scikit-learn), in percent.

    For single-label data over all classes this equals accuracy; it differs when ``labels``
    leaves a class out (e.g. the "outside" class).
    """
    from sklearn.metrics import f1_score

    _check_pairs(golds, predictions, "micro_f1")
    return 100.0 * float(f1_score(list(golds), list(predictions), labels=labels, average="micro", zero_division=0))


def multiple_choice_accuracy(golds: Sequence[int], predictions: Sequence[Any]) -> float:
    """Accuracy over multiple-choice questions, in percent.

    Each prediction is either the chosen option index or a sequence of per-option scores
    (the highest score is the choice; ties go to the first option, as ``argmax`` does).
    """
    _check_pairs(golds, predictions, "multiple_choice_accuracy")
    chosen = []
    for i, prediction in enumerate(predictions):
        if isinstance(prediction, (int, np.integer)):
            chosen.append(int(prediction))
        elif isinstance(prediction, (Sequence, np.ndarray)) and len(prediction) > 0:
            chosen.append(int(np.argmax(np.asarray(prediction, dtype=float))))
        else:
            raise ValueError(
                f"multiple_choice_accuracy: prediction {i} is {prediction!r}; expected an option index "
                "or a non-empty list of per-option scores"
            )
    return accuracy([int(g) for g in golds], chosen)


def accuracy_at_k(golds: Sequence[Any], ranked: Sequence[Sequence[Any]], k: int) -> float:
    """Share of examples whose gold answer is among the first ``k`` ranked candidates, in percent.

    A gold entry is one answer or a collection (list, set, tuple) of acceptable answers, as in
    word translation where a word has several correct translations.
    """
    if k < 1:
        raise ValueError(f"accuracy_at_k: k must be >= 1, got {k}")
    _check_pairs(golds, ranked, "accuracy_at_k")
    hits = 0
    for gold, candidates in zip(golds, ranked):
        accepted: Collection = gold if isinstance(gold, (list, set, tuple, frozenset)) else {gold}
        hits += any(candidate in accepted for candidate in list(candidates)[:k])
    return 100.0 * hits / len(golds)


def spearman(golds: Sequence[float], predictions: Sequence[float]) -> float:
    """Spearman rank correlation ρ (scipy), as a coefficient in [-1, 1], not a percentage.

    Returns NaN when either side is constant (the correlation is undefined there).
    """
    from scipy.stats import spearmanr

    _check_pairs(golds, predictions, "spearman")
    if len(golds) < 2:
        raise ValueError("spearman: needs at least 2 examples")
    gold = np.asarray(golds, dtype=float)
    pred = np.asarray(predictions, dtype=float)
    if np.all(gold == gold[0]) or np.all(pred == pred[0]):
        return float("nan")
    return float(spearmanr(gold, pred).statistic)


def mse(golds: Sequence[float], predictions: Sequence[float]) -> float:
    """Mean squared error between gold values and predictions (raw units)."""
    _check_pairs(golds, predictions, "mse")
    diff = np.asarray(predictions, dtype=float) - np.asarray(golds, dtype=float)
    return float(np.mean(diff * diff))


def classification_scores(golds: Sequence[int], predictions: Sequence[int], num_labels: int) -> dict[str, float]:
    """The scores every classification task reports: accuracy and macro-F1 (percent) over ``num_labels``
    classes, and the diagnostic :data:`PREDICTED_CLASSES`."""
    return {
        "accuracy": accuracy(golds, predictions),
        "macro_f1": macro_f1(golds, predictions, labels=list(range(num_labels))),
        PREDICTED_CLASSES: float(len(set(predictions))),
    }
