"""``ssl-universal artificial-table``: numbers read from the run folders, gains over scratch, resume and refusal."""

from __future__ import annotations

import json
import math

import pytest

import ssl_universal_plugins.artificial  # noqa: F401  (registers the plugin)
from ssl_universal.errors import ConfigError
from ssl_universal_plugins.artificial import table


def _write(folder, accuracy):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps({"test": {"accuracy": accuracy}}))


def test_gains_are_computed_from_the_run_folders(tmp_path):
    known = {("topic", "-", "scratch"): [30.0, 32.0, 34.0], ("topic", "nesting", "most_frequent"): [40.0, 41.0, 45.0],
             ("topic", "nesting", "random"): [29.0, 31.0, 30.0], ("acceptability", "-", "scratch"): [50.0, 52.0, 51.0],
             ("acceptability", "nesting", "most_frequent"): [55.0, 53.0]}  # one seed missing
    for (proxy, corpus, row), values in known.items():
        for seed, value in enumerate(values):
            _write(table.finetune_dir(tmp_path, proxy, corpus, row, seed), value)
    acc = table.read_accuracies(tmp_path, ["topic", "acceptability"], ["nesting"], (0, 1, 2))
    assert acc[("topic", "nesting", "most_frequent")] == {0: 40.0, 1: 41.0, 2: 45.0}
    g = table.gains(acc, ["topic", "acceptability"], ["nesting"])
    mean, std, n = g[("topic", "nesting", "most_frequent")]
    assert mean == pytest.approx(42.0 - 32.0) and std == pytest.approx(math.sqrt(7.0)) and n == 3
    assert g[("topic", "nesting", "random")][0] == pytest.approx(30.0 - 32.0)
    assert g[("acceptability", "nesting", "most_frequent")][:2] == pytest.approx((54.0 - 51.0, math.sqrt(2.0)))
    assert math.isnan(g[("acceptability", "nesting", "random")][0])
    text = table.render(acc, ["topic", "acceptability"], ["nesting"], (0, 1, 2), header="# t")
    assert "| nesting | most_frequent | 42.0 ± 2.6 | +10.0 ± 2.6 | 54.0 ± 1.4 (n=2) | +3.0 ± 1.4 |" in text
    assert "| nesting | random | 30.0 ± 1.0 | -2.0 ± 1.0 | — | — |" in text
    assert "32.0 ± 2.0 (n=3)" in text and "PROXY" in text and "rate chosen" not in text
    assert "at the best valid step of the rate chosen on valid" in table.render(
        acc, ["topic"], ["nesting"], (0, 1, 2), header="# t", lr_chosen=True)
    png = table.chart(acc, ["topic", "acceptability"], ["nesting"], tmp_path / "g.png", "t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_verb_at_smoke_size_trains_reads_back_and_refuses_a_changed_run(tmp_path, capsys):
    argv = ["--out", str(tmp_path), "--preset", "smoke", "--corpora", "nesting", "--proxies", "topic", "--seeds", "0,1",
            "--threads", "1"]
    assert table.main(argv) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "pretrain" / "nesting" / "best" / "hf" / "token_counts.json").is_file()
    assert not (tmp_path / "topic" / "scratch" / "seed0" / "best").exists()  # fine-tuning weights dropped
    acc = {}
    for row in ("scratch", "most_frequent", "random"):
        acc[row] = [json.loads((table.finetune_dir(tmp_path, "topic", "nesting", row, s) / "results.json").read_text())["test"]["accuracy"]
                    for s in (0, 1)]
    gain = sum(acc["most_frequent"]) / 2 - sum(acc["scratch"]) / 2
    assert f"{gain:+.1f} ±" in (tmp_path / "table.md").read_text() and (tmp_path / "gains.png").is_file()
    assert "topic nesting most_frequent seed=1" in printed
    stamp = (table.finetune_dir(tmp_path, "topic", "nesting", "random", 1) / "results.json").stat().st_mtime_ns
    assert table.main(argv) == 0  # everything is read back, nothing retrained
    again = capsys.readouterr().out
    assert again.count("(done before)") == 1 + 6
    assert (table.finetune_dir(tmp_path, "topic", "nesting", "random", 1) / "results.json").stat().st_mtime_ns == stamp
    with pytest.raises(ConfigError, match="trainer.lr"):
        table.main([*argv, "-o", "trainer.lr=0.5"])


def test_jobs_side_by_side_make_the_loops_run_folders(tmp_path, capsys):
    argv = ["--out", str(tmp_path), "--preset", "smoke", "--corpora", "nesting", "--proxies", "topic", "--seeds", "0",
            "--rows", "most_frequent", "--threads", "1"]
    assert table.main([*argv, "--jobs", "2"]) == 0
    printed = capsys.readouterr().out
    assert "pretrain nesting: test MLM accuracy" in printed and "topic nesting most_frequent seed=0: test accuracy" in printed
    assert (tmp_path / "logs" / "topic_-_scratch_seed0.log").is_file()  # (one pre-training alone runs in this process)
    assert (table.finetune_dir(tmp_path, "topic", "nesting", "most_frequent", 0) / "results.json").is_file()
    assert table.main(argv) == 0  # the one-process loop finds every run finished, with the same config
    assert capsys.readouterr().out.count("(done before)") == 1 + 2
    with pytest.raises(ConfigError, match="--jobs"):
        table.main([*argv, "--jobs", "0"])


def test_unknown_names_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown corpus 'nestin'"):
        table.main(["--out", str(tmp_path), "--corpora", "nestin"])


