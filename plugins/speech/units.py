"""Speech units: MFCC or HuBERT-layer features streamed to disk, MiniBatchKMeans, ``.km`` files, merged runs."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ssl_universal.errors import ConfigError, DataError
from ssl_universal.metrics import merge_repeated_units
from ssl_universal.models.backbone import quiet_transformers
from ssl_universal.schema import choice

from .audio import load_audio, read_manifest

log = logging.getLogger(__name__)


# -- feature extractors --------------------------------------------------------------------------
class MfccFeatures:
    """HuBERT's first-iteration targets: 13 Kaldi MFCCs + deltas + delta-deltas, 25 ms windows every 10 ms.

    ``cmvn``: each utterance's 39 features are shifted to mean 0 and scaled to variance 1 over its own frames
    (per-utterance cepstral mean and variance normalisation, the classic removal of a speaker's and a channel's
    constant spectral colouring). HuBERT's recipe does not normalise, so the default is off.
    """

    def __init__(self, sample_rate: int = 16000, cmvn: bool = False):
        self.sample_rate, self.cmvn = sample_rate, cmvn
        self.frame_rate = sample_rate / (sample_rate // 100)  # 10 ms hop
        self.dim = 39

    @torch.no_grad()
    def __call__(self, wave: torch.Tensor) -> np.ndarray:
        import torchaudio.functional as AF
        from torchaudio.compliance import kaldi

        mfcc = kaldi.mfcc(wave[None], sample_frequency=self.sample_rate, use_energy=False)  # [frames, 13]
        mfcc = mfcc.T.contiguous()
        deltas = AF.compute_deltas(mfcc)
        feats = torch.cat([mfcc, deltas, AF.compute_deltas(deltas)]).T
        if self.cmvn:
            feats = (feats - feats.mean(0)) / feats.std(0, unbiased=False).clamp_min(1e-5)
        return feats.numpy().astype(np.float32)


class HubertFeatures:
    """Output of transformer layer ``layer`` (1-based) of a HuBERT, 20 ms frames.

    ``checkpoint`` is a Hugging Face folder (``config.json`` + weights; a run directory's ``best/hf``
    is one), a run directory holding such a ``best/hf`` (or ``best/``), or a torchaudio state-dict file (``.pt``/
    ``.pth``/``.safetensors``) for the architecture ``arch`` (``hubert_base``, ``hubert_large``...).
    """

    def __init__(self, checkpoint: str | Path, layer: int, *, arch: str = "hubert_base", sample_rate: int = 16000,
                 device: str = "cpu"):
        path = Path(checkpoint)
        for candidate in (path / "best" / "hf", path / "best"):  # a run directory: its exported best model
            if (candidate / "config.json").is_file():
                path = candidate
                break
        self.layer, self.device, self.sample_rate = layer, torch.device(device), sample_rate
        if (path / "config.json").is_file():
            from transformers import HubertModel

            with quiet_transformers():
                self.model = HubertModel.from_pretrained(str(path)).to(self.device).eval()
            cfg = self.model.config
            self.kind, self.num_layers, self.dim = "hf", cfg.num_hidden_layers, cfg.hidden_size
            stride = int(np.prod(cfg.conv_stride))
        elif path.is_file():
            import torchaudio

            builder = getattr(torchaudio.models, arch, None)
            if builder is None:
                raise ConfigError(f"arch {arch!r} is not a torchaudio model; use hubert_base, hubert_large, ...")
            self.model = builder()
            self.model.load_state_dict(_read_state_dict(path))
            self.model.to(self.device).eval()
            self.kind, self.num_layers = "torchaudio", len(self.model.encoder.transformer.layers)
            self.dim, stride = self.model.encoder.feature_projection.projection.out_features, 320
        else:
            raise DataError(f"{path}: expected a Hugging Face HuBERT folder (with config.json), a run directory "
                            "with best/config.json, or a torchaudio state-dict file")
        if not 1 <= layer <= self.num_layers:
            raise ConfigError(f"layer must be in 1..{self.num_layers} for {path}; got {layer}")
        self.frame_rate = sample_rate / stride

    @torch.no_grad()
    def __call__(self, wave: torch.Tensor) -> np.ndarray:
        wave = wave.to(self.device)[None]
        if self.kind == "hf":
            hidden = self.model(wave, output_hidden_states=True).hidden_states[self.layer]
        else:
            hidden = self.model.extract_features(wave, num_layers=self.layer)[0][-1]
        return hidden[0].float().cpu().numpy()


def _read_state_dict(path: Path) -> dict:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    return state.get("model", state) if isinstance(state, dict) else state


# -- run-length merging --------------------------------------------------------------------------
def expand_runs(units: Sequence[int], counts: Sequence[int]) -> list[int]:
    """Inverse of :func:`ssl_universal.metrics.merge_repeated_units`: each unit repeated by its run length."""
    if len(units) != len(counts):
        raise DataError(f"merged units and counts differ in length: {len(units)} vs {len(counts)}")
    return [int(u) for u, c in zip(units, counts) for _ in range(int(c))]


# -- the pipeline --------------------------------------------------------------------------------
@dataclass
class UnitConfig:
    """Features -> k-means -> ``.km`` labels for every split of a manifest folder."""

    manifest_dir: str = "."  # folder with <split>.tsv manifests
    out_dir: str | None = None  # where .km and dict.km.txt go (default: manifest_dir)
    splits: tuple[str, ...] = ("train", "test")  # manifests to label
    fit_split: str = "train"  # the split k-means is fitted on
    feature: str = choice("mfcc", "hubert")  # mfcc | hubert
    checkpoint: str | None = None  # HuBERT folder/file (feature: hubert)
    cmvn: bool = False  # feature: mfcc: per-utterance mean and variance normalisation of the 39 features
    layer: int = 6  # HuBERT transformer layer, 1-based
    arch: str = "hubert_base"  # torchaudio architecture of a state-dict checkpoint
    sample_rate: int = 16000  # the feature extractor's input rate
    label_rate: float | None = None  # expected frames/s of the labels; must match the features' rate
    n_clusters: int = 100  # K
    batch_size: int = 10000  # frames per MiniBatchKMeans step
    chunk_frames: int = 100000  # frames read from disk at once while fitting (bounds memory)
    passes: int = 2  # passes over the training features
    seed: int = 0  # k-means initialisation and minibatch order
    merge: bool = False  # also write <split>.merged.km and <split>.merged.cnt (run lengths)
    keep_features: bool = False  # keep the features on disk after labelling
    device: str = "cpu"  # where HuBERT runs


def make_extractor(cfg: UnitConfig):
    if cfg.feature == "mfcc":
        return MfccFeatures(cfg.sample_rate, cmvn=cfg.cmvn)
    if cfg.cmvn:
        raise ConfigError(f"cmvn applies to feature: mfcc only; got feature {cfg.feature!r}")
    if cfg.feature == "hubert":
        if not cfg.checkpoint:
            raise ConfigError("feature: hubert needs checkpoint (a HuBERT folder or state-dict file)")
        return HubertFeatures(cfg.checkpoint, cfg.layer, arch=cfg.arch, sample_rate=cfg.sample_rate, device=cfg.device)
    raise ConfigError(f"feature must be mfcc or hubert; got {cfg.feature!r}")


def dump_features(extractor, manifest_path: Path, feature_path: Path) -> np.ndarray:
    """Append each utterance's [frames, dim] float32 rows to ``feature_path``; returns frames per utterance.

    Every utterance's frame count is checked against its duration times the extractor's frame rate,
    so a wrong ``frame_rate`` (and hence a wrong ``label_rate`` downstream) cannot pass silently.
    """
    manifest = read_manifest(manifest_path)
    frames = []
    with open(feature_path, "wb") as out:
        for i in range(len(manifest)):
            wave = load_audio(manifest.full_path(i), extractor.sample_rate)
            feats = extractor(wave)
            expected = wave.numel() / extractor.sample_rate * extractor.frame_rate
            if abs(feats.shape[0] - expected) > 3:
                raise DataError(f"{manifest.full_path(i)}: {feats.shape[0]} feature frames for {wave.numel()} samples; "
                                f"expected about {expected:.1f} at {extractor.frame_rate} frames/s")
            out.write(np.ascontiguousarray(feats, dtype=np.float32).tobytes())
            frames.append(feats.shape[0])
    np.save(feature_path.with_suffix(".len.npy"), np.asarray(frames, dtype=np.int64))
    return np.asarray(frames, dtype=np.int64)


def _read_rows(path: Path, dim: int, start: int, count: int) -> np.ndarray:
    return np.fromfile(path, dtype=np.float32, count=count * dim, offset=start * dim * 4).reshape(-1, dim)


def fit_kmeans(feature_path: Path, total: int, dim: int, cfg: UnitConfig):
    """MiniBatchKMeans over features read chunk by chunk (never the whole matrix in memory)."""
    from sklearn.cluster import MiniBatchKMeans

    if total < cfg.n_clusters:
        raise ConfigError(f"k-means: {total} training frames cannot make {cfg.n_clusters} clusters; "
                          "lower n_clusters or add audio")
    kmeans = MiniBatchKMeans(n_clusters=cfg.n_clusters, batch_size=cfg.batch_size, random_state=cfg.seed,
                             n_init=1, compute_labels=False)
    rng = np.random.default_rng(cfg.seed)
    chunk = max(cfg.chunk_frames, cfg.batch_size, 3 * cfg.n_clusters)
    starts = np.arange(0, total, chunk)
    first = True
    for _ in range(cfg.passes):
        for start in starts[rng.permutation(starts.size)]:
            rows = _read_rows(feature_path, dim, int(start), int(min(chunk, total - start)))
            rows = rows[rng.permutation(rows.shape[0])]  # a chunk holds consecutive frames of few utterances
            step = max(cfg.batch_size, 3 * cfg.n_clusters) if first else cfg.batch_size
            for i in range(0, rows.shape[0], step):
                batch = rows[i: i + step]
                if first and batch.shape[0] < cfg.n_clusters:
                    continue
                kmeans.partial_fit(batch)
                first = False
    return kmeans


def extract_units(cfg: UnitConfig) -> dict:
    """Dump features per split, fit k-means on ``fit_split``, write ``<split>.km``, ``dict.km.txt`` (and
    merged units); returns a summary that is also written to ``units.json``."""
    manifest_dir = Path(cfg.manifest_dir)
    out_dir = Path(cfg.out_dir or manifest_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.fit_split not in cfg.splits:
        raise ConfigError(f"fit_split {cfg.fit_split!r} must be one of splits {cfg.splits}")
    for split in cfg.splits:
        if not (manifest_dir / f"{split}.tsv").is_file():
            raise DataError(f"{manifest_dir / f'{split}.tsv'}: manifest not found (splits: {cfg.splits})")
    extractor = make_extractor(cfg)
    if cfg.label_rate is not None and abs(cfg.label_rate - extractor.frame_rate) > 1e-6:
        raise ConfigError(f"label_rate {cfg.label_rate} Hz does not match the {cfg.feature} frame rate "
                          f"{extractor.frame_rate} Hz; set label_rate: {extractor.frame_rate:g}")
    feature_dir = out_dir / "features"
    feature_dir.mkdir(exist_ok=True)
    frames = {}
    for split in cfg.splits:
        frames[split] = dump_features(extractor, manifest_dir / f"{split}.tsv", feature_dir / f"{split}.f32")
        log.info("features %s: %d utterances, %d frames", split, frames[split].size, frames[split].sum())
    dim = extractor.dim
    kmeans = fit_kmeans(feature_dir / f"{cfg.fit_split}.f32", int(frames[cfg.fit_split].sum()), dim, cfg)
    counts = np.zeros(cfg.n_clusters, dtype=np.int64)
    for split in cfg.splits:
        path, offset = feature_dir / f"{split}.f32", 0
        with open(out_dir / f"{split}.km", "w", encoding="utf-8") as km, \
                open(out_dir / f"{split}.merged.km", "w", encoding="utf-8") if cfg.merge else _Null() as mkm, \
                open(out_dir / f"{split}.merged.cnt", "w", encoding="utf-8") if cfg.merge else _Null() as cnt:
            for n in frames[split]:
                units = kmeans.predict(_read_rows(path, dim, offset, int(n))) if n else np.zeros(0, int)
                offset += int(n)
                km.write(" ".join(map(str, units)) + "\n")
                if split == cfg.fit_split:
                    counts += np.bincount(units, minlength=cfg.n_clusters)
                if cfg.merge:
                    merged, runs = merge_repeated_units(units)
                    mkm.write(" ".join(map(str, merged)) + "\n")
                    cnt.write(" ".join(map(str, runs)) + "\n")
    (out_dir / "dict.km.txt").write_text("".join(f"{k} {c}\n" for k, c in enumerate(counts)), encoding="utf-8")
    if not cfg.keep_features:
        shutil.rmtree(feature_dir)
    summary = {"config": asdict(cfg), "label_rate": extractor.frame_rate, "dim": dim,
               "frames": {s: int(f.sum()) for s, f in frames.items()},
               "utterances": {s: int(f.size) for s, f in frames.items()},
               "used_clusters": int((counts > 0).sum())}
    (out_dir / "units.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


class _Null:
    """Stands in for an output file that is not written."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, _text: str) -> None:
        pass
