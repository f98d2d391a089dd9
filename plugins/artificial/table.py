"""``ssl-universal artificial-table``: the SCIENCE.md §4 table, end to end (Chiang & Lee, arXiv 2109.03537).

    ssl-universal artificial-table --out runs/artificial --preset quick     # the quick table (README: wall time)
    ssl-universal artificial-table --out runs/artificial                    # the recipes' defaults (this machine's size)
    ssl-universal artificial-table --out runs/artificial --corpora nesting,flat --proxies topic --seeds 0,1,2,3,4
    ssl-universal artificial-table --out runs/artificial --report-only      # the table of what has finished
    ssl-universal artificial-table --out runs/artificial_lrs --lrs 3e-4,1e-3  # each row's fine-tuning rate chosen on valid

1. Pre-train one masked LM per corpus (recipe ``pretrain``): the five generators, the shuffled variants of
   the paired ones, and the English reference (real fortunes text in the same ids), into
   ``OUT/pretrain/<corpus>`` (its ``best/hf`` is the backbone).
2. Fine-tune every backbone × {most_frequent, random} and ``scratch`` × seeds on every English **proxy**
   (recipes ``topic``, ``acceptability``, ``paraphrase``, ``sentiment``), into ``OUT/<proxy>/<corpus>/<row>/seed<s>`` and
   ``OUT/<proxy>/scratch/seed<s>``.
3. Print the table (test accuracy at the best valid step, mean ± std over seeds; gain = mean(row) −
   mean(scratch), ± the row's std), write it to ``OUT/table.md`` and the bar chart of the gains to
   ``OUT/gains.png``.

A run folder is never overwritten: a finished run (``results.json``) is read back after its saved config is
checked against the one asked for (a difference is refused, naming the keys, as the engine refuses it); an
unfinished one is resumed by the engine. Fine-tuning weights are deleted after each run (``--keep-weights``
keeps them); the pre-trained backbones stay.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import statistics
import textwrap
import time
from pathlib import Path

from ssl_universal.cli import chosen_names, keeps_log_level
from ssl_universal.errors import ConfigError

from . import recipe_path
from .english import TOPICS

#: The table's rows: a name → the pre-training overrides of recipe ``pretrain``.
CORPORA: dict[str, list[str]] = {
    "uniform": ["task.generator=uniform"],
    "unigram": ["task.generator=unigram"],
    "bigram": ["task.generator=bigram"],
    "nesting": ["task.generator=nesting"],
    "nesting_shuffled": ["task.generator=nesting", "task.shuffled=true"],
    "flat": ["task.generator=flat"],
    "flat_shuffled": ["task.generator=flat", "task.shuffled=true"],
    # The dependency-length contrast ("longer dependencies help"): flat pairs at a mean distance of 2 and of 16
    # positions, against the default 4 of ``flat``; the same token counts and pairing, only the distances differ.
    "flat_short": ["task.generator=flat", "task.mean_distance=2"],
    "flat_long": ["task.generator=flat", "task.mean_distance=16"],
    # The same contrast under stack discipline: nesting opens at a free choice with probability 0.3 / 0.7 against
    # the default 0.5 (tilt-transfer's). At the quick length of 62 that is a realized mean pair distance of about
    # 2.3 / 7.6 / 19 and a maximum depth of about 4 / 9 / 19 (tests/plugins/artificial/test_generators.py).
    "nesting_shallow": ["task.generator=nesting", "task.open_prob=0.3"],
    "nesting_deep": ["task.generator=nesting", "task.open_prob=0.7"],
    "english": ["task.generator=english"],
}
#: The order they are trained in: the seed's contrasts first (random vs structured vs shuffled vs real text).
TRAIN_ORDER = ("uniform", "nesting", "flat", "english", "nesting_shuffled", "flat_shuffled", "unigram", "bigram",
               "flat_short", "flat_long", "nesting_shallow", "nesting_deep")
PROXIES = {"topic": "topic", "acceptability": "acceptability", "paraphrase": "paraphrase", "sentiment": "sentiment"}  # proxy → recipe
CHANCE = {"topic": 100.0 / len(TOPICS), "acceptability": 50.0, "paraphrase": 50.0, "sentiment": 50.0}  # balanced classes
#: How a proxy is named in the table's header: every one is made by rule; sentiment's labels are a lexicon's (silver).
KIND = {"sentiment": "silver proxy"}
ROWS = ("most_frequent", "random")
PRESET_SEEDS = {None: (0, 1, 2), "quick": (0, 1, 2), "smoke": (0, 1, 2)}
#: What a preset's table holds when --corpora / --proxies / --rows are not given. The default (faithful) size and
#: smoke keep everything; ``quick`` (< 15 min of CPU on one thread, README) keeps the seed's contrasts: random
#: tokens, a real-text statistic (bigram), paired tokens (nesting, flat) and both shuffled controls, the English
#: upper reference; the one proxy learned from scratch at that size (topic; paraphrase stayed at chance); the
#: most_frequent assignment.
PRESET_TABLE: dict[str | None, dict[str, tuple[str, ...]]] = {
    "quick": {"corpora": ("uniform", "nesting", "nesting_shuffled", "english", "flat", "flat_shuffled", "bigram"),  # trained in this order
              "proxies": ("topic",), "rows": ("most_frequent",)},
}
METRIC = "accuracy"

log = logging.getLogger(__name__)


def pretrain_dir(out: Path, corpus: str) -> Path:
    return out / "pretrain" / corpus


def finetune_dir(out: Path, proxy: str, corpus: str, row: str, seed: int, lr: str | None = None) -> Path:
    """``OUT/<proxy>/<corpus>/<row>/seed<s>`` (scratch: ``OUT/<proxy>/scratch/seed<s>``); with ``--lrs``, one folder
    per learning rate above the seeds: ``.../<row>/lr<lr>/seed<s>``."""
    base = out / proxy / "scratch" if row == "scratch" else out / proxy / corpus / row
    return (base / f"lr{lr}" if lr else base) / f"seed{seed}"


def _config(overrides: list[str]):
    from ssl_universal.config import load_config

    return load_config(overrides)


def train_or_read(overrides: list[str], folder: Path, *, drop: tuple[str, ...]) -> tuple[dict, bool]:
    """Train the run into ``folder``, or read its results when it finished before (same config, else refused)."""
    from ssl_universal import run, run_folder

    cfg = _config([*overrides, f"run_dir={folder}"])
    run_folder.check_run_folder(cfg, folder)  # a differing config raises ConfigError naming the keys
    done = folder / "results.json"
    if done.is_file():
        return json.loads(done.read_text()), False
    start = time.perf_counter()
    results = run.train(cfg)
    (folder / "seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
    for name in drop:
        shutil.rmtree(folder / name, ignore_errors=True)
    return results, True


def _run_job(overrides: list[str], folder: str, drop: tuple[str, ...], threads: int | None) -> dict:
    """:func:`train_or_read` in a worker process (``--jobs N``): its results, with ``trained`` and ``seconds``."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    start = time.perf_counter()
    results, trained = train_or_read(overrides, Path(folder), drop=drop)
    return {**results, "_trained": trained, "_seconds": time.perf_counter() - start}