def test_the_quick_preset_chooses_its_table_and_sums_the_cpu_time(tmp_path):
    for corpus, cpu in (("nesting", 40.0), ("flat", 41.0)):
        folder = table.pretrain_dir(tmp_path, corpus)
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps({"test": {"mlm_accuracy": 15.0, "perplexity": 99.0}, "timing": {"cpu_s": cpu}}))
    _write(table.finetune_dir(tmp_path, "topic", "-", "scratch", 0), 30.0)
    _write(table.finetune_dir(tmp_path, "acceptability", "-", "scratch", 0), 50.0)  # not a quick proxy: not shown
    assert table.cpu_seconds(tmp_path, ["topic"], ["nesting", "flat", "uniform"], (0, 1)) == (81.0, 2, 0.0, 0)
    assert table.main(["--out", str(tmp_path), "--preset", "quick", "--report-only"]) == 0
    text = (tmp_path / "table.md").read_text()
    quick = table.PRESET_TABLE["quick"]
    assert "topic (proxy)" in text and "acceptability (proxy)" not in text and "paraphrase (proxy)" not in text
    assert "| flat_shuffled | most_frequent |" in text and "| unigram |" not in text and "| random |" not in text
    assert f"| (chance) | — | {100 / len(table.TOPICS):.1f} | " in text and "2 pre-trainings 81 s" in text
    assert set(quick["corpora"]) <= set(table.CORPORA) and set(quick["proxies"]) <= set(table.PROXIES)
    assert "overrides" not in text.splitlines()[0]
    # the overrides a table was made with are in its header, so two tables of one proxy are told apart
    assert table.main(["--out", str(tmp_path), "--preset", "quick", "--report-only", "-o", "trainer.lr=3e-4"]) == 0
    assert "; fine-tuning overrides: trainer.lr=3e-4)" in (tmp_path / "table.md").read_text().splitlines()[0]


def _write_run(folder, test, valid):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps({"test": {"accuracy": test}, "best_value": valid}))


def test_the_rate_of_each_row_is_chosen_on_valid_never_on_test(tmp_path):
    lrs = ("3e-4", "1e-3")
    # scratch: 1e-3 is better on valid (worse on test); nesting: 3e-4 is better on valid; flat: 1e-3 lacks a seed
    runs = {("topic", "-", "scratch"): {"3e-4": [(50, 40), (52, 42)], "1e-3": [(45, 48), (47, 50)]},
            ("topic", "nesting", "most_frequent"): {"3e-4": [(60, 55), (62, 57)], "1e-3": [(70, 50), (72, 52)]},
            ("topic", "flat", "most_frequent"): {"3e-4": [(30, 20), (32, 22)], "1e-3": [(90, 90)]}}
    for cell, by_lr in runs.items():
        for lr, values in by_lr.items():
            for seed, (test, valid) in enumerate(values):
                _write_run(table.finetune_dir(tmp_path, *cell, seed, lr), test, valid)
    assert table.finetune_dir(tmp_path, "topic", "-", "scratch", 1, "1e-3") == tmp_path / "topic" / "scratch" / "lr1e-3" / "seed1"
    acc, chosen = table.select_lr(tmp_path, ["topic"], ["nesting", "flat"], (0, 1), lrs)
    assert chosen[("topic", "-", "scratch")][0] == "1e-3" and acc[("topic", "-", "scratch")] == {0: 45.0, 1: 47.0}
    assert chosen[("topic", "nesting", "most_frequent")][0] == "3e-4"
    assert acc[("topic", "nesting", "most_frequent")] == {0: 60.0, 1: 62.0}
    assert chosen[("topic", "flat", "most_frequent")][0] == "3e-4"  # the unfinished rate is no candidate
    assert ("topic", "nesting", "random") not in acc
    text = table.render_lr_choice(chosen, ["topic"], ["nesting", "flat"], (0, 1), lrs, rows=("most_frequent",))
    assert "| (none) | scratch | 41.0 / **49.0** → 1e-3 |" in text
    assert "| flat | most_frequent | **21.0** / 90.0 (n=1, not a candidate) → 3e-4 |" in text
    g = table.gains(acc, ["topic"], ["nesting"], rows=("most_frequent",))
    assert g[("topic", "nesting", "most_frequent")][0] == pytest.approx(61.0 - 46.0)


def test_bad_rates_are_refused_before_anything_runs(tmp_path):
    for bad, match in (("3e-4,abc", "'abc' is not a positive"), ("0", "not a positive"), ("1e-3,1e-3", "given twice")):
        with pytest.raises(ConfigError, match=match):
            table.main(["--out", str(tmp_path), "--preset", "smoke", "--lrs", bad])
    with pytest.raises(ConfigError, match="--lrs and -o trainer.lr"):
        table.main(["--out", str(tmp_path), "--preset", "smoke", "--lrs", "1e-3", "-o", "trainer.lr=3e-4"])
    assert not (tmp_path / "pretrain").exists()


def test_the_verb_with_two_rates_trains_both_and_reports_the_choice(tmp_path, capsys):
    argv = ["--out", str(tmp_path), "--preset", "smoke", "--corpora", "nesting", "--proxies", "topic", "--seeds", "0",
            "--rows", "most_frequent", "--threads", "1", "--lrs", "1e-4,1e-3"]
    assert table.main(argv) == 0
    for lr in ("1e-4", "1e-3"):
        saved = (table.finetune_dir(tmp_path, "topic", "nesting", "most_frequent", 0, lr) / "config.yaml").read_text()
        assert f"lr: {float(lr)}" in saved or f"lr: {lr}" in saved
    text = (tmp_path / "table.md").read_text()
    assert "fine-tuning lr chosen per row on valid from 1e-4, 1e-3" in text.splitlines()[0]
    assert "| nesting | most_frequent | " in text and "→ 1e-" in text and "4 fine-tunings" in text
    assert table.main(argv) == 0 and capsys.readouterr().out.count("(done before)") >= 4
