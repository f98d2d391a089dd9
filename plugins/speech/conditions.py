"""Test conditions: clean, m+g+r (seen noise types, test files) and an unseen noise type, fixed per utterance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ssl_universal.errors import ConfigError

from .distortions import Distorter, DistortionConfig, NoiseBank

CONDITIONS = ("clean", "mgr", "unseen")


@dataclass
class ConditionsConfig:
    """Where the test distortions come from (the corpus's test noises and rooms by default)."""

    noise_root: str | None = None  # MUSAN-like test noise folder; null: <data_dir>/../noise/test
    rir_root: str | None = None  # test impulse responses; null: <data_dir>/../rir/test
    unseen_noise_root: str | None = None  # noise never used in training (FSD50K, CHiME-3 ...); null: noise_root/noise
    unseen_noise_names: list[str] = field(default_factory=lambda: ["blue", "violet", "hum"])  # file-name prefixes
    snr_low: float = 10.0  # SNR range in dB, as in training
    snr_high: float = 19.0
    p_reverb: float = 0.5  # share of m+g+r utterances reverberated
    seed: int = 0  # with the utterance id and the condition, fixes every draw


def _with_prefix(files: Sequence[Path], prefixes: Sequence[str], keep: bool) -> list[Path]:
    return [f for f in files if f.name.startswith(tuple(prefixes)) == keep]


class ConditionDistorter:
    """Applies one named condition to single utterances, the same way every time for the same id."""

    def __init__(self, name: str, cfg: ConditionsConfig, data_dir: str | Path, sample_rate: int = 16000):
        if name not in CONDITIONS:
            raise ConfigError(f"task.conditions: unknown condition {name!r}; known {', '.join(CONDITIONS)}")
        self.name, self.cfg, self.index = name, cfg, CONDITIONS.index(name)
        self.distorter = None
        if name == "clean":
            return
        corpus = Path(data_dir).resolve().parent
        noise_root = Path(cfg.noise_root) if cfg.noise_root else corpus / "noise" / "test"
        common = {"snr_low": cfg.snr_low, "snr_high": cfg.snr_high, "sample_rate": sample_rate, "noise_split": "test"}
        if name == "mgr":
            rir_root = Path(cfg.rir_root) if cfg.rir_root else corpus / "rir" / "test"
            self.distorter = Distorter(DistortionConfig(noise_root=str(noise_root), rir_root=str(rir_root),
                                                        p_reverb=cfg.p_reverb, p_additive=1.0, **common))
            if cfg.unseen_noise_root is None and cfg.unseen_noise_names:
                # the unseen types share the corpus's noise/ folder: keep them out of m+g+r
                seen = _with_prefix(self.distorter.banks["noise"].files, cfg.unseen_noise_names, keep=False)
                self.distorter.banks["noise"] = NoiseBank(seen, sample_rate)
        else:
            root = Path(cfg.unseen_noise_root) if cfg.unseen_noise_root else noise_root
            self.distorter = Distorter(DistortionConfig(noise_root=str(root), additive_weights={"noise": 1.0},
                                                        p_reverb=0.0, p_additive=1.0, **common))
            files = self.distorter.banks["noise"].files
            if cfg.unseen_noise_names:
                files = _with_prefix(files, cfg.unseen_noise_names, keep=True)
                if not files:
                    raise ConfigError(f"unseen noise: no file under {root} starts with {cfg.unseen_noise_names}")
                self.distorter.banks["noise"] = NoiseBank(files, sample_rate)

    def __call__(self, wave: torch.Tensor, utterance_id: int) -> torch.Tensor:
        if self.distorter is None:
            return wave
        self.distorter.rng = np.random.default_rng([self.cfg.seed, self.index, int(utterance_id)])
        out, _ = self.distorter(wave[None], torch.tensor([wave.numel()]))
        return out[0]


class ConditionedSplit:
    """A split repeated once per condition: item ``k * n + i`` is utterance ``i`` under condition ``k``."""

    def __init__(self, dataset, conditions: Sequence[str]):
        self.dataset, self.conditions = dataset, list(conditions)
        self.lengths = np.tile(np.asarray(dataset.lengths), len(self.conditions))

    def __len__(self) -> int:
        return len(self.dataset) * len(self.conditions)

    def __getitem__(self, i: int) -> dict:
        n = len(self.dataset)
        item = dict(self.dataset[i % n])
        item["condition"] = self.conditions[i // n]
        return item
