"""Fixtures of the protein tests (the task builder and training loop are in tests/plugins/conftest.py)."""

import pytest

from ssl_universal.plugins import load_plugins


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Prepared data goes to a temporary cache, never the user's; plugin modules are importable."""
    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "cache"))
    load_plugins()
