"""The speech plugin's data commands: ``ssl-universal make-speech-corpus`` and ``ssl-universal extract-units``."""

from __future__ import annotations

import argparse
import json
import time

CORPUS_EPILOG = """Examples:
  ssl-universal make-speech-corpus --out data/speech_synth --seed 0        # about a minute, ~850 utterances
  ssl-universal make-speech-corpus --out /tmp/tiny --voices-per-engine 2 --scale 0.25 --rirs 2
Needs the TTS engines (Debian packages espeak-ng, flite); music21 for music noise, pyroomacoustics for rooms.
"""

UNITS_EPILOG = """Examples:
  ssl-universal extract-units --manifest-dir data/speech_synth/asr --feature mfcc --n-clusters 50
  ssl-universal extract-units --manifest-dir D --feature hubert --checkpoint runs/hubert/best --layer 6 \\
      --label-rate 50 --n-clusters 100 --merge
"""


def make_speech_corpus(argv: list[str]) -> int:
    """Build the synthetic speech corpus (TTS commands, keywords, speakers, styles, sentences, noises, rooms)."""
    from .corpus import TASKS, CorpusConfig, build_corpus

    d = CorpusConfig()
    p = argparse.ArgumentParser(prog="ssl-universal make-speech-corpus", description=make_speech_corpus.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=CORPUS_EPILOG)
    p.add_argument("--out", default=d.out, help="output folder")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--sample-rate", type=int, default=d.sample_rate)
    p.add_argument("--tasks", default=",".join(d.tasks), help=f"comma-separated subset of {','.join(TASKS)}")
    p.add_argument("--engines", default=",".join(d.engines), help="comma-separated: espeak-ng,flite")
    p.add_argument("--voices-per-engine", type=int, default=d.voices_per_engine)
    p.add_argument("--heldout-voices", type=int, default=d.heldout_voices, help="test-only voices per engine")
    p.add_argument("--scale", type=float, default=d.scale, help="multiplies every utterance/clip count")
    p.add_argument("--noise-clips", type=int, default=d.noise_clips)
    p.add_argument("--noise-seconds", type=float, default=d.noise_seconds)
    p.add_argument("--no-music", action="store_true", help="skip music (no music21 needed)")
    p.add_argument("--rirs", type=int, default=d.rirs, help="simulated rooms for train (0: none, no pyroomacoustics)")
    p.add_argument("--workers", type=int, default=d.workers)
    args = p.parse_args(argv)
    cfg = CorpusConfig(
        out=args.out, seed=args.seed, sample_rate=args.sample_rate, tasks=tuple(args.tasks.split(",")),
        engines=tuple(args.engines.split(",")), voices_per_engine=args.voices_per_engine,
        heldout_voices=args.heldout_voices, scale=args.scale, noise_clips=args.noise_clips,
        noise_seconds=args.noise_seconds, music=not args.no_music, rirs=args.rirs, workers=args.workers,
    )
    start = time.perf_counter()
    summary = build_corpus(cfg)
    print(json.dumps({"tasks": summary["tasks"], "noise": summary["noise"], "rir": summary["rir"],
                      "seconds": round(time.perf_counter() - start, 1)}, indent=1))
    return 0


def extract_units(argv: list[str]) -> int:
    """Speech units for every split of a manifest folder: features -> MiniBatchKMeans -> <split>.km + dict.km.txt
    (the summary also goes to units.json)."""
    from . import units

    d = units.UnitConfig()
    p = argparse.ArgumentParser(prog="ssl-universal extract-units", description=extract_units.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=UNITS_EPILOG)
    p.add_argument("--manifest-dir", required=True, help="folder with <split>.tsv manifests")
    p.add_argument("--out-dir", default=None, help="where .km files go (default: the manifest folder)")
    p.add_argument("--splits", default=",".join(d.splits), help="comma-separated manifest names")
    p.add_argument("--fit-split", default=d.fit_split, help="split k-means is fitted on")
    p.add_argument("--feature", choices=("mfcc", "hubert"), default=d.feature)
    p.add_argument("--cmvn", action="store_true",
                   help="mfcc: per-utterance mean/variance normalisation of the features (the speech table's default)")
    p.add_argument("--checkpoint", default=None, help="HuBERT: Hugging Face folder, run dir, or torchaudio state dict")
    p.add_argument("--layer", type=int, default=d.layer, help="HuBERT transformer layer (1-based)")
    p.add_argument("--arch", default=d.arch, help="torchaudio architecture of a state-dict checkpoint")
    p.add_argument("--sample-rate", type=int, default=d.sample_rate)
    p.add_argument("--label-rate", type=float, default=None, help="expected label frames/s (checked)")
    p.add_argument("--n-clusters", type=int, default=d.n_clusters)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="frames per k-means step")
    p.add_argument("--chunk-frames", type=int, default=d.chunk_frames, help="frames read at once while fitting")
    p.add_argument("--passes", type=int, default=d.passes)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--merge", action="store_true", help="also write merged units and run-length counts")
    p.add_argument("--keep-features", action="store_true")
    p.add_argument("--device", default=d.device)
    a = p.parse_args(argv)
    cfg = units.UnitConfig(
        manifest_dir=a.manifest_dir, out_dir=a.out_dir, splits=tuple(a.splits.split(",")), fit_split=a.fit_split,
        feature=a.feature, checkpoint=a.checkpoint, layer=a.layer, arch=a.arch, sample_rate=a.sample_rate,
        label_rate=a.label_rate, n_clusters=a.n_clusters, batch_size=a.batch_size, chunk_frames=a.chunk_frames,
        passes=a.passes, seed=a.seed, merge=a.merge, keep_features=a.keep_features, device=a.device, cmvn=a.cmvn,
    )
    summary = units.extract_units(cfg)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=1))
    return 0
