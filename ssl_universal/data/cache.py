"""Tokenised datasets cached on disk as memory-mapped arrays, so re-runs skip tokenisation and memory stays flat."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import DataError

FORMAT_VERSION = 1  # bump when the on-disk layout changes; old caches are then rebuilt
CHUNK_TOKENS = 1 << 20  # tokens buffered in memory before an append to disk
OFFSETS = "offsets.int64"  # N+1 start positions into the flat token arrays
LENGTHS = "lengths.int64"  # N token counts, kept on disk so `.lengths` needs no copy


CACHE_ENV = "SSL_UNIVERSAL_CACHE"  # moves every cache of the project (tokenised data, prepared and parsed sets)


def cache_root(*parts: str) -> Path:
    """The project's cache folder: ``$SSL_UNIVERSAL_CACHE`` when set, else ``~/.cache/ssl_universal``;
    ``parts`` name a folder inside it (``cache_root("text")`` is where the text plugin prepares data)."""
    base = os.environ.get(CACHE_ENV)
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "ssl_universal"
    return root.joinpath(*parts)


def cache_key_hash(key: dict | str) -> str:
    """Stable sha256 of ``key`` as canonical JSON (sorted keys, no whitespace)."""
    text = key if isinstance(key, str) else json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"v{FORMAT_VERSION}:{text}".encode()).hexdigest()


def source_fingerprint(*paths: str | os.PathLike) -> list[dict]:
    """Path, size and modification time of each file (folders walked), to put into a cache key."""
    found = []
    for root in paths:
        root = Path(root)
        if not root.exists():
            raise DataError(f"cache key: source {root} does not exist")
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            stat = file.stat()
            found.append({"path": str(file.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return found


def tokenizer_fingerprint(tokenizer: Any) -> dict:
    """What identifies a tokenizer's output: its class, config and a digest of its vocabulary."""
    if tokenizer is None:
        return {"class": None}
    symbols = getattr(tokenizer, "symbols", None)
    if symbols is None and hasattr(tokenizer, "get_vocab"):  # a bare Hugging Face tokenizer
        symbols = [token for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])]
    vocabulary = hashlib.sha256("\n".join(symbols).encode()).hexdigest() if symbols else None
    cfg = getattr(tokenizer, "cfg", None)
    return {
        "class": f"{type(tokenizer).__module__}.{type(tokenizer).__qualname__}",
        "config": dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else repr(cfg),
        "vocabulary": vocabulary,
    }


