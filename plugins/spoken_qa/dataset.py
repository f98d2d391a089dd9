"""A spoken SQuAD-style dataset made offline: fortunes as passages, cloze questions, TTS voices, gold spans in seconds.

Passages join ``fortunes_per_passage`` Debian fortunes; each gets one cloze question from the text
plugin's builder (a sentence of the passage with a content word replaced by "what"; the answer is
that word, so every question is of type ``cloze``). Passages are spoken by espeak-ng voices through
libespeak-ng with a mark before each word (:mod:`.timing`), so the answer's time span is measured,
not estimated; questions are spoken by flite voices (different speakers, another synthesiser).
Test passages and questions use voices heard in no other split.

Written under ``out``: ``audio/<split>/{context,question}-<id>.wav`` (16 kHz), ``<split>.tsv``
(fairseq manifest of every utterance of the split) with ``<split>.ids`` (the utterance id of each
manifest line: ``context-<id>`` or the question id), ``<split>.json`` (SQuAD v1.1 shape; each answer
also carries ``start_time``/``end_time``; each paragraph its ``context_id``, audio and word times) and
``dataset.json`` (the summary, including the check of the marks against pocketsphinx alignment).
"""

from __future__ import annotations

import json
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ssl_universal.errors import ConfigError, DataError
from ssl_universal.schema import choice
from ssl_universal_plugins.speech.audio import resample, write_manifest
from ssl_universal_plugins.speech.tts import Voice, engine_available, synthesize
from ssl_universal_plugins.text.prepare import FORTUNES_DIR, _cloze, _prose

from .timing import WordTime, align, espeak_words

log = logging.getLogger(__name__)
SPLITS = ("train", "valid", "test")
# (name, libespeak-ng voice, pitch, words per minute); the last one speaks test passages only.
PASSAGE_VOICES = (("espeak_us_m1", "en-us+m1", 45, 160), ("espeak_gb_f3", "gmw/en+f3", 60, 170),
                  ("espeak_scot_m4", "en-gb-scotland+m4", 35, 150), ("espeak_029_f2", "en-029+f2", 70, 175),
                  ("espeak_us_f4", "en-us+f4", 55, 165))
# flite voices for questions; slt (the only female flite voice) is held out for test.
QUESTION_VOICES = (Voice("flite_kal", "flite", "kal"), Voice("flite_awb", "flite", "awb"),
                   Voice("flite_rms", "flite", "rms"), Voice("flite_slt", "flite", "slt"))


@dataclass
class SpokenQAConfig:
    """What the dataset holds."""

    out: str = "data/spoken_qa"  # output folder
    seed: int = 0  # passages, questions, voices, prosody
    train: int = 400  # QA pairs per split (one question per passage)
    valid: int = 50
    test: int = 100
    fortunes_per_passage: int = 2  # fortunes joined into one passage
    max_fortune_chars: int = 160  # longest fortune used (bounds the passage length)
    min_fortune_chars: int = 40
    sample_rate: int = 16000
    check_alignment: int = 20  # passages per split whose marks are checked against pocketsphinx (0 = none)
    workers: int = 2  # parallel flite processes
    # flite: questions by flite voices (another synthesiser and speaker than the passage; the dataset proper).
    # passage: each question by its own passage's espeak-ng voice, pitch and rate, a *control*: units that follow the
    # voice as much as the words can then match the copied sentence, so it measures what the voice change costs.
    question_voice: str = choice("flite", "passage")


def _passage_texts(cfg: SpokenQAConfig, rng: random.Random) -> list[str]:
    fortunes = [t for t in _prose(FORTUNES_DIR, max_chars=cfg.max_fortune_chars) if len(t) >= cfg.min_fortune_chars]
    rng.shuffle(fortunes)
    k = cfg.fortunes_per_passage
    return [" ".join(fortunes[i: i + k]) for i in range(0, len(fortunes) - k + 1, k)]


def answer_span(times: list[WordTime], start: int, end: int) -> tuple[float, float, bool]:
    """Seconds covered by the words overlapping characters [start, end) and whether all were measured."""
    inside = [w for w in times if w.char_start < end and w.char_end > start]
    if not inside:
        raise DataError(f"no word of the passage covers characters {start}..{end}")
    return inside[0].start, inside[-1].end, all(w.measured for w in inside) and inside[-1].end > inside[0].start


