"""GLUE-like English *proxy* tasks made offline from Debian's fortunes (no GLUE set ships in any package).

* ``acceptability`` (a CoLA proxy): a real sentence (label ``acceptable``) or the same words locally
  disordered (``unacceptable``): two neighbouring words swapped, or a window of three words shuffled.
  The first and last word never move, so a capital letter or the final punctuation gives nothing
  away; each source sentence appears once, in one form only, so no pair can be compared.
* ``topic`` (an SST/topic proxy): a fortune → the file it comes from (computers, people, politics, science,
  work: the five biggest topical fortunes files, 536–1,204 usable entries each).
* ``paraphrase`` (an MRPC/QQP proxy): a sentence pair; the second is the first with WordNet synonyms
  substituted (``paraphrase``), or another sentence with synonyms substituted the same way (``different``).
* ``sentiment`` (an SST-2 proxy with **silver** labels): a fortunes sentence → ``positive`` / ``negative`` by the
  VADER lexicon's compound score (pip ``vaderSentiment``), kept only when ``|score| >= threshold``; a rule's
  label, not a reader's: fortunes are often ironic, and VADER reads words, not irony.

Labelled "proxy" wherever they are shown: they are made from real text by rule, not annotated.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path

from ssl_universal.errors import DataError

FORTUNES_DIR = "/usr/share/games/fortunes"
#: The topic proxy's classes: the five biggest *topical* fortunes files (not the grab-bags `cookie`, `miscellaneous`,
#: `fortunes`, nor `definitions`, whose "word, n." form gives the label away); all five are acceptability sources too.
TOPICS = ("computers", "people", "politics", "science", "work")
SENTENCE_SOURCES = ("computers", "education", "food", "fortunes", "humorists", "law", "literature", "people",
                    "platitudes", "politics", "science", "wisdom", "work")
ACCEPTABILITY_LABELS = ("acceptable", "unacceptable")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
SPLIT_SHARES = {"train": (0.0, 0.8), "valid": (0.8, 0.9), "test": (0.9, 1.0)}


def read_fortunes(category: str, fortunes_dir: str = FORTUNES_DIR) -> list[str]:
    """Entries of one fortunes file, attribution lines ("-- Kirk") cut, whitespace collapsed, duplicates dropped."""
    path = Path(fortunes_dir) / category
    if not path.is_file():
        raise DataError(f"fortunes file {path} not found; `apt-get install -y fortunes fortunes-min`, or set task.fortunes_dir")
    out: dict[str, None] = {}
    for entry in path.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
        lines = []
        for line in entry.splitlines():
            if line.strip().startswith("--"):
                break
            lines.append(line)
        text = " ".join(" ".join(lines).replace("%", " ").split())
        if 20 <= len(text) <= 400:
            out[text] = None
    return list(out)


def _share(items: list, split: str, seed: int) -> list:
    items = sorted(items)
    random.Random(seed).shuffle(items)
    low, high = SPLIT_SHARES[split]
    return items[round(low * len(items)) : round(high * len(items))]


def disorder(words: list[str], rng: random.Random) -> list[str] | None:
    """The words with a local change inside (never the first or last word), or None when none changes them."""
    inner = range(1, len(words) - 1)
    for _ in range(10):
        out = list(words)
        if rng.random() < 0.5 or len(inner) < 3:
            i = rng.randrange(1, len(words) - 2)  # swap i and i + 1, both inner
            out[i], out[i + 1] = out[i + 1], out[i]
        else:
            i = rng.randrange(1, len(words) - 3)
            window = out[i : i + 3]
            rng.shuffle(window)
            out[i : i + 3] = window
        if [w.lower() for w in out] != [w.lower() for w in words]:
            return out
    return None


@lru_cache(maxsize=8)
def _sentences(fortunes_dir: str, min_words: int, max_words: int) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for category in SENTENCE_SOURCES:
        for entry in read_fortunes(category, fortunes_dir):
            for sentence in _SENTENCE_END.split(entry):
                words = sentence.split()
                if min_words <= len(words) <= max_words and sentence[-1] in ".!?":
                    found[" ".join(words)] = None
    return tuple(found)


def acceptability_rows(split: str, size: int, seed: int = 0, fortunes_dir: str = FORTUNES_DIR, changes: int = 1,
                       minimal_pairs: bool = False) -> list[tuple[str, str]]:
    """(sentence, label) pairs, balanced; a sentence is in one split only; an unacceptable one has ``changes`` local changes.

    By default each sentence appears once, in one form (alternately). With ``minimal_pairs`` each of ``size // 2``
    sentences appears in both forms, the original and its changed copy: every word then comes with both labels, so
    only the order can tell them apart (a sentence that no change alters is skipped for the next one).
    """
    sentences = _share(list(_sentences(fortunes_dir, 6, 25)), split, seed)
    rng = random.Random(f"{seed}-{split}")
    rows = []
    if minimal_pairs:
        for sentence in sentences:
            if len(rows) >= size - 1:
                break
            words = sentence.split()
            changed = words
            for _ in range(changes):
                changed = disorder(changed, rng) or changed
            if [w.lower() for w in changed] != [w.lower() for w in words]:
                rows += [(sentence, "acceptable"), (" ".join(changed), "unacceptable")]
        wanted = size - size % 2
    else:
        for n, sentence in enumerate(sentences[:size]):
            words = sentence.split()
            changed = None
            if n % 2:
                changed = words
                for _ in range(changes):
                    changed = disorder(changed, rng) or changed
                if [w.lower() for w in changed] == [w.lower() for w in words]:  # nothing changed, or changes undid each other
                    changed = None
            rows.append((" ".join(changed), "unacceptable") if changed else (sentence, "acceptable"))
        wanted = size
    if len(rows) < wanted:
        asked = f"{size // 2} sentences in both forms" if minimal_pairs else f"{size}"
        raise DataError(f"{fortunes_dir}: only {len(rows)} examples for the {split} split ({len(sentences)} sentences), "
                        f"asked for {asked}; lower task.num_train / num_eval")
    rng.shuffle(rows)
    return rows


def topic_entries(fortunes_dir: str = FORTUNES_DIR) -> dict[str, list[str]]:
    """Each topic file's entries, without those found in more than one topic file (no text has two labels)."""
    entries = {t: read_fortunes(t, fortunes_dir) for t in TOPICS}
    seen: dict[str, int] = {}
    for texts in entries.values():
        for text in texts:
            seen[text] = seen.get(text, 0) + 1
    return {t: [x for x in texts if seen[x] == 1] for t, texts in entries.items()}


