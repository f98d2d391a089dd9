"""Run reports: grouping by varying config keys, exact mean ± std, CSV, curves and skipped runs."""

import csv
import json
import statistics

import pytest
import yaml

from ssl_universal.errors import DataError
from ssl_universal.reporting import build_report, find_runs, flatten, markdown_table, report_main

ACCURACY = {("random", 0): 60.0, ("random", 1): 64.0, ("random", 2): 65.0,
            ("reinit", 0): 70.0, ("reinit", 1): 71.0, ("reinit", 2): 75.0}


def make_run(folder, assignment, seed, accuracy, *, test=True, metrics_log=True, extra_metric=None):
    folder.mkdir(parents=True)
    config = {"seed": seed, "run_dir": str(folder), "lr": 1e-4,
              "model": {"assignment": assignment, "layers": [1, 2]}, "task": {"name": "toy", "data_dir": "/data/x"}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    scores = {"accuracy": accuracy, "loss": 1.0 - accuracy / 100}
    if extra_metric:
        scores[extra_metric] = 1.0
    results = {"best_metric": "accuracy", "best_mode": "max", "best_step": 20,
               "best": {k: v - 1 for k, v in scores.items()}, "test": scores if test else None,
               "steps": 30, "stopped": "max_steps", "nonfinite_skipped": 0}
    (folder / "results.json").write_text(json.dumps(results))
    if metrics_log:
        records = [{"step": s, "split": "train", "epoch": 0, "loss": 2.0 / s + seed * 0.01} for s in (10, 20, 30)]
        records += [{"step": s, "split": "valid", "epoch": 0, "accuracy": accuracy - 30 + s} for s in (10, 20)]
        (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / "sweep"
    runs = []
    for index, ((assignment, seed), accuracy) in enumerate(ACCURACY.items()):
        name = f"{index:03d}_model.assignment={assignment},seed={seed}"
        make_run(root / name, assignment, seed, accuracy)
        runs.append({"run_dir": name})
    (root / "sweep.json").write_text(json.dumps({"overrides": [], "runs": runs}))
    return root


def test_groups_by_varying_key_with_exact_statistics(sweep):
    report = build_report([sweep])
    assert report.row_keys == ["model.assignment"] and report.split == "test"
    assert [row.values for row in report.rows] == [("random",), ("reinit",)]
    mean, std, n = report.rows[0].stats["accuracy"]
    assert n == 3 and mean == pytest.approx(63.0) and std == pytest.approx(statistics.stdev([60, 64, 65]))
    assert report.rows[1].stats["accuracy"][:2] == pytest.approx((72.0, statistics.stdev([70, 71, 75])))
    assert report.notes == []  # run_dir differs in every run but is no axis worth a note
    table = markdown_table(report)
    assert "| random | 3 | 63.00 ± 2.65 |" in table and "| reinit | 3 | 72.00 ± 2.65 |" in table


def test_cli_writes_csv_markdown_and_png(sweep, capsys):
    assert report_main([str(sweep)]) == 0
    printed = capsys.readouterr().out
    assert "63.00 ± 2.65" in printed
    with open(sweep / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["model.assignment"] for r in rows] == ["random", "reinit"]
    assert float(rows[1]["accuracy_mean"]) == pytest.approx(72.0)
    assert float(rows[1]["accuracy_std"]) == pytest.approx(statistics.stdev([70, 71, 75]))
    assert rows[0]["accuracy_n"] == "3" and "loss_mean" in rows[0]
    png = sweep / "curves.png"
    assert png.stat().st_size > 5000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "63.00 ± 2.65" in (sweep / "report.md").read_text()


def test_valid_split_and_metric_choice(sweep, tmp_path):
    report = build_report([sweep], split="valid", metrics=["accuracy"], out=tmp_path / "out")
    assert report.metrics == ["accuracy"] and report.rows[0].stats["accuracy"][0] == pytest.approx(62.0)
    assert report.out_dir == tmp_path / "out"


def test_explicit_rows_and_ignore(sweep):
    by_seed = build_report([sweep], rows=["seed"])
    assert [row.values for row in by_seed.rows] == [(0,), (1,), (2,)]
    assert by_seed.rows[0].stats["accuracy"][0] == pytest.approx(65.0)
    assert any("model.assignment" in note and "within rows and are pooled" in note for note in by_seed.notes)
    pooled = build_report([sweep], ignore=["model.assignment"])
    assert pooled.row_keys == [] and len(pooled.rows) == 1 and pooled.rows[0].stats["accuracy"][2] == 6


def test_varying_paths_are_not_rows_but_are_noted(sweep):
    config_path = sweep / "000_model.assignment=random,seed=0" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["task"]["data_dir"] = "/data/other"
    config_path.write_text(yaml.safe_dump(config))
    report = build_report([sweep])
    assert report.row_keys == ["model.assignment"]
    assert any("task.data_dir" in note for note in report.notes)
    assert len(build_report([sweep], rows=["task.data_dir"]).rows) == 2


def test_run_without_results_is_skipped_and_reported(sweep, capsys):
    crashed = sweep / "006_crashed"
    crashed.mkdir()
    (crashed / "config.yaml").write_text("seed: 9\n")
    assert report_main([str(sweep), "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 run(s)" in out and "006_crashed/results.json: missing" in out
    assert "Skipped 1 run(s)" in (sweep / "report.md").read_text()
    assert not (sweep / "curves.png").exists()


def test_single_runs_without_std_and_no_curves(tmp_path):
    make_run(tmp_path / "a", "random", 0, 50.0, metrics_log=False)
    make_run(tmp_path / "b", "reinit", 0, 55.0, metrics_log=False)
    report_main([str(tmp_path / "a"), str(tmp_path / "b")])
    table = (tmp_path / "report.md").read_text()
    assert "| random | 1 | 50.00 |" in table and not (tmp_path / "curves.png").exists()
    with open(tmp_path / "report.csv") as f:
        assert next(csv.DictReader(f))["accuracy_std"] == ""


def test_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no run directories"):
        build_report([empty])
    assert report_main([str(empty)]) == 1 and "no run directories" in capsys.readouterr().err
    make_run(tmp_path / "s" / "a", "random", 0, 50.0)
    make_run(tmp_path / "s" / "b", "random", 1, 52.0, extra_metric="f1")
    with pytest.raises(DataError, match="inconsistent metrics.*f1"):
        build_report([tmp_path / "s"])
    assert build_report([tmp_path / "s"], metrics=["accuracy"]).rows[0].stats["accuracy"][2] == 2
    make_run(tmp_path / "t" / "a", "random", 0, 50.0, test=False)
    assert build_report([tmp_path / "t"]).split == "valid"
    with pytest.raises(DataError, match="no 'test' metrics"):
        build_report([tmp_path / "t"], split="test")


def test_find_runs_does_not_descend_into_runs(sweep):
    (sweep / "000_model.assignment=random,seed=0" / "checkpoints" / "step_1").mkdir(parents=True)
    (sweep / "000_model.assignment=random,seed=0" / "checkpoints" / "step_1" / "meta.json").write_text("{}")
    assert len(find_runs([sweep])) == 6


def test_flatten():
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": 1, "a.c": (1, 2), "d": None}


def test_a_row_whose_runs_all_predict_one_class_is_flagged(tmp_path):
    root = tmp_path / "collapsed"
    for index, (assignment, seed, classes) in enumerate([("random", 0, 3.0), ("random", 1, 1.0),
                                                         ("scratch", 0, 1.0), ("scratch", 1, 1.0)]):
        folder = root / f"{index:03d}"
        make_run(folder, assignment, seed, 50.0)
        results = json.loads((folder / "results.json").read_text())
        results["test"]["predicted_classes"] = classes
        (folder / "results.json").write_text(json.dumps(results))
    report = build_report([root])
    flagged = [n for n in report.notes if "predicts a single class" in n]
    assert len(flagged) == 1 and "model.assignment=scratch" in flagged[0]  # one collapsed seed of random is no row
    assert "predicted_classes" not in report.metrics  # a diagnostic, not a column


def test_a_key_set_by_the_row_is_noted_as_the_rows_not_as_pooled(sweep):
    # A recipe's `row=` sets its own assignment and lr: grouping by `row`, those keys take one value per row.
    for folder in sorted(p for p in sweep.iterdir() if p.is_dir()):
        config = yaml.safe_load((folder / "config.yaml").read_text())
        config["row"] = {"random": "bert", "reinit": "re_emb"}[config["model"]["assignment"]]
        config["lr"] = 1e-4 if config["row"] == "bert" else 3e-4
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
    report = build_report([sweep], rows=["row"])
    assert [row.values for row in report.rows] == [("bert",), ("re_emb",)]
    assert not any("pooled" in note for note in report.notes), report.notes
    assert any("['lr', 'model.assignment'] vary with the rows" in note for note in report.notes), report.notes
