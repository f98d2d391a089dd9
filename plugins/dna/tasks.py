"""DNA tasks: sequence classification (splice junctions, histone marks) over bases or k-mers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ssl_universal.data.sequence_files import Record, read_records
from ssl_universal.data.sequence_task import SequenceFilesConfig, SymbolSequenceTask
from ssl_universal.schema import choice

from . import synthetic


@dataclass
class DnaClassificationConfig(SequenceFilesConfig):
    """A labelled DNA set: FASTA or TSV/CSV files under data_dir, or a generated set."""

    dataset: str = choice("synthetic_splice", "synthetic_histone")  # with data_dir null: synthetic_splice (EI/IE/N) | synthetic_histone (0/1); real data: `ssl-universal prepare-dna`, then task.data_dir
    num_train: int = 600  # generated sets: training sequences
    num_eval: int = 150  # generated sets: valid and test sequences each


class DnaClassificationTask(SymbolSequenceTask):
    """One class per DNA sequence, scored by accuracy and macro-F1 per sequence (windows vote)."""

    Config = DnaClassificationConfig
    default_tokenizer = "dna"
    best_metric = "accuracy"
    best_mode = "max"

    def records(self, split: str) -> list[Record]:
        cfg = self.cfg
        if cfg.data_dir is not None or cfg.data_file is not None:
            return read_records(cfg, Path(cfg.data_dir or ".").expanduser(), split)
        size = cfg.num_train if split == "train" else cfg.num_eval
        offset = {"train": 0, "valid": 1, "test": 2}[split]
        return synthetic.GENERATORS[cfg.dataset](size, seed=cfg.data_seed * 3 + offset)
