"""Run configs: the dataclasses (:mod:`.run_config`), recipes (:mod:`.recipes`), overrides
(:mod:`.overrides`) and the loader that checks every value before any work starts (:mod:`.loader`)."""

from .loader import load_config, section_config, validate
from .overrides import expand_sweeps, parse_overrides
from .recipes import available_recipes, find_recipe, shared_recipes_dir
from .run_config import RunConfig, RunView, TrainerConfig

__all__ = [
    "RunConfig",
    "RunView",
    "TrainerConfig",
    "available_recipes",
    "expand_sweeps",
    "find_recipe",
    "load_config",
    "parse_overrides",
    "section_config",
    "shared_recipes_dir",
    "validate",
]
