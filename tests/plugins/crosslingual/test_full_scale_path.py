"""The full-scale path on a stand-in: a tiny random multilingual BERT saved by save_pretrained is fine-tuned with the
qa recipe and scored on two languages, and the 2x2 comes out of its run folders."""

from __future__ import annotations

import pytest

from .conftest import DE, EN, ZH


@pytest.fixture(scope="module")
def tiny_mbert(tmp_path_factory):
    import transformers

    from ssl_universal_plugins.crosslingual.vocab import build_wordpiece, save_vocabulary

    root = tmp_path_factory.mktemp("mbert")
    corpus = root / "train.txt"
    corpus.write_text("\n".join([*EN, *DE, *ZH] * 3) + "\n", encoding="utf-8")
    folder = save_vocabulary(build_wordpiece([corpus], 300, min_frequency=1), root / "hf", max_positions=64)
    config = transformers.BertConfig(vocab_size=300, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=64)
    transformers.BertForMaskedLM(config).save_pretrained(str(folder))  # as a downloaded mBERT folder would be
    return folder


def test_fine_tune_on_one_language_and_score_both(tiny_mbert, fortunes_dir, tmp_path):
    from ssl_universal.config import load_config
    from ssl_universal.run import train
    from ssl_universal_plugins.crosslingual import recipe_path
    from ssl_universal_plugins.crosslingual.finetune import write_qa
    from ssl_universal_plugins.crosslingual.matrix import find_transfer_records, score_transfer, transfer_matrix

    write_qa(tmp_path / "qa", ["en", "zh"], 0, {"train": 6, "valid": 2, "test": 3}, fortunes_dir=fortunes_dir)
    for language in ("en", "zh"):
        run_dir = tmp_path / "runs" / language
        train(load_config([f"recipe={recipe_path('qa')}", "preset=smoke", "row=pretrained", f"model.backbone={tiny_mbert}",
                           f"task.data_dir={tmp_path / 'qa' / language}", f"run_dir={run_dir}", "trainer.threads=1"]))
        record = score_transfer(run_dir, task="qa", pretrain="mbert", train_language=language, seed=0,
                                data_root=tmp_path / "qa", test_languages=["en", "zh"])
        assert set(record["scores"]) == {"en", "zh"}
        assert all(0.0 <= s["f1"] <= 100.0 and s["exact_match"] <= s["f1"] for s in record["scores"].values())
    matrix = transfer_matrix(find_transfer_records([tmp_path / "runs"]), "qa", "mbert", "f1")
    assert matrix["rows"] == ["en", "zh"] and matrix["columns"] == ["en", "zh"] and len(matrix["cells"]) == 4
