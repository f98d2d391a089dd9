"""The multilingual corpus: documents per language from offline packages, split by a seeded hash, written for MLM.

Sources (install them with ``bash tools/install_system_deps.sh fortunes fortunes-zh fortunes-de fortunes-es`` and
``pip install turkish-treebanks``):

* ``en``: Debian ``fortunes`` (prose files under /usr/share/games/fortunes),
* ``zh``: ``fortunes-zh`` (files chinese, song100, tang300: sayings and Tang/Song poems),
* ``de``: ``fortunes-de`` (/usr/share/games/fortunes/de), ``es``: ``fortunes-es`` (.../es/*.fortunes),
* ``tr``: the sentences of the two gold treebanks of pip ``turkish-treebanks`` (wiki, web),
* ``fake``: Fake-English (:mod:`.fake`) of English documents. With both ``en`` and ``fake`` in the corpus the English
  documents are cut into two halves by the hash, one kept as English and one moved: the halves are not parallel.

English text beyond the fortunes (``english_sources``): ``kjv``, the King James Bible of apt ``sword-text-kjv``
(read with pip ``pysword``, :func:`.parallel.read_bible`; 31,102 verses, 4.1 M characters, eight times the English
fortunes), consecutive verses of one chapter joined into documents of at most 500 characters. It enlarges ``en`` and
therefore ``fake`` (the halves are drawn from the pooled English documents).

A document's split (train/valid/test, 80/10/10) is a function of the seed, its language and its text only, so the
fine-tuning sets made from the same documents (``finetune.py``) fall into the same splits. Same sources + same seed =
same bytes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from ssl_universal.errors import DataError

from .fake import in_domain, to_fake

FORTUNES_DIR = Path("/usr/share/games/fortunes")
LANGUAGES = ("en", "zh", "de", "es", "tr", "fake")
SPLITS = ("train", "valid", "test")
# English prose files (drawings, tiny and off-colour sets left out), as the text plugin's fortunes sets.
EN_FILES = tuple(
    "computers cookie definitions drugs education food fortunes humorists kids law linux literature love magic medicine "
    "men-women miscellaneous news people pets platitudes politics riddles science songs-poems sports startrek wisdom work "
    "zippy".split()
)
ZH_FILES = ("chinese", "song100", "tang300")
SKIP_FILES = {"asciiart", "ascii-art", "art"}
ENGLISH_SOURCES = ("fortunes", "kjv")
PACKAGE_OF = {"en": "apt fortunes", "zh": "apt fortunes-zh", "de": "apt fortunes-de", "es": "apt fortunes-es",
              "tr": "pip turkish-treebanks", "fake": "apt fortunes (Fake-English)"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def split_of(text: str, language: str, seed: int, shares: tuple[float, float] = (0.8, 0.1)) -> str:
    """train / valid / test of one document, from a seeded hash of its text (order-independent)."""
    digest = hashlib.sha256(f"{seed}\x00{language}\x00{text}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "train" if u < shares[0] else "valid" if u < shares[0] + shares[1] else "test"


def _join_lines(lines: list[str]) -> str:
    """Lines of one entry as one paragraph; no space is put between two CJK characters."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if out and not (_CJK.match(out[-1]) and _CJK.match(line[0])):
            out += " "
        out += line
    return out


def read_fortune_file(path: Path, min_chars: int = 10, max_chars: int = 500) -> list[str]:
    """Entries of one fortune file: colour codes and attribution lines ("-- Author") removed, lines joined."""
    if not path.is_file():
        raise DataError(f"fortune file {path} not found; install it (bash tools/install_system_deps.sh fortunes "
                        "fortunes-zh fortunes-de fortunes-es) or leave its language out of task.languages")
    text = _ANSI.sub("", path.read_text(encoding="utf-8", errors="strict"))
    out = []
    for entry in re.split(r"\n%\n", text.replace("\r\n", "\n")):
        lines = []
        for line in entry.splitlines():
            if line.strip().startswith(("--", "——", "—")):
                break
            lines.append(line.replace("%", " "))
        doc = " ".join(_join_lines(lines).split()) if not _CJK.search(entry) else _join_lines(lines)
        if min_chars <= len(doc) <= max_chars:
            out.append(doc)
    return out


