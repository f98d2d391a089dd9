"""Fake-English (K et al., ICLR 2020): English with every character moved into a disjoint Unicode block.

The reference code (ZihanWangKi/mbert-study) shifts each character's code point by a constant so the
two "languages" share no character, hence no word piece; only the special tokens are common. Here the
domain is every non-space character from U+0021 to U+04AD (ASCII, Latin-1, Latin Extended, IPA,
Greek, Cyrillic: all of English fortunes) and the image is the Yi Syllables block U+A000..U+A48C —
letters (category Lo) that no corpus language uses, that BERT's normaliser keeps (not control, not
CJK, no case) and that Unicode never decomposes. Whitespace stays whitespace, so words stay words.

English punctuation is split off words by BERT's pre-tokeniser; its images are letters, so
:data:`FAKE_PUNCTUATION` lists them for the joint tokeniser to split off the same way
(``vocab.py``): a Fake-English sentence is cut into exactly the images of its English pieces.
"""

from __future__ import annotations

import re
import unicodedata

FIRST = 0x21  # first character moved ('!')
TARGET = 0xA000  # Yi Syllable IT
SIZE = 0xA48C - 0xA000 + 1  # 1,165 Yi syllables: the domain is U+0021..U+04AD
LAST = FIRST + SIZE - 1


class FakeEnglishError(ValueError):
    """A character outside the map's domain (e.g. a Chinese character in "English")."""


def _is_bert_punctuation(char: str) -> bool:
    """BERT's rule (transformers' _is_punctuation): ASCII symbols and every Unicode P* category."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def fake_char(char: str) -> str:
    """The Fake-English twin of one character (whitespace maps to itself)."""
    if char.isspace():
        return char
    cp = ord(char)
    if not FIRST <= cp <= LAST:
        raise FakeEnglishError(f"character {char!r} (U+{cp:04X}) is outside the Fake-English domain U+{FIRST:04X}..U+{LAST:04X}")
    return chr(TARGET + cp - FIRST)


def real_char(char: str) -> str:
    """Inverse of :func:`fake_char`."""
    if char.isspace():
        return char
    cp = ord(char)
    if not TARGET <= cp < TARGET + SIZE:
        raise FakeEnglishError(f"character {char!r} (U+{cp:04X}) is not Fake-English (U+{TARGET:04X}..U+{TARGET + SIZE - 1:04X})")
    return chr(FIRST + cp - TARGET)


def to_fake(text: str) -> str:
    """Fake-English of ``text``: same length, same whitespace, every other character moved."""
    return "".join(fake_char(c) for c in text)


def from_fake(text: str) -> str:
    return "".join(real_char(c) for c in text)


def in_domain(text: str) -> bool:
    """True when every non-space character of ``text`` can be moved."""
    return all(c.isspace() or FIRST <= ord(c) <= LAST for c in text)


FAKE_PUNCTUATION = "".join(fake_char(chr(cp)) for cp in range(FIRST, LAST + 1) if _is_bert_punctuation(chr(cp)))
# The pattern the joint tokeniser isolates, as BERT isolates the originals.
FAKE_PUNCTUATION_PATTERN = "[" + re.escape(FAKE_PUNCTUATION) + "]"
