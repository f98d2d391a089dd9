"""Template word translation: accuracy@k and chance on hand-made rankings, the template, the dictionaries, and the
command on a tiny random BertForMaskedLM saved by save_pretrained (the Hugging Face folder path)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from ssl_universal.errors import ConfigError, DataError
from ssl_universal_plugins.crosslingual.template_translation import (
    accuracy_at_k,
    chance_at_k,
    freedict_translations,
    read_cedict,
    read_freedict,
    template_text,
)

from .conftest import write_tiny_mlm


def test_accuracy_at_k_on_a_hand_made_ranking():
    scores = np.array([[0.9, 0.5, 0.1, 0.3],   # gold 1 is 2nd
                       [0.2, 0.2, 0.8, 0.1],   # gold 0 ties with 1 for 2nd/3rd: ties go against the gold -> rank 3
                       [0.1, 0.2, 0.3, 0.4],   # golds {0, 3}: the best gold (3) is 1st
                       [0.4, 0.3, 0.2, 0.1]])  # gold 3 is last
    golds = [{1}, {0}, {0, 3}, {3}]
    assert accuracy_at_k(scores, golds, ks=(1, 2, 3, 4)) == {1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0}
    allowed = np.array([False, True, True, True])  # column 0 may not be ranked: row 0's gold 1 becomes 1st, row 1's
    assert accuracy_at_k(scores, golds, ks=(1, 2, 3), allowed=allowed) == {1: 0.5, 2: 0.5, 3: 0.75}  # only gold is out
    with pytest.raises(ConfigError, match="scores of shape"):
        accuracy_at_k(scores, golds[:2])


def test_chance_is_the_random_ranking_expectation():
    assert chance_at_k(10, [1], ks=(1, 10))[1] == pytest.approx(0.1)
    assert chance_at_k(10, [1], ks=(1, 10))[10] == pytest.approx(1.0)
    assert chance_at_k(4, [2], ks=(1, 2)) == pytest.approx({1: 0.5, 2: 1 - 1 / 6})
    assert chance_at_k(4, [0, 2], ks=(1,))[1] == pytest.approx(0.25)  # a query without a reachable gold: never right
    rng = np.random.default_rng(0)  # and a simulation agrees
    hits = np.mean([(rng.permutation(50)[:5] < 3).any() for _ in range(4000)])
    assert chance_at_k(50, [3], ks=(5,))[5] == pytest.approx(hits, abs=0.02)


def test_the_template_text_and_an_unknown_language():
    assert template_text("cat", "de", "[MASK]") == "The word 'cat' in German is: [MASK]."
    assert template_text("猫", "en", "<mask>") == "The word '猫' in English is: <mask>."
    with pytest.raises(ConfigError, match="no language name for 'xx'"):
        template_text("cat", "xx", "[MASK]")


def test_cc_cedict_entries_become_single_word_pairs(tmp_path):
    path = tmp_path / "cedict.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("# CC-CEDICT\n貓 猫 [mao1] /cat/CL:隻|只[zhi1]/(coll.) modem/\n水 水 [Shui3] /surname Shui/\n"
                     "吃 吃 [chi1] /to eat/to take (a loss)/\n房子 房子 [fang2 zi5] /house/building (single- or two-story)/\n")
    pairs = read_cedict(path)
    assert pairs == {"cat": {"貓", "猫"}, "modem": {"貓", "猫"}, "eat": {"吃"}, "house": {"房子"}}  # qualified ones left out
    bad = tmp_path / "bad.txt"
    bad.write_text("# header\n猫 [mao1] cat\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.txt:2: not a CC-CEDICT entry"):
        read_cedict(bad)


def _dictd(folder, name, entries):
    """A dictd dictionary (``.index`` with base64 offsets, gzip ``.dict.dz``) of headword → entry text."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def b64(n):
        out = alphabet[n % 64]
        while n >= 64:
            n //= 64
            out = alphabet[n % 64] + out
        return out

    folder.mkdir(parents=True, exist_ok=True)
    data, index = b"", []
    for headword, text in entries:
        raw = text.encode("utf-8")
        index.append(f"{headword}\t{b64(len(data))}\t{b64(len(raw))}")
        data += raw
    (folder / f"{name}.index").write_text("\n".join(index) + "\n", encoding="utf-8")
    with gzip.open(folder / f"{name}.dict.dz", "wb") as handle:
        handle.write(data)


