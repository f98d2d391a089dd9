"""SCIENCE.md §3 end to end: init rows × FPT tasks, each cell's learning rate swept, ≥ 3 seeds, next to trivial baselines.

    ssl-universal fpt-table --out runs/fpt --size quick        # the quick table (see plugins/fpt/README.md for times)
    ssl-universal fpt-table --out runs/fpt --size cpu --threads 1   # every run trained until valid stops improving
    ssl-universal fpt-table --out runs/fpt                     # the recipes as written (GPU-sized)
    ssl-universal fpt-table --out runs/fpt --tasks xor,digits --rows pretrained,default --lrs 1e-3,3e-3 --seeds 0,1,2
    ssl-universal fpt-table --out runs/gpt2 -o model.backbone=/path/to/gpt2      # any Hugging Face folder
    ssl-universal fpt-table --out runs/fpt --report-only       # print the table of what has finished

Each run is ``ssl-universal train recipe=fpt/<task> row=<row> trainer.lr=<lr> seed=<seed>`` in this process,
written to ``OUT/<task>/<row>/lr<lr>/seed<seed>``; a finished run is skipped, so a stopped table resumes,
and several invocations with different ``--tasks`` can share one OUT (one per core), then ``--report-only``.
Each run trains until its valid accuracy has not improved for ``trainer.early_stopping_patience``
evaluations (the recipe's ``max_steps`` is a cap; the report counts the runs that hit it and marks their cells).
A size's learning rates are one tuple for every row or one per row (``cpu``: the frozen rows share theirs). Weights are
deleted after each run unless ``--keep-weights``. The table reads test accuracy at each row's best
learning rate on valid; ``--tune first`` sweeps the rates on the first seed only and runs the other seeds
at the chosen rate. Chance, logistic regression (and, for bit memory, copying the shown bits) are fitted on
the same splits.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import logging
import math
import shutil
import time
from pathlib import Path

from ssl_universal.cli import chosen_names, keeps_log_level

from .table_report import COLUMNS, ROW_TITLES, best_lrs, load_runs, render, run_folder

SIZES = {  # recipe preset, learning rates (one tuple for every row, or row -> tuple), seeds, how rates are tuned
    "default": {"preset": None, "lrs": (1e-4, 3e-4, 1e-3, 3e-3), "seeds": (0, 1, 2), "tune": "all"},
    # cpu: every run trains until valid stops improving (the recipes' `cpu` presets: small inputs, 2 layers, a
    # generous max_steps cap). Two rates per row: the three frozen rows share theirs (they train only small layers;
    # quick's top rate, 3e-3, won every pretrained and statistics-only cell, so the sweep looks above it), the fully
    # fine-tuned body wants less (quick chose 3e-4; 3e-3 collapsed it to chance).
    "cpu": {"preset": "cpu", "seeds": (0, 1, 2), "tune": "first",
            "lrs": {"pretrained": (3e-3, 1e-2), "statistics_only": (3e-3, 1e-2), "default": (3e-3, 1e-2),
                    "finetuned": (3e-4, 1e-3), "scratch_trained": (3e-4, 1e-3)}},
    "quick": {"preset": "quick", "lrs": (3e-4, 3e-3), "seeds": (0, 1, 2), "tune": "first"},
    "smoke": {"preset": "smoke", "lrs": (1e-3, 3e-3), "seeds": (0, 1), "tune": "first"},
}
DEFAULT_ROWS = ("pretrained", "statistics_only", "default", "finetuned")

log = logging.getLogger(__name__)


def row_lrs(lrs, row: str) -> tuple[float, ...]:
    """The learning rates swept for ``row``: a size gives one tuple for every row, or one per row."""
    if isinstance(lrs, dict):
        if row not in lrs:
            raise SystemExit(f"fpt-table: this size has no learning rates for row {row!r} (it has {', '.join(lrs)}); "
                             f"give --lrs")
        return tuple(lrs[row])
    return tuple(lrs)


def _rates_text(lrs, rows: list[str]) -> str:
    if not isinstance(lrs, dict):
        return f"rates {', '.join(f'{lr:.0e}' for lr in lrs)}"
    return "rates " + "; ".join(f"{row} {', '.join(f'{lr:.0e}' for lr in row_lrs(lrs, row))}" for row in rows)


def recipe_path(task: str) -> Path:
    """The packaged recipe of a table column (works before the plugin's entry point is installed)."""
    return Path(str(importlib.resources.files(__package__) / "recipes" / f"{COLUMNS[task][0]}.yaml"))


def _overrides(task: str, preset: str | None, extra: list[str]) -> list[str]:
    return [f"recipe={recipe_path(task)}", *([f"preset={preset}"] if preset else []), *extra]


def train_cell(out: Path, task: str, row: str, lr: float, seed: int, *, preset: str | None, extra: list[str],
               keep_weights: bool) -> tuple[dict, bool]:
    """Train one run (or read it when finished); returns (results, trained now)."""
    from ssl_universal import run
    from ssl_universal.config import load_config

    folder = run_folder(out, task, row, lr, seed)
    done = folder / "results.json"
    if done.is_file():
        return json.loads(done.read_text()), False
    cfg = load_config([*_overrides(task, preset, extra), f"row={row}", f"trainer.lr={lr}", f"seed={seed}",
                       f"run_dir={folder}"])
    start = time.perf_counter()
    results = run.train(cfg)
    (folder / "seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
    if not keep_weights:
        for name in ("best", "checkpoints"):
            shutil.rmtree(folder / name, ignore_errors=True)
    return results, True


def task_baselines(out: Path, task: str, *, preset: str | None, extra: list[str]) -> dict:
    """Chance, logistic regression (and bit copying) on the task's splits; cached in OUT/<task>/baselines.json."""
    cache = out / task / "baselines.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    from ssl_universal.config import load_config, section_config
    from ssl_universal.registry import TASKS, TOKENIZERS

    from .baselines import all_baselines

    cfg = load_config(_overrides(task, preset, extra))
    tokenizer = TOKENIZERS.get(cfg.tokenizer.name).obj(section_config(cfg, "tokenizer")) if cfg.tokenizer is not None else None
    built = TASKS.get(cfg.task.name).obj(section_config(cfg, "task"), tokenizer)
    result = all_baselines(built)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result, indent=1))
    return result


