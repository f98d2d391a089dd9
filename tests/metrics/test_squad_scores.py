"""SQuAD EM/F1: the official v1.1 functions as oracle, hand-computed cases, the Chinese mode."""

import random
import re
import string
from collections import Counter

import pytest

from ssl_universal.metrics import answer_tokens, exact_match_score, f1_score, normalize_answer, squad_scores
from ssl_universal.metrics.squad import squad_question_scores


# --- the official SQuAD v1.1 evaluation functions, copied as the oracle -----------------------
def official_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def official_f1_score(prediction, ground_truth):
    prediction_tokens = official_normalize_answer(prediction).split()
    ground_truth_tokens = official_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def official_exact_match_score(prediction, ground_truth):
    return official_normalize_answer(prediction) == official_normalize_answer(ground_truth)


# Pieces chosen to hit every normalisation rule: articles inside and across words, punctuation
# glued to articles ("the," / "(an)"), unicode letters and case, tabs and newlines.
PIECES = [
    "the",
    "The",
    "THE",
    "a",
    "A",
    "an",
    "An",
    "theatre",
    "another",
    "banana",
    "cat",
    "Cat",
    "dog",
    "1999",
    "U.S.",
    "it's",
    "-",
    ",",
    ".",
    "!",
    "(",
    ")",
    "'",
    '"',
    " ",
    "  ",
    "\t",
    "\n",
    "é",
    "Ångström",
    "naïve",
    "über",
    "a-the",
    "the,",
    "(an)",
    "ä",
    "$5",
    "—",
    "“quoted”",
]


def random_answer(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) + rng.choice(["", " ", " ", "  "]) for _ in range(rng.randint(0, 8)))


def test_matches_official_v11_on_random_strings():
    rng = random.Random(0)
    for _ in range(3000):
        prediction, gold = random_answer(rng), random_answer(rng)
        if rng.random() < 0.3:  # near-duplicates make non-trivial overlaps common
            gold = prediction + rng.choice(PIECES)
        assert normalize_answer(prediction) == official_normalize_answer(prediction)
        assert exact_match_score(prediction, gold) == float(official_exact_match_score(prediction, gold))
        assert f1_score(prediction, gold) == pytest.approx(official_f1_score(prediction, gold), abs=1e-12)


@pytest.mark.parametrize(
    "prediction, gold, em, f1",
    [
        ("The Beatles", "beatles", 1.0, 1.0),  # article and case
        ("the  Beatles!", "Beatles", 1.0, 1.0),  # punctuation and whitespace
        ("Beatles band", "The Beatles", 0.0, 2 * 0.5 * 1.0 / 1.5),  # p = 1/2, r = 1/1
        ("theatre", "atre", 0.0, 0.0),  # "the" inside a word is not an article
        ("a cat", "an cat", 1.0, 1.0),
        ("U.S.", "US", 1.0, 1.0),
        ("cat cat dog", "cat dog dog", 0.0, 2 / 3),  # multiset overlap: 2 of 3 each way
        ("", "cat", 0.0, 0.0),  # empty prediction
        ("the", "a", 1.0, 0.0),  # both normalise to "": equal, but no token to overlap (as official)
    ],
)
def test_hand_computed_cases(prediction, gold, em, f1):
    assert exact_match_score(prediction, gold) == em
    assert f1_score(prediction, gold) == pytest.approx(f1)


def test_max_over_several_gold_answers_and_mean_in_percent():
    golds = {"q1": ["Denver Broncos", "The Broncos"], "q2": ["Santa Clara"], "q3": ["1999"]}
    predictions = {"q1": "Broncos", "q2": "Clara, California"}  # q3 missing → 0
    # q1: the second gold normalises to "broncos" → EM 1, F1 1 (the first alone gives F1 2/3);
    # q2: EM 0, F1 p = 1/2, r = 1/2 → 0.5; q3: 0
    scores = squad_scores(golds, predictions)
    assert squad_question_scores("Broncos", ["Denver Broncos"]) == pytest.approx((0.0, 2 / 3))
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert squad_question_scores("Broncos", golds["q1"]) == (1.0, 1.0)
    assert scores["f1"] == pytest.approx(100 * (1.0 + 0.5 + 0.0) / 3)


def test_chinese_mode_scores_characters():
    # 5 characters each, 4 shared (臺 北 市 政; 市 only once) → p = r = 4/5
    assert f1_score("臺北市政府", "臺北市市政", lang="zh") == pytest.approx(0.8)
    assert f1_score("北京大學", "北京", lang="zh") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    # Whole words would give 0 overlap; characters give partial credit.
    assert f1_score("北京大學", "北京", lang="en") == 0.0


def test_chinese_mixed_segmentation_and_punctuation():
    assert answer_tokens("2018年世界盃 FIFA，「台北」！", "zh") == ["2018", "年", "世", "界", "盃", "fifa", "台", "北"]
    # Full-width digits and letters fold to ASCII; CJK and ASCII punctuation vanish; spaces do not matter.
    assert exact_match_score("《紅樓夢》", "紅 樓 夢", lang="zh") == 1.0
    assert exact_match_score("２０１８年", "2018年。", lang="zh") == 1.0
    assert exact_match_score("2018年", "2019年", lang="zh") == 0.0
    # A latin run is one token: "ab" vs "abc" share nothing.
    assert f1_score("ab", "abc", lang="zh") == 0.0


def test_unknown_language_and_empty_gold_set():
    with pytest.raises(ValueError, match="unknown answer language"):
        f1_score("a", "b", lang="fr")
    with pytest.raises(ValueError, match="no gold questions"):
        squad_scores({}, {})


def test_question_scores_match_the_official_max_over_ground_truths():
    rng = random.Random(1)
    for _ in range(500):
        golds = [random_answer(rng) for _ in range(rng.randint(1, 3))]
        prediction = rng.choice(golds) + rng.choice(PIECES) if rng.random() < 0.5 else random_answer(rng)
        em, f1 = squad_question_scores(prediction, golds)
        assert em == float(max(official_exact_match_score(prediction, g) for g in golds))
        assert f1 == pytest.approx(max(official_f1_score(prediction, g) for g in golds), abs=1e-12)
