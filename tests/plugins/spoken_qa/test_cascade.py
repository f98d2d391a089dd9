"""The cascade's text side: transcripts as SQuAD with placeholder answers, WER, and EM/F1 through sqa_eval."""

from __future__ import annotations

import json

import pytest

from ssl_universal_plugins.spoken_qa import cascade


def test_transcripts_become_squad_and_are_scored_against_the_real_gold(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    gold = {"data": [{"title": "t", "paragraphs": [
        {"context": "The Cat sat on the mat.", "context_id": "c0", "qas": [
            {"id": "q0", "question": "The what sat on the mat?", "answers": [{"text": "Cat", "answer_start": 4}]}]},
        {"context": "Dogs bark loudly.", "context_id": "c1", "qas": [
            {"id": "q1", "question": "Dogs what loudly?", "answers": [{"text": "bark", "answer_start": 5}]}]}]}]}
    (data / "test.json").write_text(json.dumps(gold))
    transcripts = {"contexts": {"c0": {"gold": "The Cat sat on the mat.", "asr": "the cat sat on a mat"},
                                "c1": {"gold": "Dogs bark loudly.", "asr": "dog spark loudly"}},
                   "questions": {"q0": {"gold": "The what sat on the mat?", "asr": "the what sat on the mat"},
                                 "q1": {"gold": "Dogs what loudly?", "asr": ""}}}
    path, found = cascade.asr_squad(data, "test", transcripts, tmp_path / "asr")
    assert found == 1
    written = json.loads(path.read_text())["data"][0]["paragraphs"]
    assert written[0]["qas"][0]["answers"][0] == {"text": "cat", "answer_start": 4}
    assert written[1]["qas"][0]["answers"][0] == {"text": "dog", "answer_start": 0}  # placeholder
    assert written[1]["qas"][0]["question"] == "what"
    scores = cascade.score_texts(data / "test.json", {"q0": "cat", "q1": "dog"})  # the placeholder earns nothing
    assert scores["exact_match"] == pytest.approx(50.0)
    errors = cascade.asr_wer(transcripts)
    assert errors["passages"] == pytest.approx(100 * 3 / 9)  # "a" for "the"; "dog spark" for "dogs bark"
    assert cascade.normalise("It's 9 o'clock, Mr. X!") == "it's 9 o'clock mr x"
