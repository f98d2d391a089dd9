"""DNA tasks: readers reject bad input by file and line; splice and histone-style sets learn above chance; the
published-format preparation reads UCI splice and histone files."""

from __future__ import annotations

import json
import random

import pytest

from ssl_universal.errors import ConfigError, DataError


def test_splice_learns_above_chance(make_task, loop):
    task = make_task("dna_classification", dataset="synthetic_splice", num_train=300, num_eval=90)
    assert task.label_names == ["EI", "IE", "N"]
    model = loop.model(task.tokenizer.vocab_size, task.num_labels)
    losses = loop.train(task, model, steps=80, lr=2e-3)
    scores = loop.evaluate(task, model)
    assert sum(losses[-10:]) < sum(losses[:10])
    assert scores["accuracy"] >= 55.0  # chance is 33


def test_histone_windows_vote_and_learn(make_task, loop):
    task = make_task("dna_classification", dataset="synthetic_histone", num_train=300, num_eval=80, max_length=52, overlong="window")
    assert task.data_report == {} and len(task.dataset("train")) == 300 * 2
    assert task.data_report["train"]["windowed"] == 300
    model = loop.model(task.tokenizer.vocab_size, 2)
    loop.train(task, model, steps=80, lr=2e-3)
    scores = loop.evaluate(task, model)
    assert scores["accuracy"] >= 60.0 and "window_accuracy" in scores


def test_unknown_generated_set_is_a_config_error(make_task):
    with pytest.raises(ConfigError, match=r"bad value for 'task.dataset': 'synthetic_splise' \(did you mean 'synthetic_splice'\?\)"):
        make_task("dna_classification", dataset="synthetic_splise")


def test_fasta_with_label_field_and_kmers(tmp_path, make_task):
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.fa").write_text(">s1 label=EI\nACGTAC\nGT\n>s2 label=N\nTTTT\n")
    task = make_task("dna_classification", tokenizer={"k": 3}, data_dir=str(tmp_path))
    first = task.dataset("train")[0]
    assert task.tokenizer.to_sequence(task.tokenizer.decode(first["input_ids"])) == "ACGTACGT"


def test_bad_base_in_file_names_file_and_line(tmp_path, make_task):
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.tsv").write_text("sequence\tlabel\nACGT\tN\nACXT\tEI\n")
    with pytest.raises(DataError, match=r"train\.tsv, line 3: base 'X' at position 3"):
        make_task("dna_classification", data_dir=str(tmp_path)).dataset("train")


def test_extra_leading_column_fails_the_task_naming_file_and_line(tmp_path, make_task):
    """A barcode column before the sequence once made every sequence a class label; now the data is refused."""
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.tsv").write_text("sequence\tlabel\nGATT\tACGTAC\tEI\nCCAT\tTTGACA\tN\n")
    task = make_task("dna_classification", data_dir=str(tmp_path))
    with pytest.raises(DataError, match=r"train\.tsv, line 2: 3 tab-separated field\(s\), expected 2 as in the header"):
        task.dataset("train")


def test_utf16_table_fails_the_task_naming_file_and_encoding(tmp_path, make_task):
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.tsv").write_bytes("sequence\tlabel\nACGT\tN\n".encode("utf-16"))
    with pytest.raises(DataError, match=r"train\.tsv: expected UTF-8 text; found UTF-16LE"):
        make_task("dna_classification", data_dir=str(tmp_path)).dataset("train")


def test_uci_splice_file_is_prepared_with_ambiguous_bases_counted(tmp_path):
    from ssl_universal_plugins.dna.prepare import prepare

    rng = random.Random(0)  # distinct windows: one window under two classes would be set aside
    lines = [f"{c}, NAME-{c}-{i}, {''.join(rng.choice('ACGT') for _ in range(60))}" for c in ("EI", "IE", "N") for i in range(10)]
    lines.append("N, NAME-AMBIG, " + "ACGN" * 15)
    (tmp_path / "splice.data").write_text("\n".join(lines) + "\n")
    out = prepare("splice", tmp_path / "splice.data", tmp_path / "out", ambiguous="drop")
    source = json.loads((out / "source.json").read_text())
    assert source["dropped"] == 1 and source["with_ambiguous_bases"] == 1
    assert source["class_counts"]["train"] == {"EI": 8, "IE": 8, "N": 8}
    (tmp_path / "bad.data").write_text("XX, NAME, ACGT\n")
    with pytest.raises(DataError, match=r"bad\.data, line 1: class 'XX'"):
        prepare("splice", tmp_path / "bad.data", tmp_path / "out2")


