"""Fake-English is a bijection into a block disjoint from English; the joint tokenizer round-trips and keeps them apart."""

from __future__ import annotations

import unicodedata

import pytest

from ssl_universal_plugins.crosslingual.fake import (
    FIRST,
    LAST,
    FakeEnglishError,
    fake_char,
    from_fake,
    real_char,
    to_fake,
)
from ssl_universal_plugins.crosslingual.vocab import SPECIALS, build_wordpiece, save_vocabulary

from .conftest import DE, EN, ZH

DOMAIN = [chr(cp) for cp in range(FIRST, LAST + 1) if not chr(cp).isspace()]  # whitespace maps to itself


def test_the_map_is_a_bijection_disjoint_from_its_domain():
    images = [fake_char(c) for c in DOMAIN]
    assert len(set(images)) == len(DOMAIN)  # injective
    assert all(real_char(f) == c for c, f in zip(DOMAIN, images))  # and inverted
    assert not set(images) & set(DOMAIN)  # disjoint from every character English text may use
    assert all(unicodedata.category(f).startswith("L") for f in images)  # letters: BERT's normaliser keeps them
    text = " ".join(EN)
    assert from_fake(to_fake(text)) == text and len(to_fake(text)) == len(text)
    assert to_fake("a b\tc").count(" ") == 1 and "\t" in to_fake("a b\tc")  # whitespace is kept


def test_characters_outside_the_domain_are_refused():
    with pytest.raises(FakeEnglishError, match="U\\+4E1C"):
        to_fake("东")
    with pytest.raises(FakeEnglishError, match="not Fake-English"):
        from_fake("a")


@pytest.fixture(scope="module")
def vocabulary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocab")
    corpus = folder / "train.txt"
    corpus.write_text("\n".join([*EN, *(to_fake(e) for e in EN), *DE, *ZH] * 3) + "\n", encoding="utf-8")
    tokenizer = build_wordpiece([corpus], vocab_size=400, min_frequency=1)
    save_vocabulary(tokenizer, folder / "hf", max_positions=64)
    return tokenizer, folder / "hf"


def test_tokenizer_round_trips_through_its_saved_folder(vocabulary):
    from transformers import AutoConfig, AutoTokenizer

    tokenizer, folder = vocabulary
    hf = AutoTokenizer.from_pretrained(str(folder))
    assert hf.is_fast and AutoConfig.from_pretrained(str(folder)).vocab_size == len(hf)
    for text in [EN[0], DE[0], ZH[1], to_fake(EN[2])]:
        encoded = hf(text, return_offsets_mapping=True, add_special_tokens=False)
        assert encoded["input_ids"] == tokenizer.encode(text, add_special_tokens=False).ids  # same as in memory
        pieces = hf.convert_ids_to_tokens(encoded["input_ids"])
        assert hf.unk_token_id not in encoded["input_ids"]
        # every piece is the text it covers, and the pieces cover every non-space character in order
        assert all(text[s:e] == p.removeprefix("##") for p, (s, e) in zip(pieces, encoded["offset_mapping"]))
        assert "".join(text[s:e] for s, e in encoded["offset_mapping"]) == "".join(text.split())
    assert hf.decode(hf("the lazy dog")["input_ids"], skip_special_tokens=True) == "the lazy dog"


def test_english_and_fake_english_share_no_token_and_split_alike(vocabulary):
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(vocabulary[1]))
    english = {t for e in EN for t in hf.tokenize(e)}
    fake = {t for e in EN for t in hf.tokenize(to_fake(e))}
    assert english and fake and not english & fake
    assert all(len(hf.tokenize(to_fake(e))) > 0 for e in EN)
    # punctuation is split off in both: "step forward." ends in a piece of its own in each
    assert hf.tokenize(EN[2])[-1] == "." and hf.tokenize(to_fake(EN[2]))[-1] == to_fake(".")
    assert hf.tokenize(ZH[0])[:2] == ["东", "方"]  # one piece per Chinese character


def test_vocabulary_training_is_deterministic_and_learns_the_pieces_wordpiece_learns(tmp_path):
    """The library's trainer breaks ties in hash-map order (huggingface/tokenizers#1794); ours must not. The corpus is
    full of ties: 300 Chinese characters seen once each (the alphabet cut falls inside them) and word pairs of equal
    counts (merge ties)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    rare = "".join(chr(0x4E00 + 7 * i) for i in range(300))
    lines = [*(e for e in EN for _ in range(3)), *DE, "abab cdcd efef ghgh ijij klkl", rare]
    corpus = tmp_path / "train.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    made = [build_wordpiece([corpus], vocab_size=260, min_frequency=1, limit_alphabet=120).to_str() for _ in range(4)]
    assert all(m == made[0] for m in made)
    tokenizer = Tokenizer.from_str(made[0])
    vocab = tokenizer.get_vocab()
    assert len(vocab) == 260
    ranked = sorted(vocab, key=vocab.get)
    assert ranked[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [t for t in ranked[5:] if len(t) == 1]
    assert chars == sorted(chars, key=ord) and ranked[5 : 5 + len(chars)] == chars  # characters next, by code point
    # the alphabet cut: the 300 rare characters tie at count 1, so the lowest code points among them are kept
    kept_rare = [c for c in chars if c in rare]
    assert kept_rare == sorted(kept_rare, key=ord) and kept_rare == list(rare[: len(kept_rare)])
    assert 0 < len(kept_rare) < 300
    # no private-use twin leaks out, and every piece inside a word is marked ##, as WordPiece's
    assert not any(ord(c) >= 0xF0000 for t in vocab for c in t)
    assert "##e" in vocab and tokenizer.encode("the lazy").tokens[1:-1] == ["the", "la", "##z", "##y"]
    # the same merges as the library's WordPiece trainer where no tie decides (its pieces of a corpus without ties)
    library = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    library.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    library.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    plain = tmp_path / "plain.txt"
    plain.write_text("low low low low low lower lower newest newest newest widest widest\n", encoding="utf-8")
    library.train([str(plain)], trainers.WordPieceTrainer(vocab_size=40, min_frequency=1, special_tokens=SPECIALS))
    ours = build_wordpiece([plain], vocab_size=40, min_frequency=1).get_vocab()
    assert set(ours) == set(library.get_vocab())

