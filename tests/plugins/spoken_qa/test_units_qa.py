"""The spoken_qa_units task: unit index <-> seconds, passage-only spans, windows, and scores equal to eval-sqa."""

from __future__ import annotations

import io
import json
import random
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import torch

from ssl_universal.errors import DataError
from ssl_universal.metrics import merge_repeated_units, units_to_seconds
from ssl_universal_plugins.spoken_qa.units_qa import (
    SpokenQuestion,
    UnitQAConfig,
    UnitQATask,
    UnitTokenizer,
    UnitTokenizerConfig,
    Utterance,
    alignment_span,
    decode_span,
    passage_retrieval,
    seconds_to_units,
)

K = 12


def test_unit_spans_round_trip_through_merged_runs():
    rng = random.Random(0)
    for frame_seconds in (0.01, 0.02):
        for _ in range(50):
            frames = [rng.randrange(4) for _ in range(rng.randint(5, 80))]
            units, counts = merge_repeated_units(frames)
            assert sum(counts) == len(frames) and all(u != v for u, v in zip(units, units[1:]))
            s = rng.randrange(len(units))
            e = rng.randrange(s, len(units))
            start, end = units_to_seconds(counts, s, e, frame_seconds)
            # the time span covers exactly the frames of those units
            assert round(start / frame_seconds) == sum(counts[:s]) and round(end / frame_seconds) == sum(counts[: e + 1])
            assert seconds_to_units(counts, start, end, frame_seconds) == (s, e)


def test_seconds_inside_units_map_to_the_units_that_hold_them():
    counts = [3, 2, 5]  # units span [0, 0.06) [0.06, 0.10) [0.10, 0.20) s at 20 ms
    assert seconds_to_units(counts, 0.07, 0.075, 0.02) == (1, 1)
    assert seconds_to_units(counts, 0.0, 0.2, 0.02) == (0, 2)
    assert seconds_to_units(counts, 0.05, 0.11, 0.02) == (0, 2)
    assert seconds_to_units(counts, 0.065, 0.099, 0.02) == (1, 1)


def test_decoding_never_leaves_the_allowed_positions():
    torch.manual_seed(0)
    start, end = torch.randn(40), torch.randn(40)
    allowed = torch.zeros(40, dtype=torch.bool)
    allowed[20:30] = True
    start[3], end[5] = 50.0, 50.0  # the best scores sit in the question
    score, s, e = decode_span(start, end, allowed, n_best=3, max_answer=4, end_weight=0.6)
    assert 20 <= s <= e < 30 and e - s + 1 <= 4
    # end before start among the top k: the best start, one unit long
    start, end = torch.full((40,), -9.0), torch.full((40,), -9.0)
    start[28], end[21] = 5.0, 5.0
    assert decode_span(start, end, allowed, n_best=1, max_answer=4, end_weight=0.6)[1:] == (28, 28)
    assert decode_span(start, end, torch.zeros(40, dtype=torch.bool), 3, 4, 0.6) is None


def write_units_dataset(root: Path, n: dict[str, int], seed: int = 0) -> tuple[Path, Path]:
    """A dataset folder and a units folder as the spoken_qa commands write them (no audio needed)."""
    rng = random.Random(seed)
    data, units = root / "data", root / "units"
    data.mkdir(parents=True)
    units.mkdir()
    (units / "units.json").write_text(json.dumps({"label_rate": 50.0}))
    for split, count in n.items():
        ids, kms, cnts, paragraphs = [], [], [], []
        for i in range(count):
            passage = merge_repeated_units([rng.randrange(K) for _ in range(rng.randint(60, 120))])
            question = merge_repeated_units([rng.randrange(K) for _ in range(rng.randint(10, 30))])
            cid, qid = f"{split}-c{i}", f"{split}-{i}"
            for key, (u, c) in ((f"context-{cid}", passage), (qid, question)):
                ids.append(key)
                kms.append(" ".join(map(str, u)))
                cnts.append(" ".join(map(str, c)))
            s = rng.randrange(len(passage[0]) - 5)
            start, end = units_to_seconds(passage[1], s, s + 3, 0.02)
            paragraphs.append({"context": "x", "context_id": cid, "qas": [
                {"id": qid, "question": "what?", "answers": [{"text": "x", "answer_start": 0, "start_time": start, "end_time": end}]}]})
        (data / f"{split}.ids").write_text("".join(f"{x}\n" for x in ids))
        (units / f"{split}.merged.km").write_text("".join(f"{x}\n" for x in kms))
        (units / f"{split}.merged.cnt").write_text("".join(f"{x}\n" for x in cnts))
        (data / f"{split}.json").write_text(json.dumps({"data": [{"title": "t", "paragraphs": paragraphs}]}))
    return data, units


