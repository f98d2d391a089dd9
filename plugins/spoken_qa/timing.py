"""Word timings of synthetic speech: espeak-ng's SSML marks through libespeak-ng, and pocketsphinx alignment.

espeak-ng: each word of the text is preceded by ``<mark name="wN"/>``; synthesising through the C
library (ctypes, ``AUDIO_OUTPUT_RETRIEVAL``, in a server process that starts every utterance from a
freshly initialised engine, so an utterance never depends on the ones before it) gives the audio
and, in the synth callback, every mark's sample position. Word N then starts at mark N and ends
at mark N+1 (the last word at the end of the audio, less trailing silence). A word espeak merges with the next gets zero length.

pocketsphinx (pip, en-us acoustic model and cmudict inside the wheel): forced alignment of the same
word sequence (``set_align_text``), an independent timing used to check the marks.
"""

from __future__ import annotations

import atexit
import html
import json
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssl_universal.errors import DataError

WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


@dataclass
class WordTime:
    """One word of an utterance: its text, where it is in the utterance text, and its time in seconds."""

    word: str
    char_start: int  # offset in the utterance text
    char_end: int
    start: float
    end: float
    measured: bool = True  # both of its marks came from espeak-ng (not interpolated)


def words_of(text: str) -> list[tuple[str, int, int]]:
    """The words of ``text`` (letters, digits, inner apostrophes) with their character offsets."""
    return [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]


