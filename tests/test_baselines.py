"""``ssl-universal baseline``: majority, k-mer counts and positional one-hot references on a recipe's own splits."""

from __future__ import annotations

import json
import random

import pytest

from ssl_universal.baselines import fit_baselines, fit_regression_baselines, main
from ssl_universal.errors import ConfigError, DataError


def _splits(n_train=300, n_eval=100, length=12, seed=0):
    """Label = the symbol at position 5 is 1 or not; composition is otherwise uniform, so counts barely help."""
    rng = random.Random(seed)

    def rows(n):
        seqs = [tuple(rng.randrange(1, 5) for _ in range(length)) for _ in range(n)]
        return seqs, [int(s[5] == 1) for s in seqs]

    return {"train": rows(n_train), "valid": rows(n_eval), "test": rows(n_eval)}


def test_position_matters_only_to_the_positional_reference():
    scores = {s.name: s for s in fit_baselines(_splits(), k=2)}
    assert set(scores) == {"majority", "2-mer counts (1..2)", "positional one-hot"}
    assert scores["positional one-hot"].test_accuracy > 95  # the label is one position's symbol
    assert scores["2-mer counts (1..2)"].test_accuracy < scores["positional one-hot"].test_accuracy - 10
    majority = scores["majority"]
    assert 60 < majority.test_accuracy < 90 and majority.C is None  # 3 of 4 symbols are not 1
    assert scores["positional one-hot"].features == 12 * 4


def test_variable_lengths_have_no_positional_reference_and_k_is_checked():
    splits = _splits()
    splits["train"][0][0] = splits["train"][0][0][:-1]
    assert "positional one-hot" not in {s.name for s in fit_baselines(splits, k=1)}
    with pytest.raises(ConfigError, match="k >= 1"):
        fit_baselines(splits, k=0)


def test_the_verb_reads_a_recipe_split_and_writes_json(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["recipe=dna/splice", "preset=smoke", "task.num_train=240", "task.num_eval=60", "--k", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| majority |" in printed and "train 240, valid 60, test 60" in printed
    scores = {s["name"]: s for s in json.loads(out.read_text())}
    # the generated splice windows are fixed 60-nt windows with the consensus signals at the junction
    assert scores["positional one-hot"]["features"] > 0
    assert scores["positional one-hot"]["test_accuracy"] > scores["majority"]["test_accuracy"]
    # a second call keeps the first call's file unless told to replace it
    before = out.read_text()
    assert main(["recipe=dna/splice", "preset=smoke", "--json", str(out)]) == 2
    assert "already exist(s) from an earlier call" in capsys.readouterr().err and out.read_text() == before
    assert main(["recipe=dna/splice", "preset=smoke", "task.num_train=240", "task.num_eval=60", "--k", "1",
                 "--json", str(out), "--overwrite"]) == 0
    assert out.read_text() != before


def test_a_task_without_symbol_ids_is_refused(capsys):
    assert main(["recipe=fpt/xor", "preset=smoke"]) == 2
    assert "no symbol tokenizer" in capsys.readouterr().err


def _regression_splits(n_train=400, n_eval=150, length=10, seed=0):
    """Value = the symbol at position 3, plus noise: only the positional reference can read it."""
    rng = random.Random(seed)

    def rows(n):
        seqs = [tuple(rng.randrange(1, 5) for _ in range(length)) for _ in range(n)]
        return seqs, [float(s[3]) + rng.gauss(0, 0.1) for s in seqs]

    return {"train": rows(n_train), "valid": rows(n_eval), "test": rows(n_eval)}


def test_regression_references_use_ridge_and_spearman():
    scores = {s.name: s for s in fit_regression_baselines(_regression_splits(), k=2)}
    assert set(scores) == {"training mean", "2-mer counts (1..2)", "positional one-hot"}
    mean, positional = scores["training mean"], scores["positional one-hot"]
    assert mean.test_spearman is None and mean.valid_spearman is None and mean.alpha is None  # constant: undefined
    assert positional.test_spearman > 0.9 and positional.alpha is not None  # the value is one position's symbol
    assert positional.test_mse < 0.5 * mean.test_mse
    assert scores["2-mer counts (1..2)"].test_spearman < positional.test_spearman


def test_regression_labels_must_be_numbers():
    splits = _regression_splits()
    splits["valid"][1][4] = "high"
    with pytest.raises(DataError, match=r"valid example 4: label 'high' is not a number"):
        fit_regression_baselines(splits)


def test_the_verb_runs_regression_recipes(capsys):
    assert main(["recipe=protein/stability", "preset=smoke", "task.num_train=300", "task.num_eval=100"]) == 0
    printed = capsys.readouterr().out
    assert "| reference | valid Spearman | test Spearman | test MSE | alpha | features |" in printed
    assert "| training mean | — (constant) | — (constant) |" in printed
    kmers = next(line for line in printed.splitlines() if line.startswith("| 3-mer counts"))
    assert float(kmers.split("|")[3]) > 0.5  # the value is the hydrophobic share: composition, which 1-mers read


def test_a_choice_at_the_grid_edge_is_flagged():
    from ssl_universal.baselines import C_GRID, BaselineScore, markdown

    inside = BaselineScore("k", 60.0, 60.0, 60.0, C_GRID[3], 10)
    assert "Note:" not in markdown([inside], "t")
    edge = BaselineScore("positional one-hot", 60.0, 60.0, 60.0, C_GRID[0], 10)
    assert f"positional one-hot (C = {C_GRID[0]:g}) chose C at an end of its grid" in markdown([inside, edge], "t")
