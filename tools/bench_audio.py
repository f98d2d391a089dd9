"""Audio benchmarks: padding waste and throughput of bucketed vs random batching; unit-extraction peak memory.

Example: python tools/bench_audio.py --utterances 1000 --unit-sizes 100,400
Prints a Markdown section (the one in docs/benchmarks.md under "## Audio").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def speech_lengths(count: int, seed: int, sample_rate: int = 16000) -> np.ndarray:
    """Utterance lengths shaped like read speech: log-normal around 6 s, clipped to 1-20 s."""
    rng = np.random.default_rng(seed)
    seconds = np.clip(rng.lognormal(np.log(6.0), 0.6, size=count), 1.0, 20.0)
    return (seconds * sample_rate).astype(np.int64)


def conv_front_end() -> torch.nn.Module:
    """HuBERT's convolutional waveform encoder shape (7 layers, total stride 320), narrower (32 channels)."""
    layers, channels = [], 1
    for kernel, stride in ((10, 5), (3, 2), (3, 2), (3, 2), (3, 2), (2, 2), (2, 2)):
        layers += [torch.nn.Conv1d(channels, 32, kernel, stride), torch.nn.GELU()]
        channels = 32
    return torch.nn.Sequential(*layers).eval()


def batching(args) -> list[str]:
    from ssl_universal.data.batching import padding_efficiency
    from ssl_universal_plugins.speech.audio import audio_batch_plan

    torch.manual_seed(0)
    lengths = speech_lengths(args.utterances, args.seed)
    model = conv_front_end()
    rows = []
    for name, bucket in (("random", False), ("bucketed", True)):
        plan = audio_batch_plan(lengths, max_samples=args.max_samples, bucket_by_length=bucket, seed=args.seed)
        batches = plan.epoch_batches(0)
        efficiency = padding_efficiency(lengths, batches)
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in batches:
                model(torch.randn(len(batch), 1, int(lengths[batch].max())))
        wall = time.perf_counter() - start
        audio_seconds = lengths.sum() / 16000
        rows.append(f"| {name} | {len(batches)} | {100 * (1 - efficiency):.1f} | {wall:.1f} | {audio_seconds / wall:.0f} |")
    return [
        (f"{args.utterances} utterances, log-normal lengths around 6 s (1-20 s, {lengths.sum() / 16000 / 3600:.2f} h), "
        f"budget {args.max_samples} padded samples per batch; forward pass of a 7-layer convolutional waveform "
        f"encoder (HuBERT's strides, 32 channels) on CPU, {torch.get_num_threads()} threads."),
        "",
        "| batching | batches | padding waste % | wall s | audio s per wall s |",
        "|---|---|---|---|---|",
        *rows,
    ]


def write_corpus(folder: Path, count: int, seed: int) -> Path:
    """``count`` 2-second utterances of chirps and noise, with train/test manifests."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    (folder / "wav").mkdir(parents=True, exist_ok=True)
    for split, n in (("train", count), ("test", max(1, count // 10))):
        rows = []
        for i in range(n):
            t = np.arange(32000) / 16000
            wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 400) * (1 + t) * t) + 0.05 * rng.standard_normal(t.size)
            sf.write(str(folder / "wav" / f"{split}{i}.wav"), wave, 16000)
            rows.append(f"{split}{i}.wav\t{t.size}")
        (folder / f"{split}.tsv").write_text(f"{folder / 'wav'}\n" + "\n".join(rows) + "\n")
    return folder


_CHILD = """
import json, time
def high_water_mb():  # VmHWM: peak resident memory of this process image (reset by exec, unlike ru_maxrss)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from ssl_universal_plugins.speech.units import UnitConfig, extract_units
import sklearn.cluster, torchaudio.compliance.kaldi
base = high_water_mb()
start = time.perf_counter()
extract_units(UnitConfig(manifest_dir={folder!r}, n_clusters=100, chunk_frames=20000, merge=True))
print(json.dumps([base, high_water_mb(), time.perf_counter() - start]))
"""


def peak_memory(folder: Path) -> tuple[float, float, float]:
    """(resident MB after imports, peak resident MB, wall seconds) of unit extraction in a fresh process."""
    out = subprocess.run([sys.executable, "-c", _CHILD.format(folder=str(folder))],
                         capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def unit_memory(args) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(c) for c in args.unit_sizes.split(",")):
            folder = write_corpus(Path(tmp) / f"c{count}", count, args.seed)
            base, peak, wall = peak_memory(folder)
            frames = count * 199
            rows.append(f"| {count} | {count * 2 / 60:.1f} | {frames} | {frames * 39 * 4 / 2**20:.1f} | {base:.0f} | "
                        f"{peak:.0f} | {peak - base:.0f} | {wall:.0f} |")
    return [
        ("MFCC (39-dim, 100 frames/s) units with K=100 on 2-second utterances; features streamed to disk and "
        "k-means fitted chunk by chunk (20,000 frames per chunk). Each run is a fresh process: resident memory "
        "after importing torch, torchaudio and scikit-learn, then the peak (VmHWM) during extraction."),
        "",
        ("| train utterances | minutes | train frames | feature MB on disk | MB after imports | peak MB | "
        "peak - imports MB | wall s |"),
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--utterances", type=int, default=1000)
    p.add_argument("--max-samples", type=int, default=1_600_000, help="padded samples per batch (100 s)")
    p.add_argument("--unit-sizes", default="100,400", help="train utterances of the two unit-extraction runs")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    command = "python tools/bench_audio.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = ["## Audio", "", (f"`{command.strip()}` on {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, torch {torch.__version__}."), "", "### Bucketed vs random batching", ""]
    memory = unit_memory(args)
    lines += batching(args)
    lines += ["", "### Unit extraction memory", ""]
    lines += memory
    print("\n".join(lines))


if __name__ == "__main__":
    main()
