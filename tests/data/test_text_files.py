"""Text data files: UTF-8 read with a byte-order mark stripped; UTF-16/32, Latin-1 and binary files named as such."""

from __future__ import annotations

import pytest

from ssl_universal.data.text_files import read_text
from ssl_universal.errors import DataError

TABLE = "sequence\tlabel\nACGT\tEI\n"


def test_utf8_is_read_and_a_byte_order_mark_is_stripped(tmp_path):
    plain, marked = tmp_path / "plain.tsv", tmp_path / "marked.tsv"
    plain.write_text(TABLE + "café\tN\n", encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + TABLE.encode())
    assert read_text(plain) == TABLE + "café\tN\n"
    assert read_text(marked) == TABLE  # no invisible \ufeff before "sequence"


@pytest.mark.parametrize("codec, found", [
    ("utf-16", "UTF-16LE (it starts with the UTF-16 byte-order mark)"),  # what Excel's "Unicode text" writes
    ("utf-16-le", "UTF-16LE without a byte-order mark"),
    ("utf-16-be", "UTF-16BE without a byte-order mark"),
    ("utf-32", "UTF-32LE (it starts with the UTF-32 byte-order mark)"),
    ("utf-32-be", "UTF-32BE without a byte-order mark"),
])
def test_wide_encodings_are_named_with_the_file_and_a_fix(tmp_path, codec, found):
    path = tmp_path / "train.tsv"
    path.write_bytes(TABLE.encode(codec))
    with pytest.raises(DataError) as error:
        read_text(path)
    message = str(error.value)
    assert message.startswith(f"{path}: expected UTF-8 text; found {found}")
    assert f"iconv -f {found.split()[0]} -t UTF-8" in message
    assert not isinstance(error.value, UnicodeDecodeError)


def test_latin1_names_the_line_the_byte_and_a_conversion(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_bytes("text\tlabel\nfine\tpos\nna\u00efve caf\u00e9\tneg\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"train\.tsv, line 3: not UTF-8 \(byte 0xEF at column 3") as error:
        read_text(path)
    assert "Latin-1 or Windows-1252" in str(error.value) and "iconv -f WINDOWS-1252" in str(error.value)


def test_binary_file_is_not_taken_for_text(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    with pytest.raises(DataError, match=r"train\.tsv: expected UTF-8 text; found binary data \(a NUL byte at offset 8\)"):
        read_text(path)
