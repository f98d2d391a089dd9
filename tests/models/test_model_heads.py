"""The registered generic models: losses that train, the forward contract, export in Hugging Face layout."""

from __future__ import annotations

import json

import pytest
import torch

from ssl_universal.errors import ConfigError
from ssl_universal.models.backbone import BackboneTokenizer, resolve_backbone
from ssl_universal.models.heads import MASKED_LOGIT, token_cross_entropy
from ssl_universal.models.transfer_model import TransferModelConfig
from ssl_universal.registry import MODELS

KINDS = {  # model name → (task kind, num_labels)
    "seq_classifier": ("sequence", 3),
    "token_tagger": ("token", 3),
    "span_extractor": ("span", 2),
    "masked_lm": ("mlm", 2),
}


@pytest.fixture
def make_model(tiny_backbone, make_task):
    def make(name, kind=None, num_labels=None, **fields):
        task_kind, labels = KINDS[name]
        task = make_task(num_labels=num_labels or labels, kind=kind or task_kind)
        entry = MODELS.get(name)
        cfg = entry.build_config({"backbone": str(tiny_backbone), "assignment": "random", "assignment_seed": 0, **fields})
        torch.manual_seed(0)
        return entry.obj(cfg, task), task

    return make


def train_steps(model, batch, steps=15, lr=3e-3):
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        loss = model(**batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize(
    "name,kind,num_labels",
    [
        ("seq_classifier", "sequence", 3),
        ("seq_classifier", "regression", 1),
        ("token_tagger", "token", 3),
        ("span_extractor", "span", 2),
        ("masked_lm", "mlm", 2),
    ],
)
def test_loss_is_finite_and_falls(make_model, name, kind, num_labels):
    model, task = make_model(name, kind=kind, num_labels=num_labels, dropout=0.0)
    batch = task.batch()
    losses = train_steps(model, batch)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.7 * losses[0], losses


def test_output_shapes_follow_the_contract(make_model):
    model, task = make_model("seq_classifier")
    batch = task.batch(4)
    b, t = batch["input_ids"].shape
    assert model(**batch)["logits"].shape == (b, 3)
    regression, rtask = make_model("seq_classifier", kind="regression", num_labels=1)
    assert regression(**rtask.batch(4))["logits"].shape == (b, 1)
    tagger, ttask = make_model("token_tagger")
    assert tagger(**ttask.batch(4))["logits"].shape == (b, t, 3)
    span, stask = make_model("span_extractor")
    out = span(**stask.batch(4))
    assert out["start_logits"].shape == out["end_logits"].shape == (b, t)
    mlm, mtask = make_model("masked_lm")
    assert mlm(**mtask.batch(4))["logits"].shape == (b, t, mtask.tokenizer.vocab_size)


def test_unknown_batch_keys_and_missing_labels_are_fine(make_model):
    model, task = make_model("seq_classifier")
    batch = task.batch(4)
    batch.pop("labels")
    out = model(**batch, example_ids=torch.arange(4), lengths=torch.ones(4))
    assert "loss" not in out and out["logits"].shape[0] == 4
    without_mask = model(input_ids=batch["input_ids"])["logits"]
    model.eval()
    assert torch.allclose(model(input_ids=batch["input_ids"])["logits"], model(**batch)["logits"], atol=1e-5)
    assert without_mask.shape == (4, 3)


def test_span_positions_outside_passage_are_masked_and_ignored(make_model):
    model, task = make_model("span_extractor")
    batch = task.batch(2)
    passage = torch.zeros_like(batch["input_ids"])
    passage[:, 3:6] = 1
    out = model(**batch, passage_mask=passage)
    assert (out["start_logits"][:, :3] == MASKED_LOGIT).all() and (out["end_logits"][:, 6:] == MASKED_LOGIT).all()
    # start 2 lies outside the passage: only the end position (4) counts, so the loss stays moderate.
    assert float(out["loss"].detach()) < 10
    all_outside = dict(batch, start_positions=torch.tensor([0, 0]), end_positions=torch.tensor([99, 99]))
    assert float(model(**all_outside, passage_mask=passage)["loss"].detach()) == 0.0


def test_token_loss_without_targets_is_zero_not_nan():
    logits = torch.randn(2, 5, 3, requires_grad=True)
    loss = token_cross_entropy(logits, torch.full((2, 5), -100))
    loss.backward()
    assert float(loss.detach()) == 0.0 and logits.grad is not None


def test_mlm_reuses_the_pretrained_head_and_ties_output_rows(tiny_backbone, make_model):
    from transformers import AutoModelForMaskedLM

    model, task = make_model("masked_lm")
    original = AutoModelForMaskedLM.from_pretrained(str(tiny_backbone))
    assert model.mlm_head_pretrained
    head = model.hf.cls.predictions
    assert torch.equal(head.transform.dense.weight, original.cls.predictions.transform.dense.weight)
    assert head.decoder.weight is model.hf.bert.embeddings.word_embeddings.weight
    rows = model.mapping.rows()
    assert torch.equal(head.bias, original.cls.predictions.bias[rows])
    assert head.decoder.weight.shape[0] == task.tokenizer.vocab_size


def test_save_pretrained_loads_with_transformers(make_model, tmp_path):
    from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM

    model, task = make_model("seq_classifier", freeze_policy="fpt")
    model.save_pretrained(tmp_path / "cls")
    encoder = AutoModel.from_pretrained(str(tmp_path / "cls"))
    assert torch.equal(encoder.embeddings.word_embeddings.weight, model.encoder.embeddings.word_embeddings.weight)
    assert torch.equal(encoder.encoder.layer[1].output.dense.weight, model.encoder.encoder.layer[1].output.dense.weight)
    config = AutoConfig.from_pretrained(str(tmp_path / "cls"))
    assert config.vocab_size == task.tokenizer.vocab_size and config.ssl_universal["model_config"]["freeze_policy"] == "fpt"
    mapping = json.loads((tmp_path / "cls" / "symbol_mapping.json").read_text())
    assert mapping["symbols"] == task.tokenizer.symbols and mapping["token_ids"] == model.mapping.token_ids

    mlm, _ = make_model("masked_lm")
    mlm.save_pretrained(tmp_path / "mlm")
    loaded = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "mlm"))
    assert torch.equal(loaded.cls.predictions.bias, mlm.hf.cls.predictions.bias)
    assert (tmp_path / "mlm" / "symbol_mapping.json").is_file()


