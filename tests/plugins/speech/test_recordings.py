"""Real recordings: leading/trailing silence trimming, other rates and codecs, the size-mismatch message,
and test manifests checked before training starts."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from ssl_universal.errors import ConfigError, DataError

RATE = 16000


def _speechlike(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Amplitude-modulated harmonics: loud enough everywhere for the VAD and the energy test to call it sound."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 140 + 20 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return (0.3 * wave + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def _padded(sound: np.ndarray, lead: float, tail: float, rate: int = RATE, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    quiet = lambda s: (1e-4 * rng.standard_normal(int(s * rate))).astype(np.float32)  # noqa: E731
    return np.concatenate([quiet(lead), sound, quiet(tail)])


def test_energy_trim_removes_leading_and_trailing_silence_and_keeps_the_margin(audio):
    sound = _speechlike(0.8)
    wave = torch.from_numpy(_padded(sound, 0.5, 0.3))
    trimmed = audio.trim_silence(wave, RATE, audio.TrimConfig(method="energy", margin=0.05))
    # the sound and 50 ms either side, give or take a frame: a 25 ms window that touches the sound is sound
    assert sound.size + 2 * 800 - 400 <= trimmed.numel() <= sound.size + 2 * 800 + 2 * 400, trimmed.numel()
    assert trimmed.numel() < wave.numel() - 0.6 * RATE
    assert torch.equal(audio.trim_silence(wave, RATE, audio.TrimConfig(method="none")), wave)
    silent = torch.zeros(8000)
    assert torch.equal(audio.trim_silence(silent, RATE, audio.TrimConfig(method="energy")), silent)  # kept whole


def test_vad_trim_cuts_the_silence_on_both_sides(audio):
    sound = _speechlike(0.8)
    wave = torch.from_numpy(_padded(sound, 0.6, 0.6))
    trimmed = audio.trim_silence(wave, RATE, audio.TrimConfig(method="vad", margin=0.0))
    assert trimmed.numel() < wave.numel() - 0.6 * RATE  # at least the leading and most of the trailing silence
    assert trimmed.numel() > 0.5 * sound.size  # and not the sound


def test_trim_is_applied_on_every_read_and_refused_with_frame_labels(tmp_path, audio):
    sound = _speechlike(0.5)
    sf.write(str(tmp_path / "a.wav"), _padded(sound, 0.4, 0.4), RATE)
    manifest = audio.write_manifest(tmp_path / "t.tsv", tmp_path, [("a.wav", int(sound.size + 0.8 * RATE))])
    plain = audio.AudioDataset(manifest)
    trimmed = audio.AudioDataset(manifest, audio.AudioDataConfig(trim=audio.TrimConfig(method="energy")))
    assert plain[0]["waveform"].numel() == sound.size + 0.8 * RATE
    assert trimmed[0]["waveform"].numel() < sound.size + 0.2 * RATE
    assert torch.equal(trimmed[0]["waveform"], trimmed[0]["waveform"])  # the same cut every time
    (tmp_path / "t.km").write_text(" ".join(["1"] * 65) + "\n")
    with pytest.raises(ConfigError, match="shift the audio under its labels"):
        audio.AudioDataset(manifest, audio.AudioDataConfig(trim=audio.TrimConfig(method="energy"), label_rate=50,
                                                           labels={"km": str(tmp_path / "t.km")}))


@pytest.mark.parametrize("fmt, subtype, rate", [("FLAC", "PCM_16", 44100), ("OGG", "VORBIS", 22050),
                                                ("WAV", "PCM_16", 8000)])
def test_other_codecs_and_rates_are_read_at_the_model_rate(tmp_path, audio, fmt, subtype, rate):
    t = np.arange(int(0.5 * rate)) / rate
    wave = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = tmp_path / f"tone.{fmt.lower()}"
    sf.write(str(path), np.stack([wave, wave], 1), rate, format=fmt, subtype=subtype)  # stereo too
    frames = sf.info(str(path)).frames
    manifest = audio.write_manifest(tmp_path / "t.tsv", tmp_path, [(path.name, frames)])
    dataset = audio.AudioDataset(manifest)
    item = dataset[0]["waveform"]
    assert dataset.lengths[0] == round(frames * RATE / rate)
    assert abs(item.numel() - 0.5 * RATE) <= 2
    spectrum = torch.fft.rfft(item).abs()
    assert abs(int(spectrum.argmax()) * RATE / item.numel() - 440) < 5  # the tone survives decoding and resampling


def test_size_mismatch_names_the_files_own_rate(tmp_path, audio):
    sf.write(str(tmp_path / "a.flac"), np.zeros(4410, dtype=np.float32) + 0.1, 44100, format="FLAC")
    manifest = audio.write_manifest(tmp_path / "t.tsv", tmp_path, [("a.flac", 1600)])  # counted at 16 kHz: wrong
    with pytest.raises(DataError, match=r"a\.flac.*1600 samples.*holds 4410 at its own rate of 44100 Hz"):
        audio.AudioDataset(manifest)


def _classification_folder(root, test_labels, rng, bad_test_audio=False):
    root.mkdir(parents=True)
    for split, labels in (("train", ["a", "b"] * 4), ("test", test_labels)):
        rows = []
        for i in range(len(labels)):
            rel = f"{split}_{i}.wav"
            sf.write(str(root / rel), (0.1 * rng.standard_normal(4000)).astype(np.float32), RATE)
            rows.append((rel, 4000 if not (bad_test_audio and split == "test" and i == 1) else 3999))
        (root / f"{split}.tsv").write_text(f"{root}\n" + "".join(f"{r}\t{n}\n" for r, n in rows))
        (root / f"{split}.label").write_text("".join(f"{x}\n" for x in labels))
    return root


def test_a_bad_test_set_fails_when_the_task_is_built_before_training(tmp_path):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    from ssl_universal_plugins.speech import superb

    rng = np.random.default_rng(0)
    build = lambda root: superb.UtteranceClassificationTask(superb.SuperbTaskConfig(data_dir=str(root)))  # noqa: E731
    assert build(_classification_folder(tmp_path / "good", ["a", "b"], rng)).num_labels == 2
    with pytest.raises(DataError, match=r"test\.label:2: class 'c' is not among the 2 training classes"):
        build(_classification_folder(tmp_path / "label", ["a", "c"], rng))
    with pytest.raises(DataError, match=r"test_1\.wav: the manifest says 3999 samples"):
        build(_classification_folder(tmp_path / "audio", ["a", "b"], rng, bad_test_audio=True))
    root = _classification_folder(tmp_path / "count", ["a", "b"], rng)
    (root / "test.label").write_text("a\n")
    with pytest.raises(DataError, match="one label line per utterance"):
        build(root)
    root = _classification_folder(tmp_path / "dict", ["a", "b"], rng)
    (root / "dict.label.txt").write_text("a 4\nc 1\n")  # the classes are the dictionary's; train has a 'b'
    with pytest.raises(DataError, match=r"train\.label:2: class 'b' is not among the 2 classes of .*dict\.label\.txt"):
        build(root)


def test_asr_test_transcripts_are_checked_against_the_letter_dictionary(tmp_path):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    from ssl_universal_plugins.speech import superb

    root = _classification_folder(tmp_path / "asr", ["a", "b"], np.random.default_rng(0))
    (root / "dict.ltr.txt").write_text("| 5\nA 3\nB 2\n")
    (root / "train.ltr").write_text("A B |\n" * 8)
    (root / "test.ltr").write_text("A |\nB Q |\n")
    with pytest.raises(DataError, match=r"test\.ltr:2: letter 'Q' is not in"):
        superb.CtcAsrTask(superb.SuperbTaskConfig(data_dir=str(root)))


def test_trim_setting_reaches_train_and_test_alike(tmp_path):
    from ssl_universal.plugins import load_plugins

    load_plugins()
    from ssl_universal_plugins.speech import superb

    root = _classification_folder(tmp_path / "t", ["a", "b"], np.random.default_rng(0))
    task = superb.UtteranceClassificationTask(superb.SuperbTaskConfig(data_dir=str(root), trim="energy",
                                                                      trim_db=30.0))
    for split in ("train", "test"):
        dataset = task.dataset(split)
        dataset = getattr(dataset, "dataset", dataset)
        dataset = getattr(dataset, "dataset", dataset)
        assert dataset.config.trim.method == "energy" and dataset.config.trim.threshold_db == 30.0
