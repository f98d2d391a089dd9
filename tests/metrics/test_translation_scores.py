"""BLEU-1 (sacrebleu, unigrams) and convert rate, computed by hand."""

import math

import pytest

from ssl_universal.metrics import bleu1, convert_rate


def test_bleu1_is_clipped_unigram_precision_times_brevity_penalty():
    # "the" appears twice in the hypothesis but once in the reference → clipped: 2 matches of 3;
    # hypothesis 3 tokens < reference 4 → BP = exp(1 − 4/3)
    expected = 100 * (2 / 3) * math.exp(1 - 4 / 3)
    assert bleu1(["the cat the"], ["the cat sat on"], tokenize="none") == pytest.approx(expected, abs=1e-6)


def test_bleu1_has_no_penalty_for_longer_output_and_pools_the_corpus():
    # 5 hypothesis tokens, 4 matches, reference 4 tokens → 80, no brevity penalty
    assert bleu1(["a b c", "d x"], ["a b c", "d"], tokenize="none") == pytest.approx(80.0, abs=1e-6)
    # word order does not matter to unigrams
    assert bleu1(["c b a"], ["a b c"], tokenize="none") == pytest.approx(100.0)


def test_bleu1_chinese_characters():
    # zh tokenizer splits characters: 2 of 3 match, lengths equal
    assert bleu1(["我爱猫"], ["我爱狗"], tokenize="zh") == pytest.approx(200 / 3, abs=1e-6)


def test_convert_rate_from_set_or_predicate():
    outputs = [["我", "the", "猫"], ["狗", "dog"]]
    assert convert_rate(outputs, {"我", "猫", "狗"}) == pytest.approx(60.0)
    assert convert_rate(outputs, lambda t: "\u4e00" <= t[0] <= "\u9fff") == pytest.approx(60.0)
    with pytest.raises(ValueError, match="no tokens"):
        convert_rate([[]], {"a"})
    with pytest.raises(TypeError, match="list of tokens"):
        convert_rate(["我的猫"], {"我"})
