"""Discovery of plugins: the built-in ``plugins/`` folder, installed entry points, and user folders.

A plugin is a Python package (a folder with ``__init__.py``) or a single module whose import
registers Tasks, Models and Tokenizers with the decorators of :mod:`ssl_universal.registry`.
A plugin that fails to import is recorded with its error and does not stop the others.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

from . import registry

ENTRY_POINT_GROUP = "ssl_universal.plugins"
ENV_VAR = "SSL_UNIVERSAL_PLUGIN_DIRS"
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "plugins"
_NAMESPACES = {"builtin": "ssl_universal_plugins", "user": "ssl_universal_user_plugins"}


@dataclass
class PluginInfo:
    name: str
    source: str  # "builtin" | "entry-point" | "user"
    location: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def path(self) -> Path | None:
        """Folder of a folder plugin (where its ``recipes/`` live), else None."""
        p = Path(self.location)
        return p if p.is_dir() else None


_plugins: dict[str, PluginInfo] = {}
_failed: list[PluginInfo] = []
_scanned: set[str] = set()


def _namespace(source: str) -> str:
    package = _NAMESPACES[source]
    if package not in sys.modules:
        module = types.ModuleType(package)
        module.__path__ = []  # a namespace for plugin modules, never a real package
        sys.modules[package] = module
    return package


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


def _record(info: PluginInfo) -> PluginInfo:
    if info.ok:
        _plugins[info.name] = info
    else:
        _failed.append(info)
    return info


def _import_path(name: str, path: Path, source: str) -> PluginInfo:
    info = PluginInfo(name, source, str(path))
    if name in _plugins:
        other = _plugins[name]
        info.error = (
            f"PluginError: a plugin named '{name}' is already loaded from {other.location} ({other.source}); "
            f"rename the folder {path}"
        )
        return _record(info)
    module_name = f"{_namespace(source)}.{name}"
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(
            module_name, path / "__init__.py", submodule_search_locations=[str(path)]
        )
    else:
        spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    registry._current_plugin.append(name)
    try:
        spec.loader.exec_module(module)
    except Exception:  # a broken plugin must not take the others down
        sys.modules.pop(module_name, None)
        info.error = traceback.format_exc(limit=-3).strip()
    finally:
        registry._current_plugin.pop()
    return _record(info)


def _load_folder(folder: Path, source: str) -> list[PluginInfo]:
    key = f"{source}:{folder.resolve()}"
    if key in _scanned:
        return []
    _scanned.add(key)
    if not folder.is_dir():
        return [_record(PluginInfo(folder.name, source, str(folder), f"PluginError: plugin folder {folder} does not exist"))]
    return [_import_path(name, path, source) for name, path in _candidates(folder)]


def _load_core() -> list[PluginInfo]:
    """The core's own generic models and tokenizers (``ssl_universal.models``), registered as 'core'."""
    if "core" in _scanned:
        return []
    _scanned.add("core")
    info = PluginInfo("core", "core", str(Path(__file__).parent / "models"))
    registry._current_plugin.append("core")
    try:
        importlib.import_module("ssl_universal.models")
    except Exception:
        info.error = traceback.format_exc(limit=-3).strip()
    finally:
        registry._current_plugin.pop()
    return [_record(info)]


def _load_entry_points() -> list[PluginInfo]:
    if "entry-points" in _scanned:
        return []
    _scanned.add("entry-points")
    loaded = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        info = PluginInfo(ep.name, "entry-point", ep.value)
        if ep.name in _plugins:
            info.error = f"PluginError: entry point '{ep.name}' clashes with the plugin from {_plugins[ep.name].location}"
            loaded.append(_record(info))
            continue
        registry._current_plugin.append(ep.name)
        try:
            target = ep.load()
            if callable(target) and not isinstance(target, types.ModuleType):
                target()
        except Exception:
            info.error = traceback.format_exc(limit=-3).strip()
        finally:
            registry._current_plugin.pop()
        loaded.append(_record(info))
    return loaded


def user_dirs_from_env() -> list[Path]:
    value = os.environ.get(ENV_VAR, "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def load_plugins(plugin_dirs=()) -> list[PluginInfo]:
    """Import every plugin once: built-in, entry points, ``$SSL_UNIVERSAL_PLUGIN_DIRS``, then
    ``plugin_dirs``. Returns the plugins newly seen by this call. Safe to call repeatedly."""
    new = _load_core()
    if BUILTIN_DIR.is_dir():
        new += _load_folder(BUILTIN_DIR, "builtin")
    new += _load_entry_points()
    for folder in [*user_dirs_from_env(), *(Path(p).expanduser() for p in plugin_dirs)]:
        new += _load_folder(folder, "user")
    return new


def loaded_plugins() -> list[PluginInfo]:
    load_plugins()
    return list(_plugins.values())


def plugin_errors() -> list[PluginInfo]:
    return list(_failed)


def get_plugin(name: str) -> PluginInfo | None:
    return _plugins.get(name)


def _reset_for_tests() -> None:
    """Forget every plugin and the entries it registered (tests only); the core's own stay."""
    core = _plugins.get("core")
    names = (set(_plugins) | {p.name for p in _failed}) - {"core"}
    for reg in (registry.TASKS, registry.MODELS, registry.TOKENIZERS):
        for entry in list(reg._entries.values()):
            if entry.plugin in names:
                reg.unregister(entry.name)
    for module in [m for m in sys.modules if m.split(".")[0] in _NAMESPACES.values()]:
        del sys.modules[module]
    _plugins.clear()
    _failed.clear()
    _scanned.clear()
    if core is not None:
        _plugins["core"] = core
        _scanned.add("core")
