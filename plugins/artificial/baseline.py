"""The hand-feature reference of the artificial-data table: TF-IDF of the task's own word pieces → logistic regression.

A transformer that loses to this row on the same split has not learned what the task's inputs hold, so a gain
over scratch below it says little about pre-training. It reads exactly what the models read: the proxy's rows
(``english.py``, the same split and seed) cut into the ``english_pieces`` symbols of the fine-tuning recipe,
``<unk>`` included (a piece outside ``max_pieces`` is ``<unk>`` for the models too), so the row also measures
what the vocabulary cap leaves of the task.

* single texts (topic, acceptability): the TF-IDF vector of the pieces (uni- and bigrams of pieces);
* pairs (paraphrase): ``[|a − b|, a ⊙ b]`` of the two TF-IDF vectors, so the classifier sees how the two texts
  differ and what they share, not which words occur.

The inverse regularisation strength ``C`` is chosen on valid from a fixed grid; test is scored once.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Inverse regularisation strengths tried on valid.
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


@dataclass(frozen=True)
class BaselineResult:
    """Accuracy (%) of the chosen ``C`` on valid and on test, and how many pieces were ``<unk>``."""

    valid: float
    test: float
    C: float
    unk_share: float  # share of the training pieces that are <unk>
    features: int


def _pieces(tokenizer, text) -> str:
    return " ".join(tokenizer.split(text))


def bag_of_pieces(task) -> BaselineResult:
    """Fit the reference on ``task``'s train split (an :class:`~.tasks.EnglishProxyTask`), choose C on valid, score test."""
    import numpy as np
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    from ssl_universal.baselines import fit_logistic

    tok = task.tokenizer
    splits = {s: task.rows(s) for s in ("train", "valid", "test")}
    pairs = isinstance(splits["train"][0][0], tuple)
    vec = TfidfVectorizer(token_pattern=r"\S+", lowercase=False, ngram_range=(1, 2), sublinear_tf=True)
    if pairs:
        vec.fit([_pieces(tok, t) for text, _ in splits["train"] for t in text])
    else:
        vec.fit([_pieces(tok, text) for text, _ in splits["train"]])

    def features(rows):
        if not pairs:
            return vec.transform([_pieces(tok, text) for text, _ in rows])
        a = vec.transform([_pieces(tok, text[0]) for text, _ in rows])
        b = vec.transform([_pieces(tok, text[1]) for text, _ in rows])
        return hstack([abs(a - b), a.multiply(b)]).tocsr()

    x = {s: features(rows) for s, rows in splits.items()}
    y = {s: np.array([label for _, label in rows]) for s, rows in splits.items()}
    valid, c, model = fit_logistic(x, y, C_GRID)
    pieces = [p for text, _ in splits["train"] for t in (text if pairs else (text,)) for p in tok.split(t)]
    unk = sum(p == "<unk>" for p in pieces) / max(len(pieces), 1)
    return BaselineResult(valid=valid, test=100.0 * model.score(x["test"], y["test"]), C=c, unk_share=unk,
                          features=x["train"].shape[1])
