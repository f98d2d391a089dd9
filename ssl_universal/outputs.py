"""The files an analysis command writes (``--out``): checked before the work, never silently replaced.

An analysis verb (a translation table, a baseline, a centering study) computes for minutes and then writes a
``results.json`` and a ``table.md``. Writing them over the files of an earlier call would mix or lose results
without a word, so every such verb adds ``--out`` and ``--overwrite`` with :func:`add_output_arguments`, calls
:meth:`Outputs.check` before it starts (a clash fails at once, not after the work) and :meth:`Outputs.write` at
the end::

    add_output_arguments(parser, "results.json and table.md")
    args = parser.parse_args(argv)
    outputs = Outputs(args.out, ("results.json", "table.md"), overwrite=args.overwrite, command=parser.prog)
    outputs.check()
    ...
    outputs.write({"results.json": json_text(results), "table.md": text + "\\n"})
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import ConfigError


def add_output_arguments(parser: argparse.ArgumentParser, what: str = "results.json and table.md") -> None:
    parser.add_argument("--out", type=Path, default=None,
                        help=f"write {what} here (files of an earlier call are kept: see --overwrite)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files an earlier call wrote in --out")


def json_text(value: Any) -> str:
    """``value`` as indented JSON (non-ASCII kept, sets as sorted lists), newline-terminated."""
    return json.dumps(value, indent=1, ensure_ascii=False, default=sorted) + "\n"


class Outputs:
    """The files ``names`` under ``folder`` (None: nothing is written)."""

    def __init__(self, folder: str | os.PathLike | None, names: Iterable[str], *, overwrite: bool = False,
                 command: str = "this command", flag: str = "--out"):
        self.folder = None if folder is None else Path(folder)
        self.flag = flag
        self.names = tuple(names)
        self.overwrite = overwrite
        self.command = command

    def existing(self) -> list[Path]:
        if self.folder is None:
            return []
        return [self.folder / name for name in self.names if (self.folder / name).exists()]

    def check(self) -> None:
        """Raise :class:`ConfigError` when a file would replace one of an earlier call (and not ``overwrite``)."""
        if self.folder is not None and self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(f"{self.command}: {self.flag} {self.folder} is a file, expected a folder")
        found = self.existing()
        if found and not self.overwrite:
            raise ConfigError(
                f"{self.command}: {', '.join(str(p) for p in found)} already exist(s) from an earlier call; "
                f"choose another {self.flag}, or pass --overwrite to replace them")

    def write(self, texts: dict[str, str]) -> list[Path]:
        """Write each name's text (atomically: a temporary file renamed); returns the paths written."""
        if self.folder is None:
            return []
        unknown = sorted(set(texts) - set(self.names))
        if unknown:
            raise ValueError(f"Outputs.write: {unknown} not among the declared files {list(self.names)}")
        self.check()
        self.folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in texts.items():
            path = self.folder / name
            tmp = path.with_name(f".{name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            written.append(path)
        return written
