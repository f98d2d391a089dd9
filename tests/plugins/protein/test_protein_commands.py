"""`ssl-universal prepare-protein`: its help, and TAPE-style JSON files turned into split tables."""

from __future__ import annotations

import csv
import json

from ssl_universal_plugins.protein.commands import prepare_protein


def test_tape_json_becomes_split_tables(tmp_path, capsys):
    tape = tmp_path / "tape"
    tape.mkdir()
    for split, count in (("train", 6), ("valid", 2), ("test", 3)):
        records = [{"primary": "MKV" + "A" * i, "stability_score": [0.5 * i]} for i in range(count)]
        (tape / f"stability_{split}.json").write_text(json.dumps(records))
    out = tmp_path / "stability"
    assert prepare_protein(["tape", "stability", str(tape), "--out", str(out)]) == 0
    with open(out / "test.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [(row["sequence"], float(row["label"])) for row in rows] == [("MKV", 0.0), ("MKVA", 0.5), ("MKVAA", 1.0)]
    assert json.loads((out / "source.json").read_text())["sizes"] == {"train": 6, "valid": 2, "test": 3}
    assert f"wrote {out}" in capsys.readouterr().out
