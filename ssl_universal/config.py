"""Structured run configs: a recipe YAML plus Hydra-grammar overrides, checked against dataclasses.

Every key of a recipe is a typed dataclass field: ``trainer`` is :class:`TrainerConfig`, and
``task``/``model``/``tokenizer`` take the config dataclass that their registered entry declares.
A mistyped key or value fails here, before any work starts, naming the key, where it came from
(recipe file and line, or the command line) and the keys that were expected.
"""

from __future__ import annotations

import dataclasses
import itertools
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import ConfigError
from .registry import MODELS, TASKS, TOKENIZERS, Registry, did_you_mean

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"


def choice(default: str, *choices: str) -> Any:
    """A string field restricted to ``choices`` (checked by :func:`validate_choices`)."""
    return field(default=default, metadata={"choices": (default, *choices)})


@dataclass
class TrainerConfig:
    """The engine's options (every key under ``trainer:``)."""

    max_steps: int = 1000  # optimizer steps to train for
    max_epochs: int | None = None  # stop after this many passes over train, if sooner than max_steps
    batch_size: int = 32  # examples per global batch (split across ranks under torchrun)
    max_tokens: int | None = None  # token budget per batch instead of a fixed batch_size (padded tokens)
    bucket_by_length: bool = True  # batch examples of similar length together to cut padding
    eval_batch_size: int | None = None  # examples per eval batch (default: batch_size)
    grad_accum_steps: int = 1  # micro-batches per optimizer step
    optimizer: str = choice("adamw", "sgd")  # optimizer family
    lr: float = 5e-5  # peak learning rate
    weight_decay: float = 0.01  # decoupled weight decay (not on biases and norms)
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # AdamW betas
    clip_grad_norm: float | None = 1.0  # max global gradient norm; null disables clipping
    schedule: str = choice("linear", "constant", "cosine")  # learning-rate decay after warm-up
    warmup_steps: int = 0  # linear warm-up steps
    warmup_ratio: float = 0.0  # warm-up as a share of max_steps (used when warmup_steps is 0)
    precision: str = choice("fp32", "bf16", "fp16")  # autocast dtype; fp16 uses a GradScaler
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    compile: bool = False  # wrap the model in torch.compile
    eval_every: int = 100  # evaluate on eval_split every N optimizer steps (and at the end)
    eval_split: str = "valid"  # split used for best-checkpoint selection and early stopping
    test_split: str | None = "test"  # split scored with the best weights at the end (null: none)
    best_metric: str | None = None  # metric that picks the best checkpoint (default: the task's)
    best_mode: str | None = None  # max | min (default: the task's)
    early_stopping_patience: int | None = None  # stop after N evals without improvement
    save_every: int = 100  # write a resumable checkpoint every N optimizer steps
    keep_last: int = 2  # resumable checkpoints kept on disk
    log_every: int = 10  # log train loss / throughput every N optimizer steps
    progress_bar: bool = True  # tqdm bar on rank 0
    tensorboard: bool = True  # write TensorBoard event files
    max_nonfinite_steps: int = 20  # stop with an error after this many NaN/inf losses
    num_workers: int = 0  # DataLoader worker processes for collation


@dataclass
class RunConfig:
    """One run: which task, model and tokenizer, how to train, and where to write."""

    task: Any = None  # {name: <registered task>, ...its options}
    model: Any = None  # {name: <registered model builder>, ...its options}
    tokenizer: Any = None  # {name: <registered tokenizer>, ...}; null: the task's default
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    seed: int = 0  # seeds Python, NumPy and torch (model init, shuffling, dropout)
    run_dir: str | None = None  # outputs go here; default outputs/<recipe>/<time>
    resume: bool = True  # continue from run_dir's latest checkpoint when there is one
    plugin_dirs: list[str] = field(default_factory=list)  # extra folders of user plugins
    recipe: str | None = None  # the recipe this run came from (set by the loader)


# -- recipes -------------------------------------------------------------------------------
def find_recipe(name: str) -> Path:
    """Path of recipe ``name``: a YAML path, ``recipes/<name>.yaml``, or a plugin's own recipes."""
    from .plugins import loaded_plugins

    given = Path(name)
    candidates = [given, given.with_suffix(".yaml")] if given.suffix != ".yaml" else [given]
    stem = name[:-5] if name.endswith(".yaml") else name
    candidates.append(RECIPES_DIR / f"{stem}.yaml")
    modality, _, rest = stem.partition("/")
    for plugin in loaded_plugins():
        if plugin.path is not None:
            candidates.append(plugin.path / "recipes" / f"{stem}.yaml")
            if rest and plugin.name == modality:
                candidates.append(plugin.path / "recipes" / f"{rest}.yaml")
    for path in candidates:
        if path.is_file():
            return path
    known = available_recipes()
    raise ConfigError(f"recipe {name!r} not found{did_you_mean(stem, known)}; known recipes: {', '.join(known)}")


def available_recipes() -> list[str]:
    from .plugins import loaded_plugins

    names = {str(p.relative_to(RECIPES_DIR).with_suffix("")) for p in RECIPES_DIR.rglob("*.yaml")}
    for plugin in loaded_plugins():
        if plugin.path is not None and (plugin.path / "recipes").is_dir():
            names |= {f"{plugin.name}/{p.stem}" for p in (plugin.path / "recipes").glob("*.yaml")}
    return sorted(names)


