"""The protein plugin: amino-acid sequences through a text-pretrained BERT (SCIENCE.md §2).

Reading order: ``tokenizer.py`` (residues → ids) → ``ssl_universal/data/sequence_files.py`` (FASTA/TSV
readers) → ``ssl_universal/data/sequence_task.py`` (length policy, per-sequence scoring) → ``tasks.py``
(classification, regression) → ``synthetic.py`` (generated data) → ``prepare.py`` (modlamp peptide sets, TAPE
JSON, DeepLoc FASTA).
"""

from ssl_universal.registry import register_task, register_tokenizer

from .tasks import ProteinClassificationTask, ProteinRegressionTask
from .tokenizer import ProteinTokenizer

register_tokenizer("protein")(ProteinTokenizer)
register_task("protein_classification")(ProteinClassificationTask)
register_task("protein_regression")(ProteinRegressionTask)

__all__ = ["ProteinClassificationTask", "ProteinRegressionTask", "ProteinTokenizer"]
