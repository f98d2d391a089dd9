"""The synthetic speech corpus: TTS utterances with manifests and labels, noise folders and simulated rooms."""

from __future__ import annotations

import json
import logging
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ssl_universal.errors import ConfigError, DataError

from . import noises, texts
from .audio import write_manifest
from .tts import ENGINES, Voice, available_voices, engine_available, synthesize

TASKS = ("ks", "ic", "sid", "style", "asr")
log = logging.getLogger(__name__)


@dataclass
class CorpusConfig:
    """What the corpus holds; every count is multiplied by ``scale`` (at least 1)."""

    out: str = "data/speech_synth"  # output folder
    seed: int = 0  # every random choice (texts, prosody jitter, splits, noises, rooms)
    sample_rate: int = 16000  # rate of every written file
    tasks: tuple[str, ...] = TASKS  # ks, ic, sid, style, asr
    engines: tuple[str, ...] = ENGINES  # TTS engines to use (each must be installed)
    voices_per_engine: int | None = None  # cap on voices per engine (None: all)
    heldout_voices: int = 1  # per engine: voices heard only in the test split of ks, ic and asr
    scale: float = 1.0  # multiplies the utterance and clip counts
    noise_clips: int = 12  # clips per noise type and split
    noise_seconds: float = 4.0  # length of each noise clip
    music: bool = True  # music from scores (needs music21)
    rirs: int = 16  # simulated rooms for train (test gets half as many; needs pyroomacoustics, 0 = none)
    workers: int = 2  # parallel TTS processes


@dataclass
class Utterance:
    task: str
    split: str
    voice: Voice
    text: str
    label: str
    style: dict = field(default_factory=dict)
    rel: str = ""


def _count(base: float, scale: float) -> int:
    return max(1, int(round(base * scale)))


def _jitter(rng: np.random.Generator) -> dict:
    """Small per-utterance prosody changes so repeats of a text by one voice differ."""
    return {"rate_scale": float(rng.uniform(0.88, 1.15)), "pitch_shift": int(rng.integers(-6, 7))}


def plan_utterances(cfg: CorpusConfig, voices: list[Voice], rng: np.random.Generator) -> list[Utterance]:
    """Every TTS utterance of the corpus, decided before any audio is made."""
    heldout = set()
    for engine in cfg.engines:
        of_engine = [v.name for v in voices if v.engine == engine]
        if len(of_engine) > cfg.heldout_voices:
            heldout |= {of_engine[i] for i in rng.choice(len(of_engine), cfg.heldout_voices, replace=False)}
    split_of = {v.name: "test" if v.name in heldout else "train" for v in voices}
    plan: list[Utterance] = []
    s = cfg.scale
    if "ks" in cfg.tasks:
        for voice in voices:
            for word in texts.KEYWORDS:
                plan += [Utterance("ks", split_of[voice.name], voice, word, word, _jitter(rng)) for _ in range(_count(2, s))]
            for _ in range(_count(4, s)):
                word = texts.UNKNOWN_WORDS[int(rng.integers(len(texts.UNKNOWN_WORDS)))]
                plan.append(Utterance("ks", split_of[voice.name], voice, word, texts.UNKNOWN, _jitter(rng)))
    if "ic" in cfg.tasks:
        for voice in voices:
            for intent, phrasings in texts.intents().items():
                for _ in range(_count(1, s)):
                    text = phrasings[int(rng.integers(len(phrasings)))]
                    plan.append(Utterance("ic", split_of[voice.name], voice, text, intent, _jitter(rng)))
    if "asr" in cfg.tasks:
        for voice in voices:
            split = split_of[voice.name]
            for text in texts.sentences(split, _count(12 if split == "train" else 8, s), rng):
                plan.append(Utterance("asr", split, voice, text, text, _jitter(rng)))
    if "sid" in cfg.tasks:  # every voice in both splits; different sentences per split
        for voice in voices:
            for split, n in (("train", _count(12, s)), ("test", _count(4, s))):
                for text in texts.sentences(split, n, rng):
                    plan.append(Utterance("sid", split, voice, text, voice.name, _jitter(rng)))
    if "style" in cfg.tasks:
        for voice in (v for v in voices if v.engine == "espeak-ng"):
            for style, settings in texts.STYLES.items():
                n = max(2, _count(4, s))
                for i in range(n):
                    text = texts.STYLE_SENTENCES[int(rng.integers(len(texts.STYLE_SENTENCES)))]
                    jitter = _jitter(rng)
                    prosody = {**settings, "rate_scale": settings["rate_scale"] * jitter["rate_scale"],
                               "pitch_shift": settings["pitch_shift"] + jitter["pitch_shift"]}
                    split = "test" if i % 4 == 3 or i == n - 1 else "train"
                    plan.append(Utterance("style", split, voice, text, style, prosody))
    counters: Counter = Counter()
    for utt in plan:
        counters[(utt.task, utt.voice.name)] += 1
        utt.rel = f"{utt.task}/{utt.voice.name}/{counters[(utt.task, utt.voice.name)] - 1:05d}.wav"
    return plan


