"""The text plugin: classification, extractive QA, token tagging and masked LM on English (or any) text.

Reading order: ``readers.py`` (file formats) → ``common.py`` (split files, cache, tokenizer access)
→ one module per task (``classification``, ``qa`` + ``spans``, ``tagging``, ``mlm``) → ``prepare.py``
(the offline default data, made from the Debian fortunes files). Every task uses the core
``backbone`` tokenizer unless the recipe names another.
"""

from ssl_universal.registry import register_task

from .classification import TextClassificationTask
from .mlm import MaskedLMTask
from .qa import ExtractiveQATask
from .tagging import TokenClassificationTask

register_task("text_classification")(TextClassificationTask)
register_task("extractive_qa")(ExtractiveQATask)
register_task("token_classification")(TokenClassificationTask)
register_task("masked_lm")(MaskedLMTask)

__all__ = [
    "ExtractiveQATask",
    "MaskedLMTask",
    "TextClassificationTask",
    "TokenClassificationTask",
]
