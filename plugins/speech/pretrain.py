"""The ``hubert_pretrain`` task: audio + frame units, optionally distorted on the fly (continual training on noise)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ssl_universal.data.collate import pad_sequences
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.task import Task, TaskConfig

from .audio import AudioDataConfig, AudioDataset, read_dictionary, read_manifest, write_manifest
from .distortions import Distorter, DistortionConfig

DOMAINS = ("clean", "noise", "music", "speech", "gaussian")  # what the DAT classifier tells apart


class IndexedSubset:
    """Some rows of a dataset, keeping its ``lengths`` (valid carved out of train)."""

    def __init__(self, dataset, rows: Sequence[int]):
        self.dataset, self.rows = dataset, np.asarray(rows, dtype=np.int64)
        self.lengths = np.asarray(dataset.lengths)[self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        return self.dataset[int(self.rows[i])]


def carve_valid(n: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Every k-th row goes to valid (deterministic, spread over the whole file): (train rows, valid rows)."""
    if n < 2 or share <= 0:
        return np.arange(n), np.arange(min(n, 1))
    step = max(2, round(1 / share))
    valid = np.arange(step // 2, n, step)
    return np.setdiff1d(np.arange(n), valid), valid


def pool_manifests(sources: Sequence[str | Path], out_dir: str | Path, *, valid_share: float = 0.05) -> dict:
    """One pre-training manifest (train.tsv, valid.tsv) from several manifests' utterances (paths made absolute)."""
    rows = []
    for source in sources:
        manifest = read_manifest(source)
        rows += [(str(manifest.full_path(i).resolve()), int(manifest.sizes[i])) for i in range(len(manifest))]
    if not rows:
        raise DataError(f"pool_manifests: no utterances in {list(map(str, sources))}")
    root = Path(os.path.commonpath([p for p, _ in rows]))
    root = root if root.is_dir() else root.parent
    train, valid = carve_valid(len(rows), valid_share)
    out_dir = Path(out_dir)
    for split, picked in (("train", train), ("valid", valid)):
        write_manifest(out_dir / f"{split}.tsv", root, [(os.path.relpath(rows[i][0], root), rows[i][1]) for i in picked])
    return {"train": len(train), "valid": len(valid), "root": str(root)}


@dataclass
class HubertPretrainTaskConfig(TaskConfig):
    """Masked-unit prediction data: ``<split>.tsv`` manifests with ``<split>.<labels>`` unit lines."""

    labels: str = "km"  # label file extension (train.km, valid.km) and dictionary (dict.km.txt)
    label_rate: float = 100.0  # label frames per second: 100 for MFCC units, 50 for HuBERT-layer units
    sample_rate: int = 16000  # model input rate
    valid_share: float = 0.05  # share of train held out when there is no valid.tsv
    distort: bool = False  # distort the input (never the targets) on the training device
    noise_root: str | None = None  # MUSAN-like noise folder (noise/ music/ speech/)
    rir_root: str | None = None  # folder of room impulse responses
    p_additive: float = 1.0  # share of utterances given additive noise
    p_reverb: float = 0.5  # share of utterances reverberated
    snr_low: float = 10.0  # SNR range in dB
    snr_high: float = 19.0
    additive_weights: dict[str, float] = field(  # relative chance of MUSAN noise/music/speech (m) and Gaussian (g)
        default_factory=lambda: {"noise": 1.0, "music": 1.0, "speech": 1.0, "gaussian": 1.0})
    distortion_seed: int = 0  # draws of the training distortions (valid ones are fixed per utterance)


class HubertPretrainTask(Task):
    """HuBERT pre-training (iteration 1 on MFCC units, 2 on hidden-layer units) and continual training on noise."""

    Config = HubertPretrainTaskConfig
    best_metric = "masked_accuracy"
    best_mode = "max"

    def __init__(self, cfg: HubertPretrainTaskConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        if not cfg.data_dir:
            raise ConfigError("task.data_dir: expected a folder with train.tsv and train.<labels> (see "
                              "plugins/speech/README.md, 'HuBERT'); got null")
        self.root = Path(cfg.data_dir)
        dictionary = self.root / f"dict.{cfg.labels}.txt"
        if not dictionary.is_file():
            raise DataError(f"{dictionary}: unit dictionary not found; make units with `ssl-universal extract-units`")
        self.symbols = read_dictionary(dictionary)
        numbered = [str(i) for i in range(len(self.symbols))]
        if self.symbols != numbered:  # collate takes a unit's number as its class index
            line = next(i for i, (found, unit) in enumerate(zip(self.symbols, numbered), 1) if found != unit)
            raise DataError(f"{dictionary}:{line}: expected unit {numbered[line - 1]!r}, found {self.symbols[line - 1]!r}; "
                            "a unit dictionary lists 0, 1, ... K-1 in order, as `ssl-universal extract-units` writes it")
        self.label_rate = cfg.label_rate
        self.num_domains = len(DOMAINS) if cfg.distort else 0
        self.train_distorter = self.eval_distorter = None
        if cfg.distort:
            self.train_distorter = Distorter(self._distortion_config(cfg.distortion_seed))
            self.eval_distorter = Distorter(self._distortion_config(cfg.distortion_seed + 1))

    def _distortion_config(self, seed: int) -> DistortionConfig:
        c = self.cfg
        rank = int(os.environ.get("RANK", "0"))  # each process draws its own distortions under torchrun
        return DistortionConfig(p_additive=c.p_additive, additive_weights=dict(c.additive_weights), p_reverb=c.p_reverb,
                                snr_low=c.snr_low, snr_high=c.snr_high, noise_root=c.noise_root, rir_root=c.rir_root,
                                sample_rate=c.sample_rate, seed=seed * 1000 + rank)

    @property
    def num_labels(self) -> int:
        return len(self.symbols)

    def _dataset(self, split: str) -> AudioDataset:
        cfg = self.cfg
        labels = {"units": str(self.root / f"{split}.{cfg.labels}")}
        dictionaries = {"units": str(self.root / f"dict.{cfg.labels}.txt")}  # unknown units fail here, not in collate
        return AudioDataset(self.root / f"{split}.tsv", AudioDataConfig(
            sample_rate=cfg.sample_rate, labels=labels, dictionaries=dictionaries, label_rate=cfg.label_rate,
            frame_labels=("units",)))

    def load_split(self, split: str):
        carve = not (self.root / "valid.tsv").is_file()  # then valid is every k-th train utterance
        if split == "train_all" or (split in ("train", "valid") and not carve):
            return self._dataset("train" if split == "train_all" else split)
        if split in ("train", "valid"):
            train_rows, valid_rows = carve_valid(len(self.dataset("train_all")), self.cfg.valid_share)
            return IndexedSubset(self.dataset("train_all"), train_rows if split == "train" else valid_rows)
        if (self.root / f"{split}.tsv").is_file():
            return self._dataset(split)
        raise FileNotFoundError(self.root / f"{split}.tsv")

    def collate(self, items: list[dict]) -> dict:
        waves, mask = pad_sequences([it["waveform"] for it in items], 0, dtype=torch.float32)
        targets, _ = pad_sequences([[int(u) for u in it["units"].split()] for it in items], -100)
        return {"waveform": waves, "lengths": mask.sum(1), "targets": targets,
                "ids": torch.tensor([int(it["id"]) for it in items])}

    def _forward(self, model, batch: dict, *, train: bool, mask_seed: int | None = None) -> dict:
        wave, lengths, domains = batch["waveform"], batch["lengths"], None
        distorter = self.train_distorter if train else self.eval_distorter
        if distorter is not None:
            if not train:  # the same distortion of each valid batch at every evaluation
                distorter.rng = np.random.default_rng([self.cfg.distortion_seed, *batch["ids"].tolist()])
            wave, record = distorter(wave, lengths)
            domains = torch.tensor([DOMAINS.index(r["kind"] or "clean") for r in record], device=wave.device)
        return model(waveform=wave, lengths=lengths, targets=batch["targets"], domains=domains, mask_seed=mask_seed)

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict]:
        outputs = self._forward(model, batch, train=True)
        return outputs["loss"], outputs

    def eval_step(self, model, batch: dict) -> dict:
        seed = int(batch["ids"].sum()) * 7919 + int(batch["ids"][0])  # fixed masks per batch: comparable evals
        out = self._forward(model, batch, train=False, mask_seed=seed)
        step = {"loss": float(out["loss"]), "n": int(batch["waveform"].shape[0]), "correct": int(out["correct"]),
                "count": int(out["count"]), "masked_loss": float(out["masked_loss"])}
        if "domain_correct" in out:
            step["domain_correct"] = int(out["domain_correct"])
        return step

    def rng_state(self) -> dict:
        """The training distortions' generator (the valid ones are re-seeded per batch)."""
        return {"train_distorter": self.train_distorter.rng.bit_generator.state} if self.train_distorter else {}

    def load_rng_state(self, state: dict) -> None:
        if self.train_distorter is not None and "train_distorter" in state:
            self.train_distorter.rng.bit_generator.state = state["train_distorter"]

    def score(self, steps: list[dict]) -> dict[str, float]:
        count = max(sum(s["count"] for s in steps), 1)
        n = max(sum(s["n"] for s in steps), 1)
        metrics = {"masked_accuracy": 100.0 * sum(s["correct"] for s in steps) / count,
                   "masked_loss": sum(s["masked_loss"] * s["n"] for s in steps) / n}
        if steps and "domain_correct" in steps[0]:
            metrics["domain_accuracy"] = 100.0 * sum(s["domain_correct"] for s in steps) / n
        return metrics
