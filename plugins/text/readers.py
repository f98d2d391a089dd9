"""Readers for the text formats: TSV/CSV tables, SQuAD/DRCD JSON, CoNLL columns, plain text lines.

Each reader checks the shape of what it reads and raises :class:`DataError` naming the file and
line (or JSON path) of the first problem, so a bad file fails before any training starts.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from ssl_universal.errors import DataError

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
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL))
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
        example = {
            "text": row[index[text_column]],
            "label": row[index[label_column]].strip(),
            "line": line,
        }
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


def read_squad(path: Path, bad_answers: str = "error") -> list[QAExample]:
    """Questions of a SQuAD v1.1-shaped file (DRCD has the same shape).

    ``bad_answers``: ``error`` (default) stops at an answer whose ``answer_start`` does not point
    at its text in the context; ``skip`` drops such answers (and questions left without one).
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
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
                    if context[start : start + len(text)] != text:
                        if bad_answers == "skip":
                            continue
                        raise DataError(
                            f"{path}: {at_answer}: answer not in context: {text!r} does not appear at "
                            f"answer_start={start} (found {context[start : start + len(text)]!r}); "
                            f"fix the offset or set task.bad_answers: skip"
                        )
                    example.answers.append((text, start))
                if not example.answers:
                    if answers and bad_answers == "skip":
                        continue
                    raise DataError(
                        f"{path}: {where}.answers is empty; every question needs an answer"
                    )
                out.append(example)
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

    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
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
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not UTF-8 ({error.reason})") from error
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: no text (expected one document or sentence per line)")
    return lines
