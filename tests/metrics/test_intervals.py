"""FF1 and AOS over answer time intervals, computed by hand."""

import pytest

from ssl_universal.errors import DataError
from ssl_universal.metrics import check_interval, interval_pair_scores, interval_scores, mean_interval_scores


def test_partial_overlap():
    # gold [1, 3], pred [2, 5]: overlap 1, p = 1/3, r = 1/2, FF1 = 0.4, union 4 → AOS 0.25
    ff1, aos = interval_pair_scores((1.0, 3.0), (2.0, 5.0))
    assert ff1 == pytest.approx(0.4)
    assert aos == pytest.approx(0.25)


def test_no_overlap_and_touching_intervals_score_zero():
    assert interval_pair_scores((1.0, 2.0), (3.0, 4.0)) == (0.0, 0.0)
    assert interval_pair_scores((1.0, 2.0), (2.0, 4.0)) == (0.0, 0.0)


def test_nested_intervals():
    # pred inside gold: p = 1, r = 1/4, FF1 = 0.4, AOS = 1/4
    assert interval_pair_scores((0.0, 4.0), (1.0, 2.0)) == pytest.approx((0.4, 0.25))
    # gold inside pred: p = 1/4, r = 1, same scores
    assert interval_pair_scores((1.0, 2.0), (0.0, 4.0)) == pytest.approx((0.4, 0.25))
    assert interval_pair_scores((1.0, 2.0), (1.0, 2.0)) == (1.0, 1.0)


def test_max_over_several_gold_answers():
    golds = [(0.0, 1.0), (2.0, 4.0), (10.0, 11.0)]
    # best is the second gold: overlap 1 with pred [3, 5] → p = 1/2, r = 1/2, AOS = 1/3
    assert interval_scores(golds, (3.0, 5.0)) == pytest.approx((0.5, 1 / 3))


def test_empty_and_zero_length_predictions_score_zero():
    for empty in (None, [], ""):
        assert check_interval(empty) is None
    assert interval_scores([(1.0, 2.0)], None) == (0.0, 0.0)
    assert interval_pair_scores((1.0, 2.0), (1.5, 1.5)) == (0.0, 0.0)
    assert interval_pair_scores((1.5, 1.5), (1.0, 2.0)) == (0.0, 0.0)


def test_reversed_span_is_rejected_naming_the_question():
    with pytest.raises(DataError, match="'q7'.*end 1.0 is before start 2.0"):
        mean_interval_scores({"q7": [[0, 3]]}, {"q7": [2.0, 1.0]})
    with pytest.raises(DataError, match="gold answer 0 of question 'q8'"):
        mean_interval_scores({"q8": [[3, 0]]}, {"q8": [0, 1]})
    with pytest.raises(DataError, match="pair of seconds"):
        check_interval([1, 2, 3], "x")
    with pytest.raises(DataError, match="numbers"):
        check_interval(["1", 2], "x")


def test_mean_over_questions_counts_missing_as_zero():
    golds = {"a": [[0, 2]], "b": [[0, 2]], "c": [[5, 6]]}
    predictions = {"a": [0, 2], "b": [1, 3], "extra": [0, 1]}
    # a: 1/1; b: overlap 1, p = r = 1/2 → FF1 0.5, AOS 1/3; c missing: 0
    scores = mean_interval_scores(golds, predictions)
    assert scores["ff1"] == pytest.approx(100 * 1.5 / 3)
    assert scores["aos"] == pytest.approx(100 * (1 + 1 / 3) / 3)
