"""Parallel text that ships with Debian: gettext catalogs (English msgid → translated msgstr) and two verse-aligned Bibles.

Two sources, one record type (:class:`ParallelPair`):

* **gettext**: every ``/usr/share/locale/<lang>/LC_MESSAGES/*.mo`` of the installed packages. The
  GNU ``.mo`` binary layout is read by :func:`read_mo_catalog` (no ``gettext`` runtime needed);
  :func:`gettext_pairs` keeps plain messages of 3–20 English words, drops format strings,
  untranslated copies and duplicates, and counts every drop per reason and per catalog.
* **Bible**: King James (``sword-text-kjv``) and Reina-Valera 1909 (``sword-text-sparv``) read with
  ``pysword``; both use the KJV versification, so verse (book, chapter, verse) ↔ verse.
  :func:`bible_pairs` caches the extraction (a few minutes) as TSV under the project cache.

Only the text is read here; tokenising and batching belong to the caller.
"""

from __future__ import annotations

import csv
import functools
import os
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ssl_universal.data.cache import cache_key_hash, cache_root, source_fingerprint
from ssl_universal.errors import DataError

#: The gettext languages the issue names (folder names under /usr/share/locale).
GETTEXT_LANGUAGES = ("zh_CN", "de", "es", "fr", "ru", "ja", "tr")
DEFAULT_LOCALE_DIR = "/usr/share/locale"
DEFAULT_SWORD_DIR = "/usr/share/sword"
#: SWORD module names of the two Debian Bible packages, by ISO language code.
BIBLE_MODULES = {"en": "engKJV2006eb", "es": "spaRV1909eb"}
BIBLE_PACKAGES = {"engKJV2006eb": "sword-text-kjv", "spaRV1909eb": "sword-text-sparv"}

_MO_MAGIC = 0x950412DE
# printf conversions (%s, %d, %1$s, %-10.3f, %'d, %lu, %zu, %<PRIu64>; not the space flag, so '100% done' stays text), Python/brace ({0}, {name}) and shell (${x}) placeholders.
_FORMAT_RE = re.compile(
    r"%(?:\d+\$)?[-+#0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t)?[diouxXeEfFgGaAcsSpn%]|%<[A-Za-z0-9]+>|\{[\w.:!]*\}|\$\{?\w+\}?"
)
_WHITESPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class ParallelPair:
    """One aligned sentence pair: English ``source``, translation ``target``, where it came from (catalog or verse reference)."""

    source: str
    target: str
    origin: str


@dataclass
class ParallelCorpus:
    """Pairs of one language plus the bookkeeping of how they were selected (nothing dropped silently)."""

    language: str
    pairs: list[ParallelPair]
    kept_per_origin: Counter = field(default_factory=Counter)  # catalog file name (or book) -> pairs kept
    dropped: Counter = field(default_factory=Counter)  # reason -> messages dropped

    def __len__(self) -> int:
        return len(self.pairs)

    def summary(self) -> str:
        """One line: kept count, how many sources contributed, and every drop reason with its count."""
        drops = ", ".join(f"{reason} {count}" for reason, count in sorted(self.dropped.items())) or "none"
        return f"{self.language}: {len(self.pairs)} pairs from {len(self.kept_per_origin)} sources; dropped: {drops}"


# --------------------------------------------------------------------------------------------- gettext


