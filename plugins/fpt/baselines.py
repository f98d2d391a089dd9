"""Trivial references on the same splits as the transformer: chance (majority class), logistic regression, and bit copying.

Logistic regression reads the raw input (every pixel or bit; ListOps: how often each symbol occurs) and
is fitted per output (per bit for the bit tasks), its C chosen on the valid split.
"""

from __future__ import annotations

import warnings

import numpy as np

from .tasks import BitMemoryTask
from .vectors import VectorTask

C_GRID = (0.1, 1.0, 10.0)


def features(task, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(X [N, F], Y [N] or [N, P]) of a split: raw vectors flattened, or symbol counts for a symbol task."""
    data = task.dataset(split)
    if isinstance(task, VectorTask):
        return data.inputs.reshape(len(data), -1), data.labels
    size = task.tokenizer.vocab_size
    counts = np.stack([np.bincount(np.asarray(e["input_ids"]), minlength=size) for e in data]).astype(np.float32)
    return counts, np.array([e["label"] for e in data], dtype=np.int64)


def _accuracy(predicted: np.ndarray, gold: np.ndarray) -> float:
    return float((predicted == gold).mean()) * 100.0


def majority(task, splits=("valid", "test")) -> dict[str, float]:
    """Accuracy of always answering the training split's most common class (per output for multi-output tasks)."""
    _, y_train = features(task, "train")
    columns = y_train.reshape(len(y_train), -1)
    common = np.array([np.bincount(c).argmax() for c in columns.T])
    out = {}
    for split in splits:
        _, y = features(task, split)
        out[split] = _accuracy(np.broadcast_to(common, y.reshape(len(y), -1).shape).reshape(y.shape), y)
    return out


def logistic_regression(task, splits=("valid", "test")) -> dict[str, float]:
    """Accuracy of logistic regression on the raw input (one model per output), C picked on valid."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x_train, y_train = features(task, "train")
    scaler = StandardScaler().fit(x_train)
    data = {s: features(task, s) for s in {"valid", *splits}}
    data = {s: (scaler.transform(x), y) for s, (x, y) in data.items()}
    x_train = scaler.transform(x_train)
    targets = y_train.reshape(len(y_train), -1)

    def fit_predict(c: float) -> dict[str, np.ndarray]:
        predictions = {s: np.zeros((len(y), targets.shape[1]), dtype=np.int64) for s, (_, y) in data.items()}
        for j in range(targets.shape[1]):
            column = targets[:, j]
            if len(np.unique(column)) == 1:
                for s in predictions:
                    predictions[s][:, j] = column[0]
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence warnings on separable bits
                model = LogisticRegression(C=c, max_iter=300).fit(x_train, column)
            for s, (x, _) in data.items():
                predictions[s][:, j] = model.predict(x)
        return {s: p.reshape(data[s][1].shape) for s, p in predictions.items()}

    tried = {c: fit_predict(c) for c in C_GRID}
    best = max(C_GRID, key=lambda c: _accuracy(tried[c]["valid"], data["valid"][1]))
    return {s: _accuracy(tried[best][s], data[s][1]) for s in splits}


def copy_visible_bits(task: BitMemoryTask, splits=("valid", "test")) -> dict[str, float]:
    """Bit memory: copy each shown query bit, answer 1 for a hidden one (75% per bit when half are hidden)."""
    out = {}
    for split in splits:
        data = task.dataset(split)
        query = data.inputs[:, -task.read_positions :].reshape(len(data), -1)
        out[split] = _accuracy(np.where(query < 0, 0, 1), data.labels)
    return out


def all_baselines(task) -> dict[str, dict[str, float]]:
    """Every reference that applies to ``task``: name -> {split: accuracy}."""
    out = {"chance (majority class)": majority(task), "logistic regression": logistic_regression(task)}
    if isinstance(task, BitMemoryTask):
        out["copy visible bits"] = copy_visible_bits(task)
    return out