class TokenDataset(Sequence):
    """A cached tokenised dataset: ``ds[i]`` is a dict of array views (per-token fields) and scalars.

    Per-token fields (``input_ids``, tag labels, ...) are slices of one flat memory-mapped
    array, so reading touches only the pages it needs; per-example fields (``label``) come
    back as Python numbers, exactly as a task's ``collate`` expects them.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.meta = _read_meta(self.directory)
        self._open()

    def _open(self) -> None:
        n = self.meta["num_examples"]
        self.offsets = _open_array(self.directory / OFFSETS, np.int64, n + 1)
        self.lengths = _open_array(self.directory / LENGTHS, np.int64, n)
        self._arrays = {
            name: _open_array(self.directory / f"{name}.{spec['dtype']}", np.dtype(spec["dtype"]),
                              self.meta["num_tokens"] if spec["kind"] == "token" else n)
            for name, spec in self.meta["fields"].items()
        }

    @property
    def fields(self) -> dict[str, str]:
        """Field name -> ``token`` (one value per token) or ``scalar`` (one per example)."""
        return {name: spec["kind"] for name, spec in self.meta["fields"].items()}

    @property
    def num_tokens(self) -> int:
        return int(self.meta["num_tokens"])

    def __len__(self) -> int:
        return int(self.meta["num_examples"])

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        n = len(self)
        if isinstance(index, slice):  # as a list would answer
            return [self[i] for i in range(*index.indices(n))]
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"TokenDataset indices are integers; got {type(index).__name__}")
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for {n} examples")
        start, stop = int(self.offsets[index]), int(self.offsets[index + 1])
        example = {}
        for name, spec in self.meta["fields"].items():
            array = self._arrays[name]
            example[name] = np.asarray(array[start:stop]) if spec["kind"] == "token" else array[index].item()
        return example

    def __getstate__(self) -> dict:  # DataLoader workers reopen the files instead of pickling the arrays
        return {"directory": self.directory, "meta": self.meta}

    def __setstate__(self, state: dict) -> None:
        self.directory, self.meta = state["directory"], state["meta"]
        self._open()

    def __repr__(self) -> str:
        return f"TokenDataset({str(self.directory)!r}, examples={len(self)}, tokens={self.num_tokens})"


def cached_dataset(
    cache_dir: str | os.PathLike | None,
    key: dict | str,
    build: Callable[[], Iterable[dict]],
    fields: Sequence[str] = ("input_ids", "label"),
) -> TokenDataset:
    """Open the cache for ``key``, building it from ``build()`` first when it is missing.

    ``key`` must name everything the content depends on (``source_fingerprint`` of the raw
    files, tokenizer name and config, task config); a changed key means a new cache entry.
    ``build`` yields examples one by one; they are appended to disk in chunks, never held
    whole. The first field is the one that sets each example's length. A field whose value
    is a list/array is per-token (it must match that length); a number is per-example.
    The build goes into a temporary folder that is renamed into place only when complete,
    so an interrupted build is never mistaken for a cache. Under DDP let one rank build
    (then barrier) to avoid duplicate work; concurrent builders are still safe.
    """
    if not fields:
        raise DataError("cached_dataset: fields is empty; name at least the token field (e.g. input_ids)")
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    digest = cache_key_hash(key)
    final = root / digest
    if final.is_dir():
        try:
            return TokenDataset(final)
        except DataError:
            shutil.rmtree(final, ignore_errors=True)  # damaged by something outside us: rebuild
    root.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(root, digest)
    temp = root / f".tmp-{digest}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        _write(temp, key, build(), tuple(fields))
        try:
            os.replace(temp, final)
        except OSError:
            if not (final / "meta.json").is_file():
                raise
            shutil.rmtree(temp, ignore_errors=True)  # another process finished the same build first
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return TokenDataset(final)


# -- writing ---------------------------------------------------------------------------------
class _FieldWriter:
    """Buffers one field's values and appends them to its raw file."""

    def __init__(self, name: str, kind: str, dtype: np.dtype, handle: BinaryIO):
        self.name, self.kind, self.dtype, self.handle = name, kind, dtype, handle
        self.buffer: list = []

    def add(self, value: Any, index: int) -> None:
        array = np.asarray(value)
        if array.size == 0:
            array = array.astype(self.dtype)
        if array.dtype.kind not in "biuf":
            raise DataError(f"cached_dataset: example {index} field {self.name!r} has type {array.dtype}; "
                            "only numbers and arrays of numbers can be cached")
        if array.dtype.kind == "f" and self.dtype.kind != "f":
            raise DataError(f"cached_dataset: example {index} field {self.name!r} holds floats but the first "
                            f"example's were integers ({self.dtype}); make the field's type consistent")
        self.buffer.append(array)

    def flush(self) -> None:
        if self.buffer:
            data = np.concatenate(self.buffer) if self.kind == "token" else np.stack(self.buffer)
            self.handle.write(data.astype(self.dtype, copy=False).tobytes())
            self.buffer.clear()


def _field_kind(name: str, value: Any, index: int) -> tuple[str, np.dtype]:
    array = np.asarray(value)
    if array.ndim == 1 and array.size == 0:
        return "token", np.dtype(np.int32)  # an empty list says nothing of its type; ids are the common case
    if array.dtype.kind not in "biuf":
        raise DataError(f"cached_dataset: example {index} field {name!r} has type {type(value).__name__}; "
                        "only numbers and arrays of numbers can be cached")
    if array.ndim == 0:
        return "scalar", np.dtype(np.float64 if array.dtype.kind == "f" else np.int64)
    if array.ndim != 1:
        raise DataError(f"cached_dataset: example {index} field {name!r} has shape {array.shape}; expected 1-D")
    # Token ids and tag labels fit int32; keep a float field's precision modest but exact enough.
    return "token", np.dtype(np.float32 if array.dtype.kind == "f" else np.int32)