def _yaml_line(path: Path, dotted: str) -> int | None:
    """1-based line of ``dotted`` key in a YAML file, for error messages."""
    try:
        node = yaml.compose(path.read_text())
    except yaml.YAMLError:
        return None
    line = None
    for part in dotted.split("."):
        if not isinstance(node, yaml.MappingNode):
            return line
        for key, value in node.value:
            if key.value == part:
                line, node = key.start_mark.line + 1, value
                break
        else:
            return line
    return line


# -- overrides -----------------------------------------------------------------------------
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
    parsed = parse_overrides(overrides)
    axes = []
    for ov in parsed:
        key = ov.get_key_element()
        if ov.is_sweep_override():
            axes.append([f"{key}={v}" for v in ov.sweep_string_iterator()])
        else:
            axes.append([ov.input_line])
    return [list(combo) for combo in itertools.product(*axes)]


def _value_of(parsed: list[Override], key: str) -> Any:
    found = None
    for ov in parsed:
        if ov.key_or_group == key and not ov.is_delete():
            found = ov.value()
    return found


# -- schema --------------------------------------------------------------------------------
def _entry_node(registry: Registry, node: Any, where: str) -> Any:
    """A typed config node for ``task``/``model``/``tokenizer``: its entry's dataclass plus ``name``."""
    if node is None:
        return None
    if isinstance(node, str):
        node = {"name": node}
    if not isinstance(node, dict) or "name" not in node:
        raise ConfigError(f"{where}: expected a mapping with a 'name' key (a registered {registry.kind}), got {node!r}")
    entry = registry.get(node["name"])
    typed = dataclasses.make_dataclass(
        f"{entry.config_class.__name__}Node",
        [("name", str, field(default=entry.name))],
        bases=(entry.config_class,),
    )
    return typed


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


def validate_choices(cfg: DictConfig, schema: Any, prefix: str = "") -> None:
    """Check every ``choice(...)`` field against its allowed values."""
    if not dataclasses.is_dataclass(schema):
        return
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        value = cfg.get(f.name) if cfg is not None else None
        allowed = f.metadata.get("choices")
        if allowed and value is not None and value not in allowed:
            raise ConfigError(
                f"bad value for '{prefix}{f.name}': {value!r}{did_you_mean(str(value), allowed)}; "
                f"expected one of {', '.join(allowed)}"
            )
        sub = hints.get(f.name)
        if sub is not None and dataclasses.is_dataclass(sub) and isinstance(value, DictConfig):
            validate_choices(value, sub, f"{prefix}{f.name}.")


_ENTRY_CHOICE_KEYS = {"recipe", "task", "model", "tokenizer", "task.name", "model.name", "tokenizer.name"}


def load_config(overrides: list[str], *, base: dict | None = None) -> DictConfig:
    """The resolved, typed config of one run (no sweeps) from ``recipe=...`` and overrides.

    ``base`` replaces the recipe file (used when re-loading a saved run config).
    """
    from .plugins import load_plugins

    parsed = parse_overrides(overrides)
    sweeps = [ov.input_line for ov in parsed if ov.is_sweep_override()]
    if sweeps:
        raise ConfigError(f"{' '.join(sweeps)} is a sweep; run it with `ssl-universal train -m ...`")

    recipe_name = _value_of(parsed, "recipe")
    recipe_path = None
    raw: dict = dict(base or {})
    if base is None and recipe_name:
        load_plugins(_value_of(parsed, "plugin_dirs") or [])
        recipe_path = find_recipe(str(recipe_name))
        try:
            raw = yaml.safe_load(recipe_path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"recipe {recipe_path} is not valid YAML: {err}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"recipe {recipe_path}: expected a mapping at the top level, got {type(raw).__name__}")
        raw["recipe"] = str(recipe_name)
    load_plugins([*(raw.get("plugin_dirs") or []), *(_value_of(parsed, "plugin_dirs") or [])])

    # Which entries are chosen decides the schema of their sections.
    sections = {}
    for key, registry in (("task", TASKS), ("model", MODELS), ("tokenizer", TOKENIZERS)):
        node = raw.get(key)
        if isinstance(node, str):
            node = raw[key] = {"name": node}
        name = _value_of(parsed, f"{key}.name") or _value_of(parsed, key)
        if isinstance(name, str):
            node = {**(node or {}), "name": name}
            if _value_of(parsed, key) is not None:  # `task=foo` picks an entry, keeping no old options
                node = {"name": name}
            raw[key] = node
        where = f"{recipe_path or 'config'}" + (f", line {_yaml_line(recipe_path, key)}" if recipe_path else "")
        sections[key] = _entry_node(registry, node, f"{where}: '{key}'")
    if sections["task"] is None:
        raise ConfigError("no task chosen: pass recipe=<modality>/<name> or task.name=<task> (see `ssl-universal list`)")
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
        line = _yaml_line(recipe_path, key) if recipe_path else None
        source = f"recipe {recipe_path}, line {line}" if line else f"recipe {recipe_path or '(given)'}"
        raise _check_key(err, source) from None

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

    validate_choices(cfg, RunConfig)
    for key in ("task", "model", "tokenizer"):
        if sections[key] is not None:
            validate_choices(cfg[key], sections[key], f"{key}.")
    return cfg


def section_config(cfg: DictConfig, key: str) -> Any:
    """The dataclass instance of section ``key`` (task/model/tokenizer) from a loaded config."""
    registry = {"task": TASKS, "model": MODELS, "tokenizer": TOKENIZERS}[key]
    node = OmegaConf.to_container(cfg[key], resolve=True)
    return registry.get(node["name"]).build_config(node)