def _write(path: Path, wave: np.ndarray, rate: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak > 0.99:
        wave = wave * (0.99 / peak)
    sf.write(str(path), wave, rate, subtype="PCM_16")
    return int(wave.size)


def build_dataset(cfg: SpokenQAConfig) -> dict:
    """Write the dataset under ``cfg.out``; returns the summary (also ``dataset.json``)."""
    if cfg.fortunes_per_passage < 1:
        raise ConfigError(f"fortunes_per_passage must be >= 1, got {cfg.fortunes_per_passage}")
    if cfg.question_voice not in ("flite", "passage"):
        raise ConfigError(f"question_voice must be 'flite' or 'passage', got {cfg.question_voice!r}")
    if cfg.question_voice == "flite" and not engine_available("flite"):
        raise DataError("flite is not installed (questions are spoken by flite voices): bash tools/install_system_deps.sh")
    rng = random.Random(cfg.seed)
    texts = _passage_texts(cfg, rng)
    wanted = {"train": cfg.train, "valid": cfg.valid, "test": cfg.test}
    out = Path(cfg.out)
    skipped = {"no_cloze": 0, "answer_not_measured": 0}
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    cursor = 0
    for split in SPLITS:
        p_voices = PASSAGE_VOICES[-1:] if split == "test" else PASSAGE_VOICES[:-1]
        q_voices = QUESTION_VOICES[-1:] if split == "test" else QUESTION_VOICES[:-1]
        while len(rows[split]) < wanted[split]:
            if cursor >= len(texts):
                raise DataError(f"the fortunes ran out after {sum(map(len, rows.values()))} QA pairs; ask for fewer")
            context = texts[cursor]
            cursor += 1
            name, voice, pitch, wpm = p_voices[rng.randrange(len(p_voices))]
            pitch += rng.randint(-6, 6)
            wpm = int(wpm * rng.uniform(0.9, 1.1))
            wave, rate, times = espeak_words(context, voice, wpm, pitch)
            for _ in range(5):  # a cloze whose answer word has measured marks
                qa = _cloze(context, rng)
                if qa is None:
                    break
                start, end, measured = answer_span(times, qa["answer_start"], qa["answer_start"] + len(qa["text"]))
                if measured:
                    break
            if qa is None:
                skipped["no_cloze"] += 1
                continue
            if not measured:
                skipped["answer_not_measured"] += 1
                continue
            n = len(rows[split])
            wave16 = resample(torch.from_numpy(wave), rate, cfg.sample_rate).numpy()
            rows[split].append({
                "id": f"{split}-{n:05d}", "context_id": f"{split}-c{n:05d}", "context": context, "qa": qa,
                "passage_voice": name, "question_voice": q_voices[rng.randrange(len(q_voices))],
                "espeak": (voice, wpm, pitch),
                "wave": wave16, "times": times, "span": (round(start, 4), round(end, 4)),
                "prosody": {"rate_scale": rng.uniform(0.9, 1.1), "pitch_shift": rng.randint(-6, 6)},
            })

    def speak_question(row):
        return synthesize(row["question_voice"], row["qa"]["question"], cfg.sample_rate, **row["prosody"])

    all_rows = [r for s in SPLITS for r in rows[s]]
    if cfg.question_voice == "passage":  # libespeak-ng is one process-wide engine: one question at a time
        for row in all_rows:
            wave, rate, _ = espeak_words(row["qa"]["question"], *row["espeak"])
            row["question_wave"] = resample(torch.from_numpy(wave), rate, cfg.sample_rate).numpy()
            row["question_speaker"] = row["passage_voice"]
    else:
        with ThreadPoolExecutor(max(1, cfg.workers)) as pool:
            question_waves = list(pool.map(speak_question, all_rows))
        for row, qwave in zip(all_rows, question_waves):
            row["question_wave"], row["question_speaker"] = qwave, row["question_voice"].name
    summary = {"config": asdict(cfg), "skipped": skipped, "splits": {}}
    for split in SPLITS:
        summary["splits"][split] = _write_split(out, split, rows[split], cfg.sample_rate)
    summary["alignment_check"] = alignment_check(rows, cfg.check_alignment, cfg.sample_rate)
    summary["question_type"] = "cloze: a sentence of the passage with one content word (4+ letters) replaced by 'what'"
    (out / "dataset.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _write_split(out: Path, split: str, rows: list[dict], rate: int) -> dict:
    audio = out / "audio"
    manifest, ids, paragraphs = [], [], []
    for row in rows:
        c_rel, q_rel = f"{split}/context-{row['context_id']}.wav", f"{split}/question-{row['id']}.wav"
        manifest.append((c_rel, _write(audio / c_rel, row["wave"], rate)))
        ids.append(f"context-{row['context_id']}")
        manifest.append((q_rel, _write(audio / q_rel, row["question_wave"], rate)))
        ids.append(row["id"])
        qa = row["qa"]
        paragraphs.append({
            "context": row["context"], "context_id": row["context_id"], "audio": c_rel, "voice": row["passage_voice"],
            "words": [[w.word, w.char_start, round(w.start, 4), round(w.end, 4)] for w in row["times"]],
            "qas": [{"id": row["id"], "question": qa["question"], "type": "cloze", "audio": q_rel,
                     "voice": row["question_speaker"],
                     "answers": [{"text": qa["text"], "answer_start": qa["answer_start"],
                                  "start_time": row["span"][0], "end_time": row["span"][1]}]}],
        })
    write_manifest(out / f"{split}.tsv", audio, manifest)
    (out / f"{split}.ids").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    document = {"version": "spoken-fortunes-cloze-1", "data": [{"title": "fortunes", "paragraphs": paragraphs}]}
    (out / f"{split}.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    seconds_p = [len(r["wave"]) / rate for r in rows]
    seconds_q = [len(r["question_wave"]) / rate for r in rows]
    return {
        "qa_pairs": len(rows), "hours": round((sum(seconds_p) + sum(seconds_q)) / 3600, 4),
        "passage_speakers": sorted({r["passage_voice"] for r in rows}),
        "question_speakers": sorted({r["question_speaker"] for r in rows}),
        "passage_words": round(float(np.mean([len(r["times"]) for r in rows])), 1) if rows else 0,
        "question_words": round(float(np.mean([len(r["qa"]["question"].split()) for r in rows])), 1) if rows else 0,
        "passage_seconds": round(float(np.mean(seconds_p)), 2) if rows else 0,
        "question_seconds": round(float(np.mean(seconds_q)), 2) if rows else 0,
        "answer_seconds": round(float(np.mean([r["span"][1] - r["span"][0] for r in rows])), 3) if rows else 0,
    }


def alignment_check(rows: dict[str, list[dict]], per_split: int, rate: int) -> dict:
    """Median |espeak mark − pocketsphinx alignment| of word starts and of the answer spans, in ms."""
    starts, answers, used, failed = [], [], 0, 0
    for split in SPLITS:
        for row in rows[split][:per_split]:
            aligned = align(row["wave"], row["context"])
            if aligned is None:
                failed += 1
                continue
            used += 1
            measured = [w for w in row["times"] if w.measured]
            by_index = dict(enumerate(row["times"]))
            for k, (_, a0, _) in enumerate(aligned):
                if by_index[k].measured:
                    starts.append(abs(by_index[k].start - a0) * 1000)
            inside = [k for k, w in enumerate(row["times"])
                      if w.char_start < row["qa"]["answer_start"] + len(row["qa"]["text"]) and w.char_end > row["qa"]["answer_start"]]
            g0, g1 = row["span"]
            answers.append(max(abs(g0 - aligned[inside[0]][1]), abs(g1 - aligned[inside[-1]][2])) * 1000)
            del measured
    return {"utterances": used, "not_aligned": failed,
            "median_word_start_ms": round(float(np.median(starts)), 1) if starts else None,
            "median_answer_edge_ms": round(float(np.median(answers)), 1) if answers else None,
            "p90_answer_edge_ms": round(float(np.percentile(answers, 90)), 1) if answers else None}


def summary_table(summary: dict, wer: dict | None = None) -> str:
    """The dataset table in the seed's shape (one row per split)."""
    lines = ["| split | QA pairs | hours | passage speakers | question speakers | WER passages | WER questions | "
             "words/passage | words/question | s/passage | s/question | s/answer |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for split, s in summary["splits"].items():
        w = (wer or {}).get(split, {})
        fmt = lambda v: "—" if v is None else f"{v:.1f}"  # noqa: E731
        lines.append(f"| {split} | {s['qa_pairs']} | {s['hours']:.3f} | {len(s['passage_speakers'])} | "
                     f"{len(s['question_speakers'])} | {fmt(w.get('passages'))} | {fmt(w.get('questions'))} | "
                     f"{s['passage_words']} | {s['question_words']} | {s['passage_seconds']} | {s['question_seconds']} | "
                     f"{s['answer_seconds']} |")
    return "\n".join(lines)
