"""Fixtures for the speech plugin's tests: its modules, loaded the way the framework loads plugins."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import soundfile as sf


def speech_module(name: str):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    return importlib.import_module(f"ssl_universal_plugins.speech.{name}")


@pytest.fixture(scope="session")
def audio():
    return speech_module("audio")


@pytest.fixture(scope="session")
def distortions():
    return speech_module("distortions")


@pytest.fixture(scope="session")
def units():
    return speech_module("units")


def write_tone(path, seconds=0.5, rate=16000, freq=440.0, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * freq * t)
    data = np.stack([wave * (c + 1) / channels for c in range(channels)], axis=1) if channels > 1 else wave
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate)
    return len(t)


@pytest.fixture(scope="session")
def tone():
    """``tone(path, seconds=0.5, rate=16000, freq=440, channels=1)`` writes a sine file, returns its samples."""
    return write_tone
