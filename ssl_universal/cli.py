"""The `ssl-universal` command: train, eval, list, report, new-plugin, eval-sqa."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

from .errors import SSLUniversalError

USAGE = """ssl-universal <command> [args]

commands:
  train [-m] recipe=<modality>/<name> [key=value ...]   train one run, or a sweep with -m
  eval RUN_DIR [--split test] [--weights best|latest|PATH]   score a run's weights
  list                                                  registered tasks, models, tokenizers, plugins, recipes
  report RUN_DIR_OR_SWEEP... [--out DIR]                table (mean ± std) and curves of many runs
  new-plugin NAME --dir DIR                             write a working plugin skeleton
  eval-sqa GOLD.json PRED.json [--lang zh]              score spoken-QA predictions
"""


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")


def cmd_train(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ssl-universal train", description="Train a recipe; key=value overrides.")
    parser.add_argument("-m", "--multirun", action="store_true", help="expand sweeps (a=1,2 b=x,y) into one run each")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config(s) and exit")
    parser.add_argument("--sweep-dir", default=None, help="folder for a multirun's runs (default outputs/<recipe>/sweep-<time>)")
    parser.add_argument("overrides", nargs="*", help="recipe=<name> and key=value overrides (Hydra grammar)")
    args = parser.parse_intermixed_args(argv)  # options may come before or after the key=value overrides
    from omegaconf import OmegaConf

    from .config import expand_sweeps, load_config
    from .run import train

    if not args.multirun:
        cfg = load_config(args.overrides)
        if args.dry_run:
            print(OmegaConf.to_yaml(cfg))
            return 0
        results = train(cfg)
        print(json.dumps({"run_dir": cfg.run_dir, **{k: results[k] for k in ("best_metric", "best_value", "test")}}, indent=2)
              if cfg.run_dir else json.dumps(results, indent=2))
        return 0

    jobs = expand_sweeps(args.overrides)
    configs = [load_config(job) for job in jobs]  # every combination is checked before the first one runs
    if args.dry_run:
        for job, cfg in zip(jobs, configs):
            print(f"# {' '.join(job)}\n{OmegaConf.to_yaml(cfg)}")
        return 0
    import time

    first = configs[0]
    sweep_dir = Path(args.sweep_dir or Path("outputs") / (first.recipe or first.task.name).replace("/", "_")
                     / f"sweep-{time.strftime('%Y%m%d-%H%M%S')}")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    varying = _varying_overrides(jobs)
    runs = []
    for index, (job, cfg) in enumerate(zip(jobs, configs)):
        label = ",".join(varying[index]) or "run"
        run_dir = sweep_dir / f"{index:03d}_{re.sub(r'[^A-Za-z0-9_.=,-]+', '_', label)}"
        OmegaConf.set_struct(cfg, False)
        cfg.run_dir = str(run_dir)
        print(f"[{index + 1}/{len(jobs)}] {' '.join(job)} -> {run_dir}", flush=True)
        results = train(cfg)
        runs.append({"run_dir": run_dir.name, "overrides": job, "best_value": results["best_value"], "test": results["test"]})
        (sweep_dir / "sweep.json").write_text(json.dumps({"overrides": args.overrides, "runs": runs}, indent=2))
    print(f"sweep finished: {sweep_dir}  (ssl-universal report {sweep_dir})")
    return 0


def _varying_overrides(jobs: list[list[str]]) -> list[list[str]]:
    """Per job, the overrides that differ between jobs (they name the run folders)."""
    keep = [i for i in range(len(jobs[0])) if len({job[i] for job in jobs}) > 1]
    return [[job[i] for i in keep] for job in jobs]


def cmd_eval(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ssl-universal eval", description="Score a run's weights on a split.")
    parser.add_argument("run_dir")
    parser.add_argument("--split", default="test")
    parser.add_argument("--weights", default="best", help="best | latest | path to a checkpoint folder or .safetensors")
    parser.add_argument("overrides", nargs="*", help="key=value overrides (e.g. task.data_dir=... to score other data)")
    args = parser.parse_intermixed_args(argv)  # options may come before or after the key=value overrides
    from .run import evaluate

    print(json.dumps(evaluate(args.run_dir, args.split, args.weights, args.overrides), indent=2))
    return 0


def cmd_list(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ssl-universal list", description="Show what is registered and where from.")
    parser.add_argument("--plugin-dir", action="append", default=[], help="also load plugins from this folder")
    args = parser.parse_intermixed_args(argv)  # options may come before or after the key=value overrides
    from .config import available_recipes
    from .plugins import load_plugins, loaded_plugins, plugin_errors
    from .registry import MODELS, TASKS, TOKENIZERS

    load_plugins(args.plugin_dir)
    for registry in (TASKS, MODELS, TOKENIZERS):
        entries = registry.entries()
        print(f"{registry.kind}s ({len(entries)}):")
        width = max((len(e.name) for e in entries), default=0)
        for entry in entries:
            print(f"  {entry.name:<{width}}  [{entry.plugin}]  {entry.description}")
    print("plugins:")
    for info in loaded_plugins():
        print(f"  {info.name:<14} {info.source:<12} {info.location}")
    errors = plugin_errors()
    if errors:
        print(f"plugins that failed to import ({len(errors)}):")
        for info in errors:
            print(f"  {info.name} ({info.source}, {info.location}):")
            print("    " + info.error.replace("\n", "\n    "))
    print("recipes:")
    for name in available_recipes():
        print(f"  {name}")
    return 1 if errors else 0


def cmd_new_plugin(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ssl-universal new-plugin", description="Write a plugin skeleton that trains.")
    parser.add_argument("name", help="plugin (and modality) name: a Python identifier")
    parser.add_argument("--dir", required=True, help="folder to create the plugin in (e.g. your plugin directory)")
    args = parser.parse_intermixed_args(argv)  # options may come before or after the key=value overrides
    from .scaffold import write_plugin

    path = write_plugin(args.name, Path(args.dir))
    print(f"wrote {path}\ntry: SSL_UNIVERSAL_PLUGIN_DIRS={Path(args.dir)} ssl-universal train recipe={args.name}/demo")
    return 0


def cmd_report(argv: list[str]) -> int:
    from .reporting import report_main

    return report_main(argv)


def cmd_eval_sqa(argv: list[str]) -> int:
    from .sqa_eval import main as sqa_main

    return sqa_main(argv)


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "list": cmd_list, "new-plugin": cmd_new_plugin,
            "report": cmd_report, "eval-sqa": cmd_eval_sqa}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        from .registry import did_you_mean

        print(f"ssl-universal: unknown command {command!r}{did_you_mean(command, COMMANDS)}\n\n{USAGE}", file=sys.stderr)
        return 2
    _setup_logging()
    try:
        return COMMANDS[command](rest)
    except SSLUniversalError as err:
        print(f"ssl-universal {command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
