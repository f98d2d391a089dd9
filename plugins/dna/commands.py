"""Published DNA sets as train/valid/test TSV folders for the DNA recipes (task.data_dir).

Examples:
  ssl-universal prepare-dna splice ~/uci/splice.data --out data/splice            # UCI splice-junction set
  ssl-universal prepare-dna statlog --out data/splice_statlog   # the same windows as StatLog coded them (apt r-cran-mlbench)
  ssl-universal prepare-dna histone ~/histone/H3.txt --out data/H3 --ambiguous drop
Then: ssl-universal train recipe=dna/splice task.data_dir=data/splice
      ssl-universal train recipe=dna/histone task.data_dir=data/H3 task.max_length=512
Sequences with non-ACGT bases are kept (--ambiguous keep: the tokenizer then needs them in its alphabet, or
tokenizer.unknown=unk) or set aside (--ambiguous drop); either way source.json counts them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def prepare_dna(argv: list[str]) -> int:
    """``ssl-universal prepare-dna``: read a published file, write the stratified 80/10/10 split and source.json."""
    from .prepare import AMBIGUOUS_POLICIES, prepare

    parser = argparse.ArgumentParser(prog="ssl-universal prepare-dna", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("kind", choices=("splice", "statlog", "histone"))
    parser.add_argument("path", type=Path, nargs="?", default=None,
                        help="splice.data (UCI), the StatLog DNA.rda (default: the one r-cran-mlbench installs) "
                             "or a histone-mark file such as H3.txt")
    parser.add_argument("--out", type=Path, required=True, help="folder to write train.tsv, valid.tsv, test.tsv, source.json")
    parser.add_argument("--seed", type=int, default=0, help="seed of the 80/10/10 per-class split")
    parser.add_argument("--ambiguous", choices=AMBIGUOUS_POLICIES, default="keep")
    args = parser.parse_args(argv)
    out = prepare(args.kind, args.path, args.out, args.seed, args.ambiguous)
    print(json.dumps(json.loads((out / "source.json").read_text()), indent=2))
    print(f"wrote {out}")
    return 0