def read_mo_catalog(path: str | os.PathLike) -> dict[str, str]:
    """Every (msgid → msgstr) of a GNU ``.mo`` file, the header entry (empty msgid) excluded.

    Plural entries (``msgid\\0msgid_plural`` → ``form0\\0form1...``) give their singular pair;
    a message context (``ctxt\\x04msgid``) is stripped from the key. Either byte order is read.
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 20:
        raise DataError(f"{path}: {len(data)} bytes is too short for a GNU .mo file (a 28-byte header was expected)")
    for order in "<>":
        if struct.unpack(order + "I", data[:4])[0] == _MO_MAGIC:
            break
    else:
        raise DataError(f"{path}: not a GNU .mo file (magic {data[:4].hex()}, expected 950412de in either byte order)")
    revision, count, ids_at, strs_at = struct.unpack(order + "4I", data[4:20])
    if revision >> 16 > 1:
        raise DataError(f"{path}: .mo major revision {revision >> 16} is not supported (0 or 1 expected)")
    end = ids_at + 8 * count, strs_at + 8 * count
    if max(end) > len(data):
        raise DataError(f"{path}: the string tables ({count} entries) run past the end of the file ({len(data)} bytes)")
    charset = "utf-8"
    catalog: dict[str, str] = {}
    for index in range(count):
        id_len, id_off = struct.unpack_from(order + "2I", data, ids_at + 8 * index)
        str_len, str_off = struct.unpack_from(order + "2I", data, strs_at + 8 * index)
        if id_off + id_len > len(data) or str_off + str_len > len(data):
            raise DataError(f"{path}: entry {index} points past the end of the file")
        raw_id, raw_str = data[id_off : id_off + id_len], data[str_off : str_off + str_len]
        if not raw_id:  # the header: "Content-Type: text/plain; charset=UTF-8\n..."
            match = re.search(rb"charset=([-\w]+)", raw_str)
            if match:
                charset = match.group(1).decode("ascii")
            continue
        try:
            msgid = raw_id.decode(charset).split("\x00")[0]
            msgstr = raw_str.decode(charset).split("\x00")[0]
        except (UnicodeDecodeError, LookupError) as error:
            raise DataError(f"{path}: entry {index} does not decode as {charset} (from the catalog header): {error}") from error
        catalog[msgid.split("\x04", 1)[-1]] = msgstr
    return catalog


def write_mo_catalog(path: str | os.PathLike, messages: dict[str, str]) -> Path:
    """Write ``messages`` (msgid → msgstr) as a little-endian GNU ``.mo`` file, UTF-8, as ``msgfmt`` lays it out."""
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", **messages}
    keys = sorted(entries)
    originals, translations = [k.encode() for k in keys], [entries[k].encode() for k in keys]
    start = 28 + 16 * len(keys)
    table, blob = [], b""
    for raw in originals + translations:
        table.append(struct.pack("<2I", len(raw), start + len(blob)))
        blob += raw + b"\0"
    header = struct.pack("<7I", _MO_MAGIC, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + b"".join(table) + blob)
    return path


def clean_message(text: str) -> str:
    """A UI string as a sentence: keyboard accelerators (``_Open``, ``&Save``) removed, whitespace collapsed."""
    text = re.sub(r"(?<![\w&])[_&](?=\w)", "", text)
    return _WHITESPACE_RE.sub(" ", text).strip()


def is_format_string(text: str) -> bool:
    """True when ``text`` holds a printf, brace or shell placeholder, i.e. it is a template, not a sentence."""
    return bool(_FORMAT_RE.search(text))


def gettext_pairs(
    language: str,
    *,
    locale_dir: str | os.PathLike = DEFAULT_LOCALE_DIR,
    min_words: int = 3,
    max_words: int = 20,
) -> ParallelCorpus:
    """English → ``language`` message pairs from every catalog under ``<locale_dir>/<language>/LC_MESSAGES``.

    Kept: messages of ``min_words``..``max_words`` whitespace-separated English words with a non-empty
    translation that differs from the English, neither side a format string. Catalogs are read in
    sorted file-name order and the first translation of a repeated English message wins, so the
    result does not depend on the file system. Every dropped message is counted in ``dropped``.
    """
    folder = Path(locale_dir) / language / "LC_MESSAGES"
    catalogs = sorted(folder.glob("*.mo"))
    if not catalogs:
        available = sorted(p.parts[-3] for p in Path(locale_dir).glob("*/LC_MESSAGES/*.mo"))  # <lang>/LC_MESSAGES/<name>.mo
        available = sorted(set(available))[:40]
        raise DataError(
            f"no gettext catalogs (*.mo) in {folder}. Expected the catalogs of installed Debian packages "
            f"(coreutils, bash, gnupg, ...); languages found under {locale_dir}: {available or 'none'}"
        )
    corpus = ParallelCorpus(language=language, pairs=[])
    seen: set[str] = set()
    for path in catalogs:
        for msgid, msgstr in read_mo_catalog(path).items():
            source, target = clean_message(msgid), clean_message(msgstr)
            words = len(source.split())
            if not target:
                corpus.dropped["untranslated"] += 1
            elif is_format_string(msgid) or is_format_string(msgstr):
                corpus.dropped["format string"] += 1
            elif words < min_words:
                corpus.dropped[f"under {min_words} words"] += 1
            elif words > max_words:
                corpus.dropped[f"over {max_words} words"] += 1
            elif target == source:
                corpus.dropped["translation equals English"] += 1
            elif source in seen:
                corpus.dropped["duplicate English"] += 1
            else:
                seen.add(source)
                corpus.pairs.append(ParallelPair(source, target, path.name))
                corpus.kept_per_origin[path.name] += 1
    return corpus


# --------------------------------------------------------------------------------------------- Bible


def _open_bible(module: str, sword_dir: Path):
    try:
        from pysword.modules import SwordModules
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise DataError("reading the Bibles needs pysword: pip install 'ssl-universal[data]' (or pip install pysword)") from error
    conf = sword_dir / "mods.d"
    if not conf.is_dir():
        raise DataError(
            f"no SWORD library at {sword_dir} (no mods.d/). Install it: bash tools/install_system_deps.sh {' '.join(BIBLE_PACKAGES.values())}"
        )
    modules = SwordModules(str(sword_dir))
    found = modules.parse_modules()
    if module not in found:
        raise DataError(
            f"SWORD module {module!r} is not in {sword_dir} (found: {sorted(found) or 'none'}). "
            f"Install it: bash tools/install_system_deps.sh {BIBLE_PACKAGES.get(module, '<its sword-text-* package>')}"
        )
    bible = modules.get_bible_from_module(module)
    # A zText module compresses a whole book per block and pysword decompresses it again for every
    # verse; remembering the last block makes a full pass minutes faster without changing any text.
    bible._decompressed_text = functools.lru_cache(maxsize=4)(bible._decompressed_text)
    return bible


def clean_verse(text: str) -> str:
    """A verse as plain text: SWORD's paragraph marks (¶) removed, whitespace collapsed."""
    return _WHITESPACE_RE.sub(" ", text.replace("\u00b6", " ")).strip()


