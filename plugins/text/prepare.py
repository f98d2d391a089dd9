"""Small real English datasets made offline from the Debian `fortunes` files, for the default recipes.

Four sets, each deterministic given the seed (same fortunes files + same seed = same bytes):

* ``classification``: fortune → its source file (computers, food, law, startrek), balanced, TSV.
* ``mlm``: one fortune per line, plain text, for masked-LM training.
* ``qa``: SQuAD-format cloze questions, *synthetic from real text*: the context is a fortune, the
  question is one of its sentences with a word replaced by "what", the answer is that word.
* ``ner``: CoNLL sentences tagged by rule, *derived, not annotated*: runs of capitalised words that do
  not start the sentence are ``CAP`` (B-/I-), numbers are ``NUM``, the rest ``O``.

Attribution lines ("-- Kirk, stardate 3012.4") are removed first: they would give the label away.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from pathlib import Path

from ssl_universal.data.cache import cache_root
from ssl_universal.errors import DataError

FORTUNES_DIR = Path("/usr/share/games/fortunes")
FORMAT_VERSION = 1  # bump when the generated files change, so caches are rebuilt
CLASSIFICATION_CATEGORIES = ("computers", "food", "law", "startrek")
# Prose files for the MLM, QA and NER sets (drawings, tiny and foreign-language files left out).
PROSE_CATEGORIES = tuple(
    str.split(
        "computers cookie definitions drugs education food fortunes humorists kids law linux literature love magic medicine "
        "men-women miscellaneous news people pets platitudes politics riddles science songs-poems sports startrek wisdom work zippy"
    )
)
SPLIT_SHARES = (("train", 0.8), ("valid", 0.1), ("test", 0.1))
_STOPWORDS = set(
    str.split(
        "about after again against also because been before being below between both could does "
        "doing down during each from further have having here hers herself himself into itself just "
        "more most myself once only other ours ourselves over same should some such than that their "
        "theirs them themselves then there these they this those through under until very were what "
        "when where which while whom will with would your yours yourself yourselves"
    )
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:[.,:]\d+)*|[^\w\s]")


def read_fortunes(
    category: str,
    fortunes_dir: Path = FORTUNES_DIR,
    min_chars: int = 20,
    max_chars: int = 400,
) -> list[str]:
    """Fortunes of one file, attribution removed, whitespace collapsed, within a length range."""
    path = Path(fortunes_dir) / category
    if not path.is_file():
        raise DataError(
            f"fortunes file {path} not found; install the data with `apt-get install -y fortunes fortunes-min` "
            f"or set task.data_dir to your own data"
        )
    out, seen = [], set()
    for entry in path.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
        lines = []
        for line in entry.splitlines():
            if line.strip().startswith("--"):
                break  # attribution: it and its continuation lines end the entry
            lines.append(line)
        text = " ".join(" ".join(lines).replace("%", " ").split())
        if min_chars <= len(text) <= max_chars and text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _split(items: list, rng: random.Random) -> dict[str, list]:
    items = list(items)
    rng.shuffle(items)
    out, start = {}, 0
    for i, (name, share) in enumerate(SPLIT_SHARES):
        end = (
            len(items)
            if i == len(SPLIT_SHARES) - 1
            else start + round(share * len(items))
        )
        out[name] = items[start:end]
        start = end
    return out


def _prose(fortunes_dir: Path, max_chars: int = 400) -> list[str]:
    return [
        t
        for c in PROSE_CATEGORIES
        for t in read_fortunes(c, fortunes_dir, max_chars=max_chars)
    ]


# -- the four sets --------------------------------------------------------------------------------
def prepare_classification(
    out_dir: Path, seed: int = 0, fortunes_dir: Path = FORTUNES_DIR
) -> None:
    """train/valid/test.tsv with columns ``text`` and ``label`` (the fortune's file), balanced per class."""
    rng = random.Random(seed)
    per_category = {
        c: read_fortunes(c, fortunes_dir) for c in CLASSIFICATION_CATEGORIES
    }
    size = min(len(v) for v in per_category.values())
    rows = []
    for category, texts in per_category.items():
        rows += [(t, category) for t in rng.sample(texts, size)]
    for split, part in _split(sorted(rows), rng).items():
        lines = [
            "text\tlabel",
            *(f"{text.replace(chr(9), ' ')}\t{label}" for text, label in part),
        ]
        (out_dir / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def prepare_mlm(
    out_dir: Path,
    seed: int = 0,
    fortunes_dir: Path = FORTUNES_DIR,
    max_documents: int = 4000,
) -> None:
    """train/valid/test.txt, one fortune per line."""
    rng = random.Random(seed)
    texts = _prose(fortunes_dir)
    texts = rng.sample(texts, min(max_documents, len(texts)))
    for split, part in _split(sorted(texts), rng).items():
        (out_dir / f"{split}.txt").write_text("\n".join(part) + "\n", encoding="utf-8")


def _cloze(context: str, rng: random.Random) -> dict | None:
    """One question on ``context``: a sentence with a content word replaced by "what"."""
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(context):
        sentences.append((start, context[start : match.start()]))
        start = match.end()
    sentences.append((start, context[start:]))
    candidates = []
    for offset, sentence in sentences:
        words = list(re.finditer(r"[A-Za-z]{4,}", sentence))
        if len(sentence.split()) < 6:
            continue
        for word in words:
            if word.group().lower() not in _STOPWORDS and word.start() > 0:
                candidates.append((offset, sentence, word))
    if not candidates:
        return None
    offset, sentence, word = rng.choice(candidates)
    question = sentence[: word.start()] + "what" + sentence[word.end() :]
    question = question.rstrip(" .!?;:,\"'") + "?"
    return {
        "question": question,
        "text": word.group(),
        "answer_start": offset + word.start(),
    }


def prepare_qa(
    out_dir: Path,
    seed: int = 0,
    fortunes_dir: Path = FORTUNES_DIR,
    max_questions: int = 2000,
) -> None:
    """train/valid/test.json in SQuAD v1.1 shape, one cloze question per fortune."""
    rng = random.Random(seed)
    texts = [t for t in _prose(fortunes_dir, max_chars=500) if len(t) >= 60]
    texts = rng.sample(texts, min(len(texts), max_questions * 2))
    rows = []
    for context in texts:
        question = _cloze(context, rng)
        if question is not None:
            rows.append((context, question))
        if len(rows) == max_questions:
            break
    for split, part in _split(rows, rng).items():
        paragraphs = [
            {
                "context": context,
                "qas": [
                    {
                        "id": f"{split}-{n}",
                        "question": q["question"],
                        "answers": [
                            {"text": q["text"], "answer_start": q["answer_start"]}
                        ],
                    }
                ],
            }
            for n, (context, q) in enumerate(part)
        ]
        document = {
            "version": "fortunes-cloze-1",
            "data": [{"title": "fortunes", "paragraphs": paragraphs}],
        }
        (out_dir / f"{split}.json").write_text(
            json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8"
        )


def tag_sentence(words: list[str]) -> list[str]:
    """The rule behind the ``ner`` set: B-/I-CAP for capitalised runs past the first word, B-NUM for numbers."""
    tags = []
    for i, word in enumerate(words):
        if word[0].isdigit():
            tags.append("B-NUM")
        elif i > 0 and word[0].isupper() and word != "I":
            tags.append("I-CAP" if tags[-1] in ("B-CAP", "I-CAP") else "B-CAP")
        else:
            tags.append("O")
    return tags


def prepare_ner(
    out_dir: Path,
    seed: int = 0,
    fortunes_dir: Path = FORTUNES_DIR,
    max_sentences: int = 2500,
) -> None:
    """train/valid/test.conll: ``word tag`` lines, blank-line separated sentences."""
    rng = random.Random(seed)
    sentences = []
    for text in _prose(fortunes_dir):
        for sentence in _SENTENCE_END.split(text):
            words = _WORD.findall(sentence)
            if 4 <= len(words) <= 40:
                sentences.append(tuple(words))
    sentences = sorted(set(sentences))
    # Keep sentences with an entity twice as likely, so the tags are not almost all O.
    with_entity = [s for s in sentences if any(t != "O" for t in tag_sentence(list(s)))]
    entity_set = set(with_entity)
    without = [s for s in sentences if s not in entity_set]
    chosen = rng.sample(with_entity, min(len(with_entity), max_sentences * 2 // 3))
    chosen += rng.sample(without, min(len(without), max_sentences - len(chosen)))
    for split, part in _split(chosen, rng).items():
        blocks = ["-DOCSTART- O"]
        for words in part:
            blocks.append(
                "\n".join(f"{w} {t}" for w, t in zip(words, tag_sentence(list(words))))
            )
        (out_dir / f"{split}.conll").write_text(
            "\n\n".join(blocks) + "\n", encoding="utf-8"
        )


PREPARERS = {
    "classification": prepare_classification,
    "mlm": prepare_mlm,
    "qa": prepare_qa,
    "ner": prepare_ner,
}


def prepare(
    kind: str, out_dir: Path, seed: int = 0, fortunes_dir: Path | None = None
) -> Path:
    """Write the ``kind`` set into ``out_dir`` (made atomically: a half-written folder never appears)."""
    if kind not in PREPARERS:
        raise DataError(
            f"unknown prepared text set {kind!r}; known: {', '.join(PREPARERS)}"
        )
    fortunes_dir = Path(fortunes_dir) if fortunes_dir is not None else FORTUNES_DIR
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        PREPARERS[kind](staging, seed=seed, fortunes_dir=fortunes_dir)
        (staging / "SOURCE.txt").write_text(
            f"{kind} set made from {fortunes_dir} by ssl_universal text plugin, seed {seed}, format {FORMAT_VERSION}\n"
        )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out_dir


def ensure_prepared(kind: str, seed: int = 0, fortunes_dir: Path | None = None) -> Path:
    """The cached ``kind`` set for ``seed``, made on first use under the text cache folder."""
    out_dir = cache_root("text") / f"fortunes-{kind}-seed{seed}-v{FORMAT_VERSION}"
    if not (out_dir / "SOURCE.txt").is_file():
        prepare(kind, out_dir, seed, fortunes_dir)
    return out_dir
