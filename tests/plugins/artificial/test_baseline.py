"""The hand-feature reference: TF-IDF of the task's word pieces → logistic regression, C chosen on valid."""

from __future__ import annotations

import pytest

import ssl_universal_plugins.artificial  # noqa: F401  (registers the plugin)
from ssl_universal.errors import ConfigError
from ssl_universal_plugins.artificial import table
from ssl_universal_plugins.artificial.baseline import bag_of_pieces
from ssl_universal_plugins.artificial.tasks import EnglishProxyConfig, EnglishProxyTask
from ssl_universal_plugins.artificial.tokenizer import EnglishPiecesConfig, EnglishPiecesTokenizer


def _task(proxy, max_pieces, num_train=400):
    return EnglishProxyTask(EnglishProxyConfig(proxy=proxy, num_train=num_train, num_eval=150),
                            EnglishPiecesTokenizer(EnglishPiecesConfig(max_pieces=max_pieces)))


def test_the_piece_cap_shows_in_the_unknown_share_and_the_score():
    wide, narrow = bag_of_pieces(_task("topic", 5000)), bag_of_pieces(_task("topic", 20))
    assert narrow.unk_share > 0.5 > 0.15 > wide.unk_share  # 20 pieces leave most of a fortune <unk>
    assert wide.test > 100 / 5 + 10  # five balanced topics: clearly above chance with the words kept
    assert wide.test > narrow.test + 5
    assert wide.C in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def test_pairs_are_featurised_by_difference_and_overlap():
    result = bag_of_pieces(_task("paraphrase", 2000))
    assert result.features % 2 == 0  # [|a - b|, a * b]: two blocks of the same vocabulary
    assert result.test > 80  # a synonym rewrite shares words with its source; another sentence hardly does


def test_the_table_prints_the_reference_next_to_scratch():
    acc = {("topic", "-", "scratch"): {0: 30.0, 1: 32.0, 2: 34.0}}
    b = table.proxy_baseline("topic", "smoke", [])
    text = table.render(acc, ["topic"], [], (0, 1, 2), header="# t", baselines={"topic": b})
    row = next(line for line in text.splitlines() if line.startswith("| (hand features)"))
    assert f"| {b.test:.1f} | {b.test - 32.0:+.1f} |" in row
    assert "<unk>" in text and "C=" in text


def test_an_unknown_proxy_is_refused_by_name():
    with pytest.raises(ConfigError, match="proxy .sst2.: expected one of topic"):
        table.proxy_baseline("sst2", None, [])
