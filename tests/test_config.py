"""Configs: recipes + overrides checked against dataclasses before any work starts."""

import pytest

from ssl_universal.config import expand_sweeps, load_config
from ssl_universal.errors import ConfigError


def test_overrides_reach_typed_fields(toy_config):
    cfg = toy_config("trainer.lr=0.01", "model.dim=48", "task.num_train=100", "seed=7")
    assert cfg.trainer.lr == 0.01 and isinstance(cfg.trainer.lr, float)
    assert cfg.model.dim == 48 and cfg.task.num_train == 100 and cfg.seed == 7
    assert cfg.trainer.precision == "fp32"  # untouched defaults are filled in
    assert cfg.recipe == "toy/demo"


def test_mistyped_key_fails_with_did_you_mean(toy_config):
    with pytest.raises(ConfigError) as err:
        toy_config("trainer.max_step=5")
    message = str(err.value)
    assert "unknown key 'trainer.max_step'" in message
    assert "did you mean 'max_steps'" in message
    assert "command-line override" in message


def test_mistyped_key_in_task_section_uses_the_task_schema(toy_config):
    with pytest.raises(ConfigError, match="num_trian.*did you mean 'num_train'"):
        toy_config("task.num_trian=5")


def test_value_of_the_wrong_type_is_refused(toy_config):
    with pytest.raises(ConfigError, match="trainer.max_steps"):
        toy_config("trainer.max_steps=many")


def test_value_outside_its_choices_is_refused(toy_config):
    with pytest.raises(ConfigError, match="'trainer.precision'.*'bf61'.*did you mean 'bf16'"):
        toy_config("trainer.precision=bf61")


def test_unknown_task_name_suggests(toy_config):
    with pytest.raises(KeyError, match="did you mean 'toy_majority'"):
        toy_config("task.name=toy_majorty")


def test_recipe_typo_names_file_and_line(toy_plugin_dir, tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("task:\n  name: toy_majority\nmodel:\n  name: toy_tiny\ntrainer:\n  max_steps: 3\n  lr_rate: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_config([f"recipe={recipe}", f"plugin_dirs=[{toy_plugin_dir}]"])
    message = str(err.value)
    assert "trainer.lr_rate" in message and str(recipe) in message and "line 7" in message


def test_unknown_recipe_lists_known_ones(toy_plugin_dir):
    with pytest.raises(ConfigError, match="recipe 'toy/dmeo' not found.*did you mean 'toy/demo'"):
        load_config(["recipe=toy/dmeo", f"plugin_dirs=[{toy_plugin_dir}]"])


def test_sweep_needs_multirun(toy_config):
    with pytest.raises(ConfigError, match="sweep.*-m"):
        toy_config("seed=0,1")


def test_sweeps_expand_to_the_cartesian_product():
    jobs = expand_sweeps(["recipe=x", "seed=0,1", "model.assignment=random,reinit"])
    assert jobs == [
        ["recipe=x", "seed=0", "model.assignment=random"],
        ["recipe=x", "seed=0", "model.assignment=reinit"],
        ["recipe=x", "seed=1", "model.assignment=random"],
        ["recipe=x", "seed=1", "model.assignment=reinit"],
    ]


def test_dry_run_prints_resolved_config(cli):
    out = cli("train", "--dry-run", "recipe=toy/demo", "trainer.lr=0.5").stdout
    assert "lr: 0.5" in out and "name: toy_majority" in out


def test_cli_reports_config_errors_without_traceback(cli):
    result = cli("train", "recipe=toy/demo", "trainer.bach_size=4", check=False)
    assert result.returncode == 2
    assert "did you mean 'batch_size'" in result.stderr
    assert "Traceback" not in result.stderr


def test_options_may_follow_the_overrides(cli, tmp_path):
    out = cli("train", "-m", "--dry-run", "recipe=toy/demo", "--sweep-dir", str(tmp_path), "seed=0,1").stdout
    assert out.count("name: toy_majority") == 2 and "seed: 1" in out