def pretrain_overrides(corpus: str, preset: str | None, extra: list[str]) -> list[str]:
    return [f"recipe={recipe_path('pretrain')}", *([f"preset={preset}"] if preset else []), *CORPORA[corpus], *extra]


def finetune_overrides(out: Path, proxy: str, corpus: str, row: str, seed: int, preset: str | None, extra: list[str],
                       lr: str | None = None) -> list[str]:
    base = [f"recipe={recipe_path(PROXIES[proxy])}", *([f"preset={preset}"] if preset else []), f"row={row}", f"seed={seed}"]
    if row != "scratch":
        hf = pretrain_dir(out, corpus) / "best" / "hf"
        base += [f"model.backbone={hf}", f"model.token_counts={hf / 'token_counts.json'}"]
    return [*base, *extra, *([f"trainer.lr={lr}"] if lr else [])]


def parse_lrs(text: str | None, overrides: list[str]) -> tuple[str | None, ...]:
    """``--lrs 3e-4,1e-3`` → ("3e-4", "1e-3"), each a positive number given once; none → (None,): the recipe's rate."""
    if not text:
        return (None,)
    lrs = tuple(t.strip() for t in text.split(","))
    for lr in lrs:
        try:
            ok = float(lr) > 0 and math.isfinite(float(lr))
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"artificial-table --lrs: {lr!r} is not a positive learning rate (expected e.g. 3e-4,1e-3)")
    if len(set(lrs)) != len(lrs):
        raise ConfigError(f"artificial-table --lrs: a rate is given twice in {text!r}")
    if any(o.split("=", 1)[0].strip() == "trainer.lr" for o in overrides):
        raise ConfigError("artificial-table: --lrs and -o trainer.lr=... both set the fine-tuning rate; give one")
    return lrs


