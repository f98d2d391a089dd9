"""Real-valued input and the fpt freeze on BERT and GPT-2 layouts: what is frozen, what trains, how it is read."""

from __future__ import annotations

import json
import re

import pytest
import torch

from ssl_universal.errors import ConfigError
from ssl_universal.models.generic import TransferModelConfig, seq_classifier
from ssl_universal.models.vector_input import INPUT_LAYER_FILE
from ssl_universal.task import Task, TaskConfig
from ssl_universal.tokenizer import Tokenizer


class VectorToyTask(Task):
    """Vectors of size 6 at 5 positions; the label is the sign of the last vector's first entry."""

    def __init__(self, predictions=1, read_positions=1, num_labels=2):
        super().__init__(TaskConfig())
        self.input_size, self.sequence_length = 6, 5
        self.predictions_per_example, self.read_positions = predictions, read_positions
        self._num_labels = num_labels

    @property
    def num_labels(self):
        return self._num_labels

    def batch(self, n=8, seed=0):
        g = torch.Generator().manual_seed(seed)
        inputs = torch.randn(n, self.sequence_length, self.input_size, generator=g)
        if self.predictions_per_example > 1:
            labels = (inputs[:, -self.read_positions:, :2].reshape(n, -1) > 0).long()
        else:
            labels = (inputs[:, -1, 0] > 0).long()
        return {"inputs": inputs, "attention_mask": torch.ones(n, self.sequence_length, dtype=torch.long), "labels": labels}


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory):
    """A tiny random GPT-2 in Hugging Face layout (save_pretrained; no tokenizer files)."""
    from transformers import GPT2Config, GPT2Model

    folder = tmp_path_factory.mktemp("tiny_gpt2")
    torch.manual_seed(123)  # not a seed the models below use, so `scratch` cannot redraw the same weights
    config = GPT2Config(vocab_size=50, n_positions=32, n_embd=32, n_layer=2, n_head=2, n_inner=64, bos_token_id=0, eos_token_id=0)
    GPT2Model(config).save_pretrained(str(folder))
    return folder


@pytest.fixture(params=["bert", "gpt2"])
def layout(request, tiny_backbone, tiny_gpt2):
    return request.param, str(tiny_backbone if request.param == "bert" else tiny_gpt2)


# Attention and feed-forward weights, written out by name for each layout (not by the code under test).
FROZEN_BY_LAYOUT = {
    "bert": re.compile(r"^hf\.encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense"
                       r"|intermediate\.dense|output\.dense)\.(weight|bias)$"),
    "gpt2": re.compile(r"^hf\.h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.(weight|bias)$"),
}
TOKEN_TABLE = {"bert": "hf.embeddings.word_embeddings.weight", "gpt2": "hf.wte.weight"}
POSITIONS = {"bert": "hf.embeddings.position_embeddings.weight", "gpt2": "hf.wpe.weight"}


def vector_model(backbone, task=None, **fields):
    fields.setdefault("assignment", "reinit")
    fields.setdefault("freeze_policy", "fpt")
    fields.setdefault("pooling", "last")
    return seq_classifier(TransferModelConfig(backbone=backbone, assignment_seed=0, **fields), task or VectorToyTask())


def test_fpt_freezes_exactly_attention_and_feed_forward(layout):
    name, backbone = layout
    model = vector_model(backbone)
    names = [n for n, _ in model.named_parameters()]
    expected = sorted(n for n in names if FROZEN_BY_LAYOUT[name].match(n))
    assert len(expected) == {"bert": 2 * 12, "gpt2": 2 * 8}[name]  # per layer: q k v out ff1 ff2 | c_attn c_proj c_fc c_proj
    assert sorted(model.frozen_parameters) == expected
    assert model.unused_parameters == [TOKEN_TABLE[name]]
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(names) - set(expected) - {TOKEN_TABLE[name]}
    assert {"vector_input.projection.weight", "vector_input.projection.bias", POSITIONS[name]} <= trainable
    norms = {n for n in names if re.search(r"(LayerNorm|ln_\d|ln_f)\.", n)}
    assert norms and norms <= trainable
    assert any(n.startswith("head.") for n in trainable)


def test_full_fine_tuning_freezes_nothing_but_the_unused_token_table(layout):
    name, backbone = layout
    model = vector_model(backbone, freeze_policy="none")
    assert model.frozen_parameters == []
    assert [n for n, p in model.named_parameters() if not p.requires_grad] == [TOKEN_TABLE[name]]


