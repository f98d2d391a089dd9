"""`ssl-universal make-speech-corpus`: a tiny synthetic speech corpus, rebuilt byte for byte from its seed."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from ssl_universal_plugins.speech.commands import make_speech_corpus
from ssl_universal_plugins.speech.texts import intents

MISSING = [b for b in ("espeak-ng", "flite") if shutil.which(b) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"TTS binaries not installed: {', '.join(MISSING)} "
                                                      "(Debian packages espeak-ng, flite)")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


TINY = ["--voices-per-engine", "2", "--scale", "0.25", "--noise-clips", "12", "--noise-seconds", "1",
        "--rirs", "2" if _has("pyroomacoustics") else "0", *([] if _has("music21") else ["--no-music"])]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The same tiny corpus built twice with seed 0, and (two tasks of) it with seed 1."""
    root = tmp_path_factory.mktemp("speech_corpus")
    for name, seed, extra in (("a", 0, []), ("b", 0, []), ("c", 1, ["--tasks", "ks,sid"])):
        assert make_speech_corpus(["--out", str(root / name), "--seed", str(seed), *TINY, *extra]) == 0
    return root


def digest(folder: Path) -> dict[str, str]:
    """Hash of every file; manifests without their first line (the absolute root differs)."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "corpus.json"):
        data = path.read_bytes()
        if path.suffix == ".tsv":
            data = data.split(b"\n", 1)[1]
        out[str(path.relative_to(folder))] = hashlib.sha256(data).hexdigest()
    return out


def test_same_seed_same_bytes(built):
    a, b, c = (digest(built / n) for n in "abc")
    assert len(a) > 100 and a == b
    shared = set(a) & set(c)
    assert any(name.startswith("ks/") for name in shared) and any(a[n] != c[n] for n in shared if n.endswith(".wav"))


def test_every_task_has_consistent_manifests_and_labels(built):
    corpus = built / "a"
    summary = json.loads((corpus / "corpus.json").read_text())
    assert set(summary["tasks"]) == {"ks", "ic", "sid", "style", "asr"}
    for task, labels in (("ks", "label"), ("ic", "label"), ("sid", "label"), ("style", "label"), ("asr", "wrd")):
        for split in ("train", "test"):
            lines = (corpus / task / f"{split}.tsv").read_text().splitlines()
            root = Path(lines[0])
            rows = [line.split("\t") for line in lines[1:]]
            assert len(rows) == summary["tasks"][task][split] > 0
            assert len((corpus / task / f"{split}.{labels}").read_text().splitlines()) == len(rows)
            for rel, samples in rows[:5]:
                info = sf.info(str(root / rel))
                assert info.frames == int(samples) and info.samplerate == 16000
    ic = (corpus / "ic" / "train.label").read_text().split()
    # Every training voice says every intent (at least once), so the training labels are all the intents.
    assert "activate_lights_kitchen" in intents() and set(ic) == set(intents())
    ltr = (corpus / "asr" / "train.ltr").read_text().splitlines()[0]
    assert ltr.endswith("|") and (corpus / "asr" / "dict.ltr.txt").is_file()


def test_splits_hold_out_voices_and_noise_types(built):
    corpus = built / "a"

    def voices(task, split):
        return {line.split("\t")[0].split("/")[1] for line in (corpus / task / f"{split}.tsv").read_text().splitlines()[1:]}

    assert not (voices("asr", "train") & voices("asr", "test"))  # ASR/IC/KS test speakers are unheard
    sid = {s: set((corpus / "sid" / f"{s}.label").read_text().split()) for s in ("train", "test")}
    assert sid["train"] == sid["test"] and len(sid["train"]) == 4  # speaker ID: same voices, other sentences
    styles = set((corpus / "style" / "train.label").read_text().split())
    assert styles == {"neutral", "calm", "excited", "whisper"}
    kinds = {s: {p.name.split("_")[0] for p in (corpus / "noise" / s / "noise").iterdir()} for s in ("train", "test")}
    assert kinds["train"] == {"white", "pink", "brown"} and {"blue", "violet", "hum"} <= kinds["test"]
    assert any((corpus / "noise" / "train" / "babble").iterdir())
    if _has("music21"):
        assert len(list((corpus / "noise" / "test" / "music").iterdir())) == 3
    if _has("pyroomacoustics"):
        assert len(list((corpus / "rir" / "train").iterdir())) == 2
