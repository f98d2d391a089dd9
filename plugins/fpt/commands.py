"""The FPT plugin's verbs: ``ssl-universal fpt-table`` (the §3 table) and ``ssl-universal prepare-listops`` (LRA .tsv files)."""

from __future__ import annotations

import argparse


def fpt_table(argv: list[str]) -> int:
    """Train and print the FPT table: init rows x tasks, learning rates swept per row, seeds, baselines."""
    from .table import main

    return main(argv)


def prepare_listops(argv: list[str]) -> int:
    """Write generated ListOps in LRA's format: <task>_train.tsv, <task>_val.tsv, <task>_test.tsv (Source<TAB>Target)."""
    from .listops import generate, write_tsv

    p = argparse.ArgumentParser(
        prog="ssl-universal prepare-listops", description=prepare_listops.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  ssl-universal prepare-listops --out data/listops\n"
               "  ssl-universal prepare-listops --out data/lra_like --max-depth 10 --max-args 10 --min-length 500 --max-length 2000\n"
               "then: ssl-universal train recipe=fpt/listops task.data_dir=data/listops")
    p.add_argument("--out", required=True, help="output folder (then: task.data_dir=OUT)")
    p.add_argument("--task", default="basic", help="file prefix, as LRA's 'basic'")
    p.add_argument("--num-train", type=int, default=2000)
    p.add_argument("--num-eval", type=int, default=300, help="valid and test expressions each")
    p.add_argument("--max-depth", type=int, default=4, help="LRA: 10")
    p.add_argument("--max-args", type=int, default=5, help="LRA: 10")
    p.add_argument("--min-length", type=int, default=10, help="keep expressions longer than this (LRA: 500)")
    p.add_argument("--max-length", type=int, default=100, help="... and shorter than this (LRA: 2000)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    rows = generate(args.num_train + 2 * args.num_eval, max_depth=args.max_depth, max_args=args.max_args,
                    min_length=args.min_length, max_length=args.max_length, seed=args.seed)
    cuts = {"train": rows[: args.num_train], "val": rows[args.num_train : args.num_train + args.num_eval],
            "test": rows[args.num_train + args.num_eval :]}
    for split, part in cuts.items():
        print(write_tsv(part, f"{args.out}/{args.task}_{split}.tsv"), len(part))
    return 0
