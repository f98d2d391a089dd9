"""Fine-tuning sets per language: cloze questions that point at their answers, Fake-English twins, POS tags."""

from __future__ import annotations

import json
import random

import pytest

from ssl_universal.errors import DataError
from ssl_universal_plugins.crosslingual.fake import to_fake
from ssl_universal_plugins.crosslingual.finetune import (
    JIEBA_TO_UNIVERSAL,
    JIEBA_UNMAPPED,
    UNIVERSAL_TAGS,
    chinese_silver_sentences,
    cloze_question,
    cloze_questions,
    english_lexicon,
    jieba_universal,
    turkish_gold_sentences,
    write_pos,
    write_qa,
)
from ssl_universal_plugins.text.readers import read_squad

from .conftest import EN, ZH

CONLLU = """# sent_id = s1
# text = Kemerlerini katıldığı maçında kaybettiler.
1\tKemerlerini\tkemer\tNOUN\tNN\t_\t4\tdobj\t_\t_
2\tkatıl\tkatıl\tVERB\tVB\t_\t3\tig\t_\tSpaceAfter=No
3\tdığı\t_\tADJ\tVJ\t_\t4\trcmod\t_\t_
4\tmaçında\tmaç\tNOUN\tNN\t_\t5\tnpadvmod\t_\t_
5\tkaybettiler\tkaybet\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No
6\t.\t.\tPUNCT\t.\t_\t5\tp\t_\t_

"""


def test_cloze_questions_point_at_their_answer_in_each_language():
    rng = random.Random(0)
    context = " ".join(EN[:3])
    q = cloze_question(context, "en", rng)
    assert context[q["answer_start"] : q["answer_start"] + len(q["text"])] == q["text"] and len(q["text"]) >= 5
    assert "what" in q["question"] and q["text"] not in q["question"].split()
    zh = cloze_question(ZH[1], "zh", rng)
    assert len(zh["text"]) == 2 and ZH[1][zh["answer_start"] : zh["answer_start"] + 2] == zh["text"]
    assert "什么" in zh["question"] and zh["question"].endswith("？")
    assert cloze_question("Too short.", "en", rng) is None


def test_several_questions_per_document_blank_different_words_one_sentence_each_first():
    context = " ".join(EN[:3])
    first = cloze_question(context, "en", random.Random(5))
    many = cloze_questions(context, "en", random.Random(5), 5)
    assert many[0] == first and len(many) == 5
    assert len({q["answer_start"] for q in many}) == 5  # five different blanks
    for q in many:
        assert context[q["answer_start"] : q["answer_start"] + len(q["text"])] == q["text"]
    sentence_starts = [0, len(EN[0]) + 1, len(EN[0]) + len(EN[1]) + 2]
    sentence_of = [max(s for s in sentence_starts if s <= q["answer_start"]) for q in many]
    assert sorted(sentence_of[:3]) == sentence_starts  # one per sentence before a second in any sentence
    few = cloze_questions("The quick brown foxes jump over lazy dogs.", "en", random.Random(0), 10)
    assert sorted(q["text"] for q in few) == ["brown", "foxes", "quick"]  # no more than there are candidates
    with pytest.raises(ValueError, match="count must be >= 1"):
        cloze_questions(context, "en", random.Random(0), 0)


def test_questions_per_document_multiply_train_questions_not_documents(fortunes_dir, tmp_path):
    sizes = {"train": 12, "valid": 2, "test": 3}
    write_qa(tmp_path, ["en"], 0, sizes, fortunes_dir=fortunes_dir, per_document={"train": 3})
    train = json.loads((tmp_path / "en" / "train.json").read_text())["data"][0]["paragraphs"]
    assert len(train) == 12 and len({p["context"] for p in train}) == 4
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["questions_per_document"] == {"train": 3} and stats["questions"]["en"]["train"] == 12
    read_squad(tmp_path / "en" / "train.json", "error", [])


