"""Entity-span F1 in the seqeval (conlleval) convention."""

import pytest

from ssl_universal.metrics import span_f1, span_scores


def test_exact_spans_count_partial_spans_do_not():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG", "O", "O"]]
    # gold spans: PER(0-1), LOC(3), ORG(0-2); predicted: PER(0-1), ORG(3), ORG(0-1); 1 correct
    scores = span_scores(gold, pred)
    assert scores["precision"] == pytest.approx(100 / 3)
    assert scores["recall"] == pytest.approx(100 / 3)
    assert span_f1(gold, pred) == pytest.approx(100 / 3)


def test_iob1_style_chunks_in_default_mode():
    # conlleval reads an I- after O as the start of a chunk, so IOB1 data scores as written.
    gold = [["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]]
    assert span_f1(gold, gold) == 100.0
    # two LOC chunks (I-LOC, then B-LOC opens a second): merging them into one is wrong on both
    pred = [["I-PER", "I-PER", "O", "I-LOC", "I-LOC"]]
    # predicted spans PER, LOC(3-4): 1 of 2 right; gold PER, LOC(3), LOC(4): 1 of 3 found
    assert span_f1(gold, pred) == pytest.approx(100 * 2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))


def test_strict_iob2_rejects_ill_formed_chunks():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O", "I-LOC"]]  # I-LOC without B-: a chunk leniently, none strictly
    assert span_f1(gold, pred) == 100.0
    assert span_f1(gold, pred, scheme="IOB2") == pytest.approx(100 * 2 * 1.0 * 0.5 / 1.5)
    with pytest.raises(ValueError, match="unknown tagging scheme"):
        span_f1(gold, pred, scheme="XYZ")


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="sentence 0 has 2 gold tags but 1 predicted"):
        span_f1([["O", "O"]], [["O"]])


def conlleval_chunks(tags):
    """Chunks as conlleval.pl reads IOB tags (its startOfChunk / endOfChunk rules), as the oracle."""
    chunks, start, prev_tag, prev_type = [], None, "O", ""
    for i, label in enumerate(list(tags) + ["O"]):
        tag, kind = (label.split("-", 1) + [""])[:2] if label != "O" else ("O", "")
        ends = prev_tag != "O" and (tag in ("B", "O") or kind != prev_type)
        starts = tag != "O" and (tag == "B" or prev_tag == "O" or kind != prev_type)
        if ends and start is not None:
            chunks.append((prev_type, start, i - 1))
            start = None
        if starts:
            start = i
        prev_tag, prev_type = tag, kind
    return chunks


def test_default_mode_agrees_with_conlleval_on_random_tags():
    import random

    rng = random.Random(1)
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    for _ in range(200):
        gold = [[rng.choice(labels) for _ in range(rng.randint(1, 8))] for _ in range(3)]
        pred = [[rng.choice(labels) for _ in sentence] for sentence in gold]
        gold_chunks = {(s, c) for s, sentence in enumerate(gold) for c in conlleval_chunks(sentence)}
        pred_chunks = {(s, c) for s, sentence in enumerate(pred) for c in conlleval_chunks(sentence)}
        correct = len(gold_chunks & pred_chunks)
        p = correct / len(pred_chunks) if pred_chunks else 0.0
        r = correct / len(gold_chunks) if gold_chunks else 0.0
        expected = 100 * 2 * p * r / (p + r) if correct else 0.0
        assert span_f1(gold, pred) == pytest.approx(expected), (gold, pred)
