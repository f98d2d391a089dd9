"""Config fields that carry their own rules, and the one check that enforces them at config time.

A config is a dataclass. A field restricted to named values is declared with :func:`choice`,
a number with a range with :func:`bounded`; rules between fields live in the dataclass's
``validate(self, run)`` hook. :func:`check_config` runs all of them — when a recipe loads
(``--dry-run`` and a sweep's pre-check included) and when a registry entry builds its config —
so a bad value fails before any work starts, naming the key, what is allowed, and a
did-you-mean. This module imports nothing heavy: any config module may use it.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import field
from typing import Any

from .errors import ConfigError


def did_you_mean(word: str, candidates) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class FieldError(ConfigError):
    """A bad value of one field; :func:`check_config` prefixes the field with its section."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.detail = message
        super().__init__(f"bad value for {key!r}: {message}")

    def under(self, prefix: str) -> FieldError:
        return FieldError(f"{prefix}{self.key}", self.detail)


def choice(default: str | None, *choices: str) -> Any:
    """A string field restricted to ``default`` and ``choices`` (a ``None`` default means "unset")."""
    allowed = tuple(c for c in (default, *choices) if c is not None)
    return field(default=default, metadata={"choices": allowed})


def bounded(
    default: Any = dataclasses.MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """A number field with a range: ``ge``/``gt`` below, ``le``/``lt`` above (``None`` always passes)."""
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    return field(default=default, metadata={"bounds": bounds})


_BOUND_TEXT = {"ge": ">= {}", "gt": "> {}", "le": "<= {}", "lt": "< {}"}
_BOUND_OK = {
    "ge": lambda v, b: v >= b,
    "gt": lambda v, b: v > b,
    "le": lambda v, b: v <= b,
    "lt": lambda v, b: v < b,
}


def range_text(bounds: dict[str, float]) -> str:
    """``bounds`` in words, e.g. ``>= 0 and <= 1``."""
    return " and ".join(_BOUND_TEXT[k].format(v) for k, v in bounds.items())


def check_field(f: dataclasses.Field, value: Any) -> None:
    """Raise :class:`FieldError` if ``value`` breaks the rule declared on field ``f``."""
    allowed = f.metadata.get("choices")
    if allowed and value is not None and value not in allowed:
        raise FieldError(f.name, f"{value!r}{did_you_mean(value, allowed)}; expected one of {', '.join(allowed)}")
    bounds = f.metadata.get("bounds")
    if bounds and value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError(f.name, f"{value!r} is not a number; expected a number {range_text(bounds)}")
        if isinstance(value, float) and math.isnan(value):
            raise FieldError(f.name, f"nan; expected a number {range_text(bounds)}")
        broken = [k for k, b in bounds.items() if not _BOUND_OK[k](value, b)]
        if broken:
            hint = f", e.g. the default {f.default!r}" if f.default not in (dataclasses.MISSING, None) else ""
            raise FieldError(f.name, f"{value!r}; expected a number {range_text(bounds)}{hint}")


def check_config(config: Any, prefix: str = "", run: Any = None) -> Any:
    """Check every declared rule of dataclass instance ``config`` (and of nested dataclasses), then
    its ``validate(run)`` hook. ``prefix`` (e.g. ``"model."``) names the section in messages;
    ``run`` is the whole run config when the section is checked as part of one. Returns ``config``."""
    if not dataclasses.is_dataclass(config):
        return config
    try:
        for f in dataclasses.fields(config):
            value = getattr(config, f.name, None)
            check_field(f, value)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                check_config(value, f"{f.name}.", run)
        hook = getattr(config, "validate", None)
        if callable(hook):
            hook(run)
    except FieldError as err:
        raise err.under(prefix) from None
    return config


def allowed_values(config_class: type, name: str) -> tuple[str, ...]:
    """The choices declared for field ``name`` of ``config_class`` (for code that branches on them)."""
    for f in dataclasses.fields(config_class):
        if f.name == name:
            return tuple(f.metadata.get("choices", ()))
    raise KeyError(name)
