"""Frame-overlap F1 (FF1) and audio overlap score (AOS) between answer time intervals."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..errors import DataError

Interval = tuple[float, float]


def check_interval(span: object, where: str = "interval") -> Interval | None:
    """Validate one ``[start, end]`` span and return it as floats; ``None`` for an empty prediction.

    Empty means ``None``, ``[]`` or ``""`` (a model that gives no answer); it scores 0.
    A span with end < start, a non-number or a NaN raises :class:`DataError` naming ``where``
    (the question id or the position in the file).
    """
    if span is None or (isinstance(span, (list, tuple, str)) and len(span) == 0):
        return None
    if not isinstance(span, (list, tuple)) or len(span) != 2:
        raise DataError(f"{where}: expected a [start, end] pair of seconds, found {span!r}")
    start, end = span
    if isinstance(start, bool) or isinstance(end, bool) or not all(isinstance(v, (int, float)) for v in (start, end)):
        raise DataError(f"{where}: start and end must be numbers (seconds), found {span!r}")
    if math.isnan(start) or math.isnan(end):
        raise DataError(f"{where}: start or end is NaN in {span!r}")
    if end < start:
        raise DataError(f"{where}: end {end} is before start {start}; write spans as [start, end] with start <= end")
    return float(start), float(end)


def interval_pair_scores(gold: Interval, prediction: Interval | None) -> tuple[float, float]:
    """(FF1, AOS) in [0, 1] of one predicted interval against one gold interval.

    overlap = |I ∩ P|; precision = overlap/|P|; recall = overlap/|I|; FF1 = 2pr/(p+r);
    AOS = overlap/|I ∪ P|. Both are 0 without overlap, and so for an empty or zero-length
    prediction (and a zero-length gold, which nothing can overlap).
    """
    if prediction is None:
        return 0.0, 0.0
    gold_start, gold_end = gold
    pred_start, pred_end = prediction
    overlap = min(gold_end, pred_end) - max(gold_start, pred_start)
    if overlap <= 0:
        return 0.0, 0.0
    precision = overlap / (pred_end - pred_start)
    recall = overlap / (gold_end - gold_start)
    ff1 = 2 * precision * recall / (precision + recall)
    # The intervals overlap, so their union is one interval.
    union = max(gold_end, pred_end) - min(gold_start, pred_start)
    return ff1, overlap / union


def interval_scores(golds: Sequence[Interval], prediction: Interval | None) -> tuple[float, float]:
    """(FF1, AOS) in [0, 1] of one question: each the max over its gold intervals (0 with none)."""
    best_ff1 = best_aos = 0.0
    for gold in golds:
        ff1, aos = interval_pair_scores(gold, prediction)
        best_ff1 = max(best_ff1, ff1)
        best_aos = max(best_aos, aos)
    return best_ff1, best_aos


def mean_interval_scores(
    golds: Mapping[str, Sequence[Sequence[float]]], predictions: Mapping[str, Sequence[float] | None]
) -> dict[str, float]:
    """Mean FF1 and AOS over the questions of ``golds``, in percent.

    ``golds`` maps question id → gold ``[start, end]`` intervals (seconds), ``predictions``
    id → one ``[start, end]`` (or ``None``/``[]`` for no answer). Missing predictions score 0;
    predictions for unknown ids are ignored here (the evaluation script reports both).
    Raises :class:`DataError` naming the id for a span with end < start.
    """
    if not golds:
        raise ValueError("mean_interval_scores: no gold questions to score")
    ff1_total = aos_total = 0.0
    for qid, spans in golds.items():
        gold = [check_interval(span, f"gold answer {i} of question {qid!r}") for i, span in enumerate(spans)]
        if qid not in predictions:
            continue
        prediction = check_interval(predictions[qid], f"prediction for question {qid!r}")
        ff1, aos = interval_scores([g for g in gold if g is not None], prediction)
        ff1_total += ff1
        aos_total += aos
    return {"ff1": 100.0 * ff1_total / len(golds), "aos": 100.0 * aos_total / len(golds)}
