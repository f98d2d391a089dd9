"""Fine-tuning sets per language, as files the text plugin's tasks read: cloze QA (SQuAD JSON) and POS (CoNLL).

* **Cloze QA** (a proxy of SQuAD/DRCD, synthetic from real text): the context is one document of the language, the
  question is one of its sentences with a word replaced by the language's "what" (what / was / qué / ne / 什么), the
  answer is that word. Words are runs of >= 5 letters not opening their sentence; Chinese has no spaces, so its
  answer is two consecutive Chinese characters and EM/F1 count characters (``task.lang=zh``). Fake-English is the
  English set moved character by character (same offsets).
* **POS**: Turkish is **gold** (the two treebanks of pip ``turkish-treebanks``; the inflectional groups a word is cut
  into are joined again, the word takes the tag of its last group, as Turkish treebanks define a word's category).
  English is **silver**: each word's tag is the one tag pip ``ud2pos`` lists for its form (a lexicon made from UD
  English; no context), kept only for sentences whose every token is in the lexicon (the others are counted).
  Chinese is **silver** too: pip ``jieba``'s segmenter and tagger (``jieba.posseg``: a dictionary with ICTCLAS tags
  and an HMM for unknown words, so the tags depend on context) on the Chinese fortunes, its tags mapped onto the
  universal set by :data:`JIEBA_TO_UNIVERSAL`; a sentence holding a tag with no universal counterpart (idioms,
  abbreviations, affixes, morphemes, unknown) is left out and counted. Fake-English is the English silver set moved.
  Tags are the 12 universal tags of Petrov et al. (the Turkish treebanks' own set; UPOS is mapped onto it).

Every item comes from a document of the corpus split it was drawn from (``corpus.split_of``), so no test item's text
was pre-trained on.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import re
import unicodedata
from pathlib import Path

from ssl_universal.errors import DataError

from .corpus import SPLITS, read_documents, split_of, turkish_treebank_files
from .fake import from_fake, in_domain, to_fake

QUESTION_WORD = {"en": "what", "de": "was", "es": "qué", "tr": "ne", "zh": "什么"}
QA_LANGUAGES = ("en", "zh", "de", "es", "tr", "fake")
POS_LANGUAGES = ("en", "tr", "zh", "fake")
POS_QUALITY = {"en": "silver", "tr": "gold", "zh": "silver", "fake": "silver"}
UNIVERSAL_TAGS = ["ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRON", "PRT", "PUNCT", "VERB", "X"]
UPOS_TO_UNIVERSAL = {"ADJ": "ADJ", "ADP": "ADP", "ADV": "ADV", "AUX": "VERB", "CCONJ": "CONJ", "SCONJ": "CONJ", "DET": "DET",
                     "INTJ": "X", "NOUN": "NOUN", "PROPN": "NOUN", "NUM": "NUM", "PART": "PRT", "PRON": "PRON", "PUNCT": "PUNCT",
                     "SYM": "X", "VERB": "VERB", "X": "X", "CONJ": "CONJ", "PRT": "PRT", ".": "PUNCT", "ONOM": "X", "AFFIX": "X"}
# jieba's ICTCLAS tags onto the universal set, following Petrov et al.'s Chinese (CTB) mapping where the two
# tagsets meet: localisers (f) are PRT as CTB's LC, classifiers (q) NUM as CTB's M, nominal verbs (vn) VERB,
# adverbial adjectives (ad) and 不要-type adverbs (df) ADV, nominal adjectives (an) NOUN; Latin-script words (eng) X.
JIEBA_TO_UNIVERSAL = {
    **dict.fromkeys(("n", "nr", "nrfg", "nrt", "ns", "nt", "nz", "ng", "s", "t", "tg", "an"), "NOUN"),
    **dict.fromkeys(("v", "vd", "vg", "vi", "vq", "vn"), "VERB"),
    **dict.fromkeys(("a", "ag", "b", "z"), "ADJ"),
    **dict.fromkeys(("d", "dg", "ad", "df"), "ADV"),
    "p": "ADP", "c": "CONJ", "cc": "CONJ",
    **dict.fromkeys(("u", "uj", "ul", "ud", "ug", "uv", "uz", "y", "f"), "PRT"),
    **dict.fromkeys(("r", "rr", "rz", "rg"), "PRON"),
    **dict.fromkeys(("m", "mq", "q"), "NUM"),
    **dict.fromkeys(("e", "o", "eng"), "X"),
}
# No universal counterpart: idioms (i), set phrases (l), abbreviations (j), prefixes/suffixes (h, k), bare morphemes
# (g, mg, zg, yg), unknown (un). A sentence holding one is left out, not guessed at.
JIEBA_UNMAPPED = frozenset(("i", "l", "j", "h", "k", "g", "mg", "zg", "yg", "un"))
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SENTENCE_END_ZH = re.compile(r"(?<=[。！？；])")
_WORD = re.compile(r"[^\W\d_]{5,}")
_HAN_PAIR = re.compile(r"(?=([\u4e00-\u9fff]{2}))")
_EN_TOKEN = re.compile(r"[A-Za-z]+(?=n't\b)|n't\b|'[a-z]+\b|[A-Za-z]+|\d+(?:[.,:]\d+)*|[^\w\s]")


# -- cloze QA --------------------------------------------------------------------------------------------------------
def _sentences(context: str, language: str) -> list[tuple[int, str]]:
    splitter = _SENTENCE_END_ZH if language == "zh" else _SENTENCE_END
    out, start = [], 0
    for match in splitter.finditer(context):
        if match.start() > start:
            out.append((start, context[start : match.start()]))
        start = match.end()
    if start < len(context):
        out.append((start, context[start:]))
    return out


def cloze_candidates(context: str, language: str) -> list[tuple[int, str, int, str]]:
    """Every (sentence offset, sentence, start in it, text) a cloze answer may be drawn from in ``context``."""
    candidates = []
    for offset, sentence in _sentences(context, language):
        if language == "zh":
            if len(sentence) < 8:
                continue
            spans = [(m.start(), m.group(1)) for m in _HAN_PAIR.finditer(sentence) if m.start() > 0]
        else:
            if len(sentence.split()) < 6:
                continue
            spans = [(m.start(), m.group()) for m in _WORD.finditer(sentence) if m.start() > 0]
        candidates += [(offset, sentence, start, text) for start, text in spans]
    return candidates


def cloze_question(context: str, language: str, rng: random.Random) -> dict | None:
    """One question on ``context`` (``question``, ``text``, ``answer_start``), or None when no sentence fits."""
    questions = cloze_questions(context, language, rng, 1)
    return questions[0] if questions else None


def cloze_questions(context: str, language: str, rng: random.Random, count: int) -> list[dict]:
    """Up to ``count`` questions on ``context``, each blanking a different candidate: one per sentence first, then
    other words of the same sentences. The first is the one :func:`cloze_question` draws with the same ``rng``."""
    if count < 1:
        raise ValueError(f"cloze_questions: count must be >= 1, got {count}")
    candidates = cloze_candidates(context, language)
    if not candidates:
        return []
    chosen = [rng.choice(candidates)]
    if count > 1:
        rest = [c for c in candidates if c != chosen[0]]
        rng.shuffle(rest)
        sentences = {chosen[0][0]}
        for c in rest:  # a new sentence each, while there are any
            if len(chosen) < count and c[0] not in sentences:
                chosen.append(c)
                sentences.add(c[0])
        chosen += [c for c in rest if c not in chosen][: count - len(chosen)]
    word = QUESTION_WORD[language]
    out = []
    for offset, sentence, start, text in chosen:
        question = sentence[:start] + word + sentence[start + len(text):]
        question = question.rstrip(" .!?;:,\"'。！？；，") + ("？" if language == "zh" else "?")
        out.append({"question": question, "text": text, "answer_start": offset + start})
    return out


def squad_document(rows: list[tuple[str, dict]], split: str, language: str) -> dict:
    paragraphs = [{"context": context, "qas": [{"id": f"{language}-{split}-{n}", "question": q["question"],
                                                "answers": [{"text": q["text"], "answer_start": q["answer_start"]}]}]}
                  for n, (context, q) in enumerate(rows)]
    return {"version": "fortunes-cloze-multilingual-1", "data": [{"title": f"fortunes-{language}", "paragraphs": paragraphs}]}


def cloze_rows(language: str, seed: int, sizes: dict[str, int], fortunes_dir: Path | None = None,
               per_document: dict[str, int] | None = None) -> dict[str, list]:
    """split → [(context, question)] for ``language`` (Fake-English: the English rows moved).

    ``sizes`` counts questions; ``per_document`` (split → n, default 1) asks up to n questions on each document, so
    the same context comes with several blanks and a reader cannot answer it from the context alone.
    """
    source = "en" if language == "fake" else language
    docs = read_documents(source, *(() if fortunes_dir is None else (fortunes_dir,)))
    min_chars = 20 if source == "zh" else 60
    out = {}
    for split in SPLITS:
        rng = random.Random(f"cloze-{seed}-{source}-{split}")
        part = [d for d in docs if split_of(d, source, seed) == split and len(d) >= min_chars
                and (language != "fake" or in_domain(d))]
        rng.shuffle(part)
        rows = []
        for context in part:
            for q in cloze_questions(context, source, rng, (per_document or {}).get(split, 1)):
                rows.append((context, q))
            if len(rows) >= sizes[split]:
                rows = rows[: sizes[split]]
                break
        if language == "fake":
            rows = [(to_fake(c), {"question": to_fake(q["question"]), "text": to_fake(q["text"]),
                                  "answer_start": q["answer_start"]}) for c, q in rows]
        out[split] = rows
    return out


def write_qa(out_dir: str | Path, languages: list[str], seed: int, sizes: dict[str, int],
             mixtures: dict[str, list[str]] | None = None, fortunes_dir: Path | None = None,
             per_document: dict[str, int] | None = None) -> dict:
    """``out_dir/<lang>/{train,valid,test}.json`` per language, and per mixture (e.g. ``en+zh``) the concatenation.
    ``per_document``: questions asked per document, per split (see :func:`cloze_rows`)."""
    out_dir = Path(out_dir)
    stats, rows_of = {}, {}
    for language in languages:
        if language not in QA_LANGUAGES:
            raise DataError(f"no cloze QA for language {language!r}; known: {', '.join(QA_LANGUAGES)}")
        rows_of[language] = cloze_rows(language, seed, sizes, fortunes_dir, per_document)
    for name, parts in (mixtures or {}).items():
        missing = [p for p in parts if p not in rows_of]
        if missing:
            raise DataError(f"QA mixture {name} names {missing}, which are not among the languages {languages}")
        rows_of[name] = {s: [r for p in parts for r in rows_of[p][s]] for s in SPLITS}
    for language, by_split in rows_of.items():
        empty = [split for split, rows in by_split.items() if not rows]
        if empty:
            raise DataError(f"cloze QA for {language}: no question in split(s) {', '.join(empty)} (too few documents of "
                            "that language; check its package is installed, or lower the sizes)")
        (out_dir / language).mkdir(parents=True, exist_ok=True)
        for split, rows in by_split.items():
            (out_dir / language / f"{split}.json").write_text(
                json.dumps(squad_document(rows, split, language), ensure_ascii=False, indent=0), encoding="utf-8")
        stats[language] = {split: len(rows) for split, rows in by_split.items()}
    (out_dir / "stats.json").write_text(json.dumps({"questions": stats, "questions_per_document": per_document or {},
                                                   "kind": "cloze proxy (synthetic from real text)"}, indent=1))
    return stats


# -- POS -------------------------------------------------------------------------------------------------------------
def english_lexicon() -> dict[str, str]:
    """form → universal tag from pip ``ud2pos``'s English lexicon (one tag per form: silver)."""
    from importlib.resources import files

    try:
        resource = files("ud2pos").joinpath("data", "english-ud_lemmas.tsv")
    except ModuleNotFoundError:
        raise DataError("silver English POS needs pip ud2pos (`pip install ud2pos`)") from None
    if not resource.is_file():
        raise DataError(f"ud2pos is installed but has no English lexicon at {resource}; reinstall it (`pip install --force-reinstall ud2pos`)")
    with resource.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    lexicon = {}
    for row in rows:
        tag = UPOS_TO_UNIVERSAL.get(row.get("pos") or "")
        if tag is None:
            continue  # the lexicon's '_' rows (no tag): such a form is simply not in the lexicon
        lexicon[row["form"]] = tag  # one tag per form: the last listed, as ud2pos.UdTagger keeps
    return lexicon


