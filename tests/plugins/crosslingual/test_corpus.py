"""The multilingual corpus: same seed same bytes, per-language counts, splits by document, the Fake-English halves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssl_universal.errors import DataError
from ssl_universal_plugins.crosslingual.corpus import (
    CorpusConfig,
    fortune_files,
    read_documents,
    read_fortune_file,
    write_corpus,
)
from ssl_universal_plugins.crosslingual.fake import from_fake, in_domain


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_and_another_seed_other_splits(fortunes_dir, tmp_path):
    cfg = CorpusConfig(languages=["en", "zh", "de", "es"], seed=3, fortunes_dir=str(fortunes_dir))
    write_corpus(cfg, tmp_path / "a")
    write_corpus(cfg, tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    write_corpus(CorpusConfig(languages=["en", "zh", "de", "es"], seed=4, fortunes_dir=str(fortunes_dir)), tmp_path / "c")
    assert (tmp_path / "a" / "en" / "train.txt").read_bytes() != (tmp_path / "c" / "en" / "train.txt").read_bytes()


def test_counts_per_language_match_the_files(fortunes_dir, tmp_path):
    stats = write_corpus(CorpusConfig(languages=["en", "zh", "de"], fortunes_dir=str(fortunes_dir), max_eval_documents=1000), tmp_path)
    on_disk = json.loads((tmp_path / "stats.json").read_text())
    assert on_disk["languages"] == stats["languages"]
    total = 0
    for language, entry in stats["languages"].items():
        docs = [line for s in ("train", "valid", "test") for line in (tmp_path / language / f"{s}.txt").read_text().splitlines()]
        assert sum(entry[s]["documents"] for s in ("train", "valid", "test")) == len(docs) == len(read_documents(language, fortunes_dir))
        lines = (tmp_path / language / "train.txt").read_text(encoding="utf-8").splitlines()
        assert entry["train"]["characters"] == sum(len(line) for line in lines)
        total += entry["train"]["documents"]
    assert len((tmp_path / "train.txt").read_text().splitlines()) == total  # the MLM file holds every language
    splits = {s: set((tmp_path / "en" / f"{s}.txt").read_text().splitlines()) for s in ("train", "valid", "test")}
    assert not splits["train"] & splits["test"] and not splits["train"] & splits["valid"]


def test_attribution_removed_and_chinese_joined_without_spaces(fortunes_dir):
    docs = read_fortune_file(fortunes_dir / "chinese")
    assert docs[0] == "东方未明，颠倒衣裳。颠之倒之，自公召之。"
    assert not any("Anonymous" in d for d in read_documents("en", fortunes_dir))


def test_english_and_fake_english_are_non_parallel_halves(fortunes_dir, tmp_path):
    write_corpus(CorpusConfig(languages=["en", "fake"], fortunes_dir=str(fortunes_dir), max_eval_documents=1000), tmp_path)
    english = {line for s in ("train", "valid", "test") for line in (tmp_path / "en" / f"{s}.txt").read_text().splitlines()}
    fake = [line for s in ("train", "valid", "test") for line in (tmp_path / "fake" / f"{s}.txt").read_text().splitlines()]
    assert english and fake
    assert not any(in_domain(line.replace(" ", "")) for line in fake)  # moved: no English character left
    assert not english & {from_fake(line) for line in fake}  # no document in both halves
    assert len(english) + len(fake) == len(read_documents("en", fortunes_dir))


def test_unknown_language_and_missing_package_are_named(fortunes_dir, tmp_path):
    with pytest.raises(DataError, match="unknown"):
        write_corpus(CorpusConfig(languages=["en", "xx"], fortunes_dir=str(fortunes_dir)), tmp_path)
    with pytest.raises(DataError, match="install_system_deps.sh fortunes-de"):
        fortune_files("de", tmp_path / "empty")


def test_verses_join_within_a_chapter_up_to_the_limit_and_a_long_verse_stays_whole():
    from ssl_universal_plugins.crosslingual.corpus import join_verses

    verses = {"Gen 1:1": "a" * 20, "Gen 1:2": "b" * 20, "Gen 1:3": "c" * 20, "Gen 2:1": "d" * 5, "Gen 2:2": "e" * 90,
              "Exo 1:1": "f" * 5}
    docs = join_verses(verses, max_chars=45)
    assert docs == ["a" * 20 + " " + "b" * 20, "c" * 20, "d" * 5, "e" * 90, "f" * 5]
    assert "".join(docs).replace(" ", "") == "".join(verses.values())  # nothing dropped, nothing cut


def test_unknown_or_repeated_english_sources_are_refused(fortunes_dir, tmp_path):
    for sources in (["fortunes", "wikipedia"], ["fortunes", "fortunes"]):
        with pytest.raises(DataError, match="english_sources"):
            write_corpus(CorpusConfig(languages=["en"], fortunes_dir=str(fortunes_dir), english_sources=sources), tmp_path)
    with pytest.raises(DataError, match="at least one English source"):
        read_documents("en", fortunes_dir, [])


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/share/sword/mods.d/engKJV2006eb.conf").exists(), reason="sword-text-kjv not installed")
def test_the_king_james_bible_enlarges_english_and_both_fake_english_halves(fortunes_dir, tmp_path):
    base = CorpusConfig(languages=["en", "fake"], fortunes_dir=str(fortunes_dir), max_documents=10**6)
    more = CorpusConfig(languages=["en", "fake"], fortunes_dir=str(fortunes_dir), max_documents=10**6,
                        english_sources=["fortunes", "kjv"])
    a, b = write_corpus(base, tmp_path / "a"), write_corpus(more, tmp_path / "b")
    for language in ("en", "fake"):
        # 4.1 M characters of verses, 80 % train, half to each side
        assert b["languages"][language]["train"]["characters"] - a["languages"][language]["train"]["characters"] > 1_200_000
        assert "sword-text-kjv" in b["languages"][language]["source"]
    assert b["config"]["english_sources"] == ["fortunes", "kjv"]
    english = {line for split in ("train", "valid", "test")
               for line in (tmp_path / "b" / "en" / f"{split}.txt").read_text(encoding="utf-8").splitlines()}
    fake = {from_fake(line) for split in ("train", "valid", "test")
            for line in (tmp_path / "b" / "fake" / f"{split}.txt").read_text(encoding="utf-8").splitlines()}
    assert sum(line.startswith("In the beginning God created the heaven") for line in english | fake) == 1
    assert not fake & english  # still non-parallel halves
