"""SQuAD v1.1 exact match and F1, with a character-token mode for Chinese (DRCD, ODSQA)."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

LANGS = ("en", "zh")

# The official v1.1 script removes exactly these characters (ASCII punctuation) ...
_ASCII_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")

# ... and the Chinese mode also removes every Unicode punctuation character (，。「」《》、…),
# so full-width and CJK punctuation never counts as a token.
# CJK ideographs and kana are scored one character per token; every other run of
# non-space characters (latin words, digits) is one token.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_ZH_TOKEN = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
_HAS_CJK = re.compile(f"[{_CJK}]")


def contains_cjk(text: str) -> bool:
    """True when ``text`` holds a CJK ideograph or kana (a hint that ``lang="zh"`` is wanted)."""
    return _HAS_CJK.search(text) is not None


def normalize_answer(text: str) -> str:
    """Lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace.

    Identical to ``normalize_answer`` of the official SQuAD v1.1 evaluation script.
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _is_punctuation(ch: str) -> bool:
    return ch in _ASCII_PUNCTUATION or unicodedata.category(ch).startswith("P")


def normalize_answer_zh(text: str) -> str:
    """Normalisation for Chinese answers: NFKC (full-width → ASCII), lower-case, drop all punctuation.

    Articles are kept (Chinese has none and mixed-in English words are rare); whitespace is
    collapsed. Tokens are then taken by :func:`answer_tokens`.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if not _is_punctuation(ch))
    return " ".join(text.split())


def answer_tokens(text: str, lang: str = "en") -> list[str]:
    """Tokens that F1 compares: whitespace words (``en``) or mixed segmentation (``zh``).

    The ``zh`` mode splits CJK characters one per token and keeps each run of latin letters
    or digits as one token: ``"2018年世界盃 FIFA"`` → ``["2018", "年", "世", "界", "盃", "fifa"]``.
    """
    if lang == "en":
        return normalize_answer(text).split()
    if lang == "zh":
        return _ZH_TOKEN.findall(normalize_answer_zh(text))
    raise ValueError(f"unknown answer language {lang!r}; expected one of {LANGS}")


def exact_match_score(prediction: str, gold: str, lang: str = "en") -> float:
    """1.0 when the normalised answers are equal, else 0.0.

    In ``zh`` mode the token sequences are compared, so spaces between Chinese characters
    (common in ASR transcripts) do not matter.
    """
    if lang == "en":
        return float(normalize_answer(prediction) == normalize_answer(gold))
    return float(answer_tokens(prediction, lang) == answer_tokens(gold, lang))


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    common = Counter(prediction_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, gold: str, lang: str = "en") -> float:
    """Token-overlap F1 between one prediction and one gold answer, in [0, 1] (official v1.1).

    Overlap is the multiset intersection of tokens (order ignored), as in the SQuAD script;
    for ``zh`` the tokens are those of :func:`answer_tokens`.
    """
    return _token_f1(answer_tokens(prediction, lang), answer_tokens(gold, lang))


def max_over_golds(metric: Callable[..., float], prediction: str, golds: Sequence[str], lang: str = "en") -> float:
    """Best score of ``prediction`` against any of the gold answers (0 when there is none)."""
    if not golds:
        return 0.0
    return max(metric(prediction, gold, lang) for gold in golds)


def squad_question_scores(prediction: str, golds: Sequence[str], lang: str = "en") -> tuple[float, float]:
    """(EM, F1) of one question in [0, 1], each the max over its gold answers.

    Same result as :func:`max_over_golds` with each metric, tokenising every string once.
    (Equal token lists is the same test as equal normalised strings, since normalisation
    ends by joining the whitespace tokens with single spaces.)
    """
    if not golds:
        return 0.0, 0.0
    prediction_tokens = answer_tokens(prediction, lang)
    gold_tokens = [answer_tokens(gold, lang) for gold in golds]
    em = max(float(prediction_tokens == tokens) for tokens in gold_tokens)
    f1 = max(_token_f1(prediction_tokens, tokens) for tokens in gold_tokens)
    return em, f1


def squad_scores(
    golds: Mapping[str, Sequence[str]], predictions: Mapping[str, str], lang: str = "en"
) -> dict[str, float]:
    """Mean EM and F1 over the questions of ``golds``, in percent (official v1.1 aggregation).

    ``golds`` maps question id → gold answer texts, ``predictions`` id → answer text. A
    question without a prediction scores 0 (it still counts in the mean); predictions for
    ids not in ``golds`` are ignored here — the evaluation script reports both by id.
    """
    if not golds:
        raise ValueError("squad_scores: no gold questions to score")
    em_total = f1_total = 0.0
    for qid, answers in golds.items():
        if qid not in predictions:
            continue
        em, f1 = squad_question_scores(predictions[qid], answers, lang)
        em_total += em
        f1_total += f1
    return {"exact_match": 100.0 * em_total / len(golds), "f1": 100.0 * f1_total / len(golds)}
