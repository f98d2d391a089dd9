"""Pre-training on an artificial corpus gives a backbone (HF layout, tokenizer, token counts) that English tasks transfer onto."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

import ssl_universal_plugins.artificial  # noqa: F401  (registers the plugin)
from ssl_universal import run
from ssl_universal.config import load_config
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.models.backbone import resolve_backbone
from ssl_universal.models.transfer import SymbolMapping, load_token_counts
from ssl_universal_plugins.artificial import recipe_path
from ssl_universal_plugins.artificial.tasks import ArtificialMLMConfig, ArtificialMLMTask, EnglishProxyConfig, EnglishProxyTask
from ssl_universal_plugins.artificial.tokenizer import (
    ArtificialTokenizer,
    ArtificialTokenizerConfig,
    EnglishPiecesConfig,
    EnglishPiecesTokenizer,
)


def test_artificial_tokenizer_ids_follow_the_generator_and_its_hf_twin():
    tok = ArtificialTokenizer(ArtificialTokenizerConfig(vocab_size=7))
    assert tok.encode_ids([0, 6]) == [tok.cls_id, 5, 11, tok.sep_id] == tok.encode("tok0 tok6")
    hf = tok.hf_tokenizer()
    assert hf.convert_ids_to_tokens(list(range(len(hf)))) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"tok{k}" for k in range(7)]
    assert (hf.pad_token_id, hf.mask_token_id) == (tok.pad_id, tok.mask_id)
    with pytest.raises(DataError, match="outside 0..6"):
        tok.encode([7])
    with pytest.raises(DataError, match="0..6"):
        tok.encode_ids([9])


def test_generated_split_is_lazy_and_eval_masks_are_fixed():
    cfg = ArtificialMLMConfig(generator="flat", vocab_size=20, length=30, max_length=32, num_train=10_000_000, num_eval=4)
    task = ArtificialMLMTask(cfg, ArtificialTokenizer(ArtificialTokenizerConfig(vocab_size=20)))
    assert len(task.dataset("train")) == 10_000_000 and len(task.dataset("train")[123_456]["input_ids"]) == 32
    valid = list(task.dataset("valid"))
    first, second = task.collate(valid), task.collate(valid)
    assert torch.equal(first["input_ids"], second["input_ids"]) and torch.equal(first["labels"], second["labels"])
    chosen = first["labels"] != -100
    assert chosen.any() and not chosen[:, 0].any() and not chosen[:, -1].any()  # <cls>, <sep> never predicted
    with pytest.raises(ConfigError, match="tokenizer.vocab_size"):
        ArtificialMLMTask(ArtificialMLMConfig(vocab_size=21), ArtificialTokenizer(ArtificialTokenizerConfig(vocab_size=20)))


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrain")
    cfg = load_config([f"recipe={recipe_path('pretrain')}", "preset=smoke", "task.generator=nesting", f"run_dir={folder}"])
    results = run.train(cfg)
    return folder, results


def test_pretraining_saves_a_backbone_with_its_vocabulary_and_token_counts(pretrained):
    folder, results = pretrained
    hf_dir = folder / "best" / "hf"
    assert results["test"]["perplexity"] > 1
    backbone = resolve_backbone(str(hf_dir))
    assert backbone.tokenizer is not None and len(backbone.tokenizer) == 45 == backbone.model.config.vocab_size
    table = json.loads((hf_dir / "token_counts.json").read_text())
    assert table["corpus"]["generator"] == "nesting" and table["total_tokens"] == 32 * 14
    by_id, _ = load_token_counts(hf_dir / "token_counts.json", "pre", backbone.tokenizer)
    assert sum(by_id.values()) == 32 * 14 and min(by_id) >= 5  # every artificial token known to its tokenizer, no specials
    cfg = ArtificialMLMConfig(generator="nesting", vocab_size=40, length=14, max_length=16, num_train=32, num_eval=8)
    task = ArtificialMLMTask(cfg, ArtificialTokenizer(ArtificialTokenizerConfig(vocab_size=40)))
    assert table["counts"] == dict(sorted(task.token_counts().items(), key=lambda kv: (-kv[1], int(kv[0][3:]))))


@pytest.fixture(scope="module")
def fine_tuned(pretrained, tmp_path_factory):
    hf_dir = pretrained[0] / "best" / "hf"
    out = {}
    for row in ("most_frequent", "random"):
        folder = tmp_path_factory.mktemp(row)
        cfg = load_config([f"recipe={recipe_path('acceptability')}", "preset=smoke", f"row={row}", f"model.backbone={hf_dir}",
                           f"model.token_counts={hf_dir / 'token_counts.json'}", f"run_dir={folder}"])
        out[row] = (run.train(cfg), SymbolMapping.load(folder / "best" / "hf"), folder)
    return hf_dir, out


def english_task(max_pieces: int = 30) -> EnglishProxyTask:
    cfg = EnglishProxyConfig(proxy="acceptability", num_train=32, num_eval=16)
    return EnglishProxyTask(cfg, EnglishPiecesTokenizer(EnglishPiecesConfig(max_pieces=max_pieces)))


def hf_dir_name(hf_dir) -> str:
    return resolve_backbone(str(hf_dir)).name


def test_the_artificial_backbone_fine_tunes_on_an_english_proxy(fine_tuned):
    for row, (results, mapping, _) in fine_tuned[1].items():
        assert mapping.assignment == row and mapping.backbone == hf_dir_name(fine_tuned[0])
        assert 0 <= results["test"]["accuracy"] <= 100 and results["test"]["loss"] == results["test"]["loss"]  # finite


@pytest.mark.parametrize("row", ["most_frequent", "random"])
def test_english_pieces_map_one_to_one_onto_artificial_tokens(fine_tuned, row):
    _, (_, mapping, _) = fine_tuned[0], fine_tuned[1][row]
    ordinary = [t for s, t in zip(mapping.symbols, mapping.tokens) if s not in ("<pad>", "<unk>", "<cls>", "<sep>", "<mask>")]
    used = {mapping.symbols[i] for i in english_task().symbol_counts("train")} - {"<pad>", "<unk>", "<cls>", "<sep>", "<mask>"}
    assert len(used) > 10
    assert all(t is not None and t.startswith("tok") for t in ordinary)
    assert len(set(ordinary)) == len(ordinary)  # a bijection between the pieces and the tokens they got
    assert mapping.tokens[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_most_frequent_follows_frequency_rank(fine_tuned):
    hf_dir, runs = fine_tuned
    mapping = runs["most_frequent"][1]
    assert mapping.token_counts == str(hf_dir / "token_counts.json")
    artificial = json.loads((hf_dir / "token_counts.json").read_text())["counts"]
    artificial_rank = sorted(range(40), key=lambda k: (-artificial.get(f"tok{k}", 0), k))
    counts = Counter(english_task().symbol_counts("train"))
    ordinary = [i for i in range(5, len(mapping.symbols))]
    english_rank = sorted(ordinary, key=lambda i: (-counts.get(i, 0), i))
    assert [mapping.tokens[i] for i in english_rank] == [f"tok{k}" for k in artificial_rank[: len(ordinary)]]
    random_tokens = runs["random"][1].tokens
    assert [random_tokens[i] for i in english_rank] != [mapping.tokens[i] for i in english_rank]
