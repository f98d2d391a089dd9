"""Spoken-QA evaluation, the command line: ``ssl-universal eval-sqa GOLD PRED``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DataError
from ..metrics.squad import LANGS
from ..metrics.units import FRAME_SECONDS
from .files import load_counts, load_gold, load_predictions
from .report import format_table, summary_line, warn, write_report
from .scoring import SpanResolver, evaluate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssl-universal eval-sqa",
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
        predictions = load_predictions(args.predictions)
        counts = load_counts(args.counts) if args.counts else None
        resolver = SpanResolver(counts, args.counts, args.frame_seconds)
        report = evaluate(
            questions,
            predictions,
            lang=args.lang,
            mode=args.mode,
            resolver=resolver,
            invalid_as_zero=args.invalid_as_zero,
            source=args.predictions,
        )
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    warn(report, questions, args.lang)
    if args.output:
        write_report(args.output, report, gold=args.gold, predictions=args.predictions, by_type=args.by_type)
    print(format_table(report, args.by_type) if args.text else summary_line(report, args.by_type))
    return 0
