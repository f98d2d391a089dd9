"""The artificial plugin: pre-training on generated token sequences, then transfer to English (SCIENCE.md §4).

Reading order: ``generators.py`` (uniform, unigram, bigram, nesting, flat; shuffled) → ``bigram.py`` (the
bigram model of real English) → ``tokenizer.py`` (artificial tokens; English word pieces) → ``tasks.py``
(``artificial_mlm`` pre-training; the English proxy tasks, data in ``english.py``) → ``model.py`` (the
masked LM saved as a backbone with its token frequencies) → ``reference.py`` (generator ``english``: real text
in the same ids, the upper reference) → ``table.py`` (the verb ``artificial-table``). The transfer itself is the core's
(``ssl_universal.models.transfer``: ``random``, ``most_frequent``, ``scratch``).
"""

import importlib.resources
from pathlib import Path

from ssl_universal.registry import register_model, register_task, register_tokenizer

from .model import artificial_masked_lm
from .tasks import ArtificialMLMTask, EnglishProxyTask
from .tokenizer import ArtificialTokenizer, EnglishPiecesTokenizer


def recipe_path(name: str) -> Path:
    """The packaged recipe ``name`` (pretrain, acceptability, topic), loadable before the plugin's entry point is installed."""
    return Path(str(importlib.resources.files(__package__) / "recipes" / f"{name}.yaml"))


register_tokenizer("artificial")(ArtificialTokenizer)
register_tokenizer("english_pieces")(EnglishPiecesTokenizer)
register_task("artificial_mlm")(ArtificialMLMTask)
register_task("english_proxy")(EnglishProxyTask)
register_model("artificial_masked_lm")(artificial_masked_lm)

__all__ = ["recipe_path", "ArtificialMLMTask", "ArtificialTokenizer", "EnglishPiecesTokenizer", "EnglishProxyTask"]