def test_written_sets_read_back_and_fake_english_is_the_english_set_moved(fortunes_dir, tmp_path):
    sizes = {"train": 5, "valid": 2, "test": 3}
    stats = write_qa(tmp_path, ["en", "zh", "fake"], 0, sizes, {"en+zh": ["en", "zh"]}, fortunes_dir=fortunes_dir)
    assert stats["en+zh"]["train"] == stats["en"]["train"] + stats["zh"]["train"] > 0
    for language in ("en", "zh", "fake", "en+zh"):
        for split in ("train", "valid", "test"):
            read_squad(tmp_path / language / f"{split}.json", "error", [])  # answers must sit at answer_start
    en = json.loads((tmp_path / "en" / "train.json").read_text())["data"][0]["paragraphs"]
    fake = json.loads((tmp_path / "fake" / "train.json").read_text())["data"][0]["paragraphs"]
    assert [to_fake(p["context"]) for p in en] == [p["context"] for p in fake]
    assert [p["qas"][0]["answers"] for p in fake] == [
        [{"text": to_fake(a["text"]), "answer_start": a["answer_start"]} for a in p["qas"][0]["answers"]] for p in en]
    with pytest.raises(DataError, match="no cloze QA for language 'xx'"):
        write_qa(tmp_path, ["xx"], 0, sizes)


def test_turkish_inflectional_groups_are_joined_and_take_the_last_tag(tmp_path):
    path = tmp_path / "tiny.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    by_split, counts = turkish_gold_sentences(0, [path])
    (words, tags), = [s for rows in by_split.values() for s in rows]
    assert words == ["Kemerlerini", "katıldığı", "maçında", "kaybettiler", "."]
    assert tags == ["NOUN", "ADJ", "NOUN", "VERB", "PUNCT"] and counts["kept"] == 1
    path.write_text("# text = x\n1\tx\tx\tNOUN\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="tiny.conllu:2: expected 10 tab-separated"):
        turkish_gold_sentences(0, [path])


def test_silver_english_tags_are_universal_and_marked_silver(tmp_path):
    lexicon = english_lexicon()
    assert lexicon["the"] == "DET" and lexicon["."] == "PUNCT" and set(lexicon.values()) <= set(UNIVERSAL_TAGS)
    stats = write_pos(tmp_path, ["en", "fake"], 0, {"train": 4, "valid": 2, "test": 2})
    assert stats["en"]["quality"] == stats["fake"]["quality"] == "silver"
    assert stats["en"]["sentences_read"]["not_in_lexicon"] > 0  # left out, and counted
    en = (tmp_path / "en" / "train.conll").read_text().split("\n\n")
    fake = (tmp_path / "fake" / "train.conll").read_text().split("\n\n")
    first_en = [line.split("\t") for line in en[0].splitlines()]
    first_fake = [line.split("\t") for line in fake[0].splitlines()]
    assert [to_fake(w) for w, _ in first_en] == [w for w, _ in first_fake] and [t for _, t in first_en] == [t for _, t in first_fake]


def test_jieba_tags_map_onto_the_universal_set_and_an_unknown_tag_is_an_error():
    assert set(JIEBA_TO_UNIVERSAL.values()) <= set(UNIVERSAL_TAGS) and not JIEBA_UNMAPPED & set(JIEBA_TO_UNIVERSAL)
    assert jieba_universal("，", "x") == "PUNCT" and jieba_universal("“", "x") == "PUNCT" and jieba_universal("ab1", "x") == "X"
    assert jieba_universal("北京", "ns") == "NOUN" and jieba_universal("的", "uj") == "PRT" and jieba_universal("很", "d") == "ADV"
    assert jieba_universal("人身攻击", "i") is None  # an idiom: no universal counterpart
    with pytest.raises(DataError, match="jieba tag 'zz'.*JIEBA_TO_UNIVERSAL"):
        jieba_universal("词", "zz")


def test_silver_chinese_sentences_tag_every_word_and_count_what_they_leave_out():
    documents = ["我们在北京工作。他说：“你们不会来的。”好。", "请接受这一事实，并保持礼貌。这是人身攻击的借口。"]
    by_split, counts = chinese_silver_sentences(0, documents)
    rows = [row for split in by_split.values() for row in split]
    assert counts["kept"] == len(rows) == 3 and counts["length"] == 1  # 好。 is two tokens
    assert counts["unmapped_tag"] == 1  # the sentence with the idiom 人身攻击
    for words, tags in rows:
        assert len(words) == len(tags) and set(tags) <= set(UNIVERSAL_TAGS) and all(w.strip() for w in words)
    sentences = {"".join(words) for words, _ in rows}
    assert "我们在北京工作。" in sentences and "请接受这一事实，并保持礼貌。" in sentences  # words cover the sentence
    words, tags = next(r for r in rows if "".join(r[0]) == "我们在北京工作。")
    assert dict(zip(words, tags))["北京"] == "NOUN" and tags[-1] == "PUNCT"