@pytest.fixture
def unit_data(tmp_path):
    return write_units_dataset(tmp_path, {"train": 6, "valid": 3, "test": 3})


def make(data, units, **values):
    values = {"max_length": 64, "doc_stride": 8, "max_query_units": 24, **values}
    cfg = UnitQAConfig(data_dir=str(data), units_dir=str(units), **values)
    return UnitQATask(cfg, UnitTokenizer(UnitTokenizerConfig(num_units=K)))


def test_windows_put_the_answer_on_passage_units_only(unit_data):
    task = make(*unit_data)
    train = task.dataset("train")
    assert train and all(len(f["input_ids"]) <= 64 for f in train)
    long_questions = sum(len(q.question.units) > 24 for q in task.read("train"))
    assert task.data_report["train"] == {"questions": 6, "windows": len(train), "questions_without_window": 0,
                                         "questions_cut": long_questions}
    for feature in train:
        window = task.windows[feature["window_id"]]
        question = task.read("train")[window["question"]]
        s, e = question.span_units
        ids = feature["input_ids"]
        assert ids[feature["start_position"]] == question.passage.units[s] + task.tokenizer.offset
        assert feature["start_position"] - window["offset"] + window["w0"] == s
        assert feature["end_position"] - window["offset"] + window["w0"] == e
    batch = task.collate(train[:4])
    for row, feature in enumerate(train[:4]):
        window = task.windows[feature["window_id"]]
        mask = batch["passage_mask"][row]
        assert mask.sum() == window["length"] and mask[: window["offset"]].sum() == 0  # never CLS or the question
    # evaluation windows cover every passage unit of every question
    task.dataset("test")
    for index, question in enumerate(task.read("test")):
        covered = set()
        for w in task.windows:
            if w["split"] == "test" and w["question"] == index:
                covered |= set(range(w["w0"], w["w0"] + w["length"]))
        assert covered == set(range(len(question.passage.units)))


def test_cut_questions_are_counted_and_keep_their_first_units(unit_data, caplog):
    task = make(*unit_data, max_query_units=4)
    train = task.dataset("train")
    assert task.data_report["train"]["questions_cut"] == 6 and "cut to their first 4 units" in caplog.text
    for feature in train:
        question = task.read("train")[task.windows[feature["window_id"]]["question"]]
        assert feature["input_ids"][1:5] == [u + task.tokenizer.offset for u in question.question.units[:4]]
    whole = make(*unit_data, max_length=128, max_query_units=64)
    whole.dataset("train")
    assert whole.data_report["train"]["questions_cut"] == 0


def test_predicted_spans_stay_in_the_passage(unit_data):
    task = make(*unit_data)
    data = task.dataset("test")
    batch = task.collate(list(data))

    class FavoursTheQuestion(torch.nn.Module):
        def forward(self, input_ids, passage_mask, **_):
            logits = torch.zeros(input_ids.shape)
            logits[:, 1:5] = 100.0  # question positions score highest; the task must not pick them
            return {"start_logits": logits, "end_logits": logits.clone(), "loss": torch.tensor(0.0)}

    step = task.eval_step(FavoursTheQuestion(), batch)
    for split, index, _, s, e in step["candidates"]:
        n = len(task.read(split)[index].passage.units)
        assert 0 <= s <= e < n


def test_bad_units_fail_naming_the_file(unit_data):
    data, units = unit_data
    lines = (units / "train.merged.cnt").read_text().splitlines()
    (units / "train.merged.cnt").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataError, match="train.merged.cnt"):
        make(data, units).dataset("train")
    with pytest.raises(DataError, match="num_units"):
        UnitQATask(UnitQAConfig(data_dir=str(data), units_dir=str(units)), UnitTokenizer(UnitTokenizerConfig(num_units=4))).dataset("valid")