def _write(directory: Path, key: dict | str, examples: Iterable[dict], fields: tuple[str, ...]) -> None:
    writers: dict[str, _FieldWriter] = {}
    with contextlib.ExitStack() as files:  # closes every file however the build ends
        offsets = files.enter_context(open(directory / OFFSETS, "wb"))
        lengths = files.enter_context(open(directory / LENGTHS, "wb"))
        pending_lengths: list[int] = []
        total = count = buffered = 0
        offsets.write(np.zeros(1, np.int64).tobytes())
        for index, example in enumerate(examples):
            missing = [f for f in fields if f not in example]
            if missing:
                raise DataError(f"cached_dataset: example {index} lacks field(s) {missing}; it has {sorted(example)}")
            if not writers:
                for name in fields:
                    kind, dtype = _field_kind(name, example[name], index)
                    handle = files.enter_context(open(directory / f"{name}.{dtype.name}", "wb"))
                    writers[name] = _FieldWriter(name, kind, dtype, handle)
                if writers[fields[0]].kind != "token":
                    raise DataError(f"cached_dataset: the first field {fields[0]!r} must be a sequence (it sets "
                                    "each example's length); list the token field first")
            length = len(example[fields[0]])
            for name, writer in writers.items():
                value = example[name]
                if writer.kind == "token" and len(value) != length:
                    raise DataError(f"cached_dataset: example {index} field {name!r} has {len(value)} values but "
                                    f"{fields[0]!r} has {length}; per-token fields must match it")
                if writer.kind == "scalar" and np.ndim(value) != 0:
                    raise DataError(f"cached_dataset: example {index} field {name!r} is a sequence but earlier "
                                    "examples held a single number")
                writer.add(value, index)
            pending_lengths.append(length)
            total += length
            count += 1
            buffered += length
            if buffered >= CHUNK_TOKENS or len(pending_lengths) >= CHUNK_TOKENS // 8:
                _flush(writers, pending_lengths, offsets, lengths, total)
                buffered = 0
        _flush(writers, pending_lengths, offsets, lengths, total)
    specs = {w.name: {"kind": w.kind, "dtype": w.dtype.name} for w in writers.values()}
    meta = {"format": FORMAT_VERSION, "key": key, "fields": specs, "num_examples": count, "num_tokens": total}
    if not writers:  # an empty dataset: declare the token field so readers see the expected keys
        for name in fields:
            (directory / f"{name}.int32").touch()
        meta["fields"] = {name: {"kind": "token", "dtype": "int32"} for name in fields[:1]}
    with open(directory / "meta.json", "w") as f:  # written last: its presence marks a complete build
        json.dump(meta, f, indent=1, default=str)


def _flush(writers: dict, pending: list[int], offsets_file, lengths_file, total: int) -> None:
    if not pending:
        return
    chunk = np.asarray(pending, dtype=np.int64)
    lengths_file.write(chunk.tobytes())
    ends = total - chunk.sum() + np.cumsum(chunk)
    offsets_file.write(ends.tobytes())
    for writer in writers.values():
        writer.flush()
    pending.clear()


# -- reading ---------------------------------------------------------------------------------
def _read_meta(directory: Path) -> dict:
    path = directory / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"dataset cache {directory}: cannot read {path.name} ({error}); delete the folder") from error
    if meta.get("format") != FORMAT_VERSION:
        raise DataError(f"dataset cache {directory}: format {meta.get('format')}, expected {FORMAT_VERSION}")
    return meta


def _open_array(path: Path, dtype: np.dtype, size: int) -> np.ndarray:
    dtype = np.dtype(dtype)
    found = path.stat().st_size if path.exists() else None
    if found != size * dtype.itemsize:
        raise DataError(f"dataset cache: {path} holds {found} bytes, expected {size * dtype.itemsize}; "
                        "the cache is damaged, delete its folder to rebuild")
    if size == 0:  # mmap cannot map an empty file
        return np.empty(0, dtype)
    # Copy-on-write mapping: views are writable (torch warns on read-only arrays) yet reading
    # copies nothing and no write ever reaches the cache file.
    return np.memmap(path, dtype=dtype, mode="c", shape=(size,))


def _remove_abandoned_builds(root: Path, digest: str) -> None:
    """Delete temporary folders of this key left by builders that no longer run on this machine."""
    for folder in root.glob(f".tmp-{digest}-*"):
        try:
            pid = int(folder.name.split("-")[2])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # a live process of another user


# -- Hugging Face datasets ---------------------------------------------------------------------
class HFTokenDataset(Sequence):
    """The ``TokenDataset`` interface over a Hugging Face ``datasets.Dataset`` (Arrow, memory-mapped)."""

    def __init__(self, dataset: Any, fields: Sequence[str] = ("input_ids", "label")):
        missing = [f for f in fields if f not in dataset.column_names]
        if missing:
            raise DataError(f"from_hf_dataset: columns {missing} not found; the dataset has {dataset.column_names}")
        if getattr(dataset, "_indices", None) is not None:  # a shuffled/selected view: make rows contiguous
            dataset = dataset.flatten_indices()
        import pyarrow.compute as pc

        self.dataset = dataset.select_columns(list(fields))
        self.field_names = tuple(fields)
        column = self.dataset.data.column(fields[0])
        self.lengths = pc.list_value_length(column).to_numpy().astype(np.int64)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.dataset[int(index)]
        return {k: np.asarray(v) if isinstance(v, list) else v for k, v in row.items()}


def from_hf_dataset(dataset: Any, fields: Sequence[str] = ("input_ids", "label")) -> HFTokenDataset:
    """Wrap a tokenised ``datasets.Dataset`` so the engine sees ``ds[i]`` dicts and a ``.lengths`` array."""
    return HFTokenDataset(dataset, fields)
