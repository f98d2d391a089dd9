"""Spoken-QA evaluation, reporting: warnings on stderr, the JSON report file, the summary line and the table."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

from ..metrics.squad import contains_cjk
from .files import Question
from .scoring import MAX_LISTED


def _looks_chinese(questions: list[Question]) -> bool:
    """True when most gold answers hold CJK characters (English scoring would treat each answer as one word)."""
    texts = [t for q in questions[:200] for t in q.texts]
    cjk = sum(1 for t in texts if contains_cjk(t))
    return bool(texts) and cjk * 2 > len(texts)


def _warn_ids(message: str, ids: list[str]) -> None:
    shown = " ".join(ids[:MAX_LISTED])
    more = f" ... and {len(ids) - MAX_LISTED} more (all listed in the --output report)" if len(ids) > MAX_LISTED else ""
    print(f"warning: {len(ids)} {message}: {shown}{more}", file=sys.stderr)


def warn(report: dict[str, Any], questions: list[Question], lang: str) -> None:
    """On stderr: a likely wrong ``--lang``, and the ids that were missing, extra or malformed."""
    if lang == "en" and report["metric"] == "squad" and _looks_chinese(questions):
        print(
            "warning: gold answers contain CJK characters; pass --lang zh to score them by character", file=sys.stderr
        )
    if report["missing"]:
        _warn_ids("question(s) without a prediction, scored 0", report["missing_ids"])
    if report["extra"]:
        _warn_ids("prediction(s) for ids not in the gold file, ignored", report["extra_ids"])
    if report["invalid"]:
        _warn_ids("malformed prediction(s), scored 0", report["invalid_ids"])
        print(f"  first: {report['invalid_messages'][0]}", file=sys.stderr)


def write_report(path: Path, report: dict[str, Any], *, gold: Path, predictions: Path, by_type: bool) -> None:
    """The full report as JSON: the input files, scores (by type when asked) and every id bookkeeping list."""
    report_file = {"gold": str(gold), "predictions": str(predictions), **report}
    if not by_type:
        report_file.pop("by_type")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report_file, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def summary_line(report: dict[str, Any], by_type: bool) -> str:
    """The overall scores (and per type when asked) as one JSON object, what stdout gets."""
    summary = dict(report["overall"])
    if by_type:
        summary["by_type"] = report["by_type"]
    return json.dumps(summary, ensure_ascii=False)


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
