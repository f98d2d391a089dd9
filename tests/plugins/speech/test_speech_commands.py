"""The speech plugin's commands: make-speech-corpus, extract-units and speech-table (help, and the table of finished runs).

The corpus and the units themselves are tested in tests/tools/test_make_speech_corpus.py and test_extract_units.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssl_universal_plugins.speech import table


def test_unknown_table_column_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        table.main(["--tasks", "ic,qa"])
    assert exit_info.value.code == 2 and "--tasks: unknown ['qa']" in capsys.readouterr().err


def test_finished_stages_are_skipped_and_the_table_is_printed(tmp_path, capsys):
    out = tmp_path / "table_run"
    done = ["corpus/corpus.json", "data/pretrain/valid.tsv", "data/mfcc/dict.km.txt", "data/continual/dict.km.txt",
            "runs/baseline_it1/results.json", "runs/continual/results.json"]
    for path in done:
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text("{}\n")
    for upstream, accuracy in (("baseline", 60.0), ("continual", 70.0), ("fbank", 65.0), ("fbank_no_cmvn", 66.0),
                               ("random_init", 40.0)):
        scores = {"accuracy_clean": accuracy, "accuracy_mgr": accuracy - 20, "accuracy_unseen": accuracy - 30}
        (out / "downstream" / upstream / "ic").mkdir(parents=True)
        (out / "downstream" / upstream / "ic" / "results.json").write_text(json.dumps({"test": scores}))
    assert table.main(["--out", str(out), "--tasks", "ic"]) == 0  # six stages above, five downstream runs
    printed = capsys.readouterr().out
    assert printed.count("[skip]") == 11 and "[run]" not in printed
    report = (out / "table" / "report.md").read_text()
    assert "IC clean" in report and "continual" in report and "70" in report
    rows = [line.split("|")[1].strip() for line in report.splitlines() if line.startswith("|")]
    assert {"baseline", "continual", "fbank", "fbank_no_cmvn", "random_init"} <= set(rows)  # the reference rows beside the upstreams
    assert json.loads((out / "table" / "continual" / "results.json").read_text())["test"]["IC mgr"] == 50.0
    assert json.loads((out / "table" / "random_init" / "results.json").read_text())["test"]["IC clean"] == 40.0
    (out / "table" / "report.md").unlink()
    assert table.main(["--out", str(out), "--tasks", "ic", "--no-references"]) == 0
    assert capsys.readouterr().out.count("[skip]") == 8
    assert "random_init" not in (out / "table" / "report.md").read_text().split("| upstream")[1]


def test_no_continual_runs_the_baseline_and_the_references_only(tmp_path, capsys):
    out = tmp_path / "table_run"
    for path in ["corpus/corpus.json", "data/pretrain/valid.tsv", "data/mfcc/dict.km.txt",
                 "runs/baseline_it1/results.json"]:
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text("{}\n")
    for upstream in ("baseline", "fbank", "fbank_no_cmvn", "random_init"):
        (out / "downstream" / upstream / "ks").mkdir(parents=True)
        (out / "downstream" / upstream / "ks" / "results.json").write_text(json.dumps(
            {"test": {"accuracy_clean": 50.0, "accuracy_mgr": 40.0, "accuracy_unseen": 30.0}}))
    assert table.main(["--out", str(out), "--tasks", "ks", "--no-continual", "--dat"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("[skip]") == 8 and "[run]" not in printed
    assert sorted(p.name for p in (out / "table").iterdir() if p.is_dir()) == ["baseline", "fbank", "fbank_no_cmvn",
                                                                              "random_init"]


def test_overrides_reach_their_stage_only_and_other_settings_are_refused(tmp_path, monkeypatch, capsys):
    out = tmp_path / "table_run"
    for path in ["corpus/corpus.json", "data/pretrain/valid.tsv", "data/mfcc/dict.km.txt"]:
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text("{}\n")
    trained = {}

    def fake_train(self, recipe, run_dir, overrides):  # record the overrides; write what the stage waits for
        trained[run_dir.parent.name if recipe.startswith("superb") else recipe] = [*overrides, *self.args.override]
        run_dir.mkdir(parents=True, exist_ok=True)
        scores = {"accuracy_clean": 50.0, "accuracy_mgr": 40.0, "accuracy_unseen": 30.0}
        (run_dir / "results.json").write_text(json.dumps({"test": scores}))

    monkeypatch.setattr(table.Pipeline, "train", fake_train)
    monkeypatch.setattr(table.Pipeline, "call", lambda self, *command: (out / "table" / "report.md").write_text("|"))
    preset = next(o for o in table.PRESETS["cpu"]["pretrain"] if o.startswith("trainer.max_steps="))
    args = ["--out", str(out), "--tasks", "ks", "--no-continual", "--pretrain-override", "trainer.max_steps=7777",
            "--pretrain-override", "model.size=small", "--head-override", "trainer.max_steps=1234"]
    assert table.main(args) == 0
    pretrain, head = trained["hubert_pretrain"], trained["baseline"]
    assert pretrain.index("trainer.max_steps=7777") > pretrain.index(preset)  # after the preset: it wins
    assert head[-2] == "trainer.max_steps=1234" and "trainer.max_steps=7777" not in head
    assert "model.upstream=random_init:small" in trained["random_init"]  # the reference has the pre-training's shape
    assert trained["fbank"][-2] == "trainer.max_steps=1234"
    assert json.loads((out / "settings.json").read_text())["head_override"] == ["trainer.max_steps=1234"]
    with pytest.raises(table.SSLUniversalError, match=r"head_override: \['trainer.max_steps=1234'\] there, \[\] now"):
        table.main(args[:-2])  # the same folder without the head override: its finished heads would be mixed in


@pytest.mark.parametrize("flag, cmvn", [([], True), (["--no-mfcc-cmvn"], False)])
def test_mfcc_cmvn_reaches_the_iteration_one_units(tmp_path, monkeypatch, flag, cmvn):
    from ssl_universal_plugins.speech import units

    out = tmp_path / "table_run"
    (out / "corpus").mkdir(parents=True)
    (out / "corpus" / "corpus.json").write_text("{}\n")
    (out / "data" / "pretrain").mkdir(parents=True)
    for split in ("train", "valid"):
        (out / "data" / "pretrain" / f"{split}.tsv").write_text("/\n")
    seen = []

    def fake_extract(config):
        seen.append((config.feature, config.cmvn))
        (Path(config.out_dir) / "dict.km.txt").write_text("0 1\n")

    def stop_after_units(self, recipe, run_dir, overrides):
        raise SystemExit("stop")  # the test is about the units stage

    monkeypatch.setattr(units, "extract_units", fake_extract)
    monkeypatch.setattr(table.Pipeline, "train", stop_after_units)
    with pytest.raises(SystemExit):
        table.main(["--out", str(out), "--tasks", "ks", *flag])  # the CPU preset normalises unless told not to
    assert seen == [("mfcc", cmvn)]
    assert json.loads((out / "settings.json").read_text())["mfcc_cmvn"] is cmvn


def test_seeds_run_one_pipeline_each_on_one_corpus_and_pool_them(tmp_path, capsys):
    out = tmp_path / "seeds"
    (out / "corpus").mkdir(parents=True)
    (out / "corpus" / "corpus.json").write_text("{}\n")
    for seed, accuracy in ((0, 50.0), (1, 60.0)):
        root = out / f"seed{seed}"
        for path in ["data/pretrain/valid.tsv", "data/mfcc/dict.km.txt", "runs/baseline_it1/results.json"]:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text("{}\n")
        for upstream, offset in (("baseline", 0.0), ("fbank", -40.0), ("fbank_no_cmvn", -10.0), ("random_init", -20.0)):
            (root / "downstream" / upstream / "ks").mkdir(parents=True)
            (root / "downstream" / upstream / "ks" / "results.json").write_text(json.dumps({"test": {
                "accuracy_clean": accuracy + offset, "accuracy_mgr": 30.0, "accuracy_unseen": 20.0}}))
    assert table.main(["--out", str(out), "--seeds", "0,1", "--jobs", "2", "--tasks", "ks", "--no-continual"]) == 0
    printed = capsys.readouterr().out
    assert "[skip] corpus" in printed and printed.count("[run] seed") == 2
    for seed in (0, 1):  # each seed was resumed with the shared corpus and its own seed, nothing retrained
        settings = json.loads((out / f"seed{seed}" / "settings.json").read_text())
        assert settings["seed"] == seed and settings["corpus"] == str((out / "corpus").resolve())
        log = (out / "logs" / f"seed{seed}.log").read_text()
        assert "[run]" not in log and log.count("[skip]") == 8
    report = (out / "table" / "report.md").read_text()
    baseline = next(line for line in report.splitlines() if line.startswith("| baseline"))
    assert "55.00 ± 7.07" in baseline and "| 2 |" in baseline  # the mean ± std of the two seeds, n = 2


def test_seeds_must_be_distinct_integers(capsys):
    for bad in ("0,a", "1,1"):
        with pytest.raises(SystemExit):
            table.main(["--seeds", bad])
        assert "--seeds: expected" in capsys.readouterr().err
