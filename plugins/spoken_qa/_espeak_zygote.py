"""A libespeak-ng server whose every utterance starts from the same freshly initialised engine.

libespeak-ng keeps synthesiser state across calls that no public function resets (the same
sentence spoken twice in one process comes out some samples longer or shorter, its word marks
about a millisecond apart; ``espeak_Terminate`` + ``espeak_Initialize`` and ``srand`` do not
help). So this process initialises the library once, never speaks itself, and forks a child for
each request: every child inherits the same pristine engine, and an utterance's audio depends only
on its text, voice, rate and pitch, never on what was spoken before it.

Standard library only, single-threaded (so ``fork`` is safe). Protocol on stdin/stdout, one
request at a time: a request is one JSON line ``{"ssml", "voice", "rate", "pitch"}``; the reply is
one JSON line ``{"rate", "samples", "marks": [[name, sample], ...], "error"}`` followed by
``samples`` int16 values in the machine's byte order. A child writes only after its synthesis has finished. Started by :class:`.timing.Espeak`; not a user command.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import sys

_EVENT_MARK, _EVENT_LIST_TERMINATED = 3, 0
_AUDIO_OUTPUT_SYNCHRONOUS, _POS_CHARACTER = 2, 1
_SSML, _CHARS_UTF8 = 0x10, 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH = 1, 2, 3


class _Event(ctypes.Structure):
    class _Id(ctypes.Union):
        _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


def _reply(out, header: dict, pcm: bytes = b"") -> None:
    out.write(json.dumps(header).encode() + b"\n" + pcm)
    out.flush()


def _speak(lib, rate: int, request: dict, out) -> None:
    """In the forked child: synthesise one request and write the reply."""
    chunks: list[bytes] = []
    marks: list[list] = []

    def on_audio(wav, numsamples, events):
        if numsamples > 0 and wav:
            chunks.append(ctypes.string_at(wav, 2 * numsamples))
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_MARK:
                marks.append([events[i].id.name.decode(), int(events[i].sample)])
            i += 1
        return 0

    callback = _CALLBACK(on_audio)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(request["voice"].encode()) != 0:
        _reply(out, {"error": f"espeak-ng has no voice {request['voice']!r} (see `espeak-ng --voices`)"})
        return
    lib.espeak_SetParameter(_PARAM_RATE, int(request["rate"]), 0)
    lib.espeak_SetParameter(_PARAM_PITCH, min(99, max(0, int(request["pitch"]))), 0)
    lib.espeak_SetParameter(_PARAM_VOLUME, 100, 0)
    data = request["ssml"].encode("utf-8") + b"\0"
    buffer = ctypes.create_string_buffer(data)
    code = lib.espeak_Synth(buffer, len(data), 0, _POS_CHARACTER, 0, _SSML | _CHARS_UTF8, None, None)
    lib.espeak_Synchronize()
    if code != 0:
        _reply(out, {"error": f"espeak_Synth failed ({code}) for voice {request['voice']!r} on {request['ssml'][:80]!r}"})
        return
    pcm = b"".join(chunks)
    _reply(out, {"rate": rate, "samples": len(pcm) // 2, "marks": marks, "error": None}, pcm)


def main() -> int:
    out = sys.stdout.buffer
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as err:
        _reply(out, {"error": f"libespeak-ng not found ({err}); install the Debian package 'libespeak-ng1' "
                              "(bash tools/install_system_deps.sh)"})
        return 1
    lib.espeak_Initialize.restype = ctypes.c_int
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
    if rate <= 0:
        _reply(out, {"error": "espeak_Initialize failed: is espeak-ng-data installed?"})
        return 1
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    _reply(out, {"rate": rate, "error": None})  # ready
    for line in sys.stdin.buffer:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:  # child: speak from the pristine engine, reply, vanish
            try:
                _speak(lib, rate, request, out)
            except BaseException as err:  # noqa: BLE001 - any failure becomes the reply, never a hang
                _reply(out, {"error": f"espeak-ng worker failed: {err!r}"})
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            _reply(out, {"error": f"espeak-ng worker died (wait status {status}) on {request['ssml'][:80]!r}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