def english_silver_sentences(seed: int) -> tuple[dict[str, list[tuple[list[str], list[str]]]], dict[str, int]]:
    """split → [(tokens, tags)] from English fortunes, and the counts of sentences kept and left out."""
    lexicon = english_lexicon()
    out: dict[str, list] = {s: [] for s in SPLITS}
    counts = {"kept": 0, "not_in_lexicon": 0, "length": 0}
    for doc in read_documents("en"):
        if not in_domain(doc):
            continue
        split = split_of(doc, "en", seed)
        for sentence in _SENTENCE_END.split(doc):
            tokens = _EN_TOKEN.findall(sentence)
            if not 4 <= len(tokens) <= 40:
                counts["length"] += 1
                continue
            tags = [lexicon.get(t.lower()) for t in tokens]
            if None in tags:
                counts["not_in_lexicon"] += 1
                continue
            counts["kept"] += 1
            out[split].append((tokens, tags))
    return out, counts


def jieba_universal(word: str, tag: str) -> str | None:
    """The universal tag of one ``jieba.posseg`` pair; None for a tag in :data:`JIEBA_UNMAPPED`. jieba tags every
    non-word string ``x``: punctuation (every character a Unicode punctuation or symbol) is PUNCT, the rest X."""
    if tag == "x":
        return "PUNCT" if all(unicodedata.category(c)[0] in "PS" for c in word) else "X"
    if tag in JIEBA_UNMAPPED:
        return None
    if tag not in JIEBA_TO_UNIVERSAL:
        raise DataError(f"jieba tag {tag!r} (word {word!r}) has no universal mapping; "
                        "add it to JIEBA_TO_UNIVERSAL or JIEBA_UNMAPPED (crosslingual/finetune.py)")
    return JIEBA_TO_UNIVERSAL[tag]


