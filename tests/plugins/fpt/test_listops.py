"""ListOps: LRA's grammar and text, values checked by an independent evaluator, .tsv files, the tokenizer."""

from __future__ import annotations

import statistics

import pytest

from ssl_universal.errors import ConfigError, DataError
from ssl_universal_plugins.fpt import listops
from ssl_universal_plugins.fpt.commands import prepare_listops
from ssl_universal_plugins.fpt.tasks import ListOpsConfig, ListOpsTask


def evaluate(text: str) -> int:
    """A stack machine over the flat tokens (round brackets ignored) — written apart from the generator's tree walk."""
    stack: list = []
    for token in text.split():
        if token in ("(", ")"):
            continue
        if token.startswith("["):
            stack.append(token)
        elif token == "]":
            args = []
            while not isinstance(stack[-1], str):
                args.append(stack.pop())
            op = stack.pop()
            result = {"[MIN": min(args), "[MAX": max(args), "[SM": sum(args) % 10,
                      "[MED": int(statistics.median(args))}[op]
            stack.append(result)
        else:
            stack.append(int(token))
    assert len(stack) == 1
    return stack[0]


def tree(op, *args):
    """LRA's binary nesting of one operator and its arguments."""
    node = op
    for arg in args:
        node = (node, arg)
    return (node, "]")


@pytest.mark.parametrize("expression, expected", [
    (tree("[MAX", 2, 9, tree("[MIN", 4, 7), 0), 9),
    (tree("[MED", 1, 2, 3, 4), 2),  # median 2.5, rounded down as LRA's int(np.median)
    (tree("[MED", 7, 1, 3), 3),
    (tree("[SM", 5, 6, 7), 8),
    (tree("[MIN", tree("[SM", 9, 9), tree("[MAX", 1, 3), 5), 3),
])
def test_hand_checked_values_and_lra_text(expression, expected):
    assert listops.value(expression) == expected
    assert evaluate(listops.to_string(expression)) == expected


def test_lra_text_of_a_small_tree():
    assert listops.to_string(tree("[MAX", 2, 9)) == "( ( ( [MAX 2 ) 9 ) ] )"


def test_generated_values_agree_with_the_independent_evaluator_and_respect_the_bounds():
    rows = listops.generate(300, max_depth=4, max_args=5, min_length=10, max_length=60, seed=1)
    assert len({text for text, _ in rows}) == 300  # distinct, as LRA keeps a set
    for text, target in rows:
        assert evaluate(text) == target
        length = sum(1 for t in text.split() if t not in ("(", ")"))
        assert 10 < length < 60
        assert text.count("[") <= sum(1 for t in text.split() if t == "]")
    assert len({target for _, target in rows}) >= 5


def test_generation_is_deterministic_per_seed():
    a = listops.generate(50, max_depth=3, max_args=4, min_length=5, max_length=40, seed=7)
    assert a == listops.generate(50, max_depth=3, max_args=4, min_length=5, max_length=40, seed=7)
    assert a != listops.generate(50, max_depth=3, max_args=4, min_length=5, max_length=40, seed=8)


def test_impossible_settings_are_an_error_not_a_hang():
    with pytest.raises(ConfigError, match="only .* distinct expressions"):
        listops.generate(10, max_depth=1, max_args=2, min_length=5, max_length=50, seed=0, max_tries=5)


def test_tsv_round_trip_and_errors_name_file_and_line(tmp_path):
    rows = listops.generate(20, max_depth=3, max_args=4, min_length=3, max_length=30, seed=2)
    path = listops.write_tsv(rows, tmp_path / "basic_train.tsv")
    assert path.read_text().splitlines()[0] == "Source\tTarget"
    records = listops.read_tsv(path)
    assert [(r.sequence, int(r.label)) for r in records] == rows
    bad = tmp_path / "bad.tsv"
    bad.write_text("Source\tTarget\n( [MAX 1 2 ] )\t4\n( [MIN 1 ] )\tx\n")
    with pytest.raises(DataError, match=r"bad.tsv, line 3: Target 'x' is not a digit"):
        listops.read_tsv(bad)
    bad.write_text("Input\tOutput\n")
    with pytest.raises(DataError, match=r"bad.tsv, line 1: expected the header"):
        listops.read_tsv(bad)


def test_prepared_lra_files_read_back_as_the_generated_task(tmp_path):
    sizes = ["--num-train", "40", "--num-eval", "10", "--max-depth", "3", "--max-args", "4", "--min-length", "3", "--max-length", "30"]
    assert prepare_listops(["--out", str(tmp_path), *sizes]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["basic_test.tsv", "basic_train.tsv", "basic_val.tsv"]
    fields = dict(num_train=40, num_eval=10, max_depth=3, max_args=4, min_expression_length=3, max_expression_length=30)
    generated = ListOpsTask(ListOpsConfig(**fields), listops.ListOpsTokenizer())
    from_files = ListOpsTask(ListOpsConfig(data_dir=str(tmp_path), **fields), listops.ListOpsTokenizer())
    for split in ("train", "valid", "test"):
        assert [e["input_ids"] for e in generated.dataset(split)] == [e["input_ids"] for e in from_files.dataset(split)]
        assert [e["label"] for e in generated.dataset(split)] == [e["label"] for e in from_files.dataset(split)]
    train = {r.sequence for r in generated.records("train")}
    assert not train & {r.sequence for r in generated.records("test")}  # splits do not overlap


def test_tokenizer_drops_round_brackets_and_optionally_the_closing_ones():
    keep = listops.ListOpsTokenizer()
    text = "( ( ( [MAX 2 ) 9 ) ] )"
    assert keep.split(text) == ["MAX", "2", "9", "]"]
    assert keep.decode(keep.encode(text)) == ["MAX", "2", "9", "]"]
    drop = listops.ListOpsTokenizer(listops.ListOpsTokenizerConfig(brackets="drop"))
    assert drop.split(text) == ["MAX", "2", "9"] and "]" not in drop.symbols
    with pytest.raises(DataError, match=r"'\[FIRST' \(word 2\)"):
        keep.split("( [FIRST 3 ] )")


def test_labels_are_the_values_and_all_ten_classes_exist():
    task = ListOpsTask(ListOpsConfig(num_train=30, num_eval=5, max_depth=3, max_args=4, min_expression_length=3,
                                     max_expression_length=30), listops.ListOpsTokenizer())
    assert task.num_labels == 10
    for record, example in zip(task.records("train"), task.dataset("train")):
        assert example["label"] == evaluate(record.sequence)
        assert example["input_ids"][0] == task.tokenizer.cls_id and example["input_ids"][-1] == task.tokenizer.sep_id
