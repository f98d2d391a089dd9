"""Spoken-QA evaluation, scoring: SQuAD EM/F1 of answer texts or FF1/AOS of answer spans (seconds or unit indices)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..metrics.intervals import check_interval, interval_scores
from ..metrics.squad import squad_question_scores
from ..metrics.units import FRAME_SECONDS, units_to_seconds
from .files import Question

MAX_LISTED = 50  # ids (or messages) listed per message on stderr; the --output report always lists them all


def _kind(prediction: Any) -> str:
    """text | span | empty | bad — how a prediction value reads (null is bad: "" or [] says "no answer")."""
    if prediction == "" or prediction == []:
        return "empty"
    if isinstance(prediction, str):
        return "text"
    if isinstance(prediction, list) or (
        isinstance(prediction, dict) and prediction.keys() & {"start_unit", "start_time"}
    ):
        return "span"
    return "bad"


class CountsError(DataError):
    """The counts file is absent or lacks a passage: a problem of the whole run, not of one prediction."""


class SpanResolver:
    """Turns gold and predicted spans (seconds or unit indices) into seconds."""

    def __init__(self, counts: dict[str, list[int]] | None, counts_path: Path | None, frame_seconds: float):
        self.counts, self.counts_path, self.frame_seconds = counts, counts_path, frame_seconds

    def _counts_for(self, question: Question) -> list[int]:
        keys = [question.qid] + ([question.context_id] if question.context_id is not None else [])
        if self.counts is None:
            raise CountsError(f"question {question.qid!r} uses unit spans; pass --counts FILE with the run lengths")
        for key in keys:
            if key in self.counts:
                return self.counts[key]
        raise CountsError(f"{self.counts_path}: no run-length counts for question {question.qid!r} (looked up {keys})")

    def _units(self, question: Question, start: Any, end: Any, where: str) -> tuple[float, float]:
        if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool):
            raise DataError(f"{where}: start_unit and end_unit must be integers, found {start!r}, {end!r}")
        counts = self._counts_for(question)
        try:
            return units_to_seconds(counts, start, end, self.frame_seconds)
        except ValueError as err:
            raise DataError(f"{where}: {err}") from None

    def gold(self, question: Question) -> list[tuple[float, float]]:
        spans = list(question.time_spans)
        for start, end in question.unit_spans if not spans else []:
            spans.append(self._units(question, start, end, f"gold {question.where}"))
        return spans

    def prediction(self, question: Question, value: Any) -> tuple[float, float] | None:
        where = f"prediction for question {question.qid!r}"
        if isinstance(value, dict):
            if "start_unit" in value:
                return self._units(question, value.get("start_unit"), value.get("end_unit"), where)
            value = [value.get("start_time"), value.get("end_time")]
        return check_interval(value, where)


def evaluate(
    questions: list[Question],
    predictions: dict[str, Any],
    *,
    lang: str = "en",
    mode: str = "auto",
    resolver: SpanResolver | None = None,
    invalid_as_zero: bool = False,
    source: str | Path | None = None,
) -> dict[str, Any]:
    """Score every gold question; return the full report (overall, by type, id bookkeeping).

    ``source`` (the predictions file) prefixes each message about a malformed prediction.
    """
    kinds = {qid: _kind(value) for qid, value in predictions.items()}
    if mode == "auto":
        voted = {k for k in kinds.values() if k in ("text", "span")}
        if len(voted) > 1:
            texts = [q for q, k in kinds.items() if k == "text"][:5]
            spans = [q for q, k in kinds.items() if k == "span"][:5]
            raise DataError(f"predictions mix answer texts (e.g. {texts}) and spans (e.g. {spans}); use one kind")
        if voted:
            mode = voted.pop()
        else:
            mode = "text" if any(q.texts for q in questions) else "span"
    names = ("exact_match", "f1") if mode == "text" else ("ff1", "aos")
    resolver = resolver or SpanResolver(None, None, FRAME_SECONDS)

    no_gold = [q.qid for q in questions if not (q.texts if mode == "text" else q.time_spans or q.unit_spans)]
    if no_gold:
        kind = "answer 'text'" if mode == "text" else "start_time/end_time or start_unit/end_unit"
        raise DataError(f"{len(no_gold)} gold questions have no answer {kind}, e.g. {no_gold[:10]}")

    known = {q.qid for q in questions}
    missing = [q.qid for q in questions if q.qid not in predictions]
    extra = [qid for qid in predictions if qid not in known]
    invalid: list[str] = []
    errors: list[str] = []
    # Gold spans are resolved up front: a gold problem stops the run, a prediction problem is per id.
    gold_spans = {q.qid: resolver.gold(q) for q in questions} if mode == "span" else {}
    per_type: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for question in questions:
        scores = (0.0, 0.0)
        if question.qid in predictions:
            value = predictions[question.qid]
            try:
                expected = "answer text (\"\" for no answer)" if mode == "text" else "a span ([] for no answer)"
                if value is None:
                    raise DataError(f"prediction for question {question.qid!r} is null; expected {expected}")
                if mode == "text":
                    if kinds[question.qid] not in ("text", "empty"):
                        raise DataError(
                            f"prediction for question {question.qid!r} should be {expected}, found {value!r}"
                        )
                    scores = squad_question_scores(value or "", question.texts, lang)
                else:
                    if kinds[question.qid] not in ("span", "empty"):
                        raise DataError(
                            f"prediction for question {question.qid!r} should be {expected}, found {value!r}"
                        )
                    scores = interval_scores(gold_spans[question.qid], resolver.prediction(question, value))
            except CountsError:
                raise
            except DataError as err:
                invalid.append(question.qid)
                errors.append(f"{source}: {err}" if source is not None else str(err))
        per_type[question.qtype].append(scores)

    if errors and not invalid_as_zero:
        raise DataError(
            f"{len(errors)} malformed predictions (score them 0 with --invalid-as-zero):\n  "
            + "\n  ".join(errors[:MAX_LISTED])
        )

    def mean(rows: list[tuple[float, float]]) -> dict[str, float]:
        return {names[i]: 100.0 * sum(r[i] for r in rows) / len(rows) for i in (0, 1)}

    all_rows = [row for rows in per_type.values() for row in rows]
    return {
        "metric": "squad" if mode == "text" else "interval",
        "lang": lang,
        "overall": mean(all_rows),
        "by_type": {t: {"count": len(rows), **mean(rows)} for t, rows in sorted(per_type.items())},
        "total": len(questions),
        "answered": len(questions) - len(missing),
        "missing": len(missing),
        "missing_ids": missing,
        "extra": len(extra),
        "extra_ids": extra,
        "invalid": len(invalid),
        "invalid_ids": invalid,
        "invalid_messages": errors,
    }