def setup_line(task: str, *, preset: str | None, extra: list[str]) -> str:
    """What one column trains on, in a line: the inputs, the data size, the backbone and the training budget."""
    from ssl_universal.config import load_config

    cfg = load_config(_overrides(task, preset, extra))
    t, m, tr = cfg.task, cfg.model, cfg.trainer
    if t.name == "listops":
        what = (f"{t.num_train} expressions (depth ≤ {t.max_depth}, ≤ {t.max_args} arguments, lengths {t.min_expression_length}–"
                f"{t.max_expression_length}), cut at {t.max_length} tokens")
    elif t.name == "image_patches":
        side = {"digits": 8, "mnist": 28, "fashion_mnist": 28, "cifar10": 32}[t.dataset] // t.downsample
        what = (f"{t.dataset} {side}×{side}{' (averaged down ×' + str(t.downsample) + ')' if t.downsample > 1 else ''} in "
                f"{t.patch_size}×{t.patch_size} patches = {(side // t.patch_size) ** 2} vectors; "
                f"{t.limit_train or 'all'} training images")
    else:
        what = f"n={t.n} bits, {t.patterns} strings, {t.num_train} training examples"
    layers = f"its first {m.num_layers} layers" if m.num_layers else "all layers"
    return (f"{what}; backbone {m.backbone} ({layers}); ≤ {tr.max_steps} steps of {tr.batch_size}, valid every "
            f"{tr.eval_every}, early stop after {tr.early_stopping_patience} evals without gain")


def _numbers(text: str, kind):
    return tuple(kind(x) for x in text.split(",") if x.strip())


def _names(text: str, known, what: str) -> list[str]:
    return chosen_names(text, known, what, "fpt-table")


