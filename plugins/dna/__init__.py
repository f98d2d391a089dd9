"""The DNA plugin: nucleotide sequences through a text-pretrained BERT (SCIENCE.md §2: splice, histone marks).

Reading order: ``tokenizer.py`` (bases or k-mers → ids) → ``ssl_universal/data/sequence_files.py`` (FASTA/TSV
readers) → ``ssl_universal/data/sequence_task.py`` (length policy, per-sequence scoring) → ``tasks.py`` →
``synthetic.py`` (generated splice / histone data) → ``prepare.py`` (the UCI splice and histone-mark files, for
users who have them).
"""

from ssl_universal.registry import register_task, register_tokenizer

from .tasks import DnaClassificationTask
from .tokenizer import DnaTokenizer

register_tokenizer("dna")(DnaTokenizer)
register_task("dna_classification")(DnaClassificationTask)

__all__ = ["DnaClassificationTask", "DnaTokenizer"]
