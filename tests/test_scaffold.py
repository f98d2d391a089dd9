"""`ssl-universal new-plugin` writes a plugin that registers, trains and improves its loss."""

import json

import pytest

from ssl_universal.config import load_config
from ssl_universal.errors import ConfigError
from ssl_universal.run import train
from ssl_universal.scaffold import write_plugin


@pytest.mark.slow
def test_new_plugin_skeleton_trains_out_of_the_box(tmp_path, cli, isolated_plugins):
    cli("new-plugin", "dna_toy", "--dir", str(tmp_path / "mine"))
    folder = tmp_path / "mine" / "dna_toy"
    for name in ("__init__.py", "tokenizer.py", "task.py", "model.py", "recipes/demo.yaml", "tests/test_dna_toy.py", "README.md"):
        assert (folder / name).is_file(), name
    cfg = load_config(["recipe=dna_toy/demo", f"plugin_dirs=[{tmp_path / 'mine'}]", f"run_dir={tmp_path / 'run'}",
                       "trainer.max_steps=60", "trainer.eval_every=30", "task.num_train=512"])
    results = train(cfg)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if r["split"] == "train"]
    assert losses[-1] < 0.8 * losses[0]
    assert results["test"]["accuracy"] > 65.0


def test_new_plugin_refuses_bad_names_and_existing_folders(tmp_path):
    with pytest.raises(ConfigError, match="lower-case Python identifier"):
        write_plugin("My-Plugin", tmp_path)
    write_plugin("ok", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        write_plugin("ok", tmp_path)
