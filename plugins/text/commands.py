"""The small offline English datasets of the text recipes, made from the Debian fortunes files.

Examples:
  ssl-universal prepare-text --out data/text            # all four sets, seed 0
  ssl-universal prepare-text --out data/text --only qa --seed 1

Writes <out>/<set>/ with the files the text tasks read (classification: train/valid/test.tsv;
mlm: .txt; qa: SQuAD-shaped .json; ner: .conll). Without --out the sets go to the cache the tasks
use when task.data_dir is unset ($SSL_UNIVERSAL_CACHE/text or ~/.cache/ssl_universal/text).
Needs `apt-get install -y fortunes fortunes-min`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def prepare_text(argv: list[str]) -> int:
    """``ssl-universal prepare-text``: write the fortunes-derived sets into a folder or the tasks' cache."""
    from . import prepare

    parser = argparse.ArgumentParser(prog="ssl-universal prepare-text", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the tasks' cache)")
    parser.add_argument("--only", choices=sorted(prepare.PREPARERS), action="append", help="make only this set (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of sampling and splits")
    parser.add_argument("--fortunes-dir", type=Path, default=prepare.FORTUNES_DIR, help="folder of the fortunes files")
    args = parser.parse_args(argv)
    for kind in args.only or sorted(prepare.PREPARERS):
        if args.out is None:
            folder = prepare.ensure_prepared(kind, args.seed, args.fortunes_dir)
        else:
            folder = prepare.prepare(kind, args.out / kind, args.seed, args.fortunes_dir)
        files = sorted(p.name for p in folder.iterdir())
        print(f"{kind}: {folder} ({', '.join(files)})")
    return 0
