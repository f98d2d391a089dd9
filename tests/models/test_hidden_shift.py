"""The hidden-state shift: exactly the chosen layer's output moves by the vector, earlier layers do not, a zero vector changes nothing (BERT and XLM-R layouts)."""

from __future__ import annotations

import pytest
import torch

from ssl_universal.errors import ConfigError
from ssl_universal.models.hidden_shift import HiddenShift, encoder_blocks, layer_module, per_example


def tiny(kind: str, head: bool = False):
    from transformers import BertConfig, BertForMaskedLM, BertModel, XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaModel

    sizes = dict(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
    )
    torch.manual_seed(0)
    if kind == "bert":
        config = BertConfig(**sizes)
        model = (BertForMaskedLM if head else BertModel)(config)
    else:
        config = XLMRobertaConfig(**sizes, pad_token_id=1)
        model = (XLMRobertaForMaskedLM if head else XLMRobertaModel)(config)
    return model.eval()


def hidden_states(model, ids, mask):
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    return out.hidden_states, getattr(out, "logits", None)


IDS = torch.tensor([[0, 5, 6, 7, 2], [0, 8, 9, 2, 1]])
MASK = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])


@pytest.mark.parametrize("kind", ["bert", "xlmr"])
@pytest.mark.parametrize("layer", [0, 2])
def test_shift_moves_exactly_the_chosen_layer_and_what_follows(kind, layer):
    model = tiny(kind)
    before, _ = hidden_states(model, IDS, MASK)
    vector = torch.linspace(-1, 1, 16)
    with HiddenShift(model, layer, vector):
        after, _ = hidden_states(model, IDS, MASK)
    for depth in range(layer):
        assert torch.equal(after[depth], before[depth])  # upstream untouched
    assert torch.allclose(after[layer] - before[layer], vector.expand_as(before[layer]), atol=1e-6)  # every position, exactly +v
    assert not torch.allclose(after[layer + 1], before[layer + 1], atol=1e-3)  # the next block sees the shifted input
    again, _ = hidden_states(model, IDS, MASK)  # leaving the context removes the hook
    assert all(torch.equal(a, b) for a, b in zip(again, before))


@pytest.mark.parametrize("kind", ["bert", "xlmr"])
def test_zero_vector_changes_nothing_through_the_mlm_head(kind):
    model = tiny(kind, head=True)
    before, logits = hidden_states(model, IDS, MASK)
    with HiddenShift(model, 2, torch.zeros(16)):
        after, shifted_logits = hidden_states(model, IDS, MASK)
    assert all(torch.equal(a, b) for a, b in zip(after, before)) and torch.equal(logits, shifted_logits)
    with HiddenShift(model, 2, torch.ones(16)):
        _, moved = hidden_states(model, IDS, MASK)
    assert not torch.allclose(moved, logits, atol=1e-3)


def test_per_example_vectors_shift_each_row_by_its_own_language():
    model = tiny("bert")
    before, _ = hidden_states(model, IDS, MASK)
    means = {"en": torch.zeros(16), "de": torch.full((16,), 0.5)}
    with HiddenShift(model, 1, per_example(means, ["de", "en"])):
        after, _ = hidden_states(model, IDS, MASK)
    assert torch.allclose(after[1][0] - before[1][0], torch.full((5, 16), 0.5), atol=1e-6)
    assert torch.equal(after[1][1], before[1][1])
    with pytest.raises(ConfigError, match="no shift vector for \\['fr'\\]"):
        per_example(means, ["fr"])
    with HiddenShift(model, 1, per_example(means, ["de", "en", "en"])), pytest.raises(ConfigError, match="batch holds 2"):
        hidden_states(model, IDS, MASK)


def test_layouts_and_bad_arguments_are_reported():
    model = tiny("xlmr", head=True)
    assert len(encoder_blocks(model)) == 3 and layer_module(model, 0) is model.roberta.embeddings
    with pytest.raises(ConfigError, match="out of range .* 0 \\(embeddings\\) .. 3"):
        HiddenShift(model, 4, torch.zeros(16))
    with pytest.raises(ConfigError, match="expected \\[16\\]"):
        HiddenShift(model, 1, torch.zeros(8))
    with pytest.raises(ConfigError, match="no transformer blocks"):
        encoder_blocks(torch.nn.Linear(2, 2))
