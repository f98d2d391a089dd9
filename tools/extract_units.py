"""Speech units for every split of a manifest folder: features -> MiniBatchKMeans -> <split>.km + dict.km.txt.

Example: python tools/extract_units.py --manifest-dir data/speech_synth/asr --feature mfcc --n-clusters 50
         python tools/extract_units.py --manifest-dir D --feature hubert --checkpoint runs/hubert/best --layer 6 \\
             --label-rate 50 --n-clusters 100 --merge
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> dict:
    from ssl_universal.plugins import load_plugins

    load_plugins()
    from ssl_universal_plugins.speech.units import UnitConfig, extract_units

    d = UnitConfig()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manifest-dir", required=True, help="folder with <split>.tsv manifests")
    p.add_argument("--out-dir", default=None, help="where .km files go (default: the manifest folder)")
    p.add_argument("--splits", default=",".join(d.splits), help="comma-separated manifest names")
    p.add_argument("--fit-split", default=d.fit_split, help="split k-means is fitted on")
    p.add_argument("--feature", choices=("mfcc", "hubert"), default=d.feature)
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
    cfg = UnitConfig(
        manifest_dir=a.manifest_dir, out_dir=a.out_dir, splits=tuple(a.splits.split(",")), fit_split=a.fit_split,
        feature=a.feature, checkpoint=a.checkpoint, layer=a.layer, arch=a.arch, sample_rate=a.sample_rate,
        label_rate=a.label_rate, n_clusters=a.n_clusters, batch_size=a.batch_size, chunk_frames=a.chunk_frames,
        passes=a.passes, seed=a.seed, merge=a.merge, keep_features=a.keep_features, device=a.device,
    )
    summary = extract_units(cfg)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=1))
    return summary


if __name__ == "__main__":
    main()
