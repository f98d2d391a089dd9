"""The task side of real-valued input: splits held as arrays, batches of ``inputs`` vectors, accuracy per prediction.

A task here says "my inputs are vectors of size d" (``input_size``) and how many there are per example
(``sequence_length``); the model side is the core's (``ssl_universal.models.vector_input``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ssl_universal.task import Task


class VectorSplit(Sequence):
    """Examples of one split as arrays: ``inputs`` [N, T, d], ``labels`` [N] or [N, P], extra per-example arrays."""

    def __init__(self, inputs: np.ndarray, labels: np.ndarray, **extra: np.ndarray):
        self.inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.extra = extra
        if len(self.inputs) != len(self.labels) or any(len(v) != len(self.labels) for v in extra.values()):
            raise ValueError(f"VectorSplit: {len(self.inputs)} inputs but {len(self.labels)} labels")
        self.lengths = np.full(len(self.labels), self.inputs.shape[1], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        if isinstance(index, slice):
            raise TypeError("VectorSplit: index one example at a time")
        return {"inputs": self.inputs[index], "label": self.labels[index], **{k: v[index] for k, v in self.extra.items()}}


class VectorTask(Task):
    """Classification of real-valued vector sequences; ``predictions_per_example`` > 1 scores each prediction."""

    default_tokenizer = None
    best_metric = "accuracy"
    best_mode = "max"
    predictions_per_example = 1  # predictions (classes) per example, e.g. one per bit
    read_positions = 1  # last positions the head reads them from
    input_size: int  # length of each input vector
    sequence_length: int  # vectors per example
    label_names: list[str]

    def arrays(self, split: str) -> VectorSplit:
        raise NotImplementedError

    def load_split(self, split: str) -> VectorSplit:
        data = self.arrays(split)
        if data.inputs.shape[1:] != (self.sequence_length, self.input_size):
            raise ValueError(f"{type(self).__name__} {split}: inputs of shape {data.inputs.shape[1:]}, expected "
                             f"({self.sequence_length}, {self.input_size})")
        return data

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        inputs = torch.from_numpy(np.stack([e["inputs"] for e in examples]))
        batch = {"inputs": inputs, "attention_mask": torch.ones(inputs.shape[:2], dtype=torch.long),
                 "labels": torch.from_numpy(np.stack([e["label"] for e in examples]))}
        for key in examples[0].keys() - {"inputs", "label"}:
            batch[key] = torch.from_numpy(np.stack([e[key] for e in examples]))
        return batch

    def eval_step(self, model, batch) -> dict:
        loss, outputs = self.loss(model, batch)
        result = {"loss": float(loss), "n": int(batch["labels"].shape[0]),
                  "predictions": outputs["logits"].float().argmax(-1).cpu(), "labels": batch["labels"].cpu()}
        for key in batch.keys() - {"inputs", "attention_mask", "labels"}:
            result[key] = batch[key].cpu()
        return result

    def score(self, steps: list[dict]) -> dict[str, float]:
        predictions = torch.cat([s["predictions"] for s in steps])
        labels = torch.cat([s["labels"] for s in steps])
        right = predictions == labels
        scores = {"accuracy": float(right.float().mean()) * 100.0}
        if right.dim() > 1:
            scores["string_accuracy"] = float(right.all(dim=1).float().mean()) * 100.0
        return scores
