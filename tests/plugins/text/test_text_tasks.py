"""Each text task turns generated files into batches a tiny BERT learns from, above chance."""

from __future__ import annotations

import json
import random

import pytest
import torch

from ssl_universal.errors import ConfigError, DataError


@pytest.fixture(autouse=True)
def _word_lists(words):
    """The word lists the generators below draw from (shared with the small tokenizer's vocabulary)."""
    global FILLER, ANIMALS, VEHICLES, NAMES
    FILLER, ANIMALS, VEHICLES, NAMES = (
        words["filler"],
        words["animals"],
        words["vehicles"],
        words["names"],
    )


def sentence(rng: random.Random, keyword_pool: list[str], n: int = 8) -> str:
    words = [rng.choice(FILLER) for _ in range(n)]
    words[rng.randrange(n)] = rng.choice(keyword_pool)
    return " ".join(words)


# -- classification -------------------------------------------------------------------------------
def write_classification(root, rows_per_split=(160, 40, 40), seed=0):
    rng = random.Random(seed)
    for split, n in zip(("train", "dev", "test"), rows_per_split):
        lines = ["text\tlabel"]
        for i in range(n):
            label = "animal" if i % 2 else "vehicle"
            lines.append(
                f"{sentence(rng, ANIMALS if label == 'animal' else VEHICLES)}\t{label}"
            )
        (root / f"{split}.tsv").write_text("\n".join(lines) + "\n")


def test_classification_learns_above_chance(tmp_path, make_task, loop):
    write_classification(tmp_path)
    task = make_task("text_classification", data_dir=str(tmp_path))
    assert task.num_labels == 2 and task.label_names == ["animal", "vehicle"]
    model = loop.model("SequenceClassification", len(task.tokenizer), task.num_labels)
    before = loop.evaluate(task, model)
    losses = loop.train(task, model, steps=60)
    after = loop.evaluate(task, model)
    assert losses[-1] < losses[0]
    assert after["accuracy"] >= 85.0 and after["accuracy"] > before["accuracy"] + 20
    assert set(after) == {"accuracy", "macro_f1", "predicted_classes"} and after["predicted_classes"] == 2


def test_classification_unknown_label_names_file_and_line(tmp_path, make_task):
    write_classification(tmp_path)
    with open(tmp_path / "dev.tsv", "a") as handle:
        handle.write("a new kind of row\tplant\n")
    task = make_task("text_classification", data_dir=str(tmp_path))
    with pytest.raises(
        DataError,
        match=r"dev\.tsv, line 42: label 'plant' does not occur in the training split",
    ):
        task.dataset("valid")


def test_classification_sentence_pairs_get_segments(tmp_path, make_task):
    (tmp_path / "train.tsv").write_text(
        "premise\thypothesis\tlabel\na cat\ta dog\tno\na cat\ta cat\tyes\n"
    )
    task = make_task(
        "text_classification",
        data_dir=str(tmp_path),
        text_column="premise",
        text_pair_column="hypothesis",
    )
    batch = task.collate(list(task.dataset("train")))
    assert batch["token_type_ids"].shape == batch["input_ids"].shape
    assert batch["token_type_ids"][0].tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert batch["labels"].tolist() == [0, 1]


def test_classification_overlong_error_or_truncate(tmp_path, make_task):
    (tmp_path / "train.tsv").write_text(
        "text\tlabel\n" + " ".join(["cat"] * 20) + "\tx\n"
    )
    with pytest.raises(
        DataError, match=r"train\.tsv, line 2: 22 tokens, more than max_length=8"
    ):
        make_task("text_classification", data_dir=str(tmp_path), max_length=8).dataset(
            "train"
        )
    task = make_task(
        "text_classification", data_dir=str(tmp_path), max_length=8, overlong="truncate"
    )
    ids = task.dataset("train")[0]["input_ids"]
    assert len(ids) == 8 and ids[-1] == task.tokenizer.sep_token_id


