"""SUPERB-style downstream tasks on a frozen upstream: KS, IC, SID, ER (accuracy) and ASR (CTC; WER, CER)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ssl_universal.data.collate import pad_sequences
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.metrics import cer, wer
from ssl_universal.schema import choice
from ssl_universal.task import Task, TaskConfig

from .audio import AudioDataConfig, AudioDataset, TrimConfig, read_dictionary, read_labels
from .conditions import ConditionDistorter, ConditionedSplit, ConditionsConfig
from .hubert import frame_mask, masked_mean, sample_mask
from .pretrain import IndexedSubset, carve_valid
from .upstreams import load_upstream

BLANK = "<blank>"


@dataclass
class SuperbTaskConfig(TaskConfig):
    """A corpus task folder: ``train.tsv``/``test.tsv`` with ``.label`` (classes) or ``.ltr``/``.wrd`` (ASR)."""

    sample_rate: int = 16000  # model input rate
    valid_share: float = 0.1  # share of train held out for checkpoint selection (always clean)
    conditions: list[str] = field(default_factory=lambda: ["clean"])  # test conditions: clean | mgr | unseen
    test_noise_root: str | None = None  # m+g+r test noises (MUSAN layout); null: <data_dir>/../noise/test
    test_rir_root: str | None = None  # m+g+r test rooms; null: <data_dir>/../rir/test
    unseen_noise_root: str | None = None  # unseen noise folder; null: the test noise/ folder, filtered by name
    unseen_noise_names: list[str] = field(default_factory=lambda: ["blue", "violet", "hum"])  # file-name prefixes
    test_snr_low: float = 10.0  # SNR range of the distorted test sets, dB
    test_snr_high: float = 19.0
    condition_seed: int = 0  # fixes each test utterance's distortion
    trim: str = choice("none", "energy", "vad")  # leading/trailing silence removal, the same in train, valid and test
    trim_db: float = 40.0  # energy: frames this far below the loudest are silence
    trim_margin: float = 0.05  # seconds kept around the sound


class SuperbTask(Task):
    """Shared data handling: train/valid carved from train.tsv, test repeated under each condition."""

    Config = SuperbTaskConfig
    label_files: ClassVar[dict[str, str]] = {}  # label name -> file extension

    def __init__(self, cfg: SuperbTaskConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        if not cfg.data_dir:
            raise ConfigError("task.data_dir: expected a corpus task folder (e.g. data/speech_synth/ic); got null")
        self.root = Path(cfg.data_dir)
        if not (self.root / "train.tsv").is_file():
            raise DataError(f"{self.root / 'train.tsv'}: manifest not found (make the corpus with "
                            "`ssl-universal make-speech-corpus` or point task.data_dir at a folder with train.tsv/test.tsv)")
        conditions = ConditionsConfig(noise_root=cfg.test_noise_root, rir_root=cfg.test_rir_root,
                                      unseen_noise_root=cfg.unseen_noise_root,
                                      unseen_noise_names=list(cfg.unseen_noise_names), snr_low=cfg.test_snr_low,
                                      snr_high=cfg.test_snr_high, seed=cfg.condition_seed)
        self.distorters = {name: ConditionDistorter(name, conditions, self.root, cfg.sample_rate)
                           for name in dict.fromkeys(["clean", *cfg.conditions])}
        self.trim = TrimConfig(method=cfg.trim, threshold_db=cfg.trim_db, margin=cfg.trim_margin)

    def validate_test(self) -> None:
        """Read the test manifest's headers and labels now, before any training step: a bad test set must not
        be found only after the last step, leaving a run without ``results.json``."""
        if not (self.root / "test.tsv").is_file():
            return  # no test split: the engine trains and validates only
        test = self.dataset("test").dataset
        for name, ext in self.label_files.items():
            self.check_label_lines(self.root / f"test.{ext}", test.labels[name])

    def check_label_lines(self, path: Path, lines: list[str]) -> None:
        """Each subclass: every label line must be one the model can output (file and line in the error)."""

    def _audio(self, split: str) -> AudioDataset:
        labels = {name: str(self.root / f"{split}.{ext}") for name, ext in self.label_files.items()}
        return AudioDataset(self.root / f"{split}.tsv", AudioDataConfig(sample_rate=self.cfg.sample_rate, labels=labels,
                                                                        trim=self.trim))

    def load_split(self, split: str):
        if split in ("train", "valid"):
            full = self.dataset("train_all")
            train_rows, valid_rows = carve_valid(len(full), self.cfg.valid_share)
            return IndexedSubset(full, train_rows if split == "train" else valid_rows)
        if split == "train_all":
            return self._audio("train")
        if split == "test":
            if not (self.root / "test.tsv").is_file():
                raise FileNotFoundError(self.root / "test.tsv")  # the engine then skips testing
            return ConditionedSplit(self._audio("test"), self.cfg.conditions)
        raise FileNotFoundError(self.root / f"{split}.tsv")

    def collate(self, items: list[dict]) -> dict:
        waves = [self.distorters[it.get("condition", "clean")](it["waveform"], it["id"]) for it in items]
        waves, mask = pad_sequences(waves, 0, dtype=torch.float32)
        batch = {"waveform": waves, "lengths": mask.sum(1), "condition": [it.get("condition", "clean") for it in items]}
        batch.update(self.labels_of(items))
        return batch

    def labels_of(self, items: list[dict]) -> dict:
        raise NotImplementedError

    def _model_inputs(self, batch: dict) -> dict:
        return {k: v for k, v in batch.items() if k != "condition" and k != "references"}

    def per_condition(self, steps: list[dict], metric) -> dict[str, float]:
        """``metric(steps_subset_rows)`` overall and for each condition present."""
        conditions = [c for s in steps for c in s["condition"]]
        scores = {"": metric(None)}
        for name in dict.fromkeys(conditions):
            scores[f"_{name}"] = metric(name)
        return scores


class UtteranceClassificationTask(SuperbTask):
    """KS, IC, SID, ER: one class per utterance from ``<split>.label``; accuracy in percent."""

    label_files: ClassVar[dict[str, str]] = {"label": "label"}

    def __init__(self, cfg: SuperbTaskConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        dictionary = self.root / "dict.label.txt"
        train_labels = read_labels(self.root / "train.label")
        self.classes = read_dictionary(dictionary) if dictionary.is_file() else sorted(set(train_labels))
        self.class_index = {c: i for i, c in enumerate(self.classes)}
        self.classes_from = str(dictionary) if dictionary.is_file() else "training"
        if dictionary.is_file():  # the classes are the dictionary's: a training label outside it fails now, by line
            self.check_label_lines(self.root / "train.label", train_labels)
        self.validate_test()

    def check_label_lines(self, path: Path, lines: list[str]) -> None:
        for number, label in enumerate(lines, start=1):
            if label not in self.class_index:
                shown = ", ".join(self.classes[:8]) + (" ..." if len(self.classes) > 8 else "")
                where = "training classes" if self.classes_from == "training" else f"classes of {self.classes_from}"
                raise DataError(f"{path}:{number}: class {label!r} is not among the {len(self.classes)} {where} "
                                f"({shown}); the model cannot output it. Fix the label or add the class")

    @property
    def num_labels(self) -> int:
        return len(self.classes)

    def labels_of(self, items: list[dict]) -> dict:
        unknown = [it["label"] for it in items if it["label"] not in self.class_index]
        if unknown:
            raise DataError(f"{self.root}: label {unknown[0]!r} is not among the {len(self.classes)} training classes")
        return {"labels": torch.tensor([self.class_index[it["label"]] for it in items])}

    def loss(self, model, batch):
        outputs = model(**self._model_inputs(batch))
        return outputs["loss"], outputs

    def eval_step(self, model, batch) -> dict:
        outputs = model(**self._model_inputs(batch))
        return {"loss": float(outputs["loss"]), "n": len(batch["condition"]), "condition": batch["condition"],
                "predictions": outputs["logits"].argmax(-1).cpu(), "labels": batch["labels"].cpu()}

    def score(self, steps: list[dict]) -> dict[str, float]:
        predictions = torch.cat([s["predictions"] for s in steps])
        labels = torch.cat([s["labels"] for s in steps])
        conditions = [c for s in steps for c in s["condition"]]

        def accuracy(name):
            keep = torch.tensor([name is None or c == name for c in conditions])
            return 100.0 * float((predictions[keep] == labels[keep]).float().mean())

        return {f"accuracy{k}": v for k, v in self.per_condition(steps, accuracy).items()}


class CtcAsrTask(SuperbTask):
    """ASR: characters of ``<split>.ltr`` (``|`` between words) with CTC; WER and CER (jiwer) in percent."""

    label_files: ClassVar[dict[str, str]] = {"letters": "ltr"}
    best_metric = "wer"
    best_mode = "min"

    def __init__(self, cfg: SuperbTaskConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        dictionary = self.root / "dict.ltr.txt"
        if not dictionary.is_file():
            raise DataError(f"{dictionary}: letter dictionary not found (the corpus writes it beside train.ltr)")
        self.symbols = [BLANK, *read_dictionary(dictionary)]
        self.symbol_index = {s: i for i, s in enumerate(self.symbols)}
        self.validate_test()

    def check_label_lines(self, path: Path, lines: list[str]) -> None:
        for number, line in enumerate(lines, start=1):
            missing = [s for s in line.split() if s not in self.symbol_index]
            if missing:
                raise DataError(f"{path}:{number}: letter {missing[0]!r} is not in {self.root / 'dict.ltr.txt'}")

    @property
    def num_labels(self) -> int:
        return len(self.symbols)

    def labels_of(self, items: list[dict]) -> dict:
        ids = []
        for it in items:
            letters = it["letters"].split()
            missing = [s for s in letters if s not in self.symbol_index]
            if missing:
                raise DataError(f"{self.root}: letter {missing[0]!r} of utterance {it['id']} is not in dict.ltr.txt")
            ids.append([self.symbol_index[s] for s in letters])
        targets, mask = pad_sequences(ids, 0)
        return {"targets": targets, "target_lengths": mask.sum(1),
                "references": [self.to_text(row) for row in ids]}

    def to_text(self, ids) -> str:
        """Letter ids to words: ``|`` is the word boundary."""
        letters = "".join(self.symbols[i] if self.symbols[i] != "|" else " " for i in ids if i != 0)
        return " ".join(letters.split())

    def greedy_decode(self, log_probs: torch.Tensor, frame_lengths: torch.Tensor) -> list[str]:
        """Best path: the most likely symbol per frame, repeats merged, blanks dropped."""
        best = log_probs.argmax(-1).cpu()
        texts = []
        for row, length in zip(best, frame_lengths.cpu().tolist()):
            path = torch.unique_consecutive(row[:length]).tolist()
            texts.append(self.to_text(path))
        return texts

    def loss(self, model, batch):
        outputs = model(**self._model_inputs(batch))
        return outputs["loss"], outputs

    def eval_step(self, model, batch) -> dict:
        outputs = model(**self._model_inputs(batch))
        return {"loss": float(outputs["loss"]), "n": len(batch["condition"]), "condition": batch["condition"],
                "hypotheses": self.greedy_decode(outputs["log_probs"].float(), outputs["frame_lengths"]),
                "references": batch["references"]}

    def score(self, steps: list[dict]) -> dict[str, float]:
        rows = [(c, r, h) for s in steps for c, r, h in zip(s["condition"], s["references"], s["hypotheses"])]
        metrics = {}
        for name, fn in (("wer", wer), ("cer", cer)):
            def rate(condition, fn=fn):
                picked = [(r, h) for c, r, h in rows if condition is None or c == condition]
                return fn([r for r, _ in picked], [h for _, h in picked])

            metrics.update({f"{name}{k}": v for k, v in self.per_condition(steps, rate).items()})
        return metrics


# -- the downstream model ------------------------------------------------------------------------
@dataclass
class DownstreamConfig:
    """The registered model ``superb_downstream``: frozen upstream, weighted layer sum, small head."""

    upstream: str | None = None  # run directory, HF HuBERT/wav2vec2 folder, torchaudio file, fbank, random_init[:size]
    upstream_arch: str = "hubert_base"  # torchaudio architecture of a state-dict upstream
    upstream_seed: int = 0  # random_init: the seed its weights are drawn with
    normalize_waveform: bool = False  # zero mean, unit variance per utterance (wav2vec 2.0 checkpoints expect it)
    layer_norm: bool = True  # normalise each layer before the weighted sum (scales differ between layers)
    projection: int = 256  # width of the projection after the weighted sum
    lstm_hidden: int = 128  # ASR: BiLSTM units per direction (0: linear CTC head)
    lstm_layers: int = 1  # ASR: BiLSTM layers
    dropout: float = 0.1  # on the projected features
    pool_norm: bool = True  # utterance tasks: batch-normalise the pooled vector before the linear layer


class PooledNorm(nn.BatchNorm1d):
    """Batch normalisation of pooled vectors; a batch of one (an epoch's remainder) uses the running statistics."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


class SuperbDownstream(nn.Module):
    """Frozen upstream → softmax-weighted sum of all hidden states → mean-pool + linear, or BiLSTM + CTC."""

    def __init__(self, cfg: DownstreamConfig, num_labels: int, kind: str):
        super().__init__()
        if not cfg.upstream:
            raise ConfigError("model.upstream: expected a run directory, a Hugging Face HuBERT/wav2vec2 folder or a "
                              "torchaudio checkpoint; got null")
        self.cfg, self.kind = cfg, kind
        self.upstream = load_upstream(cfg.upstream, arch=cfg.upstream_arch, seed=cfg.upstream_seed)
        self.upstream.requires_grad_(False)
        self.upstream.eval()
        config = self.upstream.config
        self.layer_weights = nn.Parameter(torch.zeros(config.num_hidden_layers + 1))
        self.project = nn.Linear(config.hidden_size, cfg.projection)
        self.dropout = nn.Dropout(cfg.dropout)
        if kind == "ctc":
            width = cfg.projection
            self.lstm = None
            if cfg.lstm_hidden > 0:
                self.lstm = nn.LSTM(cfg.projection, cfg.lstm_hidden, num_layers=cfg.lstm_layers, bidirectional=True,
                                    batch_first=True)
                width = 2 * cfg.lstm_hidden
            self.output = nn.Linear(width, num_labels)
        else:
            # Mean-pooled frames of different utterances share a large common part; standardising the pooled
            # vectors across utterances (batch statistics in training, running ones at test) lets a linear
            # layer see their differences within a few hundred steps.
            self.pool_norm = PooledNorm(cfg.projection) if cfg.pool_norm else nn.Identity()
            self.output = nn.Linear(cfg.projection, num_labels)

    def train(self, mode: bool = True):
        super().train(mode)
        self.upstream.eval()  # frozen: no dropout, no masking, whatever the engine asks
        return self

    def features(self, waveform: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Weighted sum of the upstream's hidden states [B, T, H] and the frame lengths [B]."""
        mask = sample_mask(lengths, waveform.shape[1])
        if self.cfg.normalize_waveform:
            m = mask.to(waveform.dtype)
            mean = (waveform * m).sum(1, keepdim=True) / m.sum(1, keepdim=True)
            var = ((waveform - mean).square() * m).sum(1, keepdim=True) / m.sum(1, keepdim=True)
            waveform = (waveform - mean) / (var + 1e-7).sqrt() * m
        with torch.no_grad():
            hidden = self.upstream(waveform, attention_mask=mask, output_hidden_states=True).hidden_states
        frame_lengths = self.upstream._get_feat_extract_output_lengths(lengths).clamp(1, hidden[0].shape[1])
        if len(hidden) == 1:  # one feature stream (fbank): used as it is, like s3prl's featurizer does
            return hidden[0].float(), frame_lengths
        layers = torch.stack([F.layer_norm(h.float(), h.shape[-1:]) if self.cfg.layer_norm else h.float()
                              for h in hidden])
        weights = torch.softmax(self.layer_weights, 0)
        summed = (weights[:, None, None, None] * layers).sum(0)
        return summed, frame_lengths

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor | None = None,
                targets: torch.Tensor | None = None, target_lengths: torch.Tensor | None = None) -> dict:
        summed, frame_lengths = self.features(waveform, lengths)
        x = self.dropout(self.project(summed))
        valid = frame_mask(frame_lengths, x.shape[1])
        if self.kind != "ctc":
            logits = self.output(self.pool_norm(masked_mean(x, valid)))
            out = {"logits": logits}
            if labels is not None:
                out["loss"] = F.cross_entropy(logits.float(), labels)
            return out
        if self.lstm is not None:
            packed = nn.utils.rnn.pack_padded_sequence(x, frame_lengths.cpu(), batch_first=True, enforce_sorted=False)
            x, _ = self.lstm(packed)
            x, _ = nn.utils.rnn.pad_packed_sequence(x, batch_first=True, total_length=valid.shape[1])
        log_probs = self.output(x).float().log_softmax(-1)
        out = {"log_probs": log_probs, "frame_lengths": frame_lengths}
        if targets is not None:
            out["loss"] = F.ctc_loss(log_probs.transpose(0, 1), targets, frame_lengths, target_lengths, blank=0,
                                     zero_infinity=True)
        return out


def build_downstream(cfg: DownstreamConfig, task) -> SuperbDownstream:
    """Builder of ``superb_downstream``: an utterance head for classification tasks, CTC for ASR."""
    return SuperbDownstream(cfg, task.num_labels, "ctc" if isinstance(task, CtcAsrTask) else "utterance")
