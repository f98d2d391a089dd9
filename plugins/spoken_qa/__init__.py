"""Spoken question answering: a spoken SQuAD-style dataset, DUAL on speech units, the ASR cascade (SCIENCE.md §6).

Modules (read top to bottom; README.md beside this file has the commands and the table):
  timing    word times of synthetic speech: espeak-ng SSML marks (libespeak-ng), pocketsphinx alignment and ASR
  dataset   the dataset builder: fortune passages, cloze questions, voices, gold spans in seconds, summary table
  units_qa  the ``speech_units`` tokenizer and the ``spoken_qa_units`` task (windows, top-k span decoding, FF1/AOS)
  cascade   pocketsphinx ASR of passages and questions, WER, and text QA on the transcripts (EM/F1)
  table     ``ssl-universal spoken-qa-table``: dataset, units, every assignment row over seeds, the cascade, the table
"""

from ssl_universal.registry import register_task, register_tokenizer

from .units_qa import UnitQATask, UnitTokenizer

register_tokenizer("speech_units")(UnitTokenizer)
register_task("spoken_qa_units")(UnitQATask)
