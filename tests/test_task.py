"""The base Task's evaluation counts examples whatever its inputs are called."""

import pytest
import torch

from ssl_universal.task import Task, TaskConfig, examples_in


class VectorTask(Task):
    """A task whose batches carry real-valued vectors, not token ids."""

    def loss(self, model, batch):
        logits = model(batch["inputs"])
        return torch.nn.functional.cross_entropy(logits, batch["labels"]), {"logits": logits}


def test_eval_step_counts_examples_of_a_batch_without_input_ids():
    task = VectorTask(TaskConfig())
    batch = {"inputs": torch.randn(5, 3), "labels": torch.tensor([0, 1, 1, 0, 1])}
    step = task.eval_step(torch.nn.Linear(3, 2), batch)
    assert step["n"] == 5 and step["predictions"].shape == (5,)
    assert task.score([step])["accuracy"] == pytest.approx(float((step["predictions"] == batch["labels"]).float().mean()) * 100)


def test_examples_in_reads_labels_then_any_tensor_and_refuses_a_batch_without_one():
    assert examples_in({"labels": torch.zeros(4, 7), "input_ids": torch.zeros(4, 7)}) == 4
    assert examples_in({"name": "x", "waveform": torch.zeros(3, 16000)}) == 3
    with pytest.raises(ValueError, match="without tensors"):
        examples_in({"name": "x"})
