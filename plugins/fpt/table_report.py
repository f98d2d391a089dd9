"""The FPT table from finished runs: best learning rate per row (on valid), test mean ± std, the sweep, budgets, baselines."""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# column key -> (recipe, title); a dagger marks a stand-in dataset (a proxy, never the paper's data)
COLUMNS = {
    "memory": ("memory", "Memory"),
    "xor": ("xor", "XOR"),
    "listops": ("listops", "ListOps"),
    "digits": ("digits", "MNIST†"),
    "fashion": ("fashion", "C10†"),
    "fashion_lra": ("fashion_lra", "C10 LRA†"),
}
PROXIES = {
    "digits": "MNIST† = PROXY: scikit-learn's 8×8 handwritten digits as patches, standing in for MNIST",
    "fashion": "C10† = PROXY: Fashion-MNIST (grey clothing, 28×28) as patches, standing in for CIFAR-10",
    "fashion_lra": "C10 LRA† = PROXY: Fashion-MNIST one pixel per token, standing in for grey CIFAR-10 LRA",
}
ROW_TITLES = {"pretrained": "pretrained", "statistics_only": "statistics only", "default": "default (random init)",
              "finetuned": "pretrained, fully fine-tuned", "scratch_trained": "random init, fully trained"}
# SCIENCE.md §3 (arXiv 2103.05247, GPT-2, frozen body); the paper has no fine-tuned or baseline rows
PAPER = {
    "pretrained": {"memory": 100, "xor": 100, "listops": 38.4, "digits": 98.0, "fashion": 68.2, "fashion_lra": 38.6},
    "statistics_only": {"memory": 100, "xor": 100, "listops": 37.4, "digits": 97.2, "fashion": 56.5, "fashion_lra": 33.1},
    "default": {"memory": 75.8, "xor": 100, "listops": 34.3, "digits": 91.7, "fashion": 61.7, "fashion_lra": 36.1},
}
RUN_DIR = re.compile(r"^lr(?P<lr>[0-9.e+-]+)$")


@dataclass
class RunResult:
    task: str
    row: str
    lr: float
    seed: int
    valid: float  # best valid value of the task's metric
    test: float  # test value at the best valid step
    steps: int
    stopped: str  # early_stopping | max_steps | ...
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, valid metric)
    seconds: float = math.nan  # wall time of the whole run (build, train, test), from seconds.txt
    cpu_seconds: float = math.nan  # the engine's CPU time of training (results.json timing.cpu_s)


def run_folder(out: Path, task: str, row: str, lr: float, seed: int) -> Path:
    return out / task / row / f"lr{lr:.0e}" / f"seed{seed}"


def load_runs(out: Path) -> list[RunResult]:
    """Every finished run under ``out/<task>/<row>/lr<lr>/seed<seed>``."""
    runs = []
    for results_file in sorted(out.glob("*/*/lr*/seed*/results.json")):
        folder = results_file.parent
        match = RUN_DIR.match(folder.parent.name)
        if match is None or folder.parts[-4] not in COLUMNS:
            continue
        results = json.loads(results_file.read_text())
        metric = results["best_metric"]
        curve = []
        log = folder / "metrics.jsonl"
        if log.is_file():
            for line in log.read_text().splitlines():
                record = json.loads(line) if line.strip() else {}
                if record.get("split") == "valid" and metric in record:
                    curve.append((int(record["step"]), float(record[metric])))
        timing = folder / "seconds.txt"
        runs.append(RunResult(
            task=folder.parts[-4], row=folder.parts[-3], lr=float(match["lr"]), seed=int(folder.name[4:]),
            valid=float(results["best_value"]), test=float((results.get("test") or {}).get(metric, math.nan)),
            steps=int(results["steps"]), stopped=str(results["stopped"]), curve=curve,
            seconds=float(timing.read_text()) if timing.is_file() else math.nan,
            cpu_seconds=float((results.get("timing") or {}).get("cpu_s", math.nan)),
        ))
    return runs


