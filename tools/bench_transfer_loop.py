"""Accuracy and time to accuracy of cross-discipline transfer: a plain PyTorch loop, the engine and the HF Trainer side by side.

The issue's comparison (SCIENCE.md §2 rows BERT and rand: the full 6-layer MiniLM, batch 32, every
training example; 18 trainings of the 6-layer model each, so long on a CPU; add ``--device cuda`` where there is one):

    python tools/bench_transfer_loop.py --recipe protein/amp --epochs 3 --seeds 0,1,2 --rows bert,rand \\
        --sides plain,engine,hf --overrides task.limit_train=null task.limit_eval=null model.num_layers=null \\
        --out amp.json
    python tools/bench_transfer_loop.py --recipe music/composer --epochs 10 --seeds 0,1,2 --rows bert,rand \\
        --sides plain,engine,hf --overrides model.num_layers=null --out composer.json

(protein/amp with ``task.limit_train=null``: all 4,160 training peptides; ``task.limit_eval=null``: all 520
valid and 520 test peptides. music/composer: the recipe's 49 music21 pieces per composer.)

Every side reads the same framework config, ``recipe`` plus ``--overrides`` (the data, ``model.num_layers``),
and the same examples, tokenisation and splits (``task.dataset``, ``task.collate``, ``task.tokenizer`` of
``ssl_universal.run.build``), and is scored by the task's own ``eval_step`` and ``score``:

* ``plain``: a loop written here top to bottom, as without any framework: ``AutoModel`` of the packaged
  MiniLM; for ``bert`` a new input embedding whose rows copy distinct text-token embeddings drawn at random
  (seeded; the specials map onto [PAD] [UNK] [CLS] [SEP] [MASK]), for ``rand`` ``AutoModel.from_config``;
  [CLS] → dropout 0.1 → linear; AdamW (weight decay 0.01 except biases and LayerNorms; lr 5e-5 bert,
  1e-4 rand), linear decay after a 10 % warm-up, gradient clipping at 1.0, shuffled batches padded to their
  longest; valid after every epoch, test with the weights of the best valid epoch.
* ``engine``: ``ssl_universal.run.train`` of the recipe's row (``row=bert`` when the recipe has ``rows:``,
  else ``model.assignment=random|scratch`` with the plain loop's learning rate), with ``--batch-size``,
  ``--epochs`` and an evaluation at the end of every epoch.
* ``hf``: ``transformers.Trainer`` on the model the framework builds for the same config, with its
  optimizer settings, batch, epochs, evaluation and checkpoint (model only) every epoch and
  ``load_best_model_at_end``; its collator is ``task.collate``.

Wall time counts from the start of training (model and data loading excluded) to the end of the test
evaluation; the curve notes (seconds since that start, valid scores) at every evaluation. The engine is
timed from the outside: its training starts when it writes ``run_info.json`` (after building the model),
ends when ``train()`` returns, and each valid record of its ``metrics.jsonl`` is placed at the record's
``time_s`` when it has one, else at the moment a watcher polling the file every 50 ms first saw it.
Sides run interleaved, seed-major, the order rotating from one (seed, row) to the next, so that load
from other processes falls on all of them alike. The first table gives test scores and wall times
(mean ± std over seeds); the second, for the bert row, the median wall time at which each side first
reached the plain loop's mean final valid score ("not reached" when half the seeds or more never did).
The plain loop runs in fp32; the engine and hf follow ``trainer.precision`` of the config.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import nn
from torch.utils.data import DataLoader

from ssl_universal.config import find_recipe, load_config
from ssl_universal.data.batching import BatchPlan
from ssl_universal.models.backbone import default_backbone_dir
from ssl_universal.provenance import run_info
from ssl_universal.run import build, seed_everything, train

# Row name → (model.assignment of the framework, learning rate of the plain loop).
ROWS = {"bert": ("random", 5e-5), "rand": ("scratch", 1e-4)}
SIDES = ("plain", "engine", "hf")
SIDE_NAMES = {"plain": "plain PyTorch loop", "engine": "engine (ssl_universal.run.train)", "hf": "Hugging Face Trainer"}
WARMUP_SHARE, WEIGHT_DECAY, CLIP_NORM, HEAD_DROPOUT = 0.1, 0.01, 1.0, 0.1
WATCH_INTERVAL_S = 0.05


# -- the plain loop -----------------------------------------------------------------------------
class PlainClassifier(nn.Module):
    """Encoder, its [CLS] state, dropout, one linear layer: the head a researcher writes by hand."""

    def __init__(self, encoder: nn.Module, num_labels: int):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(HEAD_DROPOUT)
        self.out = nn.Linear(encoder.config.hidden_size, num_labels)
        self.num_labels = num_labels

    def forward(self, input_ids, attention_mask, labels=None, **_: Any) -> dict:
        cls = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]
        logits = self.out(self.dropout(cls))
        outputs = {"logits": logits}
        if labels is not None:
            regression = self.num_labels == 1
            outputs["loss"] = F.mse_loss(logits.squeeze(-1), labels.float()) if regression else F.cross_entropy(logits, labels)
        return outputs


def text_token_embedding(encoder: nn.Module, symbols: list[str], pad_id: int, hf_tokenizer: Any, seed: int) -> nn.Embedding:
    """One row per task symbol: a copy of a distinct text token's embedding drawn without replacement."""
    old = encoder.get_input_embeddings().weight
    specials = {"<pad>": hf_tokenizer.pad_token_id, "<unk>": hf_tokenizer.unk_token_id, "<cls>": hf_tokenizer.cls_token_id,
                "<sep>": hf_tokenizer.sep_token_id, "<mask>": hf_tokenizer.mask_token_id}
    reserved = set(hf_tokenizer.all_special_ids)
    candidates = sorted(i for token, i in hf_tokenizer.get_vocab().items()
                        if i < old.shape[0] and i not in reserved and not token.startswith("[unused"))
    ordinary = [s for s in symbols if s not in specials]
    generator = torch.Generator().manual_seed(seed)
    drawn = iter(candidates[j] for j in torch.randperm(len(candidates), generator=generator)[: len(ordinary)].tolist())
    new = nn.Embedding(len(symbols), old.shape[1], padding_idx=pad_id)
    with torch.no_grad():
        new.weight.normal_(0.0, 0.02)  # only a special the backbone lacks keeps a fresh row
        for row, symbol in enumerate(symbols):
            source = specials[symbol] if symbol in specials else next(drawn)
            if source is not None:
                new.weight[row] = old[source]
    return new