def test_classification_reads_saved_hf_dataset(tmp_path, make_task):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {
            "sentence": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["neg", "pos"]),
        }
    )
    part = {"sentence": ["good", "bad"], "label": [1, 0]}
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(part, features=features),
            "validation": datasets.Dataset.from_dict(part, features=features),
        }
    ).save_to_disk(str(tmp_path / "hf"))
    task = make_task(
        "text_classification", data_dir=str(tmp_path / "hf"), text_column="sentence"
    )
    assert task.label_names == ["neg", "pos"]
    assert [e["label"] for e in task.dataset("valid")] == [1, 0]


def test_classification_empty_label_fails_the_task_naming_file_and_line(tmp_path, make_task):
    write_classification(tmp_path)
    with open(tmp_path / "train.tsv", "a") as handle:
        handle.write("a cat and a dog\t\n")
    task = make_task("text_classification", data_dir=str(tmp_path))
    with pytest.raises(DataError, match=r"train\.tsv, line 162: empty label"):
        task.label_names  # noqa: B018 (reading the labels is what fails)


def test_classification_saved_hf_rows_without_a_label_are_refused(tmp_path, make_task):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    part = {"sentence": ["good", "bad"], "label": [1, -1]}  # -1: ClassLabel's "no label" (GLUE test splits)
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(part, features=features)}).save_to_disk(str(tmp_path / "hf"))
    task = make_task("text_classification", data_dir=str(tmp_path / "hf"), text_column="sentence")
    with pytest.raises(DataError, match=r"hf \[train\] row 1: no label \('label' is -1\)"):
        task.label_names  # noqa: B018 (once this read the last class name for -1)


# -- extractive QA --------------------------------------------------------------------------------
def write_qa(root, n_per_split=(200, 40), seed=0, context_words=30):
    """Contexts of filler words with one "the secret is WORD ." sentence; the question asks for WORD."""
    rng = random.Random(seed)
    for split, n in zip(("train", "valid"), n_per_split):
        paragraphs = []
        for i in range(n):
            words = [rng.choice(FILLER) for _ in range(context_words)]
            cut = rng.randrange(context_words)
            head, tail = " ".join(words[:cut]), " ".join(words[cut:])
            answer = rng.choice(ANIMALS + VEHICLES)
            context = f"{head} the secret is {answer} . {tail}".strip()
            start = (
                len(head) + len(" the secret is ") if head else len("the secret is ")
            )
            assert context[start : start + len(answer)] == answer
            qa = {
                "id": f"{split}{i}",
                "question": "what is the secret?",
                "answers": [{"text": answer, "answer_start": start}],
            }
            paragraphs.append({"context": context, "qas": [qa]})
        (root / f"{split}.json").write_text(
            json.dumps({"data": [{"paragraphs": paragraphs}]})
        )


def test_qa_answer_spans_round_trip(tmp_path, make_english_task):
    write_qa(tmp_path, n_per_split=(30, 5), context_words=120)
    task = make_english_task(
        "extractive_qa",
        data_dir=str(tmp_path),
        max_length=64,
        doc_stride=24,
        max_query_length=16,
    )
    features = task.dataset("train")
    assert len(features) > 30  # long contexts slide over several windows
    inside = 0
    for feature in features:
        offsets = task._window_offsets[feature["window_id"]]
        example = task._examples[task._window_example[feature["window_id"]]]
        s, e = feature["start_position"], feature["end_position"]
        if (s, e) == (0, 0):
            continue
        inside += 1
        from ssl_universal_plugins.text.spans import span_text

        assert span_text(example.context, offsets, s, e) == example.answers[0][0]
    assert inside >= 30  # every question's answer is inside at least one window


def test_qa_negative_answer_start_stops_the_task_or_is_skipped_and_counted(tmp_path, make_task):
    write_qa(tmp_path, n_per_split=(6, 2))
    document = json.loads((tmp_path / "train.json").read_text())
    answer = document["data"][0]["paragraphs"][2]["qas"][0]["answers"][0]
    answer["answer_start"] -= len(document["data"][0]["paragraphs"][2]["context"])  # the same span, by negative slicing
    (tmp_path / "train.json").write_text(json.dumps(document))
    with pytest.raises(DataError, match=r"train\.json: data\[0\]\.paragraphs\[2\]\.qas\[0\]\.answers\[0\]: answer_start=-\d+ is negative"):
        make_task("extractive_qa", data_dir=str(tmp_path)).dataset("train")
    task = make_task("extractive_qa", data_dir=str(tmp_path), bad_answers="skip")
    assert [e.qid for e in task.read("train")] == ["train0", "train1", "train3", "train4", "train5"]
    assert task.data_report["train"] == {"questions": 5, "skipped_answers": 1}


