"""The FPT recipes end to end: config-time checks, every smoke preset trains, baselines, the table command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ssl_universal import run
from ssl_universal.config import load_config
from ssl_universal.errors import ConfigError
from ssl_universal_plugins.fpt import baselines
from ssl_universal_plugins.fpt.table import main as fpt_table
from ssl_universal_plugins.fpt.table import recipe_path
from ssl_universal_plugins.fpt.table_report import COLUMNS
from ssl_universal_plugins.fpt.tasks import BitMemoryConfig, BitMemoryTask, BitXorConfig, BitXorTask


@pytest.mark.parametrize("row", ["pretrained", "statistics_only", "default", "finetuned", "scratch_trained"])
def test_every_row_of_every_recipe_loads(row):
    for task in COLUMNS:
        cfg = load_config([f"recipe={recipe_path(task)}", f"row={row}", "preset=quick"])
        assert cfg.row == row and cfg.model.pooling == "last"
    frozen = {"pretrained": "fpt", "statistics_only": "fpt", "default": "fpt", "finetuned": "none", "scratch_trained": "none"}
    assert cfg.model.freeze_policy == frozen[row]


def test_bad_values_fail_when_the_config_loads():
    with pytest.raises(ConfigError, match="task.patch_size.*does not divide n=50"):
        load_config([f"recipe={recipe_path('memory')}", "task.patch_size=7"])
    with pytest.raises(ConfigError, match="task.patch_size.*does not divide the 28-pixel side"):
        load_config([f"recipe={recipe_path('fashion')}", "task.patch_size=5"])
    with pytest.raises(ConfigError, match="task.data_dir.*cifar10 is read from files you have"):
        load_config([f"recipe={recipe_path('fashion')}", "task.dataset=cifar10"])
    with pytest.raises(ConfigError, match="model.pooling.*'lats'"):
        load_config([f"recipe={recipe_path('xor')}", "model.pooling=lats"])


@pytest.mark.parametrize("task", list(COLUMNS))
def test_smoke_preset_trains_on_a_tiny_backbone(task, tiny_bert_dir, tmp_path):
    cfg = load_config([f"recipe={recipe_path(task)}", "preset=smoke", "row=pretrained", f"model.backbone={tiny_bert_dir}",
                       f"run_dir={tmp_path}", "trainer.max_steps=2", "trainer.eval_every=2"])
    results = run.train(cfg)
    assert results["steps"] == 2 and 0.0 <= results["test"]["accuracy"] <= 100.0
    hf = tmp_path / "best" / "hf"
    assert (hf / ("symbol_mapping.json" if task == "listops" else "input_layer.json")).is_file()


def test_baselines_are_chance_on_xor_and_copying_on_memory():
    xor = BitXorTask(BitXorConfig(num_train=2000, num_eval=500))
    lr = baselines.logistic_regression(xor)
    assert 40 < lr["test"] < 60  # XOR is not linearly separable
    memory = BitMemoryTask(BitMemoryConfig(n=20, patch_size=10, num_train=500, num_eval=400))
    copy = baselines.copy_visible_bits(memory)
    assert 72 < copy["test"] < 78  # shown half right, hidden half a coin
    chance = baselines.majority(memory)
    assert 45 < chance["test"] < 55
    x, y = baselines.features(memory, "valid")
    assert x.shape == (400, 6 * 20) and y.shape == (400, 20)


def test_fpt_table_trains_reports_and_resumes(tiny_bert_dir, tmp_path, capsys):
    args = ["--out", str(tmp_path), "--size", "smoke", "--tasks", "xor", "--rows", "pretrained,default",
            "--lrs", "1e-3,3e-3", "--seeds", "0,1", "--tune", "first", "-o", f"model.backbone={tiny_bert_dir}"]
    assert fpt_table(args) == 0
    first = capsys.readouterr().out
    runs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("xor/*/*/*/results.json"))
    assert len(runs) == 2 * (2 + 1)  # per row: both rates on seed 0, then seed 1 at the chosen rate
    assert not list(tmp_path.glob("xor/*/*/*/best"))  # weights deleted
    table = (tmp_path / "table.md").read_text()
    assert "| pretrained |" in table and "| default (random init) |" in table and "*logistic regression*" in table
    assert "lr 1e-03" in table and "lr 3e-03" in table
    assert first.count("done before") == 0
    assert fpt_table(args) == 0
    assert capsys.readouterr().out.count("done before") == 6  # nothing trains again
    cached = json.loads((tmp_path / "xor" / "baselines.json").read_text())
    assert set(cached) == {"chance (majority class)", "logistic regression"}


def test_gpt2_folder_runs_the_bit_task_with_its_module_names_frozen(tmp_path):
    from transformers import GPT2Config, GPT2Model

    folder = tmp_path / "gpt2"
    torch.manual_seed(5)
    GPT2Model(GPT2Config(vocab_size=10, n_positions=64, n_embd=32, n_layer=2, n_head=2, bos_token_id=0,
                         eos_token_id=0)).save_pretrained(str(folder))
    cfg = load_config([f"recipe={recipe_path('xor')}", "preset=smoke", f"model.backbone={folder}", f"run_dir={tmp_path / 'run'}"])
    task, model = run.build(cfg)
    assert all(".attn." in n or ".mlp." in n for n in model.frozen_parameters) and len(model.frozen_parameters) == 16
    assert model.vector_input.projection.weight.requires_grad and model.hf.wpe.weight.requires_grad
    batch = task.collate([task.dataset("train")[i] for i in range(4)])
    assert model(**batch)["logits"].shape == (4, 5, 2)
    assert np.isfinite(float(model(**batch)["loss"].detach()))


def test_the_best_rate_is_judged_on_the_seeds_every_rate_has():
    from ssl_universal_plugins.fpt.table_report import RunResult, best_lrs

    def result(lr, seed, valid):
        return RunResult("xor", "pretrained", lr, seed, valid, valid, 10, "max_steps")

    # tuned on seed 0: 3e-3 won there; its later seeds are worse than 1e-3's single run, which must not win afterwards
    runs = [result(1e-3, 0, 70.0), result(3e-3, 0, 72.0), result(3e-3, 1, 60.0), result(3e-3, 2, 61.0)]
    assert best_lrs(runs) == {("xor", "pretrained"): 3e-3}
    every_seed = [result(1e-3, 0, 70.0), result(1e-3, 1, 70.0), result(3e-3, 0, 72.0), result(3e-3, 1, 60.0)]
    assert best_lrs(every_seed) == {("xor", "pretrained"): 1e-3}  # mean 70 beats mean 66
