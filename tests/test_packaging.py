"""pyproject.toml ships what the source tree holds: every plugin, its entry point, every recipe.

The full check — build the wheel, install it outside the checkout, use it — is tools/check_wheel.sh
(run by .ci/run); these are the fast static halves of it.
"""

import fnmatch
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _plugin_folders() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "plugins").glob("*/__init__.py"))


def test_every_plugin_folder_is_a_declared_package_with_an_entry_point():
    folders = _plugin_folders()
    assert {"text", "dna", "protein", "music", "speech"} <= set(folders)
    packages = set(SETUPTOOLS["packages"])
    entry_points = PYPROJECT["project"]["entry-points"]["ssl_universal.plugins"]
    for name in folders:
        assert f"ssl_universal_plugins.{name}" in packages, f"plugins/{name} is not in [tool.setuptools] packages"
        assert entry_points.get(name) == f"ssl_universal_plugins.{name}", f"plugins/{name} has no entry point"
    assert SETUPTOOLS["package-dir"] == {"ssl_universal": "ssl_universal", "ssl_universal_plugins": "plugins",
                                         "ssl_universal_recipes": "recipes"}


def test_every_core_subpackage_is_declared():
    packages = set(SETUPTOOLS["packages"])
    for init in (REPO / "ssl_universal").rglob("__init__.py"):
        name = ".".join(init.parent.relative_to(REPO).parts)
        assert name in packages, f"{name} is not in [tool.setuptools] packages"


def _shipped(package_dir: Path, package: str, relative: str) -> bool:
    patterns = SETUPTOOLS["package-data"].get(package, [])
    return any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def test_every_recipe_and_plugin_readme_is_package_data():
    for path in (REPO / "plugins").glob("*/recipes/*.yaml"):
        assert _shipped(REPO / "plugins", "ssl_universal_plugins", str(path.relative_to(REPO / "plugins"))), path
    for path in (REPO / "plugins").glob("*/README.md"):
        assert _shipped(REPO / "plugins", "ssl_universal_plugins", str(path.relative_to(REPO / "plugins"))), path
    recipes = list((REPO / "recipes").rglob("*.yaml"))
    assert recipes
    for path in recipes:
        assert _shipped(REPO / "recipes", "ssl_universal_recipes", str(path.relative_to(REPO / "recipes"))), path


def test_every_plugin_command_names_a_module_of_the_plugins():
    for verb, target in PYPROJECT["project"]["entry-points"]["ssl_universal.commands"].items():
        module, _, function = target.partition(":")
        assert module.startswith("ssl_universal_plugins.") and function, verb
        path = REPO / "plugins" / Path(*module.split(".")[1:]).with_suffix(".py")
        assert path.is_file() and f"def {function}(" in path.read_text(), f"{verb}: {path} has no {function}()"


def test_nothing_edits_sys_path_or_finds_files_relative_to_the_checkout():
    offenders = []
    for path in [*(REPO / "ssl_universal").rglob("*.py"), *(REPO / "plugins").rglob("*.py"), *(REPO / "tools").glob("*.py")]:
        text = path.read_text()
        if "sys.path.insert" in text or "sys.path.append" in text or "parent.parent" in text:
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
