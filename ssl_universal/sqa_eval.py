"""Spoken-QA evaluation: SQuAD EM/F1 on answer text, FF1/AOS on answer time spans (``eval-sqa``)."""

from __future__ import annotations

import argparse
import json
import string
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DataError
from .metrics.intervals import check_interval, interval_scores
from .metrics.squad import LANGS, contains_cjk, squad_question_scores
from .metrics.units import FRAME_SECONDS, units_to_seconds

MAX_LISTED = 50  # ids printed per warning on stderr; the --output report always lists them all


@dataclass
class Question:
    """One gold question with everything any scoring mode may need."""

    qid: str  # the question's id, as predictions name it
    where: str  # path in the gold JSON, for messages: data[3].paragraphs[0].qas[2]
    texts: list[str] = field(default_factory=list)  # gold answer texts
    time_spans: list[tuple[float, float]] = field(default_factory=list)  # gold [start, end] in seconds
    unit_spans: list[tuple[int, int]] = field(default_factory=list)  # gold [start_unit, end_unit], inclusive
    context_id: str | None = None  # the paragraph's id, a second key into the counts file
    qtype: str = "unknown"  # question type, for --by-type


def _load_json(path: Path, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise DataError(f"{what} file {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{what} file {path} is not valid JSON: {err}") from None


def _expect(value: Any, kind: type, path: Path, where: str, expected: str) -> Any:
    if not isinstance(value, kind):
        raise DataError(f"{path}: {where} should be {expected}, found {type(value).__name__} {str(value)[:60]!r}")
    return value


def _question_type(qa: dict) -> str:
    explicit = qa.get("type", qa.get("question_type"))
    if explicit is not None:
        return str(explicit)
    words = str(qa.get("question", "")).split()
    first = words[0].lower().strip(string.punctuation) if words else ""
    return first or "unknown"


def _read_answer(answer: Any, question: Question, path: Path, where: str) -> None:
    _expect(answer, dict, path, where, "an object with 'text' and/or start_time/end_time or start_unit/end_unit")
    if "text" in answer:
        question.texts.append(_expect(answer["text"], str, path, f"{where}.text", "a string"))
    if "start_time" in answer or "end_time" in answer:
        span = check_interval([answer.get("start_time"), answer.get("end_time")], f"{path}: {where}")
        if span is None:
            raise DataError(f"{path}: {where} needs both start_time and end_time")
        question.time_spans.append(span)
    if "start_unit" in answer or "end_unit" in answer:
        start, end = answer.get("start_unit"), answer.get("end_unit")
        if not (isinstance(start, int) and isinstance(end, int)) or end < start:
            raise DataError(
                f"{path}: {where} needs integer start_unit <= end_unit, found start_unit={start!r}, end_unit={end!r}"
            )
        question.unit_spans.append((start, end))


def load_gold(path: Path) -> list[Question]:
    """Read SQuAD v1.1-shaped gold (``data → paragraphs → qas → answers``) into questions."""
    gold = _expect(_load_json(path, "gold"), dict, path, "the top level", "an object with a 'data' list")
    articles = _expect(gold.get("data"), list, path, "data", "a list of articles")
    questions: list[Question] = []
    seen: dict[str, str] = {}
    for a, article in enumerate(articles):
        where_a = f"data[{a}]"
        _expect(article, dict, path, where_a, "an object with 'paragraphs'")
        for p, paragraph in enumerate(
            _expect(article.get("paragraphs"), list, path, f"{where_a}.paragraphs", "a list")
        ):
            where_p = f"{where_a}.paragraphs[{p}]"
            _expect(paragraph, dict, path, where_p, "an object with 'qas'")
            context_id = paragraph.get("context_id", paragraph.get("id"))
            for q, qa in enumerate(_expect(paragraph.get("qas"), list, path, f"{where_p}.qas", "a list")):
                where = f"{where_p}.qas[{q}]"
                _expect(qa, dict, path, where, "an object with 'id' and 'answers'")
                if "id" not in qa:
                    raise DataError(f"{path}: {where} has no 'id'")
                qid = str(qa["id"])
                if qid in seen:
                    raise DataError(f"{path}: question id {qid!r} appears twice, at {seen[qid]} and {where}")
                seen[qid] = where
                question = Question(qid, where, context_id=None if context_id is None else str(context_id))
                question.qtype = _question_type(qa)
                answers = _expect(qa.get("answers"), list, path, f"{where}.answers", "a list of answers")
                for n, answer in enumerate(answers):
                    _read_answer(answer, question, path, f"{where}.answers[{n}]")
                questions.append(question)
    if not questions:
        raise DataError(f"{path}: holds no questions (data → paragraphs → qas is empty)")
    return questions


def load_counts(path: Path) -> dict[str, list[int]]:
    """Per-passage run-length counts: TSV lines ``key<TAB>c1 c2 ...`` or a JSON ``{key: [c1, ...]}``."""
    text = path.read_text(encoding="utf-8") if path.exists() else None
    if text is None:
        raise DataError(f"counts file {path} does not exist")
    counts: dict[str, list[int]] = {}
    if text.lstrip().startswith("{"):
        for key, value in _load_json(path, "counts").items():
            values = value.split() if isinstance(value, str) else value
            try:
                counts[str(key)] = [int(v) for v in values]
            except (TypeError, ValueError):
                raise DataError(f"{path}: counts of {key!r} should be a list of integers, found {value!r}") from None
        return counts
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, values = line.partition("\t")
        try:
            if not sep:
                raise ValueError
            counts[key.strip()] = [int(v) for v in values.split()]
        except ValueError:
            raise DataError(
                f"{path}:{line_no}: expected 'id<TAB>c1 c2 ...' with integer run lengths, found {line[:60]!r}"
            ) from None
    return counts


def _kind(prediction: Any) -> str:
    """text | span | empty | bad — how a prediction value reads."""
    if prediction is None or prediction == "" or prediction == []:
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


class _SpanResolver:
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


def _looks_chinese(questions: list[Question]) -> bool:
    """True when most gold answers hold CJK characters (English scoring would treat each answer as one word)."""
    texts = [t for q in questions[:200] for t in q.texts]
    cjk = sum(1 for t in texts if contains_cjk(t))
    return bool(texts) and cjk * 2 > len(texts)


def _warn(message: str, ids: list[str]) -> None:
    shown = " ".join(ids[:MAX_LISTED])
    more = f" ... and {len(ids) - MAX_LISTED} more (all listed in the --output report)" if len(ids) > MAX_LISTED else ""
    print(f"warning: {len(ids)} {message}: {shown}{more}", file=sys.stderr)


def evaluate(
    questions: list[Question],
    predictions: dict[str, Any],
    *,
    lang: str = "en",
    mode: str = "auto",
    resolver: _SpanResolver | None = None,
    invalid_as_zero: bool = False,
) -> dict[str, Any]:
    """Score every gold question; return the full report (overall, by type, id bookkeeping)."""
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
    resolver = resolver or _SpanResolver(None, None, FRAME_SECONDS)

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
                if mode == "text":
                    if kinds[question.qid] not in ("text", "empty"):
                        raise DataError(
                            f"prediction for question {question.qid!r} should be answer text, found {value!r}"
                        )
                    scores = squad_question_scores(value or "", question.texts, lang)
                else:
                    if kinds[question.qid] not in ("span", "empty"):
                        raise DataError(f"prediction for question {question.qid!r} should be a span, found {value!r}")
                    scores = interval_scores(gold_spans[question.qid], resolver.prediction(question, value))
            except CountsError:
                raise
            except DataError as err:
                invalid.append(question.qid)
                errors.append(str(err))
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


def _width(text: str) -> int:
    # CJK characters take two terminal columns; count them so Chinese question types line up.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(report: dict[str, Any], by_type: bool) -> str:
    """Human-readable scores: one row overall, then one per question type when asked."""
    names = list(report["overall"])
    rows = [("overall", report["total"], report["overall"])]
    if by_type:
        rows += [(t, s["count"], s) for t, s in report["by_type"].items()]
    width = max(_width(str(r[0])) for r in rows) + 2
    lines = ["type" + " " * (width - 4) + f"{'count':>7}" + "".join(f"{n:>13}" for n in names)]
    for name, count, scores in rows:
        lines.append(
            str(name)
            + " " * (width - _width(str(name)))
            + f"{count:>7}"
            + "".join(f"{scores[n]:>13.2f}" for n in names)
        )
    lines.append(f"missing {report['missing']}  extra {report['extra']}  invalid {report['invalid']}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eval-sqa",
        description="Score spoken (or written) QA predictions: SQuAD v1.1 EM/F1 for answer texts, "
        "FF1/AOS for answer time spans. Prints one JSON object on stdout.",
    )
    parser.add_argument("gold", type=Path, help="SQuAD v1.1-shaped gold JSON")
    parser.add_argument(
        "predictions", type=Path, help='JSON {"qid": "text" | [start_s, end_s] | {"start_unit": i, "end_unit": j}}'
    )
    parser.add_argument("--lang", choices=LANGS, default="en", help="answer tokens: en = words, zh = characters")
    parser.add_argument(
        "--mode",
        choices=("auto", "text", "span"),
        default="auto",
        help="text = EM/F1, span = FF1/AOS; auto reads the predictions",
    )
    parser.add_argument(
        "--counts", type=Path, help="run-length counts per passage (TSV 'id<TAB>c1 c2 ...' or JSON) for unit spans"
    )
    parser.add_argument(
        "--frame-seconds", type=float, default=FRAME_SECONDS, help="duration of one count (default 0.02 s)"
    )
    parser.add_argument(
        "--by-type",
        action="store_true",
        help="also score each question type (qas 'type'/'question_type' or first word)",
    )
    parser.add_argument(
        "--output", type=Path, help="write the full JSON report (scores, by type, missing/extra/invalid ids) here"
    )
    parser.add_argument("--text", action="store_true", help="print a table instead of JSON on stdout")
    parser.add_argument(
        "--invalid-as-zero", action="store_true", help="score malformed predictions 0 instead of failing"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation; 0 on success, 2 on unusable input (message on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        questions = load_gold(args.gold)
        predictions = _load_json(args.predictions, "prediction")
        _expect(predictions, dict, args.predictions, "the top level", 'an object {"question id": prediction}')
        counts = load_counts(args.counts) if args.counts else None
        resolver = _SpanResolver(counts, args.counts, args.frame_seconds)
        report = evaluate(
            questions,
            predictions,
            lang=args.lang,
            mode=args.mode,
            resolver=resolver,
            invalid_as_zero=args.invalid_as_zero,
        )
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.lang == "en" and report["metric"] == "squad" and _looks_chinese(questions):
        print(
            "warning: gold answers contain CJK characters; pass --lang zh to score them by character", file=sys.stderr
        )
    if report["missing"]:
        _warn("question(s) without a prediction, scored 0", report["missing_ids"])
    if report["extra"]:
        _warn("prediction(s) for ids not in the gold file, ignored", report["extra_ids"])
    if report["invalid"]:
        _warn("malformed prediction(s), scored 0", report["invalid_ids"])
    if args.output:
        report_file = {"gold": str(args.gold), "predictions": str(args.predictions), **report}
        if not args.by_type:
            report_file.pop("by_type")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report_file, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.text:
        print(format_table(report, args.by_type))
    else:
        summary = dict(report["overall"])
        if args.by_type:
            summary["by_type"] = report["by_type"]
        print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
