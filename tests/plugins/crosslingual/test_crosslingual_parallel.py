"""Parallel text readers: the GNU .mo layout read byte for byte, the message filters counted, the Bibles verse-aligned."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from ssl_universal.errors import DataError
from ssl_universal_plugins.crosslingual import parallel


def write_mo(path: Path, messages: dict[str, str], *, byte_order: str = "<", charset: str = "UTF-8") -> Path:
    """A GNU .mo file as msgfmt writes it: header, two sorted (length, offset) tables, NUL-terminated strings."""
    entries = {"": f"Content-Type: text/plain; charset={charset}\n", **messages}
    keys = sorted(entries)
    ids = [key.encode(charset) for key in keys]
    strs = [entries[key].encode(charset) for key in keys]
    count = len(keys)
    ids_at, strs_at = 28, 28 + 8 * count
    offset = strs_at + 8 * count
    table_ids, table_strs, blob = [], [], b""
    for raw in ids:
        table_ids.append((len(raw), offset + len(blob)))
        blob += raw + b"\0"
    for raw in strs:
        table_strs.append((len(raw), offset + len(blob)))
        blob += raw + b"\0"
    header = struct.pack(byte_order + "7I", 0x950412DE, 0, count, ids_at, strs_at, 0, 0)
    body = b"".join(struct.pack(byte_order + "2I", *entry) for entry in table_ids + table_strs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + body + blob)
    return path


MESSAGES = {
    "Remove the selected file from the list": "Die ausgewählte Datei aus der Liste entfernen",
    "_Open the recent file now": "Die letzte Datei _jetzt öffnen",
    "cannot open %s for reading": "kann %s nicht zum Lesen öffnen",
    "copy {count} files to the folder": "{count} Dateien in den Ordner kopieren",
    "Quit": "Beenden",
    "Show the version and exit": "",
    "Use the system default settings": "Use the system default settings",
    "one file was removed\0%d files were removed": "eine Datei wurde entfernt\0%d Dateien wurden entfernt",
    "menu\x04Close this window and quit": "Dieses Fenster schließen und beenden",
    " ".join(["word"] * 21): " ".join(["Wort"] * 21),
}


def test_read_mo_catalog_reads_both_byte_orders_plural_and_context(tmp_path):
    for order in "<>":
        catalog = parallel.read_mo_catalog(write_mo(tmp_path / f"x{order == '<'}.mo", MESSAGES, byte_order=order))
        assert "" not in catalog  # the header
        assert catalog["Remove the selected file from the list"] == "Die ausgewählte Datei aus der Liste entfernen"
        assert catalog["one file was removed"] == "eine Datei wurde entfernt"  # plural: singular pair
        assert catalog["Close this window and quit"] == "Dieses Fenster schließen und beenden"  # context stripped
        assert len(catalog) == len(MESSAGES)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
def test_read_mo_catalog_agrees_with_msgfmt(tmp_path):
    po = tmp_path / "t.po"
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Close the window now"\nmsgstr "Fermer la fenêtre maintenant"\n\n'
        'msgctxt "menu"\nmsgid "Open a new tab"\nmsgstr "Ouvrir un nouvel onglet"\n\n'
        'msgid "one item"\nmsgid_plural "%d items"\nmsgstr[0] "un élément"\nmsgstr[1] "%d éléments"\n',
        encoding="utf-8",
    )
    mo = tmp_path / "t.mo"
    subprocess.run(["msgfmt", "-o", str(mo), str(po)], check=True)
    assert parallel.read_mo_catalog(mo) == {
        "Close the window now": "Fermer la fenêtre maintenant",
        "Open a new tab": "Ouvrir un nouvel onglet",
        "one item": "un élément",
    }


def test_read_mo_catalog_rejects_a_file_that_is_not_mo(tmp_path):
    bad = tmp_path / "bad.mo"
    bad.write_bytes(b"\x00" * 40)
    with pytest.raises(DataError, match=r"bad\.mo: not a GNU \.mo file"):
        parallel.read_mo_catalog(bad)
    short = tmp_path / "short.mo"
    short.write_bytes(b"\xde\x12\x04\x95")
    with pytest.raises(DataError, match="too short"):
        parallel.read_mo_catalog(short)


def test_gettext_pairs_keeps_plain_sentences_and_counts_every_drop(tmp_path):
    write_mo(tmp_path / "de" / "LC_MESSAGES" / "a.mo", MESSAGES)
    # A second catalog repeats one English message with another translation: the first (sorted by file name) wins.
    write_mo(
        tmp_path / "de" / "LC_MESSAGES" / "b.mo",
        {
            "Remove the selected file from the list": "Anders übersetzt",
            "Print this page on paper": "Diese Seite auf Papier drucken",
        },
    )
    corpus = parallel.gettext_pairs("de", locale_dir=tmp_path)
    kept = {pair.source: (pair.target, pair.origin) for pair in corpus.pairs}
    assert kept == {
        "Remove the selected file from the list": ("Die ausgewählte Datei aus der Liste entfernen", "a.mo"),
        "Open the recent file now": ("Die letzte Datei jetzt öffnen", "a.mo"),  # accelerators removed
        "one file was removed": ("eine Datei wurde entfernt", "a.mo"),
        "Close this window and quit": ("Dieses Fenster schließen und beenden", "a.mo"),
        "Print this page on paper": ("Diese Seite auf Papier drucken", "b.mo"),
    }
    assert corpus.dropped == {
        "format string": 2,
        "under 3 words": 1,
        "untranslated": 1,
        "translation equals English": 1,
        "over 20 words": 1,
        "duplicate English": 1,
    }
    assert corpus.kept_per_origin == {"a.mo": 4, "b.mo": 1}
    assert sum(corpus.dropped.values()) + len(corpus) == len(MESSAGES) + 2
    assert "de: 5 pairs from 2 sources" in corpus.summary()


def test_gettext_pairs_names_the_missing_folder_and_the_languages_present(tmp_path):
    write_mo(tmp_path / "fr" / "LC_MESSAGES" / "a.mo", {"Close the window now": "Fermer la fenêtre"})
    with pytest.raises(DataError, match=r"no gettext catalogs .*tr/LC_MESSAGES.*\['fr'\]"):
        parallel.gettext_pairs("tr", locale_dir=tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "cannot open %s",
        "%1$s of %2$s",
        "%-10.3f left",
        "%lu bytes",
        "{0} files",
        "{name} here",
        "${HOME} is",
        "%<PRIu64> entries",
    ],
)
def test_format_strings_are_recognised(text):
    assert parallel.is_format_string(text)


@pytest.mark.parametrize("text", ["100% done", "Close the window", "use a {", "50 % of the disk"])
def test_plain_text_is_not_a_format_string(text):
    assert not parallel.is_format_string(text)


def test_missing_sword_library_says_which_packages_to_install(tmp_path):
    with pytest.raises(DataError, match="sword-text-kjv sword-text-sparv"):
        parallel.bible_pairs(sword_dir=tmp_path / "nowhere", cache_dir=tmp_path)
    (tmp_path / "lib" / "mods.d").mkdir(parents=True)
    with pytest.raises(DataError, match="install_system_deps.sh sword-text-sparv"):
        parallel.read_bible("spaRV1909eb", sword_dir=tmp_path / "lib")


def test_parallel_pairs_rejects_unknown_sources():
    with pytest.raises(DataError, match="'gettext' or 'bible'"):
        parallel.parallel_pairs("de", "subtitles")
    with pytest.raises(DataError, match="not 'de'"):
        parallel.parallel_pairs("de", "bible")


@pytest.mark.slow
@pytest.mark.skipif(
    not Path(parallel.DEFAULT_SWORD_DIR, "mods.d", "spaRV1909eb.conf").exists(),
    reason="sword-text-kjv / sword-text-sparv not installed",
)
def test_bibles_are_verse_aligned_and_cached(tmp_path):
    corpus = parallel.bible_pairs(cache_dir=tmp_path)
    assert len(corpus) > 31_000
    first = corpus.pairs[0]
    assert first.origin == "Genesis 1:1" and first.source.startswith("In the beginning God created")
    assert "principio" in first.target
    john = next(pair for pair in corpus.pairs if pair.origin == "John 3:16")
    assert "loved the world" in john.source and "amó Dios al mundo" in john.target and "\u00b6" not in john.source
    again = parallel.bible_pairs(cache_dir=tmp_path)  # from the TSV cache
    assert again.pairs == corpus.pairs and again.dropped == corpus.dropped