@keeps_log_level
def main(argv: list[str]) -> int:
    """Train and print the FPT table (SCIENCE.md §3): init rows × tasks, learning rates swept, seeds, baselines."""
    p = argparse.ArgumentParser(prog="ssl-universal fpt-table", description=main.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--out", required=True, help="folder of the runs and of table.md")
    p.add_argument("--size", choices=sorted(SIZES), default="default", help="the recipes' preset, rates and seeds")
    p.add_argument("--tasks", default=",".join(COLUMNS), help=f"comma-separated columns: {','.join(COLUMNS)}")
    p.add_argument("--rows", default=",".join(DEFAULT_ROWS), help=f"comma-separated rows: {','.join(ROW_TITLES)}")
    p.add_argument("--lrs", default=None, help="comma-separated learning rates (default: the size's)")
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default: the size's)")
    p.add_argument("--tune", choices=("all", "first"), default=None,
                   help="all: every rate with every seed | first: rates on the first seed, the rest at the best rate")
    p.add_argument("-o", "--override", action="append", default=[], help="extra key=value for every run (repeatable)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    p.add_argument("--keep-weights", action="store_true", help="keep each run's best/ and checkpoints/")
    p.add_argument("--report-only", action="store_true", help="train nothing; print the table of finished runs")
    p.add_argument("--verbose", action="store_true", help="the engine's per-step log")
    args = p.parse_args(argv)

    size = SIZES[args.size]
    tasks = _names(args.tasks, COLUMNS, "task")
    rows = _names(args.rows, ROW_TITLES, "row")
    lrs = _numbers(args.lrs, float) if args.lrs else size["lrs"]
    seeds = _numbers(args.seeds, int) if args.seeds else size["seeds"]
    tune = args.tune or size["tune"]
    for row in rows:
        row_lrs(lrs, row)  # every row has rates before anything trains
    out = Path(args.out).expanduser().resolve()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if not args.verbose:
        logging.getLogger("ssl_universal").setLevel(logging.WARNING)

    started = time.perf_counter()
    baselines = {}
    for task in tasks:
        baselines[task] = task_baselines(out, task, preset=size["preset"], extra=args.override)
        if args.report_only:
            continue
        for row in rows:
            first = seeds[:1] if tune == "first" else seeds
            plan = [(lr, s) for lr in row_lrs(lrs, row) for s in first]
            for lr, seed in plan:
                _announce(out, task, row, lr, seed, size, args)
            if tune == "first" and len(seeds) > 1:
                chosen = best_lrs([r for r in load_runs(out) if r.task == task and r.row == row
                                   and r.lr in row_lrs(lrs, row)])[(task, row)]
                for seed in seeds[1:]:
                    _announce(out, task, row, chosen, seed, size, args)
    runs = [r for r in load_runs(out)
            if r.task in tasks and r.row in rows and r.lr in row_lrs(lrs, r.row) and r.seed in seeds]
    header = (f"# FPT table ({args.size}: {_rates_text(lrs, rows)}; seeds {', '.join(map(str, seeds))}, "
              f"tuned on {'every seed' if tune == 'all' else 'the first seed'})")
    setups = {t: setup_line(t, preset=size["preset"], extra=args.override) for t in tasks}
    text = render(runs, baselines, rows, tasks, header=header, setups=setups)
    (out / "table.md").write_text(text)
    print(text)
    print(f"wall time of this invocation: {(time.perf_counter() - started) / 60:.1f} min; written {out / 'table.md'}")
    return 0


def _announce(out: Path, task: str, row: str, lr: float, seed: int, size: dict, args) -> None:
    start = time.perf_counter()
    results, trained = train_cell(out, task, row, lr, seed, preset=size["preset"], extra=args.override,
                                  keep_weights=args.keep_weights)
    test = (results.get("test") or {}).get(results["best_metric"], math.nan)
    print(f"{task} {row} lr={lr:.0e} seed={seed}: valid {results['best_value']:.1f} test {test:.1f} "
          f"({results['steps']} steps, {results['stopped']}"
          f"{f', {time.perf_counter() - start:.0f} s' if trained else ', done before'})", flush=True)