def fortune_files(language: str, fortunes_dir: Path = FORTUNES_DIR) -> list[Path]:
    """The files read for ``language``."""
    if language in ("en", "fake"):
        return [fortunes_dir / name for name in EN_FILES]
    if language == "zh":
        return [fortunes_dir / name for name in ZH_FILES]
    folder = fortunes_dir / language
    if not folder.is_dir():
        raise DataError(f"{folder} not found; install it with `bash tools/install_system_deps.sh fortunes-{language}`")
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink()
             and p.suffix not in (".dat", ".u8") and p.name not in SKIP_FILES]
    if language == "es":
        files = [p for p in files if p.name.endswith(".fortunes")]
    return files


def turkish_treebank_files() -> list[Path]:
    """The two CoNLL-U files of pip ``turkish-treebanks`` (installed as data/wiki.conllu and data/web.conllu)."""
    try:
        dist = importlib.metadata.distribution("turkish-treebanks")
    except importlib.metadata.PackageNotFoundError:
        raise DataError("language tr needs the pip package turkish-treebanks (`pip install turkish-treebanks`)") from None
    files = [Path(str(dist.locate_file(f))) for f in dist.files or [] if str(f).endswith(".conllu")]
    if not files:
        raise DataError(f"turkish-treebanks {dist.version} holds no .conllu file")
    return sorted(files)


def read_turkish_sentences() -> list[str]:
    """The ``# text =`` line of every treebank sentence."""
    out = []
    for path in turkish_treebank_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# text = "):
                out.append(" ".join(line[len("# text = "):].split()))
    return out


def join_verses(verses: dict[str, str], max_chars: int = 500) -> list[str]:
    """``"Book chapter:verse"`` → text (in order) as documents: consecutive verses of one chapter joined while the
    document stays within ``max_chars``; a verse longer than that is a document of its own (kept whole, never cut)."""
    docs: list[str] = []
    current, chapter = "", None
    for ref, text in verses.items():
        here = ref.rsplit(":", 1)[0]
        if current and (here != chapter or len(current) + 1 + len(text) > max_chars):
            docs.append(current)
            current = ""
        current = f"{current} {text}" if current else text
        chapter = here
    if current:
        docs.append(current)
    return docs


def read_kjv_documents(max_chars: int = 500) -> list[str]:
    """The King James Bible (apt ``sword-text-kjv``) as documents of consecutive verses (:func:`join_verses`)."""
    from .parallel import BIBLE_MODULES, read_bible

    return join_verses(read_bible(BIBLE_MODULES["en"]), max_chars)


def english_source_documents(source: str, fortunes_dir: Path = FORTUNES_DIR) -> list[str]:
    """The English documents of one of :data:`ENGLISH_SOURCES`."""
    if source == "fortunes":
        return [d for path in fortune_files("en", fortunes_dir) for d in read_fortune_file(path)]
    if source == "kjv":
        return read_kjv_documents()
    raise DataError(f"unknown English source {source!r}; known: {', '.join(ENGLISH_SOURCES)}")


def read_documents(language: str, fortunes_dir: Path = FORTUNES_DIR,
                   english_sources: tuple[str, ...] | list[str] = ("fortunes",)) -> list[str]:
    """Every document of ``language`` (duplicates removed, first occurrence kept), in source order; ``en`` and
    ``fake`` read ``english_sources`` in the order given."""
    if language not in LANGUAGES:
        raise DataError(f"unknown corpus language {language!r}; known: {', '.join(LANGUAGES)}")
    if language == "tr":
        docs = read_turkish_sentences()
    elif language in ("en", "fake"):
        if not english_sources:
            raise DataError(f"language {language} needs at least one English source (known: {', '.join(ENGLISH_SOURCES)})")
        docs = [d for source in english_sources for d in english_source_documents(source, fortunes_dir)]
    else:
        docs = [d for path in fortune_files(language, fortunes_dir) for d in read_fortune_file(path)]
    if language == "fake":
        docs = [d for d in docs if in_domain(d)]
    return list(dict.fromkeys(docs))


@dataclass
class CorpusConfig:
    languages: list[str] = field(default_factory=lambda: ["en", "zh", "de", "es", "tr"])
    max_documents: int = 6000  # per language (all splits); languages with fewer keep all theirs
    max_eval_documents: int = 150  # per language in the MLM's valid.txt / test.txt (the per-language files keep all)
    seed: int = 0
    fortunes_dir: str = str(FORTUNES_DIR)
    english_sources: list[str] = field(default_factory=lambda: ["fortunes"])  # of ENGLISH_SOURCES: text of en and fake


