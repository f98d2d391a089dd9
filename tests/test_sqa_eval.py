"""The spoken-QA evaluation script on tiny JSON files: text answers, time spans, unit spans, bad ids."""

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from ssl_universal.sqa_eval import main

REPO = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "ssl_universal.cli", "eval-sqa"]  # what `ssl-universal eval-sqa` runs


def write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def squad(*paragraphs) -> dict:
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": list(paragraphs)}]}


def qa(qid, question, *answers, **extra) -> dict:
    return {"id": qid, "question": question, "answers": list(answers), **extra}


@pytest.fixture
def text_gold(tmp_path):
    return write(
        tmp_path / "gold.json",
        squad(
            {
                "context": "...",
                "qas": [
                    qa("q1", "Who won?", {"text": "Denver Broncos"}, {"text": "The Broncos"}),
                    qa("q2", "Where was it?", {"text": "Santa Clara, California"}),
                ],
            },
            {"context": "...", "qas": [qa("q3", "Who sang?", {"text": "Beyoncé"})]},
        ),
    )


def run_script(*args, cwd=REPO):
    return subprocess.run(
        [*COMMAND, *map(str, args)], check=False, capture_output=True, text=True, cwd=cwd
    )


def test_script_prints_the_official_squad_object(tmp_path, text_gold):
    predictions = write(tmp_path / "pred.json", {"q1": "the Broncos!", "q2": "Santa Clara", "q3": "Beyonce"})
    result = run_script(text_gold, predictions)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no CJK hint, no missing or unknown ids
    scores = json.loads(result.stdout)
    assert list(scores) == ["exact_match", "f1"]
    # q1 EM 1; q2 F1: p 1, r 2/3 → 0.8; q3 "beyonce" ≠ "beyoncé" → 0
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * 1.8 / 3)


