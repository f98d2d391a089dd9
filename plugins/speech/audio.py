"""Audio data: fairseq-style manifests and label files, streaming reads, resampling, batches by total samples."""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio

from ssl_universal.data.batching import BatchPlan
from ssl_universal.data.collate import pad_sequences
from ssl_universal.data.text_files import read_text
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.schema import check_config, choice

log = logging.getLogger(__name__)


# -- manifests and label files -------------------------------------------------------------------
@dataclass
class Manifest:
    """A fairseq audio manifest: a root folder and one ``(relative path, samples)`` per utterance."""

    root: Path  # folder the relative paths are resolved against (first line of the file)
    paths: list[str]  # relative paths, in file order
    sizes: np.ndarray  # samples per utterance at the file's own rate (second column)
    source: Path | None = None  # the .tsv this came from (for error messages)

    def __len__(self) -> int:
        return len(self.paths)

    def full_path(self, index: int) -> Path:
        return self.root / self.paths[index]


def read_manifest(path: str | Path) -> Manifest:
    """Parse ``root\\n path<TAB>samples ...``; every malformed line fails naming file and line."""
    path = Path(path)
    try:
        lines = read_text(path).splitlines()
    except OSError as error:
        raise DataError(f"{path}: cannot read the manifest ({error})") from error
    if not lines or not lines[0].strip():
        raise DataError(f"{path}:1: expected the root folder on the first line; found an empty line or file")
    if "\t" in lines[0]:
        raise DataError(
            f"{path}:1: expected the root folder alone on the first line; found a tab-separated row "
            f"({lines[0][:60]!r}). A fairseq manifest starts with the folder the paths are relative to"
        )
    paths, sizes = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise DataError(f"{path}:{number}: expected 'relative/path<TAB>num_samples'; found {line[:80]!r}")
        try:
            samples = int(fields[1])
        except ValueError:
            raise DataError(f"{path}:{number}: num_samples must be an integer; found {fields[1]!r}") from None
        if samples < 0:
            raise DataError(f"{path}:{number}: num_samples must be >= 0; found {samples}")
        paths.append(fields[0])
        sizes.append(samples)
    return Manifest(Path(lines[0].strip()), paths, np.asarray(sizes, dtype=np.int64), path)


