"""Configs: recipes + overrides checked against dataclasses before any work starts."""

import json
import re
import sys

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


# -- every restricted value and range is checked when the config loads (so --dry-run catches it) --
BAD_VALUES = [
    ("model.assignment=most_frequnt", "'model.assignment'", "expected one of none, random, most_frequent", "did you mean 'most_frequent'"),
    ("model.freeze_policy=fpt2", "'model.freeze_policy'", "expected one of none, fpt", "did you mean 'fpt'"),
    ("model.init=statistics", "'model.init'", "expected one of pretrained, statistics_only", "did you mean 'statistics_only'"),
    ("model.pooling=max", "'model.pooling'", "expected one of cls, mean", ""),
    ("trainer.lr=-1", "'trainer.lr'", "expected a number > 0", "e.g. the default 5e-05"),
    ("trainer.save_every=0", "'trainer.save_every'", "expected a number >= 1", "e.g. the default 100"),
    ("trainer.warmup_ratio=5", "'trainer.warmup_ratio'", "expected a number >= 0 and <= 1", "e.g. the default 0.0"),
    ("trainer.keep_last=0", "'trainer.keep_last'", "expected a number >= 1", "e.g. the default 2"),
    ("trainer.best_mode=maximum", "'trainer.best_mode'", "expected one of max, min", "did you mean 'max'"),
    ("trainer.schedule=cosin", "'trainer.schedule'", "expected one of linear, constant, cosine", "did you mean 'cosine'"),
    ("task.overlong=trunc", "'task.overlong'", "expected one of", "did you mean 'truncate'"),
    ("model.dropout=1.5", "'model.dropout'", "expected a number >= 0 and < 1", ""),
    ("trainer.device=gpu", "'trainer.device'", "expected auto, cpu, cuda or cuda:N", ""),
]


