"""Zero-mean / MDS at test time: the baselines by hand, a zero vector changes nothing, MDS moves exactly the chosen
layer, the command on a smoke-trained POS run of a tiny Hugging Face BERT, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ssl_universal.errors import ConfigError, DataError

from .conftest import DE, EN

EN_POS = [[("The", "DET"), ("dog", "NOUN"), ("sleeps", "VERB"), (".", "PUNCT")],
          [("A", "DET"), ("fox", "NOUN"), ("jumps", "VERB"), ("over", "ADP"), ("the", "DET"), ("dog", "NOUN"), (".", "PUNCT")],
          [("Computers", "NOUN"), ("are", "VERB"), ("useless", "ADJ"), (".", "PUNCT")]]
TR_POS = [[("Niemand", "PRON"), ("urteilt", "VERB"), ("schärfer", "ADJ"), (".", "PUNCT")],
          [("Wer", "PRON"), ("gräbt", "VERB"), ("eine", "DET"), ("Grube", "NOUN"), (".", "PUNCT")]]


def _conll(path, sentences):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """POS sets for 'en' and a second language, held-out text for the means, and a smoke POS run on a tiny BERT."""
    import transformers

    from ssl_universal.config import load_config
    from ssl_universal.run import train
    from ssl_universal_plugins.crosslingual import recipe_path
    from ssl_universal_plugins.crosslingual.vocab import build_wordpiece, save_vocabulary

    root = tmp_path_factory.mktemp("zmm")
    text = root / "train.txt"
    text.write_text("\n".join([*EN, *DE] * 3) + "\n", encoding="utf-8")
    folder = save_vocabulary(build_wordpiece([text], 300, min_frequency=1), root / "hf", max_positions=64)
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=64)
    transformers.BertForMaskedLM(config).save_pretrained(str(folder))
    data = root / "pos"
    for split in ("train", "valid", "test"):
        _conll(data / "en" / f"{split}.conll", EN_POS)
        _conll(data / "tr" / f"{split}.conll", TR_POS)
    corpus = root / "corpus"
    for language, lines in (("en", EN), ("tr", DE)):
        (corpus / language).mkdir(parents=True)
        (corpus / language / "valid.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_dir = root / "run"
    train(load_config([f"recipe={recipe_path('pos')}", "preset=smoke", f"model.backbone={folder}",
                       f"task.data_dir={data / 'en'}", f"run_dir={run_dir}", "trainer.threads=1"]))
    return {"run": run_dir, "data": data, "corpus": corpus}


def test_most_frequent_tag_baseline_by_hand(tmp_path):
    from ssl_universal_plugins.crosslingual.zero_mean_mds import tag_baselines

    _conll(tmp_path / "train.conll", [[("a", "DET"), ("run", "VERB"), ("run", "NOUN"), ("run", "NOUN")], [("b", "NOUN")]])
    _conll(tmp_path / "test.conll", [[("run", "NOUN"), ("a", "DET"), ("zz", "VERB"), ("zz", "NOUN")]])
    base = tag_baselines(tmp_path / "train.conll", tmp_path / "test.conll")
    # run -> NOUN (2 of 3), a -> DET, zz unseen -> NOUN (the overall most frequent): 3 of 4 right; majority NOUN 2 of 4
    assert base == {"most_frequent_tag_per_word": 75.0, "majority_tag": 50.0, "unseen_words": 50.0, "majority": "NOUN"}
    (tmp_path / "bad.conll").write_text("word-without-tag\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.conll:1: expected 'word<TAB>tag'"):
        tag_baselines(tmp_path / "bad.conll", tmp_path / "test.conll")


def test_zero_vector_changes_nothing_and_mds_moves_exactly_the_chosen_layer(tiny_run):
    from ssl_universal.models.hidden_shift import HiddenShift
    from ssl_universal_plugins.crosslingual.zero_mean_mds import load_tagger, shift_vector, tag_accuracy

    task, model = load_tagger(tiny_run["run"], tiny_run["data"] / "tr")
    examples = task.load_split("test")
    batch = task.collate(examples)
    with torch.no_grad():
        plain = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])["logits"]
        with HiddenShift(model.encoder, 1, torch.zeros(32)):
            zero = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])["logits"]
    assert torch.equal(plain.argmax(-1), zero.argmax(-1)) and torch.allclose(plain, zero)
    assert tag_accuracy(task, model, examples, 1, np.zeros(32, dtype=np.float32)) == tag_accuracy(task, model, examples, 1, None)

    rng = np.random.default_rng(0)
    means = {"en": rng.standard_normal((3, 32)).astype(np.float32), "tr": rng.standard_normal((3, 32)).astype(np.float32)}
    vector = shift_vector("mds", means, "en", "tr", 1)
    assert np.allclose(vector, means["en"][1] - means["tr"][1])
    assert np.allclose(shift_vector("zero-mean", means, "en", "tr", 2), -means["tr"][2])
    assert shift_vector("original", means, "en", "tr", 1) is None
    control = shift_vector("random", means, "en", "tr", 1)
    assert np.linalg.norm(control) == pytest.approx(np.linalg.norm(vector), rel=1e-5) and not np.allclose(control, vector)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"], "output_hidden_states": True}
    with torch.no_grad():
        before = model.encoder(**inputs).hidden_states
        with HiddenShift(model.encoder, 1, torch.as_tensor(vector)):
            after = model.encoder(**inputs).hidden_states
    assert torch.equal(before[0], after[0])  # below the chosen layer: untouched
    assert torch.allclose(after[1], before[1] + torch.as_tensor(vector), atol=1e-6)  # the chosen layer: moved by exactly it
    assert not torch.allclose(after[2], before[2], atol=1e-3)  # above: the moved states propagate
    with pytest.raises(ConfigError, match="unknown condition"):
        shift_vector("sideways", means, "en", "tr", 1)


def test_the_command_prints_the_seed_table(tiny_run, tmp_path, capsys):
    from ssl_universal_plugins.crosslingual.zero_mean_mds import main

    out = tmp_path / "out"
    assert main(["--runs", f"{tiny_run['run']},{tiny_run['run']}", "--data", str(tiny_run["data"]), "--corpus",
                 str(tiny_run["corpus"]), "--targets", "tr", "--layers", "1,2", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    rows = results["runs"][0]["rows"]
    assert len(rows) == 2 * 2 * 4 and {r["condition"] for r in rows} == {"original", "zero-mean", "mds", "random"}
    source_rows = {(r["layer"], r["condition"]): r["accuracy"] for r in rows if r["language"] == "en"}
    assert source_rows[(1, "mds")] == source_rows[(1, "original")]  # μ_en − μ_en = 0 for the source language
    assert results["runs"][0]["means"]["tr"] == {"sentences": len(DE), "test_sentences_inside": 0}
    printed = capsys.readouterr().out
    assert "| | en (in-language) | tr | Average (zero-shot) |" in printed
    for label in ("| Original |", "| Zero-mean |", "| MDS |", "| most frequent tag per word"):
        assert label in printed
    assert "Shift after layer 2" in printed and "Shift after layer 0" not in printed


def test_bad_input_is_a_clear_error(tiny_run, tmp_path):
    from ssl_universal_plugins.crosslingual.zero_mean_mds import run

    common = {"layers": None, "mean_sentences": 4}
    with pytest.raises(DataError, match="no POS test set for xx .found: en, tr"):
        run([tiny_run["run"]], tiny_run["data"], tiny_run["corpus"], source="en", targets=["xx"], **common)
    with pytest.raises(ConfigError, match="other than the source"):
        run([tiny_run["run"]], tiny_run["data"], tiny_run["corpus"], source="en", targets=["en"], **common)
    with pytest.raises(DataError, match="valid.txt: not found; the language means need held-out text of 'en'"):
        run([tiny_run["run"]], tiny_run["data"], tmp_path, source="en", targets=["tr"], **common)
    with pytest.raises(DataError, match="not a finished run folder"):
        run([tmp_path], tiny_run["data"], tiny_run["corpus"], source="en", targets=["tr"], **common)
    with pytest.raises(ConfigError, match="--layers 5: the encoder has layers 0 .embeddings. .. 2"):
        run([tiny_run["run"]], tiny_run["data"], tiny_run["corpus"], source="en", targets=["tr"], layers=[5], mean_sentences=4)
