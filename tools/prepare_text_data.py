"""Make the small offline English datasets of the text recipes from the Debian fortunes files.

    python tools/prepare_text_data.py --out data/text            # all four sets, seed 0
    python tools/prepare_text_data.py --out data/text --only qa --seed 1

Writes <out>/<set>/ with the files the text tasks read (classification: train/valid/test.tsv;
mlm: .txt; qa: SQuAD-shaped .json; ner: .conll). Without --out the sets go to the cache the tasks
use when task.data_dir is unset ($SSL_UNIVERSAL_CACHE/text or ~/.cache/ssl_universal/text).
Needs `apt-get install -y fortunes fortunes-min`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ssl_universal.plugins import get_plugin, load_plugins


def main(argv: list[str] | None = None) -> int:
    load_plugins()
    if get_plugin("text") is None:
        print(
            "error: the text plugin did not load; run `ssl-universal list` to see why",
            file=sys.stderr,
        )
        return 1
    from ssl_universal_plugins.text import prepare

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: the tasks' cache)",
    )
    parser.add_argument(
        "--only",
        choices=sorted(prepare.PREPARERS),
        action="append",
        help="make only this set (repeatable)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of sampling and splits"
    )
    parser.add_argument(
        "--fortunes-dir",
        type=Path,
        default=prepare.FORTUNES_DIR,
        help="folder of the fortunes files",
    )
    args = parser.parse_args(argv)
    for kind in args.only or sorted(prepare.PREPARERS):
        if args.out is None:
            folder = prepare.ensure_prepared(kind, args.seed, args.fortunes_dir)
        else:
            folder = prepare.prepare(
                kind, args.out / kind, args.seed, args.fortunes_dir
            )
        files = sorted(p.name for p in folder.iterdir())
        print(f"{kind}: {folder} ({', '.join(files)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
