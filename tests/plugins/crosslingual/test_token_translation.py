"""α-shift token translation: piece languages, the shift's effect on the MLM head, the metrics, and the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from .conftest import DE, EN, ZH, write_tiny_mlm


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A corpus with per-language folders, its joint vocabulary and a small random BertForMaskedLM saved with it."""
    from ssl_universal_plugins.crosslingual import parallel

    root = tmp_path_factory.mktemp("tt")
    corpus, model_dir, tokenizer = write_tiny_mlm(root)
    locale = root / "locale"
    parallel.write_mo_catalog(locale / "de" / "LC_MESSAGES" / "toy.mo", {e: d for e, d in zip(EN[:2], DE)})
    parallel.write_mo_catalog(locale / "zh_CN" / "LC_MESSAGES" / "toy.mo", {e: z for e, z in zip(EN[:2], ZH)})
    return {"corpus": corpus, "model": model_dir, "locale": locale, "tokenizer": tokenizer}


def test_a_piece_belongs_to_the_language_that_uses_it_most(tiny):
    from ssl_universal_plugins.crosslingual.token_translation import piece_languages

    tokenizer = tiny["tokenizer"]
    owner = piece_languages(tokenizer, tiny["corpus"], ["en", "de", "zh"])
    assert owner[tokenizer.convert_tokens_to_ids("东")] == "zh"
    assert owner[tokenizer.convert_tokens_to_ids("the")] == "en"
    assert all(language in ("en", "de", "zh") for language in owner.values())


def test_no_shift_is_the_plain_head_and_a_shift_changes_what_it_outputs(tiny):
    from transformers import AutoModelForMaskedLM

    from ssl_universal_plugins.crosslingual.token_translation import shifted_predictions

    model, tokenizer = AutoModelForMaskedLM.from_pretrained(str(tiny["model"])), tiny["tokenizer"]
    texts = EN[:3]
    plain = shifted_predictions(model, tokenizer, texts, 1, None)
    with torch.no_grad():
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        direct = model(**batch).logits.argmax(-1)
    special = set(tokenizer.all_special_ids)
    expected = [[int(g) for i, m, g in zip(ids.tolist(), mask.tolist(), guess) if m and i not in special]
                for ids, mask, guess in zip(batch["input_ids"], batch["attention_mask"], direct)]
    assert plain == expected
    assert shifted_predictions(model, tokenizer, texts, 1, np.zeros(32, dtype=np.float32)) == plain
    pushed = shifted_predictions(model, tokenizer, texts, 1, np.full(32, 50.0, dtype=np.float32))
    assert [len(p) for p in pushed] == [len(p) for p in plain] and pushed != plain


def test_convert_rate_and_bleu1_on_hand_checked_examples():
    from ssl_universal_plugins.crosslingual.token_translation import bleu1, convert_rate, random_direction

    owner = {1: "en", 2: "de", 3: "de"}
    assert convert_rate([[1, 2, 9], [3, 3]], owner, "de") == pytest.approx(75.0)  # piece 9 has no language: not counted
    assert convert_rate([[9]], owner, "de") == 0.0
    assert bleu1(["der Hund schläft"], ["der Hund schläft"], "de") == pytest.approx(100.0)
    assert bleu1(["a b c d"], ["a b x y"], "de") == pytest.approx(50.0)
    like = np.array([3.0, 4.0], dtype=np.float32)
    direction = random_direction(like, 0)
    assert np.linalg.norm(direction) == pytest.approx(5.0) and not np.allclose(direction, like)


def test_the_command_writes_a_row_per_target_seed_layer_and_alpha(tiny, tmp_path, capsys, monkeypatch):
    from ssl_universal_plugins.crosslingual.token_translation import main

    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["--backbone", f"{tiny['model']},{tiny['model']}", "--corpus", str(tiny["corpus"]), "--targets", "zh,de",
                 "--alphas", "0,2", "--sentences", "2", "--mean-sentences", "4", "--seeds", "0,1",
                 "--locale-dir", str(tiny["locale"]), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    # 2 models x 2 languages x 2 directions x 2 seeds x 2 layers x (alpha 0 + alpha 2 shifted + alpha 2 random)
    assert len(results["rows"]) == 2 * 2 * 2 * 2 * 2 * 3 and {r["model"] for r in results["rows"]} == {0, 1}
    assert {r["direction"] for r in results["rows"] if r["alpha"] == 0} == {"shift"}
    assert {r["pair"] for r in results["rows"]} == {"en→zh", "zh→en", "en→de", "de→en"}
    reverse = next(r for r in results["rows"] if r["pair"] == "de→en")
    assert reverse["example"]["input"] in DE and reverse["example"]["reference"] in EN
    printed = capsys.readouterr().out
    assert "| en→zh | zh→en | en→de | de→en |" in printed and "| convert rate %, α = 2 |" in printed
    assert "| zh→en | 1 | 2 |" in printed and printed.strip() == (out / "table.md").read_text().strip()


def test_an_unknown_target_and_a_layer_out_of_range_are_refused(tiny, capsys):
    from ssl_universal.errors import ConfigError
    from ssl_universal_plugins.crosslingual.token_translation import main, run

    with pytest.raises(SystemExit):
        main(["--backbone", str(tiny["model"]), "--corpus", str(tiny["corpus"]), "--targets", "fr"])
    assert "--targets: fr" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="layers 0 .embeddings. .. 2"):
        run(str(tiny["model"]), tiny["corpus"], targets=["de"], layers=[3], alphas=[1.0], sentences=1, mean_sentences=2, seeds=[0])