def check_english_sources(sources: list[str]) -> None:
    """``sources`` must be distinct names of :data:`ENGLISH_SOURCES`."""
    if any(s not in ENGLISH_SOURCES for s in sources) or len(set(sources)) != len(sources):
        raise DataError(f"english_sources {list(sources)}: expected distinct names of {', '.join(ENGLISH_SOURCES)}")


def corpus_documents(cfg: CorpusConfig) -> dict[str, dict[str, list[str]]]:
    """language → split → documents; the English/Fake-English halves when both are asked for."""
    unknown = [lang for lang in cfg.languages if lang not in LANGUAGES]
    if unknown:
        raise DataError(f"corpus languages {unknown} unknown; known: {', '.join(LANGUAGES)}")
    if len(set(cfg.languages)) != len(cfg.languages):
        raise DataError(f"corpus languages repeat: {cfg.languages}")
    check_english_sources(cfg.english_sources)
    both = "en" in cfg.languages and "fake" in cfg.languages
    out: dict[str, dict[str, list[str]]] = {}
    for language in cfg.languages:
        source = "en" if language == "fake" else language
        docs = read_documents(language, Path(cfg.fortunes_dir), cfg.english_sources)
        if both and language in ("en", "fake"):  # non-parallel halves: each English document goes to exactly one of the two
            want = "en" if language == "en" else "fake"
            docs = [d for d in docs if in_domain(d) and _half(d, cfg.seed) == want]
        rng = random.Random(f"{cfg.seed}-{language}")
        rng.shuffle(docs)
        docs = docs[: cfg.max_documents]
        by_split: dict[str, list[str]] = {s: [] for s in SPLITS}
        for doc in docs:
            by_split[split_of(doc, source, cfg.seed)].append(to_fake(doc) if language == "fake" else doc)
        out[language] = by_split
    return out


def _package_of(language: str, english_sources: list[str]) -> str:
    if language not in ("en", "fake") or list(english_sources) == ["fortunes"]:
        return PACKAGE_OF[language]
    names = {"fortunes": "apt fortunes", "kjv": "apt sword-text-kjv"}
    return " + ".join(names[s] for s in english_sources) + (" (Fake-English)" if language == "fake" else "")


def _half(text: str, seed: int) -> str:
    digest = hashlib.sha256(f"half\x00{seed}\x00{text}".encode()).digest()
    return "en" if digest[0] < 128 else "fake"


def write_corpus(cfg: CorpusConfig, out_dir: str | Path) -> dict:
    """``train/valid/test.txt`` (one document a line, languages in blocks), ``<lang>/<split>.txt`` and ``stats.json``.

    Returns the statistics: per language and split, documents and characters.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    documents = corpus_documents(cfg)
    stats: dict = {"languages": {}, "config": {"languages": list(cfg.languages), "max_documents": cfg.max_documents,
                                                "max_eval_documents": cfg.max_eval_documents, "seed": cfg.seed,
                                                "english_sources": list(cfg.english_sources)}}
    for split in SPLITS:
        lines = []
        for language, by_split in documents.items():
            (out_dir / language).mkdir(exist_ok=True)
            part = by_split[split]
            (out_dir / language / f"{split}.txt").write_text("".join(d + "\n" for d in part), encoding="utf-8")
            lines += part if split == "train" else part[: cfg.max_eval_documents]  # languages in blocks: chunks rarely mix two
            entry = stats["languages"].setdefault(language, {"source": _package_of(language, cfg.english_sources)})
            entry[split] = {"documents": len(part), "characters": sum(len(d) for d in part)}
        (out_dir / f"{split}.txt").write_text("".join(d + "\n" for d in lines), encoding="utf-8")
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=1, ensure_ascii=False))
    return stats


def stats_table(stats: dict) -> str:
    """Markdown: documents and characters per language and split."""
    rows = ["| language | source | train docs | train chars | valid docs | test docs |", "|---|---|---|---|---|---|"]
    for language, entry in stats["languages"].items():
        rows.append(f"| {language} | {entry['source']} | {entry['train']['documents']} | {entry['train']['characters']} | "
                    f"{entry['valid']['documents']} | {entry['test']['documents']} |")
    return "\n".join(rows)
