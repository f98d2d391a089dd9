"""Readers for the text formats: TSV/CSV tables, SQuAD/DRCD JSON, CoNLL columns, plain text lines.

Each reader checks the shape of what it reads and raises :class:`DataError` naming the file and
line (or JSON path) of the first problem, so a bad file fails before any training starts.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ssl_universal.data.text_files import read_text
from ssl_universal.errors import DataError

log = logging.getLogger(__name__)

# Header cells that mark the first row of a table as column names when columns are given by index.
_HEADER_WORDS = {
    "text",
    "label",
    "sentence",
    "sentence1",
    "sentence2",
    "premise",
    "hypothesis",
    "question",
    "class",
}


# -- TSV / CSV ------------------------------------------------------------------------------------
def _column_index(column: str, header: list[str] | None, path: Path) -> int:
    if column.lstrip("-").isdigit():
        return int(column)
    if header is None or column not in header:
        found = ", ".join(header) if header else "no header row"
        raise DataError(f"{path}: no column named {column!r}; the header has: {found}")
    return header.index(column)


def read_table(
    path: Path,
    text_column: str,
    label_column: str,
    text_pair_column: str | None = None,
    header: str = "auto",
    delimiter: str | None = None,
) -> list[dict]:
    """Rows of a TSV/CSV file as ``{"text", "text_pair"?, "label", "line"}`` (label a string).

    Columns are header names or 0-based indices given as strings ("0", "-1"). ``header``: ``yes``,
    ``no`` or ``auto`` (a header when a configured column name, or a usual column name, is in row 1).
    """
    path = Path(path)
    if delimiter is None:
        delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    rows = list(csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter, quoting=csv.QUOTE_MINIMAL))
    if not rows:
        raise DataError(f"{path}: the file is empty")
    columns = [
        c for c in (text_column, label_column, text_pair_column) if c is not None
    ]
    if header == "auto":
        names = [c for c in columns if not c.lstrip("-").isdigit()]
        first = set(rows[0])
        has_header = (
            bool(set(names) & first)
            if names
            else bool({c.lower() for c in first} & _HEADER_WORDS)
        )
    elif header in ("yes", "no"):
        has_header = header == "yes"
    else:
        raise DataError(f"{path}: header must be auto, yes or no, got {header!r}")
    names_row = rows[0] if has_header else None
    index = {c: _column_index(c, names_row, path) for c in columns}
    width = len(rows[0])
    out = []
    for line, row in enumerate(
        rows[1:] if has_header else rows, start=2 if has_header else 1
    ):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) != width:
            raise DataError(
                f"{path}, line {line}: expected {width} columns (as in the first row), found {len(row)}; "
                f"check for a stray {'tab' if delimiter == chr(9) else repr(delimiter)} or an unquoted field"
            )
        label = row[index[label_column]].strip()
        if not label:
            raise DataError(
                f"{path}, line {line}: empty label (column {label_column!r}); every row needs one. "
                "Fill it in or delete the row"
            )
        example = {"text": row[index[text_column]], "label": label, "line": line}
        if text_pair_column is not None:
            example["text_pair"] = row[index[text_pair_column]]
        out.append(example)
    return out


# -- SQuAD / DRCD JSON ----------------------------------------------------------------------------
@dataclass
class QAExample:
    """One question over one context, with every gold answer (text and character start)."""

    qid: str
    question: str
    context: str
    answers: list[tuple[str, int]] = field(default_factory=list)
    where: str = ""  # file and JSON path, for error messages


def _expect(value, kind: type, path: Path, where: str, what: str):
    if not isinstance(value, kind):
        raise DataError(
            f"{path}: {where} should be {what}, found {type(value).__name__}"
        )
    return value


def _answer_problem(context: str, text: str, start: int) -> str | None:
    """Why an answer cannot be trained on (None when ``answer_start`` points at ``text`` in ``context``)."""
    if not text.strip():
        return f"empty answer text {text!r} (answer_start={start}); an answer must be a non-empty span of the context"
    if start < 0:
        return f"answer_start={start} is negative; it counts characters from the start of the context"
    if start + len(text) > len(context):
        return (f"answer {text!r} at answer_start={start} runs past the end of the context "
                f"({len(context)} characters)")
    found = context[start : start + len(text)]
    if found != text:
        return f"answer not in context: {text!r} does not appear at answer_start={start} (found {found!r})"
    return None


def read_squad(path: Path, bad_answers: str = "error", skipped: list[str] | None = None) -> list[QAExample]:
    """Questions of a SQuAD v1.1-shaped file (DRCD has the same shape).

    ``bad_answers``: ``error`` (default) stops at an answer that cannot be trained on: empty text, a
    negative or out-of-range ``answer_start``, or one that does not point at its text in the context;
    ``skip`` drops such answers (and questions left without one), logs how many, and appends one
    message per dropped answer to ``skipped`` when given.
    """
    path = Path(path)
    dropped: list[str] = []
    questions_dropped = 0
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise DataError(
            f"{path}, line {error.lineno}: not valid JSON ({error.msg})"
        ) from error
    _expect(document, dict, path, "the top level", "an object with a 'data' list")
    data = _expect(document.get("data"), list, path, "data", "a list of articles")
    out = []
    for i, article in enumerate(data):
        _expect(article, dict, path, f"data[{i}]", "an object with 'paragraphs'")
        paragraphs = _expect(
            article.get("paragraphs"), list, path, f"data[{i}].paragraphs", "a list"
        )
        for j, paragraph in enumerate(paragraphs):
            at = f"data[{i}].paragraphs[{j}]"
            _expect(paragraph, dict, path, at, "an object with 'context' and 'qas'")
            context = _expect(
                paragraph.get("context"), str, path, f"{at}.context", "a string"
            )
            qas = _expect(paragraph.get("qas"), list, path, f"{at}.qas", "a list")
            for k, qa in enumerate(qas):
                where = f"{at}.qas[{k}]"
                _expect(
                    qa, dict, path, where, "an object with 'id', 'question', 'answers'"
                )
                question = _expect(
                    qa.get("question"), str, path, f"{where}.question", "a string"
                )
                if qa.get("is_impossible"):
                    raise DataError(
                        f"{path}: {where} is unanswerable (SQuAD v2); only v1.1-shaped data is supported"
                    )
                answers = _expect(
                    qa.get("answers"), list, path, f"{where}.answers", "a list"
                )
                example = QAExample(
                    str(qa.get("id", f"{i}-{j}-{k}")),
                    question,
                    context,
                    where=f"{path}: {where}",
                )
                for a, answer in enumerate(answers):
                    at_answer = f"{where}.answers[{a}]"
                    _expect(
                        answer,
                        dict,
                        path,
                        at_answer,
                        "an object with 'text' and 'answer_start'",
                    )
                    text = _expect(
                        answer.get("text"), str, path, f"{at_answer}.text", "a string"
                    )
                    start = answer.get("answer_start")
                    if not isinstance(start, int) or isinstance(start, bool):
                        raise DataError(
                            f"{path}: {at_answer}.answer_start should be an integer, found {start!r}"
                        )
                    problem = _answer_problem(context, text, start)
                    if problem is not None:
                        if bad_answers == "skip":
                            dropped.append(f"{path}: {at_answer}: {problem}")
                            continue
                        raise DataError(
                            f"{path}: {at_answer}: {problem}; fix the answer or set task.bad_answers: skip"
                        )
                    example.answers.append((text, start))
                if not example.answers:
                    if answers and bad_answers == "skip":
                        questions_dropped += 1
                        continue
                    raise DataError(
                        f"{path}: {where}.answers is empty; every question needs an answer"
                    )
                out.append(example)
    if dropped:
        log.warning("%s: skipped %d bad answer(s) and %d question(s) left without one (bad_answers: skip); first: %s",
                    path, len(dropped), questions_dropped, dropped[0])
        if skipped is not None:
            skipped.extend(dropped)
    return out


# -- CoNLL ----------------------------------------------------------------------------------------
def read_conll(path: Path, tag_column: int = -1, token_column: int = 0) -> list[dict]:
    """Sentences of a CoNLL file as ``{"tokens", "tags", "line"}``.

    Columns are whitespace-separated; a blank line ends a sentence; ``-DOCSTART-`` lines are
    skipped. Every token line must have as many columns as the first one.
    """
    path = Path(path)
    sentences: list[dict] = []
    tokens: list[str] = []
    tags: list[str] = []
    width = None
    start_line = 1

    def flush():
        if tokens:
            sentences.append(
                {"tokens": list(tokens), "tags": list(tags), "line": start_line}
            )
        tokens.clear()
        tags.clear()

    for number, raw in enumerate(io.StringIO(read_text(path)), start=1):
        line = raw.strip()
        if not line:
            flush()
            continue
        cells = line.split()
        if cells[0] == "-DOCSTART-":
            flush()
            continue
        if width is None:
            width = len(cells)
            if width < 2:
                raise DataError(
                    f"{path}, line {number}: expected a token and a tag column, found 1 column: {line!r}"
                )
        if len(cells) != width:
            raise DataError(
                f"{path}, line {number}: expected {width} columns (as on the first token line), "
                f"found {len(cells)}: {line!r}"
            )
        if not tokens:
            start_line = number
        tokens.append(cells[token_column])
        tags.append(cells[tag_column])
    flush()
    if not sentences:
        raise DataError(
            f"{path}: no sentences found (expected 'token ... tag' lines separated by blank lines)"
        )
    return sentences


# -- plain text -----------------------------------------------------------------------------------
def read_lines(path: Path) -> list[str]:
    """Non-blank lines of a UTF-8 text file (one document or sentence per line)."""
    path = Path(path)
    lines = [line.strip() for line in read_text(path).splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: no text (expected one document or sentence per line)")
    return lines
