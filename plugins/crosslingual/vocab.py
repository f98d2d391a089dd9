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


def build_wordpiece(files: list[Path], vocab_size: int, min_frequency: int = 2, limit_alphabet: int | None = None):
    """A trained ``tokenizers.Tokenizer`` (BERT pipeline, WordPiece) over the lines of ``files``.

    ``limit_alphabet`` keeps only that many of the most frequent characters (the rest become ``[UNK]``): Chinese
    alone has ~5,000 distinct characters, more than a CPU-sized vocabulary can hold next to the word pieces.
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
    alphabet = {} if limit_alphabet is None else {"limit_alphabet": limit_alphabet}
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
                                        continuing_subword_prefix="##", **alphabet)
    tokenizer.train([str(f) for f in files], trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


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
