"""Training throughput of the engine against the Hugging Face Trainer: same model, data and batch size.

    python tools/bench_engine.py                                   # CPU, fp32, both scenarios
    python tools/bench_engine.py --device cuda --precision bf16    # the same on a GPU

Both sides train a fresh random BERT (`seq_classifier`, `assignment: scratch`, same seed) on the
same synthetic classification data with AdamW, a linear schedule, the same learning rate,
weight decay and gradient clipping. Throughput is timed inside the model's forward: from the
training step after the warm-up to ``--steps`` steps later (one epoch by default), so start-up,
the engine's final evaluation and checkpoint, and Hugging Face's end-of-training work are outside the window,
while data loading, collation, backward and the optimizer step are inside it. In each round
every side runs once, in an order that rotates between rounds, so load from other processes
falls on all sides alike; the table gives medians over rounds, after a warm-up round that
pays the first-use costs (lazy imports, GPU kernel choice for every new shape).

Scenarios: ``fixed`` (every example ``--fixed-length`` tokens: loop overhead only) and
``variable`` (sentence-like log-normal lengths between ``--min-length`` and ``--max-length``),
where the engine batches by length and Hugging Face pads each random batch to its longest
(``DataCollatorWithPadding``) or, as a second row, groups by length (``group_by_length``).
The window spans a whole epoch's worth of steps because ``group_by_length`` serves each
mega-batch longest first: a shorter window would see mostly long batches, which cost less per
token, and flatter that row.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ssl_universal.config import TrainerConfig
from ssl_universal.engine.trainer import Trainer as EngineTrainer
from ssl_universal.models.generic import TransferModelConfig, seq_classifier
from ssl_universal.task import Task, TaskConfig
from ssl_universal.tokenizer import Tokenizer

ALPHABET = [f"s{i}" for i in range(64)]  # synthetic symbols; the vocabulary is the specials plus these
NUM_LABELS = 4
ENGINE, HF = "engine", "hf"


@dataclass
class Side:
    """One contestant of a scenario: which trainer, and how it forms batches."""

    name: str  # row label in the table
    trainer: str  # ENGINE or HF
    grouped: bool  # engine: bucket_by_length; Hugging Face: group_by_length


class SyntheticTask(Task):
    """Random symbol sequences with a label (the first symbol modulo NUM_LABELS); lengths given."""

    def __init__(self, lengths: np.ndarray, seed: int):
        super().__init__(TaskConfig(max_length=int(lengths.max())), Tokenizer(symbols=ALPHABET))
        rng = np.random.default_rng(seed)
        first = len(self.tokenizer.specials)
        self._train = []
        for length in lengths.tolist():
            ids = rng.integers(first, self.tokenizer.vocab_size, size=length).tolist()
            self._train.append({"input_ids": ids, "label": ids[0] % NUM_LABELS})

    def load_split(self, split: str) -> list[dict]:
        # A tiny valid split: the engine's end-of-run evaluation falls outside the timed window anyway.
        return self._train if split == "train" else self._train[:8]

    @property
    def num_labels(self) -> int:
        return NUM_LABELS


class TimedModel(nn.Module):
    """Wraps the classifier and notes the time at the start of chosen training forwards.

    Both trainers call ``forward(**batch)`` once per optimizer step (no accumulation), so the
    n-th training forward marks the start of step n. Batch statistics are summed as tensors so
    that counting adds no host-device synchronisation inside the window.
    """

    accepts_loss_kwargs = False  # Hugging Face: do not pass num_items_in_batch

    def __init__(self, inner: nn.Module, start: int, stop: int):
        super().__init__()
        self.inner = inner
        self.start, self.stop = (
            start,
            stop,
        )  # time forwards [start, stop): steps start .. stop-1
        self.calls = 0
        self.times: dict[int, float] = {}  # wall clock at the marked forwards
        self.cpu_times: dict[int, float] = {}  # CPU time of this process (all its threads) at the same points
        self.examples = 0
        self.padded_tokens = 0
        self.real_tokens: torch.Tensor | int = 0

    def _mark(self, device: torch.device) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        self.times[self.calls] = time.perf_counter()
        self.cpu_times[self.calls] = time.process_time()

    def forward(self, input_ids, attention_mask=None, labels=None):
        if self.training:
            if self.calls in (self.start, self.stop):
                self._mark(input_ids.device)
            if self.start <= self.calls < self.stop:
                self.examples += input_ids.shape[0]
                self.padded_tokens += input_ids.numel()
                self.real_tokens = self.real_tokens + attention_mask.sum()
            self.calls += 1
        return self.inner(input_ids=input_ids, attention_mask=attention_mask, labels=labels)

    def result(self) -> dict[str, float]:
        if self.stop not in self.times:
            raise RuntimeError(f"only {self.calls} training steps ran; the window needs {self.stop + 1}")
        seconds = self.times[self.stop] - self.times[self.start]
        cpu_seconds = self.cpu_times[self.stop] - self.cpu_times[self.start]
        real = int(self.real_tokens)
        return {
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "examples_per_s": self.examples / seconds,
            "tokens_per_s": real / seconds,
            "tokens_per_cpu_s": real / cpu_seconds,
            "padded_tokens_per_s": self.padded_tokens / seconds,
            "padding_efficiency": real / self.padded_tokens,
        }


def lengths_for(scenario: str, args: argparse.Namespace) -> np.ndarray:
    if scenario == "fixed":
        return np.full(args.examples, args.fixed_length, dtype=np.int64)
    # Sentence-like: log-normal with median at a quarter of the range's top, clipped to the range.
    rng = np.random.default_rng(args.seed)
    raw = rng.lognormal(math.log(args.max_length / 4), 0.6, size=args.examples)
    return np.clip(raw, args.min_length, args.max_length).astype(np.int64)


def bert_folder(directory: Path) -> str:
    """A Hugging Face folder holding only a BERT config: all ``assignment: scratch`` needs, so the
    benchmark runs where the packaged backbone is not installed."""
    from transformers import BertConfig

    BertConfig().save_pretrained(str(directory))
    return str(directory)


def build_model(task: SyntheticTask, args: argparse.Namespace, window: tuple[int, int]) -> TimedModel:
    torch.manual_seed(args.seed)
    cfg = TransferModelConfig(
        backbone=args.backbone,
        assignment="scratch",
        num_layers=args.layers,
        hidden_size=args.hidden,
        num_heads=args.heads,
        intermediate_size=args.intermediate,
        max_positions=max(args.max_length, args.fixed_length),
    )
    return TimedModel(seq_classifier(cfg, task), *window)


def run_engine(
    task: SyntheticTask,
    model: TimedModel,
    side: Side,
    args: argparse.Namespace,
    total_steps: int,
) -> None:
    never = 10 * total_steps  # no log line, evaluation or checkpoint inside the run
    cfg = TrainerConfig(
        max_steps=total_steps,
        batch_size=args.batch_size,
        bucket_by_length=side.grouped,
        lr=args.lr,
        weight_decay=0.01,
        clip_grad_norm=1.0,
        schedule="linear",
        precision=args.precision,
        device=args.device,
        eval_every=never,
        save_every=never,
        log_every=never,
        test_split=None,
        progress_bar=False,
        tensorboard=False,
        keep_last=1,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        EngineTrainer(cfg, task, model, run_dir, seed=args.seed, resume=False).fit()


def hf_tokenizer():
    """A Hugging Face fast tokenizer over the task's vocabulary, so ``DataCollatorWithPadding`` can pad."""
    from tokenizers import Tokenizer as RawTokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    symbols = Tokenizer(symbols=ALPHABET).symbols
    raw = RawTokenizer(WordLevel({s: i for i, s in enumerate(symbols)}, unk_token="<unk>"))
    return PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>", unk_token="<unk>")


