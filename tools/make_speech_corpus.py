"""Build the synthetic speech corpus (TTS commands, keywords, speakers, styles, sentences, noises, rooms).

Example: python tools/make_speech_corpus.py --out data/speech_synth --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args(argv=None) -> argparse.Namespace:
    from ssl_universal.plugins import load_plugins

    load_plugins()
    from ssl_universal_plugins.speech.corpus import TASKS, CorpusConfig

    d = CorpusConfig()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from ssl_universal_plugins.speech.corpus import CorpusConfig, build_corpus

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
    return summary


if __name__ == "__main__":
    main()