def read_bible(module: str, *, sword_dir: str | os.PathLike = DEFAULT_SWORD_DIR) -> dict[str, str]:
    """``"Book chapter:verse"`` → verse text of one SWORD Bible module, empty verses omitted."""
    bible = _open_bible(module, Path(sword_dir))
    verses: dict[str, str] = {}
    books = bible.get_structure().get_books()
    for testament in ("ot", "nt"):
        for book in books.get(testament, []):
            texts = list(bible.get_iter(books=[book.name], clean=True))
            refs = [
                f"{book.name} {chapter}:{verse}"
                for chapter, length in enumerate(book.chapter_lengths, 1)
                for verse in range(1, length + 1)
            ]
            if len(texts) != len(refs):
                raise DataError(
                    f"SWORD module {module}, book {book.name}: {len(texts)} verse texts for {len(refs)} verses of its versification"
                )
            for ref, text in zip(refs, texts):
                text = clean_verse(text)
                if text:
                    verses[ref] = text
    return verses


def bible_pairs(
    source_module: str = BIBLE_MODULES["en"],
    target_module: str = BIBLE_MODULES["es"],
    *,
    sword_dir: str | os.PathLike = DEFAULT_SWORD_DIR,
    cache_dir: str | os.PathLike | None = None,
    language: str = "es",
) -> ParallelCorpus:
    """Verse-aligned pairs (King James → Reina-Valera 1909 by default); verses missing on either side are counted, not paired.

    The pairs are cached as ``bible-<hash>.tsv`` (reference, source, target) under
    ``cache_dir`` (default: the project cache's ``crosslingual`` folder), keyed by the module files.
    """
    sword_dir = Path(sword_dir)
    modules_root = sword_dir / "modules"
    key = {
        "what": "bible_pairs",
        "source": source_module,
        "target": target_module,
        "files": source_fingerprint(modules_root) if modules_root.exists() else str(sword_dir),
    }
    cache_file = Path(cache_dir or cache_root("crosslingual")) / f"bible-{cache_key_hash(key)[:16]}.tsv"
    corpus = ParallelCorpus(language=language, pairs=[])
    if cache_file.exists():
        with cache_file.open(encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_MINIMAL), 1):
                if len(row) == 2 and row[0] == "#dropped":
                    reason, count = row[1].rsplit("=", 1)
                    corpus.dropped[reason] = int(count)
                    continue
                if len(row) != 3:
                    raise DataError(
                        f"{cache_file}:{line}: expected 3 tab-separated fields (reference, source, target), found {len(row)}; delete the file to rebuild it"
                    )
                corpus.pairs.append(ParallelPair(row[1], row[2], row[0]))
    else:
        source, target = read_bible(source_module, sword_dir=sword_dir), read_bible(target_module, sword_dir=sword_dir)
        for ref, text in source.items():
            if ref in target:
                corpus.pairs.append(ParallelPair(text, target[ref], ref))
            else:
                corpus.dropped[f"verse missing in {target_module}"] += 1
        missing_in_source = sum(ref not in source for ref in target)
        if missing_in_source:
            corpus.dropped[f"verse missing in {source_module}"] += missing_in_source
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".tmp")
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            for reason, count in corpus.dropped.items():
                writer.writerow(["#dropped", f"{reason}={count}"])
            for pair in corpus.pairs:
                writer.writerow([pair.origin, pair.source, pair.target])
        partial.replace(cache_file)
    for pair in corpus.pairs:
        corpus.kept_per_origin[pair.origin.rsplit(" ", 1)[0]] += 1
    return corpus


def parallel_pairs(language: str, source: str, **options) -> ParallelCorpus:
    """One entry point by name: ``source`` is ``"gettext"`` (any of :data:`GETTEXT_LANGUAGES`) or ``"bible"`` (``es`` only)."""
    if source == "gettext":
        return gettext_pairs(language, **options)
    if source == "bible":
        if language not in BIBLE_MODULES or language == "en":
            raise DataError(
                f"Bible pairs exist for English → {[code for code in BIBLE_MODULES if code != 'en']}, not {language!r}"
            )
        return bible_pairs(BIBLE_MODULES["en"], BIBLE_MODULES[language], language=language, **options)
    raise DataError(f"unknown parallel source {source!r}: expected 'gettext' or 'bible'")