def plain_model(cfg: Any, task: Any, row: str, seed: int) -> nn.Module:
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    folder = str(default_backbone_dir()) if cfg.model.backbone == "default" else cfg.model.backbone
    layers = {"num_hidden_layers": cfg.model.num_layers} if cfg.model.num_layers else {}
    tokenizer = task.tokenizer
    torch.manual_seed(seed)
    if row == "bert":
        encoder = AutoModel.from_pretrained(folder, add_pooling_layer=False, **layers)
        embedding = text_token_embedding(encoder, list(tokenizer.symbols), tokenizer.pad_id,
                                         AutoTokenizer.from_pretrained(folder), seed)
        encoder.set_input_embeddings(embedding)
        encoder.config.vocab_size = len(tokenizer.symbols)
    else:
        config = AutoConfig.from_pretrained(folder, vocab_size=len(tokenizer.symbols), pad_token_id=tokenizer.pad_id, **layers)
        encoder = AutoModel.from_config(config, add_pooling_layer=False)
    return PlainClassifier(encoder, int(task.num_labels))


def warm_up(cfg: Any, task: Any, device: torch.device, batch_size: int) -> None:
    """One untimed training step and evaluation batch: first-use costs (lazy initialisation, kernel choice)
    would otherwise fall on whichever side runs first."""
    model = plain_model(cfg, task, "bert", 0).to(device)
    train_split = task.dataset("train")
    batch = to_device(task.collate([train_split[i] for i in range(min(batch_size, len(train_split)))]), device)
    model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])["loss"].backward()
    evaluate_plain(task, model, "valid", batch_size, device)


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}


