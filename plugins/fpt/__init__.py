"""The FPT plugin: a frozen pre-trained transformer on bits, ListOps and images (SCIENCE.md §3, arXiv 2103.05247).

Reading order: ``bits.py`` (bit memory, bit XOR) → ``listops.py`` (LRA's grammar, .tsv files, tokenizer) →
``images.py`` (digits, IDX, CIFAR-10 readers; patches) → ``vectors.py`` (the task side of real-valued
input) → ``tasks.py`` → ``baselines.py`` (chance and logistic regression on the same splits) → ``table.py``
(the init × task table with its learning-rate sweep). The model side is the core's: real-valued input in
``ssl_universal/models/vector_input.py``, the ``fpt`` freeze and ``statistics_only`` init in ``transfer.py``.
"""

from ssl_universal.registry import register_task, register_tokenizer

from .listops import ListOpsTokenizer
from .tasks import BitMemoryTask, BitXorTask, ImagePatchesTask, ListOpsTask

register_tokenizer("listops")(ListOpsTokenizer)
register_task("bit_memory")(BitMemoryTask)
register_task("bit_xor")(BitXorTask)
register_task("listops")(ListOpsTask)
register_task("image_patches")(ImagePatchesTask)

__all__ = ["BitMemoryTask", "BitXorTask", "ImagePatchesTask", "ListOpsTask", "ListOpsTokenizer"]
