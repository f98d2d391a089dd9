"""Fixtures of the model tests: a tiny 2-layer BERT folder (40-token vocabulary) and a toy task."""

from __future__ import annotations

import json
import random

import pytest
import torch

from ssl_universal.task import Task, TaskConfig
from ssl_universal.tokenizer import Tokenizer

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]"]
WORDS = [
    "the", "a", "of", "and", "to", "in", "is", "it", "you", "that", "he", "was", "for", "on", "are",
    "with", "as", "cat", "dog", "sat", "mat", "ran", "big", "red", "sun", "sky", "sea", "##s", "##ed", "##ing",
]  # fmt: skip
# Corpus counts of the tiny vocabulary: "the" most frequent, then decreasing; "sea".."##ing" never seen.
TOKEN_COUNTS = {w: 1000 - 30 * i for i, w in enumerate(WORDS[:26])}


class ToyTask(Task):
    """Random sequences over a small alphabet with a label from the first symbol; any head."""

    def __init__(self, alphabet="ACGT", num_labels=2, n=24, length=12, seed=0, kind="sequence"):
        super().__init__(TaskConfig(max_length=64), Tokenizer(symbols=list(alphabet)))
        self._num_labels = num_labels
        self.kind = kind
        rng = random.Random(seed)
        # Skewed symbol frequencies so frequency ranks are unambiguous: alphabet[0] most common.
        weights = [2 ** (len(alphabet) - i) for i in range(len(alphabet))]
        self._train = []
        for _ in range(n):
            seq = "".join(rng.choices(alphabet, weights=weights, k=length))
            self._train.append({"input_ids": self.tokenizer.encode(seq), "label": alphabet.index(seq[0]) % max(num_labels, 2)})

    def load_split(self, split):
        return self._train

    @property
    def num_labels(self):
        return self._num_labels

    def batch(self, n=8):
        examples = self._train[:n]
        batch = self.collate(examples)
        ids = batch["input_ids"]
        if self.kind == "regression":
            batch["labels"] = batch["labels"].float() * 0.5
        elif self.kind == "token":
            batch["labels"] = torch.where(batch["attention_mask"].bool(), ids % self._num_labels, -100)
        elif self.kind == "span":
            batch.pop("labels")
            batch["start_positions"] = torch.full((ids.shape[0],), 2)
            batch["end_positions"] = torch.full((ids.shape[0],), 4)
        elif self.kind == "mlm":
            labels = torch.full_like(ids, -100)
            labels[:, 1:4] = ids[:, 1:4]
            batch["input_ids"] = ids.clone()
            batch["input_ids"][:, 1:4] = self.tokenizer.mask_id
            batch["labels"] = labels
        return batch


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory):
    """A folder in Hugging Face layout: tiny random BertForMaskedLM, its tokenizer, and a counts table."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny_bert")
    (folder / "vocab.txt").write_text("\n".join(SPECIALS + WORDS) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(str(folder))
    config = BertConfig(
        vocab_size=len(SPECIALS) + len(WORDS),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertForMaskedLM(config).save_pretrained(str(folder))
    (folder / "counts.json").write_text(json.dumps({"counts": TOKEN_COUNTS}))
    return folder


@pytest.fixture
def make_task():
    """``make_task(alphabet=..., num_labels=..., kind=...)`` → a ToyTask (tests import nothing from here)."""
    return ToyTask


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; more threads only contend on a 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