class Espeak:
    """libespeak-ng in retrieval mode: ``speak(ssml, ...)`` → (samples at ``rate``, [(mark name, seconds)]).

    The library keeps synthesiser state across utterances that none of its functions resets, so
    the same sentence comes out slightly different after other speech. The engine therefore runs in
    a server process (:mod:`._espeak_zygote`) that forks a fresh copy of the initialised library
    for every utterance: the audio of an utterance depends on its text, voice, rate and pitch only.
    """

    _lock = threading.Lock()  # one request at a time on the server's pipes
    _instance: Espeak | None = None

    def __init__(self):
        self._process = subprocess.Popen([sys.executable, "-I", str(Path(__file__).with_name("_espeak_zygote.py"))],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        ready = self._read_header()
        if ready.get("error"):
            self.close()
            raise DataError(ready["error"])
        self.rate = int(ready["rate"])
        atexit.register(self.close)

    @classmethod
    def shared(cls) -> Espeak:
        if cls._instance is None or cls._instance._process.poll() is not None:
            cls._instance = cls()
        return cls._instance

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()

    def _read_header(self) -> dict:
        line = self._process.stdout.readline()
        if not line:
            code = self._process.wait()
            raise DataError(f"the espeak-ng server exited (status {code}) without a reply; "
                            "run `python plugins/spoken_qa/_espeak_zygote.py` to see its error")
        return json.loads(line)

    def speak(self, ssml: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, list[tuple[str, float]]]:
        request = {"ssml": ssml, "voice": voice, "rate": int(rate), "pitch": int(pitch)}
        with self._lock:
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
            reply = self._read_header()
            if reply.get("error"):
                raise DataError(reply["error"])
            pcm = self._process.stdout.read(2 * reply["samples"])
        if len(pcm) != 2 * reply["samples"]:
            raise DataError(f"the espeak-ng server sent {len(pcm) // 2} of {reply['samples']} samples for {ssml[:80]!r}")
        wave = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        # Mark positions in samples: the sample counter of the event (audio_position is rounded to ms).
        return wave, [(name, sample / self.rate) for name, sample in reply["marks"]]


def marked_ssml(text: str) -> tuple[str, list[tuple[str, int, int]]]:
    """``text`` as SSML with ``<mark name="wN"/>`` before word N, and the words with their offsets."""
    words = words_of(text)
    parts, last = ["<speak>"], 0
    for n, (_, start, end) in enumerate(words):
        parts.append(html.escape(text[last:start], quote=False))
        parts.append(f'<mark name="w{n}"/>')
        parts.append(html.escape(text[start:end], quote=False))
        last = end
    parts.append(html.escape(text[last:], quote=False))
    parts.append('<mark name="end"/></speak>')
    return "".join(parts), words


def speech_end(wave: np.ndarray, rate: int, threshold: float = 1e-3) -> float:
    """Seconds at which the last audible sample ends."""
    loud = np.flatnonzero(np.abs(wave) > threshold)
    return float(loud[-1] + 1) / rate if loud.size else 0.0


def espeak_words(text: str, voice: str, rate: int = 165, pitch: int = 50) -> tuple[np.ndarray, int, list[WordTime]]:
    """Speak ``text`` with espeak-ng; the audio (float32 at the library's rate), the rate, and word times.

    A word ends at the next word's mark less the silence before it (the pause after a comma or a
    sentence belongs to no word).

    espeak-ng drops a mark that follows some sentence-final periods ("Mr. Smith", "dog. It"); such a
    word's start is interpolated between the neighbouring marks by character length and the word is
    flagged ``measured=False`` (the dataset builder never puts a gold answer on one).
    """
    engine = Espeak.shared()
    ssml, words = marked_ssml(text)
    wave, marks = engine.speak(ssml, voice, rate, pitch)
    at = dict(marks)
    end_of_speech = min(at.get("end", len(wave) / engine.rate), speech_end(wave, engine.rate))
    starts: list[float | None] = [at.get(f"w{n}") for n in range(len(words))]
    if words and starts[0] is None:
        starts[0] = 0.0
    measured = [s is not None for s in starts]
    n = 0
    while n < len(words):  # fill each run of missing marks between the known neighbours
        if starts[n] is not None:
            n += 1
            continue
        m = n
        while m < len(words) and starts[m] is None:
            m += 1
        left, right = starts[n - 1], starts[m] if m < len(words) else end_of_speech
        weights = np.cumsum([0] + [len(words[k][0]) for k in range(n - 1, m)], dtype=float)
        for k in range(n, m):
            starts[k] = left + (right - left) * weights[k - n + 1] / weights[-1]
        n = m
    times = []
    for n, (word, start, end) in enumerate(words):
        t0 = float(starts[n])
        t1 = float(starts[n + 1]) if n + 1 < len(words) else max(end_of_speech, t0)
        t1 = max(t0, min(t1, t0 + speech_end(wave[int(t0 * engine.rate): int(t1 * engine.rate)], engine.rate)))
        ok = measured[n] and (n + 1 == len(words) or measured[n + 1])
        times.append(WordTime(word, start, end, t0, max(t0, t1), ok))
    return wave, engine.rate, times


# -- pocketsphinx -------------------------------------------------------------------------------
def _pcm16(wave: np.ndarray) -> bytes:
    return (np.clip(wave, -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def _decoder(loglevel: str = "ERROR"):
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise DataError("pocketsphinx is not installed; `pip install pocketsphinx` (it is in the data and test extras)") from None
    return Decoder(loglevel=loglevel)


def sphinx_words(text: str) -> list[str]:
    """The words of ``text`` as pocketsphinx's dictionary spells them (lower case)."""
    return [w.lower() for w, _, _ in words_of(text)]


def align(wave16k: np.ndarray, text: str) -> list[tuple[str, float, float]] | None:
    """Forced alignment of ``text`` to 16 kHz audio: (word, start s, end s) per word, silences left out.

    None when a word is not in pocketsphinx's dictionary (cmudict) or the alignment fails (callers count those;
    the library's own "Final result does not match the grammar" line for a failed search is not printed).
    """
    decoder = _decoder("FATAL")
    words = sphinx_words(text)
    if not words or any(decoder.lookup_word(w) is None for w in words):
        return None
    decoder.set_align_text(" ".join(words))
    decoder.start_utt()
    decoder.process_raw(_pcm16(wave16k), full_utt=True)
    decoder.end_utt()
    out = []
    if decoder.hyp() is None:  # the search did not reach the end of the grammar
        return None
    for seg in decoder.seg() or ():
        word = re.sub(r"\(\d+\)$", "", seg.word)  # alternative pronunciations: was(2)
        if word.startswith("<") or word.startswith("[") or word == "sil":
            continue
        out.append((word, seg.start_frame * 0.01, (seg.end_frame + 1) * 0.01))
    return out if [w for w, _, _ in out] == words else None


def recognize(wave16k: np.ndarray) -> str:
    """pocketsphinx ASR (its en-us acoustic model and language model) of 16 kHz audio: the transcript."""
    decoder = _decoder()
    decoder.start_utt()
    decoder.process_raw(_pcm16(wave16k), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return "" if hyp is None else hyp.hypstr
