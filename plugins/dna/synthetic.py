"""Generated DNA data with a known rule: splice-junction windows (EI / IE / N) and histone-mark style binary sets.

Used by the tests and as the offline default of the DNA recipes (no DNA data installs from a registry).
Each generator is a pure function of its seed.
"""

from __future__ import annotations

import random

from ssl_universal.data.sequence_files import Record

BASES = "ACGT"
# Histone-style positives carry two copies of promoter-like motifs; negatives are background only.
HISTONE_MOTIFS = ("TATAAA", "CCAAT", "GGGCGG", "CACGTG")


def _random_bases(rng: random.Random, n: int, weights=(1, 1, 1, 1)) -> list[str]:
    return rng.choices(BASES, weights=weights, k=n)


def splice(n: int, seed: int, length: int = 60) -> list[Record]:
    """``n`` windows of ``length`` bases, balanced over EI (donor), IE (acceptor) and N, as in the UCI set.

    EI: exon then intron, the intron starting with GT (consensus ``AG|GTRAGT``) at the centre.
    IE: intron then exon, a pyrimidine-rich tract then AG right before the centre.
    N: background whose centre is neither a GT donor nor an AG acceptor.
    """
    rng = random.Random(f"splice-{seed}")
    centre = length // 2
    records = []
    for i in range(n):
        label = ("EI", "IE", "N")[i % 3]
        bases = _random_bases(rng, length)
        if label == "EI":
            bases[centre - 2 : centre + 6] = list("AG" + "GT" + rng.choice("AG") + "AGT")
        elif label == "IE":
            bases[centre - 14 : centre - 2] = rng.choices("CT", k=12)
            bases[centre - 2 : centre] = list("AG")
            bases[centre] = "G"
        else:
            while "".join(bases[centre : centre + 2]) == "GT" or "".join(bases[centre - 2 : centre]) == "AG":
                bases[centre] = rng.choice(BASES)
                bases[centre - 1] = rng.choice(BASES)
        records.append(Record("".join(bases), label, f"generated splice #{i}"))
    return records


def histone(n: int, seed: int, length: int = 100) -> list[Record]:
    """``n`` sequences, half marked (label 1: two motif copies, slightly GC-rich), half not (label 0)."""
    rng = random.Random(f"histone-{seed}")
    records = []
    for i in range(n):
        marked = i % 2 == 1
        bases = _random_bases(rng, length, weights=(1, 1.6, 1.6, 1) if marked else (1, 1, 1, 1))
        if marked:
            for _ in range(2):
                motif = rng.choice(HISTONE_MOTIFS)
                at = rng.randrange(0, length - len(motif))
                bases[at : at + len(motif)] = list(motif)
        records.append(Record("".join(bases), str(int(marked)), f"generated histone #{i}"))
    return records


GENERATORS = {"synthetic_splice": splice, "synthetic_histone": histone}