def proxy_baseline(proxy: str, preset: str | None, extra: list[str]):
    """The hand-feature reference (:mod:`.baseline`) on the proxy's split and pieces, as the scratch runs see them."""
    from ssl_universal.config import section_config
    from ssl_universal.registry import TASKS, TOKENIZERS

    from .baseline import bag_of_pieces

    if proxy not in PROXIES:
        raise ConfigError(f"proxy {proxy!r}: expected one of {', '.join(PROXIES)}")
    cfg = _config(finetune_overrides(Path("."), proxy, "-", "scratch", 0, preset, extra))
    tokenizer = TOKENIZERS.get(cfg.tokenizer.name).obj(section_config(cfg, "tokenizer"))
    return bag_of_pieces(TASKS.get(cfg.task.name).obj(section_config(cfg, "task"), tokenizer))


# -- the table ------------------------------------------------------------------------------------
def read_accuracies(out: Path, proxies, corpora, seeds, lr: str | None = None) -> dict[tuple[str, str, str], dict[int, float]]:
    """{(proxy, corpus or "-", row): {seed: test accuracy}} of the finished runs under ``out`` (at one ``--lrs`` rate)."""
    found: dict[tuple[str, str, str], dict[int, float]] = {}
    cells = [(p, "-", "scratch") for p in proxies] + [(p, c, r) for p in proxies for c in corpora for r in ROWS]
    for proxy, corpus, row in cells:
        for seed in seeds:
            path = finetune_dir(out, proxy, corpus, row, seed, lr) / "results.json"
            if path.is_file():
                found.setdefault((proxy, corpus, row), {})[seed] = float(json.loads(path.read_text())["test"][METRIC])
    return found


def select_lr(out: Path, proxies, corpora, seeds, lrs) -> tuple[dict, dict]:
    """The fine-tuning rate of each cell chosen on valid: per (proxy, corpus, row), the rate whose runs have the highest
    mean best-valid accuracy over the seeds, among the rates with every seed finished (a tie goes to the first given).
    Returns ({cell: {seed: test accuracy at the chosen rate}}, {cell: (chosen rate, {rate: (mean valid, seeds)})});
    a cell with no rate finished for every seed is left out of both (the table shows it as missing). Test accuracy
    plays no part in the choice."""
    accuracies, chosen = {}, {}
    cells = [(p, "-", "scratch") for p in proxies] + [(p, c, r) for p in proxies for c in corpora for r in ROWS]
    for cell in cells:
        valid: dict[str, tuple[float, int]] = {}
        tests: dict[str, dict[int, float]] = {}
        for lr in lrs:
            values, test = [], {}
            for seed in seeds:
                path = finetune_dir(out, *cell, seed, lr) / "results.json"
                if path.is_file():
                    r = json.loads(path.read_text())
                    if r.get("best_value") is None:
                        raise ConfigError(f"{path}: no best_value (the valid {METRIC} the rate is chosen on)")
                    values.append(float(r["best_value"]))
                    test[seed] = float(r["test"][METRIC])
            if values:
                valid[lr] = (statistics.fmean(values), len(values))
                tests[lr] = test
        complete = [lr for lr in lrs if lr in valid and valid[lr][1] == len(seeds)]
        if complete:
            best = max(complete, key=lambda lr: (valid[lr][0], -lrs.index(lr)))
            accuracies[cell], chosen[cell] = tests[best], (best, valid)
    return accuracies, chosen