def run_hf(
    task: SyntheticTask,
    model: TimedModel,
    side: Side,
    args: argparse.Namespace,
    total_steps: int,
) -> None:
    from transformers import DataCollatorWithPadding, TrainingArguments
    from transformers import Trainer as HFTrainer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the "not a PreTrainedModel" notice each round
    tokenizer = hf_tokenizer()
    with tempfile.TemporaryDirectory() as out:
        training_args = TrainingArguments(
            output_dir=out,
            max_steps=total_steps,
            per_device_train_batch_size=args.batch_size,
            learning_rate=args.lr,
            weight_decay=0.01,
            max_grad_norm=1.0,
            lr_scheduler_type="linear",
            warmup_steps=0,
            adam_beta1=0.9,
            adam_beta2=0.999,
            # The engine's AdamW is fused on CUDA and the for-each kind on CPU; match it.
            optim="adamw_torch_fused" if args.device.startswith("cuda") else "adamw_torch",
            bf16=args.precision == "bf16",
            fp16=args.precision == "fp16",
            use_cpu=args.device == "cpu",
            train_sampling_strategy="group_by_length" if side.grouped else "random",
            remove_unused_columns=False,
            report_to=[],
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="no",
            dataloader_num_workers=0,
            disable_tqdm=True,
            seed=args.seed,
        )
        trainer = HFTrainer(
            model=model,
            args=training_args,
            train_dataset=task.dataset("train"),
            data_collator=DataCollatorWithPadding(tokenizer),
            processing_class=tokenizer,
        )
        trainer.train()


