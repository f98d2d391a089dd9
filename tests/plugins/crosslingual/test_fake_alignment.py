"""en ↔ Fake-English retrieval probe: a known answer, the random reference, bad input."""

import pytest

from ssl_universal.errors import DataError
from ssl_universal_plugins.crosslingual import fake_alignment

from .conftest import EN, write_tiny_mlm


def test_identical_translation_retrieves_everything_and_real_fake_english_does_not(tmp_path, monkeypatch):
    _, model_dir, _ = write_tiny_mlm(tmp_path)
    model, tokenizer = fake_alignment.load_encoder(model_dir)
    sentences = list(dict.fromkeys(EN))
    rows = fake_alignment.retrieval_by_layer(model, tokenizer, sentences)
    assert len(rows) == model.config.num_hidden_layers + 1
    # the tiny vocabulary has no Fake-English piece: every translation is [UNK]s, so it cannot be told apart
    assert all(row["en_to_fake"] < 100 for row in rows)
    monkeypatch.setattr(fake_alignment, "to_fake", lambda text: text)  # a "translation" that is the sentence itself
    rows = fake_alignment.retrieval_by_layer(model, tokenizer, sentences)
    assert all(row == {"en_to_fake": 100.0, "fake_to_en": 100.0} for row in rows)


def test_random_init_reference_has_the_backbones_shape_and_other_weights(tmp_path):
    _, model_dir, _ = write_tiny_mlm(tmp_path)
    trained, _ = fake_alignment.load_encoder(model_dir)
    random0, _ = fake_alignment.load_encoder(model_dir, random_init_seed=1)  # the fixture itself was drawn with seed 0
    random1, _ = fake_alignment.load_encoder(model_dir, random_init_seed=2)
    assert random0.config.hidden_size == trained.config.hidden_size
    weight = "embeddings.word_embeddings.weight"
    assert not random0.state_dict()[weight].equal(trained.state_dict()[weight])
    assert not random0.state_dict()[weight].equal(random1.state_dict()[weight])


def test_table_means_runs_and_bad_input_is_named(tmp_path):
    runs = [[{"en_to_fake": 10.0, "fake_to_en": 20.0}], [{"en_to_fake": 30.0, "fake_to_en": 20.0}]]
    text = fake_alignment.table({"enfake": runs}, 50)
    assert "| enfake (2) | 20.0 ± 14.1 / 20.0 ± 0.0 |" in text and "chance 2.0" in text
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="empty.txt: no sentence"):
        fake_alignment.read_sentences(empty)
