"""Music: the tokenizer round-trips events; MIDI and MusicXML folders read through music21 (cached); bad input fails
clearly; composer classification learns above chance on generated styles and votes per piece."""

from __future__ import annotations

import pytest
import torch

from ssl_universal.errors import ConfigError, DataError


@pytest.fixture
def tokenizer():
    from ssl_universal.plugins import load_plugins
    from ssl_universal.registry import TOKENIZERS

    load_plugins()

    def make(**values):
        entry = TOKENIZERS.get("music")
        return entry.obj(entry.build_config(values))

    return make


EVENTS = [(60, 1.0), (64, 0.5), (67, 0.5), (72, 2.0), (21, 0.25), (108, 4.0)]


def test_pitch_tokens_round_trip(tokenizer):
    tok = tokenizer()
    ids = tok.encode(EVENTS)
    assert tok.vocab_size == 5 + 128 and tok.decode(ids)[:2] == ["C4", "E4"]
    assert [m for m, _ in tok.to_events(tok.decode(ids))] == [m for m, _ in EVENTS]


def test_pitch_duration_tokens_round_trip_after_quantising(tokenizer):
    tok = tokenizer(events="pitch_duration")
    assert tok.vocab_size == 5 + 128 * 8
    assert tok.to_events(tok.decode(tok.encode(EVENTS))) == EVENTS
    assert tok.split([(60, 1.2), (60, 7.0), (60, 0.0)]) == ["C4/1", "C4/4", "C4/0.25"]


def test_bad_events_and_config(tokenizer):
    with pytest.raises(DataError, match=r"event 1: MIDI pitch 130 is outside 0-127"):
        tokenizer().encode([(60, 1.0), (130, 1.0)])
    with pytest.raises(ConfigError, match="tokenizer.events must be one of pitch, pitch_duration"):
        tokenizer(events="chords")


def _write_scores(root, music21):
    """Two labels, three pieces each: MIDI for 'low' (notes around C3), MusicXML for 'high' (around C6)."""
    for label, base, fmt, suffix in (("low", 48, "midi", ".mid"), ("high", 84, "musicxml", ".musicxml")):
        (root / label).mkdir(parents=True)
        for i in range(3):
            part = music21.stream.Stream([music21.note.Note(base + (i + j) % 5, quarterLength=1.0) for j in range(12)])
            part.insert(0, music21.chord.Chord([base, base + 4], quarterLength=1.0))
            part.write(fmt, fp=str(root / label / f"piece{i}{suffix}"))


def test_folders_of_midi_and_musicxml(tmp_path, make_task, monkeypatch):
    music21 = pytest.importorskip("music21")
    _write_scores(tmp_path / "data", music21)
    task = make_task("composer_classification", data_dir=str(tmp_path / "data"), max_length=8, valid_fraction=0.34, test_fraction=0.34)
    assert task.label_names == ["high", "low"]
    train = task.dataset("train")
    assert task.data_report["train"] == {"pieces": 2, "segments": 6}
    assert len(train) == 6 and all(len(e["input_ids"]) <= 8 for e in train)
    from ssl_universal_plugins.music.readers import read_events

    # At onset 0 the note C6 and the chord C6+E6 sound: one event per pitch, lowest first, then the next onset.
    assert read_events(tmp_path / "data" / "high" / "piece0.musicxml")[:4] == [(84, 1.0), (84, 1.0), (88, 1.0), (85, 1.0)]
    assert len(list((tmp_path / "cache" / "music" / "events").glob("*.json"))) == 6
    monkeypatch.setattr(music21.converter, "parse", None)  # a rerun must not parse again: every piece comes from the cache
    again = make_task("composer_classification", data_dir=str(tmp_path / "data"), max_length=8, valid_fraction=0.34, test_fraction=0.34)
    assert [e["input_ids"] for e in again.dataset("train")] == [e["input_ids"] for e in train]


def test_unreadable_score_and_empty_folder_are_clear_errors(tmp_path, make_task):
    pytest.importorskip("music21")
    from ssl_universal_plugins.music.readers import read_events

    (tmp_path / "broken.mid").write_bytes(b"not a midi file")
    with pytest.raises(DataError, match=r"broken\.mid: music21 cannot read this score"):
        read_events(tmp_path / "broken.mid")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"expected one folder per label holding score files"):
        make_task("composer_classification", data_dir=str(tmp_path / "empty")).dataset("train")


def test_composer_task_learns_styles_and_votes_per_piece(make_task, loop):
    task = make_task("composer_classification", tokenizer={"events": "pitch_duration"}, source="synthetic", num_pieces=20,
                     max_length=34, max_segments_per_piece=4)
    assert task.label_names == ["arpeggios", "chromatic", "scales"]
    model = loop.model(task.tokenizer.vocab_size, task.num_labels)
    losses = loop.train(task, model, steps=50, lr=2e-3)
    scores = loop.evaluate(task, model)
    assert sum(losses[-10:]) < sum(losses[:10])
    assert scores["accuracy"] >= 60.0 and scores["segment_accuracy"] >= 50.0  # chance is 33
    with torch.no_grad():
        steps = [task.eval_step(model.eval(), task.collate(list(task.dataset("test"))))]
    assert len(set(torch.cat([s["groups"] for s in steps]).tolist())) == len(task.pieces()["test"])


def test_corpus_labels_pool_composers():
    from ssl_universal_plugins.music.corpus import parse_label

    assert parse_label("classical=haydn+mozart") == ("classical", ["haydn", "mozart"])
    assert parse_label("bach") == ("bach", ["bach"])
    with pytest.raises(ConfigError, match="expected 'name' or 'label=composer"):
        parse_label("x=")


@pytest.mark.parametrize("assignment", ["random", "reinit", "scratch", "most_frequent", "least_frequent"])
def test_recipe_takes_every_assignment_row(assignment, tmp_path):
    from ssl_universal.config import load_config

    cfg = load_config(["recipe=music/composer", f"model.assignment={assignment}", f"run_dir={tmp_path}"])
    assert cfg.model.assignment == assignment and cfg.task.composers == ["bach", "monteverdi", "palestrina"]


def test_checkpoints_are_chosen_on_segments_by_default_and_on_the_vote_in_the_old_quick_size(tmp_path, monkeypatch):
    """Selection on ~20 valid pieces' vote peaks early by chance; the default watches segment_accuracy."""
    from ssl_universal.config import load_config
    from ssl_universal.run import train

    monkeypatch.setenv("SSL_UNIVERSAL_CACHE", str(tmp_path / "cache"))
    results = train(load_config(["recipe=music/composer", "preset=smoke", "trainer.threads=1", f"run_dir={tmp_path / 'run'}"]))
    assert results["best_metric"] == "segment_accuracy"
    assert results["best_value"] == results["best"]["segment_accuracy"]
    assert load_config(["recipe=music/composer", "preset=quick"]).trainer.best_metric == "accuracy"
    assert load_config(["recipe=music/composer"]).task.pieces_per_composer == 49