def write_manifest(path: str | Path, root: str | Path, entries: Sequence[tuple[str, int]]) -> Path:
    """Write a manifest: ``root`` then one ``relative/path<TAB>samples`` line per entry."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{rel}\t{int(n)}\n" for rel, n in entries)
    path.write_text(f"{Path(root).resolve()}\n{body}", encoding="utf-8")
    return path


def read_labels(path: str | Path, manifest: Manifest | None = None) -> list[str]:
    """One label line per manifest entry (``.km``, ``.ltr``, ``.wrd``, ``.label`` ...)."""
    path = Path(path)
    try:
        labels = read_text(path).splitlines()
    except OSError as error:
        raise DataError(f"{path}: cannot read the label file ({error})") from error
    if manifest is not None and len(labels) != len(manifest):
        raise DataError(
            f"{path}: expected one label line per utterance of {manifest.source} ({len(manifest)}); "
            f"found {len(labels)} lines. Regenerate the labels for this manifest"
        )
    return labels


def check_label_lengths(
    manifest: Manifest, labels: Sequence[str], *, label_rate: float, sample_rate: int, tolerance: float | None = None,
    label_path: str | Path = "labels",
) -> None:
    """Frame labels (e.g. ``.km``) must hold about ``seconds * label_rate`` symbols per line.

    A mismatch means the labels were made at another frame rate or for other audio, which silently
    misaligns targets; ``tolerance`` (default: 30 ms of labels, at least 2) absorbs the frames lost
    to window and convolution edges (Kaldi MFCCs drop about 2.5 frames at 100 Hz).
    """
    if tolerance is None:
        tolerance = max(2.0, 0.03 * label_rate)
    for index, (line, samples) in enumerate(zip(labels, manifest.sizes)):
        expected = samples / sample_rate * label_rate
        found = len(line.split())
        if abs(found - expected) > tolerance:
            raise DataError(
                f"{label_path}:{index + 1}: expected about {expected:.1f} labels for {manifest.paths[index]} "
                f"({samples} samples at {sample_rate} Hz, label_rate {label_rate} Hz); found {found}. "
                "Check label_rate against the feature frame rate the labels were made with"
            )


def read_dictionary(path: str | Path) -> list[str]:
    """Symbols of a fairseq ``dict.*.txt`` (``symbol count`` per line), in file order."""
    path = Path(path)
    symbols = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        fields = line.split()
        if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
            raise DataError(f"{path}:{number}: expected 'symbol count'; found {line[:80]!r}")
        symbols.append(fields[0])
    return symbols


def check_label_symbols(labels: Sequence[str], symbols: Sequence[str], *, label_path: str | Path,
                        dictionary_path: str | Path) -> None:
    """Every symbol of every label line (e.g. the units of a ``.km`` file) must be in the dictionary.

    Run when a dataset is built, so that a unit file from another k-means run (or not a unit file at
    all) fails up front, naming the line and the symbol, rather than at the first training step.
    """
    known = set(symbols)
    for number, line in enumerate(labels, start=1):
        tokens = line.split()
        if known.issuperset(tokens):
            continue
        column, bad = next((i, t) for i, t in enumerate(tokens, start=1) if t not in known)
        shown = " ".join(symbols[:5]) + (f" ... {symbols[-1]}" if len(symbols) > 5 else "")
        kind = "" if bad.isdigit() else " (units are non-negative integers: is this a unit file?)"
        raise DataError(
            f"{label_path}:{number}: symbol {column} is {bad!r}{kind}, which is not in {dictionary_path} "
            f"({len(symbols)} symbols: {shown}). The labels and the dictionary must come from the same "
            "k-means run: make both again with `ssl-universal extract-units`"
        )


# -- reading audio -------------------------------------------------------------------------------
def _wav_declared_frames(path: Path) -> int | None:
    """Frames the RIFF header of a WAV file declares (data chunk bytes / block size); None when it does not say."""
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
            return None
        block_align = 0
        while len(chunk := handle.read(8)) == 8:
            ident, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if ident == b"data":  # 0 and 0xFFFFFFFF: a streaming writer that never filled the size in
                return size // block_align if block_align and size not in (0, 0xFFFFFFFF) else None
            if ident == b"fmt ":
                body = handle.read(size + size % 2)
                block_align = struct.unpack("<H", body[12:14])[0] if len(body) >= 14 else 0
            else:
                handle.seek(size + size % 2, 1)
    return None


def _check_complete(path: Path, info: sf._SoundFileInfo) -> None:
    """The last sample the header declares can be decoded: a FLAC/OGG cut short (a broken copy) fails here."""
    try:
        with sf.SoundFile(str(path)) as handle:
            if not handle.seekable():
                return
            handle.seek(info.frames - 1)
            last = handle.read(1, dtype="float32")
    except (sf.LibsndfileError, RuntimeError) as error:
        raise DataError(
            f"{path}: truncated or corrupt audio: its header declares {info.frames} samples, but decoding "
            f"the last one failed (soundfile: {error}). Copy or convert the file again"
        ) from error
    if len(last) == 0:
        raise DataError(f"{path}: truncated audio: its header declares {info.frames} samples, but the last one "
                        "cannot be read. Copy or convert the file again")


def audio_info(path: str | Path, *, check_complete: bool = True) -> sf._SoundFileInfo:
    """Header of an audio file; unreadable, empty, non-audio or truncated files fail naming the path.

    ``check_complete`` also decodes the last sample the header declares (a seek, not a full read); a WAV's
    length is always checked against its RIFF header.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: audio file not found")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise DataError(f"{path}: not a readable audio file ({error}); expected WAV/FLAC/OGG") from error
    if info.frames <= 0:
        raise DataError(f"{path}: the audio file is empty (0 samples)")
    # libsndfile counts a cut WAV's frames from its size; only the RIFF header still says how long it was
    declared = _wav_declared_frames(path) if info.format in ("WAV", "WAVEX") else None
    if declared is not None and declared > info.frames:
        raise DataError(
            f"{path}: truncated audio file: its header declares {declared} samples, but only {info.frames} are "
            f"in the file ({path.stat().st_size} bytes). Copy or convert the file again"
        )
    if check_complete:
        _check_complete(path, info)
    return info


