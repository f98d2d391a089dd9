"""Word and character error rates (jiwer), in percent."""

from __future__ import annotations

from collections.abc import Sequence


def _check(references: Sequence[str], hypotheses: Sequence[str], name: str) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(f"{name}: {len(references)} references but {len(hypotheses)} hypotheses")
    if len(references) == 0:
        raise ValueError(f"{name}: no utterances to score")
    if not any(r.strip() for r in references):
        raise ValueError(f"{name}: every reference is empty, so the error rate is undefined")


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus word error rate: (substitutions + deletions + insertions) / reference words, in percent.

    Words are whitespace-separated; normalise case and punctuation before calling if the
    task's convention asks for it (SUPERB ASR scores upper-case LibriSpeech text as is).
    """
    import jiwer

    _check(references, hypotheses, "wer")
    return 100.0 * float(jiwer.wer(list(references), list(hypotheses)))


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus character error rate in percent (spaces count as characters, as in jiwer)."""
    import jiwer

    _check(references, hypotheses, "cer")
    return 100.0 * float(jiwer.cer(list(references), list(hypotheses)))
