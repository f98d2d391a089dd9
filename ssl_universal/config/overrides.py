"""Command-line overrides in Hydra's grammar (``key=value``, ``+key=``, ``~key``) and sweep expansion."""

from __future__ import annotations

import itertools
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException

from ..errors import ConfigError


def parse_overrides(overrides: list[str]) -> list[Override]:
    parser = OverridesParser.create()
    parsed = []
    for line in overrides:
        try:
            parsed += parser.parse_overrides([line])
        except HydraException as err:
            reason = str(err).splitlines()[0]
            raise ConfigError(
                f"cannot parse the override {line!r}: {reason}. Overrides are key=value; quote values holding "
                "'=', spaces or brackets, e.g. run_dir='\"a=b\"'"
            ) from None
    return parsed


def expand_sweeps(overrides: list[str]) -> list[list[str]]:
    """Hydra multirun semantics: ``a=1,2 b=x,y`` → the four combinations, in order."""
    axes = []
    for ov in parse_overrides(overrides):
        key = ov.get_key_element()
        if ov.is_sweep_override():
            axes.append([f"{key}={v}" for v in ov.sweep_string_iterator()])
        else:
            axes.append([ov.input_line])
    return [list(combo) for combo in itertools.product(*axes)]


def value_of(parsed: list[Override], key: str) -> Any:
    """The value the overrides give ``key`` (the last one wins), or None."""
    found = None
    for ov in parsed:
        if ov.key_or_group == key and not ov.is_delete():
            found = ov.value()
    return found