def benchmark(scenario: str, args: argparse.Namespace) -> list[dict]:
    """Run every side of ``scenario`` ``args.rounds`` times, interleaved; one summary row per side."""
    sides = [
        Side("engine", ENGINE, grouped=False),
        Side("Hugging Face Trainer", HF, grouped=False),
    ]
    if scenario == "variable":
        sides = [
            Side("engine, length-bucketed", ENGINE, True),
            Side("engine, random batches", ENGINE, False),
            Side("Hugging Face Trainer, random batches", HF, False),
            Side("Hugging Face Trainer, group_by_length", HF, True),
        ]
    task = SyntheticTask(lengths_for(scenario, args), args.seed)
    window = (args.warmup_steps, args.warmup_steps + args.steps)
    total_steps = window[1] + 1  # one more step starts, which closes the window
    runs: dict[str, list[dict]] = {side.name: [] for side in sides}
    for round_index in range(-args.warmup_rounds, args.rounds):
        shift = round_index % len(sides)
        for side in sides[shift:] + sides[:shift]:  # rotate who goes first
            model = build_model(task, args, window)
            (run_engine if side.trainer == ENGINE else run_hf)(task, model, side, args, total_steps)
            result = model.result()
            if round_index >= 0:  # warm-up rounds pay first-use costs (imports, kernels for new shapes)
                runs[side.name].append(result)
            label = f"round {round_index + 1}" if round_index >= 0 else "warm-up"
            print(
                f"  {scenario} {label}: {side.name}: {result['tokens_per_s']:,.0f} tokens/s",
                file=sys.stderr,
                flush=True,
            )
    # Ratios compare each side with the first Hugging Face side round by round (paired), in real tokens
    # per wall-clock second and per CPU second of the process (the latter ignores time spent waiting for
    # a core that other processes hold; on a GPU it also counts the host's busy waiting).
    baseline = runs[next(s.name for s in sides if s.trainer == HF)]
    rows = []
    for side in sides:
        ratios = [r["tokens_per_s"] / b["tokens_per_s"] for r, b in zip(runs[side.name], baseline)]
        cpu_ratios = [r["tokens_per_cpu_s"] / b["tokens_per_cpu_s"] for r, b in zip(runs[side.name], baseline)]
        rows.append(
            {
                "scenario": scenario,
                "side": side.name,
                "examples_per_s": statistics.median(r["examples_per_s"] for r in runs[side.name]),
                "tokens_per_s": statistics.median(r["tokens_per_s"] for r in runs[side.name]),
                "padded_tokens_per_s": statistics.median(r["padded_tokens_per_s"] for r in runs[side.name]),
                "padding_efficiency": statistics.median(r["padding_efficiency"] for r in runs[side.name]),
                "ratio": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
                "cpu_ratio": statistics.median(cpu_ratios),
                "rounds": runs[side.name],
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    header = (
        "| scenario | trainer | examples/s | tokens/s | padded tokens/s | padding efficiency | "
        "tokens/s vs HF (median, min–max) | per CPU second vs HF |"
    )
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['side']} | {r['examples_per_s']:,.1f} | {r['tokens_per_s']:,.0f} | "
            f"{r['padded_tokens_per_s']:,.0f} | {r['padding_efficiency']:.3f} | "
            f"{r['ratio']:.2f}× ({r['ratio_min']:.2f}–{r['ratio_max']:.2f}) | {r['cpu_ratio']:.2f}× |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios",
        nargs="+",
        choices=["fixed", "variable"],
        default=["fixed", "variable"],
    )
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads, the same for both sides",
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved repetitions of every side")
    parser.add_argument(
        "--warmup-rounds",
        type=int,
        default=1,
        help="rounds run first and left out of the table",
    )
    parser.add_argument("--warmup-steps", type=int, default=3, help="steps before the timed window")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="optimizer steps in the timed window; default one epoch (examples / batch size)",
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--examples", type=int, default=256, help="training examples per scenario")
    parser.add_argument("--fixed-length", type=int, default=128)
    parser.add_argument("--min-length", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument(
        "--backbone",
        default=None,
        help="backbone whose architecture is built at random (default: a plain BERT config)",
    )
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="also write the rows (and every round) here",
    )
    args = parser.parse_args(argv)
    if args.steps is None:
        args.steps = -(-args.examples // args.batch_size)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        if args.backbone is None:
            args.backbone = bert_folder(Path(folder))
        for scenario in args.scenarios:
            rows.extend(benchmark(scenario, args))
    device = (
        torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else f"CPU, {args.threads} threads"
    )
    print(
        f"{device}, {args.precision}; {args.layers} layers x {args.hidden} hidden, batch {args.batch_size}, "
        f"{args.steps} timed steps after {args.warmup_steps}, median of {args.rounds} interleaved rounds"
    )
    print(markdown(rows))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "device": device,
                    "rows": rows,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
