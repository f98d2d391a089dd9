"""Compare two trained runs' hidden representations of the same inputs with linear CKA, layer by layer.

The SCIENCE.md §2 "representation similarity" table (BERT vs PLUS, random vs random): run A's task gives the
inputs (``--split``), each model encodes them, each sequence is pooled to one vector per layer, and CKA compares
the two models at each depth they share and at their last layers.

Example: ssl-universal representation-similarity runs/amp/000_model.assignment=random,seed=0 \\
             runs/amp/003_model.assignment=reinit,seed=0 --split test --pooling mean --out cka.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from .errors import ConfigError


def load_run(run_dir: Path, weights: str = "best"):
    """(task, model) of a finished run, with its best (or latest) weights."""
    from omegaconf import OmegaConf

    from .config import load_config
    from .engine.checkpoint import latest_checkpoint, load_weights
    from .run import build, seed_everything

    config_file = run_dir / "config.yaml"
    if not config_file.is_file():
        raise ConfigError(f"{run_dir} has no config.yaml; pass run folders made by `ssl-universal train`")
    cfg = load_config([], base=OmegaConf.to_container(OmegaConf.load(config_file), resolve=True))
    if weights == "best":
        path = run_dir / "best" / "model.safetensors"
    else:
        folder = latest_checkpoint(run_dir / "checkpoints")
        path = folder / "model.safetensors" if folder is not None else run_dir / "missing"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no {weights} weights at {path}")
    seed_everything(cfg.seed)
    task, model = build(cfg)
    model.load_state_dict(load_weights(path))
    return task, model.eval()


@torch.no_grad()
def pooled_layers(model, task, examples: list[dict], pooling: str, batch_size: int = 32) -> list[torch.Tensor]:
    """Per layer (embeddings first), one pooled vector per example: [n, hidden] each."""
    encoder = getattr(model, "encoder", None)
    if encoder is None:
        raise ConfigError(f"{type(model).__name__} has no `encoder`; this tool compares the core transfer models")
    layers: list[list[torch.Tensor]] = []
    for start in range(0, len(examples), batch_size):
        batch = task.collate(examples[start : start + batch_size])
        mask = batch["attention_mask"]
        out = encoder(input_ids=batch["input_ids"], attention_mask=mask, output_hidden_states=True)
        for depth, hidden in enumerate(out.hidden_states):
            if pooling == "cls":
                vectors = hidden[:, 0]
            else:
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                vectors = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
            if depth == len(layers):
                layers.append([])
            layers[depth].append(vectors.float())
    return [torch.cat(chunks) for chunks in layers]


def compare(run_a: Path, run_b: Path, split: str = "test", pooling: str = "mean", max_examples: int | None = 500,
            weights: str = "best") -> dict:
    """CKA of runs ``run_a`` and ``run_b`` per shared depth and at the last layer, on run A's ``split``."""
    from .metrics.similarity import linear_cka

    if pooling not in ("mean", "cls"):
        raise ConfigError(f"--pooling must be mean or cls; got {pooling!r}")
    task_a, model_a = load_run(run_a, weights)
    task_b, model_b = load_run(run_b, weights)
    if list(task_a.tokenizer.symbols) != list(task_b.tokenizer.symbols):
        raise ConfigError(f"{run_a} and {run_b} use different tokenizers; CKA needs the same inputs for both models")
    examples = list(task_a.dataset(split))[: max_examples or None]
    layers_a = pooled_layers(model_a, task_a, examples, pooling)
    layers_b = pooled_layers(model_b, task_a, examples, pooling)
    shared = min(len(layers_a), len(layers_b))
    per_layer = [linear_cka(layers_a[i].numpy(), layers_b[i].numpy()) for i in range(shared)]
    return {
        "run_a": str(run_a), "run_b": str(run_b), "split": split, "pooling": pooling, "examples": len(examples),
        "per_layer": per_layer,  # index 0 = embeddings output, i = after block i
        "last": linear_cka(layers_a[-1].numpy(), layers_b[-1].numpy()),
    }


def main(argv: list[str]) -> int:
    """`ssl-universal representation-similarity RUN_A RUN_B`: print (and save) the CKA table."""
    from .plugins import load_plugins

    parser = argparse.ArgumentParser(prog="ssl-universal representation-similarity", description=__doc__.splitlines()[0],
                                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_a", type=Path, help="a run folder (config.yaml + best/)")
    parser.add_argument("run_b", type=Path, help="another run folder with the same tokenizer")
    parser.add_argument("--split", default="test", help="split of run A's task whose inputs are encoded")
    parser.add_argument("--pooling", default="mean", choices=("mean", "cls"), help="one vector per sequence: mean of positions or <cls>")
    parser.add_argument("--max-examples", type=int, default=500, help="first N examples of the split (0 = all)")
    parser.add_argument("--weights", default="best", choices=("best", "latest"), help="which weights of each run")
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    load_plugins()
    result = compare(args.run_a, args.run_b, args.split, args.pooling, args.max_examples, args.weights)
    print(f"linear CKA on {result['examples']} {args.split} inputs ({args.pooling} pooling)")
    print("| layer | CKA |\n|---|---|")
    for depth, value in enumerate(result["per_layer"]):
        print(f"| {'embeddings' if depth == 0 else depth} | {value:.3f} |")
    print(f"| last | {result['last']:.3f} |")
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0
