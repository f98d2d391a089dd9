"""The `ssl-universal` command: the core's verbs, and those that installed plugins declare.

``ssl-universal --help`` imports nothing heavy (no torch, no plugin): the core's verbs are a table
of ``module:function`` names here, plugin verbs are entry points of the group
``ssl_universal.commands``, and each is imported only when it runs.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import ConfigError, SSLUniversalError

# verb -> (what it does, where it lives). Each target is called with the arguments after the verb.
CORE_COMMANDS = {
    "train": ("train one run, or a sweep with -m: train [-m] recipe=<modality>/<name> [key=value ...]", "ssl_universal.cli:cmd_train"),
    "eval": ("score a run's weights: eval RUN_DIR [--split test] [--weights best|latest|PATH]", "ssl_universal.cli:cmd_eval"),
    "list": ("registered tasks, models, tokenizers, plugins, commands and recipes", "ssl_universal.cli:cmd_list"),
    "report": ("table (mean ± std) and curves of many runs: report RUN_DIR_OR_SWEEP... [--out DIR]", "ssl_universal.reporting:report_main"),
    "new-plugin": ("write a plugin skeleton that trains: new-plugin NAME --dir DIR", "ssl_universal.cli:cmd_new_plugin"),
    "eval-sqa": ("score (spoken) question answering: eval-sqa GOLD.json PRED.json [--lang zh]", "ssl_universal.sqa_eval:main"),
    "representation-similarity": ("linear CKA of two runs' hidden states, layer by layer: RUN_A RUN_B",
                                  "ssl_universal.representations:main"),
    "baseline": ("hand-feature references of a sequence-classification or -regression recipe (majority / mean, k-mer counts, positional "
                 "one-hot -> logistic / ridge regression): baseline recipe=... [key=value ...]", "ssl_universal.baselines:main"),
    "token-frequencies": ("count a backbone tokenizer's tokens over a corpus (for most/least_frequent)",
                          "ssl_universal.models.token_frequencies:main"),
}


def keeps_log_level(command: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
    """For a verb that quietens the framework's log (``setLevel(WARNING)`` unless ``--verbose``): the level comes
    back when it returns, so calling the verb in-process (a test, a notebook) changes nothing after it."""
    @functools.wraps(command)
    def run(argv: list[str]) -> int:
        framework_log = logging.getLogger("ssl_universal")
        level = framework_log.level
        try:
            return command(argv)
        finally:
            framework_log.setLevel(level)

    return run


def chosen_names(text: str, known, what: str, command: str) -> list[str]:
    """A verb's comma-separated choice (``--tasks a,b``) checked against ``known``; an unknown name exits naming it."""
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [n for n in names if n not in known]
    if bad:
        raise SystemExit(f"ssl-universal {command}: unknown {what} {bad[0]!r}; expected some of {', '.join(known)}")
    return names


def _plugin_commands() -> dict[str, str]:
    """verb -> ``module:function`` of every installed plugin command (reads metadata, imports nothing)."""
    from .plugins import plugin_commands

    return {name: ep.value for name, ep in plugin_commands().items() if name not in CORE_COMMANDS}


def usage() -> str:
    width = max(len(v) for v in CORE_COMMANDS)
    lines = ["usage: ssl-universal <command> [args]   (ssl-universal <command> --help for its options)", "", "commands:"]
    lines += [f"  {verb:<{width}}  {text}" for verb, (text, _) in CORE_COMMANDS.items()]
    plugin = _plugin_commands()
    if plugin:
        lines += ["", "commands of installed plugins:"]
        lines += [f"  {verb:<{width}}  (from {target.split(':')[0]})" for verb, target in sorted(plugin.items())]
    return "\n".join(lines) + "\n"


LOG_FORMAT, LOG_DATE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT, datefmt=LOG_DATE_FORMAT)


