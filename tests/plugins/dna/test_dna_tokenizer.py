"""The DNA tokenizer: single bases and k-mers round-trip exactly; bad bases fail by position or count as <unk>."""

from __future__ import annotations

import random

import pytest

from ssl_universal.errors import ConfigError, DataError


@pytest.fixture
def tokenizer():
    from ssl_universal.plugins import load_plugins
    from ssl_universal.registry import TOKENIZERS

    load_plugins()

    def make(**values):
        entry = TOKENIZERS.get("dna")
        return entry.obj(entry.build_config(values))

    return make


@pytest.mark.parametrize(("k", "stride"), [(1, 1), (3, 1), (3, 3), (4, 2), (6, 1)])
def test_round_trip_for_every_length(tokenizer, k, stride):
    tok = tokenizer(k=k, stride=stride)
    rng = random.Random(k * 10 + stride)
    for length in range(1, 20):
        sequence = "".join(rng.choice("ACGT") for _ in range(length))
        ids = tok.encode(sequence)
        assert tok.unk_id not in ids
        assert tok.to_sequence(tok.decode(ids)) == sequence


def test_kmer_symbols_and_vocabulary(tokenizer):
    tok = tokenizer(k=3, stride=1)
    assert tok.split("ACGTA") == ["ACG", "CGT", "GTA"]
    assert tokenizer(k=3, stride=3).split("ACGTA") == ["ACG", "TA"]
    assert tok.vocab_size == 5 + 64 + 16 + 4


def test_bad_base_names_position_and_fix(tokenizer):
    with pytest.raises(DataError, match=r"base 'N' at position 4 is not in the alphabet ACGT \(2 such base"):
        tokenizer().encode("ACGNNT")


def test_unknown_policy_and_extra_alphabet(tokenizer):
    tok = tokenizer(k=2, stride=1, unknown="unk")
    assert tok.split("ACNG") == ["AC", "<unk>", "<unk>"] and tok.unknown_count == 2
    assert tokenizer(alphabet="ACGTN").split("ANC") == ["A", "N", "C"]


def test_bad_config_is_config_error(tokenizer):
    with pytest.raises(ConfigError, match=r"bad value for 'tokenizer.stride': 3 is more than k=2; expected 1 <= stride <= k"):
        tokenizer(k=2, stride=3)
    with pytest.raises(ConfigError, match=r"bad value for 'tokenizer.k': 0; expected a number >= 1"):
        tokenizer(k=0)
    with pytest.raises(ConfigError, match=r"bad value for 'tokenizer.unknown': 'skip'; expected one of error, unk"):
        tokenizer(unknown="skip")
