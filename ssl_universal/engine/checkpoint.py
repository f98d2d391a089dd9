"""Checkpoints that survive a kill: safetensors weights, weights-only trainer state, atomic writes.

Layout of ``<run_dir>/checkpoints``::

    step_00000100/  model.safetensors  trainer_state.pt  meta.json   (meta.json is written last)
    latest          name of the newest complete checkpoint folder

A checkpoint folder is assembled under a temporary name and renamed into place, then
``latest`` is replaced atomically, so a kill at any instant leaves a complete checkpoint.
Loading uses ``torch.load(weights_only=True)``: no arbitrary unpickling. Every failure to read a
checkpoint is a :class:`~ssl_universal.errors.CheckpointError` naming the folder and the file;
:func:`complete_checkpoints` lists the candidates a resume falls back through, newest first.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError
from . import distributed

log = logging.getLogger("ssl_universal")

MODEL_FILE = "model.safetensors"
STATE_FILE = "trainer_state.pt"
META_FILE = "meta.json"
LATEST = "latest"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def atomic_write_text(path: Path, text: str) -> None:
    tmp = _temporary_name(path)
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def save_weights(state_dict: dict[str, torch.Tensor], path: Path) -> None:
    """safetensors refuses tensors that share storage (tied embeddings): save detached copies."""
    tensors = {k: v.detach().to("cpu").clone().contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(path))


def remove_temporary_files(folder: Path) -> None:
    """Delete what killed atomic writes left in ``folder`` (``.<name>.tmp<pid>`` files)."""
    for leftover in folder.glob(".*.tmp[0-9]*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"no weights at {path}: expected a {MODEL_FILE} written by ssl-universal")
    return _read(path, lambda p: load_file(str(p)))


def _read(path: Path, reader: Any) -> Any:
    """``reader(path)``, with any failure (truncated file, bad format, no permission) as a CheckpointError."""
    try:
        return reader(path)
    except Exception as err:  # noqa: BLE001 - every library's error becomes one the user can act on
        raise CheckpointError(
            f"{path}: cannot be read ({type(err).__name__}: {err}); expected a complete file written by "
            f"ssl-universal. The file is damaged or from another program: delete the folder {path.parent} "
            f"to use an older checkpoint, or start over with resume=false replace=true") from err


# -- RNG state as plain tensors and numbers (loadable with weights_only=True) ------------
def rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        saved = list(state["cuda"])
        for index in range(min(len(saved), torch.cuda.device_count())):
            torch.cuda.set_rng_state(saved[index], index)


# -- save / load -----------------------------------------------------------------------
def checkpoint_name(step: int) -> str:
    return f"step_{step:08d}"


def save_checkpoint(
    root: Path, step: int, model_state: dict[str, torch.Tensor], trainer_state: dict[str, Any],
    meta: dict[str, Any], keep_last: int = 2,
) -> Path:
    """Write checkpoint ``step`` atomically, point ``latest`` at it, prune old ones.

    A folder already there for ``step`` is replaced: it is a leftover of a killed save, or of a
    run that went further and was abandoned (a fallback to an older checkpoint after this one
    failed to load), so its contents are not this run's.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(step)
    tmp = root / f".tmp_{checkpoint_name(step)}_{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_weights(model_state, tmp / MODEL_FILE)
    torch.save(trainer_state, tmp / STATE_FILE)
    (tmp / META_FILE).write_text(json.dumps({"step": step, **meta}, indent=2))
    for name in (MODEL_FILE, STATE_FILE, META_FILE):
        _fsync_file(tmp / name)
    _fsync_dir(tmp)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _fsync_dir(root)
    atomic_write_text(root / LATEST, final.name)
    _prune(root, keep_last, keep=final.name)
    return final


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (MODEL_FILE, STATE_FILE, META_FILE))