@torch.no_grad()
def evaluate_plain(task: Any, model: nn.Module, split: str, batch_size: int, device: torch.device) -> dict:
    model.eval()
    loader = DataLoader(task.dataset(split), batch_size=batch_size, collate_fn=task.collate)
    steps = [task.eval_step(model, to_device(batch, device)) for batch in loader]
    model.train()
    total = sum(s["n"] for s in steps)
    return {"loss": sum(s["loss"] * s["n"] for s in steps) / max(total, 1), **task.score(steps)}


def selection(cfg: Any, task: Any) -> tuple[str, str]:
    """The metric and direction that pick the best checkpoint, as the engine reads them: trainer.* over the task's."""
    return cfg.trainer.best_metric or task.best_metric, cfg.trainer.best_mode or task.best_mode


def plain_optimizer(model: nn.Module, lr: float, total: int) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW (no decay on biases and LayerNorms) and a linear decay to zero after a 10 % warm-up, written out."""
    warmup = int(WARMUP_SHARE * total)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]  # biases and LayerNorms
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: step / max(1, warmup) if step < warmup else max(0.0, (total - step) / max(1, total - warmup)))
    return optimizer, schedule


def run_plain(cfg: Any, task: Any, row: str, seed: int, args: argparse.Namespace, device: torch.device) -> dict:
    model = plain_model(cfg, task, row, seed).to(device)
    # from_pretrained returns the encoder in eval mode: without this its dropout is off for the whole first epoch
    # (until the first evaluation switches it back), which trains faster early on and is not the recipe.
    model.train()
    loader = DataLoader(task.dataset("train"), batch_size=args.batch_size, shuffle=True, collate_fn=task.collate,
                        generator=torch.Generator().manual_seed(seed))
    total = args.epochs * len(loader)
    optimizer, schedule = plain_optimizer(model, ROWS[row][1], total)
    key, mode = selection(cfg, task)
    sign = 1.0 if mode == "max" else -1.0
    best_value, best_state, curve = -math.inf, None, []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        for batch in loader:
            batch = to_device(batch, device)
            loss = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])["loss"]
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
        valid = evaluate_plain(task, model, "valid", args.batch_size, device)
        curve.append({"time_s": time.perf_counter() - start, "epoch": epoch + 1, "step": (epoch + 1) * len(loader), **valid})
        if sign * valid[key] > best_value:
            best_value, best_state = sign * valid[key], {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:  # None only when no valid score was a number
        model.load_state_dict(best_state)
    test = evaluate_plain(task, model, "test", args.batch_size, device)
    return {"wall_s": time.perf_counter() - start, "test": test, "curve": curve, "steps": total}


# -- the engine ---------------------------------------------------------------------------------
class MetricsWatcher(threading.Thread):
    """Notes when each line of a ``metrics.jsonl`` is first complete on disk, polling its size."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path = path
        self.seen: dict[int, float] = {}  # line index → perf_counter when first seen
        self._size = -1
        self._done = threading.Event()

    def poll(self) -> None:
        try:
            size = self.path.stat().st_size
            if size == self._size:
                return
            text = self.path.read_text()
        except FileNotFoundError:
            return
        now = time.perf_counter()
        self._size = size
        complete = text.split("\n")[:-1]  # the part after the last newline may still be being written
        for index in range(len(complete)):
            self.seen.setdefault(index, now)

    def run(self) -> None:
        while not self._done.wait(WATCH_INTERVAL_S):
            self.poll()

    def stop(self) -> None:
        self._done.set()
        self.join()
        self.poll()


# The plain loop's revision, recorded in every --out file so that figures from before a fix are told apart from
# those after it: 1 = the encoder's dropout was off until the first evaluation (``from_pretrained`` returns eval
# mode); 2 = dropout on from the first step.
PLAIN_LOOP_VERSION = 2


def engine_overrides(recipe: str, row: str, recipe_rows: dict, seed: int, args: argparse.Namespace, steps_per_epoch: int,
                     run_dir: Path) -> list[str]:
    if row in recipe_rows:
        chosen = [f"row={row}"]
    else:  # a recipe without `rows:` yet: the assignment, and the plain loop's learning rate
        chosen = [f"model.assignment={ROWS[row][0]}", f"trainer.lr={ROWS[row][1]}"]
    budget = [f"trainer.batch_size={args.batch_size}", f"trainer.max_epochs={args.epochs}",
              f"trainer.max_steps={args.epochs * steps_per_epoch}", f"trainer.eval_every={steps_per_epoch}",
              "trainer.progress_bar=false", f"trainer.device={args.device}"]
    return [f"recipe={recipe}", *chosen, f"seed={seed}", *budget, *args.overrides, f"run_dir={run_dir}", "resume=false"]


