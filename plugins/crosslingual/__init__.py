"""The crosslingual plugin: a multilingual BERT of our own, Fake-English, and zero-shot transfer matrices (SCIENCE.md §1).

Reading order: ``corpus.py`` (documents per language from offline packages; seeded splits) → ``fake.py`` (the
Fake-English character map) → ``vocab.py`` (joint WordPiece vocabulary) → ``model.py`` (the masked LM saved as a
backbone) → ``finetune.py`` (cloze QA and POS sets per language) → ``matrix.py`` (train on A, score on every B;
tables from run folders) → ``table.py`` (the ``crosslingual-table`` verb). Pre-training itself is the text plugin's
``masked_lm`` task on the core engine; fine-tuning is its ``extractive_qa`` and ``token_classification`` tasks on
files this plugin writes. ``parallel.py`` reads parallel text (gettext catalogs, Bibles).
"""

import importlib.resources
from pathlib import Path

from ssl_universal.registry import register_model

from .model import crosslingual_masked_lm


def recipe_path(name: str) -> Path:
    """The packaged recipe ``name`` (pretrain, qa, pos), loadable before the plugin's entry point is installed."""
    return Path(str(importlib.resources.files(__package__) / "recipes" / f"{name}.yaml"))


register_model("crosslingual_masked_lm")(crosslingual_masked_lm)

__all__ = ["recipe_path", "crosslingual_masked_lm"]
