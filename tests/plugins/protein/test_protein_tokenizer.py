"""The amino-acid tokenizer round-trips, names bad residues, and counts what it maps to <unk>."""

from __future__ import annotations

import pytest

from ssl_universal.errors import ConfigError, DataError


@pytest.fixture
def tokenizer():
    from ssl_universal.registry import TOKENIZERS

    def make(**values):
        entry = TOKENIZERS.get("protein")
        return entry.obj(entry.build_config(values))

    return make


def test_round_trip_standard_and_ambiguity_codes(tokenizer):
    tok = tokenizer()
    sequence = "MKTAYIAKQRQISFVKSHFSRQBZXJUO"
    ids = tok.encode(sequence)
    assert ids[0] == tok.cls_id and ids[-1] == tok.sep_id and len(ids) == len(sequence) + 2
    assert tok.to_sequence(tok.decode(ids)) == sequence
    assert tok.vocab_size == 5 + 26 and tok.symbols[:5] == ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>"]


def test_lower_case_is_read_as_upper_case(tokenizer):
    tok = tokenizer()
    assert tok.encode("mkt") == tok.encode("MKT")


def test_standard_alphabet_rejects_ambiguity_code_with_position(tokenizer):
    with pytest.raises(DataError, match=r"residue 'X' at position 3 is not in the standard amino-acid alphabet"):
        tokenizer(alphabet="standard").encode("MKXA")


def test_unknown_policy_unk_counts(tokenizer):
    tok = tokenizer(unknown="unk")
    ids = tok.encode("MK*1A", add_special=False)
    assert ids.count(tok.unk_id) == 2 and tok.unknown_count == 2


def test_bad_config_values_are_config_errors(tokenizer):
    with pytest.raises(ConfigError, match="bad value for 'tokenizer.alphabet': 'dna'; expected one of extended, standard"):
        tokenizer(alphabet="dna")
    with pytest.raises(ConfigError, match="bad value for 'tokenizer.unknown': 'skip'; expected one of error, unk"):
        tokenizer(unknown="skip")