def _mean_std(values: list[float]) -> str:
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return "–"
    if array.size == 1:
        return f"{array[0]:.1f} (n=1)"
    return f"{array.mean():.1f} ± {array.std(ddof=1):.1f}"


def best_lrs(runs: list[RunResult]) -> dict[tuple[str, str], float]:
    """(task, row) -> the learning rate with the highest mean valid score over the seeds that every rate of the cell
    has (ties: the smaller rate). Rates tuned on the first seed are so judged by that seed alone, as they were chosen."""
    by_cell: dict[tuple[str, str], dict[float, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in runs:
        by_cell[(r.task, r.row)][r.lr][r.seed] = r.valid
    chosen = {}
    for cell, lrs in by_cell.items():
        common = set.intersection(*(set(seeds) for seeds in lrs.values()))
        chosen[cell] = max(sorted(lrs), key=lambda lr: float(np.mean([lrs[lr][s] for s in (common or lrs[lr])])))
    return chosen


def convergence(runs: list[RunResult]) -> dict[str, int]:
    """How runs ended: ``early_stopping`` (valid stopped improving: converged), ``max_steps`` (hit the cap), other."""
    counts = {"runs": len(runs), "early_stopping": 0, "max_steps": 0, "other": 0}
    for r in runs:
        counts[r.stopped if r.stopped in ("early_stopping", "max_steps") else "other"] += 1
    return counts


def _capped_note(at: list[RunResult]) -> str:
    capped = sum(r.stopped != "early_stopping" for r in at)
    return f" ({capped}/{len(at)} capped)" if capped else ""


def _grid(curves: list[list[tuple[int, float]]]) -> list[int]:
    steps = sorted({s for c in curves for s, _ in c})
    if not steps:
        return []
    grid = [s for s in steps if s / steps[0] in {2.0**k for k in range(12)}]
    return (grid + [steps[-1]] if grid[-1] != steps[-1] else grid)[-6:]


def _best_so_far(curve: list[tuple[int, float]], step: int) -> float:
    seen = [v for s, v in curve if s <= step]
    return max(seen) if seen else math.nan


def render(runs: list[RunResult], baselines: dict[str, dict], rows: list[str], tasks: list[str], *,
           header: str = "", setups: dict[str, str] | None = None) -> str:
    """The Markdown report: the table, the paper's figures, the sweep, the budget curves, convergence, baselines."""
    chosen = best_lrs(runs)
    cell_runs: dict[tuple[str, str], list[RunResult]] = defaultdict(list)
    for r in runs:
        if chosen.get((r.task, r.row)) == r.lr:
            cell_runs[(r.task, r.row)].append(r)
    titles = [COLUMNS[t][1] for t in tasks]
    lines = [header, "", "Test accuracy (%) at each row's best learning rate on valid; mean ± std over seeds; "
             "\"(k/n capped)\": k of the cell's n runs stopped at max_steps, not by early stopping on valid.", "",
             "| init | " + " | ".join(titles) + " |", "|---|" + "---|" * len(tasks)]
    for row in rows:
        cells = [_mean_std([r.test for r in cell_runs[(t, row)]]) + _capped_note(cell_runs[(t, row)]) for t in tasks]
        lines.append(f"| {ROW_TITLES.get(row, row)} | " + " | ".join(cells) + " |")
    for name in sorted({n for b in baselines.values() for n in b}):
        cells = [f"{baselines[t][name]['test']:.1f}" if name in baselines.get(t, {}) else "–" for t in tasks]
        lines.append(f"| *{name}* | " + " | ".join(cells) + " |")
    lines += ["", "Chosen learning rate per cell (by mean valid accuracy):", "",
              "| init | " + " | ".join(titles) + " |", "|---|" + "---|" * len(tasks)]
    for row in rows:
        lines.append(f"| {ROW_TITLES.get(row, row)} | " + " | ".join(
            f"{chosen[(t, row)]:.0e}" if (t, row) in chosen else "–" for t in tasks) + " |")
    lines += ["", "The paper (arXiv 2103.05247, GPT-2, full-size data; SCIENCE.md §3):", "",
              "| init | " + " | ".join(titles) + " |", "|---|" + "---|" * len(tasks)]
    for row, values in PAPER.items():
        lines.append(f"| {ROW_TITLES[row]} | " + " | ".join(str(values.get(t, "–")) for t in tasks) + " |")
    notes = [PROXIES[t] for t in tasks if t in PROXIES]
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    if setups:
        lines += ["", "What ran (each column):", ""] + [f"- {COLUMNS[t][1]}: {setups[t]}" for t in tasks if t in setups]
    lines += ["", "## The learning-rate sweep (valid / test, mean ± std over the seeds run at that rate)", ""]
    for task in tasks:
        lrs = sorted({r.lr for r in runs if r.task == task})
        if not lrs:
            continue
        lines += [f"**{COLUMNS[task][1]}**", "", "| init | " + " | ".join(f"lr {lr:.0e}" for lr in lrs) + " |",
                  "|---|" + "---|" * len(lrs)]
        for row in rows:
            cells = []
            for lr in lrs:
                at = [r for r in runs if (r.task, r.row, r.lr) == (task, row, lr)]
                cells.append(f"{_mean_std([r.valid for r in at])} / {_mean_std([r.test for r in at])}" if at else "–")
            lines.append(f"| {ROW_TITLES.get(row, row)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Budget: best valid accuracy reached by step s (best learning rate, mean over seeds)", ""]
    for task in tasks:
        grid = _grid([r.curve for row in rows for r in cell_runs[(task, row)]])
        if not grid:
            continue
        lines += [f"**{COLUMNS[task][1]}**", "", "| init | " + " | ".join(f"s={s}" for s in grid) + " |",
                  "|---|" + "---|" * len(grid)]
        for row in rows:
            at = cell_runs[(task, row)]
            cells = [f"{np.nanmean([_best_so_far(r.curve, s) for r in at]):.1f}" if at else "–" for s in grid]
            lines.append(f"| {ROW_TITLES.get(row, row)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Convergence (runs at the chosen rate that early-stopped on valid / all; median steps)", "",
              "| init | " + " | ".join(titles) + " |", "|---|" + "---|" * len(tasks)]
    for row in rows:
        cells = []
        for t in tasks:
            at = cell_runs[(t, row)]
            early = sum(r.stopped == "early_stopping" for r in at)
            cells.append(f"{early}/{len(at)}; {int(np.median([r.steps for r in at]))}" if at else "–")
        lines.append(f"| {ROW_TITLES.get(row, row)} | " + " | ".join(cells) + " |")
    table_runs = [r for at in cell_runs.values() for r in at]
    chosen_count, all_count = convergence(table_runs), convergence(runs)
    lines += ["", f"Converged (early-stopped on valid): {chosen_count['early_stopping']} of {chosen_count['runs']} runs at "
              f"the chosen rates ({chosen_count['max_steps']} hit max_steps); {all_count['early_stopping']} of "
              f"{all_count['runs']} runs in all, the sweep included ({all_count['max_steps']} hit max_steps"
              + (f", {all_count['other']} ended otherwise" if all_count["other"] else "") + ")."]
    seconds = [r.seconds for r in runs if not math.isnan(r.seconds)]
    cpu = [r.cpu_seconds for r in runs if not math.isnan(r.cpu_seconds)]
    lines += ["", f"{len(runs)} runs, {sum(seconds) / 60:.1f} minutes of training in all (sum over runs)"
              + (f"; the engine's CPU time of training {sum(cpu) / 60:.1f} minutes" if cpu else "") + "."]
    return "\n".join(lines) + "\n"
