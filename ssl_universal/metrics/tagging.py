"""Span F1 for sequence tagging (NER), in the seqeval / conlleval convention."""

from __future__ import annotations

from collections.abc import Sequence


def _check_tags(golds: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> None:
    if len(golds) != len(predictions):
        raise ValueError(f"span_f1: {len(golds)} gold sentences but {len(predictions)} predicted ones")
    if len(golds) == 0:
        raise ValueError("span_f1: no sentences to score")
    for i, (gold, pred) in enumerate(zip(golds, predictions)):
        if len(gold) != len(pred):
            raise ValueError(
                f"span_f1: sentence {i} has {len(gold)} gold tags but {len(pred)} predicted tags; "
                "predict one tag per token (drop sub-word positions before scoring)"
            )


def span_scores(
    golds: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]], scheme: str | None = None
) -> dict[str, float]:
    """Micro-averaged precision, recall and F1 over entity spans, in percent.

    Tags are strings such as ``B-PER``, ``I-PER``, ``O``. With ``scheme=None`` chunks are read
    the way conlleval and seqeval's default do (an ``I-X`` after ``O`` or another type opens a
    new chunk; IOB1 and IOB2 data both work). ``scheme="IOB2"``, ``"IOE2"``, ``"IOBES"`` ...
    switch to seqeval's strict mode, where ill-formed chunks count as wrong.
    A span counts only when its type and both boundaries match.
    """
    from seqeval import metrics as seqeval_metrics

    _check_tags(golds, predictions)
    gold = [list(s) for s in golds]
    pred = [list(s) for s in predictions]
    kwargs: dict = {"zero_division": 0}
    if scheme is not None:
        from seqeval import scheme as seqeval_scheme

        known = {name: getattr(seqeval_scheme, name) for name in ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU")}
        if scheme.upper() not in known:
            raise ValueError(f"span_f1: unknown tagging scheme {scheme!r}; expected None or one of {sorted(known)}")
        kwargs.update(mode="strict", scheme=known[scheme.upper()])
    return {
        "precision": 100.0 * float(seqeval_metrics.precision_score(gold, pred, **kwargs)),
        "recall": 100.0 * float(seqeval_metrics.recall_score(gold, pred, **kwargs)),
        "f1": 100.0 * float(seqeval_metrics.f1_score(gold, pred, **kwargs)),
    }


def span_f1(golds: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]], scheme: str | None = None) -> float:
    """Micro-averaged entity-span F1 in percent (see :func:`span_scores`)."""
    return span_scores(golds, predictions, scheme)["f1"]
