"""The plugin's recipes: defaults and presets load, bad values fail at load time naming the key, the topic proxy runs."""

from __future__ import annotations

import pytest

from ssl_universal import run
from ssl_universal.config import load_config
from ssl_universal.errors import ConfigError
from ssl_universal_plugins.artificial import recipe_path


@pytest.mark.parametrize("preset", [None, "quick", "smoke"])
def test_defaults_and_presets_load(preset):
    extra = [f"preset={preset}"] if preset else []
    pretrain = load_config([f"recipe={recipe_path('pretrain')}", *extra])
    assert pretrain.task.vocab_size == pretrain.tokenizer.vocab_size and pretrain.model.assignment == "scratch"
    for row in ("most_frequent", "random", "scratch"):
        cfg = load_config([f"recipe={recipe_path('acceptability')}", f"row={row}", *extra])
        assert cfg.model.assignment == row and cfg.task.proxy == "acceptability"
    for proxy in ("acceptability", "topic", "paraphrase", "sentiment"):
        scratch = load_config([f"recipe={recipe_path(proxy)}", "row=scratch", *extra])
        assert scratch.task.proxy == proxy and scratch.tokenizer.max_pieces <= pretrain.task.vocab_size
        if preset != "smoke":  # the scratch row has the pre-trained model's shape
            assert (scratch.model.hidden_size, scratch.model.num_layers) == (pretrain.model.hidden_size, pretrain.model.num_layers)
    minilm = load_config([f"recipe={recipe_path('acceptability')}", "row=minilm", *extra])  # the upper reference
    assert (minilm.tokenizer.name, minilm.model.assignment, minilm.model.backbone) == ("backbone", "none", "default")
    assert "max_pieces" not in minilm.tokenizer and minilm.model.token_counts is None
    english = load_config([f"recipe={recipe_path('pretrain')}", "task.generator=english", *extra])
    assert english.task.generator == "english" and english.task.num_train == pretrain.task.num_train  # same size and steps


@pytest.mark.parametrize(("override", "message"), [
    ("task.generator=nestin", "task.generator"),
    ("task.length=61", "task.length"),
    ("task.max_length=60", "task.max_length"),
    ("tokenizer.vocab_size=499", "task.vocab_size"),
    ("task.mean_distance=0.5", "task.mean_distance"),
])
def test_bad_values_fail_when_the_recipe_loads(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config([f"recipe={recipe_path('pretrain')}", override])


def test_the_topic_proxy_trains_from_scratch(tmp_path):
    cfg = load_config([f"recipe={recipe_path('acceptability')}", "preset=smoke", "row=scratch", "task.proxy=topic",
                       "model.num_layers=1", "model.hidden_size=32", "model.num_heads=2", "model.intermediate_size=64",
                       f"run_dir={tmp_path}"])
    results = run.train(cfg)
    assert set(results["test"]) >= {"accuracy", "macro_f1"} and 0 <= results["test"]["accuracy"] <= 100
