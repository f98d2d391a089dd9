"""`ssl-universal new-plugin`: write a plugin skeleton (tokenizer, task, model, recipe, test) that trains."""

from __future__ import annotations

from pathlib import Path
from string import Template

from .errors import ConfigError

FILES = {
    "__init__.py": '''"""The ${name} plugin: registers its tokenizer, task and model with ssl-universal."""

from ssl_universal import register_model, register_task, register_tokenizer

from .model import build_tiny_classifier
from .task import MajorityTask
from .tokenizer import ${Name}Tokenizer

register_tokenizer("${name}_symbols")(${Name}Tokenizer)
register_task("${name}_majority")(MajorityTask)
register_model("${name}_tiny")(build_tiny_classifier)
''',
    "tokenizer.py": '''"""Tokenizer of the ${name} plugin: a closed alphabet, one id per symbol."""

from dataclasses import dataclass

from ssl_universal import Tokenizer, TokenizerConfig


@dataclass
class ${Name}TokenizerConfig(TokenizerConfig):
    alphabet: str = "ABCD"  # the symbols of this modality, one character each


class ${Name}Tokenizer(Tokenizer):
    """Each character of ``alphabet`` is one symbol; anything else is an error, not <unk>."""

    Config = ${Name}TokenizerConfig

    def __init__(self, cfg=None):
        cfg = cfg or self.Config()
        super().__init__(cfg, symbols=list(cfg.alphabet))

    def split(self, item: str) -> list[str]:
        bad = sorted(set(item) - set(self.cfg.alphabet))
        if bad:
            raise ValueError(f"symbols {bad} are not in the alphabet {self.cfg.alphabet!r}")
        return list(item)
''',
    "task.py": '''"""A toy ${name} task: is symbol A more frequent than symbol B? Replace the data with yours."""

import random
from dataclasses import dataclass

from ssl_universal import Task, TaskConfig


@dataclass
class MajorityConfig(TaskConfig):
    num_train: int = 2000  # generated training sequences
    num_eval: int = 300  # generated valid/test sequences each
    min_symbols: int = 8  # shortest generated sequence
    max_symbols: int = 32  # longest generated sequence


class MajorityTask(Task):
    """Binary classification of generated sequences; accuracy is the metric."""

    Config = MajorityConfig
    default_tokenizer = "${name}_symbols"
    best_metric = "accuracy"

    @property
    def num_labels(self) -> int:
        return 2

    def load_split(self, split: str):
        sizes = {"train": self.cfg.num_train, "valid": self.cfg.num_eval, "test": self.cfg.num_eval}
        if split not in sizes:
            raise FileNotFoundError(f"no split {split!r}; this task has {sorted(sizes)}")
        rng = random.Random(f"{split}-majority")
        alphabet = self.tokenizer.cfg.alphabet
        examples = []
        for _ in range(sizes[split]):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(self.cfg.min_symbols, self.cfg.max_symbols)))
            label = int(text.count(alphabet[0]) > text.count(alphabet[1]))
            examples.append({"input_ids": self.tokenizer.encode(text), "label": label})
        return examples
''',
    "model.py": '''"""A small transformer classifier, so the skeleton trains in seconds on a CPU."""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TinyClassifierConfig:
    dim: int = 64  # hidden size
    layers: int = 2  # transformer encoder layers
    heads: int = 4  # attention heads
    max_positions: int = 512  # longest input
    dropout: float = 0.1  # dropout inside the encoder layers


class TinyClassifier(nn.Module):
    def __init__(self, cfg: TinyClassifierConfig, vocab_size: int, num_labels: int, pad_id: int):
        super().__init__()
        self.pad_id = pad_id
        self.embed = nn.Embedding(vocab_size, cfg.dim, padding_idx=pad_id)
        self.positions = nn.Embedding(cfg.max_positions, cfg.dim)
        layer = nn.TransformerEncoderLayer(cfg.dim, cfg.heads, 4 * cfg.dim, dropout=cfg.dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.head = nn.Linear(cfg.dim, num_labels)

    def forward(self, input_ids, attention_mask, labels=None, **_):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        hidden = self.encoder(self.embed(input_ids) + self.positions(positions), src_key_padding_mask=attention_mask == 0)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        logits = self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1))
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = nn.functional.cross_entropy(logits.float(), labels)
        return out


def build_tiny_classifier(cfg: TinyClassifierConfig, task) -> nn.Module:
    """Mean-pooled transformer encoder with a linear head."""
    return TinyClassifier(cfg, task.tokenizer.vocab_size, task.num_labels, task.tokenizer.pad_id)
''',
    "recipes/demo.yaml": '''# The ${name} skeleton: a tiny transformer learns a counting rule over generated sequences.
# Swap `model` for `seq_classifier` (backbone: default, assignment: random) to run the same task
# through the packaged pre-trained BERT.
task:
  name: ${name}_majority
model:
  name: ${name}_tiny
trainer:
  max_steps: 150
  batch_size: 32
  lr: 1.0e-3
  warmup_steps: 10
  eval_every: 50
  save_every: 50
  log_every: 10
  progress_bar: false
  tensorboard: false
seed: 0
''',
    "tests/test_${name}.py": '''"""The ${name} plugin trains: loss falls and accuracy beats chance."""

import json
import os
import subprocess
import sys
from pathlib import Path

PLUGIN_PARENT = Path(__file__).resolve().parents[2]


def test_${name}_demo_recipe_learns(tmp_path):
    env = {**os.environ, "SSL_UNIVERSAL_PLUGIN_DIRS": str(PLUGIN_PARENT)}
    run_dir = tmp_path / "run"
    subprocess.run(
        [sys.executable, "-m", "ssl_universal.cli", "train", "recipe=${name}/demo", f"run_dir={run_dir}"],
        check=True, env=env, timeout=600,
    )
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if r["split"] == "train"]
    assert losses[-1] < losses[0]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["test"]["accuracy"] > 70.0  # chance is about 50
''',
    "README.md": '''# ${name}

A plugin for ssl-universal, made by `ssl-universal new-plugin ${name}`.

- `tokenizer.py` — `${name}_symbols`: a closed alphabet, one id per symbol.
- `task.py` — `${name}_majority`: a toy task on generated sequences; replace `load_split` with a reader of your data.
- `model.py` — `${name}_tiny`: a small transformer classifier.
- `recipes/demo.yaml` — train it: `SSL_UNIVERSAL_PLUGIN_DIRS=<parent folder> ssl-universal train recipe=${name}/demo`.
- `tests/` — `pytest tests/` checks that the demo learns.
''',
}


def write_plugin(name: str, directory: Path) -> Path:
    """Write the skeleton into ``directory/name``; refuses to overwrite an existing folder."""
    if not name.isidentifier() or not name.islower():
        raise ConfigError(f"plugin name {name!r} must be a lower-case Python identifier, e.g. 'my_modality'")
    target = Path(directory) / name
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another name or folder")
    values = {"name": name, "Name": "".join(part.capitalize() for part in name.split("_"))}
    for relative, text in FILES.items():
        path = target / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values))
    return target
