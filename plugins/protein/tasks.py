"""Protein tasks: localization-style classification and stability/fluorescence-style regression over residues."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ssl_universal.data.sequence_files import Record, read_records
from ssl_universal.data.sequence_task import SequenceFilesConfig, SymbolSequenceTask
from ssl_universal.errors import ConfigError
from ssl_universal.schema import choice

from . import synthetic
from .prepare import MODLAMP_SETS, ensure_modlamp


@dataclass
class ProteinClassificationConfig(SequenceFilesConfig):
    """A labelled protein set: files under data_dir, or a built-in set."""

    dataset: str = choice("amp_uniprot", "amp_tm", "acp_random", "acp_tm", "synthetic_localization")  # with data_dir null: amp_uniprot | amp_tm | acp_random | acp_tm (modlamp) | synthetic_localization
    num_train: int = 400  # generated sets: training sequences
    num_eval: int = 100  # generated sets: valid and test sequences each


@dataclass
class ProteinRegressionConfig(SequenceFilesConfig):
    """Sequences with a real value each: files under data_dir (e.g. prepared TAPE), or a generated set."""

    dataset: str = choice("synthetic_stability", "synthetic_fluorescence")  # with data_dir null: synthetic_stability | synthetic_fluorescence
    num_train: int = 400  # generated sets: training sequences
    num_eval: int = 100  # generated sets: valid and test sequences each


def _records(task: SymbolSequenceTask, split: str, installed: dict) -> list[Record]:
    cfg = task.cfg
    if cfg.data_dir is not None or cfg.data_file is not None:
        return read_records(cfg, Path(cfg.data_dir or ".").expanduser(), split)
    if cfg.dataset in synthetic.GENERATORS and cfg.dataset in installed.get("generated", ()):
        return synthetic.split_records(cfg.dataset, cfg.num_train if split == "train" else cfg.num_eval, cfg.data_seed, split)
    if cfg.dataset in installed.get("modlamp", ()):
        return read_records(cfg, ensure_modlamp(cfg.dataset, cfg.data_seed), split)
    known = [*installed.get("modlamp", ()), *installed.get("generated", ())]
    raise ConfigError(f"task.dataset {cfg.dataset!r} is not a built-in set of {type(task).__name__}; known: {', '.join(known)} (or set task.data_dir)")


class ProteinClassificationTask(SymbolSequenceTask):
    """One class per protein (localization, peptide activity), scored by accuracy and macro-F1 per sequence."""

    Config = ProteinClassificationConfig
    default_tokenizer = "protein"
    best_metric = "accuracy"
    best_mode = "max"

    def records(self, split: str) -> list[Record]:
        return _records(self, split, {"modlamp": tuple(MODLAMP_SETS), "generated": ("synthetic_localization",)})


class ProteinRegressionTask(SymbolSequenceTask):
    """One real value per protein (stability, fluorescence), scored by Spearman ρ and MSE per sequence."""

    Config = ProteinRegressionConfig
    default_tokenizer = "protein"
    regression = True
    best_metric = "spearman"
    best_mode = "max"

    def records(self, split: str) -> list[Record]:
        return _records(self, split, {"generated": ("synthetic_stability", "synthetic_fluorescence")})
