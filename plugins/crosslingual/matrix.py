"""Zero-shot transfer from run folders: score a run fine-tuned on language A on every language B, and the tables.

A fine-tuning run is an ordinary run folder of the text plugin's ``extractive_qa`` or ``token_classification`` task.
:func:`score_transfer` evaluates its best weights on the test file of each language (``ssl_universal.run.evaluate``
with ``task.data_dir`` pointing at that language; Chinese QA scored by character, ``task.lang=zh``) and writes
``transfer.json`` next to its ``results.json``. :func:`transfer_matrix` collects those files: rows are the fine-tuning
language, columns the test language, each cell mean ± std over the seeds found.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ssl_universal.errors import DataError

TRANSFER_FILE = "transfer.json"
METRICS = {"qa": ("exact_match", "f1"), "pos": ("accuracy",)}
ZH_SCORED = ("zh",)
ORDER = ("en", "fake", "zh", "de", "es", "tr", "en+zh")  # how rows and columns are listed (others after, as found)  # languages whose QA answers are compared character by character


def evaluate_on(run_dir: Path, overrides: list[str], split: str = "test") -> dict:
    """``ssl_universal.run.evaluate`` of the best weights, for a run made with ``preset=``/``row=``.

    The saved ``config.yaml`` already holds what its preset and row set but not the recipe's tables of them, and the
    loader would look the names up again (``ssl-universal eval`` fails on such runs), so they are cleared first.
    """
    from omegaconf import OmegaConf

    from ssl_universal.config import TrainerConfig, load_config
    from ssl_universal.engine.checkpoint import load_weights
    from ssl_universal.engine.trainer import Trainer
    from ssl_universal.run import build, seed_everything

    base = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=True)
    base["preset"] = base["row"] = None
    cfg = load_config(overrides, base=base)
    seed_everything(cfg.seed)
    task, model = build(cfg)
    model.load_state_dict(load_weights(run_dir / "best" / "model.safetensors"))
    trainer_cfg: TrainerConfig = OmegaConf.to_object(cfg.trainer)
    return Trainer(trainer_cfg, task, model, run_dir, seed=cfg.seed, resume=False).evaluate(split)


def score_transfer(run_dir: str | Path, *, task: str, pretrain: str, train_language: str, seed: int,
                   data_root: str | Path, test_languages: Iterable[str], pretrain_seed: int | None = None,
                   previous: dict | None = None) -> dict:
    """Evaluate ``run_dir``'s best weights on the test split of each language under ``data_root/<lang>``;
    ``pretrain_seed``: the seed of the pre-training it fine-tuned (recorded, when known); ``previous``: the run's
    earlier record, whose scores are kept (a test language added later is scored alone; one scored already is not
    scored again, so nothing in the record is overwritten)."""
    run_dir = Path(run_dir)
    scores = dict(previous["scores"]) if previous else {}
    for language in test_languages:
        if language in scores:
            raise DataError(f"{run_dir / TRANSFER_FILE}: already holds a score on {language!r}; not scored again")
        overrides = [f"task.data_dir={Path(data_root) / language}"]
        if task == "qa":
            overrides.append(f"task.lang={'zh' if language in ZH_SCORED else 'en'}")
        result = evaluate_on(run_dir, overrides)
        scores[language] = {m: float(result[m]) for m in METRICS[task]}
    record = {"task": task, "pretrain": pretrain, "train_language": train_language, "seed": seed, "scores": scores}
    if pretrain_seed is not None:
        record["pretrain_seed"] = pretrain_seed
    (run_dir / TRANSFER_FILE).write_text(json.dumps(record, indent=1))
    return record


def find_transfer_records(paths: Iterable[str | Path], exclude_below: bool = False) -> list[dict]:
    """Every ``transfer.json`` under ``paths`` (files or folders, searched recursively), each with its ``run_dir``.

    ``exclude_below``: only run folders at ``<task>/<pretrain>/<language>/<seed>`` depth (what ``crosslingual-table``
    writes), not those of other fine-tuning settings kept in sub-folders of the same root.
    """
    records = []
    for path in map(Path, paths):
        files = [path] if path.is_file() else sorted(path.rglob(TRANSFER_FILE))
        if exclude_below and not path.is_file():
            files = [f for f in files if len(f.relative_to(path).parts) == 5]
        for file in files:
            try:
                record = json.loads(file.read_text())
                missing = [k for k in ("task", "pretrain", "train_language", "seed", "scores") if k not in record]
            except json.JSONDecodeError as err:
                raise DataError(f"{file}: not valid JSON ({err})") from None
            if missing:
                raise DataError(f"{file}: missing field(s) {', '.join(missing)}; expected what score_transfer writes")
            records.append({**record, "run_dir": str(file.parent)})
    return records


def mean_std(values: list[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (0 for one value) and count."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std, n


def transfer_matrix(records: list[dict], task: str, pretrain: str, metric: str) -> dict:
    """``{"rows": train languages, "columns": test languages, "cells": {(a, b): (mean, std, n)}}``.

    Seeds are pooled per cell; two records of the same (language, seed) are an error (a run counted twice).
    """
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    seen: dict[tuple[str, int], str] = {}
    rows: list[str] = []
    columns: list[str] = []
    for record in records:
        if record["task"] != task or record["pretrain"] != pretrain:
            continue
        key = (record["train_language"], int(record["seed"]))
        if key in seen:
            raise DataError(f"two runs of {task}/{pretrain} fine-tuned on {key[0]} with seed {key[1]}: {seen[key]} and "
                            f"{record.get('run_dir')}; keep one")
        seen[key] = str(record.get("run_dir"))
        if key[0] not in rows:
            rows.append(key[0])
        for language, scores in record["scores"].items():
            if metric not in scores:
                raise DataError(f"{record.get('run_dir')}: no {metric!r} for test language {language}")
            values[(key[0], language)].append(float(scores[metric]))
            if language not in columns:
                columns.append(language)
    def rank(language: str) -> tuple[int, int]:
        return (ORDER.index(language), 0) if language in ORDER else (len(ORDER), 0)

    return {"rows": sorted(rows, key=rank), "columns": sorted(columns, key=rank),
            "cells": {k: mean_std(v) for k, v in values.items()}}


def cell(stat: tuple[float, float, int] | None, digits: int = 1) -> str:
    if stat is None:
        return "—"
    mean, std, n = stat
    return f"{mean:.{digits}f} ± {std:.{digits}f}" + ("" if n >= 3 else f" (n={n})")


def markdown_matrix(matrix: dict, title: str = "fine-tune ↓ / test →") -> str:
    head = f"| {title} | " + " | ".join(matrix["columns"]) + " |"
    lines = [head, "|---" * (len(matrix["columns"]) + 1) + "|"]
    for row in matrix["rows"]:
        cells = [cell(matrix["cells"].get((row, col))) for col in matrix["columns"]]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_rows(records: list[dict], rows: list[tuple[str, str, str, str]], columns: list[tuple[str, str]]) -> str:
    """A table whose rows are (label, task, pretrain, train_language→test_language) and columns (task, metric).

    ``rows`` items: (label, pretrain, train_language, test_language); ``columns`` items: (task, metric).
    """
    lines = ["| | " + " | ".join(f"{t} {m}" for t, m in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for label, pretrain, train_language, test_language in rows:
        cells = []
        for task, metric in columns:
            matrix = transfer_matrix(records, task, pretrain, metric)
            cells.append(cell(matrix["cells"].get((train_language, test_language))))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
