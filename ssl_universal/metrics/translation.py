"""Scores of token translation: BLEU-1 (sacrebleu) and convert rate."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence


def bleu1(hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "13a") -> float:
    """Corpus BLEU with unigrams only (sacrebleu, ``max_ngram_order=1``), in percent.

    BLEU-1 = BP · p1, where p1 is the clipped unigram precision over the corpus and
    BP = exp(1 − r/c) when the hypotheses are shorter (c tokens) than the references (r),
    else 1. ``tokenize`` is sacrebleu's tokenizer: ``"13a"`` for English, ``"zh"`` for
    Chinese (one token per character), ``"none"`` for text already split by spaces.
    One reference per hypothesis.
    """
    from sacrebleu.metrics import BLEU

    if len(hypotheses) != len(references):
        raise ValueError(f"bleu1: {len(hypotheses)} hypotheses but {len(references)} references")
    if len(hypotheses) == 0:
        raise ValueError("bleu1: nothing to score")
    metric = BLEU(max_ngram_order=1, tokenize=tokenize)
    return float(metric.corpus_score(list(hypotheses), [list(references)]).score)


def convert_rate(outputs: Sequence[Sequence[str]], target: Collection[str] | Callable[[str], bool]) -> float:
    """Share of output tokens that belong to the target language, in percent, pooled over outputs.

    ``outputs`` holds one token list per sentence; ``target`` is the target language's token
    set or a predicate (e.g. "is a CJK character"). Leave out special and punctuation tokens
    before calling when they should not count either way.
    """
    is_target = target if callable(target) else target.__contains__
    total = hits = 0
    for tokens in outputs:
        if isinstance(tokens, str):
            raise TypeError("convert_rate: each output must be a list of tokens, not a string; split it first")
        total += len(tokens)
        hits += sum(1 for token in tokens if is_target(token))
    if total == 0:
        raise ValueError("convert_rate: the outputs hold no tokens")
    return 100.0 * hits / total
