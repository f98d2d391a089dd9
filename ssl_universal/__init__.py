"""ssl-universal: one engine for research on how self-supervised models transfer across modalities."""

from .errors import (
    CheckpointError,
    ConfigError,
    DataError,
    NonFiniteLossError,
    PluginError,
    RegistryError,
    SSLUniversalError,
)
from .registry import MODELS, TASKS, TOKENIZERS, register_model, register_task, register_tokenizer

# Task and Tokenizer pull in torch; load them on first use so light tools (metrics, the
# spoken-QA scorer, `--help`) start fast.
_LAZY = {"Task": "task", "TaskConfig": "task", "Tokenizer": "tokenizer", "TokenizerConfig": "tokenizer"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'ssl_universal' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "MODELS",
    "TASKS",
    "TOKENIZERS",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "NonFiniteLossError",
    "PluginError",
    "RegistryError",
    "SSLUniversalError",
    "Task",
    "TaskConfig",
    "Tokenizer",
    "TokenizerConfig",
    "__version__",
    "register_model",
    "register_task",
    "register_tokenizer",
]
