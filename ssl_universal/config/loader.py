"""Loading a run config: a recipe YAML plus Hydra-grammar overrides, checked against dataclasses.

Every key of a recipe is a typed dataclass field: ``trainer`` is :class:`TrainerConfig`, and
``task``/``model``/``tokenizer`` take the config dataclass that their registered entry declares.
A mistyped key, a value outside its allowed choices or range, or a broken rule between fields
fails here, before any work starts, naming the key, where it came from (recipe file and line, or
the command line), what was expected, and a did-you-mean.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..errors import ConfigError
from ..registry import MODELS, TASKS, TOKENIZERS, Registry
from ..schema import FieldError, check_config, check_field, did_you_mean
from .overrides import parse_overrides, value_of
from .recipes import find_recipe, yaml_line
from .run_config import RunConfig, RunView

REGISTRIES = {"task": TASKS, "model": MODELS, "tokenizer": TOKENIZERS}
_ENTRY_CHOICE_KEYS = {"recipe", "task", "model", "tokenizer", "task.name", "model.name", "tokenizer.name"}
# A tokenizer option that, left unset, follows the model's option of the same name.
FOLLOWS_MODEL = ("backbone",)


def _entry_node(registry: Registry, node: Any, where: str) -> Any:
    """A typed config node for ``task``/``model``/``tokenizer``: its entry's dataclass plus ``name``."""
    if node is None:
        return None
    if isinstance(node, str):
        node = {"name": node}
    if not isinstance(node, dict) or "name" not in node:
        raise ConfigError(f"{where}: expected a mapping with a 'name' key (a registered {registry.kind}), got {node!r}")
    entry = registry.get(node["name"])
    return dataclasses.make_dataclass(
        f"{entry.config_class.__name__}Node",
        [("name", str, field(default=entry.name))],
        bases=(entry.config_class,),
    )


def _check_key(error: OmegaConfBaseException, source: str) -> ConfigError:
    key = getattr(error, "full_key", None) or ""
    message = str(error).splitlines()[0]
    hint = ""
    if "Key" in message and "not in" in message and key:
        parent_key, _, leaf = key.rpartition(".")
        parent = getattr(error, "parent_node", None)
        known: list[str] = []
        if parent is not None and hasattr(parent, "keys"):
            known = sorted(str(k) for k in parent.keys())
        hint = f"{did_you_mean(leaf, known)}. Keys under {parent_key or 'the top level'}: {', '.join(known)}"
        message = f"unknown key {key!r}"
    elif key:
        message = f"bad value for {key!r}: {message}"
    return ConfigError(f"{message}{hint} ({source})")


def _read_recipe(name: str) -> tuple[Path, dict]:
    path = find_recipe(name)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"recipe {path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {path}: expected a mapping at the top level, got {type(raw).__name__}")
    raw["recipe"] = name
    return path, raw


def _named_overrides(raw: dict, section: str, chosen: Any, recipe_path: Path | None) -> dict[str, Any]:
    """The dotted-key overrides of ``preset``/``row`` ``chosen`` from the recipe's ``presets:``/``rows:``."""
    table = raw.pop(section, None) or {}
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ConfigError(f"recipe {recipe_path}: '{section}' must map names to {{dotted.key: value}} mappings")
    if chosen is None:
        return {}
    key = "preset" if section == "presets" else "row"
    if chosen not in table:
        known = ", ".join(table) or "(none)"
        raise ConfigError(f"{key}={chosen!r}{did_you_mean(chosen, table)}: recipe {recipe_path or '(given)'} defines "
                          f"{section}: {known}")
    return table[chosen]


