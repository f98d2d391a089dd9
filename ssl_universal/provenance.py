"""Where a run's code came from: the framework's version and checkout, and the working directory's commit."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

DISTRIBUTION = "ssl-universal"


def framework_checkout() -> Path | None:
    """The source folder of an editable install of the framework (``pip install -e``), else None.

    Read from the install's own record (PEP 610 ``direct_url.json``), so a framework installed from
    a wheel inside a user's project never reports the user's repository as its own.
    """
    # Every record of the name: a source tree's own `*.egg-info` on sys.path can shadow the installed one.
    texts = [d.read_text("direct_url.json") for d in importlib.metadata.distributions(name=DISTRIBUTION)]
    text = next((t for t in texts if t), None)
    if not text:
        return None
    info = json.loads(text)
    if not info.get("dir_info", {}).get("editable"):
        return None
    url = urllib.parse.urlparse(info.get("url", ""))
    return Path(urllib.parse.unquote(url.path)) if url.scheme == "file" else None


def git_commit(folder: Path | None, *, top_only: bool = False) -> str | None:
    """``HEAD`` of the git repository at ``folder`` (``-dirty`` when tracked files changed), or None.
    With ``top_only`` the folder must be the repository's top (not a folder inside another project)."""
    if folder is None:
        return None

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    if top_only:
        top = git("rev-parse", "--show-toplevel")
        if top is None or Path(top).resolve() != Path(folder).resolve():
            return None
    head = git("rev-parse", "HEAD")
    if head is None:
        return None
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return head + ("-dirty" if dirty else "")


def run_info(world_size: int) -> dict[str, Any]:
    """The provenance record written to ``run_info.json``."""
    import torch

    from . import __version__

    checkout = framework_checkout()
    cwd = Path.cwd()
    return {
        "version": __version__,
        "framework_checkout": str(checkout) if checkout else None,  # None: installed from a wheel
        "framework_commit": git_commit(checkout, top_only=True),
        "working_dir": str(cwd),
        "working_dir_commit": git_commit(cwd),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "command": " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "world_size": world_size,
        "hostname": os.uname().nodename,
    }