def test_input_projection_trains_while_the_frozen_body_stays_bit_identical(layout):
    _, backbone = layout
    task = VectorToyTask()
    model = vector_model(backbone, task)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for step in range(3):
        loss = model(**task.batch(seed=step))["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = dict(model.named_parameters())
    assert not torch.equal(before["vector_input.projection.weight"], after["vector_input.projection.weight"])
    for n in model.frozen_parameters:
        assert torch.equal(before[n], after[n]), n


def test_input_layer_is_orthogonal_with_the_reference_gain_and_zero_bias(tiny_backbone):
    model = vector_model(str(tiny_backbone), input_gain=1.41)
    weight = model.vector_input.projection.weight.detach()  # [hidden=32, input=6]: orthonormal columns x gain
    assert torch.allclose(weight.T @ weight, 1.41**2 * torch.eye(6), atol=1e-5)
    assert torch.equal(model.vector_input.projection.bias.detach(), torch.zeros(32))
    same = vector_model(str(tiny_backbone), input_gain=1.41).vector_input.projection.weight
    assert torch.equal(weight, same.detach())  # fixed by the seed


def test_last_pooling_reads_the_last_position_and_cls_adds_a_trained_start_vector(tiny_backbone):
    task = VectorToyTask()
    batch = task.batch(n=2)
    last = vector_model(str(tiny_backbone), task, dropout=0.0).eval()
    hidden, mask = last.hidden_states(inputs=batch["inputs"], attention_mask=batch["attention_mask"])
    assert hidden.shape == (2, 5, 32)
    expected = last.head.out(hidden[:, -1])
    assert torch.allclose(last(**batch)["logits"], expected, atol=1e-6)
    cls = vector_model(str(tiny_backbone), task, pooling="cls", dropout=0.0).eval()
    hidden, mask = cls.hidden_states(inputs=batch["inputs"], attention_mask=batch["attention_mask"])
    assert hidden.shape == (2, 6, 32) and mask.shape == (2, 6)
    assert cls.vector_input.start.requires_grad


def test_several_predictions_come_from_the_last_read_positions(layout):
    _, backbone = layout
    task = VectorToyTask(predictions=4, read_positions=2)
    model = vector_model(backbone, task)
    out = model(**task.batch(n=3))
    assert out["logits"].shape == (3, 4, 2)
    assert out["loss"].ndim == 0 and torch.isfinite(out["loss"])
    with pytest.raises(ConfigError, match="model.pooling=last"):
        vector_model(backbone, task, pooling="mean")


def test_vectors_refuse_a_symbol_assignment_and_too_few_positions(tiny_backbone):
    with pytest.raises(ConfigError, match="assignment=reinit"):
        vector_model(str(tiny_backbone), assignment="random")
    long = VectorToyTask()
    long.sequence_length = 80  # the tiny BERT has 64 positions
    with pytest.raises(ConfigError, match="max_positions=80"):
        vector_model(str(tiny_backbone), long)
    assert vector_model(str(tiny_backbone), long, max_positions=80).hf.config.max_position_embeddings == 80


def test_statistics_only_and_scratch_bodies_differ_from_the_pretrained_one(tiny_gpt2):
    weight = "hf.h.0.attn.c_attn.weight"
    pretrained = dict(vector_model(str(tiny_gpt2)).named_parameters())[weight]
    statistics = dict(vector_model(str(tiny_gpt2), init="statistics_only").named_parameters())[weight]
    scratch = dict(vector_model(str(tiny_gpt2), assignment="scratch").named_parameters())[weight]
    assert not torch.equal(pretrained, statistics) and not torch.equal(pretrained, scratch)
    assert abs(float(statistics.mean() - pretrained.mean())) < 0.01
    assert abs(float(statistics.std() - pretrained.std())) < 0.01


def test_saved_folder_loads_as_the_backbone_and_describes_its_input_layer(tiny_gpt2, tmp_path):
    from transformers import AutoModel

    model = vector_model(str(tiny_gpt2))
    model.save_pretrained(tmp_path)
    layer = json.loads((tmp_path / INPUT_LAYER_FILE).read_text())
    assert layer == {"kind": "linear", "input_size": 6, "gain": 1.41, "start_vector": False, "weights_prefix": "vector_input."}
    loaded = AutoModel.from_pretrained(str(tmp_path))
    assert torch.equal(loaded.h[0].attn.c_attn.weight, model.hf.h[0].attn.c_attn.weight)
    assert loaded.wte.weight.shape[0] == 1


def test_symbol_tasks_run_on_gpt2_with_new_embeddings(tiny_gpt2):
    class Symbols(Task):
        num_labels = 3

    task = Symbols(TaskConfig(max_length=16), Tokenizer(symbols=list("abc")))
    model = seq_classifier(TransferModelConfig(backbone=str(tiny_gpt2), assignment="reinit", freeze_policy="fpt",
                                               pooling="last", assignment_seed=0), task)
    batch = task.collate([{"input_ids": task.tokenizer.encode("abca"), "label": 1},
                          {"input_ids": task.tokenizer.encode("c"), "label": 2}])
    out = model(**batch)
    assert out["logits"].shape == (2, 3)
    assert model.hf.wte.weight.shape[0] == task.tokenizer.vocab_size and model.hf.wte.weight.requires_grad
    assert len(model.frozen_parameters) == 16


@pytest.mark.parametrize("assignment", ["reinit", "scratch"])
def test_model_dropout_reaches_gpt2_under_its_own_field_names(tiny_gpt2, assignment):
    """model.dropout is written in BERT's names; on GPT-2 it must set resid/embd/attn_pdrop, not fail or vanish."""
    model = vector_model(str(tiny_gpt2), assignment=assignment, dropout=0.37)
    config = model.hf.config
    assert (config.resid_pdrop, config.embd_pdrop, config.attn_pdrop) == (0.37, 0.37, 0.37)
    assert model.hf.h[0].attn.resid_dropout.p == 0.37 and model.hf.drop.p == 0.37
