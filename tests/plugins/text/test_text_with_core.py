"""The text tasks with the core pieces: the `backbone` tokenizer, the registered models, the recipes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from ssl_universal.plugins import load_plugins
from ssl_universal.registry import MODELS, TASKS, TOKENIZERS

RECIPES = Path(__file__).resolve().parents[3] / "recipes" / "text"
TINY = {
    "assignment": "scratch",
    "num_layers": 1,
    "hidden_size": 32,
    "num_heads": 2,
    "intermediate_size": 64,
    "dropout": 0.0,
}


def build(task_name: str, model_name: str, **task_values):
    load_plugins()
    tokenizer_entry = TOKENIZERS.get("backbone")
    tokenizer = tokenizer_entry.obj(tokenizer_entry.config_class())
    entry = TASKS.get(task_name)
    task = entry.obj(entry.build_config(task_values), tokenizer)
    model_entry = MODELS.get(model_name)
    torch.manual_seed(0)
    return task, model_entry.obj(model_entry.build_config(TINY), task)


@pytest.mark.parametrize("name", ["classification", "qa", "ner", "mlm"])
def test_recipes_validate_against_the_config_schema(name):
    from ssl_universal.config import load_config

    cfg = load_config([f"recipe=text/{name}"])
    assert cfg.task.data_dir is None  # runs offline on the prepared fortunes data
    assert (
        TASKS.get(cfg.task.name).obj.default_tokenizer
        == cfg.tokenizer.name
        == "backbone"
    )


@pytest.mark.slow
def test_classification_with_backbone_tokenizer_and_seq_classifier(
    tmp_path, loop, words
):
    rng = random.Random(0)
    lines = ["text\tlabel"]
    for i in range(120):
        pool = words["animals"] if i % 2 else words["vehicles"]
        filler = [rng.choice(words["filler"]) for _ in range(6)]
        filler.insert(rng.randrange(6), rng.choice(pool))
        lines.append(f"{' '.join(filler)}\t{'animal' if i % 2 else 'vehicle'}")
    for split in ("train", "valid"):
        (tmp_path / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    task, model = build("text_classification", "seq_classifier", data_dir=str(tmp_path))
    loop.train(task, model, steps=40)
    assert loop.evaluate(task, model)["accuracy"] >= 85.0


def test_qa_batches_fit_the_span_extractor(tmp_path, loop):
    context = "the cat sat on the mat while the dog slept by the door"
    qas = [
        {
            "id": str(i),
            "question": "who slept?",
            "answers": [{"text": "dog", "answer_start": context.index("dog")}],
        }
        for i in range(4)
    ]
    document = {"data": [{"paragraphs": [{"context": context, "qas": qas}]}]}
    for split in ("train", "valid"):
        (tmp_path / f"{split}.json").write_text(json.dumps(document))
    task, model = build(
        "extractive_qa",
        "span_extractor",
        data_dir=str(tmp_path),
        max_length=32,
        doc_stride=8,
        max_query_length=8,
    )
    losses = loop.train(task, model, steps=2, batch_size=4)
    scores = loop.evaluate(task, model)
    assert all(torch.isfinite(torch.tensor(losses))) and set(scores) == {
        "exact_match",
        "f1",
    }
