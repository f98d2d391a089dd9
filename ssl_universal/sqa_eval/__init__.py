"""Spoken-QA evaluation: SQuAD EM/F1 on answer text, FF1/AOS on answer time spans (``eval-sqa``).

Reading order: ``files.py`` (gold, predictions, run-length counts) → ``scoring.py`` (one report of
scores and id bookkeeping) → ``report.py`` (stderr warnings, the JSON report, the table) →
``command.py`` (the command line). Importing this package does not load torch.
"""

from .command import build_parser, main
from .files import Question, load_counts, load_gold, load_predictions
from .report import format_table
from .scoring import SpanResolver, evaluate

__all__ = [
    "Question",
    "SpanResolver",
    "build_parser",
    "evaluate",
    "format_table",
    "load_counts",
    "load_gold",
    "load_predictions",
    "main",
]