def run_engine(cfg: Any, run_dir: Path) -> dict:
    watcher = MetricsWatcher(run_dir / "metrics.jsonl")
    called_wall, called = time.time(), time.perf_counter()
    watcher.start()
    try:
        returned = train(cfg)
    finally:
        watcher.stop()
    ended = time.perf_counter()
    start, start_mark = called, "train() called"
    info = run_dir / "run_info.json"  # written after the model is built, just before training starts
    offset = info.stat().st_mtime - called_wall if info.is_file() else -1.0
    if 0.0 <= offset <= ended - called:
        start, start_mark = called + offset, "run_info.json written"
    results = json.loads((run_dir / "results.json").read_text()) if (run_dir / "results.json").is_file() else returned
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    total_steps = max(int(results.get("steps") or 1), 1)
    curve = []
    for index, line in enumerate(lines):
        record = json.loads(line)
        if record.get("split") != cfg.trainer.eval_split:
            continue
        if "time_s" in record:
            when, source = float(record["time_s"]), "time_s"
        elif index in watcher.seen:
            when, source = watcher.seen[index] - start, "watcher"
        else:
            when, source = (ended - start) * record["step"] / total_steps, "interpolated"
        curve.append({**record, "time_s": when, "time_source": source})
    reported = {k: results[k] for k in ("wall_time_s", "cpu_time_s") if k in results}
    return {"wall_s": ended - start, "load_s": start - called, "start_mark": start_mark, "test": results.get("test") or {},
            "curve": curve, "steps": results.get("steps"), "engine_reported": reported}


# -- the Hugging Face Trainer -------------------------------------------------------------------
def run_hf(cfg: Any, seed: int, args: argparse.Namespace, device: torch.device, out_dir: Path) -> dict:
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    seed_everything(seed)  # as the engine does before building, so both start from the same weights
    task, model = build(cfg)
    model.accepts_loss_kwargs = False  # the model averages its own loss
    trainer_cfg = cfg.trainer
    curve: list[dict] = []
    clock = {"start": time.perf_counter()}

    class TaskScoredTrainer(Trainer):
        """Scores with the task's own eval_step and score (a vote per piece, say), so every side's metric is one."""

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            loader = self.get_eval_dataloader(eval_dataset)
            self.model.eval()
            steps = []
            with torch.no_grad(), self.autocast_smart_context_manager():
                for batch in loader:
                    steps.append(task.eval_step(self.model, self._prepare_inputs(batch)))
            self.model.train()
            total = sum(s["n"] for s in steps)
            scores = {"loss": sum(s["loss"] * s["n"] for s in steps) / max(total, 1), **task.score(steps)}
            if metric_key_prefix == "eval":
                curve.append({"time_s": time.perf_counter() - clock["start"], "epoch": self.state.epoch,
                              "step": self.state.global_step, **scores})
            metrics = {f"{metric_key_prefix}_{k}": v for k, v in scores.items()}
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
            return metrics

    steps_total = args.epochs * math.ceil(len(task.dataset("train")) / args.batch_size)
    warmup = trainer_cfg.warmup_steps or int(trainer_cfg.warmup_ratio * steps_total)
    schedules = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}
    training_args = TrainingArguments(
        output_dir=str(out_dir), num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=trainer_cfg.eval_batch_size or args.batch_size, learning_rate=trainer_cfg.lr,
        weight_decay=trainer_cfg.weight_decay, adam_beta1=trainer_cfg.adam_betas[0], adam_beta2=trainer_cfg.adam_betas[1],
        max_grad_norm=trainer_cfg.clip_grad_norm or 0.0, lr_scheduler_type=schedules[trainer_cfg.schedule],
        warmup_steps=warmup, optim="adamw_torch_fused" if device.type == "cuda" else "adamw_torch",
        eval_strategy="epoch", save_strategy="epoch", save_only_model=True, save_total_limit=1,
        load_best_model_at_end=True, metric_for_best_model=selection(cfg, task)[0], greater_is_better=selection(cfg, task)[1] == "max",
        logging_strategy="epoch", report_to=[], disable_tqdm=True, seed=seed, remove_unused_columns=False,
        use_cpu=device.type == "cpu", bf16=trainer_cfg.precision == "bf16", fp16=trainer_cfg.precision == "fp16",
        dataloader_num_workers=0,
    )
    trainer = TaskScoredTrainer(model=model, args=training_args, train_dataset=task.dataset("train"),
                                eval_dataset=task.dataset("valid"), data_collator=task.collate)
    trainer.remove_callback(PrinterCallback)  # its log lines would land in the middle of the printed tables
    clock["start"] = time.perf_counter()
    trainer.train()
    test = trainer.evaluate(task.dataset("test"), metric_key_prefix="test")
    wall = time.perf_counter() - clock["start"]
    return {"wall_s": wall, "test": {k.removeprefix("test_"): v for k, v in test.items()}, "curve": curve,
            "steps": trainer.state.global_step}