def test_histone_three_line_records(tmp_path):
    from ssl_universal_plugins.dna.prepare import read_histone

    (tmp_path / "H3.txt").write_text(">r1\nACGTACGT\n1\n>r2\nTTTT\nGGGG\n0\n>r3 1\nCCCC\n")
    rows, _ = read_histone(tmp_path / "H3.txt")
    assert rows == [("ACGTACGT", "1"), ("TTTTGGGG", "0"), ("CCCC", "1")]
    (tmp_path / "bad.txt").write_text(">r1\nACGT\n")
    with pytest.raises(DataError, match=r"bad\.txt, line 1: record 'r1' has no 0/1 label"):
        read_histone(tmp_path / "bad.txt")


@pytest.mark.parametrize("recipe", ["dna/splice", "dna/histone"])
@pytest.mark.parametrize("assignment", ["random", "reinit", "scratch", "most_frequent", "least_frequent"])
def test_recipes_take_every_assignment_row(recipe, assignment, tmp_path):
    from ssl_universal.config import load_config

    cfg = load_config([f"recipe={recipe}", f"model.assignment={assignment}", f"run_dir={tmp_path}"])
    assert cfg.model.assignment == assignment and cfg.model.name == "seq_classifier" and cfg.tokenizer.name == "dna"


def test_one_labelled_file_is_split_by_label_with_repeats_kept_together(tmp_path, make_task, caplog):
    import random

    rng = random.Random(0)
    rows = [(''.join(rng.choice("ACGT") for _ in range(12)), label) for label in ("EI", "IE", "N") for _ in range(40)]
    rows += rows[:5]  # five sequences twice, same label
    (tmp_path / "all.tsv").write_text("sequence\tlabel\n" + "".join(f"{s}\t{lab}\n" for s, lab in rows))
    with caplog.at_level("INFO"):
        task = make_task("dna_classification", data_dir=str(tmp_path), data_file="all.tsv", max_length=16)
        splits = {name: task.records(name) for name in ("train", "valid", "test")}
    distinct = [len({r.sequence for r in splits[n]}) for n in ("train", "valid", "test")]
    assert distinct == [96, 12, 12] and sum(len(v) for v in splits.values()) == 125  # 32/4/4 per class; copies go along
    assert {r.label for r in splits["test"]} == {"EI", "IE", "N"}
    seen = {name: {r.sequence for r in records} for name, records in splits.items()}
    assert not (seen["train"] & seen["test"]) and not (seen["train"] & seen["valid"]) and not (seen["valid"] & seen["test"])
    assert "5 sequences occur more than once (5 extra copies), each kept within one split" in caplog.text
    again = make_task("dna_classification", data_dir=str(tmp_path), data_file="all.tsv", max_length=16)
    assert [r.sequence for r in again.records("test")] == [r.sequence for r in splits["test"]]  # fixed by data_seed


def test_one_file_with_a_sequence_under_two_labels_is_an_error_naming_both_lines(tmp_path, make_task):
    (tmp_path / "all.tsv").write_text("sequence\tlabel\nACGT\tEI\nTTTT\tN\nACGT\tIE\n")
    task = make_task("dna_classification", data_dir=str(tmp_path), data_file="all.tsv")
    with pytest.raises(DataError, match=r"all.tsv, line 4: this sequence is labelled 'IE', but .*all.tsv, line 2 labels it 'EI'"):
        task.records("train")
    with pytest.raises(ConfigError, match="split_shares"):
        make_task("dna_classification", data_dir=str(tmp_path), data_file="all.tsv", split_shares=[0.5, 0.5, 0.5])
