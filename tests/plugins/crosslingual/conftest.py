"""A tiny fortunes folder (English, German, Spanish, Chinese files in Debian's layout) for the crosslingual tests."""

from __future__ import annotations

import pytest

EN = [
    "The quick brown fox jumps over the lazy sleeping dog in the garden today.",
    "Programmers never really finish their programs; they only abandon them eventually.",
    "A journey of a thousand miles begins with a single careful step forward.",
    "Nobody expects the inquisition, especially not on a quiet Sunday morning.",
    "Every silver lining has a cloud somewhere behind it, waiting patiently.",
    "Computers are useless, they can only give you answers to your questions.",
]
DE = ["Niemand urteilt schärfer als der Ungebildete, er kennt weder Gründe noch Gegengründe.",
      "Wer andern eine Grube gräbt, fällt selbst hinein und ärgert sich darüber sehr."]
ES = ["El mal pajarillo, la lengua tiene por cuchillo, dice el refrán antiguo.",
      "No es otra cosa la amistad que un sumo consentimiento en las cosas divinas."]
ZH = ["东方未明，颠倒衣裳。颠之倒之，自公召之。", "学而时习之，不亦说乎？有朋自远方来，不亦乐乎？"]


def _fortune_file(path, entries, attribution="Anonymous"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n%\n".join(f"{e}\n\t\t-- {attribution}" for e in entries) + "\n%\n", encoding="utf-8")


@pytest.fixture
def fortunes_dir(tmp_path):
    root = tmp_path / "fortunes"
    from ssl_universal_plugins.crosslingual.corpus import EN_FILES, ZH_FILES

    for i, name in enumerate(EN_FILES):
        _fortune_file(root / name, [f"{e} Number {i} of {name}." for e in EN])
    _fortune_file(root / ZH_FILES[0], ZH + [f"{z[:-1]}，第{i}回也。" for i in range(12) for z in ZH])
    for name in ZH_FILES[1:]:
        _fortune_file(root / name, [z.replace("之", "者") for z in ZH])
    _fortune_file(root / "de" / "zitate", DE)
    _fortune_file(root / "es" / "vida.fortunes", ES)
    (root / "es" / "vida.fortunes.dat").write_bytes(b"\x00\x01")  # index files are not text: never read
    return root
