"""tools/bench_engine.py: both trainers run on a tiny model and the table holds positive, consistent numbers."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bench_engine.py"
TINY = [
    "--rounds",
    "1",
    "--warmup-rounds",
    "0",
    "--warmup-steps",
    "1",
    "--steps",
    "2",
    "--examples",
    "64",
    "--batch-size",
    "8",
    "--fixed-length",
    "16",
    "--min-length",
    "4",
    "--max-length",
    "32",
    "--layers",
    "1",
    "--hidden",
    "16",
    "--heads",
    "2",
    "--intermediate",
    "32",
]


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("bench_engine_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_both_scenarios_write_rows_for_every_trainer(tool, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert tool.main([*TINY, "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["scenario"], r["side"]) for r in rows] == [
        ("fixed", "engine"),
        ("fixed", "Hugging Face Trainer"),
        ("variable", "engine, length-bucketed"),
        ("variable", "engine, random batches"),
        ("variable", "Hugging Face Trainer, random batches"),
        ("variable", "Hugging Face Trainer, group_by_length"),
    ]
    steps, batch_size = 2, 8  # TINY: 64 examples in batches of 8 are full batches on every side
    for row in rows:
        (timed,) = row["rounds"]  # one round, so the row's medians are that round's numbers
        assert {k: row[k] for k in ("examples_per_s", "tokens_per_s", "padded_tokens_per_s")} == {
            k: timed[k] for k in ("examples_per_s", "tokens_per_s", "padded_tokens_per_s")
        }
        # Rates are what the window counted over the time it measured: 2 steps of 8 examples.
        assert timed["seconds"] > 0
        assert timed["examples_per_s"] * timed["seconds"] == pytest.approx(steps * batch_size)
        assert 0 < row["padding_efficiency"] <= 1
        # Real tokens are the padded positions times the share that holds a token.
        assert row["tokens_per_s"] == pytest.approx(row["padding_efficiency"] * row["padded_tokens_per_s"])
    for scenario in ("fixed", "variable"):
        sides = [r for r in rows if r["scenario"] == scenario]
        baseline = next(r for r in sides if r["side"].startswith("Hugging Face"))
        for r in sides:  # with one round the paired ratio is the ratio of the two reported throughputs
            assert r["ratio"] == pytest.approx(r["tokens_per_s"] / baseline["tokens_per_s"])
    fixed = [r for r in rows if r["scenario"] == "fixed"]
    assert all(r["padding_efficiency"] == 1.0 for r in fixed)  # one length: nothing to pad
    assert fixed[1]["ratio"] == 1.0  # the Hugging Face row is its own baseline
    # Every timed step saw exactly batch-size examples of 16 tokens, so tokens/s is 16x examples/s.
    for row in fixed:
        assert row["tokens_per_s"] == pytest.approx(16 * row["examples_per_s"])
        assert row["tokens_per_s"] * row["rounds"][0]["seconds"] == pytest.approx(steps * batch_size * 16)
    variable = {r["side"]: r for r in rows if r["scenario"] == "variable"}
    # Length bucketing pads less than random batches of the same data.
    assert (
        variable["engine, length-bucketed"]["padding_efficiency"]
        > variable["engine, random batches"]["padding_efficiency"]
    )
    assert "| fixed | engine |" in capsys.readouterr().out


def test_the_window_counts_only_training_steps_after_warm_up(tool, tmp_path):
    import torch

    args = tool.parse_args([*TINY, "--backbone", tool.bert_folder(tmp_path)])
    task = tool.SyntheticTask(tool.lengths_for("fixed", args), seed=0)
    model = tool.build_model(task, args, window=(1, 3))
    batch = task.collate(task.dataset("train")[:4])
    model.eval()
    with torch.no_grad():
        model(**batch)  # evaluation forwards are not counted
    model.train()
    for _ in range(3):
        model(**batch)
    with pytest.raises(RuntimeError, match="window needs 4"):
        model.result()
    model(**batch)
    result = model.result()
    assert model.examples == 8 and result["padding_efficiency"] == 1.0
    assert result["tokens_per_s"] == pytest.approx(16 * result["examples_per_s"])
