"""Protein sets as train/valid/test TSV folders for the protein recipes (task.data_dir).

Examples:
  ssl-universal prepare-protein modlamp amp_uniprot --out data/amp_uniprot   # installed with pip modlamp
  ssl-universal prepare-protein tape fluorescence ~/tape/fluorescence --out data/fluorescence
  ssl-universal prepare-protein tape stability ~/tape/stability --out data/stability
  ssl-universal prepare-protein deeploc ~/deeploc/deeploc_data.fasta --out data/localization
Then e.g.: ssl-universal train recipe=protein/stability task.data_dir=data/stability task.max_length=256
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def prepare_protein(argv: list[str]) -> int:
    """``ssl-universal prepare-protein``: a modlamp set, TAPE JSON or DeepLoc FASTA as split TSV files."""
    from .prepare import (
        MODLAMP_SETS,
        TAPE_TARGETS,
        prepare_deeploc,
        prepare_modlamp,
        prepare_tape,
    )

    parser = argparse.ArgumentParser(prog="ssl-universal prepare-protein", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="source", required=True)
    modlamp = sub.add_parser("modlamp", help="a labelled peptide set shipped with modlamp")
    modlamp.add_argument("name", choices=sorted(MODLAMP_SETS))
    modlamp.add_argument("--seed", type=int, default=0, help="seed of the 80/10/10 per-class split")
    tape = sub.add_parser("tape", help="TAPE's JSON files of a regression task")
    tape.add_argument("task", choices=sorted(TAPE_TARGETS))
    tape.add_argument("tape_dir", type=Path, help="folder holding <task>_{train,valid,test}.json")
    deeploc = sub.add_parser("deeploc", help="DeepLoc FASTA ('>ID Location-M test')")
    deeploc.add_argument("fasta", type=Path)
    deeploc.add_argument("--seed", type=int, default=0, help="seed of the validation draw from the training records")
    for command in (modlamp, tape, deeploc):
        command.add_argument("--out", type=Path, required=True, help="folder to write train.tsv, valid.tsv, test.tsv, source.json")
    args = parser.parse_args(argv)
    if args.source == "modlamp":
        out = prepare_modlamp(args.name, args.out, args.seed)
    elif args.source == "tape":
        out = prepare_tape(args.task, args.tape_dir, args.out)
    else:
        out = prepare_deeploc(args.fasta, args.out, args.seed)
    print(json.dumps(json.loads((out / "source.json").read_text()), indent=2))
    print(f"wrote {out}")
    return 0