# -- the benchmark ------------------------------------------------------------------------------
def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def mean_std(values: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def shown(values: list[float], digits: int) -> str:
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} ± {'–' if std is None else f'{std:.{digits}f}'}"


def first_reached(curve: list[dict], metric: str, target: float, mode: str) -> float:
    """Seconds at the first evaluation whose score reached ``target``; inf when none did."""
    for point in curve:
        if (point[metric] >= target) if mode == "max" else (point[metric] <= target):
            return point["time_s"]
    return math.inf


def summarise(runs: list[dict], sides: list[str], rows: list[str], metric: str, mode: str) -> tuple[list[dict], dict | None]:
    summary = []
    for side in sides:
        for row in rows:
            mine = [r for r in runs if r["side"] == side and r["row"] == row]
            if mine:
                accuracy, wall = mean_std([r["test"][metric] for r in mine]), mean_std([r["wall_s"] for r in mine])
                summary.append({"side": side, "row": row, "n": len(mine), "test_mean": accuracy[0], "test_std": accuracy[1],
                                "wall_mean_s": wall[0], "wall_std_s": wall[1]})
    plain = [r for r in runs if r["side"] == "plain" and r["row"] == "bert" and r["curve"]]
    if not plain:
        return summary, None
    target = statistics.fmean(r["curve"][-1][metric] for r in plain)
    reached = {}
    for side in sides:
        times = [first_reached(r["curve"], metric, target, mode) for r in runs if r["side"] == side and r["row"] == "bert"]
        median = statistics.median(times) if times else math.inf
        reached[side] = {"median_s": None if math.isinf(median) else median, "reached": sum(not math.isinf(t) for t in times),
                         "n": len(times), "times_s": [None if math.isinf(t) else t for t in times]}
    return summary, {"row": "bert", "metric": metric, "target": target, "sides": reached}