def size_mismatch(path: Path, expected: int, info: sf._SoundFileInfo) -> DataError:
    """The error for a file whose length (complete by its own header) differs from its manifest line."""
    seconds = info.frames / info.samplerate
    return DataError(
        f"{path}: the manifest says {expected} samples; the file holds {info.frames} at its own rate of "
        f"{info.samplerate} Hz ({seconds:.3f} s, {info.format}/{info.subtype}). Manifests count samples at each "
        "file's own rate, not the model's. Either the manifest is stale, was written for a resampled copy, or "
        "belongs to other audio (regenerate it), or the file was replaced or cut short after the manifest was "
        "written (compare it with its source)"
    )


def to_mono_float(data: np.ndarray) -> np.ndarray:
    """[samples, channels] -> [samples] by averaging the channels (mixdown keeps the level)."""
    return data.mean(axis=1, dtype=np.float32) if data.ndim == 2 else data.astype(np.float32, copy=False)


@lru_cache(maxsize=16)
def _resampler(orig_rate: int, target_rate: int) -> torchaudio.transforms.Resample:
    # The sinc kernel costs far more to build than to apply; build it once per rate pair.
    return torchaudio.transforms.Resample(orig_rate, target_rate)


def resample(wave: torch.Tensor, orig_rate: int, target_rate: int) -> torch.Tensor:
    """Band-limited resampling (torchaudio's windowed sinc); a no-op at equal rates."""
    if orig_rate == target_rate:
        return wave
    with torch.no_grad():
        return _resampler(int(orig_rate), int(target_rate)).to(wave.device)(wave)


TRIM_METHODS = ("none", "energy", "vad")


@dataclass
class TrimConfig:
    """Removal of leading and trailing silence (real recordings start and end with it; TTS does not)."""

    method: str = choice("none", "energy", "vad")  # energy: frame power against the loudest frame; vad: torchaudio's
    threshold_db: float = 40.0  # energy: frames more than this far below the loudest frame are silence
    margin: float = 0.05  # seconds of audio kept before the first and after the last frame that is not silence


def trim_silence(wave: torch.Tensor, sample_rate: int, config: TrimConfig | None = None) -> torch.Tensor:
    """``wave`` [samples] without its leading and trailing silence.

    ``energy``: the power of 25 ms frames every 10 ms; frames within ``threshold_db`` of the loudest one
    are sound, and the audio from the first to the last of them (plus ``margin``) is kept. ``vad``:
    ``torchaudio.functional.vad`` (SoX's voice activity detector) cuts the front, and again on the
    reversed audio for the end. A file with no sound by either test (digital silence, or noise the VAD
    does not take for speech) is kept whole: trimming never makes an utterance disappear.
    """
    config = config or TrimConfig()
    if config.method == "none" or wave.numel() == 0:
        return wave
    if config.method not in TRIM_METHODS:
        raise ConfigError(f"trim method: expected one of {', '.join(TRIM_METHODS)}; got {config.method!r}")
    margin = int(config.margin * sample_rate)
    if config.method == "energy":
        window, hop = max(1, int(0.025 * sample_rate)), max(1, int(0.010 * sample_rate))
        padded = torch.nn.functional.pad(wave, (0, max(0, window - wave.numel())))
        power = padded.unfold(0, window, hop).float().square().mean(1)
        peak = float(power.max())
        if peak <= 0:
            return wave
        sound = torch.nonzero(power >= peak * 10 ** (-config.threshold_db / 10)).flatten()
        begin = max(0, int(sound[0]) * hop - margin)
        end = min(wave.numel(), int(sound[-1]) * hop + window + margin)
        return wave[begin:end]
    import torchaudio.functional as AF

    front = AF.vad(wave[None], sample_rate)[0]
    if front.numel() == 0:
        return wave
    both = AF.vad(front.flip(0)[None], sample_rate)[0].flip(0)
    if both.numel() == 0:
        return wave
    # the VAD cuts right at the detected onsets: put ``margin`` back on each side where the file has it
    begin = wave.numel() - front.numel()
    end = begin + both.numel()
    return wave[max(0, begin - margin):min(wave.numel(), end + margin)]