def _prune(root: Path, keep_last: int, keep: str) -> None:
    """Keep the newest ``keep_last`` checkpoints up to ``keep``; drop newer ones (an abandoned
    future, see :func:`save_checkpoint`) and the leftovers of killed writes."""
    steps = sorted(p for p in root.glob("step_*") if p.is_dir())
    for newer in (p for p in steps if p.name > keep):
        shutil.rmtree(newer, ignore_errors=True)
    steps = [p for p in steps if p.name <= keep]
    for old in steps[: max(0, len(steps) - max(keep_last, 1))]:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in root.glob(".tmp_step_*"):
        shutil.rmtree(leftover, ignore_errors=True)
    remove_temporary_files(root)


def complete_checkpoints(root: Path) -> list[Path]:
    """Checkpoint folders under ``root`` holding every file, newest step first."""
    return sorted((p for p in root.glob("step_*") if p.is_dir() and _complete(p)), reverse=True)


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint (what ``latest`` names unless a kill came between the two), else None."""
    complete = complete_checkpoints(root)
    return complete[0] if complete else None


def load_checkpoint(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """Weights, trainer state and meta of one checkpoint folder; any failure is a CheckpointError."""
    if not _complete(folder):
        missing = [n for n in (MODEL_FILE, STATE_FILE, META_FILE) if not (folder / n).is_file()]
        raise CheckpointError(f"checkpoint {folder} is incomplete: missing {', '.join(missing)} (a save was "
                              f"killed before it finished); delete the folder or resume from another checkpoint")
    weights = load_weights(folder / MODEL_FILE)
    state = _read(folder / STATE_FILE, lambda p: torch.load(p, map_location="cpu", weights_only=True))
    meta = _read(folder / META_FILE, lambda p: json.loads(p.read_text()))
    return weights, state, meta


def restore_newest(root: Path, restore: Callable[[Path], None], dist: distributed.DistInfo) -> Path | None:
    """Apply ``restore`` to the newest checkpoint under ``root`` that loads; None when there is none.

    Reads only. A checkpoint for which ``restore`` raises a CheckpointError (a truncated file,
    another model's weights) is skipped with a warning for the next older one; every rank walks
    rank 0's list and moves on together, so all restore the same step. When none loads, one
    CheckpointError says why each failed.
    """
    # Rank 0's list, so that a rank that cannot see a folder fails on it instead of waiting in a
    # collective the others never join.
    names = distributed.broadcast_object([p.name for p in complete_checkpoints(root)], dist)
    if not names:
        partial = sorted(p.name for p in root.glob("step_*") if p.is_dir())
        if partial:
            log.warning("%s holds no complete checkpoint (only %s, from a save that was killed): training "
                        "starts from step 0", root, ", ".join(partial))
        return None
    failures: list[str] = []
    for folder in (root / name for name in names):
        try:
            restore(folder)
            error = None
        except CheckpointError as err:
            error = str(err)
        if distributed.any_true(error is not None, dist):
            failures.append(f"{folder.name}: {error or 'failed to load on another process'}")
            log.warning("cannot resume from %s: %s", folder, error or "it failed to load on another process")
            continue
        if failures:
            log.warning("resuming from %s, the newest checkpoint that loads (skipped %d newer: %s)",
                        folder.name, len(failures), ", ".join(f.split(":")[0] for f in failures))
        return folder
    raise CheckpointError(
        f"{root}: none of the {len(names)} checkpoints loads into this run, so it cannot resume; nothing in "
        f"{root.parent} was changed.\n  " + "\n  ".join(failures) + "\nExpected checkpoints of the model and "
        "optimizer this config builds. To keep them, resume with the config they were made with; to start over "
        "here, add resume=false replace=true; or train into a new run_dir.")


def first_lines(err: Exception, lines: int = 6) -> str:
    """The start of a library's error text (a size-mismatch message lists every parameter)."""
    text = str(err).strip().splitlines()
    return "\n".join(text[:lines]) + (f"\n... ({len(text) - lines} more lines)" if len(text) > lines else "")