def chinese_silver_sentences(seed: int, documents: list[str] | None = None) -> tuple[dict[str, list[tuple[list[str], list[str]]]], dict[str, int]]:
    """split → [(words, tags)] from Chinese fortunes (or ``documents``) through ``jieba.posseg``; the counts of
    sentences kept and left out (length; a tag with no universal counterpart)."""
    try:
        import jieba
        import jieba.posseg
    except ModuleNotFoundError:
        raise DataError("silver Chinese POS needs pip jieba (`pip install jieba`)") from None
    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" lines on stderr
    out: dict[str, list] = {s: [] for s in SPLITS}
    counts = {"kept": 0, "unmapped_tag": 0, "length": 0}
    for doc in documents if documents is not None else read_documents("zh"):
        split = split_of(doc, "zh", seed)
        for sentence in _SENTENCE_END_ZH.split(doc):
            pairs = [(w, t) for w, t in jieba.posseg.cut(sentence.strip()) if w.strip()]
            if not pairs:
                continue
            if not 4 <= len(pairs) <= 40:
                counts["length"] += 1
                continue
            tags = [jieba_universal(w, t) for w, t in pairs]
            if None in tags:
                counts["unmapped_tag"] += 1
                continue
            counts["kept"] += 1
            out[split].append(([w for w, _ in pairs], tags))
    return out, counts


