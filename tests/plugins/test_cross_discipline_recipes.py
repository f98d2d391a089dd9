"""The cross-discipline recipes: the default is the faithful experiment, every row loads, and the sizes below
it are named presets (the experiment itself is not trained here: that is the README tables' job)."""

import pytest

from ssl_universal.config import load_config
from ssl_universal.run import train

RECIPES = ["dna/splice", "dna/histone", "protein/amp", "protein/localization", "protein/stability",
           "protein/fluorescence", "music/composer"]
ROWS = {"bert": "random", "re_emb": "reinit", "rand": "scratch", "most_frequent": "most_frequent",
        "least_frequent": "least_frequent"}


@pytest.mark.parametrize("recipe", RECIPES)
def test_the_default_is_the_whole_backbone_on_all_the_data_measured_in_epochs(recipe):
    cfg = load_config([f"recipe={recipe}"])
    assert cfg.model.num_layers is None and cfg.model.backbone == "default"  # all 6 layers of the packaged BERT
    assert cfg.trainer.max_epochs is not None and cfg.trainer.early_stopping_patience is not None
    assert cfg.trainer.batch_size == 32 and cfg.trainer.precision == "fp32"
    assert getattr(cfg.task, "limit_train", None) is None  # no subsampling of the training data
    for row, assignment in ROWS.items():
        with_row = load_config([f"recipe={recipe}", f"row={row}"])
        assert with_row.model.assignment == assignment and with_row.row == row
    assert load_config([f"recipe={recipe}", "row=rand"]).trainer.lr > cfg.trainer.lr  # scratch gets a larger lr


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [r for r in RECIPES if r != "music/composer"])
def test_the_faithful_default_runs_a_few_steps(recipe, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "cache"))
    cfg = load_config([f"recipe={recipe}", "trainer.max_steps=2", "trainer.eval_every=2", "trainer.test_split=null",
                       "trainer.tensorboard=false", "trainer.threads=1", f"run_dir={tmp_path / 'run'}"])
    results = train(cfg)
    assert results["steps"] == 2 and results["stopped"] == "max_steps" and results["best"]


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_the_smoke_preset_trains_end_to_end_in_seconds(recipe, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "cache"))
    results = train(load_config([f"recipe={recipe}", "preset=smoke", "row=rand", "trainer.threads=1",
                                 f"run_dir={tmp_path / 'run'}"]))
    assert results["steps"] == 6 and results["test"] is not None
