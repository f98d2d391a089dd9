"""Finding recipes: the shared ones (package ``ssl_universal_recipes``) and each plugin's ``recipes/``."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import yaml

from ..errors import ConfigError
from ..schema import did_you_mean

SHARED_RECIPES = "ssl_universal_recipes"


def shared_recipes_dir() -> Path | None:
    """Folder of the recipes installed with the framework (``recipes/`` of the source tree)."""
    try:
        folder = importlib.resources.files(SHARED_RECIPES)
    except ModuleNotFoundError:
        return None
    return Path(str(folder))


def _recipe_folders() -> list[tuple[str, Path]]:
    """(prefix, folder) pairs: the shared recipes (no prefix) and every loaded plugin's (its name)."""
    from ..plugins import loaded_plugins

    folders = []
    shared = shared_recipes_dir()
    if shared is not None:
        folders.append(("", shared))
    for plugin in loaded_plugins():
        folder = plugin.recipes()
        if folder is not None:
            folders.append((plugin.name, folder))
    return folders


def find_recipe(name: str) -> Path:
    """Path of recipe ``name``: a YAML path, a shared ``<modality>/<name>``, or a plugin's own recipe."""
    given = Path(name).expanduser()
    stem = name[:-5] if name.endswith(".yaml") else name
    candidates = [given] if given.suffix == ".yaml" else [given.with_suffix(".yaml")]
    modality, _, rest = stem.partition("/")
    for prefix, folder in _recipe_folders():
        if not prefix:
            candidates.append(folder / f"{stem}.yaml")
        elif rest and prefix == modality:
            candidates.append(folder / f"{rest}.yaml")
    for path in candidates:
        if path.is_file():
            return path
    known = available_recipes()
    raise ConfigError(f"recipe {name!r} not found{did_you_mean(stem, known)}; known recipes: {', '.join(known) or '(none)'}")


def available_recipes() -> list[str]:
    names = set()
    for prefix, folder in _recipe_folders():
        if prefix:
            names |= {f"{prefix}/{p.stem}" for p in folder.glob("*.yaml")}
        else:
            names |= {str(p.relative_to(folder).with_suffix("")) for p in folder.rglob("*.yaml")}
    return sorted(names)


def yaml_line(path: Path, dotted: str) -> int | None:
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
