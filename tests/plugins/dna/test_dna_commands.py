"""`ssl-universal prepare-dna`: its help, and a small UCI splice.data file turned into split tables."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from collections import Counter

from ssl_universal import cli
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


def test_preparing_again_into_a_folder_of_another_source_is_refused(tmp_path, capsys):
    """Runs read the prepared folder by path: the same source may be prepared again, another may not replace it."""
    write_splice_data(tmp_path / "splice.data")
    out = tmp_path / "splice"
    command = ["splice", str(tmp_path / "splice.data"), "--out", str(out)]
    assert prepare_dna(command) == 0
    before = (out / "train.tsv").read_text()
    assert prepare_dna(command) == 0 and (out / "train.tsv").read_text() == before  # the same splits again
    capsys.readouterr()
    assert cli.main(["prepare-dna", *command, "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{out} holds splits prepared from another source (seed: 0 there, 1 now)" in err
    assert (out / "train.tsv").read_text() == before
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "train.tsv").write_text("sequence\tlabel\n")
    assert cli.main(["prepare-dna", "splice", str(tmp_path / "splice.data"), "--out", str(tmp_path / "bare")]) == 2
    assert "already holds train.tsv but no source.json" in capsys.readouterr().err


def test_the_cli_runs_it_and_reports_a_missing_file_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ssl_universal.cli", "prepare-dna", "splice",
                             str(tmp_path / "missing.data"), "--out", str(tmp_path / "out")],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "missing.data: no such file" in result.stderr and "Traceback" not in result.stderr


def write_statlog_rda(path, windows: list[tuple[str, str]], bad_cell: tuple[int, int] | None = None) -> None:
    """The StatLog DNA table as mlbench stores it: factors V1..V180 ("0"/"1", three per base) and Class."""
    import numpy as np
    import pandas as pd
    import rdata

    code = {"A": "100", "C": "010", "G": "001", "T": "000"}
    bits = np.array([[int(b) for base in seq for b in code[base]] for seq, _ in windows])
    if bad_cell is not None:
        row, column = bad_cell
        bits[row, column: column + 2] = 1  # one base coded 1 1 x: no base has that code
    columns = {f"V{i + 1}": pd.Categorical(bits[:, i].astype(str), categories=["0", "1"]) for i in range(180)}
    columns["Class"] = pd.Categorical([label for _, label in windows], categories=["ei", "ie", "n"])
    rdata.write_rda(str(path), {"DNA": pd.DataFrame(columns)})


def _windows(per_class: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [("".join(rng.choice("ACGT") for _ in range(60)), label) for label in ("ei", "ie", "n") for _ in range(per_class)]


def test_statlog_table_is_decoded_and_split_with_repeats_kept_together(tmp_path):
    windows = _windows(20)
    windows += [windows[0]] * 3 + [windows[25]]  # repeated windows, as the real table has (184 extra copies)
    windows += [(windows[45][0], "ei")]  # one window under two labels: set aside with its copies
    write_statlog_rda(tmp_path / "DNA.rda", windows)
    out = tmp_path / "statlog"
    assert prepare_dna(["statlog", str(tmp_path / "DNA.rda"), "--out", str(out)]) == 0
    splits = {split: read_split(out / f"{split}.tsv") for split in ("train", "valid", "test")}
    written = Counter((row["sequence"], row["label"]) for rows in splits.values() for row in rows)
    expected = Counter((seq, label.upper()) for seq, label in windows if seq != windows[45][0])
    assert written == expected  # every base decoded, every copy kept, the conflicting window's two records gone
    where = {row["sequence"]: split for split, rows in splits.items() for row in rows}
    for repeated in (windows[0][0], windows[25][0]):  # all copies of a window land in one split
        assert sum(row["sequence"] == repeated for row in splits[where[repeated]]) == 1 + (3 if repeated == windows[0][0] else 1)
    source = json.loads((out / "source.json").read_text())
    assert source["records"] == 65 and source["repeats"] == 4 and source["conflicting_sequences"] == 1
    assert source["conflicting_records"] == 2


def test_statlog_bad_code_and_missing_install_are_named(tmp_path, monkeypatch):
    import pytest

    from ssl_universal.errors import DataError
    from ssl_universal_plugins.dna import prepare

    write_statlog_rda(tmp_path / "DNA.rda", _windows(2), bad_cell=(4, 6))  # row 5, base 3 (V7..V9)
    with pytest.raises(DataError, match=r"DNA.rda, row 5: base 3 \(V7..V9\) is 1/1/"):
        prepare.prepare("statlog", tmp_path / "DNA.rda", tmp_path / "out")
    monkeypatch.setattr(prepare, "STATLOG_DNA", tmp_path / "absent" / "DNA.rda")
    with pytest.raises(DataError, match="install_system_deps.sh r-cran-mlbench"):
        prepare.prepare("statlog", None, tmp_path / "out")
    (tmp_path / "other.txt").write_text("not R data")
    with pytest.raises(DataError, match="not a readable R data file"):
        prepare.prepare("statlog", tmp_path / "other.txt", tmp_path / "out")
