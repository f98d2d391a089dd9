"""Collapse many run directories (strategies × seeds) into a mean ± std table (Markdown, CSV) and curve plots."""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import ConfigError, DataError
from .metrics.classification import PREDICTED_CLASSES

RUN_MARKERS = ("results.json", "config.yaml", "metrics.jsonl", "run_info.json")  # any one makes a folder a run
REPLICATE_NAMES = ("seed",)  # config keys (last dotted part) that only repeat a run
PATH_SUFFIXES = ("_dir", "_path", "_file")  # config keys naming where things live, not what was run


@dataclass
class Run:
    """One finished run: its folder, flattened config and results."""

    path: Path
    config: dict[str, Any]  # dotted keys, e.g. "model.assignment"
    results: dict[str, Any]


@dataclass
class Row:
    """One table row: the runs sharing the row keys' values, and each metric's statistics."""

    values: tuple  # the row keys' values
    runs: list[Run]
    stats: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # metric -> (mean, std, n)


@dataclass
class Report:
    rows: list[Row]
    row_keys: list[str]
    metrics: list[str]
    split: str
    skipped: list[tuple[Path, str]]  # (run folder, why it was left out)
    notes: list[str]
    out_dir: Path
    written: list[Path] = field(default_factory=list)


# -- finding and reading runs ----------------------------------------------------------------
def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def find_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Run folders named by ``paths``: the folders themselves, those a ``sweep.json`` lists, and any below."""
    found: dict[Path, None] = {}
    for given in paths:
        root = Path(given)
        if not root.is_dir():
            raise DataError(f"report: {root} is not a folder (expected a run directory or a sweep directory)")
        sweep = root / "sweep.json"
        if sweep.is_file():
            try:
                listed = json.loads(sweep.read_text()).get("runs", [])
            except (json.JSONDecodeError, AttributeError) as error:
                raise DataError(f"report: {sweep} is not a JSON object with a 'runs' list ({error})") from error
            for entry in listed:
                name = entry.get("run_dir") if isinstance(entry, dict) else entry
                if name:
                    found[(root / name).resolve() if not Path(name).is_absolute() else Path(name)] = None
        for folder, subfolders, files in os.walk(root):
            if any(marker in files for marker in RUN_MARKERS):
                found[Path(folder).resolve()] = None
                subfolders.clear()  # checkpoints/, best/, tensorboard/ are not runs
            else:
                subfolders[:] = [s for s in subfolders if not s.startswith(".")]
    return sorted(found, key=_natural_key)


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys; lists become tuples so values can be compared and grouped."""
    if isinstance(config, dict):
        flat: dict[str, Any] = {}
        for key, value in config.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat
    value = tuple(config) if isinstance(config, list) else config
    return {prefix[:-1]: value}