def test_freedict_entries_and_a_missing_dictionary(tmp_path):
    assert freedict_translations("water /wɔːtə/\n1. agua\n2. regar\n") == {"agua", "regar"}
    assert freedict_translations('cat /kat/\nKatze <fem> [zool.]\n      "long cat"  - Langkatze\n   Synonym: {feline}\n') == {"Katze"}
    assert freedict_translations("house /haʊs/\n1. ev, mesken\n2. santranç hanesi. house agent ev simsarı\n") == {"ev", "mesken"}
    _dictd(tmp_path / "d", "freedict-eng-deu", [("00databaseinfo", "info\nx\n"), ("cat", "cat /kat/\nKatze <fem>\n"),
                                               ("Cat Island", "Cat Island\nKatzeninsel\n"), ("dog", "dog /dɒɡ/\nHund <masc>\n")])
    assert read_freedict("freedict-eng-deu", tmp_path / "d") == {"cat": {"Katze"}, "dog": {"Hund"}}
    with pytest.raises(DataError, match="install_system_deps.sh dict-freedict-eng-tur"):
        read_freedict("freedict-eng-tur", tmp_path / "d")


@pytest.fixture(scope="module")
def tiny_mlm(tmp_path_factory):
    """A corpus per language, its vocabulary and a tiny random BertForMaskedLM saved like a downloaded folder."""
    root = tmp_path_factory.mktemp("template")
    corpus, model, tokenizer = write_tiny_mlm(root)
    _dictd(root / "dictd", "freedict-eng-deu", [("the", "the\nder, die, das\n"), ("and", "and\nund\n"),
                                                ("never", "never\nnie, niemals\n"), ("zzzq", "zzzq\nqqqz\n")])
    return {"corpus": corpus, "model": model, "dictd": root / "dictd", "tokenizer": tokenizer}


def test_the_command_runs_on_a_hugging_face_mlm_folder(tiny_mlm, tmp_path, capsys):
    from ssl_universal_plugins.crosslingual.template_translation import main

    out = tmp_path / "out"
    assert main(["--backbone", str(tiny_mlm["model"]), "--corpus", str(tiny_mlm["corpus"]), "--pairs", "en-de",
                 "--dictd-dir", str(tiny_mlm["dictd"]), "--mean-sentences", "4", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    rows = results["parts"][0]["rows"]
    assert [r["ranking"] for r in rows] == ["all pieces", "target-language pieces"]
    counts = rows[-1]["counts"]
    assert counts["dictionary_entries"] == 4 and counts["queries"] >= 1 and counts["source_not_one_piece"] >= 1  # zzzq
    vocabulary = len(tiny_mlm["tokenizer"])
    assert rows[0]["candidates"] == vocabulary - len(tiny_mlm["tokenizer"].all_special_ids) - 1
    assert rows[1]["candidates"] < rows[0]["candidates"]
    for row in rows:
        for method in ("frequency", "baseline", "template", "template+shift", "chance"):
            assert 0.0 <= row[method]["1"] <= row[method]["10"] <= row[method]["100"] <= 1.0  # JSON keys: strings
    assert rows[0]["chance"]["1"] == pytest.approx(1 / rows[0]["candidates"], rel=0.5)
    printed = capsys.readouterr().out
    assert "| en-de | Template + language-mean shift |" in printed and "chance (" in printed


def test_a_zero_shift_is_the_plain_template_and_bad_pairs_are_refused(tiny_mlm, capsys):
    from transformers import AutoModelForMaskedLM

    from ssl_universal_plugins.crosslingual.template_translation import dictionary, main, template_scores

    model = AutoModelForMaskedLM.from_pretrained(str(tiny_mlm["model"]))
    words = ["the", "and"]
    plain = template_scores(model, tiny_mlm["tokenizer"], words, "de")
    assert plain.shape == (2, len(tiny_mlm["tokenizer"]))
    assert np.allclose(template_scores(model, tiny_mlm["tokenizer"], words, "de", layer=1, vector=np.zeros(32)), plain)
    assert not np.allclose(template_scores(model, tiny_mlm["tokenizer"], words, "de", layer=1, vector=np.full(32, 5.0)), plain)
    with pytest.raises(ConfigError, match="no gold dictionary for pair 'en-fr'"):
        dictionary("en-fr")
    with pytest.raises(SystemExit):
        main(["--backbone", str(tiny_mlm["model"]), "--corpus", str(tiny_mlm["corpus"]), "--pairs", "en-xx"])
    assert "--pairs: en-xx" in capsys.readouterr().err
