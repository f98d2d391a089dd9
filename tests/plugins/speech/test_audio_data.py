"""Manifests, label files, bad audio files, resampling/mixdown and batching of the speech plugin."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from ssl_universal.errors import ConfigError, DataError


@pytest.fixture
def corpus(tmp_path, tone, audio):
    """Three good files (one 8 kHz stereo) with a manifest and labels."""
    root = tmp_path / "wav"
    entries = [("a.wav", tone(root / "a.wav", 0.5)), ("sub/b.wav", tone(root / "sub/b.wav", 1.0, freq=220)),
               ("c.wav", tone(root / "c.wav", 0.25, rate=8000, channels=2))]
    manifest = audio.write_manifest(tmp_path / "train.tsv", root, entries)
    (tmp_path / "train.label").write_text("yes\nno\nyes\n")
    return tmp_path, manifest, entries


def test_manifest_round_trip(corpus, audio):
    _, path, entries = corpus
    m = audio.read_manifest(path)
    assert m.paths == [rel for rel, _ in entries]
    assert m.sizes.tolist() == [n for _, n in entries]
    assert m.full_path(1).is_file()


@pytest.mark.parametrize("text, where, what", [
    ("", ":1:", "root folder"),
    ("a.wav\t100\n", ":1:", "root folder alone"),
    ("/root\na.wav 100\n", ":2:", "relative/path<TAB>num_samples"),
    ("/root\na.wav\tmany\n", ":2:", "must be an integer"),
    ("/root\na.wav\t10\nb.wav\t-5\n", ":3:", ">= 0"),
])
def test_malformed_manifest_names_file_and_line(tmp_path, audio, text, where, what):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(DataError) as error:
        audio.read_manifest(path)
    assert f"{path}{where}" in str(error.value) and what in str(error.value)


def test_label_count_must_match_manifest(corpus, audio):
    folder, path, _ = corpus
    (folder / "short.label").write_text("yes\n")
    with pytest.raises(DataError, match="short.label.*one label line per utterance.*found 1"):
        audio.read_labels(folder / "short.label", audio.read_manifest(path))
    assert audio.read_labels(folder / "train.label", audio.read_manifest(path)) == ["yes", "no", "yes"]


def test_frame_label_lengths_checked_against_label_rate(audio):
    m = audio.Manifest(root=".", paths=["x.wav", "y.wav"], sizes=np.array([16000, 8000]))
    good = [" ".join(["1"] * 50), " ".join(["2"] * 25)]
    audio.check_label_lengths(m, good, label_rate=50, sample_rate=16000)
    with pytest.raises(DataError, match=r"train.km:1: expected about 100.0 labels for x.wav.*found 50"):
        audio.check_label_lengths(m, good, label_rate=100, sample_rate=16000, label_path="train.km")


def test_dataset_reads_mono_at_model_rate_with_labels(corpus, audio):
    folder, path, entries = corpus
    ds = audio.AudioDataset(path, audio.AudioDataConfig(labels={"label": str(folder / "train.label")}))
    assert len(ds) == 3 and ds.lengths.tolist() == [8000, 16000, 4000]  # 8 kHz file counted at 16 kHz
    item = ds[2]
    assert item["waveform"].shape == (4000,) and item["label"] == "yes"
    # stereo channels hold 0.5x and 1.0x of the tone: the mixdown is their mean, 0.75x
    assert item["waveform"].abs().max().item() == pytest.approx(0.375, abs=0.02)


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(b"RIFF\x00\x00junk" * 20), "not a readable audio file"),
    (lambda p: sf.write(str(p), np.zeros(0), 16000), "empty"),
    (lambda p: p.write_text("hello, I am text"), "not a readable audio file"),
    (lambda p: None, "not found"),
])
def test_bad_file_rejected_with_path(corpus, audio, make, reason):
    folder, path, entries = corpus
    bad = folder / "wav" / "bad.wav"
    make(bad)
    manifest = audio.write_manifest(folder / "bad.tsv", folder / "wav", [*entries, ("bad.wav", 10)])
    with pytest.raises(DataError) as error:
        audio.AudioDataset(manifest)
    assert str(bad) in str(error.value) and reason in str(error.value)
    ds = audio.AudioDataset(manifest, audio.AudioDataConfig(bad_files="skip"))
    assert len(ds) == 3 and len(ds.skipped) == 1 and ds.skipped[0][0] == str(bad)


def test_bad_files_policy_is_checked(corpus, audio):
    _, path, _ = corpus
    with pytest.raises(ConfigError, match=r"bad value for 'bad_files': 'skipp' \(did you mean 'skip'\?\); expected one of raise, skip"):
        audio.AudioDataset(path, audio.AudioDataConfig(bad_files="skipp"))


def test_stale_manifest_size_rejected(corpus, audio):
    folder, _, entries = corpus
    manifest = audio.write_manifest(folder / "stale.tsv", folder / "wav", [(entries[0][0], entries[0][1] + 5)])
    with pytest.raises(DataError, match="a.wav: the manifest says 8005 samples; the file holds 8000"):
        audio.AudioDataset(manifest)


def cut_in_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_wav_is_named_truncated_not_a_stale_manifest(corpus, audio):
    folder, manifest, entries = corpus
    cut_in_half(folder / "wav" / "a.wav")  # 8000 samples in the header, about 4000 left
    with pytest.raises(DataError) as error:
        audio.AudioDataset(manifest)
    message = str(error.value)
    assert message.startswith(f"{folder / 'wav' / 'a.wav'}: truncated audio file: its header declares 8000 samples, but only ")
    assert "manifest" not in message
    with pytest.raises(DataError, match="truncated audio file: its header declares 8000"):
        audio.load_audio(folder / "wav" / "a.wav", 16000)  # reading it later says the same


def test_truncated_flac_names_the_file_and_soundfiles_message(tmp_path, audio):
    path = tmp_path / "a.flac"
    sf.write(str(path), np.random.default_rng(0).uniform(-0.5, 0.5, 16000), 16000)
    cut_in_half(path)
    manifest = audio.write_manifest(tmp_path / "train.tsv", tmp_path, [("a.flac", 16000)])
    with pytest.raises(DataError, match=r"a\.flac: truncated or corrupt audio: its header declares 16000 samples, "
                                        r"but decoding the last one failed \(soundfile: .+\)"):
        audio.AudioDataset(manifest)
    dataset = audio.AudioDataset(manifest, audio.AudioDataConfig(validate=False))
    with pytest.raises(DataError, match=r"a\.flac: corrupt or truncated audio: its header declares 16000 samples; "
                                        r"reading \[0, 16000\) failed \(soundfile: .+\)"):
        dataset[0]


def test_text_files_of_a_corpus_must_be_utf8(corpus, audio):
    folder, manifest, _ = corpus
    manifest.write_bytes(manifest.read_text().encode("utf-16"))
    with pytest.raises(DataError, match=r"train\.tsv: expected UTF-8 text; found UTF-16LE"):
        audio.read_manifest(manifest)
    (folder / "dict.km.txt").write_bytes("0 1\n".encode("utf-16-le"))
    with pytest.raises(DataError, match=r"dict\.km\.txt: expected UTF-8 text; found UTF-16LE without a byte-order mark"):
        audio.read_dictionary(folder / "dict.km.txt")


@pytest.mark.parametrize("line, found", [
    ("3 3 7 1", "symbol 3 is '7', which is not in"),
    ("3 3 1.5 1", "symbol 3 is '1.5' (units are non-negative integers: is this a unit file?), which is not in"),
    ("yes", "symbol 1 is 'yes' (units are non-negative integers: is this a unit file?)"),
])
def test_units_outside_the_dictionary_fail_when_the_dataset_is_built(corpus, audio, line, found):
    folder, manifest, _ = corpus
    (folder / "dict.km.txt").write_text("".join(f"{k} 1\n" for k in range(4)))
    (folder / "train.km").write_text(f"0 1 2\n{line}\n2 2\n")
    config = audio.AudioDataConfig(labels={"units": str(folder / "train.km")},
                                   dictionaries={"units": str(folder / "dict.km.txt")})
    with pytest.raises(DataError) as error:
        audio.AudioDataset(manifest, config)
    assert str(error.value).startswith(f"{folder / 'train.km'}:2: {found}")
    assert f"{folder / 'dict.km.txt'} (4 symbols: 0 1 2 3)" in str(error.value)
    (folder / "train.km").write_text("0 1 2\n3 3\n2 2\n")
    assert audio.AudioDataset(manifest, config)[1]["units"] == "3 3"


def test_partial_and_streamed_reads(corpus, audio):
    folder, _, _ = corpus
    path = folder / "wav" / "sub" / "b.wav"
    whole = audio.load_audio(path, 16000)
    part = audio.load_audio(path, 16000, start=1000, frames=500)
    assert torch.equal(part, whole[1000:1500])
    blocks = list(audio.stream_audio(path, 4096))
    assert sum(b.size for b in blocks) == 16000 and np.allclose(np.concatenate(blocks), whole.numpy())


def test_collate_pads_and_masks(corpus, audio):
    _, path, _ = corpus
    ds = audio.AudioDataset(path)
    batch = audio.collate_audio([ds[0], None, ds[2]])  # None: an item the skip policy dropped
    assert batch["waveform"].shape == (2, 8000) and batch["lengths"].tolist() == [8000, 4000]
    assert batch["waveform"][1, 4000:].abs().sum() == 0 and batch["attention_mask"][1, :4000].all()


def test_batches_respect_the_sample_budget(audio):
    lengths = np.random.default_rng(0).integers(8000, 64000, size=300)
    plan = audio.audio_batch_plan(lengths, max_samples=200_000, seed=1)
    batches = plan.epoch_batches(0)
    assert sorted(np.concatenate(batches).tolist()) == list(range(300))
    assert all(len(b) * lengths[b].max() <= 200_000 for b in batches)
