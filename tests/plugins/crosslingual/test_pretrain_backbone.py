"""A pre-training run folder is a backbone: BertForMaskedLM with its MLM head, the joint tokenizer, token counts."""

from __future__ import annotations

import json

import pytest

from ssl_universal.errors import ConfigError

from .conftest import DE, EN, ZH


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    from ssl_universal.config import load_config
    from ssl_universal.run import train
    from ssl_universal_plugins.crosslingual import recipe_path
    from ssl_universal_plugins.crosslingual.vocab import train_vocabulary

    root = tmp_path_factory.mktemp("pre")
    corpus = root / "corpus"
    corpus.mkdir()
    for split, lines in (("train", [*EN, *DE, *ZH] * 4), ("valid", EN[:2] + ZH[:1]), ("test", DE + EN[2:3])):
        (corpus / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    vocab = train_vocabulary(corpus, root / "vocab", 200, max_positions=64)
    run_dir = root / "run"
    train(load_config([f"recipe={recipe_path('pretrain')}", "preset=smoke", f"task.data_dir={corpus}",
                       f"model.backbone={vocab}", f"run_dir={run_dir}", "trainer.threads=1"]))
    return run_dir / "best" / "hf", corpus, vocab


def test_training_loss_over_predicted_positions_equals_the_full_masked_lm_loss(pretrained):
    import torch

    from ssl_universal.config import load_config
    from ssl_universal.models.generic import MaskedLM
    from ssl_universal.run import build
    from ssl_universal_plugins.crosslingual import recipe_path

    _, corpus, vocab = pretrained
    task, model = build(load_config([f"recipe={recipe_path('pretrain')}", "preset=smoke", f"task.data_dir={corpus}",
                                     f"model.backbone={vocab}", "model.dropout=0.0"]))
    batch = task.collate(task.load_split("valid")[:2])
    model.train()
    sparse = model(**batch)
    dense = MaskedLM.forward(model, **batch)
    assert sparse["logits"].shape[0] == int((batch["labels"] != -100).sum())
    assert torch.allclose(sparse["loss"], dense["loss"], atol=1e-5)


def test_run_folder_loads_as_a_backbone_with_its_mlm_head(pretrained):
    from ssl_universal.models.backbone import resolve_backbone

    folder = pretrained[0]
    backbone = resolve_backbone(str(folder), with_mlm_head=True)
    assert backbone.mlm_head_pretrained  # cls.predictions.* came from the file, not a fresh head
    assert backbone.tokenizer is not None and len(backbone.tokenizer) == backbone.model.config.vocab_size
    assert backbone.tokenizer.tokenize(ZH[0])[:2] == ["东", "方"]
    import torch

    ids = backbone.tokenizer("the lazy dog", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = backbone.model(input_ids=ids).logits
    assert logits.shape == (1, ids.shape[1], len(backbone.tokenizer))


def test_token_counts_rank_the_vocabulary_for_frequency_assignments(pretrained):
    from transformers import AutoTokenizer

    from ssl_universal.models.transfer import assign_symbols, read_token_counts
    from ssl_universal.tokenizer import Tokenizer

    folder, corpus, _ = pretrained
    counts = read_token_counts(folder / "token_counts.json", "model.token_counts")
    hf = AutoTokenizer.from_pretrained(str(folder))
    expected = {}
    for line in (corpus / "train.txt").read_text(encoding="utf-8").splitlines():
        for token in hf.tokenize(line):
            expected[token] = expected.get(token, 0) + 1
    assert counts == expected
    assert json.loads((folder / "token_counts.json").read_text())["total_tokens"] == sum(expected.values())
    alphabet = Tokenizer(symbols=["x", "y", "z"])
    mapping = assign_symbols("most_frequent", alphabet, hf, backbone_name="pre", symbol_counts={5: 9, 6: 5, 7: 1},
                             token_counts=folder / "token_counts.json")
    top = sorted(expected, key=lambda t: (-expected[t], hf.convert_tokens_to_ids(t)))[:3]
    assert mapping.tokens[5:] == top  # most frequent symbol onto the most frequent word piece


def test_pretraining_without_a_corpus_or_vocabulary_is_refused():
    from ssl_universal.config import load_config
    from ssl_universal.run import build
    from ssl_universal_plugins.crosslingual import recipe_path

    with pytest.raises(ConfigError, match="task.data_dir=CORPUS and model.backbone=VOCABULARY"):
        build(load_config([f"recipe={recipe_path('pretrain')}", "preset=smoke"]))
