"""Synonyms from Princeton WordNet 3.0 as Debian's ``wordnet`` package ships it (``/usr/share/wordnet``), read directly.

A word's synonyms are the other single-word lemmas of its **first** synset (WordNet lists a lemma's senses
most frequent first), over the four parts of speech. The files are the database's own format: ``index.<pos>``
lines ``lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offset...``; ``data.<pos>`` lines
``offset lex_filenum ss_type w_cnt(hex) word lex_id ...``; license header lines start with two spaces.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from ssl_universal.errors import DataError

WORDNET_DIR = "/usr/share/wordnet"
PARTS = ("noun", "verb", "adj", "adv")
_MARKER = re.compile(r"\([a-z]+\)$")  # adjective position markers: beautiful(a), elect(ip)
_WORD = re.compile(r"^[a-z]+$")


def _data_words(path: Path) -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for n, line in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        if line.startswith("  ") or not line.strip():
            continue
        fields = line.split()
        try:
            count = int(fields[3], 16)
        except (IndexError, ValueError) as e:
            raise DataError(f"{path}:{n}: expected 'offset lex_filenum ss_type w_cnt word lex_id ...', got {line[:60]!r}") from e
        words[fields[0]] = [_MARKER.sub("", w).lower() for w in fields[4 : 4 + 2 * count : 2]]
    return words


@lru_cache(maxsize=2)
def synonyms(wordnet_dir: str = WORDNET_DIR) -> dict[str, tuple[str, ...]]:
    """lemma → the other single-word lemmas of its first synset (parts of speech merged, noun first)."""
    folder = Path(wordnet_dir)
    if not (folder / "index.noun").is_file():
        raise DataError(f"WordNet not found in {folder}: `bash tools/install_system_deps.sh wordnet` (Debian's WordNet 3.0 files)")
    out: dict[str, list[str]] = {}
    for part in PARTS:
        data = _data_words(folder / f"data.{part}")
        for n, line in enumerate((folder / f"index.{part}").read_text(encoding="latin-1").splitlines(), start=1):
            if line.startswith("  ") or not line.strip():
                continue
            fields = line.split()
            lemma = fields[0]
            if not _WORD.match(lemma):
                continue
            try:
                first = fields[-int(fields[2])]
            except (IndexError, ValueError) as e:
                raise DataError(f"{folder / f'index.{part}'}:{n}: expected 'lemma pos synset_cnt ... offsets', got {line[:60]!r}") from e
            found = out.setdefault(lemma, [])
            for word in data.get(first, []):
                if word != lemma and _WORD.match(word) and word not in found:
                    found.append(word)
    return {lemma: tuple(words) for lemma, words in out.items() if words}
