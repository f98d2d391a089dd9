"""Language means, nearest-mean language identification, recall@k and centering, on hand-made vectors and a tiny random BERT."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_universal.errors import ConfigError
from ssl_universal_plugins.crosslingual import centering, parallel
from ssl_universal_plugins.crosslingual import language_means as lm

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon".split()


def tiny_backbone(folder=None, seed: int = 0):
    """A 2-layer random BertModel and a word-level fast tokenizer over WORDS (saved to ``folder`` when given)."""
    from tokenizers import Tokenizer, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {w: i for i, w in enumerate(specials + WORDS + [w.upper() for w in WORDS])}
    backend = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]"
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    model = BertModel(config).eval()
    if folder is not None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return model, tokenizer


def test_encode_layers_mean_pools_every_layer_over_non_padding_positions_in_input_order():
    model, tokenizer = tiny_backbone()
    texts = ["alpha beta gamma delta epsilon", "zeta", "eta theta iota"]
    pooled = lm.encode_layers(model, tokenizer, texts, batch_size=2)
    assert pooled.vectors.shape == (3, 3, 16)  # embeddings + 2 layers, 3 sentences
    assert pooled.lengths.tolist() == [7, 3, 5]  # words + [CLS] + [SEP]
    for i, text in enumerate(texts):  # one sentence alone, no padding: the plain mean over its positions
        batch = tokenizer([text], return_tensors="pt")
        with torch.no_grad():
            hidden = model(**batch, output_hidden_states=True).hidden_states
        for layer, states in enumerate(hidden):
            assert np.allclose(pooled.vectors[layer, i], states[0].mean(0).numpy(), atol=1e-5)


def test_sentence_and_token_pooling_weigh_sentences_differently():
    vectors = lm.LayerVectors(np.array([[[0.0, 0.0], [4.0, 8.0]]], dtype=np.float32), np.array([1, 3]))
    assert np.allclose(lm.language_mean(vectors, "sentence"), [[2.0, 4.0]])
    assert np.allclose(lm.language_mean(vectors, "token"), [[3.0, 6.0]])  # (0·1 + 4·3) / 4
    with pytest.raises(ConfigError, match="pooling must be one of"):
        lm.language_mean(vectors, "cls")


def test_distances_and_nearest_mean_accuracy_on_hand_made_points():
    means = {"en": np.array([[0.0, 0.0], [0.0, 0.0]]), "de": np.array([[3.0, 4.0], [1.0, 0.0]])}
    distances = lm.mean_distances(means)
    assert distances.shape == (2, 2, 2) and distances[0, 0, 1] == pytest.approx(5.0) and distances[1, 1, 0] == pytest.approx(1.0)
    # layer 0: both en points nearer 0, the de point nearer (3,4): 3/3; layer 1: one en point at (0.9, 0) goes to de: 2/3
    test = {
        "en": lm.LayerVectors(np.array([[[0.1, 0.0], [0.0, 0.5]], [[0.1, 0.0], [0.9, 0.0]]]), np.array([3, 3])),
        "de": lm.LayerVectors(np.array([[[3.0, 3.0]], [[1.2, 0.0]]]), np.array([3])),
    }
    assert lm.nearest_mean_accuracy(means, test).tolist() == pytest.approx([1.0, 2 / 3])
    with pytest.raises(ConfigError, match="has no mean"):
        lm.nearest_mean_accuracy({"en": means["en"]}, test)


def test_recall_at_k_on_a_hand_made_ranking():
    similarity = np.array(
        [
            [0.9, 0.1, 0.0, 0.2],  # gold first: rank 1
            [0.8, 0.5, 0.1, 0.0],  # gold second
            [0.3, 0.2, 0.1, 0.4],  # gold last (rank 4)
            [0.0, 0.0, 0.7, 0.7],  # tie with another candidate: counted against the gold, rank 2
        ]
    )
    assert centering.recall_at_k(similarity, 1) == 0.25
    assert centering.recall_at_k(similarity, 2) == 0.75
    assert centering.recall_at_k(similarity, 4) == 1.0
    with pytest.raises(ConfigError, match="square"):
        centering.recall_at_k(similarity[:3], 1)


def test_centering_removes_a_language_offset_that_breaks_retrieval():
    rng = np.random.default_rng(0)
    content = rng.normal(size=(50, 8))
    offset = np.zeros(8)
    offset[0] = 30.0  # one shared direction per language dominates every vector
    source, target = content + offset, content - offset + 0.05 * rng.normal(size=(50, 8))
    raw = centering.retrieval(source, target)
    centred = centering.retrieval(source, target, source.mean(0), target.mean(0))
    assert raw < 0.5 and centred == 1.0


def test_cached_encode_layers_reads_the_second_call_from_disk(tmp_path):
    model, tokenizer = tiny_backbone()
    calls = []
    original = model.forward

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    model.forward = counting
    first = lm.cached_encode_layers(model, tokenizer, ["alpha beta", "gamma"], model_id="tiny", cache_dir=tmp_path)
    count = len(calls)
    second = lm.cached_encode_layers(model, tokenizer, ["alpha beta", "gamma"], model_id="tiny", cache_dir=tmp_path)
    assert count > 0 and len(calls) == count and np.array_equal(first.vectors, second.vectors)
    lm.cached_encode_layers(model, tokenizer, ["alpha beta", "gamma"], model_id="tiny", prefix="delta ", cache_dir=tmp_path)
    assert len(calls) > count  # another prefix is another key


def test_the_command_prints_both_tables_and_writes_plots(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "tiny"
    tiny_backbone(folder)
    rng = np.random.default_rng(1)
    english = [" ".join(rng.choice(WORDS[:10], size=4)) for _ in range(40)]
    for language in ("de", "fr"):  # the same "content" words, each language its own casing
        translated = {
            s: (s.upper() if language == "de" else " ".join(w.upper() if i % 2 else w for i, w in enumerate(s.split())))
            for s in english
        }
        parallel.write_mo_catalog(tmp_path / "locale" / language / "LC_MESSAGES" / "toy.mo", translated)
    assert (
        centering.main(
            [
                "--backbone",
                str(folder),
                "--preset",
                "smoke",
                "--sources",
                "gettext",
                "--languages",
                "de",
                "fr",
                "--locale-dir",
                str(tmp_path / "locale"),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "LID by nearest mean % (chance 33.3)" in printed and "| gettext | en↔de |" in printed and "wall time" in printed
    assert "| char 1–3-gram TF-IDF (reference) |" in printed
    assert (tmp_path / "out" / "lid_over_layers.png").stat().st_size > 1000 and (tmp_path / "out" / "centering.json").is_file()