def markdown(runs: list[dict], summary: list[dict], to_target: dict | None, metric: str) -> str:
    lines = [f"| side | row | n | test {metric} | train wall s |", "|---|---|---:|---:|---:|"]
    for s in summary:
        mine = [r for r in runs if r["side"] == s["side"] and r["row"] == s["row"]]
        lines.append(f"| {s['side']} | {s['row']} | {s['n']} | {shown([r['test'][metric] for r in mine], 2)} | "
                     f"{shown([r['wall_s'] for r in mine], 1)} |")
    if to_target is not None:
        lines += ["", f"| side | median wall s to valid {metric} ≥ {to_target['target']:.2f} (plain loop's mean final, "
                  "bert row) | seeds that reached it |", "|---|---:|---:|"]
        for side, result in to_target["sides"].items():
            median = "not reached" if result["median_s"] is None else f"{result['median_s']:.1f}"
            lines.append(f"| {side} | {median} | {result['reached']}/{result['n']} |")
    return "\n".join(lines)


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="protein/amp", help="a recipe with a seq_classifier on a symbol alphabet")
    parser.add_argument("--seeds", type=lambda t: [int(s) for s in comma_list(t)], default=[0, 1, 2])
    parser.add_argument("--rows", type=comma_list, default=["bert", "rand"], help=f"any of {', '.join(ROWS)}")
    parser.add_argument("--sides", type=comma_list, default=list(SIDES), help=f"any of {', '.join(SIDES)}")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N, the same for every side")
    parser.add_argument("--overrides", nargs="*", default=[], metavar="KEY=VALUE",
                        help="framework config overrides for every side (data, model.num_layers; trainer.* reach engine and hf)")
    parser.add_argument("--out", type=Path, default=None, help="write every run's numbers here (JSON)")
    args = parser.parse_args(argv)
    for name, given, known in (("--rows", args.rows, ROWS), ("--sides", args.sides, SIDES)):
        unknown = [g for g in given if g not in known]
        if unknown or not given:
            parser.error(f"{name}: {', '.join(unknown) or 'nothing given'}; expected a comma list of {', '.join(known)}")
    if min(args.epochs, args.batch_size) < 1:
        parser.error("--epochs and --batch-size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # unused-weight reports of cut backbones, "not a PreTrainedModel" notices
    hf_logging.disable_progress_bar()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    base = load_config([f"recipe={args.recipe}", *args.overrides])  # also loads the plugins, so the recipe can be found
    recipe_rows = (yaml.safe_load(find_recipe(args.recipe).read_text()) or {}).get("rows") or {}
    seed_everything(base.seed)
    task, _ = build(base)  # the data every side sees; the plain loop trains on this task's examples
    for split in ("train", "valid", "test"):
        task.dataset(split)  # prepared (and cached) before any clock runs
    bucketed = BatchPlan(task.lengths("train"), batch_size=args.batch_size, bucket_by_length=base.trainer.bucket_by_length)
    steps_per_epoch = len(bucketed)
    metric, mode = selection(base, task)
    warm_up(base, task, device, args.batch_size)
    print(f"{args.recipe}: {len(task.dataset('train'))} train / {len(task.dataset('valid'))} valid / "
          f"{len(task.dataset('test'))} test examples; rows from the recipe's rows: {sorted(set(args.rows) & set(recipe_rows))} "
          f"(others by model.assignment)", file=sys.stderr, flush=True)
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_transfer_loop-") as scratch:
        turn = 0
        for seed in args.seeds:
            for row in args.rows:
                shift = turn % len(args.sides)
                turn += 1
                for side in args.sides[shift:] + args.sides[:shift]:
                    run_dir = Path(scratch) / f"{side}-{row}-{seed}"
                    cfg = load_config(engine_overrides(args.recipe, row, recipe_rows, seed, args, steps_per_epoch, run_dir))
                    if side == "plain":
                        result = run_plain(cfg, task, row, seed, args, device)
                    elif side == "engine":
                        result = run_engine(cfg, run_dir)
                    else:
                        result = run_hf(cfg, seed, args, device, run_dir)
                    shutil.rmtree(run_dir, ignore_errors=True)
                    runs.append({"side": side, "row": row, "seed": seed, **result})
                    print(f"  seed {seed} {row} {side}: test {metric} {result['test'][metric]:.2f}, {result['wall_s']:.1f} s",
                          file=sys.stderr, flush=True)
    summary, to_target = summarise(runs, args.sides, args.rows, metric, mode)
    threads = torch.get_num_threads()
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {threads} threads of {os.cpu_count()}"
    print(f"{args.recipe}, {where}; {args.epochs} epochs of batch {args.batch_size}, seeds {args.seeds}; overrides: "
          f"{' '.join(args.overrides) or '(none)'}; sides: " + ", ".join(f"{s} = {SIDE_NAMES[s]}" for s in args.sides))
    print(markdown(runs, summary, to_target, metric))
    if args.out is not None:
        record = {"args": {k: v if isinstance(v, (int, float, list, type(None))) else str(v) for k, v in vars(args).items()},
                  "device": where, "metric": metric, "best_mode": mode, "steps_per_epoch_engine": steps_per_epoch,
                  "recipe_rows": sorted(recipe_rows), "runs": runs, "summary": summary, "time_to_target": to_target,
                  "plain_loop_version": PLAIN_LOOP_VERSION, "provenance": run_info(world_size=1)}
        args.out.write_text(json.dumps(record, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
