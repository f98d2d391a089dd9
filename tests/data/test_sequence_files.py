"""Sequence tables, FASTA and labels files: a fixed column count, no empty labels, UTF-8 only, errors at file and line."""

from __future__ import annotations

import pytest

from ssl_universal.data.sequence_files import read_fasta, read_labels_file, read_table
from ssl_universal.errors import DataError


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_table_reads_named_columns_in_any_order(tmp_path):
    path = write(tmp_path / "train.tsv", "id\tlabel\tsequence\nr1\tEI\tACGT\n\nr2\tN\tGG TT\n")
    records = read_table(path)
    assert [(r.sequence, r.label, r.where) for r in records] == [
        ("ACGT", "EI", f"{path}, line 2"),
        ("GGTT", "N", f"{path}, line 4"),
    ]


@pytest.mark.parametrize("row, found", [
    ("r7\tACGT\tEI", 3),  # an extra leading column: the sequence would have become the label
    ("ACGT\tEI\tchr1", 3),  # an extra trailing column: it would have been dropped
    ("ACGT", 1),
])
def test_a_row_with_another_column_count_names_file_and_line(tmp_path, row, found):
    path = write(tmp_path / "train.tsv", f"sequence\tlabel\nGGCC\tN\n{row}\n")
    with pytest.raises(DataError) as error:
        read_table(path)
    message = str(error.value)
    assert message.startswith(f"{path}, line 3: {found} tab-separated field(s), expected 2 as in the header line: sequence, label")


def test_headerless_rows_all_have_the_first_rows_width(tmp_path):
    path = write(tmp_path / "train.csv", "ACGT,EI\nGGCC,N,extra\n")
    with pytest.raises(DataError, match=r"train\.csv, line 2: 3 comma-separated field\(s\), expected 2 as in the first row"):
        read_table(path, "0", "1")
    assert [r.label for r in read_table(write(path, "ACGT,EI\nGGCC,N\n"), "0", "1")] == ["EI", "N"]


def test_empty_label_names_file_and_line(tmp_path):
    path = write(tmp_path / "train.tsv", "sequence\tlabel\nACGT\tEI\nGGCC\t \n")
    with pytest.raises(DataError, match=r"train\.tsv, line 3: empty label"):
        read_table(path)


def test_a_byte_order_mark_does_not_hide_the_sequence_column(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_bytes(b"\xef\xbb\xbfsequence\tlabel\nACGT\tEI\n")
    assert [(r.sequence, r.label) for r in read_table(path)] == [("ACGT", "EI")]


@pytest.mark.parametrize("reader, name", [
    (read_table, "train.tsv"),
    (read_fasta, "train.fasta"),
    (read_labels_file, "labels.tsv"),
])
def test_utf16_files_name_the_file_and_the_encoding(tmp_path, reader, name):
    path = tmp_path / name
    path.write_bytes("sequence\tlabel\nACGT\tEI\n".encode("utf-16"))
    with pytest.raises(DataError, match=rf"{name}: expected UTF-8 text; found UTF-16LE"):
        reader(path)


def test_fasta_reads_utf8_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "train.fasta"
    path.write_bytes(b"\xef\xbb\xbf>r1 label=EI\nAC\nGT\n")
    (record,) = read_fasta(path)
    assert (record.ident, record.sequence, record.label) == ("r1", "ACGT", "EI")


@pytest.mark.parametrize("line, problem", [
    ("p2\tno\textra", "expected 2 tab-separated fields 'id<TAB>label', found 3"),
    ("p2", "expected 2 tab-separated fields 'id<TAB>label', found 1"),
    ("p2\t", "empty label"),
])
def test_labels_file_has_exactly_an_id_and_a_label(tmp_path, line, problem):
    path = write(tmp_path / "labels.tsv", f"id\tlabel\np1\tyes\n{line}\n")
    with pytest.raises(DataError) as error:
        read_labels_file(path)
    assert str(error.value).startswith(f"{path}, line 3: {problem}")
    assert read_labels_file(write(path, "id\tlabel\np1\tyes\np2\tno\n")) == {"p1": "yes", "p2": "no"}