def cmd_train(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ssl-universal train", description="Train a recipe; key=value overrides.")
    parser.add_argument("-m", "--multirun", action="store_true", help="expand sweeps (a=1,2 b=x,y) into one run each")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config(s) and exit")
    parser.add_argument("--sweep-dir", default=None, help="folder for a multirun's runs (default outputs/<recipe>/sweep-<time>)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="a multirun's runs side by side on this many worker processes (each run's log: "
                             "RUN_DIR.log; set trainer.threads so that jobs x threads fits the cores)")
    parser.add_argument("overrides", nargs="*", help="recipe=<name> and key=value overrides (Hydra grammar)")
    args = parser.parse_intermixed_args(argv)  # options may come before or after the key=value overrides
    from omegaconf import OmegaConf

    from .config import expand_sweeps, load_config
    from .run import train

    if args.jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {args.jobs}")
    if not args.multirun:
        if args.jobs != 1:
            raise ConfigError("--jobs runs a multirun's runs side by side; it needs -m")
        cfg = load_config(args.overrides)
        if args.dry_run:
            print(OmegaConf.to_yaml(cfg, resolve=True))
            return 0
        results = train(cfg)
        print(json.dumps({"run_dir": cfg.run_dir, **{k: results[k] for k in ("best_metric", "best_value", "test")}}, indent=2)
              if cfg.run_dir else json.dumps(results, indent=2))
        return 0

    jobs = expand_sweeps(args.overrides)
    configs = []
    for index, job in enumerate(jobs):  # every combination is checked before the first one runs
        try:
            configs.append(load_config(job))
        except SSLUniversalError as err:
            raise ConfigError(f"sweep combination {index + 1} of {len(jobs)} ({' '.join(job)}), nothing was run: {err}") from None
    if args.dry_run:
        for job, cfg in zip(jobs, configs):
            print(f"# {' '.join(job)}\n{OmegaConf.to_yaml(cfg, resolve=True)}")
        return 0
    import time

    first = configs[0]
    sweep_dir = Path(args.sweep_dir or Path("outputs") / (first.recipe or first.task.name).replace("/", "_")
                     / f"sweep-{time.strftime('%Y%m%d-%H%M%S')}")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if args.sweep_dir is None:  # a folder named by the clock: say how to come back to it
        print(f"sweep folder {sweep_dir}; if stopped, the same command with --sweep-dir {sweep_dir} resumes it "
              "(each run goes on from its last checkpoint)", flush=True)
    from .jobs import Job, run_jobs, train_job

    varying = _varying_overrides(jobs)
    run_dirs = [sweep_dir / f"{index:03d}_{re.sub(r'[^A-Za-z0-9_.=,-]+', '_', ','.join(varying[index]) or 'run')}"
                for index in range(len(jobs))]
    runs: dict[int, dict] = {}

    def record(index: int, _job, results: dict) -> None:  # sweep.json lists the finished runs in sweep order
        runs[index] = {"run_dir": run_dirs[index].name, "overrides": jobs[index], "best_value": results["best_value"],
                       "test": results["test"]}
        (sweep_dir / "sweep.json").write_text(json.dumps(
            {"overrides": args.overrides, "runs": [runs[i] for i in sorted(runs)]}, indent=2))

    if args.jobs == 1:
        for index, (job, cfg) in enumerate(zip(jobs, configs)):
            OmegaConf.set_struct(cfg, False)
            cfg.run_dir = str(run_dirs[index])
            print(f"[{index + 1}/{len(jobs)}] {' '.join(job)} -> {run_dirs[index]}", flush=True)
            record(index, None, train(cfg))
    else:
        run_jobs([Job(f"{' '.join(job)} -> {run_dirs[index]}", train_job, (job, str(run_dirs[index])),
                      log_file=run_dirs[index].with_name(run_dirs[index].name + ".log"))
                  for index, job in enumerate(jobs)], args.jobs, on_done=record)
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
    print("commands of plugins:")
    for verb, target in sorted(_plugin_commands().items()):
        print(f"  {verb:<20} {target}")
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


def _target(verb: str) -> str | None:
    if verb in CORE_COMMANDS:
        return CORE_COMMANDS[verb][1]
    return _plugin_commands().get(verb)


def _load(target: str):
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    target = _target(command)
    if target is None:
        from .schema import did_you_mean

        known = [*CORE_COMMANDS, *_plugin_commands()]
        print(f"ssl-universal: unknown command {command!r}{did_you_mean(command, known)}\n\n{usage()}", file=sys.stderr)
        return 2
    _setup_logging()
    try:
        return int(_load(target)(rest) or 0)
    except SSLUniversalError as err:
        print(f"ssl-universal {command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
