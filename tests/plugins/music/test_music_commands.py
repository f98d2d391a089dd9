"""`ssl-universal prepare-music`: its help, and a MAESTRO-shaped folder turned into composer folders."""

from __future__ import annotations

import csv

from ssl_universal_plugins.music.commands import prepare_music


def test_maestro_folder_becomes_composer_folders(tmp_path, capsys):
    maestro = tmp_path / "maestro"
    (maestro / "2018").mkdir(parents=True)
    rows = []
    for composer, count in (("Frédéric Chopin", 3), ("Franz Liszt", 2), ("Bach / Busoni", 1)):
        for i in range(count):
            midi = f"2018/{composer.split()[-1]}{i}.midi"
            (maestro / midi).write_bytes(b"MThd")  # only linked, never parsed
            rows.append([composer, f"Piece {i}", ("train", "validation", "test")[i % 3], midi])
    with open(maestro / "maestro-v3.0.0.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["canonical_composer", "canonical_title", "split", "midi_filename"])
        writer.writerows(rows)
    out = tmp_path / "composers"
    assert prepare_music(["maestro", "--maestro-dir", str(maestro), "--out", str(out), "--min-pieces", "2"]) == 0
    assert sorted(p.name for p in (out / "train").iterdir()) == ["Franz_Liszt", "Frédéric_Chopin"]
    assert (out / "test" / "Frédéric_Chopin" / "Chopin2.midi").is_symlink()
    printed = capsys.readouterr().out
    assert "left_out_several_composers\t1" in printed and f"wrote {out}" in printed
