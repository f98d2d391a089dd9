"""Text data files read as UTF-8: a byte-order mark is stripped, any other encoding is a DataError naming it.

Every reader of text data (tables, FASTA, JSON, CoNLL, manifests, label files) reads through
:func:`read_text`, so a UTF-16 export or a Latin-1 file fails before training with the file, the
encoding found and how to convert it, instead of a bare ``UnicodeDecodeError`` or a header
cell that silently starts with an invisible ``\\ufeff``.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import DataError

# Longest marks first: the UTF-32LE mark begins with the UTF-16LE one.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "UTF-32BE"),
    (codecs.BOM_UTF16_LE, "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "UTF-16BE"),
)
_SNIFF_BYTES = 4096  # how much of the start is examined for NUL bytes


def _nul_pattern(head: bytes) -> str | None:
    """The UTF-16/32 byte order that NUL bytes in ``head`` suggest (ASCII text in a wide encoding), else None."""
    usable = len(head) - len(head) % 4
    if usable < 4:
        return None
    share = [head[r:usable:4].count(0) / (usable // 4) for r in range(4)]  # NUL share at each position mod 4
    if min(share[1:]) > 0.9 and share[0] < 0.5:
        return "UTF-32LE"
    if min(share[:3]) > 0.9 and share[3] < 0.5:
        return "UTF-32BE"
    if min(share[1], share[3]) > 0.5 and max(share[0], share[2]) < 0.2:
        return "UTF-16LE"
    if min(share[0], share[2]) > 0.5 and max(share[1], share[3]) < 0.2:
        return "UTF-16BE"
    return None


def other_encoding(data: bytes) -> str | None:
    """How ``data`` is not plain UTF-8 when its first bytes show it (a UTF-16/32 mark or NUL bytes), else None."""
    for mark, name in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return f"{name} (it starts with the {name[:6]} byte-order mark)"
    head = data[:_SNIFF_BYTES]
    if b"\x00" not in head:
        return None
    guess = _nul_pattern(head)
    if guess:
        return f"{guess} without a byte-order mark (NUL bytes between the characters)"
    return f"binary data (a NUL byte at offset {head.index(0)})"


def _line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def decode(data: bytes, where: str | Path) -> str:
    """``data`` as UTF-8 text without a leading byte-order mark; any other encoding is a DataError at ``where``."""
    found = other_encoding(data)
    if found and found.startswith("binary"):
        raise DataError(f"{where}: expected UTF-8 text; found {found}. Is this the right file?")
    if found:
        raise DataError(
            f"{where}: expected UTF-8 text; found {found}. Convert it, e.g. "
            f"`iconv -f {found.split()[0]} -t UTF-8 FILE > FILE.utf8`, or save it as UTF-8 "
            "from the editor or spreadsheet that wrote it"
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _line_and_column(data, error.start)
        raise DataError(
            f"{where}, line {line}: not UTF-8 (byte 0x{data[error.start]:02X} at column {column}: {error.reason}); "
            "the file is probably in an 8-bit encoding such as Latin-1 or Windows-1252. Convert it, e.g. "
            "`iconv -f WINDOWS-1252 -t UTF-8 FILE > FILE.utf8`"
        ) from None


def read_text(path: str | Path) -> str:
    """The text of ``path`` decoded as UTF-8 (a byte-order mark stripped); other encodings raise :class:`DataError`.

    Line numbers in the errors count from 1; a missing file raises the usual ``OSError`` (callers name what it is).
    """
    path = Path(path)
    return decode(path.read_bytes(), path)
