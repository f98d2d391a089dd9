"""Spoken-QA evaluation, reading: SQuAD v1.1-shaped gold, the predictions JSON and run-length counts files."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.text_files import read_text
from ..errors import DataError
from ..metrics.intervals import check_interval


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


def load_json(path: Path, what: str) -> Any:
    """The parsed JSON of ``path``; a missing or malformed file is a :class:`DataError` naming ``what`` it is."""
    try:
        return json.loads(read_text(path))
    except FileNotFoundError:
        raise DataError(f"{what} file {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{what} file {path} is not valid JSON: {err}") from None


def expect(value: Any, kind: type, path: Path, where: str, expected: str) -> Any:
    """``value`` when it is a ``kind``, else a :class:`DataError` saying what ``where`` in ``path`` should be."""
    if not isinstance(value, kind):
        raise DataError(f"{path}: {where} should be {expected}, found {type(value).__name__} {str(value)[:60]!r}")
    return value


def load_predictions(path: Path) -> dict[str, Any]:
    """The predictions JSON: an object ``{"question id": prediction}``."""
    return expect(load_json(path, "prediction"), dict, path, "the top level", 'an object {"question id": prediction}')


def _question_type(qa: dict) -> str:
    explicit = qa.get("type", qa.get("question_type"))
    if explicit is not None:
        return str(explicit)
    words = str(qa.get("question", "")).split()
    first = words[0].lower().strip(string.punctuation) if words else ""
    return first or "unknown"


def _read_answer(answer: Any, question: Question, path: Path, where: str) -> None:
    expect(answer, dict, path, where, "an object with 'text' and/or start_time/end_time or start_unit/end_unit")
    if "text" in answer:
        text = expect(answer["text"], str, path, f"{where}.text", "a string")
        if not text.strip():
            raise DataError(f"{path}: {where}.text is empty; a gold answer needs text (or leave 'text' out for a span)")
        question.texts.append(text)
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
    gold = expect(load_json(path, "gold"), dict, path, "the top level", "an object with a 'data' list")
    articles = expect(gold.get("data"), list, path, "data", "a list of articles")
    questions: list[Question] = []
    seen: dict[str, str] = {}
    for a, article in enumerate(articles):
        where_a = f"data[{a}]"
        expect(article, dict, path, where_a, "an object with 'paragraphs'")
        for p, paragraph in enumerate(
            expect(article.get("paragraphs"), list, path, f"{where_a}.paragraphs", "a list")
        ):
            where_p = f"{where_a}.paragraphs[{p}]"
            expect(paragraph, dict, path, where_p, "an object with 'qas'")
            context_id = paragraph.get("context_id", paragraph.get("id"))
            for q, qa in enumerate(expect(paragraph.get("qas"), list, path, f"{where_p}.qas", "a list")):
                where = f"{where_p}.qas[{q}]"
                expect(qa, dict, path, where, "an object with 'id' and 'answers'")
                if "id" not in qa:
                    raise DataError(f"{path}: {where} has no 'id'")
                qid = str(qa["id"])
                if qid in seen:
                    raise DataError(f"{path}: question id {qid!r} appears twice, at {seen[qid]} and {where}")
                seen[qid] = where
                question = Question(qid, where, context_id=None if context_id is None else str(context_id))
                question.qtype = _question_type(qa)
                answers = expect(qa.get("answers"), list, path, f"{where}.answers", "a list of answers")
                for n, answer in enumerate(answers):
                    _read_answer(answer, question, path, f"{where}.answers[{n}]")
                questions.append(question)
    if not questions:
        raise DataError(f"{path}: holds no questions (data → paragraphs → qas is empty)")
    return questions


def load_counts(path: Path) -> dict[str, list[int]]:
    """Per-passage run-length counts: TSV lines ``key<TAB>c1 c2 ...`` or a JSON ``{key: [c1, ...]}``."""
    text = read_text(path) if path.exists() else None
    if text is None:
        raise DataError(f"counts file {path} does not exist")
    counts: dict[str, list[int]] = {}
    if text.lstrip().startswith("{"):
        for key, value in load_json(path, "counts").items():
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
