"""Discovery of plugins: installed entry points (the built-in ones included) and user folders.

A plugin is a Python package or module whose import registers Tasks, Models and Tokenizers with
the decorators of :mod:`ssl_universal.registry`. Plugins are found in two ways:

* **entry points** of the group ``ssl_universal.plugins`` (``name = "package.module"``) — the
  built-in plugins of ``plugins/`` (installed as ``ssl_universal_plugins.*``) and any
  third-party package;
* **user folders** from ``$SSL_UNIVERSAL_PLUGIN_DIRS`` (``:``-separated) or a recipe's
  ``plugin_dirs``: a folder that is itself a package, or whose sub-packages and ``*.py`` files
  are plugins. Each is imported under its own name (the folder or file name), without touching
  ``sys.path``.

Discovery runs when :func:`load_plugins` is called (the CLI and the config loader do, once);
looking a name up in a registry never imports anything. A plugin that fails to import is
recorded with its error and does not stop the others; a user folder that does not exist is an
error.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import os
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

from . import registry
from .errors import PluginError

ENTRY_POINT_GROUP = "ssl_universal.plugins"
COMMAND_GROUP = "ssl_universal.commands"
ENV_VAR = "SSL_UNIVERSAL_PLUGIN_DIRS"
BUILTIN_PACKAGE = "ssl_universal_plugins"


@dataclass
class PluginInfo:
    name: str
    source: str  # "core" | "builtin" | "entry-point" | "user"
    location: str  # module path (entry points) or folder/file (user plugins)
    module: str | None = None  # the imported module's name
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def recipes(self) -> Path | None:
        """The plugin's ``recipes/`` folder (package data), or None when it has none."""
        if not self.ok or self.module is None:
            return None
        module = sys.modules.get(self.module)
        if module is None or not hasattr(module, "__path__"):
            return None  # a single-module plugin has no data folder
        folder = importlib.resources.files(self.module) / "recipes"
        return Path(str(folder)) if folder.is_dir() else None


_plugins: dict[str, PluginInfo] = {}
_failed: list[PluginInfo] = []
_done: set[str] = set()  # sources already scanned: "core", "entry-points", "user:<folder>"


def _record(info: PluginInfo) -> PluginInfo:
    if info.ok:
        _plugins[info.name] = info
    else:
        _failed.append(info)
    return info


def _failed_hint() -> str:
    if not _failed:
        return ""
    failed = "; ".join(f"{p.name} ({p.error.splitlines()[-1]})" for p in _failed)
    return f" Some plugins failed to import and may hold it: {failed}. Run `ssl-universal list` for details."


for _registry in (registry.TASKS, registry.MODELS, registry.TOKENIZERS):
    _registry.missing_hint = _failed_hint


def _import(info: PluginInfo, load) -> PluginInfo:
    """Run ``load()`` (an import) with registrations attributed to ``info.name``; record the outcome."""
    if info.name in _plugins:
        other = _plugins[info.name]
        info.error = (
            f"PluginError: a plugin named '{info.name}' is already loaded from {other.location} ({other.source}); "
            f"rename {info.location}"
        )
        return _record(info)
    with registry.registering_for(info.name):
        try:
            load()
        except Exception:  # a broken plugin must not take the others down
            info.error = traceback.format_exc(limit=-3).strip()
    if info.error is None and info.module:
        for table in (registry.TASKS, registry.MODELS, registry.TOKENIZERS):
            table.claim(info.module, info.name)
    return _record(info)


def _load_core() -> list[PluginInfo]:
    """The core's own generic models and tokenizers (``ssl_universal.models``), registered as 'core'."""
    if "core" in _done:
        return []
    _done.add("core")
    info = PluginInfo("core", "core", "ssl_universal.models", module="ssl_universal.models")
    return [_import(info, lambda: importlib.import_module("ssl_universal.models"))]


def _load_entry_points() -> list[PluginInfo]:
    if "entry-points" in _done:
        return []
    _done.add("entry-points")
    loaded = []
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        module = ep.value.split(":")[0].strip()
        source = "builtin" if module.split(".")[0] == BUILTIN_PACKAGE else "entry-point"
        info = PluginInfo(ep.name, source, ep.value, module=module)

        def load(ep=ep):
            target = ep.load()
            if callable(target) and not isinstance(target, types.ModuleType):
                target()  # an entry point may name a registration function instead of a module

        loaded.append(_import(info, load))
    return loaded


def _candidates(folder: Path) -> list[tuple[str, Path]]:
    """(name, path) of the plugins in ``folder``: the folder itself if it is a package, else its
    sub-packages and top-level ``*.py`` modules."""
    if (folder / "__init__.py").is_file():
        return [(folder.name, folder)]
    found = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith(("_", ".")):
            continue
        if child.is_dir() and (child / "__init__.py").is_file():
            found.append((child.name, child))
        elif child.is_file() and child.suffix == ".py":
            found.append((child.stem, child))
    return found


def _import_from_path(name: str, path: Path) -> None:
    """Import the package or module at ``path`` as top-level module ``name`` (no sys.path edit)."""
    existing = sys.modules.get(name)
    if existing is not None:
        where = getattr(existing, "__file__", None) or "a built-in module"
        raise PluginError(f"the user plugin {path} would be imported as '{name}', a name already taken by {where}; rename it")
    if not name.isidentifier():
        raise PluginError(f"the user plugin {path} is named {name!r}, which is not a Python identifier; rename it")
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(name, path / "__init__.py", submodule_search_locations=[str(path)])
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise


def _load_folder(folder: Path, origin: str) -> list[PluginInfo]:
    key = f"user:{folder.resolve()}"
    if key in _done:
        return []
    if not folder.is_dir():
        raise PluginError(f"plugin folder {folder} (from {origin}) does not exist; fix the path or remove it")
    _done.add(key)
    loaded = []
    for name, path in _candidates(folder):
        info = PluginInfo(name, "user", str(path), module=name)
        loaded.append(_import(info, lambda name=name, path=path: _import_from_path(name, path)))
    return loaded


def user_dirs_from_env() -> list[Path]:
    value = os.environ.get(ENV_VAR, "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def load_plugins(plugin_dirs=()) -> list[PluginInfo]:
    """Import every plugin once: the core's models, entry points, ``$SSL_UNIVERSAL_PLUGIN_DIRS``,
    then ``plugin_dirs``. Returns the plugins newly seen by this call; calling again is cheap."""
    new = _load_core() + _load_entry_points()
    for folder in user_dirs_from_env():
        new += _load_folder(folder, f"${ENV_VAR}")
    for folder in plugin_dirs:
        new += _load_folder(Path(folder).expanduser(), "plugin_dirs")
    return new


def loaded_plugins() -> list[PluginInfo]:
    """The plugins imported so far (discovery must have run: see :func:`load_plugins`)."""
    return list(_plugins.values())


def plugin_errors() -> list[PluginInfo]:
    return list(_failed)


def get_plugin(name: str) -> PluginInfo | None:
    return _plugins.get(name)


def plugin_commands() -> dict[str, importlib.metadata.EntryPoint]:
    """``ssl-universal <verb>`` commands declared by installed packages (group ``ssl_universal.commands``).
    Listing them imports nothing."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=COMMAND_GROUP)}
