"""One run per folder: a re-run must be the same run (or say how it differs), checked before any write.

A run folder's identity is its ``config.yaml``. Training into a folder that already holds a run
resumes it only when the new config equals the saved one, keys that only change logging or disk
use aside (:data:`UNCOMPARED_KEYS`); otherwise it is refused with the differing keys, unless
``allow_config_change=true`` (the change is then recorded in ``run_info.json``). ``resume=false``
into a used folder is refused unless ``replace=true``, which deletes the old run's files first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError

CONFIG_FILE = "config.yaml"
RUN_INFO_FILE = "run_info.json"
LOCK_FILE = ".writer.lock"

#: What a run writes in its folder (anything else there, e.g. a scheduler's log, is not the run's).
RUN_FILES = (CONFIG_FILE, RUN_INFO_FILE, "metrics.jsonl", "results.json", "checkpoints", "best", "tensorboard",
             ".best.tmp", ".best.old")

#: Keys a resumed run may change freely: they affect logging, speed or disk use, never the results.
UNCOMPARED_KEYS = frozenset({
    "run_dir", "resume", "replace", "allow_config_change",
    "trainer.log_every", "trainer.progress_bar", "trainer.tensorboard", "trainer.num_workers",
    "trainer.save_every", "trainer.keep_last", "trainer.threads", "trainer.eval_batch_size",
})

_ABSENT = "<absent>"


@dataclass
class RunFolder:
    """What training into ``path`` will do, decided before anything there is touched."""

    path: Path
    used: bool  # the folder holds files of an earlier run
    replace: bool = False  # delete them before training (replace=true)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # key -> (old, new), allowed by allow_config_change

    def run_files(self) -> list[Path]:
        return [self.path / name for name in RUN_FILES if (self.path / name).exists()]


@contextlib.contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """Hold the run folder ``path`` for one writing process; a second one is refused, not mixed in.

    An exclusive ``flock`` on ``path/.writer.lock`` (created with the folder if needed), released when
    the block ends or the process dies, so a killed run never leaves a stale lock. The file records the
    holder's pid, host and start time for the message another process gets.
    """
    path.mkdir(parents=True, exist_ok=True)
    lock_path = path / LOCK_FILE
    handle = open(lock_path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ConfigError(
                f"run_dir {path} is being written by another training process ({holder}); two writers "
                f"would mix their checkpoints and metrics. Wait for it to finish, stop it, or give this run "
                f"its own run_dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {os.uname().nodename}, since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def config_changes(old: dict, new: dict) -> dict[str, tuple[Any, Any]]:
    """Keys (dotted) whose values differ between two resolved configs, as ``(old, new)``; keys in
    :data:`UNCOMPARED_KEYS` (and below them) are left out."""
    a, b = _flatten(old), _flatten(new)
    changes = {}
    for key in sorted(set(a) | set(b)):
        if any(key == k or key.startswith(f"{k}.") for k in UNCOMPARED_KEYS):
            continue
        before, after = a.get(key, _ABSENT), b.get(key, _ABSENT)
        if before != after:
            changes[key] = (before, after)
    return changes


def _show(value: Any) -> str:
    return value if value is _ABSENT else json.dumps(value, default=str)


def resolved(cfg: DictConfig) -> dict:
    """``cfg`` as plain data, the way it reads back from ``config.yaml``."""
    return OmegaConf.to_container(OmegaConf.create(OmegaConf.to_yaml(cfg, resolve=True)), resolve=True)


def check_run_folder(cfg: DictConfig, path: Path) -> RunFolder:
    """Decide how training ``cfg`` into ``path`` goes; raises ConfigError when it would mix two runs.

    Reads only. ``cfg`` carries the flags ``resume``, ``replace`` and ``allow_config_change``.
    """
    folder = RunFolder(path=path, used=False)
    folder.used = bool(folder.run_files())
    if not folder.used:
        return folder
    found = ", ".join(p.name + ("/" if p.is_dir() else "") for p in folder.run_files())
    if cfg.get("replace", False):
        folder.replace = True
        return folder
    if not cfg.get("resume", True):
        raise ConfigError(
            f"run_dir {path} already holds a run ({found}) and resume=false would mix a new run into it. "
            f"Give the new run its own run_dir, add replace=true to delete the old run first, or drop "
            f"resume=false to continue the old one")
    config_file = path / CONFIG_FILE
    if not config_file.is_file():
        if cfg.get("allow_config_change", False):
            folder.changes = {CONFIG_FILE: (_ABSENT, "written by this run")}
            return folder
        raise ConfigError(
            f"run_dir {path} holds run files ({found}) but no {CONFIG_FILE}, so it cannot be checked that "
            f"this is the same run. Give this run its own run_dir, add allow_config_change=true to resume "
            f"anyway (recorded in {RUN_INFO_FILE}), or resume=false replace=true to start over")
    try:
        old = OmegaConf.to_container(OmegaConf.load(config_file), resolve=True)
    except Exception as err:  # noqa: BLE001 - any YAML or OmegaConf error
        raise ConfigError(f"{config_file}: cannot be read ({type(err).__name__}: {err}); expected the config "
                          f"a run wrote. Fix or remove it, or give this run its own run_dir") from err
    changes = config_changes(old if isinstance(old, dict) else {}, resolved(cfg))
    if changes and not cfg.get("allow_config_change", False):
        lines = "\n".join(f"  {key}: {_show(before)} → {_show(after)}" for key, (before, after) in changes.items())
        raise ConfigError(
            f"run_dir {path} holds a run with another config ({config_file}); a run folder holds one run, and "
            f"resuming would mix the two. Differing keys (old → new):\n{lines}\n"
            f"Either give this run its own run_dir, or add allow_config_change=true to continue the old run "
            f"with the new values (recorded in {path / RUN_INFO_FILE}).")
    folder.changes = changes
    return folder


def delete_run_files(folder: RunFolder) -> None:
    """``replace=true``: remove everything an earlier run wrote in the folder."""
    for item in folder.run_files():
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()


def run_info_record(path: Path, fresh: dict[str, Any], *, resumed_step: int | None,
                    changes: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """The ``run_info.json`` to write: ``fresh`` for a new run; for a resumed one the first start's
    record with this start appended under ``resumes`` (and a config change under ``config_changes``)."""
    previous: dict[str, Any] = {}
    if resumed_step is not None or changes:
        try:
            previous = json.loads((path / RUN_INFO_FILE).read_text())
        except (OSError, ValueError):
            previous = {}
    if not previous:
        info = dict(fresh)
    else:
        info = previous
        info.setdefault("resumes", []).append({"from_step": resumed_step, **fresh})
    if changes:
        info.setdefault("config_changes", []).append({
            "at_step": resumed_step or 0, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "changes": {key: {"old": before, "new": after} for key, (before, after) in changes.items()},
        })
    return info
