"""Every score the project reports, implemented once: import them from here.

Scales: shares (accuracy, F1, EM, FF1, AOS, WER/CER, BLEU-1, convert rate, accuracy@k) are
returned in percent, 0–100, as the papers print them; Spearman ρ is the raw coefficient in
[-1, 1] and MSE is in the label's units. Heavy libraries (scikit-learn, scipy, seqeval,
jiwer, sacrebleu) are imported on first use, so importing this package stays fast.
"""

from .classification import (
    PREDICTED_CLASSES,
    accuracy,
    accuracy_at_k,
    classification_scores,
    macro_f1,
    micro_f1,
    mse,
    multiple_choice_accuracy,
    spearman,
)
from .intervals import check_interval, interval_pair_scores, interval_scores, mean_interval_scores
from .speech import cer, wer
from .squad import (
    answer_tokens,
    contains_cjk,
    exact_match_score,
    f1_score,
    normalize_answer,
    normalize_answer_zh,
    squad_question_scores,
    squad_scores,
)
from .tagging import span_f1, span_scores
from .translation import bleu1, convert_rate
from .units import FRAME_SECONDS, merge_repeated_units, unit_boundaries, units_to_seconds

__all__ = [
    "FRAME_SECONDS",
    "PREDICTED_CLASSES",
    "accuracy",
    "accuracy_at_k",
    "answer_tokens",
    "bleu1",
    "cer",
    "check_interval",
    "classification_scores",
    "contains_cjk",
    "convert_rate",
    "exact_match_score",
    "f1_score",
    "interval_pair_scores",
    "interval_scores",
    "macro_f1",
    "mean_interval_scores",
    "merge_repeated_units",
    "micro_f1",
    "mse",
    "multiple_choice_accuracy",
    "normalize_answer",
    "normalize_answer_zh",
    "span_f1",
    "span_scores",
    "spearman",
    "squad_question_scores",
    "squad_scores",
    "unit_boundaries",
    "units_to_seconds",
    "wer",
]
