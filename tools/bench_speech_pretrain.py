"""HuBERT pre-training throughput of a speech-table preset: seconds of audio per wall-clock second.

    python tools/bench_speech_pretrain.py --data runs/speech_table/data/mfcc --preset cpu --steps 40
    python tools/bench_speech_pretrain.py --data D --preset gpu --device cuda --steps 100

``--data`` is a folder of pre-training units (``train.tsv``, ``train.km``, ``dict.km.txt``), e.g. the
``data/mfcc`` folder that ``ssl-universal speech-table`` writes. The loop is the pre-training step
itself: the task's data and collate, batches bounded by the preset's ``trainer.max_tokens`` samples
(length-bucketed, as the engine does), the registered ``hubert`` model at the preset's size, AdamW,
one optimizer step per batch, at the preset's precision. Audio seconds count real samples (not
padding). The first ``--warmup`` steps are not timed. Prints one Markdown table row with audio seconds
per wall-clock second and per CPU second of this process (on a shared machine the wall figure falls with
the load; the CPU figure is what a dedicated core gives, at one thread).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch


def preset_values(preset: str) -> dict:
    from ssl_universal_plugins.speech.table import PRESETS

    values = dict(o.split("=", 1) for o in PRESETS[preset]["pretrain"])
    return {"size": values.get("model.size", "tiny"), "max_tokens": int(values.get("trainer.max_tokens", 128000)),
            "lr": float(values.get("trainer.lr", 2e-3)), "precision": values.get("trainer.precision", "fp32")}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="units folder: train.tsv, train.km, dict.km.txt")
    parser.add_argument("--preset", default="cpu", choices=("cpu", "gpu"))
    parser.add_argument("--label-rate", type=float, default=100.0, help="100 for MFCC units, 50 for HuBERT units")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from ssl_universal.plugins import load_plugins

    load_plugins()
    from ssl_universal_plugins.speech.audio import audio_batch_plan
    from ssl_universal_plugins.speech.hubert import HubertPretrainConfig, build_hubert
    from ssl_universal_plugins.speech.pretrain import HubertPretrainTask, HubertPretrainTaskConfig

    p = preset_values(args.preset)
    task = HubertPretrainTask(HubertPretrainTaskConfig(data_dir=str(Path(args.data)), label_rate=args.label_rate))
    train = task.dataset("train")
    torch.manual_seed(0)
    model = build_hubert(HubertPretrainConfig(size=p["size"]), task).to(args.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=p["lr"], weight_decay=0.01)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(p["precision"])
    plan = audio_batch_plan(train.lengths, max_samples=p["max_tokens"], batch_size=64, seed=0)
    batches = [b for epoch in range(100) for b in plan.epoch_batches(epoch)][: args.warmup + args.steps]
    audio_seconds = padded_seconds = 0.0
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    for step, rows in enumerate(batches):
        if step == args.warmup:
            sync()
            start, cpu_start = time.perf_counter(), time.process_time()
        batch = task.collate([train[int(i)] for i in rows])
        batch = {k: v.to(args.device) for k, v in batch.items()}
        with torch.autocast(args.device.split(":")[0], dtype=dtype, enabled=dtype is not None):
            loss, _ = task.loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        if step >= args.warmup:
            audio_seconds += float(batch["lengths"].sum()) / 16000
            padded_seconds += batch["waveform"].numel() / 16000
    sync()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor() or "CPU"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("| preset | model | device, threads | steps | audio s / step | audio s per wall s | audio s per CPU s "
          "| padding | load avg |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.preset} | HuBERT {p['size']} {p['precision']} | {device}, {args.threads} | {args.steps} | "
          f"{audio_seconds / args.steps:.1f} | {audio_seconds / wall:.2f} | {audio_seconds / cpu:.2f} | "
          f"{100 * (1 - audio_seconds / padded_seconds):.1f} % | {load:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
