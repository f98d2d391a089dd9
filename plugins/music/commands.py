"""Composer-classification folders for recipe music/composer (task.data_dir): music21's corpus or MAESTRO.

Examples:
  ssl-universal prepare-music corpus --out data/composers --composers bach monteverdi palestrina --pieces 40
  ssl-universal prepare-music corpus --out data/composers4 --composers bach palestrina monteverdi classical=haydn+mozart
  ssl-universal prepare-music maestro --maestro-dir ~/maestro-v3.0.0 --out data/maestro --top-composers 10
Then: ssl-universal train recipe=music/composer task.data_dir=data/composers
"""

from __future__ import annotations

import argparse
from pathlib import Path


def prepare_music(argv: list[str]) -> int:
    """``ssl-universal prepare-music``: pieces of music21's corpus or a MAESTRO download, one folder per composer."""
    from .prepare import prepare_corpus, prepare_maestro

    parser = argparse.ArgumentParser(prog="ssl-universal prepare-music", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="source", required=True)
    corpus = sub.add_parser("corpus", help="pieces of music21's own corpus, balanced per label")
    corpus.add_argument("--out", type=Path, required=True)
    corpus.add_argument("--composers", nargs="+", default=["bach", "monteverdi", "palestrina"], help="labels; label=a+b pools composers")
    corpus.add_argument("--pieces", type=int, default=40, help="pieces per label (0 = all)")
    corpus.add_argument("--valid-fraction", type=float, default=0.15)
    corpus.add_argument("--test-fraction", type=float, default=0.15)
    corpus.add_argument("--seed", type=int, default=0)
    maestro = sub.add_parser("maestro", help="a MAESTRO download (MIDI + maestro-v*.csv), its published split")
    maestro.add_argument("--maestro-dir", type=Path, required=True)
    maestro.add_argument("--out", type=Path, required=True)
    maestro.add_argument("--top-composers", type=int, default=10)
    maestro.add_argument("--min-pieces", type=int, default=10)
    maestro.add_argument("--copy", action="store_true", help="copy the MIDI files instead of linking them")
    args = parser.parse_args(argv)
    if args.source == "corpus":
        counts = prepare_corpus(args.out, args.composers, args.pieces or None, args.valid_fraction, args.test_fraction, args.seed)
    else:
        counts = prepare_maestro(args.maestro_dir, args.out, args.top_composers, args.min_pieces, link=not args.copy)
    for key, value in sorted(counts.items(), key=str):
        print(f"{key}\t{value}")
    print(f"wrote {args.out} (manifest.tsv lists every piece)")
    return 0