def turkish_gold_sentences(seed: int, files: list[Path] | None = None) -> tuple[dict[str, list[tuple[list[str], list[str]]]], dict[str, int]]:
    """split → [(words, tags)] from the gold treebanks (or ``files``), inflectional groups joined into words."""
    out: dict[str, list] = {s: [] for s in SPLITS}
    counts = {"kept": 0, "length": 0}
    for path in files or turkish_treebank_files():
        text, words, tags, glue = None, [], [], False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines() + [""], start=1):
            if line.startswith("# text = "):
                text = " ".join(line[len("# text = "):].split())
            elif line.startswith("#"):
                continue
            elif not line.strip():
                if words:
                    if text is None:
                        raise DataError(f"{path}:{number}: sentence without a '# text =' line")
                    if 2 <= len(words) <= 60:
                        out[split_of(text, "tr", seed)].append((words, tags))
                        counts["kept"] += 1
                    else:
                        counts["length"] += 1
                text, words, tags, glue = None, [], [], False
            else:
                cells = line.split("\t")
                if len(cells) != 10:
                    raise DataError(f"{path}:{number}: expected 10 tab-separated CoNLL-U columns, found {len(cells)}")
                form, tag, misc = cells[1], UPOS_TO_UNIVERSAL.get(cells[3]), cells[9]
                if tag is None:
                    raise DataError(f"{path}:{number}: unknown tag {cells[3]!r}; known: {', '.join(UPOS_TO_UNIVERSAL)}")
                if glue and tag != "PUNCT" and tags[-1] != "PUNCT":
                    words[-1] += form if form != "_" else ""
                    tags[-1] = tag  # the last inflectional group decides
                else:
                    words.append(form)
                    tags.append(tag)
                glue = "SpaceAfter=No" in misc
    return out, counts