def load_audio(
    path: str | Path, target_rate: int, *, start: int = 0, frames: int = -1, expected_samples: int | None = None,
    trim: TrimConfig | None = None,
) -> torch.Tensor:
    """Mono float32 waveform at ``target_rate``; reads only ``[start, start+frames)`` from disk.

    ``start``/``frames`` count samples at the file's own rate, like the manifest sizes. Any format
    libsndfile reads (WAV, FLAC, OGG/Vorbis, ...) at any rate; ``trim`` removes leading/trailing silence
    after resampling (see :func:`trim_silence`).
    """
    path = Path(path)
    info = audio_info(path, check_complete=False)  # the read below fails on a cut FLAC/OGG itself
    if expected_samples is not None and info.frames != expected_samples:
        raise size_mismatch(path, expected_samples, info)
    try:
        data, rate = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise DataError(
            f"{path}: corrupt or truncated audio: its header declares {info.frames} samples; reading "
            f"[{start}, {info.frames if frames < 0 else start + frames}) failed (soundfile: {error})"
        ) from error
    wanted = info.frames - start if frames < 0 else min(frames, info.frames - start)
    if data.shape[0] < wanted:
        raise DataError(
            f"{path}: truncated audio: its header declares {info.frames} samples, but only {start + data.shape[0]} "
            "could be read. Copy or convert the file again"
        )
    if data.size == 0:
        raise DataError(f"{path}: no samples in [{start}, {start + frames}) of a {info.frames}-sample file")
    if not np.isfinite(data).all():
        raise DataError(f"{path}: the audio holds NaN or infinite samples")
    wave = resample(torch.from_numpy(to_mono_float(data)), rate, target_rate)
    return trim_silence(wave, target_rate, trim) if trim is not None else wave


def stream_audio(path: str | Path, block_samples: int) -> Iterator[np.ndarray]:
    """Mono blocks of a long file without reading it whole (at the file's own rate)."""
    audio_info(path)
    for block in sf.blocks(str(path), blocksize=block_samples, dtype="float32", always_2d=True):
        yield to_mono_float(block)


# -- datasets, collation, batches ----------------------------------------------------------------
@dataclass
class AudioDataConfig:
    """How a manifest becomes examples."""

    sample_rate: int = 16000  # the model's rate; files at other rates are resampled
    bad_files: str = choice("raise", "skip")  # "raise": stop naming the file; "skip": drop it, count it, report it
    validate: bool = True  # read every header up front (finds bad files before training starts)
    labels: dict[str, str] = field(default_factory=dict)  # label name -> label file path
    dictionaries: dict[str, str] = field(default_factory=dict)  # label name -> its dict.*.txt; every symbol must be in it
    label_rate: float | None = None  # frames/s of frame labels (e.g. 50 for HuBERT units); None = no check
    frame_labels: tuple[str, ...] = ("km",)  # which label names are per-frame (length-checked)
    trim: TrimConfig = field(default_factory=TrimConfig)  # leading/trailing silence removal on every read