def test_positions_grow_and_too_long_tasks_are_refused(make_model, make_task, tiny_backbone):
    model, _ = make_model("seq_classifier", max_positions=80)
    assert model.encoder.embeddings.position_embeddings.num_embeddings == 80
    original, _ = resolve_backbone(str(tiny_backbone))
    assert torch.equal(model.encoder.embeddings.position_embeddings.weight[:64], original.embeddings.position_embeddings.weight)
    # growing the positions draws its rows from its own generator: the head (drawn after it) is the same
    plain, _ = make_model("seq_classifier")
    for name, weight in plain.head.state_dict().items():
        assert torch.equal(model.head.state_dict()[name], weight), name
    long_task = make_task()
    long_task.cfg.max_length = 100
    cfg = TransferModelConfig(backbone=str(tiny_backbone), assignment="random", assignment_seed=0)
    with pytest.raises(ConfigError, match="max_positions"):
        MODELS.get("seq_classifier").obj(cfg, long_task)


def test_config_checks(make_model):
    with pytest.raises(ConfigError, match="scratch"):
        make_model("seq_classifier", hidden_size=16)
    with pytest.raises(ConfigError, match="statistics_only"):
        make_model("seq_classifier", assignment="scratch", init="statistics_only")
    with pytest.raises(ConfigError, match="cls, mean"):
        make_model("seq_classifier", pooling="max")
    model, _ = make_model("seq_classifier", num_layers=1, dropout=0.0, pooling="mean")
    assert len(model.encoder.encoder.layer) == 1 and model.encoder.config.hidden_dropout_prob == 0.0


def test_text_classifier_on_the_packaged_backbone(make_task):
    """The packaged MiniLM with its own tokenizer: embeddings kept, no pooler left to break DDP."""
    task = make_task(num_labels=2)
    task.tokenizer = BackboneTokenizer()
    model = MODELS.get("seq_classifier").obj(TransferModelConfig(), task)
    assert model.encoder.pooler is None and model.mapping.assignment == "none"
    ids = [task.tokenizer.encode("a great film"), task.tokenizer.encode("dull")]
    batch = task.collate([{"input_ids": ids[0], "label": 1}, {"input_ids": ids[1], "label": 0}])
    out = model(**batch)
    out["loss"].backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert torch.isfinite(out["loss"]) and unused == []
