"""Registry: decorator registration, typed configs, duplicates refused, did-you-mean on unknown names."""

import dataclasses
from dataclasses import dataclass

import pytest

from ssl_universal.errors import RegistryError
from ssl_universal.registry import Registry


@dataclass
class WidthConfig:
    width: int = 8


def test_duplicate_name_is_refused_naming_both_places():
    reg = Registry("model")
    reg.register("encoder")(lambda cfg, task: None)
    with pytest.raises(RegistryError, match="registered twice.*rename one"):
        reg.register("encoder")(lambda cfg, task: None)


def test_unknown_name_lists_known_names_and_suggests_the_closest():
    reg = Registry("task")
    for name in ("splice", "histone", "composer"):
        reg.register(name)(type(name, (), {}))
    with pytest.raises(RegistryError) as err:
        reg.get("splise")
    message = str(err.value)
    assert "did you mean 'splice'" in message
    assert "composer, histone, splice" in message


def test_config_comes_from_builder_annotation_or_class_attribute():
    reg = Registry("model")

    @reg.register("wide")
    def build(cfg: WidthConfig, task):
        return cfg.width

    class Tok:
        Config = WidthConfig

    reg.register("tok")(Tok)
    reg.register("bare")(lambda cfg, task: None)
    assert reg.get("wide").config_class is WidthConfig
    assert reg.get("tok").config_class is WidthConfig
    assert reg.get("wide").build_config({}) == WidthConfig(width=8)  # the dataclass defaults
    assert reg.get("tok").build_config({"width": 3}) == WidthConfig(width=3)
    # An entry with neither takes no options: an empty config, and any option is refused.
    bare = reg.get("bare").build_config({})
    assert dataclasses.is_dataclass(bare) and dataclasses.fields(bare) == ()
    with pytest.raises(RegistryError, match="model 'bare' has no option 'width'; its options are: \\(none\\)"):
        reg.get("bare").build_config({"width": 3})


def test_build_config_rejects_unknown_option_with_suggestion():
    reg = Registry("model")
    reg.register("wide", config=WidthConfig)(lambda cfg, task: None)
    entry = reg.get("wide")
    assert entry.build_config({"width": 3}).width == 3
    with pytest.raises(RegistryError, match="no option 'widht'.*did you mean 'width'"):
        entry.build_config({"widht": 3})


def test_config_must_be_a_dataclass():
    reg = Registry("task")
    with pytest.raises(RegistryError, match="must be a dataclass"):
        reg.register("x", config=dict)(object)
