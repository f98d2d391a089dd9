"""Accuracy, F1, multiple choice, accuracy@k, Spearman ρ and MSE on hand-computed cases."""

import math

import pytest

from ssl_universal.metrics import (
    accuracy,
    accuracy_at_k,
    macro_f1,
    micro_f1,
    mse,
    multiple_choice_accuracy,
    spearman,
)


def test_accuracy_in_percent():
    assert accuracy([0, 1, 2, 1], [0, 1, 1, 1]) == 75.0
    with pytest.raises(ValueError, match="3 gold labels but 2 predictions"):
        accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="no examples"):
        accuracy([], [])


def test_macro_and_micro_f1():
    golds = ["a", "a", "b", "c"]
    predictions = ["a", "b", "b", "b"]
    # a: p 1, r 1/2 → 2/3; b: p 1/3, r 1 → 1/2; c: 0 → macro = (2/3 + 1/2 + 0) / 3
    assert macro_f1(golds, predictions) == pytest.approx(100 * (2 / 3 + 1 / 2) / 3)
    # micro over all classes equals accuracy (2 of 4) ...
    assert micro_f1(golds, predictions) == pytest.approx(50.0)
    # ... and differs when a class is left out: over a, c: tp 1, fp 0, fn 2 → p 1, r 1/3 → 0.5
    assert micro_f1(golds, predictions, labels=["a", "c"]) == pytest.approx(50.0)
    assert macro_f1(golds, predictions, labels=["a", "b"]) == pytest.approx(100 * (2 / 3 + 1 / 2) / 2)


def test_multiple_choice_from_indices_or_scores():
    assert multiple_choice_accuracy([0, 2, 1], [0, 2, 2]) == pytest.approx(200 / 3)
    assert multiple_choice_accuracy([0, 2], [[0.9, 0.1, 0.0], [0.2, 0.3, 0.1]]) == 50.0
    with pytest.raises(ValueError, match="option index"):
        multiple_choice_accuracy([0], [[]])


def test_accuracy_at_k_with_several_acceptable_answers():
    golds = ["chat", {"hund", "köter"}, "maison"]
    ranked = [["le", "chat", "chien"], ["katze", "köter"], ["casa", "huis", "haus"]]
    assert accuracy_at_k(golds, ranked, 1) == 0.0
    assert accuracy_at_k(golds, ranked, 2) == pytest.approx(200 / 3)
    assert accuracy_at_k(golds, ranked, 100) == pytest.approx(200 / 3)
    with pytest.raises(ValueError, match="k must be >= 1"):
        accuracy_at_k(golds, ranked, 0)


def test_spearman_and_mse():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks 1 2 3 vs 1 3 2: d² sum 2 → 1 − 6·2 / (3·8) = 0.5
    assert spearman([1.0, 2.0, 3.0], [0.1, 0.9, 0.5]) == pytest.approx(0.5)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert mse([1.0, 2.0, 3.0], [1.0, 4.0, 0.0]) == pytest.approx((0 + 4 + 9) / 3)
