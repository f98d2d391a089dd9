"""The table's sizes: the cpu size's configs are what the README documents, and the report counts convergence."""

from __future__ import annotations

import pytest

from ssl_universal.config import load_config
from ssl_universal_plugins.fpt.table import SIZES, recipe_path, row_lrs
from ssl_universal_plugins.fpt.table_report import COLUMNS, RunResult, convergence, render

# what plugins/fpt/README.md says the cpu size trains on (column -> (task options, positions kept = the sequence length))
CPU_SIZES = {
    "memory": ({"n": 10, "patch_size": 10, "patterns": 5}, 6),
    "xor": ({"n": 5}, 2),
    "listops": ({"max_depth": 3, "max_args": 4, "max_expression_length": 12, "max_length": 14}, 14),
    "digits": ({"patch_size": 4}, 4),
    "fashion": ({"downsample": 2, "patch_size": 7, "limit_train": 2000}, 4),
    "fashion_lra": ({"downsample": 7, "patch_size": 1, "limit_train": 2000}, 16),
}


@pytest.mark.parametrize("task", list(COLUMNS))
def test_cpu_preset_trains_to_early_stopping_with_max_steps_only_a_cap(task):
    for row in ("pretrained", "finetuned"):
        cfg = load_config([f"recipe={recipe_path(task)}", f"preset={SIZES['cpu']['preset']}", f"row={row}"])
        tr = cfg.trainer
        assert tr.early_stopping_patience is not None and tr.early_stopping_patience >= 3
        window = tr.early_stopping_patience * tr.eval_every  # steps without gain before a run stops
        assert tr.max_steps >= 10 * window, "max_steps must be a safety cap far beyond the patience window"
        assert tr.eval_every <= 25 and tr.batch_size == 16 and cfg.model.num_layers == 2
        options, length = CPU_SIZES[task]
        for key, value in options.items():
            assert getattr(cfg.task, key) == value, (task, key)
        assert cfg.model.max_positions == length  # the unused position rows are dropped (they cost Adam time only)
    quick = load_config([f"recipe={recipe_path(task)}", "preset=quick"]).trainer
    assert quick.max_steps < tr.max_steps  # the quick size stays a small fixed budget


def test_cpu_size_sweeps_two_rates_per_row_the_same_for_the_three_frozen_rows():
    lrs = SIZES["cpu"]["lrs"]
    assert row_lrs(lrs, "pretrained") == row_lrs(lrs, "statistics_only") == row_lrs(lrs, "default") == (3e-3, 1e-2)
    assert row_lrs(lrs, "finetuned") == (3e-4, 1e-3)
    assert row_lrs((1e-3,), "anything") == (1e-3,)
    with pytest.raises(SystemExit, match="no learning rates for row 'nonsense'"):
        row_lrs(lrs, "nonsense")


def _run(row, lr, seed, stopped, test=50.0):
    return RunResult("xor", row, lr, seed, valid=test, test=test, steps=100, stopped=stopped, curve=[(20, test), (100, test)])


def test_convergence_counts_and_capped_cells_are_marked():
    runs = [_run("pretrained", 1e-3, 0, "early_stopping", 60.0), _run("pretrained", 3e-3, 0, "max_steps", 70.0),
            _run("pretrained", 3e-3, 1, "early_stopping", 70.0), _run("pretrained", 3e-3, 2, "max_steps", 70.0),
            _run("default", 1e-3, 0, "early_stopping"), _run("default", 1e-3, 1, "early_stopping")]
    assert convergence(runs) == {"runs": 6, "early_stopping": 4, "max_steps": 2, "other": 0}
    text = render(runs, {}, ["pretrained", "default"], ["xor"])
    table_row = next(line for line in text.splitlines() if line.startswith("| pretrained |"))
    assert "70.0 ± 0.0 (2/3 capped)" in table_row  # 3e-3 chosen; two of its three seeds hit the cap
    default_row = next(line for line in text.splitlines() if line.startswith("| default (random init) |"))
    assert "capped" not in default_row
    assert "Converged (early-stopped on valid): 3 of 5 runs at the chosen rates (2 hit max_steps); 4 of 6 runs" in text
