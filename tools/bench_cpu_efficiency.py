"""The engine's efficiency on CPU: achieved FLOP/s of a training step against this machine's fp32 matmul rate.

    python tools/bench_cpu_efficiency.py --steps 12

A faithful cross-discipline step: the whole packaged MiniLM (6 layers, 384 wide) on 60-nt DNA windows
(62 tokens with <cls>/<sep>, no padding), batch 32, AdamW, fp32. Measured, interleaved per round so
load on a shared machine falls on all alike, at 1 and 2 threads:
  * ``matmul``: a 1024x1024 fp32 matmul (2·n³ FLOPs), best of several — the ceiling;
  * ``bare loop``: forward + backward + AdamW on the task's own batches, nothing else;
  * ``engine``: the same model and data through ``ssl-universal train`` (its examples_per_s log);
  * ``engine+compile``: the engine with ``trainer.compile=true`` (first steps excluded: compilation).
Model FLOPs per training token = 3 × (2·N + 4·layers·L·d): N the non-embedding parameters (the
embedding lookup costs no matmul), L the sequence length, d the width; the factor 3 counts forward
and backward (2×). Efficiency = achieved FLOP/s ÷ matmul FLOP/s at the same thread count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

BATCH, STEPS_WARMUP = 32, 3


def matmul_flops(threads: int, size: int = 1024, repeats: int = 5) -> float:
    torch.set_num_threads(threads)
    a = torch.randn(size, size)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * size**3 / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _config(overrides: list[str]):
    from ssl_universal.config import load_config

    return load_config(["recipe=dna/splice", "model.num_layers=null", "task.num_train=640", "task.num_eval=32",
                        f"trainer.batch_size={BATCH}", "trainer.tensorboard=false", *overrides])


def model_flops_per_token(model, length: int) -> float:
    encoder = model.encoder
    config = encoder.config
    embedding = sum(p.numel() for n, p in model.named_parameters() if "embeddings" in n)
    body = sum(p.numel() for p in model.parameters()) - embedding
    return 3 * (2 * body + 4 * config.num_hidden_layers * length * config.hidden_size)


def bare_loop(threads: int, steps: int) -> tuple[float, float]:
    """(examples/s, FLOP/s) of forward + backward + AdamW alone on the task's batches."""
    from ssl_universal.run import build, seed_everything

    torch.set_num_threads(threads)
    cfg = _config([])
    seed_everything(0)
    task, model = build(cfg)
    data = task.dataset("train")
    batches = [task.collate([data[i] for i in range(s * BATCH, (s + 1) * BATCH)]) for s in range(steps + STEPS_WARMUP)]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    model.train()
    for index, batch in enumerate(batches):
        if index == STEPS_WARMUP:
            start = time.perf_counter()
        loss, _ = task.loss(model, batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - start
    length = batches[0]["input_ids"].shape[1]
    examples = steps * BATCH
    return examples / seconds, examples * length * model_flops_per_token(model, length) / seconds


def engine(threads: int, steps: int, compile_model: bool) -> float:
    """Examples/s of the engine over its training steps after the warm-up (from its per-step log windows)."""
    from ssl_universal.run import train

    with tempfile.TemporaryDirectory() as tmp:
        cfg = _config([f"trainer.threads={threads}", f"trainer.max_steps={steps + STEPS_WARMUP}", "trainer.log_every=1",
                       f"trainer.eval_every={steps + STEPS_WARMUP}", "trainer.test_split=null", "trainer.save_every=1000",
                       f"trainer.compile={'true' if compile_model else 'false'}", f"run_dir={tmp}/run"])
        train(cfg)
        records = [json.loads(line) for line in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()]
    rates = [r["examples_per_s"] for r in records if r["split"] == "train"][STEPS_WARMUP:]
    return len(rates) / sum(1 / r for r in rates)  # every window is one batch: examples over total time, as the bare loop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="timed training steps per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row (it compiles for a minute)")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    from ssl_universal.plugins import load_plugins

    load_plugins()
    cfg = _config([])
    from ssl_universal.run import build

    task, model = build(cfg)
    length = task.collate([task.dataset("train")[0]])["input_ids"].shape[1]
    per_token = model_flops_per_token(model, length)
    results: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for threads in [int(t) for t in args.threads.split(",")]:
            results.setdefault(("matmul", threads), []).append(matmul_flops(threads))
            rate, _ = bare_loop(threads, args.steps)
            results.setdefault(("bare loop", threads), []).append(rate * length * per_token)
            results.setdefault(("engine", threads), []).append(engine(threads, args.steps, False) * length * per_token)
            if not args.no_compile:
                results.setdefault(("engine+compile", threads), []).append(
                    engine(threads, args.steps, True) * length * per_token)
    print(f"training FLOPs per token: {per_token / 1e6:.1f} M (length {length}, batch {BATCH}); "
          f"torch {torch.__version__}, {torch.get_num_interop_threads()} interop threads")
    print("| what | threads | GFLOP/s (median) | examples/s | share of matmul rate |\n|---|---:|---:|---:|---:|")
    for (name, threads), values in results.items():
        flops = statistics.median(values)
        ceiling = statistics.median(results[("matmul", threads)])
        examples = "" if name == "matmul" else f"{flops / (length * per_token):.1f}"
        print(f"| {name} | {threads} | {flops / 1e9:.1f} | {examples} | {flops / ceiling:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
