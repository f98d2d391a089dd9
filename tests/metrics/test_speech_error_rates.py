"""WER and CER through jiwer, in percent."""

import pytest

from ssl_universal.metrics import cer, wer


def test_wer_counts_substitutions_deletions_insertions_over_reference_words():
    # one substitution and one insertion over 3 words; second utterance: one deletion of 2 words
    assert wer(["a b c", "d e"], ["a x c y", "d"]) == pytest.approx(100 * 3 / 5)
    assert wer(["hello world"], ["hello world"]) == 0.0


def test_cer_counts_characters():
    assert cer(["abcd"], ["abxd"]) == pytest.approx(25.0)


def test_empty_references_are_rejected():
    with pytest.raises(ValueError, match="every reference is empty"):
        wer([""], ["a"])
    with pytest.raises(ValueError, match="1 references but 2 hypotheses"):
        cer(["a"], ["a", "b"])