@pytest.mark.parametrize("override,key,allowed,suggestion", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_dry_run_refuses_each_bad_value_naming_key_allowed_values_and_a_suggestion(override, key, allowed, suggestion, capsys):
    from ssl_universal.cli import main

    assert main(["train", "--dry-run", "recipe=dna/splice", override]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no config printed: nothing would have run
    message = captured.err
    assert key in message and allowed in message and suggestion in message
    assert f"command-line override {override!r}" in message


def test_cross_field_rule_lives_in_the_config_and_fails_at_load():
    with pytest.raises(ConfigError, match="'model.assignment'.*needs `tokenizer: backbone`.*tokenizer is 'dna'"):
        load_config(["recipe=dna/splice", "model.assignment=none"])
    with pytest.raises(ConfigError, match="'model.hidden_size'.*only with assignment 'scratch'"):
        load_config(["recipe=dna/splice", "model.hidden_size=64"])


def test_a_sweep_with_one_bad_value_in_its_last_combination_fails_before_the_first_run(tmp_path, capsys):
    from ssl_universal.cli import main

    sweep = tmp_path / "sweep"
    code = main(["train", "-m", "recipe=dna/splice", "seed=0,1", "trainer.lr=1e-4,-1", "--sweep-dir", str(sweep)])
    assert code == 2
    err = capsys.readouterr().err
    assert "sweep combination 2 of 4" in err and "nothing was run" in err and "'trainer.lr'" in err
    assert not sweep.exists()  # not even the sweep folder was made


def test_setting_the_model_backbone_alone_makes_the_tokenizer_follow(tmp_path):
    cfg = load_config(["recipe=text/classification", f"model.backbone={tmp_path}"])
    assert cfg.tokenizer.name == "backbone" and cfg.tokenizer.backbone == str(tmp_path)
    default = load_config(["recipe=text/classification"])
    assert default.tokenizer.backbone == default.model.backbone == "default"


def test_the_task_default_tokenizer_is_written_into_the_config():
    cfg = load_config(["recipe=dna/splice", "tokenizer=null"])
    assert cfg.tokenizer.name == "dna"


def test_a_config_built_in_code_is_checked_by_the_same_rules():
    from ssl_universal.registry import MODELS
    from ssl_universal.schema import FieldError

    with pytest.raises(FieldError, match="'model.assignment'.*did you mean 'reinit'"):
        MODELS.get("seq_classifier").build_config({"assignment": "reinti"})


RECIPE_WITH_ROWS = """
task: {name: dna_classification, dataset: synthetic_splice, num_train: 600}
model: {name: seq_classifier, assignment: random}
trainer: {lr: 5.0e-5, max_steps: 1000}
rows:
  bert: {model.assignment: random}
  rand: {model.assignment: scratch, trainer.lr: 1.0e-4}
presets:
  smoke: {task.num_train: 32, trainer.max_steps: 5}
"""


def test_rows_and_presets_are_named_override_sets_of_the_recipe(tmp_path):
    recipe = tmp_path / "splice_rows.yaml"
    recipe.write_text(RECIPE_WITH_ROWS)
    plain = load_config([f"recipe={recipe}"])
    assert (plain.model.assignment, plain.trainer.lr, plain.trainer.max_steps) == ("random", 5e-5, 1000)
    rand = load_config([f"recipe={recipe}", "row=rand", "preset=smoke"])
    assert (rand.model.assignment, rand.trainer.lr, rand.trainer.max_steps, rand.task.num_train) == ("scratch", 1e-4, 5, 32)
    assert rand.row == "rand" and rand.preset == "smoke"
    explicit = load_config([f"recipe={recipe}", "row=rand", "trainer.lr=3e-4"])  # the command line wins
    assert explicit.trainer.lr == 3e-4
    with pytest.raises(ConfigError, match=r"row='rnd' \(did you mean 'rand'\?\).*rows: bert, rand"):
        load_config([f"recipe={recipe}", "row=rnd"])
    recipe.write_text(RECIPE_WITH_ROWS + "  broken: {trainer.max_step: 5}\n")
    with pytest.raises(ConfigError, match=r"unknown key 'trainer.max_step'.*preset 'broken'"):
        load_config([f"recipe={recipe}", "preset=broken"])


RECIPE_WITH_ENTRY_ROWS = """
task: {name: dna_classification, dataset: synthetic_splice, num_train: 600}
tokenizer: {name: dna, k: 3, stride: 3, unknown: unk}
model: {name: seq_classifier, assignment: random}
rows:
  kmer: {tokenizer.k: 6}
  text_vocab: {tokenizer: backbone, model.assignment: none}
  renamed: {tokenizer.name: dna_other}
  broken: {tokenizer: {k: 2}}
presets:
  bases: {tokenizer: dna}
  pairs: {tokenizer.k: 2}
"""


def test_a_row_or_preset_can_pick_another_entry(tmp_path):
    recipe = tmp_path / "entry_rows.yaml"
    recipe.write_text(RECIPE_WITH_ENTRY_ROWS)
    assert load_config([f"recipe={recipe}", "row=kmer"]).tokenizer.k == 6
    text = load_config([f"recipe={recipe}", "row=text_vocab"])  # a new entry, none of the dna options
    assert text.tokenizer.name == "backbone" and "k" not in text.tokenizer and text.model.assignment == "none"
    assert text.tokenizer.backbone == "default"  # the backbone tokenizer follows model.backbone as usual
    bases = load_config([f"recipe={recipe}", "preset=bases"])  # picked afresh: the dna defaults, not k=3
    assert (bases.tokenizer.name, bases.tokenizer.k, bases.tokenizer.unknown) == ("dna", 1, "error")
    # preset, then row, then the command line: each later choice wins
    assert load_config([f"recipe={recipe}", "preset=bases", "row=text_vocab"]).tokenizer.name == "backbone"
    # a row that picks a new entry starts the section afresh, also over what a preset set there for the old one
    assert load_config([f"recipe={recipe}", "preset=pairs", "row=text_vocab"]).tokenizer.name == "backbone"
    assert load_config([f"recipe={recipe}", "preset=pairs", "row=kmer"]).tokenizer.k == 6
    assert load_config([f"recipe={recipe}", "row=text_vocab", "tokenizer=dna", "model.assignment=random"]).tokenizer.name == "dna"
    from ssl_universal.errors import RegistryError

    with pytest.raises(RegistryError, match="unknown tokenizer 'dna_other'"):  # `tokenizer.name:` is an entry too
        load_config([f"recipe={recipe}", "row=renamed"])
    with pytest.raises(ConfigError, match=r"row 'broken': tokenizer: expected the name of a registered tokenizer"):
        load_config([f"recipe={recipe}", "row=broken"])


def test_a_sweep_in_a_clock_named_folder_says_how_to_resume_it(cli_env, tmp_path):
    import subprocess

    from tests.conftest import TOY_OVERRIDES

    small = [o for o in TOY_OVERRIDES if not o.startswith(("trainer.max_steps", "trainer.eval_every", "trainer.save_every"))]
    command = [sys.executable, "-m", "ssl_universal.cli", "train", "-m", *small, "trainer.max_steps=4",
               "trainer.warmup_steps=1", "trainer.eval_every=2", "trainer.save_every=2", "seed=0,1"]
    first = subprocess.run(command, env=cli_env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=True)
    said = re.search(r"sweep folder (\S+); if stopped, the same command with --sweep-dir (\S+) resumes it", first.stdout)
    assert said and said.group(1) == said.group(2)
    folder = tmp_path / said.group(1)
    assert len(json.loads((folder / "sweep.json").read_text())["runs"]) == 2
    again = subprocess.run([*command, "--sweep-dir", str(folder)], env=cli_env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=300, check=True)
    assert "sweep folder" not in again.stdout and f"sweep finished: {folder}" in again.stdout
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 2  # the same two runs, no new folders
    assert not [p for p in (tmp_path / "outputs").rglob("sweep-*") if p != folder]  # and no second clock-named sweep
