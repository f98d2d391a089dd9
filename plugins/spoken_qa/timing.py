"""Word timings of synthetic speech: espeak-ng's SSML marks through libespeak-ng, and pocketsphinx alignment.

espeak-ng: each word of the text is preceded by ``<mark name="wN"/>``; synthesising through the C
library (ctypes, ``AUDIO_OUTPUT_RETRIEVAL``) gives the audio and, in the synth callback, every
mark's ``audio_position``. Word N then starts at mark N and ends at mark N+1 (the last word at the
end of the audio, less trailing silence). A word espeak merges with the next gets zero length.

pocketsphinx (pip, en-us acoustic model and cmudict inside the wheel): forced alignment of the same
word sequence (``set_align_text``), an independent timing used to check the marks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import html
import re
import threading
from dataclasses import dataclass

import numpy as np

from ssl_universal.errors import DataError

WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")
_EVENT_MARK, _EVENT_LIST_TERMINATED = 3, 0
_AUDIO_OUTPUT_RETRIEVAL, _POS_CHARACTER = 1, 1
_SSML, _CHARS_UTF8 = 0x10, 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH = 1, 2, 3


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


class _Event(ctypes.Structure):
    class _Id(ctypes.Union):
        _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class Espeak:
    """libespeak-ng in retrieval mode: ``speak(text)`` → (samples at ``rate``, [(mark name, seconds)])."""

    _lock = threading.Lock()  # the library holds one global synthesiser
    _instance: Espeak | None = None

    def __init__(self):
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(name)
        except OSError as err:
            raise DataError(f"libespeak-ng not found ({err}); install the Debian package 'libespeak-ng1' "
                            "(bash tools/install_system_deps.sh)") from None
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_RETRIEVAL, 0, None, 0)
        if self.rate <= 0:
            raise DataError("espeak_Initialize failed: is espeak-ng-data installed?")
        self._chunks: list[np.ndarray] = []
        self._marks: list[tuple[str, int]] = []
        self._callback = _CALLBACK(self._on_audio)  # kept alive: the library holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]

    @classmethod
    def shared(cls) -> Espeak:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _on_audio(self, wav, numsamples, events) -> int:
        if numsamples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_MARK:
                self._marks.append((event.id.name.decode(), int(event.sample)))
            i += 1
        return 0

    def speak(self, ssml: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, list[tuple[str, float]]]:
        with self._lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise DataError(f"espeak-ng has no voice {voice!r} (see `espeak-ng --voices`)")
            self.lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
            self.lib.espeak_SetParameter(_PARAM_PITCH, int(np.clip(pitch, 0, 99)), 0)
            self.lib.espeak_SetParameter(_PARAM_VOLUME, 100, 0)
            self._chunks, self._marks = [], []
            data = ssml.encode("utf-8") + b"\0"
            buffer = ctypes.create_string_buffer(data)
            code = self.lib.espeak_Synth(buffer, len(data), 0, _POS_CHARACTER, 0, _SSML | _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            if code != 0:
                raise DataError(f"espeak_Synth failed ({code}) for voice {voice!r} on {ssml[:80]!r}")
            wave = np.concatenate(self._chunks).astype(np.float32) / 32768.0 if self._chunks else np.zeros(0, np.float32)
            # Mark positions in samples: the sample counter of the event (audio_position is rounded to ms).
            marks = [(name, sample / self.rate) for name, sample in self._marks]
        return wave, marks


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


def _decoder():
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise DataError("pocketsphinx is not installed; `pip install pocketsphinx` (it is in the data and test extras)") from None
    return Decoder(loglevel="ERROR")


def sphinx_words(text: str) -> list[str]:
    """The words of ``text`` as pocketsphinx's dictionary spells them (lower case)."""
    return [w.lower() for w, _, _ in words_of(text)]


def align(wave16k: np.ndarray, text: str) -> list[tuple[str, float, float]] | None:
    """Forced alignment of ``text`` to 16 kHz audio: (word, start s, end s) per word, silences left out.

    None when a word is not in pocketsphinx's dictionary (cmudict) or the alignment fails.
    """
    decoder = _decoder()
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