def write_pos(out_dir: str | Path, languages: list[str], seed: int, sizes: dict[str, int]) -> dict:
    """``out_dir/<lang>/{train,valid,test}.conll`` (``word<TAB>tag``), and ``stats.json`` with gold/silver marks."""
    out_dir = Path(out_dir)
    stats: dict = {}
    english = None
    for language in languages:
        if language not in POS_LANGUAGES:
            raise DataError(f"no POS set for language {language!r}; known: {', '.join(POS_LANGUAGES)} "
                            "(ud2pos has no German or Spanish lexicon)")
        if language == "tr":
            by_split, counts = turkish_gold_sentences(seed)
        elif language == "zh":
            by_split, counts = chinese_silver_sentences(seed)
        else:
            english = english or english_silver_sentences(seed)
            by_split, counts = english
            if language == "fake":
                by_split = {s: [([to_fake(t) for t in toks], tags) for toks, tags in rows] for s, rows in by_split.items()}
        (out_dir / language).mkdir(parents=True, exist_ok=True)
        entry = {"quality": POS_QUALITY[language], "sentences_read": counts}
        for split in SPLITS:
            rows = list(by_split[split])
            source = "en" if language == "fake" else language  # Fake-English: the twins of the English sentences
            random.Random(f"pos-{seed}-{source}-{split}").shuffle(rows)
            rows = rows[: sizes[split]]
            blocks = ["\n".join(f"{w}\t{t}" for w, t in zip(words, tags)) for words, tags in rows]
            (out_dir / language / f"{split}.conll").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
            entry[split] = len(rows)
        stats[language] = entry
    (out_dir / "stats.json").write_text(json.dumps({"sentences": stats, "tags": UNIVERSAL_TAGS}, indent=1))
    return stats


# -- trivial references ----------------------------------------------------------------------------------------------
def cloze_reference(test_file: str | Path, language: str) -> dict[str, float]:
    """Expected EM / F1 (%) of answering each question with a uniformly random candidate of its context.

    Candidates are the spans the builder draws answers from (:func:`cloze_candidates`: words of >= 5 letters not
    opening a sentence of >= 6 words; in Chinese two Chinese characters, scored by character). Fake-English contexts
    are moved back to English to find them (same offsets) and scored in Fake-English.
    """
    from ssl_universal.metrics.squad import squad_question_scores

    source = "en" if language == "fake" else language
    lang = "zh" if source == "zh" else "en"
    em_sum = f1_sum = 0.0
    count = 0
    for article in json.loads(Path(test_file).read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            spans = cloze_candidates(from_fake(context) if language == "fake" else context, source)
            texts = [to_fake(t) if language == "fake" else t for *_, t in spans]
            for qa in paragraph["qas"]:
                golds = [a["text"] for a in qa["answers"]]
                if not texts:
                    raise DataError(f"{test_file}: question {qa['id']} has no cloze candidate in its context")
                scores = [squad_question_scores(t, golds, lang) for t in texts]
                em_sum += sum(e for e, _ in scores) / len(scores)
                f1_sum += sum(f for _, f in scores) / len(scores)
                count += 1
    if not count:
        raise DataError(f"{test_file}: no question")
    return {"exact_match": 100 * em_sum / count, "f1": 100 * f1_sum / count}


def _conll(path: Path) -> list[tuple[list[str], list[str]]]:
    sentences, words, tags = [], [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines() + [""], start=1):
        if not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
            continue
        cells = line.split("\t")
        if len(cells) != 2:
            raise DataError(f"{path}:{number}: expected 'word<TAB>tag', found {len(cells)} column(s)")
        words.append(cells[0])
        tags.append(cells[1])
    return sentences


def pos_reference(train_file: str | Path, test_file: str | Path) -> dict[str, float]:
    """Accuracy (%) on ``test_file`` of two taggers read off ``train_file``: the majority tag for every word, and each
    word's most frequent training tag (words never seen in training: the majority tag)."""
    from collections import Counter, defaultdict

    train = _conll(Path(train_file))
    test = _conll(Path(test_file))
    overall = Counter(t for _, tags in train for t in tags)
    if not overall or not test:
        raise DataError(f"POS reference: no tagged word in {train_file if not overall else test_file}")
    majority = min(overall, key=lambda t: (-overall[t], t))  # ties: the first tag by name
    per_word: dict[str, Counter] = defaultdict(Counter)
    for words, tags in train:
        for w, t in zip(words, tags):
            per_word[w][t] += 1
    # ties: the tag more frequent overall, then the first by name, so the reference does not depend on file order
    best = {w: min(c, key=lambda t: (-c[t], -overall[t], t)) for w, c in per_word.items()}
    gold = [(w, t) for words, tags in test for w, t in zip(words, tags)]
    return {"majority_tag": 100 * sum(t == majority for _, t in gold) / len(gold),
            "most_frequent_tag_per_word": 100 * sum(best.get(w, majority) == t for w, t in gold) / len(gold)}