def _write_wav(path: Path, wave: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak > 0.99:  # never clip: scale down instead
        wave = wave * (0.99 / peak)
    sf.write(str(path), wave, sample_rate, subtype=subtype)
    return int(wave.size)


def _silence_clips(cfg: CorpusConfig, rng: np.random.Generator, audio: Path) -> list[tuple[str, str, int]]:
    """Keyword spotting's _silence_ class: one second of quiet coloured noise."""
    rows = []
    for split, colours in (("train", ("white", "pink", "brown")), ("test", tuple(noises.COLOURS))):
        for i in range(_count(6 if split == "train" else 3, cfg.scale)):
            colour = colours[int(rng.integers(len(colours)))]
            wave = noises.coloured_noise(colour, cfg.sample_rate, rng) * float(rng.uniform(0.001, 0.03))
            rel = f"ks/_silence_/{split}_{i:04d}.wav"
            rows.append((split, rel, _write_wav(audio / rel, wave, cfg.sample_rate)))
    return rows


def _write_task(folder: Path, audio: Path, rows: list[tuple[str, str, int, Utterance | None]], task: str) -> dict:
    """Manifests and label files of one task; returns the counts per split."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in ("train", "test"):
        mine = [r for r in rows if r[0] == split]
        write_manifest(folder / f"{split}.tsv", audio, [(rel, n) for _, rel, n, _ in mine])
        labels = [utt.label if utt else texts.SILENCE for _, _, _, utt in mine]
        if task != "asr":
            (folder / f"{split}.label").write_text("".join(f"{x}\n" for x in labels), encoding="utf-8")
        if task in ("ic", "asr"):
            words = [utt.text for _, _, _, utt in mine]
            (folder / f"{split}.wrd").write_text("".join(f"{w}\n" for w in words), encoding="utf-8")
            (folder / f"{split}.ltr").write_text("".join(f"{texts.letters(w)}\n" for w in words), encoding="utf-8")
        counts[split] = len(mine)
        if split == "train":
            if task == "asr":
                symbols = Counter(c for w in words for c in texts.letters(w).split())
                dict_name = "dict.ltr.txt"
            else:
                symbols, dict_name = Counter(labels), "dict.label.txt"
            ranked = sorted(symbols.items(), key=lambda kv: (-kv[1], kv[0]))
            (folder / dict_name).write_text("".join(f"{s} {c}\n" for s, c in ranked), encoding="utf-8")
    return counts


def _noise_folders(cfg: CorpusConfig, rng: np.random.Generator, out: Path, speech: dict[str, list[np.ndarray]]) -> dict:
    """noise/{train,test}/{noise,music,speech,babble}/ in MUSAN's layout; some kinds only in test."""
    n, sr, counts = _count(cfg.noise_clips, cfg.scale), cfg.sample_rate, Counter()
    length = int(cfg.noise_seconds * sr)
    for split in ("train", "test"):
        base = out / "noise" / split
        # test-only colours first, so even a tiny test split holds them
        colours = ("white", "pink", "brown") if split == "train" else ("blue", "violet", "white", "pink", "brown")
        for i in range(n):  # test-only: blue and violet noise, mains hum
            colour = colours[i % len(colours)]
            _write_wav(base / "noise" / f"{colour}_{i:03d}.wav", noises.coloured_noise(colour, length, rng) * 0.2, sr)
            counts[f"{split}/noise"] += 1
        if split == "test":
            for i in range(max(1, n // 3)):
                _write_wav(base / "noise" / f"hum_{i:03d}.wav", noises.mains_hum(length, sr, rng) * 0.2, sr)
                counts[f"{split}/noise"] += 1
        if cfg.music:  # Bach for train; unheard composers and timbres for test
            composers, timbres = (noises.TRAIN_COMPOSERS, noises.TRAIN_TIMBRES) if split == "train" \
                else (noises.TEST_COMPOSERS, noises.TEST_TIMBRES)
            # Parsing a score costs far more than rendering it: a few scores, several excerpts each.
            scores = [noises.score_notes(noises.corpus_scores(composers[k % len(composers)], 1, rng)[0])
                      for k in range(max(1, -(-n // 4)))]
            for i in range(n):
                composer = composers[(i % len(scores)) % len(composers)]
                notes = scores[i % len(scores)]
                last = max(onset for onset, _, _ in notes) if notes else 0.0
                wave = noises.render_notes(notes, sr, bpm=float(rng.uniform(70, 140)), seconds=cfg.noise_seconds,
                                           harmonics=timbres[i % len(timbres)],
                                           start_beat=float(rng.uniform(0, max(last - 8, 0))))
                _write_wav(base / "music" / f"{composer}_{i:03d}.wav", wave * 0.2, sr)
                counts[f"{split}/music"] += 1
        clips = speech.get(split, [])
        for i, clip in enumerate(clips):  # single talkers (MUSAN speech/), from which babble is drawn
            _write_wav(base / "speech" / f"talker_{i:03d}.wav", clip, sr)
            counts[f"{split}/speech"] += 1
        for i in range(n if len(clips) >= 2 else 0):
            picks = rng.choice(len(clips), size=min(len(clips), int(rng.integers(3, 7))), replace=False)
            wave = noises.babble_mix([clips[k] for k in picks], length, rng)
            _write_wav(base / "babble" / f"babble_{i:03d}.wav", wave * 0.2, sr)
            counts[f"{split}/babble"] += 1
    return dict(counts)


def _rooms(cfg: CorpusConfig, out: Path) -> dict:
    from .distortions import simulate_rirs

    counts = {}
    for split, count, seed in (("train", cfg.rirs, cfg.seed * 2 + 1), ("test", max(1, cfg.rirs // 2), cfg.seed * 2 + 2)):
        for i, rir in enumerate(simulate_rirs(count, cfg.sample_rate, seed)):
            # 24-bit PCM, not float: libsndfile stamps float WAVs with the time of writing (PEAK chunk).
            rir = rir * (0.9 / max(float(np.abs(rir).max()), 1e-12))
            _write_wav(out / "rir" / split / f"room_{i:03d}.wav", rir, cfg.sample_rate, subtype="PCM_24")
        counts[split] = count
    return counts


def _engine_version(engine: str) -> str:
    flag = "--version"
    try:
        result = subprocess.run([engine, flag], capture_output=True, text=True, timeout=10)
        return (result.stdout or result.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def build_corpus(cfg: CorpusConfig) -> dict:
    """Write the whole corpus under ``cfg.out``; returns (and writes to corpus.json) what was made."""
    unknown = set(cfg.tasks) - set(TASKS)
    if unknown:
        raise ConfigError(f"corpus tasks: unknown {sorted(unknown)}; known {TASKS}")
    missing = [e for e in cfg.engines if not engine_available(e)]
    if missing:
        raise DataError(f"TTS engines not installed: {missing}. Install the Debian packages "
                        f"({' '.join(missing)}) or pass --engines with the ones you have")
    rng = np.random.default_rng(cfg.seed)
    voices = []
    for engine in cfg.engines:
        of_engine = [v for v in available_voices((engine,))]
        voices += of_engine[: cfg.voices_per_engine] if cfg.voices_per_engine else of_engine
    out = Path(cfg.out)
    audio = out / "audio"
    plan = plan_utterances(cfg, voices, rng)
    # Single-talker clips for babble, from sentences of each split's half of the grammar.
    talkers = []
    for split in ("train", "test"):
        for i, text in enumerate(texts.sentences(split, _count(cfg.noise_clips, cfg.scale), rng)):
            talkers.append((split, voices[i % len(voices)], text))

    def speak(job):
        if isinstance(job, Utterance):
            return synthesize(job.voice, job.text, cfg.sample_rate, **job.style)
        return synthesize(job[1], job[2], cfg.sample_rate)

    with ThreadPoolExecutor(max(1, cfg.workers)) as pool:  # each job is a separate TTS process
        waves = list(pool.map(speak, plan + talkers))
    rows: dict[str, list] = {task: [] for task in cfg.tasks}
    for utt, wave in zip(plan, waves):
        rows[utt.task].append((utt.split, utt.rel, _write_wav(audio / utt.rel, wave, cfg.sample_rate), utt))
    if "ks" in cfg.tasks:
        rows["ks"] += [(split, rel, n, None) for split, rel, n in _silence_clips(cfg, rng, audio)]
    summary = {"config": asdict(cfg), "voices": [asdict(v) for v in voices],
               "engines": {e: _engine_version(e) for e in cfg.engines}, "tasks": {}}
    for task in cfg.tasks:
        summary["tasks"][task] = _write_task(out / task, audio, rows[task], task)
    speech = {"train": [], "test": []}
    for (split, _, _), wave in zip(talkers, waves[len(plan):]):
        speech[split].append(wave)
    summary["noise"] = _noise_folders(cfg, rng, out, speech)
    summary["rir"] = _rooms(cfg, out) if cfg.rirs > 0 else {}
    summary["config"]["tasks"] = list(cfg.tasks)
    (out / "corpus.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return summary
