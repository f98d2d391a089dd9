"""Fixtures shared by the plugin tests: a registered task on its default tokenizer, a tiny BERT and a short training loop.

A plugin's own conftest may define fixtures of the same names; the nearer one wins (text does).
"""

from __future__ import annotations

import random

import pytest
import torch

from ssl_universal.plugins import load_plugins
from ssl_universal.registry import TASKS, TOKENIZERS


@pytest.fixture
def make_task():
    """``make_task(name, tokenizer=dict(...), **task_config)`` → a registered task with its default tokenizer."""
    load_plugins()

    def build(name: str, tokenizer: dict | None = None, **values):
        entry = TASKS.get(name)
        tok_entry = TOKENIZERS.get(entry.obj.default_tokenizer)
        return entry.obj(entry.build_config(values), tok_entry.obj(tok_entry.build_config(tokenizer or {})))

    return build


def tiny_bert(vocab_size: int, num_labels: int, seed: int = 0):
    """A one-layer random BERT classifier (regression when num_labels == 1)."""
    import transformers

    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=256, num_labels=num_labels, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    return transformers.BertForSequenceClassification(config)


def train(task, model, steps: int, batch_size: int = 16, lr: float = 1e-3, seed: int = 0) -> list[float]:
    data = task.dataset("train")
    order = list(range(len(data)))
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for step in range(steps):
        if step * batch_size % len(order) < batch_size:
            rng.shuffle(order)
        start = step * batch_size % len(order)
        loss, _ = task.loss(model, task.collate([data[i] for i in order[start : start + batch_size]]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def evaluate(task, model, split: str = "test", batch_size: int = 64) -> dict[str, float]:
    model.eval()
    data = task.dataset(split)
    return task.score([task.eval_step(model, task.collate(list(data[i : i + batch_size]))) for i in range(0, len(data), batch_size)])


@pytest.fixture
def loop():
    class Loop:
        model = staticmethod(tiny_bert)
        train = staticmethod(train)
        evaluate = staticmethod(evaluate)

    return Loop
