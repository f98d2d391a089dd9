"""Readers accept well-formed text data and reject malformed files naming the file and line or JSON path."""

from __future__ import annotations

import json

import pytest

from ssl_universal.errors import DataError
from ssl_universal.plugins import load_plugins

load_plugins()
from ssl_universal_plugins.text.readers import (  # noqa: E402  (after load_plugins)
    read_conll,
    read_lines,
    read_squad,
    read_table,
)


def squad(context: str, answers: list[dict], question: str = "what?") -> dict:
    return {
        "data": [
            {
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [{"id": "q1", "question": question, "answers": answers}],
                    }
                ]
            }
        ]
    }


# -- TSV / CSV ------------------------------------------------------------------------------------
def test_table_with_header_reads_named_columns(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("label\ttext\npos\tgood film\n\nneg\tbad film\n")
    rows = read_table(path, "text", "label")
    assert [(r["text"], r["label"], r["line"]) for r in rows] == [
        ("good film", "pos", 2),
        ("bad film", "neg", 4),
    ]


def test_table_without_header_uses_indices_and_pairs(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('a cat,"a dog, barking",entail\nx,y,contradict\n')
    rows = read_table(path, "0", "2", text_pair_column="1")
    assert rows[0] == {
        "text": "a cat",
        "text_pair": "a dog, barking",
        "label": "entail",
        "line": 1,
    }
    assert len(rows) == 2


def test_table_wrong_column_count_names_file_and_line(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("text\tlabel\nfine\tpos\nbroken\tneg\textra\n")
    with pytest.raises(
        DataError, match=r"train\.tsv, line 3: expected 2 columns.*found 3"
    ):
        read_table(path, "text", "label")


def test_table_missing_named_column(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("sentence\tlabel\nfine\tpos\n")
    with pytest.raises(DataError, match="no column named 'text'"):
        read_table(path, "text", "label", header="yes")


def test_table_empty_label_names_file_and_line(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("text\tlabel\ngood film\tpos\nbad film\t\n")
    with pytest.raises(DataError, match=r"train\.tsv, line 3: empty label \(column 'label'\)"):
        read_table(path, "text", "label")


def test_table_header_behind_a_byte_order_mark_is_found(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_bytes("\ufefftext\tlabel\ngood film\tpos\n".encode())
    assert [(r["text"], r["label"]) for r in read_table(path, "text", "label")] == [("good film", "pos")]


@pytest.mark.parametrize("name, write", [
    ("train.tsv", lambda p: p.write_bytes("text\tlabel\ngood\tpos\n".encode("utf-16"))),
    ("train.json", lambda p: p.write_bytes(json.dumps(squad("abc", [{"text": "a", "answer_start": 0}])).encode("utf-16-le"))),
    ("train.conll", lambda p: p.write_bytes("EU NNP B-ORG\n".encode("utf-16-be"))),
    ("train.txt", lambda p: p.write_bytes("one line\n".encode("utf-32"))),
])
def test_utf16_and_utf32_files_name_file_and_encoding(tmp_path, name, write):
    path = tmp_path / name
    write(path)
    reader = {".tsv": lambda p: read_table(p, "text", "label"), ".json": read_squad, ".conll": read_conll,
              ".txt": read_lines}[path.suffix]
    with pytest.raises(DataError, match=rf"{name}: expected UTF-8 text; found UTF-(16|32)(LE|BE)"):
        reader(path)


# -- SQuAD ----------------------------------------------------------------------------------------
def test_squad_reads_answers(tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(
        json.dumps(
            squad(
                "The cat sat.",
                [
                    {"text": "cat", "answer_start": 4},
                    {"text": "The cat", "answer_start": 0},
                ],
            )
        )
    )
    (example,) = read_squad(path)
    assert example.answers == [("cat", 4), ("The cat", 0)]
    assert example.context == "The cat sat."


def test_squad_answer_not_in_context_names_json_path(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(
        json.dumps(squad("The cat sat.", [{"text": "dog", "answer_start": 4}]))
    )
    with pytest.raises(
        DataError,
        match=r"train\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\]\.answers\[0\]: answer not in context",
    ):
        read_squad(path)


def test_squad_bad_answers_skip_drops_the_question(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(
        json.dumps(squad("The cat sat.", [{"text": "dog", "answer_start": 4}]))
    )
    assert read_squad(path, bad_answers="skip") == []


@pytest.mark.parametrize("answer, problem", [
    ({"text": "sat.", "answer_start": -4}, r"answer_start=-4 is negative"),  # context[-4:] == "sat." would match
    ({"text": "sat.", "answer_start": 10}, r"answer 'sat\.' at answer_start=10 runs past the end of the context \(12 characters\)"),
    ({"text": "", "answer_start": 0}, r"empty answer text ''"),
    ({"text": "  ", "answer_start": 3}, r"empty answer text '  '"),
])
def test_squad_untrainable_answer_names_json_path(tmp_path, answer, problem):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(squad("The cat sat.", [{"text": "cat", "answer_start": 4}, answer])))
    with pytest.raises(DataError, match=r"train\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\]\.answers\[1\]: " + problem):
        read_squad(path)


def test_squad_skip_counts_and_reports_the_dropped_answers(tmp_path, caplog):
    path = tmp_path / "train.json"
    document = squad("The cat sat.", [{"text": "cat", "answer_start": 4}, {"text": "sat.", "answer_start": -4}])
    document["data"][0]["paragraphs"][0]["qas"].append(
        {"id": "q2", "question": "who?", "answers": [{"text": "", "answer_start": 0}]}
    )
    path.write_text(json.dumps(document))
    skipped: list[str] = []
    with caplog.at_level("WARNING"):
        (example,) = read_squad(path, bad_answers="skip", skipped=skipped)
    assert example.qid == "q1" and example.answers == [("cat", 4)]
    assert len(skipped) == 2 and "answers[1]: answer_start=-4 is negative" in skipped[0]
    assert "qas[1].answers[0]: empty answer text" in skipped[1]
    assert "skipped 2 bad answer(s) and 1 question(s) left without one" in caplog.text and str(path) in caplog.text


@pytest.mark.parametrize(
    "document, where",
    [
        ({"data": {"paragraphs": []}}, r"data should be a list"),
        (
            {"data": [{"paragraphs": [{"context": 3, "qas": []}]}]},
            r"data\[0\]\.paragraphs\[0\]\.context should be a string",
        ),
        (
            {"data": [{"paragraphs": [{"context": "x", "qas": [{"question": "q"}]}]}]},
            r"data\[0\]\.paragraphs\[0\]\.qas\[0\]\.answers should be a list",
        ),
        (
            squad("abc", [{"text": "a", "answer_start": "0"}]),
            r"qas\[0\]\.answers\[0\]\.answer_start should be an integer",
        ),
        (squad("abc", []), r"qas\[0\]\.answers is empty"),
    ],
)
def test_squad_bad_shape_names_json_path(tmp_path, document, where):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(DataError, match=where):
        read_squad(path)


def test_squad_invalid_json_names_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"data": [\n  {"paragraphs": ]\n}')
    with pytest.raises(DataError, match=r"bad\.json, line 2: not valid JSON"):
        read_squad(path)


# -- CoNLL ----------------------------------------------------------------------------------------
def test_conll_sentences_skip_docstart(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text(
        "-DOCSTART- -X- O O\n\nEU NNP B-ORG\nrejects VBZ O\n\nPeter NNP B-PER\n"
    )
    sentences = read_conll(path)
    assert [s["tokens"] for s in sentences] == [["EU", "rejects"], ["Peter"]]
    assert [s["tags"] for s in sentences] == [["B-ORG", "O"], ["B-PER"]]
    assert read_conll(path, tag_column=1)[0]["tags"] == ["NNP", "VBZ"]


def test_conll_wrong_column_count_names_file_and_line(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text("EU NNP B-ORG\nrejects O\n")
    with pytest.raises(
        DataError, match=r"train\.conll, line 2: expected 3 columns.*found 2"
    ):
        read_conll(path)


def test_lines_reject_non_utf8(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(b"fine\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"train\.txt, line 2: not UTF-8"):
        read_lines(path)
