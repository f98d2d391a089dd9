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
from .task import Task, TaskConfig
from .tokenizer import Tokenizer, TokenizerConfig

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