def topic_rows(split: str, size: int, seed: int = 0, fortunes_dir: str = FORTUNES_DIR) -> list[tuple[str, str]]:
    """(fortune, file) pairs, the same number per file; an entry is in one split only. The smallest file (science,
    536 entries) caps a split: at most 5 x 429 train, 5 x 53 valid and 5 x 54 test; asking for more gives that many."""
    per_topic = {t: _share(texts, split, seed) for t, texts in topic_entries(fortunes_dir).items()}
    each = min(size // len(TOPICS), *(len(v) for v in per_topic.values()))
    if each == 0:
        raise DataError(f"{fortunes_dir}: too few fortunes for a {split} split of {size}; raise task.num_eval / num_train")
    rows = [(text, topic) for topic, texts in per_topic.items() for text in texts[:each]]
    random.Random(f"{seed}-{split}").shuffle(rows)
    return rows


# -- paraphrase (an MRPC / QQP proxy) ---------------------------------------------------------------
PARAPHRASE_LABELS = ("paraphrase", "different")
_TOKEN = re.compile(r"^([A-Za-z]+)([^A-Za-z]*)$")  # a word and what punctuation follows it


def substitute(words: list[str], table: dict[str, tuple[str, ...]], rng: random.Random, share: float = 0.5,
               foreign: tuple[str, ...] | None = None) -> list[str] | None:
    """The words with about ``share`` of those that have WordNet synonyms (4+ letters) replaced by one; None if none has.

    ``foreign`` (the table's words in a fixed order): each chosen word is replaced instead by a synonym of another,
    randomly drawn word of the table that is not the word itself nor one of its synonyms: the same number of
    changes, made with words of the same kind (WordNet synonyms), but not meaning-preserving."""
    spots = []
    for i, word in enumerate(words):
        m = _TOKEN.match(word)
        if m and len(m.group(1)) >= 4 and m.group(1).lower() in table:
            spots.append((i, m.group(1), m.group(2)))
    if not spots:
        return None
    chosen = [s for s in spots if rng.random() < share] or [rng.choice(spots)]
    out = list(words)
    for i, word, tail in chosen:
        if foreign is None:
            synonym = rng.choice(table[word.lower()])
        else:
            near = {word.lower(), *table[word.lower()]}
            while True:
                synonym = rng.choice(table[rng.choice(foreign)])
                if synonym not in near:
                    break
        out[i] = (synonym.capitalize() if word[0].isupper() else synonym) + tail
    return out


PARAPHRASE_NEGATIVES = ("random", "overlap", "replaced")
OVERLAP_CANDIDATES = 256  # sentences of the split an ``overlap`` negative is chosen from


def word_set(sentence: str) -> frozenset[str]:
    """The sentence's words, lowercased, without punctuation: what :func:`word_overlap` compares."""
    return frozenset(w for w in re.findall(r"[a-z']+", sentence.lower()) if w.strip("'"))


def word_overlap(a: str, b: str) -> float:
    """Jaccard overlap of the two sentences' word sets (0: no word shared, 1: the same words)."""
    x, y = word_set(a), word_set(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def paraphrase_rows(split: str, size: int, seed: int = 0, fortunes_dir: str = FORTUNES_DIR,
                    wordnet_dir: str | None = None, negatives: str = "random") -> list[tuple[tuple[str, str], str]]:
    """((sentence, second), label) pairs, balanced. ``paraphrase``: the second is the first with WordNet synonyms
    substituted; ``different``: the second is another sentence of the split, with synonyms substituted the same way
    (so a substitution is no cue). Sentences without a substitutable word are left out (and counted in the error).

    ``negatives``: what the second sentence of a ``different`` pair is. ``random``: the next sentence of the shuffled
    split; ``overlap``: of :data:`OVERLAP_CANDIDATES` unused sentences drawn from the split, the one sharing the most
    words with the first (Jaccard, :func:`word_overlap`), as MRPC's negatives are lexically close; ``replaced``: the
    first itself with as many words replaced as a paraphrase gets, but by synonyms of *other* words (see
    :func:`substitute`), so the two labels share words equally and only whether the new words mean the old ones
    separates them (README)."""
    from .wordnet import WORDNET_DIR, synonyms

    if negatives not in PARAPHRASE_NEGATIVES:
        raise DataError(f"paraphrase proxy: task.paraphrase_negatives must be one of {', '.join(PARAPHRASE_NEGATIVES)}, got {negatives!r}")
    table = synonyms(wordnet_dir or WORDNET_DIR)
    sentences = _share(list(_sentences(fortunes_dir, 6, 25)), split, seed)
    rng = random.Random(f"paraphrase-{seed}-{split}")
    foreign = tuple(sorted(table)) if negatives == "replaced" else None
    used: set[int] = set()

    def other_of(i: int) -> str | None:
        if negatives == "random":
            j = next((j for j in range(i + 1, len(sentences)) if j not in used), None)
        else:
            free = [j for j in range(len(sentences)) if j not in used and j != i]
            candidates = rng.sample(free, min(OVERLAP_CANDIDATES, len(free)))
            j = max(candidates, key=lambda c: (word_overlap(sentences[i], sentences[c]), -c), default=None)
        if j is not None:
            used.add(j)
        return None if j is None else sentences[j]

    rows, skipped = [], 0
    for i, first in enumerate(sentences):
        if len(rows) == size:
            break
        if i in used:
            continue
        used.add(i)
        if len(rows) % 2 == 0:
            second = substitute(first.split(), table, rng)
        elif negatives == "replaced":
            second = substitute(first.split(), table, rng, foreign=foreign)
        else:
            other = other_of(i)
            second = substitute(other.split(), table, rng) if other else None
        if second is None:
            skipped += 1
            continue
        rows.append(((first, " ".join(second)), PARAPHRASE_LABELS[len(rows) % 2]))
    if len(rows) < size:
        raise DataError(f"{fortunes_dir}: only {len(rows)} sentence pairs for the {split} split ({skipped} sentences had no word with a "
                        f"WordNet synonym), asked for {size}; lower task.num_train / num_eval")
    rng.shuffle(rows)
    return rows


# -- sentiment (an SST-2 proxy, silver labels) --------------------------------------------------------
SENTIMENT_LABELS = ("positive", "negative")


@lru_cache(maxsize=8)
def _vader_scores(fortunes_dir: str) -> tuple[tuple[str, float], ...]:
    """(sentence, VADER compound score) of the acceptability proxy's sentences (6-25 words, the same sources)."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as e:
        raise DataError("the sentiment proxy needs the VADER lexicon: pip install vaderSentiment") from e
    analyzer = SentimentIntensityAnalyzer()
    return tuple((s, analyzer.polarity_scores(s)["compound"]) for s in _sentences(fortunes_dir, 6, 25))


def sentiment_rows(split: str, size: int, seed: int = 0, fortunes_dir: str = FORTUNES_DIR,
                   threshold: float = 0.3) -> list[tuple[str, str]]:
    """(sentence, silver label) pairs, as many of each label; a sentence is in one split only (the same 80/10/10
    share of sentences as acceptability). Sentences with ``|compound| < threshold`` are neither and left out; the
    rarer label caps a split: asking for more gives that many (at 0.3: 1,650 positive, 1,192 negative sentences)."""
    if not 0.0 < threshold < 1.0:
        raise DataError(f"sentiment proxy: task.sentiment_threshold must be in (0, 1), got {threshold}")
    score = dict(_vader_scores(fortunes_dir))
    sentences = _share(list(score), split, seed)
    positive = [s for s in sentences if score[s] >= threshold]
    negative = [s for s in sentences if score[s] <= -threshold]
    each = min(size // 2, len(positive), len(negative))
    if each == 0:
        raise DataError(f"{fortunes_dir}: no sentence of the {split} split has a VADER score beyond ±{threshold}; "
                        "lower task.sentiment_threshold or raise task.num_eval / num_train")
    rows = [(s, "positive") for s in positive[:each]] + [(s, "negative") for s in negative[:each]]
    random.Random(f"sentiment-{seed}-{split}").shuffle(rows)
    return rows