def load_config(overrides: list[str], *, base: dict | None = None) -> DictConfig:
    """The resolved, typed and validated config of one run (no sweeps) from ``recipe=...`` and overrides.

    Runs plugin discovery first (once per process). ``base`` replaces the recipe file (used when
    re-loading a saved run config).
    """
    from ..plugins import load_plugins

    parsed = parse_overrides(overrides)
    sweeps = [ov.input_line for ov in parsed if ov.is_sweep_override()]
    if sweeps:
        raise ConfigError(f"{' '.join(sweeps)} is a sweep; run it with `ssl-universal train -m ...`")

    extra_dirs = value_of(parsed, "plugin_dirs") or []
    load_plugins(extra_dirs)
    recipe_name = value_of(parsed, "recipe")
    recipe_path = None
    raw: dict = dict(base or {})
    if base is None and recipe_name:
        recipe_path, raw = _read_recipe(str(recipe_name))
    load_plugins(raw.get("plugin_dirs") or [])
    # Named override sets of the recipe: a size (`preset=smoke`), then a table row (`row=rand`).
    # A saved run config (``base``) is resolved: its preset and row are a record of what was applied, not
    # sets to apply again (the saved config holds no presets:/rows: tables).
    preset = value_of(parsed, "preset") or (raw.get("preset") if base is None else None)
    row = value_of(parsed, "row") or (raw.get("row") if base is None else None)
    named = [(f"preset {preset!r}", _named_overrides(raw, "presets", preset, recipe_path)),
             (f"row {row!r}", _named_overrides(raw, "rows", row, recipe_path))]

    # Which entries are chosen decides the schema of their sections: the recipe's, then a preset's, a row's
    # and the command line's choice, each over the one before. `tokenizer: foo` picks an entry with none of
    # the old options; `tokenizer.name: foo` keeps those the new entry also has.
    sections = {}
    for key, registry in REGISTRIES.items():
        node = raw.get(key)
        if isinstance(node, str):
            node = raw[key] = {"name": node}
        for label, values in named:
            for dotted in (key, f"{key}.name"):
                if dotted in values and not isinstance(values[dotted], str):
                    raise ConfigError(f"recipe {recipe_path}, {label}: {dotted}: expected the name of a registered "
                                      f"{registry.kind}, got {values[dotted]!r}")
        picks = [(values.get(f"{key}.name"), values.get(key)) for _, values in named]
        picks.append((value_of(parsed, f"{key}.name"), value_of(parsed, key)))
        for renamed, chosen in picks:
            if isinstance(chosen, str):
                node = raw[key] = {"name": chosen}
            if isinstance(renamed, str):
                node = raw[key] = {**(node or {}), "name": renamed}
        where = f"{recipe_path or 'config'}" + (f", line {yaml_line(recipe_path, key)}" if recipe_path else "")
        sections[key] = _entry_node(registry, node, f"{where}: '{key}'")
    if sections["task"] is None:
        raise ConfigError("no task chosen: pass recipe=<modality>/<name> or task.name=<task> (see `ssl-universal list`)")
    default_tokenizer = TASKS.get(raw["task"]["name"]).obj.default_tokenizer
    if sections["tokenizer"] is None and default_tokenizer:  # written out, so config.yaml says what ran
        raw["tokenizer"] = {"name": default_tokenizer}
        sections["tokenizer"] = _entry_node(TOKENIZERS, raw["tokenizer"], "the task's default tokenizer")
    if sections["model"] is None:
        raise ConfigError("no model chosen: the recipe needs a `model:` section or pass model.name=<model>")

    schema = OmegaConf.structured(RunConfig)
    OmegaConf.set_struct(schema, False)
    for key, typed in sections.items():
        schema[key] = OmegaConf.structured(typed) if typed is not None else None
    OmegaConf.set_struct(schema, True)

    try:
        cfg = OmegaConf.merge(schema, raw)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", "") or ""
        line = yaml_line(recipe_path, key) if recipe_path else None
        source = f"recipe {recipe_path}, line {line}" if line else f"recipe {recipe_path or '(given)'}"
        raise _check_key(err, source) from None

    # `tokenizer: foo` in a row (or on the command line) starts the section afresh: what a preset before it set
    # there was for the old entry, so it goes with the recipe's options.
    cli_picks = {key for key in REGISTRIES if isinstance(value_of(parsed, key), str)}
    for index, (label, values) in enumerate(named):
        replaced = cli_picks | {key for _, later in named[index + 1:] for key in REGISTRIES if isinstance(later.get(key), str)}
        for key, value in values.items():
            if key in _ENTRY_CHOICE_KEYS or key.split(".")[0] in replaced:  # choices are applied already
                continue
            try:
                OmegaConf.update(cfg, key, value, merge=True, force_add=False)
            except OmegaConfBaseException as err:
                raise _check_key(err, f"recipe {recipe_path}, {label}") from None
    for ov in parsed:
        key = ov.key_or_group
        if key in _ENTRY_CHOICE_KEYS:  # already applied when the schema was chosen
            continue
        try:
            if ov.is_delete():
                OmegaConf.update(cfg, key, None, force_add=False)
            else:
                OmegaConf.update(cfg, key, ov.value(), merge=True, force_add=ov.is_force_add())
        except OmegaConfBaseException as err:
            raise _check_key(err, f"command-line override {ov.input_line!r}") from None
        except (AttributeError, KeyError, ValueError) as err:
            raise ConfigError(f"cannot apply override {ov.input_line!r}: {err}") from None

    _link_tokenizer_to_model(cfg)
    try:
        validate(cfg)
    except FieldError as err:
        raise FieldError(err.key, f"{err.detail} ({_source_of(err.key, parsed, recipe_path)})") from None
    return cfg


