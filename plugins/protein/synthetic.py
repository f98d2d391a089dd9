"""Generated protein data with a known rule: localization-style classes and stability/fluorescence-style values.

Used by the tests and as the offline default of recipes whose real data cannot be installed.
Each generator is a pure function of its seed.
"""

from __future__ import annotations

import random

from ssl_universal.data.sequence_files import Record

from .tokenizer import STANDARD

HYDROPHOBIC = "AILMFVW"
# Class → a motif family planted in a random background, loosely after real sorting signals.
LOCALIZATION_SIGNALS = {
    "cytoplasm": None,  # no signal
    "membrane": lambda rng: "".join(rng.choice(HYDROPHOBIC) for _ in range(18)),  # a transmembrane-like helix
    "nucleus": lambda rng: rng.choice(["PKKKRKV", "KRPAATKKAGQAKKKK", "PAAKRVKLD"]),  # nuclear localisation signals
    "secreted": lambda rng: "M" + "".join(rng.choice("KR") for _ in range(2)) + "".join(rng.choice("LAV") for _ in range(10)),
}


def _background(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(STANDARD) for _ in range(length))


def localization(n: int, seed: int, min_length: int = 30, max_length: int = 60) -> list[Record]:
    """``n`` sequences, balanced over the four classes; the label is the planted signal's class."""
    rng = random.Random(f"localization-{seed}")
    names = sorted(LOCALIZATION_SIGNALS)
    records = []
    for i in range(n):
        label = names[i % len(names)]
        sequence = _background(rng, rng.randint(min_length, max_length))
        signal = LOCALIZATION_SIGNALS[label]
        if signal is not None:
            motif = signal(rng)
            at = 0 if label == "secreted" else rng.randrange(0, len(sequence) - len(motif))
            sequence = sequence[:at] + motif + sequence[at + len(motif) :]
        records.append(Record(sequence, label, f"generated localization #{i}"))
    return records


def stability(n: int, seed: int, min_length: int = 30, max_length: int = 50) -> list[Record]:
    """``n`` sequences whose value is their hydrophobic share (minus a penalty for prolines), plus noise."""
    rng = random.Random(f"stability-{seed}")
    records = []
    for i in range(n):
        bias = rng.random()  # how hydrophobic this sequence is drawn
        length = rng.randint(min_length, max_length)
        sequence = "".join(rng.choice(HYDROPHOBIC) if rng.random() < bias else rng.choice(STANDARD) for _ in range(length))
        value = sum(c in HYDROPHOBIC for c in sequence) / length - 0.5 * sequence.count("P") / length + rng.gauss(0, 0.03)
        records.append(Record(sequence, f"{value:.4f}", f"generated stability #{i}"))
    return records


def fluorescence(n: int, seed: int, length: int = 40, sites: int = 6, parent_seed: int | None = None) -> list[Record]:
    """Mutants of one parent sequence; each mutation at one of ``sites`` key positions dims it (TAPE-style log values).

    ``parent_seed`` draws the parent and its key positions (the task itself), ``seed`` the mutants: the splits of one
    task share ``parent_seed`` and differ in ``seed`` (see :func:`split_records`). ``None``: both from ``seed``.
    """
    world = random.Random(f"parent-{seed if parent_seed is None else parent_seed}")
    parent = _background(world, length)
    key_positions = world.sample(range(length), sites)
    rng = random.Random(f"fluorescence-{seed}")
    records = []
    for i in range(n):
        residues = list(parent)
        for position in rng.sample(range(length), rng.randint(0, 5)):
            residues[position] = rng.choice([c for c in STANDARD if c != parent[position]])
        hits = sum(residues[p] != parent[p] for p in key_positions)
        value = 3.7 - 0.6 * hits + rng.gauss(0, 0.05)
        records.append(Record("".join(residues), f"{value:.4f}", f"generated fluorescence #{i}"))
    return records


GENERATORS = {"synthetic_localization": localization, "synthetic_stability": stability, "synthetic_fluorescence": fluorescence}
SPLIT_OFFSETS = {"train": 0, "valid": 1, "test": 2}


def split_records(dataset: str, n: int, data_seed: int, split: str) -> list[Record]:
    """``n`` records of ``split`` of the generated ``dataset``: each split its own examples (seed ``3 * data_seed +
    offset``) of one task, i.e. the same rule in every split (fluorescence: the same parent and key positions)."""
    seed = data_seed * 3 + SPLIT_OFFSETS[split]
    if dataset == "synthetic_fluorescence":
        return fluorescence(n, seed=seed, parent_seed=data_seed)
    return GENERATORS[dataset](n, seed=seed)