def test_table_scores_equal_eval_sqa_on_the_saved_predictions(unit_data, tmp_path):
    from ssl_universal.config import load_config
    from ssl_universal.run import train
    from ssl_universal.sqa_eval import main as eval_sqa

    data, units = unit_data
    run_dir = tmp_path / "run"
    results = train(load_config([
        "recipe=spoken_qa/dual", "preset=smoke", "row=most_frequent", f"run_dir={run_dir}", f"task.data_dir={data}",
        f"task.units_dir={units}", f"tokenizer.num_units={K}", f"task.predictions_dir={run_dir / 'predictions'}",
        "trainer.threads=1", "task.max_length=64", "task.max_query_units=24"]))
    mapping = json.loads((run_dir / "best" / "hf" / "symbol_mapping.json").read_text())
    assert mapping["assignment"] == "most_frequent" and len(mapping["symbols"]) == K + 5
    folder = run_dir / "predictions"
    out = io.StringIO()
    with redirect_stdout(out):
        code = eval_sqa([str(folder / "test.gold.json"), str(folder / "test.predictions.json"), "--counts",
                         str(folder / "test.counts.tsv"), "--frame-seconds", (folder / "frame_seconds.txt").read_text().strip()])
    assert code == 0
    scored = json.loads(out.getvalue())
    assert scored["ff1"] == pytest.approx(results["test"]["ff1"]) and scored["aos"] == pytest.approx(results["test"]["aos"])
    predictions = json.loads((folder / "test.predictions.json").read_text())
    assert len(predictions) == 3 and all(v["start_unit"] <= v["end_unit"] for v in predictions.values())


def _question(qid: str, context_id: str, question: list[int], passage: list[int]) -> SpokenQuestion:
    return SpokenQuestion(qid, context_id, Utterance(question, [1] * len(question)), Utterance(passage, [1] * len(passage)),
                          (0.0, 0.1), (0, 0))


def test_passage_retrieval_finds_copied_units_and_sits_at_chance_on_unrelated_ones():
    rng = random.Random(0)
    passages = {f"c{i}": [rng.randrange(40) for _ in range(60)] for i in range(20)}
    copied = [_question(f"q{i}", c, p[10:30], p) for i, (c, p) in enumerate(passages.items())]
    found = passage_retrieval(copied, ngram=3)
    assert found["recall_at_1"] == 100.0 and found["mrr"] == 1.0 and found["passages"] == 20
    assert found["chance_recall_at_1"] == 5.0
    unrelated = [_question(f"q{i}", c, [rng.randrange(40) for _ in range(20)], p) for i, (c, p) in enumerate(passages.items())]
    assert passage_retrieval(unrelated, ngram=3)["recall_at_1"] < 30.0


def test_passage_retrieval_counts_ties_against_the_gold_passage():
    same = [1, 2, 3, 4, 5, 6]
    tied = [_question("q0", "c0", [9, 8, 7], same), _question("q1", "c1", [9, 8, 7], same)]
    result = passage_retrieval(tied, ngram=1)
    assert result["recall_at_1"] == 0.0 and result["mrr"] == 0.5
    with pytest.raises(DataError, match="at least 2 passages"):
        passage_retrieval(tied[:1])


def test_alignment_span_finds_the_units_a_cloze_question_replaces():
    rng = random.Random(1)
    for trial in range(20):
        passage = [rng.randrange(60) for _ in range(80)]
        start, end = rng.randrange(20, 50), None
        end = start + rng.randrange(3, 10)  # the answer: passage[start:end]
        what = [61, 62, 63]  # "what": units the passage does not have
        question = passage[start - 15:start] + what + passage[end:end + 12]
        assert alignment_span(question, passage) == (start, end - 1), trial
    # nothing aligns: the whole passage; a passage-only gap (the question says nothing there) is the fallback
    assert alignment_span([99, 98], [1, 2, 3]) == (0, 2)
    assert alignment_span([1, 2, 3, 7, 8, 9], [1, 2, 3, 4, 5, 7, 8, 9]) == (3, 4)
    with pytest.raises(DataError, match="empty passage"):
        alignment_span([1], [])
