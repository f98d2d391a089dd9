"""Checkpoints that survive a kill: safetensors weights, weights-only trainer state, atomic writes.

Layout of ``<run_dir>/checkpoints``::

    step_00000100/  model.safetensors  trainer_state.pt  meta.json   (meta.json is written last)
    latest          name of the newest complete checkpoint folder

A checkpoint folder is assembled under a temporary name and renamed into place, then
``latest`` is replaced atomically, so a kill at any instant leaves ``latest`` pointing at a
complete checkpoint. Loading uses ``torch.load(weights_only=True)``: no arbitrary unpickling.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError

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


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
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


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"no weights at {path}")
    return load_file(str(path))


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
        torch.cuda.set_rng_state_all(state["cuda"])


# -- save / load -----------------------------------------------------------------------
def checkpoint_name(step: int) -> str:
    return f"step_{step:08d}"


def save_checkpoint(
    root: Path, step: int, model_state: dict[str, torch.Tensor], trainer_state: dict[str, Any],
    meta: dict[str, Any], keep_last: int = 2,
) -> Path:
    """Write checkpoint ``step`` atomically, point ``latest`` at it, prune old ones."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(step)
    if not (final / META_FILE).is_file():
        tmp = root / f".tmp_{checkpoint_name(step)}_{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        save_weights(model_state, tmp / MODEL_FILE)
        torch.save(trainer_state, tmp / STATE_FILE)
        (tmp / META_FILE).write_text(json.dumps({"step": step, **meta}, indent=2))
        for name in (MODEL_FILE, STATE_FILE, META_FILE):
            _fsync_file(tmp / name)
        _fsync_dir(tmp)
        shutil.rmtree(final, ignore_errors=True)  # an incomplete leftover of a killed save
        os.replace(tmp, final)
        _fsync_dir(root)
    atomic_write_text(root / LATEST, final.name)
    _prune(root, keep_last, keep=final.name)
    return final


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (MODEL_FILE, STATE_FILE, META_FILE))


def _prune(root: Path, keep_last: int, keep: str) -> None:
    steps = sorted(p for p in root.glob("step_*") if p.is_dir())
    for old in steps[: max(0, len(steps) - max(keep_last, 1))]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in root.glob(".tmp_step_*"):
        shutil.rmtree(leftover, ignore_errors=True)


def latest_checkpoint(root: Path) -> Path | None:
    """The checkpoint ``latest`` names, else the newest complete one, else None."""
    pointer = root / LATEST
    if pointer.is_file():
        folder = root / pointer.read_text().strip()
        if _complete(folder):
            return folder
    complete = [p for p in sorted(root.glob("step_*")) if _complete(p)]
    return complete[-1] if complete else None


def load_checkpoint(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    if not _complete(folder):
        missing = [n for n in (MODEL_FILE, STATE_FILE, META_FILE) if not (folder / n).is_file()]
        raise CheckpointError(f"checkpoint {folder} is incomplete: missing {', '.join(missing)}")
    weights = load_weights(folder / MODEL_FILE)
    state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
    meta = json.loads((folder / META_FILE).read_text())
    return weights, state, meta
