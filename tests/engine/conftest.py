"""Engine fixtures: a toy plugin whose task draws from every RNG a task may use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DRAWING_TASK = '''"""The toy task, drawing on every batch from Python's, NumPy's and torch's RNGs and from its own."""

import random

import numpy as np
import torch

from .task import MajorityTask


class DrawingMajorityTask(MajorityTask):
    """Scales each loss by random draws, so the weights depend on every generator's stream."""

    def __init__(self, cfg, tokenizer=None):
        super().__init__(cfg, tokenizer)
        self.own = np.random.default_rng(7)

    def loss(self, model, batch):
        loss, outputs = super().loss(model, batch)
        draws = random.random() + np.random.random() + float(torch.rand(())) + float(self.own.random())
        return loss * (1.0 + 0.1 * draws), outputs

    def rng_state(self):
        return {"own": self.own.bit_generator.state}

    def load_rng_state(self, state):
        if "own" in state:
            self.own.bit_generator.state = state["own"]
'''


@pytest.fixture(scope="session")
def drawing_plugin_dir(tmp_path_factory) -> Path:
    """A folder with the plugin ``drawtoy``: the `new-plugin` skeleton plus task ``drawtoy_drawing``."""
    from ssl_universal.scaffold import write_plugin

    parent = tmp_path_factory.mktemp("drawing_plugins")
    plugin = write_plugin("drawtoy", parent)
    (plugin / "drawing.py").write_text(DRAWING_TASK)
    with open(plugin / "__init__.py", "a") as handle:
        handle.write('\nfrom .drawing import DrawingMajorityTask  # noqa: E402\n\n'
                     'register_task("drawtoy_drawing")(DrawingMajorityTask)\n')
    return parent


#: A run of the drawing task small enough to kill and resume many times.
DRAWING_OVERRIDES = [
    "recipe=drawtoy/demo", "task.name=drawtoy_drawing", "task.num_train=128", "task.num_eval=32",
    "model.dim=16", "model.layers=1", "model.dropout=0.1", "trainer.batch_size=8", "trainer.grad_accum_steps=2",
    "trainer.eval_every=10", "trainer.save_every=3", "trainer.log_every=1", "trainer.lr=1e-3", "trainer.warmup_steps=2",
    "trainer.progress_bar=false", "trainer.tensorboard=false",
]


@pytest.fixture
def drawing_overrides() -> list[str]:
    return list(DRAWING_OVERRIDES)


@pytest.fixture
def drawing_env(drawing_plugin_dir) -> dict:
    """Environment for CLI subprocesses that see the drawing plugin."""
    repo = Path(__file__).resolve().parents[2]
    return {**os.environ, "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "SSL_UNIVERSAL_PLUGIN_DIRS": str(drawing_plugin_dir), "OMP_NUM_THREADS": "1"}


@pytest.fixture
def drawing_config(drawing_plugin_dir, tmp_path):
    """``drawing_config(*overrides)`` → a loaded config of the drawing run, writing under tmp_path/run."""
    from ssl_universal.config import load_config

    def make(*overrides: str):
        return load_config([*DRAWING_OVERRIDES, f"plugin_dirs=[{drawing_plugin_dir}]", f"run_dir={tmp_path / 'run'}",
                            *overrides])

    return make


@pytest.fixture
def results_of():
    """``results_of(path)``: a run's results.json without its ``timing`` (wall and CPU seconds differ
    between any two runs, the rest must not)."""
    import json

    def read(path) -> dict:
        results = json.loads(Path(path).read_text())
        results.pop("timing", None)
        return results

    return read
