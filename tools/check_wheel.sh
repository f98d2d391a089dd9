#!/usr/bin/env bash
# The wheel is the framework: build it, check it carries every plugin, recipe and plugin README
# of the source tree, install it with its dependencies into a fresh virtual environment outside
# the checkout, and use it from another folder (list, a tiny recipe end to end, a data verb).
#   bash tools/check_wheel.sh            (what .ci/run does after the tests)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/ssl-universal-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

echo "check_wheel: building the wheel from a clean copy of the tree (no stale build/ folder)"
mkdir "$work/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -C "$work/src" -xf -
"$python" -m pip wheel --no-deps -q -w "$work/dist" "$work/src" 2>&1 | grep -v "^WARNING: Location" || true
wheel=$(ls "$work"/dist/ssl_universal-*.whl)

echo "check_wheel: contents of $(basename "$wheel")"
"$python" - "$wheel" "$repo" <<'PY'
import sys, zipfile
from pathlib import Path
wheel, repo = sys.argv[1], Path(sys.argv[2])
names = set(zipfile.ZipFile(wheel).namelist())
expected = []
for path in (repo / "plugins").rglob("*"):
    if path.is_file() and (path.suffix == ".py" or path.parent.name == "recipes" or path.name == "README.md"):
        if "__pycache__" not in path.parts:
            expected.append("ssl_universal_plugins/" + str(path.relative_to(repo / "plugins")))
for path in (repo / "recipes").rglob("*"):
    if path.is_file() and path.suffix in (".py", ".yaml"):
        expected.append("ssl_universal_recipes/" + str(path.relative_to(repo / "recipes")))
for path in (repo / "ssl_universal").rglob("*"):
    if path.is_file() and path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
        expected.append(str(path.relative_to(repo)))
missing = sorted(set(expected) - names)
if missing:
    sys.exit(f"check_wheel: the wheel lacks {len(missing)} files of the source tree: {missing[:20]}")
print(f"check_wheel: {len(expected)} source files present (plugins, recipes, core)")
PY

echo "check_wheel: installing into a fresh venv (with dependencies)"
"$python" -m venv "$work/venv"
# The dependencies are several GB (torch alone is most of it), and a second copy can fill the disk.
# The fresh venv sees the installed dependencies through links (no copy) to everything in this
# environment's site-packages but this project; pip then resolves the wheel's requirements against
# them and installs only the wheel and whatever they lack. A requirement that this environment does
# not satisfy is still installed from the registry, so a missing or wrong requirement fails here.
deps_site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
new_site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir "$work/deps"
for entry in "$deps_site"/*; do
    case "$(basename "$entry")" in
        ssl_universal*|__editable__*|_ssl_universal*|pip|pip-*|setuptools|setuptools-*|_distutils_hack|distutils-precedence.pth|*.pth) ;;
        *) ln -s "$entry" "$work/deps/" ;;
    esac
done
echo "$work/deps" > "$new_site/_ssl_universal_ci_deps.pth"
"$work/venv/bin/pip" install -q "$wheel[assets]" > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
if grep -q "Uninstalling" "$work/pip.log"; then
    cat "$work/pip.log"; echo "check_wheel: installing the wheel replaced a dependency of this environment" >&2; exit 1
fi
cli="$work/venv/bin/ssl-universal"
mkdir "$work/elsewhere" && cd "$work/elsewhere"
env -u PYTHONPATH "$work/venv/bin/python" -c "
import ssl_universal, ssl_universal_plugins, ssl_universal_recipes
for m in (ssl_universal, ssl_universal_plugins, ssl_universal_recipes):
    assert '$repo' not in m.__file__, f'{m.__name__} imported from the checkout: {m.__file__}'
print('check_wheel: imports come from', ssl_universal.__file__.rsplit('/ssl_universal/', 1)[0])
"

env -u PYTHONPATH "$cli" list > list.txt
for plugin in $(cd "$repo/plugins" && ls -d */ | tr -d / | grep -v __pycache__); do
    grep -q "^  $plugin .* builtin " list.txt || { cat list.txt; echo "check_wheel: plugin $plugin missing from ssl-universal list" >&2; exit 1; }
done
for recipe in $(cd "$repo/recipes" && find . -name '*.yaml' | sed 's|^\./||; s|\.yaml$||') \
              $(cd "$repo/plugins" && find . -path '*/recipes/*.yaml' | sed 's|^\./||; s|/recipes/|/|; s|\.yaml$||'); do
    grep -q "^  $recipe$" list.txt || { cat list.txt; echo "check_wheel: recipe $recipe missing from ssl-universal list" >&2; exit 1; }
done
echo "check_wheel: ssl-universal list shows every built-in plugin and recipe"

env -u PYTHONPATH SSL_UNIVERSAL_CACHE="$work/cache" "$cli" train recipe=dna/splice preset=smoke \
    trainer.threads=1 \
    run_dir="$work/run" > train.json
"$work/venv/bin/python" -c "
import json, sys
r = json.load(open('$work/run/results.json'))
assert 'accuracy' in r['test'], r
info = json.load(open('$work/run/run_info.json'))
assert info['framework_checkout'] is None and info['framework_commit'] is None, info
print('check_wheel: tiny recipe trained; test accuracy', r['test']['accuracy'], '; run_info names no checkout')
"

printf 'EI, ATRINS-DONOR-521, %s\nIE, ATRINS-ACC-1, %s\nN, HUMAFP-NEG-1, %s\n' \
    CCAGCTGCATCACAGGAGGCCAGCGAGCAGGTCTGTTCCAAGGGCCTTCGAGCCAGTCTG \
    AGACCCGCCGGGAGGCGGAGGACCTGCAGGGTGAGCCCCACCGCCCCTCCGTGCCCCCGC \
    GAGCCCCACCGCCCCTCCGTGCCCCCGCAGACCCGCCGGGAGGCGGAGGACCTGCAGGGT > splice.data
# nine more windows per class, each the original rotated by i bases (distinct windows: identical ones share a split)
for i in $(seq 1 9); do head -n 3 splice.data | awk -F', ' -v i="$i" '{print $1 ", " $2 "-" i ", " substr($3, i + 1) substr($3, 1, i)}'; done >> splice.data
env -u PYTHONPATH "$cli" prepare-dna splice splice.data --out prepared > prepare.txt
test -s prepared/train.tsv && test -s prepared/test.tsv || { cat prepare.txt; echo "check_wheel: prepare-dna wrote no splits" >&2; exit 1; }
echo "check_wheel: ssl-universal prepare-dna wrote $(ls prepared | tr '\n' ' ')"
echo "check_wheel: passed in $(( $(date +%s) - start )) s"