class AudioDataset:
    """Utterances of one manifest with their label lines; items are read from disk on access."""

    def __init__(self, manifest: str | Path | Manifest, config: AudioDataConfig | None = None):
        self.config = check_config(config or AudioDataConfig())  # built in code, not by the config loader
        if self.config.trim.method != "none" and self.config.label_rate is not None and set(
                self.config.frame_labels) & set(self.config.labels):
            raise ConfigError(f"trim {self.config.trim.method!r} with frame labels ({', '.join(self.config.frame_labels)}"
                              f" at {self.config.label_rate} Hz): trimming would shift the audio under its labels. "
                              "Trim the audio files themselves before making the labels, or use trim: none")
        self.manifest = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
        self.labels = {name: read_labels(p, self.manifest) for name, p in self.config.labels.items()}
        for name, dictionary in self.config.dictionaries.items():
            if name not in self.labels:
                raise ConfigError(f"dictionaries names label {name!r}, which is not among labels {list(self.labels)}")
            check_label_symbols(self.labels[name], read_dictionary(dictionary), label_path=self.config.labels[name],
                                dictionary_path=dictionary)
        self.skipped: list[tuple[str, str]] = []  # (path, reason) of every file dropped by the skip policy
        self.rates = np.full(len(self.manifest), self.config.sample_rate, dtype=np.int64)
        keep = np.arange(len(self.manifest))
        if self.config.validate:
            keep = self._validate()
        self.index = keep
        if self.config.label_rate is not None:
            for name in self.config.frame_labels:
                if name in self.labels:
                    sub = Manifest(self.manifest.root, [self.manifest.paths[i] for i in keep],
                                   self._target_sizes(keep), self.manifest.source)
                    check_label_lengths(sub, [self.labels[name][i] for i in keep], label_rate=self.config.label_rate,
                                        sample_rate=self.config.sample_rate, label_path=self.config.labels[name])

    def _validate(self) -> np.ndarray:
        keep = []
        for i in range(len(self.manifest)):
            path = self.manifest.full_path(i)
            try:
                info = audio_info(path)
                if info.frames != self.manifest.sizes[i]:
                    raise size_mismatch(path, int(self.manifest.sizes[i]), info)
                self.rates[i] = info.samplerate
                keep.append(i)
            except DataError as error:
                if self.config.bad_files == "raise":
                    raise
                self.skipped.append((str(path), str(error)))
        if self.skipped:
            log.warning("%s: skipped %d of %d bad audio files (first: %s)", self.manifest.source,
                        len(self.skipped), len(self.manifest), self.skipped[0][1])
        return np.asarray(keep, dtype=np.int64)

    def _target_sizes(self, rows: np.ndarray) -> np.ndarray:
        """Samples at the model rate (what batching and label checks count)."""
        sizes = self.manifest.sizes[rows]
        return np.round(sizes * self.config.sample_rate / self.rates[rows]).astype(np.int64)

    @property
    def lengths(self) -> np.ndarray:
        """Samples per example at the model rate, for ``BatchPlan(max_tokens=<sample budget>)`` (before trimming:
        an upper bound of what a batch holds)."""
        return self._target_sizes(self.index)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict | None:
        row = int(self.index[i])
        try:
            wave = load_audio(self.manifest.full_path(row), self.config.sample_rate, trim=self.config.trim)
        except DataError as error:
            if self.config.bad_files == "raise":
                raise
            self.skipped.append((str(self.manifest.full_path(row)), str(error)))
            log.warning("skipped bad audio file: %s", error)
            return None
        item = {"id": row, "waveform": wave}
        item.update({name: lines[row] for name, lines in self.labels.items()})
        return item


def collate_audio(items: Sequence[dict | None]) -> dict:
    """Pad waveforms to the longest: ``waveform`` [B, T], ``lengths`` [B], ``attention_mask`` [B, T].

    Items that the skip policy turned into ``None`` are left out; label columns pass through as lists.
    """
    items = [it for it in items if it is not None]
    waves, mask = pad_sequences([it["waveform"] for it in items], 0, dtype=torch.float32)
    batch = {"waveform": waves, "lengths": mask.sum(1), "attention_mask": mask, "id": [it["id"] for it in items]}
    for key in items[0] if items else ():
        if key not in ("waveform", "id"):
            batch[key] = [it[key] for it in items]
    return batch


def audio_batch_plan(
    lengths: Sequence[int] | np.ndarray, *, max_samples: int, batch_size: int | None = None,
    bucket_by_length: bool = True, seed: int = 0, shuffle: bool = True,
) -> BatchPlan:
    """Batches bounded by padded samples (``len(batch) * longest <= max_samples``)."""
    return BatchPlan(lengths, batch_size=batch_size, max_tokens=max_samples,
                     bucket_by_length=bucket_by_length, seed=seed, shuffle=shuffle)