@pytest.mark.slow
def test_qa_learns_above_chance(tmp_path, make_task, loop):
    write_qa(tmp_path)
    task = make_task(
        "extractive_qa",
        data_dir=str(tmp_path),
        max_length=64,
        doc_stride=16,
        max_query_length=16,
    )
    model = loop.model("QuestionAnswering", len(task.tokenizer), 2)
    before = loop.evaluate(task, model)
    loop.train(task, model, steps=60, lr=5e-3)
    after = loop.evaluate(task, model)
    assert set(after) == {"exact_match", "f1"}
    assert (
        after["exact_match"] >= 40.0
        and after["exact_match"] > before["exact_match"] + 20
    )


# -- token classification -------------------------------------------------------------------------
def write_conll(root, n_per_split=(200, 40), seed=0):
    """Words from NAMES are B-NAME (a following name is I-NAME), the rest O."""
    rng = random.Random(seed)
    for split, n in zip(("train", "valid"), n_per_split):
        blocks = ["-DOCSTART- O"]
        for _ in range(n):
            words = [rng.choice(FILLER) for _ in range(8)]
            words[rng.randrange(8)] = rng.choice(NAMES)
            tags, previous = [], "O"
            for w in words:
                tag = ("I-NAME" if previous != "O" else "B-NAME") if w in NAMES else "O"
                tags.append(tag)
                previous = tag
            blocks.append("\n".join(f"{w} {t}" for w, t in zip(words, tags)))
        (root / f"{split}.conll").write_text("\n\n".join(blocks) + "\n")


def test_tagging_labels_first_word_piece_only(tmp_path, make_english_task):
    (tmp_path / "train.conll").write_text("unbelievably O\nAlice B-PER\n")
    task = make_english_task("token_classification", data_dir=str(tmp_path))
    (example,) = task.dataset("train")
    pieces = task.tokenizer.convert_ids_to_tokens(example["input_ids"])
    assert len(pieces) > 4  # "unbelievably" splits into several pieces
    kept = [label for label in example["labels"] if label != -100]
    assert [task.tag_names[i] for i in kept] == ["O", "B-PER"]
    assert example["labels"][0] == -100 and example["labels"][-1] == -100


def test_tagging_learns_above_chance(tmp_path, make_task, loop):
    write_conll(tmp_path)
    task = make_task("token_classification", data_dir=str(tmp_path))
    model = loop.model("TokenClassification", len(task.tokenizer), task.num_labels)
    before = loop.evaluate(task, model)
    loop.train(task, model, steps=40)
    after = loop.evaluate(task, model)
    assert set(after) == {"f1", "accuracy"}
    assert after["f1"] >= 80.0 > before["f1"]


def test_tagging_unknown_tag_is_an_error(tmp_path, make_task):
    write_conll(tmp_path, n_per_split=(5, 5))
    with open(tmp_path / "valid.conll", "a") as handle:
        handle.write("\nzurich B-LOC\n")
    task = make_task("token_classification", data_dir=str(tmp_path))
    with pytest.raises(
        DataError,
        match=r"valid\.conll, sentence at line \d+: tag 'B-LOC' does not occur",
    ):
        task.dataset("valid")