def test_command_runs_from_another_directory_without_loading_torch(tmp_path, text_gold):
    predictions = write(tmp_path / "pred.json", {"q1": "Broncos", "q2": "x", "q3": "Beyoncé"})
    # Run the command in a fresh interpreter, then check which modules it loaded.
    probe = (
        "import sys\n"
        "from ssl_universal.cli import main\n"
        "main(['eval-sqa', *sys.argv[1:]])\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(text_gold), str(predictions)],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    lines = result.stdout.splitlines()
    assert json.loads(lines[0])["exact_match"] == pytest.approx(200 / 3)
    assert lines[1] == "False"


def test_missing_and_unknown_ids_are_reported(tmp_path, text_gold):
    predictions = write(tmp_path / "pred.json", {"q1": "Denver Broncos", "zz": "?"})
    report = tmp_path / "out" / "report.json"
    result = run_script(text_gold, predictions, "--output", report)
    assert result.returncode == 0
    assert "2 question(s) without a prediction, scored 0: q2 q3" in result.stderr
    assert "1 prediction(s) for ids not in the gold file, ignored: zz" in result.stderr
    assert json.loads(result.stdout)["exact_match"] == pytest.approx(100 / 3)
    full = json.loads(report.read_text())
    assert (full["missing"], full["missing_ids"], full["extra"], full["extra_ids"]) == (2, ["q2", "q3"], 1, ["zz"])
    assert full["total"] == 3 and full["answered"] == 1


def test_malformed_gold_names_the_file_and_the_path(tmp_path, capsys):
    gold = squad({"qas": [qa("a", "?", {"text": "x"})]}, {"qas": [qa("b", "?", {"text": 5})]})
    path = write(tmp_path / "gold.json", gold)
    predictions = write(tmp_path / "pred.json", {})
    assert main([str(path), str(predictions)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "data[0].paragraphs[1].qas[0].answers[0].text should be a string" in err
    write(path, {"data": [{"paragraphs": [{"qas": "oops"}]}]})
    assert main([str(path), str(predictions)]) == 2
    assert "data[0].paragraphs[0].qas should be a list" in capsys.readouterr().err
    write(path, "{not json")
    assert main([str(path), str(predictions)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


def test_time_spans_give_ff1_and_aos(tmp_path, capsys):
    gold = write(
        tmp_path / "gold.json",
        squad(
            {
                "qas": [
                    qa("a", "What?", {"text": "x", "start_time": 1.0, "end_time": 3.0}),
                    qa("b", "What?", {"start_time": 0.0, "end_time": 1.0}, {"start_time": 2.0, "end_time": 4.0}),
                ]
            }
        ),
    )
    predictions = write(tmp_path / "pred.json", {"a": [2.0, 5.0], "b": [3.0, 5.0]})
    assert main([str(gold), str(predictions)]) == 0
    scores = json.loads(capsys.readouterr().out)
    # a: FF1 0.4, AOS 0.25; b (second gold): FF1 0.5, AOS 1/3
    assert scores == pytest.approx({"ff1": 100 * 0.9 / 2, "aos": 100 * (0.25 + 1 / 3) / 2})


def test_unit_spans_with_counts_tsv_and_json(tmp_path, capsys):
    gold = write(
        tmp_path / "gold.json",
        squad(
            {
                "context_id": "ctx0",
                "qas": [
                    qa("a", "?", {"start_unit": 1, "end_unit": 2}),
                    qa("b", "?", {"start_unit": 0, "end_unit": 0}),
                ],
            }
        ),
    )
    # passage units last 3, 2, 5, 1 frames: gold a = [0.06, 0.20], b = [0, 0.06]
    tsv = write(tmp_path / "counts.tsv", "ctx0\t3 2 5 1\n")
    as_json = write(tmp_path / "counts.json", {"ctx0": [3, 2, 5, 1]})
    predictions = write(tmp_path / "pred.json", {"a": {"start_unit": 2, "end_unit": 3}, "b": [0.0, 0.06]})
    for counts in (tsv, as_json):
        assert main([str(gold), str(predictions), "--counts", str(counts)]) == 0
        scores = json.loads(capsys.readouterr().out)
        # a: pred [0.10, 0.22] vs [0.06, 0.20]: overlap 0.10, p 10/12, r 10/14, union 0.16
        p, r = 10 / 12, 10 / 14
        assert scores["ff1"] == pytest.approx(100 * (2 * p * r / (p + r) + 1) / 2)
        assert scores["aos"] == pytest.approx(100 * (10 / 16 + 1) / 2)
    assert main([str(gold), str(predictions)]) == 2
    assert "pass --counts FILE" in capsys.readouterr().err
    write(tsv, "ctx0 3 2 5 1\n")
    assert main([str(gold), str(predictions), "--counts", str(tsv)]) == 2
    assert "counts.tsv:1: expected 'id<TAB>c1 c2 ...'" in capsys.readouterr().err


def test_reversed_prediction_fails_by_id_unless_scored_zero(tmp_path, capsys):
    gold = write(
        tmp_path / "gold.json",
        squad(
            {
                "qas": [
                    qa("a", "?", {"start_time": 1.0, "end_time": 2.0}),
                    qa("b", "?", {"start_time": 1.0, "end_time": 2.0}),
                ]
            }
        ),
    )
    predictions = write(tmp_path / "pred.json", {"a": [2.0, 1.0], "b": []})
    assert main([str(gold), str(predictions)]) == 2
    assert "prediction for question 'a': end 1.0 is before start 2.0" in capsys.readouterr().err
    report = tmp_path / "r.json"
    assert main([str(gold), str(predictions), "--invalid-as-zero", "--output", str(report)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"ff1": 0.0, "aos": 0.0}
    assert "1 malformed prediction(s), scored 0: a" in captured.err
    assert json.loads(report.read_text())["invalid_ids"] == ["a"]


def test_mixed_prediction_kinds_are_refused(tmp_path, capsys, text_gold):
    predictions = write(tmp_path / "pred.json", {"q1": "Broncos", "q2": [1, 2]})
    assert main([str(text_gold), str(predictions)]) == 2
    assert "mix answer texts" in capsys.readouterr().err


def test_chinese_and_by_type_report(tmp_path, capsys):
    gold = write(
        tmp_path / "gold.json",
        squad(
            {
                "qas": [
                    qa("1", "誰寫的？", {"text": "曹雪芹"}, type="人物"),
                    qa("2", "哪一年？", {"text": "1791年"}, question_type="時間"),
                ]
            }
        ),
    )
    predictions = write(tmp_path / "pred.json", {"1": "曹雪芹。", "2": "1791"})
    assert main([str(gold), str(predictions), "--lang", "zh", "--by-type"]) == 0
    scores = json.loads(capsys.readouterr().out)
    # "1791" vs "1791 年": p 1, r 1/2 → F1 2/3
    assert scores["exact_match"] == pytest.approx(50.0)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert scores["by_type"]["時間"] == pytest.approx({"count": 1, "exact_match": 0.0, "f1": 200 / 3})
    assert main([str(gold), str(predictions), "--lang", "zh", "--by-type", "--text"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["type", "count", "exact_match", "f1"]
    assert "人物" in table and "missing 0  extra 0  invalid 0" in table
    # CJK type names take two columns each, so the count column still lines up
    widths = {
        sum(2 if unicodedata.east_asian_width(ch) == "W" else 1 for ch in line) for line in table.splitlines()[:4]
    }
    assert len(widths) == 1
    assert main([str(gold), str(predictions)]) == 0
    assert "pass --lang zh" in capsys.readouterr().err


def test_question_type_falls_back_to_the_first_word(tmp_path, capsys, text_gold):
    predictions = write(tmp_path / "pred.json", {"q1": "Broncos", "q2": "x", "q3": "Beyoncé"})
    assert main([str(text_gold), str(predictions), "--by-type"]) == 0
    by_type = json.loads(capsys.readouterr().out)["by_type"]
    assert {t: v["count"] for t, v in by_type.items()} == {"who": 2, "where": 1}
    assert by_type["who"]["exact_match"] == 100.0


def test_null_and_other_non_answers_are_malformed_not_silently_zero(tmp_path, capsys, text_gold):
    predictions = write(tmp_path / "pred.json", {"q1": "Denver Broncos", "q2": None, "q3": 7})
    assert main([str(text_gold), str(predictions)]) == 2
    err = capsys.readouterr().err
    assert "2 malformed predictions" in err
    assert f"{predictions}: prediction for question 'q2' is null; expected answer text (\"\" for no answer)" in err
    assert f"{predictions}: prediction for question 'q3' should be answer text" in err
    report = tmp_path / "r.json"
    assert main([str(text_gold), str(predictions), "--invalid-as-zero", "--output", str(report)]) == 0
    captured = capsys.readouterr()
    assert "2 malformed prediction(s), scored 0: q2 q3" in captured.err and "is null" in captured.err
    full = json.loads(report.read_text())
    assert (full["invalid"], full["invalid_ids"], full["missing"]) == (2, ["q2", "q3"], 0)
    assert json.loads(captured.out)["exact_match"] == pytest.approx(100 / 3)


def test_an_empty_string_is_an_answer_and_an_empty_gold_text_an_error(tmp_path, capsys, text_gold):
    predictions = write(tmp_path / "pred.json", {"q1": "", "q2": "", "q3": ""})
    assert main([str(text_gold), str(predictions)]) == 0  # "" says "no answer": scored 0, nothing malformed
    assert json.loads(capsys.readouterr().out) == {"exact_match": 0.0, "f1": 0.0}
    gold = write(tmp_path / "gold.json", squad({"qas": [qa("a", "?", {"text": " "})]}))
    assert main([str(gold), str(predictions)]) == 2
    assert f"{gold}: data[0].paragraphs[0].qas[0].answers[0].text is empty" in capsys.readouterr().err


def test_a_utf16_predictions_file_is_named_with_its_encoding(tmp_path, capsys, text_gold):
    predictions = tmp_path / "pred.json"
    predictions.write_bytes(json.dumps({"q1": "Broncos"}).encode("utf-16"))
    assert main([str(text_gold), str(predictions)]) == 2
    assert f"{predictions}: expected UTF-8 text; found UTF-16LE" in capsys.readouterr().err
    predictions.write_bytes(b"\xef\xbb\xbf" + json.dumps({"q1": "Broncos"}).encode())  # a BOM is fine
    assert main([str(text_gold), str(predictions)]) == 0
