"""The music plugin: note sequences through a text-pretrained BERT (SCIENCE.md §2, composer classification).

Reading order: ``tokenizer.py`` (pitch or pitch+duration events → ids) → ``readers.py`` (MIDI/MusicXML via
music21, cached; folders named by label) → ``corpus.py`` (composer sets from music21's corpus) → ``tasks.py``
(segments, majority vote per piece) → ``synthetic.py`` (generated styles) → ``prepare.py`` (corpus and MAESTRO
folders).
"""

from ssl_universal.registry import register_task, register_tokenizer

from .tasks import ComposerTask
from .tokenizer import MusicTokenizer

register_tokenizer("music")(MusicTokenizer)
register_task("composer_classification")(ComposerTask)

__all__ = ["ComposerTask", "MusicTokenizer"]
