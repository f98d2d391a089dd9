"""The joint WordPiece vocabulary of a multilingual corpus (Hugging Face ``tokenizers``), saved as a BERT tokenizer.

One vocabulary for every language, as mBERT's: BERT's normaliser (cased, accents kept, each CJK character its own
word), BERT's pre-tokeniser plus one rule that isolates the Fake-English images of punctuation (:mod:`.fake`), and a
WordPiece model trained on the corpus' training split. The folder it writes is a Hugging Face tokenizer
(``BertTokenizerFast.from_pretrained`` / ``AutoTokenizer`` load it) with a ``config.json`` of a BERT of that
vocabulary, so it is also the ``model.backbone`` a pre-training run starts from (with ``model.assignment=scratch``
only the architecture is read).
"""

from __future__ import annotations

import json
from pathlib import Path

from ssl_universal.errors import DataError

from .fake import FAKE_PUNCTUATION_PATTERN

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# Word-internal characters stand in for their "##" pieces during training as private-use twins (U+F0000 + rank).
_TWIN_BASE = 0xF0000


def build_wordpiece(files: list[Path], vocab_size: int, min_frequency: int = 2, limit_alphabet: int | None = None):
    """A trained ``tokenizers.Tokenizer`` (BERT pipeline, WordPiece) over the lines of ``files``; the same files give
    the same tokenizer, to the byte.

    ``limit_alphabet`` keeps only that many of the most frequent characters (the rest become ``[UNK]``): Chinese
    alone has ~5,000 distinct characters, more than a CPU-sized vocabulary can hold next to the word pieces.

    The pieces are learned as ``tokenizers``' WordPiece trainer learns them (BPE merges of the most frequent pair,
    ``##`` marking a piece inside a word), but not by that trainer: it is not deterministic
    (huggingface/tokenizers#1794). It cuts the alphabet at ``limit_alphabet`` with ties in hash-map order and
    numbers the ``##`` characters in hash-map order, and merge ties follow those numbers, so two trainings on the same
    file differed in ~60 of 5,000 pieces and in half of the ids. Here the alphabet is chosen beforehand (most frequent
    first, ties by code point), each character inside a word is written as a private-use twin that stands for its
    ``##`` piece, and the library's BPE trainer (whose ids then all follow code points and merge order) learns the
    merges; the twins are turned back into ``##`` pieces of a WordPiece model. Ids: the specials, the characters, the
    ``##`` characters (each in code-point order), then the pieces in the order they were merged.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise DataError(f"tokenizer training files not found: {', '.join(missing)}")
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False,
                                                      lowercase=False)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.BertPreTokenizer(),
        pre_tokenizers.Split(Regex(FAKE_PUNCTUATION_PATTERN), behavior="isolated"),
    ])
    words = _word_counts(tokenizer, files)
    chars: dict[str, int] = {}
    for word, count in words.items():
        for c in word:
            chars[c] = chars.get(c, 0) + count
    clash = sorted(c for c in chars if ord(c) >= _TWIN_BASE)
    if clash:
        raise DataError(f"{', '.join(map(str, files))}: characters in the private-use planes ({clash[:5]}), which "
                        "the vocabulary training uses for itself")
    alphabet = sorted(chars, key=lambda c: (-chars[c], ord(c)))[:limit_alphabet]
    if len(alphabet) >= 0x10000 - 2:
        raise DataError(f"{len(alphabet)} distinct characters: more than the {0x10000 - 2} private-use twins; "
                        "set limit_alphabet")
    twin = {c: chr(_TWIN_BASE + i) for i, c in enumerate(sorted(alphabet, key=ord))}
    inner = {twin[c] for word in words for c in word[1:] if c in twin}
    learner = Tokenizer(models.BPE(unk_token="[UNK]"))
    learner.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
                                  initial_alphabet=[*alphabet, *sorted(inner)], limit_alphabet=len(alphabet) + len(inner),
                                  show_progress=False)
    lines = (" ".join(word[0] + "".join(twin.get(c, c) for c in word[1:]) for _ in range(count))
             for word, count in words.items())
    learner.train_from_iterator(lines, trainer)
    back = {t: c for c, t in twin.items()}
    vocab = {}
    for piece, i in learner.get_vocab().items():
        if piece in SPECIALS:
            vocab[piece] = i
        elif piece[0] in back:  # a piece inside a word
            vocab["##" + "".join(back[c] for c in piece)] = i
        else:
            vocab[piece[0] + "".join(back.get(c, c) for c in piece[1:])] = i
    tokenizer.model = models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100, continuing_subword_prefix="##")
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


def _word_counts(tokenizer, files: list[Path]) -> dict[str, int]:
    """Pre-token → count over the lines of ``files``, as ``tokenizer``'s normaliser and pre-tokeniser cut them (what
    the library's trainer counts), in order of first appearance."""
    counts: dict[str, int] = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(tokenizer.normalizer.normalize_str(line)):
                    counts[word] = counts.get(word, 0) + 1
    return counts


def save_vocabulary(tokenizer, out_dir: str | Path, *, max_positions: int = 512, corpus: dict | None = None) -> Path:
    """The Hugging Face folder: tokenizer files + ``config.json`` (a BERT-base-shaped config of this vocabulary)."""
    from transformers import BertConfig, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=max_positions)
    fast.save_pretrained(str(out_dir))
    # The architecture a scratch pre-training draws (its size keys are overridden by the recipe's model section).
    BertConfig(vocab_size=len(fast), max_position_embeddings=max_positions, pad_token_id=fast.pad_token_id).save_pretrained(str(out_dir))
    (out_dir / "vocabulary.json").write_text(json.dumps({"vocab_size": len(fast), "corpus": corpus or {}}, indent=1))
    return out_dir


def train_vocabulary(corpus_dir: str | Path, out_dir: str | Path, vocab_size: int, *, max_positions: int = 512,
                     limit_alphabet: int | None = None) -> Path:
    """Train on ``corpus_dir/train.txt`` (made by :func:`.corpus.write_corpus`) and save to ``out_dir``."""
    corpus_dir = Path(corpus_dir)
    stats_file = corpus_dir / "stats.json"
    corpus = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
    tokenizer = build_wordpiece([corpus_dir / "train.txt"], vocab_size, limit_alphabet=limit_alphabet)
    return save_vocabulary(tokenizer, out_dir, max_positions=max_positions, corpus=corpus.get("config", {}))


def language_shares(hf_tokenizer, languages: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Per language: word pieces per character and the share of [UNK] pieces (how well the vocabulary covers it)."""
    out = {}
    for language, lines in languages.items():
        ids = [i for row in hf_tokenizer(lines, add_special_tokens=False)["input_ids"] for i in row]
        chars = sum(len(line) for line in lines)
        out[language] = {"pieces_per_char": len(ids) / max(chars, 1),
                         "unk_share": sum(i == hf_tokenizer.unk_token_id for i in ids) / max(len(ids), 1)}
    return out