def load_run(path: Path) -> Run:
    """Read a run folder; raises DataError naming the file when results.json is missing or unreadable."""
    results_path = path / "results.json"
    if not path.is_dir():
        raise DataError(f"{path}: folder missing (listed in sweep.json)")
    if not results_path.is_file():
        raise DataError(f"{results_path}: missing (run unfinished or crashed)")
    try:
        results = json.loads(results_path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{results_path}: not valid JSON ({error})") from error
    config_path = path / "config.yaml"
    config = {}
    if config_path.is_file():
        try:
            config = yaml.safe_load(config_path.read_text()) or {}
        except yaml.YAMLError as error:
            raise DataError(f"{config_path}: not valid YAML ({error})") from error
    return Run(path=path, config=flatten(config), results=results)


def read_metrics_log(path: Path) -> list[dict]:
    """Records of a run's metrics.jsonl ([] when the file is absent)."""
    file = path / "metrics.jsonl"
    if not file.is_file():
        return []
    records = []
    for number, line in enumerate(file.read_text().splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise DataError(f"{file}:{number}: not a JSON object ({error})") from error
    return records


# -- grouping and statistics -----------------------------------------------------------------
def _is_path_key(key: str) -> bool:
    last = key.rsplit(".", 1)[-1]
    return last == "run_dir" or key.startswith("hydra.") or last.endswith(PATH_SUFFIXES)


def varying_keys(runs: Sequence[Run]) -> list[str]:
    """Config keys whose values differ between runs (a key absent from a run counts as None)."""
    keys = list(dict.fromkeys(k for run in runs for k in run.config))
    return [k for k in keys if len({repr(run.config.get(k)) for run in runs}) > 1]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
        return float(value)  # the engine writes non-finite values as strings
    return None


def split_metrics(run: Run, split: str) -> dict[str, float] | None:
    """The run's numeric metrics for ``test`` (best model) or ``valid`` (at the best step)."""
    values = run.results.get("test" if split == "test" else "best")
    if not isinstance(values, dict):
        return None
    return {k: v for k, v in ((k, _number(v)) for k, v in values.items()) if v is not None}


def mean_std(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof=1; NaN for a single value) and count."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else math.nan, int(array.size)


def build_report(
    paths: Sequence[str | os.PathLike],
    *,
    rows: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    split: str | None = None,
    out: str | os.PathLike | None = None,
) -> Report:
    """Find, read and group runs and compute each row's statistics (nothing is written)."""
    folders = find_runs(paths)
    if not folders:
        raise DataError(f"report: no run directories under {', '.join(map(str, paths))} "
                        f"(a run directory holds results.json and config.yaml)")
    runs, skipped = [], []
    for folder in folders:
        try:
            runs.append(load_run(folder))
        except DataError as error:
            skipped.append((folder, str(error)))
    if not runs:
        raise DataError(f"report: all {len(skipped)} runs were skipped:\n" + "\n".join(f"  {r}" for _, r in skipped))
    notes: list[str] = []
    varying = varying_keys(runs)
    replicate = [k for k in varying if k.rsplit(".", 1)[-1] in REPLICATE_NAMES or k in ignore]
    if rows:
        unknown = [k for k in rows if all(k not in run.config for run in runs)]
        if unknown:
            raise ConfigError(f"report: --rows {unknown} not in any run's config.yaml; varying keys are {varying}")
        row_keys = list(rows)
    else:
        paths_varying = [k for k in varying if _is_path_key(k) and k not in replicate]
        named = [k for k in paths_varying if k.rsplit(".", 1)[-1] != "run_dir"]  # run_dir always differs
        if named:
            notes.append(f"ignored varying path keys {named}; pass --rows to group by them")
        row_keys = [k for k in varying if k not in replicate and k not in paths_varying]
    others = [k for k in varying if k not in row_keys and k not in replicate and not _is_path_key(k)]
    if split is None:
        split = "test" if all(split_metrics(r, "test") is not None for r in runs) else "valid"
    if split not in ("test", "valid"):
        raise ConfigError(f"report: --split must be test or valid; got {split!r}")
    per_run = {}
    for run in runs:
        values = split_metrics(run, split)
        if values is None:
            raise DataError(f"{run.path / 'results.json'}: no {split!r} metrics ('{'test' if split == 'test' else 'best'}' "
                            f"is null); use --split valid or drop the run")
        per_run[run.path] = values
    if not metrics:  # the watched metric first, loss last: the paper's column order; diagnostics aside
        watched = runs[0].results.get("best_metric")
        metrics = sorted((m for m in _common_metrics(per_run) if m != PREDICTED_CLASSES),
                         key=lambda m: (m != watched, m == "loss"))
    metrics = list(metrics)
    for run in runs:
        missing = [m for m in metrics if m not in per_run[run.path]]
        if missing:
            raise DataError(f"{run.path / 'results.json'}: no {split} metric(s) {missing}; it has "
                            f"{sorted(per_run[run.path])} (choose with --metrics)")
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault(tuple(run.config.get(k) for k in row_keys), []).append(run)
    # A key that varies only from row to row (a recipe row's own lr or assignment) is part of the row; one that
    # varies inside a row mixes different settings into that row's replicates.
    pooled = [k for k in others if any(len({repr(r.config.get(k)) for r in members}) > 1 for members in groups.values())]
    with_rows = [k for k in others if k not in pooled]
    if pooled:
        notes.append(f"keys {pooled} also vary within rows and are pooled into the replicates")
    if with_rows:
        notes.append(f"keys {with_rows} vary with the rows (one value per row)")
    table = [Row(values=key, runs=members,
                 stats={m: mean_std([per_run[r.path][m] for r in members]) for m in metrics})
             for key, members in groups.items()]
    for row in table:
        classes = [per_run[r.path].get(PREDICTED_CLASSES) for r in row.runs]
        if all(c is not None and c <= 1 for c in classes):
            label = ", ".join(f"{k}={v}" for k, v in zip(row_keys, row.values)) or "all runs"
            notes.append(f"row {label}: every run ({len(classes)}) predicts a single class on {split}; the model "
                         "collapsed (often onto the majority class), so its scores say nothing about transfer")
    out_dir = Path(out) if out else Path(os.path.commonpath([str(Path(p).resolve()) for p in paths]))
    return Report(table, row_keys, metrics, split, skipped, notes, out_dir)


def _common_metrics(per_run: dict[Path, dict[str, float]]) -> list[str]:
    names = [list(values) for values in per_run.values()]
    everywhere = [m for m in names[0] if all(m in other for other in names)]
    partial = sorted({m for n in names for m in n} - set(everywhere))
    if partial:
        lacking = {m: [p.name for p, v in per_run.items() if m not in v] for m in partial}
        raise DataError(f"report: inconsistent metrics between runs; missing {lacking}. "
                        f"Pick common ones with --metrics {','.join(everywhere)}")
    return everywhere


# -- output ----------------------------------------------------------------------------------
def _label(report: Report, row: Row) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(report.row_keys, row.values)) or "all runs"


def markdown_table(report: Report, digits: int = 2) -> str:
    """The table: one column per row key, then n, then ``mean ± std`` per metric."""
    head = [*(report.row_keys or ["runs"]), "n", *report.metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i < len(report.row_keys or [0]) else "---:"
                                                          for i in range(len(head))) + "|"]
    for row in report.rows:
        cells = [str(v) for v in row.values] or ["all"]
        cells.append(str(len(row.runs)))
        for metric in report.metrics:
            mean, std, _ = row.stats[metric]
            cells.append(f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if not math.isnan(std) else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(report: Report, path: Path) -> None:
    """One line per row: the row keys' values, then mean, std and n of every metric (full precision)."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*(report.row_keys or ["row"]),
                         *(f"{m}_{s}" for m in report.metrics for s in ("mean", "std", "n"))])
        for row in report.rows:
            stats = [x for m in report.metrics for x in (repr(row.stats[m][0]),
                     "" if math.isnan(row.stats[m][1]) else repr(row.stats[m][1]), row.stats[m][2])]
            writer.writerow([*([str(v) for v in row.values] or ["all"]), *stats])


def _curve(runs: Sequence[Run], split: str, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Steps, mean and std over runs of ``metric`` logged for ``split`` (each step averages the runs that reached it)."""
    by_step: dict[int, list[float]] = {}
    for run in runs:
        for record in read_metrics_log(run.path):
            value = _number(record.get(metric))
            if record.get("split") == split and value is not None and "step" in record:
                by_step.setdefault(int(record["step"]), []).append(value)
    if not by_step:
        return None
    steps = np.array(sorted(by_step))
    stats = [mean_std(by_step[s]) for s in steps]
    return steps, np.array([m for m, _, _ in stats]), np.nan_to_num(np.array([s for _, s, _ in stats]))


def plot_curves(report: Report, path: Path) -> bool:
    """Train loss vs step (and the watched valid metric when logged), one line per row, ±std bands."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    watched = report.rows[0].runs[0].results.get("best_metric") or (report.metrics[0] if report.metrics else "loss")
    panels = [("train", "loss", "train loss"), ("valid", watched, f"valid {watched}")]
    curves = [[(row, _curve(row.runs, split, metric)) for row in report.rows] for split, metric, _ in panels]
    shown = [(panel, c) for panel, c in zip(panels, curves) if any(curve is not None for _, curve in c)]
    if not shown:
        return False
    figure = Figure(figsize=(6 * len(shown), 4), layout="constrained")
    FigureCanvasAgg(figure)
    for axis_index, ((_, _, title), rows) in enumerate(shown):
        axis = figure.add_subplot(1, len(shown), axis_index + 1)
        for row, curve in rows:
            if curve is None:
                continue
            steps, mean, std = curve
            line, = axis.plot(steps, mean, label=f"{_label(report, row)} (n={len(row.runs)})")
            axis.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
        axis.set_xlabel("step")
        axis.set_title(title)
        axis.legend(fontsize="small")
    figure.savefig(path, dpi=100)
    return True


def write_report(report: Report, *, plot: bool = True, digits: int = 2) -> list[Path]:
    """Write report.md, report.csv and (when curves were logged) curves.png into ``report.out_dir``."""
    report.out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    csv_path = report.out_dir / "report.csv"
    write_csv(report, csv_path)
    written.append(csv_path)
    png_path = report.out_dir / "curves.png"
    has_plot = plot and plot_curves(report, png_path)
    if has_plot:
        written.append(png_path)
    replicate = "mean ± std (sample std, ddof=1) over n runs"
    source = "test metrics of the best checkpoint" if report.split == "test" else "valid metrics at the best step"
    text = [f"# Report: {report.out_dir.name}", "", f"{source}; {replicate}.", "", markdown_table(report, digits), ""]
    text += [f"- note: {n}" for n in report.notes]
    if report.skipped:
        text += ["", f"Skipped {len(report.skipped)} run(s):", *(f"- {reason}" for _, reason in report.skipped)]
    if has_plot:
        text += ["", "![training curves](curves.png)"]
    md_path = report.out_dir / "report.md"
    md_path.write_text("\n".join(text).rstrip() + "\n")
    written.insert(0, md_path)
    report.written = written
    return written


def report_main(argv: Sequence[str] | None = None) -> int:
    """``ssl-universal report RUN_DIR_OR_SWEEP... [--rows K] [--metrics a,b] [--split test|valid] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="ssl-universal report",
                                     description="Mean ± std table (Markdown, CSV) and curves of many runs.")
    parser.add_argument("paths", nargs="+", help="run directories or sweep directories (searched recursively)")
    parser.add_argument("--rows", action="append", default=[], help="config key(s) that make the rows (comma-separated)")
    parser.add_argument("--ignore", action="append", default=[], help="config key(s) to pool as replicates, like seed")
    parser.add_argument("--metrics", default=None, help="comma-separated metric names (default: all)")
    parser.add_argument("--split", choices=("test", "valid"), default=None, help="default: test when every run has it")
    parser.add_argument("--out", default=None, help="folder for report.md/csv and curves.png (default: common parent)")
    parser.add_argument("--digits", type=int, default=2, help="decimals in the Markdown table")
    parser.add_argument("--no-plot", action="store_true", help="skip curves.png")
    args = parser.parse_args(argv)

    def _split(items: list[str]) -> list[str]:
        return [part.strip() for item in items for part in item.split(",") if part.strip()]

    try:
        report = build_report(args.paths, rows=_split(args.rows), ignore=_split(args.ignore),
                              metrics=_split([args.metrics]) if args.metrics else None, split=args.split, out=args.out)
        written = write_report(report, plot=not args.no_plot, digits=args.digits)
    except (DataError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(markdown_table(report, args.digits))
    for note in report.notes:
        print(f"note: {note}")
    if report.skipped:
        print(f"skipped {len(report.skipped)} run(s):")
        for _, reason in report.skipped:
            print(f"  {reason}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