def test_word_tags_are_scored_by_accuracy_and_chunk_tags_by_span_f1(tmp_path, make_task):
    """POS tags have no chunk prefix, so span F1 is undefined for them (seqeval would read ``ADV`` as
    prefix ``A`` of type ``DV``): such a tag set is scored by word accuracy and picks checkpoints by it."""
    (tmp_path / "train.conll").write_text("the DET\ncat NOUN\nsat VERB\n\na DET\ndog NOUN\n")
    task = make_task("token_classification", data_dir=str(tmp_path))
    assert task.scoring == "words" and task.best_metric == "accuracy"
    step = {"loss": 0.0, "n": 2, "golds": [["DET", "NOUN", "VERB"], ["DET", "NOUN"]],
            "predictions": [["DET", "VERB", "VERB"], ["DET", "NOUN"]]}
    scores = task.score([step])
    assert set(scores) == {"accuracy", "macro_f1"}
    assert scores["accuracy"] == pytest.approx(80.0)
    assert scores["macro_f1"] == pytest.approx(100 * (1 + 2 / 3 + 2 / 3) / 3)

    ner = tmp_path / "ner"
    ner.mkdir()
    write_conll(ner, n_per_split=(5, 5))
    task = make_task("token_classification", data_dir=str(ner))
    assert task.scoring == "spans" and task.best_metric == "f1"

    task = make_task("token_classification", data_dir=str(tmp_path), scoring="spans")
    with pytest.raises(ConfigError, match=r"task.scoring=spans needs chunk tags .* tag 'DET' has no chunk prefix"):
        _ = task.best_metric
    with pytest.raises(ConfigError, match=r"task.scoring: expected one of spans, words"):
        make_task("token_classification", data_dir=str(tmp_path), scoring="tokens")


# -- masked LM ------------------------------------------------------------------------------------
def write_text(root, seed=0):
    """Lines that repeat one word, so a masked word follows from the words around it. With
    max_length 32 a line (29 words + SEP) fills exactly one chunk."""
    rng = random.Random(seed)
    for split, n in (("train", 200), ("valid", 40)):
        lines = [" ".join([rng.choice(ANIMALS)] * 29) for _ in range(n)]
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")


def test_mlm_masks_80_10_10_and_eval_masks_are_fixed(tmp_path, make_task):
    write_text(tmp_path)
    task = make_task("masked_lm", data_dir=str(tmp_path), max_length=32)
    valid = list(task.dataset("valid"))
    first, second = task.collate(valid), task.collate(valid)
    assert torch.equal(first["input_ids"], second["input_ids"]) and torch.equal(
        first["labels"], second["labels"]
    )
    torch.manual_seed(0)
    big = task.collate(list(task.dataset("train")) * 20)
    chosen = big["labels"] != -100
    share = chosen.sum() / big["attention_mask"].sum()
    assert 0.12 < float(share) < 0.18
    masked = big["input_ids"][chosen] == task.tokenizer.mask_token_id
    kept = big["input_ids"][chosen] == big["labels"][chosen]
    assert (
        0.75 < float(masked.float().mean()) < 0.85
        and 0.06 < float(kept.float().mean()) < 0.14
    )
    specials = torch.tensor(task.tokenizer.all_special_ids)
    original = torch.where(chosen, big["labels"], big["input_ids"])
    assert not bool(
        (torch.isin(original, specials) & chosen).any()
    )  # CLS/SEP/PAD are never predicted


def test_mlm_leaves_out_and_counts_chunks_without_a_text_token(tmp_path, make_task):
    """A line whose words are all unknown becomes [UNK] SEP: nothing to predict, so it must not reach the masker
    (which used to draw from an empty range) and must be counted."""
    write_text(tmp_path)
    with (tmp_path / "valid.txt").open("a") as f:
        f.write("\u2603\u2603\n")  # no piece of the vocabulary covers it: [UNK]; after 40 full chunks, a chunk of its own
    task = make_task("masked_lm", data_dir=str(tmp_path), max_length=32)
    valid = list(task.dataset("valid"))
    assert len(valid) == 40
    assert task.data_report["valid"] == {"chunks": 40, "chunks_left_out": 1}
    batch = task.collate(valid)
    assert bool((batch["labels"] != -100).any(dim=1).all())  # every chunk predicts something


@pytest.mark.slow
def test_mlm_learns_above_chance(tmp_path, make_task, loop):
    write_text(tmp_path)
    task = make_task("masked_lm", data_dir=str(tmp_path), max_length=32)
    model = loop.model("MaskedLM", len(task.tokenizer))
    before = loop.evaluate(task, model)
    loop.train(task, model, steps=80, lr=5e-3)
    after = loop.evaluate(task, model)
    assert set(after) == {"mlm_accuracy", "perplexity"}
    assert (
        after["mlm_accuracy"] >= 50.0
        and after["perplexity"] < before["perplexity"] / 20
    )
