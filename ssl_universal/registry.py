"""Named registries for Tasks, Models and Tokenizers, each entry with a typed config dataclass.

A registry is a plain table: looking a name up never imports anything. Filling it is the job of
plugin discovery (:mod:`ssl_universal.plugins`), which runs once, explicitly, when the CLI or the
config loader starts, and tells the registry which plugin is registering through
:func:`registering_for`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import RegistryError
from .schema import check_config, did_you_mean


@dataclass(frozen=True)
class Entry:
    """One registered component: the object, its config dataclass and where it came from."""

    kind: str
    name: str
    obj: Any
    config_class: type
    plugin: str
    description: str = ""

    def build_config(self, values: dict[str, Any] | None = None) -> Any:
        """An instance of the config dataclass from plain values (unknown keys are an error)."""
        values = dict(values or {})
        values.pop("name", None)
        known = {f.name for f in dataclasses.fields(self.config_class)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise RegistryError(
                f"{self.kind} '{self.name}' has no option {unknown[0]!r}"
                f"{did_you_mean(unknown[0], known)}; its options are: {', '.join(sorted(known)) or '(none)'}"
            )
        return check_config(self.config_class(**values), f"{self.kind}.")


@dataclass
class _NoConfig:
    """Config of an entry that takes no options."""


_registering: list[str] = []  # the plugin whose import is running (innermost last)


@contextlib.contextmanager
def registering_for(plugin: str) -> Iterator[None]:
    """Entries registered inside this block belong to ``plugin`` (used by discovery around an import)."""
    _registering.append(plugin)
    try:
        yield
    finally:
        _registering.pop()


def _infer_config_class(obj: Any) -> type:
    """Config of an entry: ``obj.Config``, else the annotation of a builder's first parameter."""
    config = getattr(obj, "Config", None)
    if dataclasses.is_dataclass(config):
        return config
    if inspect.isfunction(obj):
        params = list(inspect.signature(obj).parameters.values())
        if params:
            hints = typing.get_type_hints(obj)
            hint = hints.get(params[0].name)
            if dataclasses.is_dataclass(hint):
                return hint
    return _NoConfig


class Registry:
    """A name → component table. Duplicates are refused; unknown names get a did-you-mean."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        # Set by discovery: extra words for an unknown name (e.g. the plugins that failed to import).
        self.missing_hint: Callable[[], str] | None = None

    def register(self, name: str, *, config: type | None = None, description: str = "") -> Callable:
        if not isinstance(name, str) or not name:
            raise RegistryError(f"a {self.kind} needs a non-empty string name, got {name!r}")

        def decorator(obj):
            if name in self._entries:
                old = self._entries[name]
                raise RegistryError(
                    f"{self.kind} '{name}' is registered twice: first by plugin '{old.plugin}' "
                    f"({_where(old.obj)}), again by {_where(obj)}; rename one of them"
                )
            config_class = config if config is not None else _infer_config_class(obj)
            if not dataclasses.is_dataclass(config_class):
                raise RegistryError(f"{self.kind} '{name}': config must be a dataclass, got {config_class!r}")
            plugin = _registering[-1] if _registering else getattr(obj, "__module__", "?")
            doc = description or (inspect.getdoc(obj) or "").split("\n")[0]
            self._entries[name] = Entry(self.kind, name, obj, config_class, plugin, doc)
            return obj

        return decorator

    def claim(self, module: str, plugin: str) -> None:
        """Entries registered by ``module`` or its submodules belong to ``plugin``: discovery calls this
        after importing a plugin, so the attribution holds even when a plugin module was imported
        before discovery ran (e.g. by a script importing it directly)."""
        for name, entry in self._entries.items():
            owner = getattr(entry.obj, "__module__", "") or ""
            if owner == module or owner.startswith(module + "."):
                self._entries[name] = dataclasses.replace(entry, plugin=plugin)

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> Entry:
        if name in self._entries:
            return self._entries[name]
        known = sorted(self._entries)
        message = (
            f"unknown {self.kind} {name!r}{did_you_mean(name, known)}. "
            f"Known {self.kind}s: {', '.join(known) or '(none)'}."
        )
        if self.missing_hint is not None:
            message += self.missing_hint()
        raise RegistryError(message)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def entries(self) -> list[Entry]:
        return [self._entries[k] for k in sorted(self._entries)]

    def names(self) -> list[str]:
        return sorted(self._entries)


def _where(obj: Any) -> str:
    module = getattr(obj, "__module__", "?")
    qualname = getattr(obj, "__qualname__", repr(obj))
    return f"{module}.{qualname}"


TASKS = Registry("task")
MODELS = Registry("model")
TOKENIZERS = Registry("tokenizer")


def register_task(name: str, *, config: type | None = None, description: str = "") -> Callable:
    """Register a Task class under ``name``; its config is ``config`` or the class's ``Config``."""
    return TASKS.register(name, config=config, description=description)


def register_model(name: str, *, config: type | None = None, description: str = "") -> Callable:
    """Register a model builder ``fn(cfg, task) -> nn.Module``; its config is the type of ``cfg``."""
    return MODELS.register(name, config=config, description=description)


def register_tokenizer(name: str, *, config: type | None = None, description: str = "") -> Callable:
    """Register a Tokenizer class under ``name``; its config is ``config`` or the class's ``Config``."""
    return TOKENIZERS.register(name, config=config, description=description)
