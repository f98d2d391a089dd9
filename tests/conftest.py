"""Shared fixtures: a throw-away plugin made by `new-plugin`, and small configs that train in seconds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `pytest -n N`: N worker processes share the cores, so each one's torch (and the subprocesses it starts)
    # computes on one thread; N workers of the default thread count would oversubscribe the machine.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# A toy run small enough for many tests: ~1 s of training.
TOY_OVERRIDES = [
    "recipe=toy/demo",
    "task.num_train=256",
    "task.num_eval=64",
    "model.dim=32",
    "model.layers=1",
    "trainer.max_steps=30",
    "trainer.batch_size=16",
    "trainer.eval_every=10",
    "trainer.save_every=10",
    "trainer.log_every=5",
    "trainer.progress_bar=false",
    "trainer.tensorboard=false",
]


@pytest.fixture
def isolated_plugins():
    """Plugins a test loads (and what they register) are forgotten when it ends; the built-in ones stay.

    Discovery is process-wide state (it imports modules once); this snapshot/restore keeps tests
    that load throw-away plugin folders from leaking into the others.
    """
    from ssl_universal import plugins, registry

    plugins.load_plugins()
    tables = [(r, dict(r._entries)) for r in (registry.TASKS, registry.MODELS, registry.TOKENIZERS)]
    state = (dict(plugins._plugins), list(plugins._failed), set(plugins._done))
    modules = set(sys.modules)
    yield plugins
    for reg, entries in tables:
        reg._entries.clear()
        reg._entries.update(entries)
    plugins._plugins.clear()
    plugins._plugins.update(state[0])
    plugins._failed[:] = state[1]
    plugins._done.clear()
    plugins._done.update(state[2])
    for name in set(sys.modules) - modules:
        del sys.modules[name]


@pytest.fixture(scope="session")
def toy_plugin_dir(tmp_path_factory) -> Path:
    """A folder holding the `toy` plugin exactly as `ssl-universal new-plugin toy` writes it."""
    from ssl_universal.scaffold import write_plugin

    parent = tmp_path_factory.mktemp("user_plugins")
    write_plugin("toy", parent)
    return parent


@pytest.fixture
def toy_config(toy_plugin_dir, tmp_path):
    """``toy_config(*overrides)`` → a loaded config of the small toy run, writing under tmp_path."""
    from ssl_universal.config import load_config

    def make(*overrides: str):
        return load_config([*TOY_OVERRIDES, f"plugin_dirs=[{toy_plugin_dir}]", f"run_dir={tmp_path / 'run'}", *overrides])

    return make


@pytest.fixture
def cli_env(toy_plugin_dir) -> dict:
    """Environment for `python -m ssl_universal.cli` subprocesses that see the toy plugin."""
    return {
        **os.environ,
        "SSL_UNIVERSAL_PLUGIN_DIRS": str(toy_plugin_dir),
        "OMP_NUM_THREADS": "1",
    }


@pytest.fixture
def cli(cli_env):
    """``cli(*args)`` runs `python -m ssl_universal.cli ARGS` and returns the CompletedProcess."""
    import subprocess

    def run(*args: str, check: bool = True, timeout: float = 300, env: dict | None = None):
        return subprocess.run([sys.executable, "-m", "ssl_universal.cli", *args], env=env or cli_env,
                              capture_output=True, text=True, check=check, timeout=timeout)

    return run
