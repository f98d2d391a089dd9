"""Real protein data as split TSV files: modlamp's peptide sets (installed from PyPI), TAPE JSON, DeepLoc FASTA.

Every function writes ``train.tsv``, ``valid.tsv``, ``test.tsv`` (columns ``sequence``, ``label``)
and ``source.json`` (where the data came from, class counts) into a folder that a recipe reads
with ``task.data_dir``. ``ssl-universal prepare-protein`` (``commands.py``) is the command line around them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ssl_universal.data.cache import cache_root
from ssl_universal.data.splits import check_prepared_folder, stratified_split, write_split_tables
from ssl_universal.data.text_files import read_text
from ssl_universal.errors import ConfigError, DataError

# modlamp.datasets loader of each installed peptide set: (function, what the classes are).
MODLAMP_SETS = {
    "amp_uniprot": ("load_AMPvsUniProt", "2600 antimicrobial peptides (APD3) vs 2600 random UniProt peptides of length 10-50"),
    "amp_tm": ("load_AMPvsTM", "206 antimicrobial peptides vs 206 transmembrane sequences"),
    "acp_random": ("load_ACPvsRandom", "413 anticancer peptides vs 413 random scrambled peptides"),
    "acp_tm": ("load_ACPvsTM", "413 anticancer peptides vs 413 transmembrane sequences"),
}


def write_splits(out_dir: Path, splits: dict[str, list[tuple[str, str]]], source: dict) -> Path:
    """``(sequence, label)`` rows of each split as TSV, plus ``source.json``; written atomically per file."""
    check_prepared_folder(out_dir, source)
    write_split_tables(out_dir, splits)
    counts = {split: dict(sorted(Counter(label for _, label in rows).items())) for split, rows in splits.items()}
    is_regression = all(_is_number(label) for rows in splits.values() for _, label in rows)
    summary = {**source, "sizes": {s: len(r) for s, r in splits.items()}}
    if not is_regression:
        summary["class_counts"] = counts
    (out_dir / "source.json").write_text(json.dumps(summary, indent=2) + "\n")
    return out_dir


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True




def prepare_modlamp(name: str, out_dir: Path, seed: int = 0) -> Path:
    """One of modlamp's labelled peptide sets (:data:`MODLAMP_SETS`), split 80/10/10 per class."""
    if name not in MODLAMP_SETS:
        raise ConfigError(f"unknown modlamp set {name!r}; known: {', '.join(MODLAMP_SETS)}")
    try:
        import modlamp
        import modlamp.datasets
    except ImportError:
        raise ConfigError(f"the {name} data comes from the PyPI package modlamp: pip install 'modlamp>=4.3'") from None
    loader, description = MODLAMP_SETS[name]
    data = getattr(modlamp.datasets, loader)()
    names = [str(n) for n in data.target_names]
    rows = [(str(sequence).strip().upper(), names[int(target)]) for sequence, target in zip(data.sequences, data.target)]
    source = {"source": f"modlamp {getattr(modlamp, '__version__', '?')} datasets.{loader}()", "description": description, "seed": seed}
    return write_splits(out_dir, stratified_split(rows, seed), source)


def ensure_modlamp(name: str, seed: int = 0) -> Path:
    """The prepared folder of a modlamp set in the cache, made on first use."""
    out_dir = cache_root("protein") / f"{name}-seed{seed}"
    if not all((out_dir / f"{s}.tsv").is_file() for s in ("train", "valid", "test")):
        prepare_modlamp(name, out_dir, seed)
    return out_dir


# -- published formats the user brings -------------------------------------------------------
TAPE_TARGETS = {"fluorescence": "log_fluorescence", "stability": "stability_score"}


def prepare_tape(task: str, tape_dir: Path, out_dir: Path) -> Path:
    """TAPE's JSON release of ``fluorescence`` or ``stability``: ``<task>_{train,valid,test}.json``, each a list
    of records with ``primary`` (the sequence) and the target (``log_fluorescence`` / ``stability_score``, a one-item list)."""
    if task not in TAPE_TARGETS:
        raise ConfigError(f"TAPE task must be one of {', '.join(TAPE_TARGETS)}; got {task!r}")
    splits = {}
    for split in ("train", "valid", "test"):
        path = next((p for p in (tape_dir / f"{task}_{split}.json", tape_dir / task / f"{task}_{split}.json") if p.is_file()), None)
        if path is None:
            raise DataError(f"no {task}_{split}.json in {tape_dir} or {tape_dir / task}; download TAPE's JSON files first")
        try:
            records = json.loads(read_text(path))
        except json.JSONDecodeError as error:
            raise DataError(f"{path}: not JSON ({error}); TAPE's LMDB files must be exported to JSON first") from None
        rows = []
        for index, record in enumerate(records):
            try:
                value = record[TAPE_TARGETS[task]]
                value = value[0] if isinstance(value, list) else value
                rows.append((str(record["primary"]), f"{float(value):.6g}"))
            except (KeyError, TypeError, ValueError, IndexError):
                raise DataError(f"{path}, record {index}: expected 'primary' and a numeric {TAPE_TARGETS[task]!r}") from None
        splits[split] = rows
    return write_splits(out_dir, splits, {"source": f"TAPE {task} JSON from {tape_dir}"})


def prepare_deeploc(fasta: Path, out_dir: Path, seed: int = 0, valid_share: float = 0.1) -> Path:
    """DeepLoc's FASTA (``>ID Location-M|S|U [test]``): the location is the label, records marked ``test`` form the
    test split, and ``valid_share`` of the others (per class, fixed by ``seed``) the validation split."""
    from ssl_universal.data.sequence_files import read_fasta

    if not fasta.is_file():
        raise DataError(f"{fasta}: no such file")
    records = read_fasta(fasta, label_field="location", labels=_deeploc_labels(fasta))
    test_ids = {line[1:].split()[0] for line in read_text(fasta).splitlines() if line.startswith(">") and line.rstrip().endswith(" test")}
    train_rows, test_rows = [], []
    for record in records:
        (test_rows if record.ident in test_ids else train_rows).append((record.sequence, record.label))
    parts = stratified_split(train_rows, seed, (1.0 - valid_share, valid_share, 0.0))
    splits = {"train": parts["train"], "valid": parts["valid"], "test": test_rows}
    return write_splits(out_dir, splits, {"source": f"DeepLoc FASTA {fasta}", "seed": seed})


def _deeploc_labels(fasta: Path) -> dict[str, str]:
    labels = {}
    for number, line in enumerate(read_text(fasta).splitlines(), 1):
        if line.startswith(">"):
            parts = line[1:].split()
            if len(parts) < 2 or "-" not in parts[1]:
                raise DataError(f"{fasta}, line {number}: expected '>ID Location-M|S|U [test]', found {line!r}")
            labels[parts[0]] = parts[1].rsplit("-", 1)[0]
    return labels
