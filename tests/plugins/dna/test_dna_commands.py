"""`ssl-universal prepare-dna`: its help, and a small UCI splice.data file turned into split tables."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from collections import Counter

from ssl_universal_plugins.dna.commands import prepare_dna


def write_splice_data(path, per_class: int = 10, seed: int = 0) -> None:
    """UCI splice.data lines ("EI, ATRINS-DONOR-521, CCAGCTGC..."), 60 bases each, plus one with an N."""
    rng = random.Random(seed)
    lines = []
    for label in ("EI", "IE", "N"):
        for i in range(per_class):
            sequence = "".join(rng.choice("ACGT") for _ in range(60))
            lines.append(f"{label}, ATRINS-{label}-{i:03d}, {sequence}")
    lines.append("EI, AMBIGUOUS-1, " + "CCAGCTGCATCACAGGAGGCCAGCGAGCAGGTCTGTTCCAAGGGCCTTCGAGCCAGTCTN")
    path.write_text("\n".join(lines) + "\n")


def read_split(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_splice_file_becomes_stratified_split_tables(tmp_path, capsys):
    write_splice_data(tmp_path / "splice.data")
    out = tmp_path / "splice"
    assert prepare_dna(["splice", str(tmp_path / "splice.data"), "--out", str(out), "--ambiguous", "drop"]) == 0
    splits = {split: read_split(out / f"{split}.tsv") for split in ("train", "valid", "test")}
    assert {split: len(rows) for split, rows in splits.items()} == {"train": 24, "valid": 3, "test": 3}
    for rows in splits.values():  # every class in every split, in equal numbers
        assert Counter(row["label"] for row in rows) == dict.fromkeys(("EI", "IE", "N"), len(rows) // 3)
        assert all(len(row["sequence"]) == 60 and set(row["sequence"]) <= set("ACGT") for row in rows)
    source = json.loads((out / "source.json").read_text())
    assert source["records"] == 30 and source["with_ambiguous_bases"] == 1 and source["dropped"] == 1
    assert source["class_counts"]["train"] == {"EI": 8, "IE": 8, "N": 8}
    assert f"wrote {out}" in capsys.readouterr().out


def test_the_cli_runs_it_and_reports_a_missing_file_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ssl_universal.cli", "prepare-dna", "splice",
                             str(tmp_path / "missing.data"), "--out", str(tmp_path / "out")],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "missing.data: no such file" in result.stderr and "Traceback" not in result.stderr
