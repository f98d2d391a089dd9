"""Composer-classification folders for recipe music/composer (task.data_dir): music21's corpus or MAESTRO.

Examples:
  python tools/prepare_music_data.py corpus --out data/composers --composers bach monteverdi palestrina --pieces 40
  python tools/prepare_music_data.py corpus --out data/composers4 --composers bach palestrina monteverdi classical=haydn+mozart
  python tools/prepare_music_data.py maestro --maestro-dir ~/maestro-v3.0.0 --out data/maestro --top-composers 10
Then: ssl-universal train recipe=music/composer task.data_dir=data/composers
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    from ssl_universal.errors import SSLUniversalError
    from ssl_universal.plugins import load_plugins

    load_plugins()
    from ssl_universal_plugins.music.prepare import prepare_corpus, prepare_maestro

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
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
    try:
        if args.source == "corpus":
            counts = prepare_corpus(args.out, args.composers, args.pieces or None, args.valid_fraction, args.test_fraction, args.seed)
        else:
            counts = prepare_maestro(args.maestro_dir, args.out, args.top_composers, args.min_pieces, link=not args.copy)
    except SSLUniversalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for key, value in sorted(counts.items(), key=str):
        print(f"{key}\t{value}")
    print(f"wrote {args.out} (manifest.tsv lists every piece)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
