"""Backbone resolution: local folders, the packaged default, random init, and clear errors."""

from __future__ import annotations

import pytest
import torch

from ssl_universal.errors import ConfigError
from ssl_universal.models.backbone import (
    DEFAULT_BACKBONE,
    BackboneTokenizer,
    BackboneTokenizerConfig,
    default_backbone_dir,
    resolve_backbone,
)
from ssl_universal.registry import TOKENIZERS


@pytest.fixture(scope="module")
def minilm():
    return resolve_backbone("default")


def test_local_folder_loads_the_saved_weights(tiny_backbone):
    from safetensors.torch import load_file

    model, tokenizer = resolve_backbone(str(tiny_backbone))
    saved = load_file(str(tiny_backbone / "model.safetensors"))
    assert torch.equal(model.embeddings.word_embeddings.weight, saved["bert.embeddings.word_embeddings.weight"])
    assert tokenizer.convert_ids_to_tokens(2) == "[CLS]"


def test_packaged_default_is_the_minilm(minilm):
    assert default_backbone_dir().joinpath("config.json").is_file()
    assert minilm.name == DEFAULT_BACKBONE
    assert minilm.model.config.hidden_size == 384 and minilm.model.config.num_hidden_layers == 6
    ids = minilm.tokenizer("hello world")["input_ids"]
    assert ids[0] == minilm.tokenizer.cls_token_id and ids[-1] == minilm.tokenizer.sep_token_id


def test_missing_folder_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="no such folder") as info:
        resolve_backbone(str(tmp_path / "nowhere"))
    assert "default" in str(info.value)


def test_unknown_model_id_is_not_downloaded():
    with pytest.raises(ConfigError, match="allow_download"):
        resolve_backbone("no-such-owner/no-such-model-xyz")


def test_model_id_in_the_local_cache_loads_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants
    from transformers import BertConfig, BertModel

    repo = tmp_path / "models--someone--tiny"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8)
    BertModel(config).save_pretrained(str(snapshot))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    backbone = resolve_backbone("someone/tiny")
    assert backbone.name == "someone--tiny" and backbone.model.config.hidden_size == 8


def test_folder_without_tokenizer_gives_none_and_a_clear_error_where_needed(tmp_path, make_task):
    from transformers import BertConfig, BertModel

    from ssl_universal.models.generic import TransferModelConfig, seq_classifier

    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8)
    BertModel(config).save_pretrained(str(tmp_path))
    assert resolve_backbone(str(tmp_path)).tokenizer is None
    with pytest.raises(ConfigError, match="tokenizer"):
        seq_classifier(TransferModelConfig(backbone=str(tmp_path), assignment="random"), make_task())
    model = seq_classifier(TransferModelConfig(backbone=str(tmp_path), assignment="reinit"), make_task())
    assert model.encoder.embeddings.word_embeddings.num_embeddings == 9


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="config.json"):
        resolve_backbone(str(tmp_path))


def test_random_init_takes_size_overrides(tiny_backbone):
    model, _ = resolve_backbone(str(tiny_backbone), init="random", num_hidden_layers=1, hidden_size=16, num_attention_heads=2)
    assert model.config.hidden_size == 16 and len(model.encoder.layer) == 1
    assert model.embeddings.word_embeddings.weight.shape == (37, 16)


def test_pretrained_keeps_first_layers_but_refuses_new_shapes(tiny_backbone):
    full, _ = resolve_backbone(str(tiny_backbone))
    short, _ = resolve_backbone(str(tiny_backbone), num_hidden_layers=1)
    assert len(short.encoder.layer) == 1
    assert torch.equal(short.encoder.layer[0].attention.self.query.weight, full.encoder.layer[0].attention.self.query.weight)
    with pytest.raises(ConfigError, match="scratch"):
        resolve_backbone(str(tiny_backbone), hidden_size=16)
    with pytest.raises(ConfigError, match="1..2"):
        resolve_backbone(str(tiny_backbone), num_hidden_layers=5)


def test_mlm_head_presence_is_reported(tiny_backbone, minilm):
    assert resolve_backbone(str(tiny_backbone), with_mlm_head=True).mlm_head_pretrained
    # The packaged sentence-embedding checkpoint has no MLM head.
    assert not resolve_backbone("default", with_mlm_head=True).mlm_head_pretrained


def test_backbone_tokenizer_uses_the_hf_vocabulary(tiny_backbone):
    assert TOKENIZERS.get("backbone").obj is BackboneTokenizer
    tok = BackboneTokenizer(BackboneTokenizerConfig(backbone=str(tiny_backbone)))
    assert tok.symbols[:3] == ["[PAD]", "[UNK]", "[CLS]"] and tok.vocab_size == 37
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 1, 2, 3, 4)
    ids = tok.encode("the cats")
    assert ids == [2, tok.id_of("the"), tok.id_of("cat"), tok.id_of("##s"), 3]
    assert tok.decode(ids) == ["the", "cat", "##s"]
    pair = tok.encode(("the cat", "a dog"))
    assert pair.count(tok.sep_id) == 2