def render_lr_choice(chosen: dict, proxies, corpora, seeds, lrs, rows=ROWS) -> str:
    """The valid accuracies the rates were chosen on, one line per row, the chosen rate marked."""
    lines = ["", f"Fine-tuning learning rate chosen per row on the mean best-valid {METRIC} over the seeds (test plays no "
             f"part); valid {METRIC} at " + " / ".join(lrs) + ", the chosen rate in bold:", "",
             "| pre-training corpus | row | " + " | ".join(f"{p}: valid" for p in proxies) + " |", "|---|---|" + "---|" * len(proxies)]
    for corpus, row in [("-", "scratch")] + [(c, r) for c in corpora for r in rows]:
        cells = []
        for p in proxies:
            if (p, corpus, row) not in chosen:
                cells.append("—")
                continue
            best, valid = chosen[(p, corpus, row)]
            cells.append(" / ".join("—" if lr not in valid else (f"**{valid[lr][0]:.1f}**" if lr == best else f"{valid[lr][0]:.1f}")
                                    + ("" if valid[lr][1] == len(seeds) else f" (n={valid[lr][1]}, not a candidate)")
                                    for lr in lrs) + f" → {best}")
        lines.append(f"| {'(none)' if corpus == '-' else corpus} | {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def cpu_seconds(out: Path, proxies, corpora, seeds, rows=ROWS, lrs=(None,)) -> tuple[float, int, float, int]:
    """(pre-training CPU s, pre-trainings, fine-tuning CPU s, fine-tunings) of the finished runs, from their ``timing``."""
    def cpu(path: Path) -> float | None:
        return json.loads(path.read_text()).get("timing", {}).get("cpu_s") if path.is_file() else None

    pre = [c for c in (cpu(pretrain_dir(out, corpus) / "results.json") for corpus in corpora) if c is not None]
    cells = [(p, "-", "scratch") for p in proxies] + [(p, c, r) for p in proxies for c in corpora for r in rows]
    fine = [c for p, corpus, row in cells for s in seeds for lr in lrs
            if (c := cpu(finetune_dir(out, p, corpus, row, s, lr) / "results.json")) is not None]
    return sum(pre), len(pre), sum(fine), len(fine)


def mean_std(values) -> tuple[float, float]:
    values = list(values)
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def gains(accuracies: dict, proxies, corpora, rows=ROWS) -> dict[tuple[str, str, str], tuple[float, float, int]]:
    """{(proxy, corpus, row): (mean(row) − mean(scratch), std of the row over seeds, seeds)}; NaN when a side is missing."""
    table = {}
    for proxy in proxies:
        base, _ = mean_std(accuracies.get((proxy, "-", "scratch"), {}).values())
        for corpus in corpora:
            for row in rows:
                values = accuracies.get((proxy, corpus, row), {})
                mean, std = mean_std(values.values())
                table[(proxy, corpus, row)] = (mean - base, std, len(values))
    return table


def _cell(mean: float, std: float, sign: bool = False) -> str:
    if math.isnan(mean):
        return "—"
    return f"{mean:+.1f} ± {std:.1f}" if sign else f"{mean:.1f} ± {std:.1f}"


def render(accuracies: dict, proxies, corpora, seeds, *, header: str, pretraining: dict | None = None, rows=ROWS,
           baselines: dict | None = None, lr_chosen: bool = False) -> str:
    g = gains(accuracies, proxies, corpora, rows)
    cols = " | ".join(f"{p} ({KIND.get(p, 'proxy')}): acc | gain" for p in proxies)
    lines = [header, "", f"| pre-training corpus | row | {cols} |", "|---|---|" + "---|---|" * len(proxies)]
    lines.append("| (chance) | — | " + " | ".join(f"{CHANCE[p]:.1f} | " for p in proxies) + " |")
    scratch = [mean_std(accuracies.get((p, "-", "scratch"), {}).values()) for p in proxies]
    if baselines:
        cells = []
        for p, (m, _) in zip(proxies, scratch):
            b = baselines.get(p)
            cells.append("— | " if b is None else f"{b.test:.1f} | " + ("—" if math.isnan(m) else f"{b.test - m:+.1f}"))
        lines.append("| (hand features) | TF-IDF of the same pieces → logistic regression | " + " | ".join(cells) + " |")
    n = [len(accuracies.get((p, "-", "scratch"), {})) for p in proxies]
    lines.append("| (none) | scratch | " + " | ".join(f"{_cell(m, s)} (n={k}) | 0" for (m, s), k in zip(scratch, n)) + " |")
    for corpus in corpora:
        for row in rows:
            cells = []
            for p in proxies:
                values = accuracies.get((p, corpus, row), {})
                m, s = mean_std(values.values())
                gm, gs, k = g[(p, corpus, row)]
                cells.append(f"{_cell(m, s)}{f' (n={k})' if 0 < k != len(seeds) else ''} | {_cell(gm, gs, sign=True)}")
            lines.append(f"| {corpus} | {row} | " + " | ".join(cells) + " |")
    step = "at the best valid step of the rate chosen on valid (below)" if lr_chosen else "at the best valid step"
    lines += ["", f"Test accuracy (%) {step}, mean ± std over seeds; gain = mean(row) − mean(scratch), ± the "
              "row's std. Every task is a PROXY made by rule from fortunes (not GLUE)"
              + ("; sentiment's labels are SILVER (the VADER lexicon's score, not a reader's)." if "sentiment" in proxies else ".")]
    if baselines:
        lines += ["The hand-feature row reads the same split cut into the same word pieces (<unk> included; C chosen on "
                  "valid; one deterministic fit, so no ±); its gain column is its lead over scratch. "
                  + "; ".join(f"{p}: {b.unk_share:.0%} of the training pieces are <unk>, C={b.C:g}"
                              for p, b in baselines.items() if b is not None) + "."]
    if pretraining:
        lines += ["", "| pre-training corpus | MLM test accuracy | perplexity | wall s | CPU s |", "|---|---|---|---|---|"]
        for corpus, r in pretraining.items():
            test, cpu = r.get("test", {}), r.get("timing", {}).get("cpu_s")
            lines.append(f"| {corpus} | {test.get('mlm_accuracy', math.nan):.1f} | {test.get('perplexity', math.nan):.1f} | "
                         f"{r.get('seconds', '—')} | {'—' if cpu is None else f'{cpu:.0f}'} |")
    return "\n".join(lines) + "\n"


def chart(accuracies: dict, proxies, corpora, path: Path, title: str, rows=ROWS) -> Path:
    """The seed's bar chart: gain over scratch per pre-training corpus, one panel per proxy, one bar per assignment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = gains(accuracies, proxies, corpora, rows)
    fig, axes = plt.subplots(1, len(proxies), figsize=(1.1 * len(corpora) * len(proxies) + 2, 4), squeeze=False)
    width = 0.76 / len(rows)
    for ax, proxy in zip(axes[0], proxies):
        for k, row in enumerate(rows):
            xs = [i + (k - (len(rows) - 1) / 2) * width for i in range(len(corpora))]
            means = [g[(proxy, c, row)][0] for c in corpora]
            stds = [g[(proxy, c, row)][1] for c in corpora]
            ax.bar(xs, means, width, yerr=stds, capsize=3, label=row)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(corpora)), [c.replace("_", "\n") for c in corpora], fontsize=8)
        ax.set_title(f"{proxy} (proxy)")
        ax.set_ylabel("test accuracy − scratch (points)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("\n".join(textwrap.wrap(title, 40 * len(proxies) + 20)), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- the command ----------------------------------------------------------------------------------
def _names(text: str, known, what: str) -> list[str]:
    return chosen_names(text, known, what, "artificial-table")


@keeps_log_level
def main(argv: list[str]) -> int:
    """Pre-train on every corpus, fine-tune on every English proxy, print the gain-over-scratch table and chart."""
    p = argparse.ArgumentParser(prog="ssl-universal artificial-table", description=main.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--out", required=True, help="folder of the runs, table.md and gains.png")
    p.add_argument("--preset", choices=("quick", "smoke"), default=None, help="the recipes' preset (default: none, the faithful size)")
    quick = PRESET_TABLE["quick"]
    p.add_argument("--corpora", default=None,
                   help=f"comma-separated, trained in this order (a stopped table has the first ones); default {','.join(TRAIN_ORDER)} "
                        f"(--preset quick: {','.join(quick['corpora'])})")
    p.add_argument("--proxies", default=None, help=f"comma-separated; default {','.join(PROXIES)} (--preset quick: {','.join(quick['proxies'])})")
    p.add_argument("--rows", default=None, help=f"comma-separated assignments of the pre-trained rows (scratch is always run); "
                                                f"default {','.join(ROWS)} (--preset quick: {','.join(quick['rows'])})")
    p.add_argument("--seeds", default=None, help="comma-separated fine-tuning seeds (default 0,1,2)")
    p.add_argument("--lrs", default=None, help="comma-separated fine-tuning learning rates, e.g. 3e-4,1e-3: every run at each, "
                                               "the rate of each row chosen on its mean valid accuracy over the seeds "
                                               "(default: the recipe's one rate)")
    p.add_argument("--pretrain-override", action="append", default=[], help="key=value for every pre-training run")
    p.add_argument("-o", "--override", action="append", default=[], help="key=value for every fine-tuning run")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own; with --jobs, per job)")
    p.add_argument("--jobs", type=int, default=1, help="runs side by side in worker processes (default 1: one after another "
                                                       "in this process); the pre-trainings first, then the fine-tunings; "
                                                       "logs in OUT/logs")
    p.add_argument("--keep-weights", action="store_true", help="keep the fine-tuning runs' best/ and checkpoints/")
    p.add_argument("--report-only", action="store_true", help="train nothing; print the table of finished runs")
    p.add_argument("--verbose", action="store_true", help="the engine's per-step log")
    args = p.parse_args(argv)

    chosen = PRESET_TABLE.get(args.preset, {})
    corpora = _names(args.corpora or ",".join(chosen.get("corpora", TRAIN_ORDER)), CORPORA, "corpus")
    proxies = _names(args.proxies or ",".join(chosen.get("proxies", PROXIES)), PROXIES, "proxy")
    rows = _names(args.rows or ",".join(chosen.get("rows", ROWS)), ROWS, "row")
    seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else PRESET_SEEDS[args.preset]
    lrs = parse_lrs(args.lrs, args.override)
    out = Path(args.out).expanduser().resolve()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if not args.verbose:
        logging.getLogger("ssl_universal").setLevel(logging.WARNING)
    started = time.perf_counter()
    pretraining: dict[str, dict] = {}

    def backbone(corpus: str) -> None:  # pre-train on first use, so a stopped table has whole rows
        if corpus in pretraining:
            return
        t = time.perf_counter()
        overrides = pretrain_overrides(corpus, args.preset, args.pretrain_override)
        results, trained = train_or_read(overrides, pretrain_dir(out, corpus), drop=("checkpoints",))
        pretraining[corpus] = results
        print(f"pretrain {corpus}: test MLM accuracy {results['test']['mlm_accuracy']:.1f}, perplexity "
              f"{results['test']['perplexity']:.1f}{f' ({time.perf_counter() - t:.0f} s)' if trained else ' (done before)'}", flush=True)

    if args.jobs < 1:
        raise ConfigError(f"artificial-table: --jobs must be >= 1, got {args.jobs}")
    if not args.report_only and args.jobs > 1:
        _run_side_by_side(args, out, proxies, corpora, rows, seeds, lrs)
    elif not args.report_only:
        drop = () if args.keep_weights else ("best", "checkpoints")
        for proxy in proxies:
            cells = [("-", "scratch")] + [(c, r) for c in corpora for r in rows]
            for corpus, row in cells:
                if row != "scratch":
                    backbone(corpus)
                for lr in lrs:
                    for seed in seeds:
                        t = time.perf_counter()
                        overrides = finetune_overrides(out, proxy, corpus, row, seed, args.preset, args.override, lr)
                        results, trained = train_or_read(overrides, finetune_dir(out, proxy, corpus, row, seed, lr), drop=drop)
                        print(f"{proxy} {corpus} {row}{f' lr={lr}' if lr else ''} seed={seed}: test {METRIC} "
                              f"{results['test'][METRIC]:.1f}{f' ({time.perf_counter() - t:.0f} s)' if trained else ' (done before)'}",
                              flush=True)
    for corpus in corpora:  # the pre-training table: whatever has finished
        done = pretrain_dir(out, corpus) / "results.json"
        if done.is_file():
            pretraining[corpus] = json.loads(done.read_text())
            seconds = pretrain_dir(out, corpus) / "seconds.txt"
            pretraining[corpus]["seconds"] = seconds.read_text().strip() if seconds.is_file() else "—"
    pretraining = {c: pretraining[c] for c in CORPORA if c in pretraining}
    corpora = [c for c in CORPORA if c in corpora]  # the table's order, whatever order they were trained in
    if lrs == (None,):
        accuracies, chosen = read_accuracies(out, proxies, corpora, seeds), None
    else:
        accuracies, chosen = select_lr(out, proxies, corpora, seeds, lrs)
    header = (f"# Artificial-data transfer to English proxies (preset {args.preset or 'none (default size)'}; fine-tuning seeds "
              f"{', '.join(map(str, seeds))}; one pre-training per corpus"
              + "".join(f"; {name} overrides: {' '.join(given)}" for name, given in
                        (("pre-training", args.pretrain_override), ("fine-tuning", args.override)) if given)
              + (f"; fine-tuning lr chosen per row on valid from {', '.join(lrs)}" if chosen is not None else "") + ")")
    baselines = {p: proxy_baseline(p, args.preset, args.override) for p in proxies}
    text = render(accuracies, proxies, corpora, seeds, header=header, pretraining=pretraining, rows=rows, baselines=baselines,
                  lr_chosen=chosen is not None)
    if chosen is not None:
        text += render_lr_choice(chosen, proxies, corpora, seeds, lrs, rows)
    pre_s, pre_n, fine_s, fine_n = cpu_seconds(out, proxies, corpora, seeds, rows, lrs)
    text += (f"\nCPU time of the finished runs (the engine's CPU clock of each run, all threads): {pre_n} pre-trainings {pre_s:.0f} s, "
             f"{fine_n} fine-tunings {fine_s:.0f} s, total {(pre_s + fine_s) / 60:.1f} min.\n")
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(text)
    png = chart(accuracies, proxies, corpora, out / "gains.png", header.lstrip("# "), rows)
    print(text)
    print(f"wall time of this invocation: {(time.perf_counter() - started) / 60:.1f} min; written {out / 'table.md'}, {png}")
    return 0


def _run_side_by_side(args, out: Path, proxies, corpora, rows, seeds, lrs=(None,)) -> None:
    """``--jobs N``: every pre-training the table needs on N worker processes, then every fine-tuning. The runs and
    their folders are those of the one-process loop (a finished run is read back, a changed one refused)."""
    from ssl_universal.jobs import Job, run_jobs

    logs = out / "logs"
    pre = [Job(f"pretrain {c}", _run_job, (pretrain_overrides(c, args.preset, args.pretrain_override),
                                          str(pretrain_dir(out, c)), ("checkpoints",), args.threads),
               log_file=logs / f"pretrain_{c}.log") for c in corpora]  # every corpus has pre-trained rows

    def pretrained(_, job, r):
        print(f"{job.name}: test MLM accuracy {r['test']['mlm_accuracy']:.1f}, perplexity {r['test']['perplexity']:.1f}"
              + (f" ({r['_seconds']:.0f} s)" if r["_trained"] else " (done before)"), flush=True)

    run_jobs(pre, args.jobs, on_done=pretrained)
    drop = () if args.keep_weights else ("best", "checkpoints")
    fine = []
    for proxy in proxies:
        for corpus, row in [("-", "scratch")] + [(c, r) for c in corpora for r in rows]:
            for lr in lrs:
                for seed in seeds:
                    name = f"{proxy} {corpus} {row}{f' lr={lr}' if lr else ''} seed={seed}"
                    fine.append(Job(name, _run_job, (finetune_overrides(out, proxy, corpus, row, seed, args.preset, args.override, lr),
                                                     str(finetune_dir(out, proxy, corpus, row, seed, lr)), drop, args.threads),
                                    log_file=logs / (name.replace(" ", "_").replace("=", "") + ".log")))

    def finetuned(_, job, r):
        print(f"{job.name}: test {METRIC} {r['test'][METRIC]:.1f}"
              + (f" ({r['_seconds']:.0f} s)" if r["_trained"] else " (done before)"), flush=True)

    run_jobs(fine, args.jobs, on_done=finetuned)
