#!/usr/bin/env bash
# Debian packages the project uses: English text (fortunes), synthetic speech (espeak-ng, flite),
# audio tools (sox, libsndfile), Fashion-MNIST (dataset-fashion-mnist, IDX files under
# /usr/share/datasets/fashion-mnist for the FPT plugin), WordNet (wordnet: the artificial plugin's paraphrase proxy). With arguments, installs only those packages.
# Not in the default list (R, ~26 MB): r-cran-mlbench, whose StatLog DNA table is the real splice-junction set of
# `ssl-universal prepare-dna statlog` (bash tools/install_system_deps.sh r-cran-mlbench); the FreeDict dictionaries of
# `crosslingual-template-translation` (dict-freedict-eng-deu dict-freedict-eng-spa dict-freedict-eng-tur, ~21 MB).
set -euo pipefail
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(fortunes fortunes-min fortunes-zh fortunes-de fortunes-es sword-text-kjv sword-text-sparv espeak-ng libespeak-ng1 flite sox libsndfile1 dataset-fashion-mnist wordnet)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