def _source_of(key: str, parsed: list, recipe_path: Path | None) -> str:
    """Where the value of ``key`` came from: the last override that set it, the recipe line, or the default."""
    for ov in reversed(parsed):
        if ov.key_or_group == key:
            return f"command-line override {ov.input_line!r}"
    line = yaml_line(recipe_path, key) if recipe_path else None
    if line is not None and yaml_line(recipe_path, key.rpartition(".")[0] or key) != line:
        return f"recipe {recipe_path}, line {line}"
    return "the default value" if recipe_path is None else f"the default value; recipe {recipe_path}"


def _link_tokenizer_to_model(cfg: DictConfig) -> None:
    """A tokenizer option such as ``backbone`` left unset follows the model's (one key, no copy)."""
    if cfg.tokenizer is None or cfg.model is None:
        return
    for key in FOLLOWS_MODEL:
        if key in cfg.tokenizer and cfg.tokenizer[key] is None and key in cfg.model:
            cfg.tokenizer[key] = f"${{model.{key}}}"


def _built(cfg: DictConfig, key: str) -> Any:
    """The dataclass instance of section ``key`` (unchecked)."""
    node = OmegaConf.to_container(cfg[key], resolve=True)
    node.pop("name", None)
    return REGISTRIES[key].get(cfg[key].name).config_class(**node)


def validate(cfg: DictConfig) -> None:
    """Every rule of every section: declared choices and ranges, then each config's ``validate`` hook
    (which sees the whole run, for rules across sections). Raises :class:`ConfigError` naming the key."""
    for f in dataclasses.fields(RunConfig):
        if f.name not in ("task", "model", "tokenizer", "trainer"):
            check_field(f, cfg.get(f.name))
    trainer = OmegaConf.to_object(cfg.trainer)
    built = {key: _built(cfg, key) if cfg[key] is not None else None for key in REGISTRIES}
    tokenizer_name = cfg.tokenizer.name if cfg.tokenizer is not None else None
    run = RunView(built["task"], built["model"], built["tokenizer"], tokenizer_name, trainer)
    check_config(trainer, "trainer.", run)
    for key, instance in built.items():
        if instance is not None:
            check_config(instance, f"{key}.", run)


def section_config(cfg: DictConfig, key: str) -> Any:
    """The checked dataclass instance of section ``key`` (task/model/tokenizer) from a loaded config."""
    node = OmegaConf.to_container(cfg[key], resolve=True)
    return REGISTRIES[key].get(node["name"]).build_config(node)
