"""The FPT tasks (SCIENCE.md §3): bit memory, bit XOR, ListOps and images as patches, each generating or reading offline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ssl_universal.data.sequence_files import Record
from ssl_universal.data.sequence_task import SequenceFilesConfig, SymbolSequenceTask
from ssl_universal.schema import FieldError, bounded, choice

from . import bits, images, listops
from .vectors import VectorSplit, VectorTask

SPLIT_OFFSETS = {"train": 0, "valid": 1, "test": 2}


@dataclass
class BitMemoryConfig:
    """Recall a stored bit pattern from a query with half its bits hidden (the reference: n=1000, 5 patterns, patches of 50)."""

    n: int = bounded(50, ge=1)  # bits per pattern
    patterns: int = bounded(5, ge=1)  # patterns shown before the query
    patch_size: int = bounded(10, ge=1)  # bits per input vector; divides n
    mask_probability: float = bounded(0.5, ge=0, le=1)  # chance that a query bit is hidden (shown as 0)
    num_train: int = bounded(4000, ge=1)  # generated training examples
    num_eval: int = bounded(500, ge=1)  # generated valid and test examples each
    data_seed: int = bounded(0, ge=0)  # seed of the generated data (the run seed varies the model only)

    def validate(self, run=None) -> None:
        if self.n % self.patch_size:
            raise FieldError("patch_size", f"{self.patch_size} does not divide n={self.n}")


class BitMemoryTask(VectorTask):
    """Per-bit accuracy over the query (``accuracy``), on the hidden bits only (``masked_accuracy``), whole strings."""

    Config = BitMemoryConfig
    label_names = ["0", "1"]

    def __init__(self, cfg: BitMemoryConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        self.input_size = cfg.patch_size
        self.sequence_length = (cfg.patterns + 1) * cfg.n // cfg.patch_size
        self.predictions_per_example = cfg.n
        self.read_positions = cfg.n // cfg.patch_size

    def arrays(self, split: str) -> VectorSplit:
        cfg = self.cfg
        data = bits.bit_memory(cfg.num_train if split == "train" else cfg.num_eval, n=cfg.n, patterns=cfg.patterns,
                               patch_size=cfg.patch_size, mask_probability=cfg.mask_probability,
                               seed=cfg.data_seed * 3 + SPLIT_OFFSETS[split])
        return VectorSplit(data.inputs, data.labels, masked=data.masked)

    def score(self, steps: list[dict]) -> dict[str, float]:
        scores = super().score(steps)
        right = torch.cat([s["predictions"] for s in steps]) == torch.cat([s["labels"] for s in steps])
        masked = torch.cat([s["masked"] for s in steps]).bool()
        if bool(masked.any()):
            scores["masked_accuracy"] = float(right[masked].float().mean()) * 100.0
        return scores


@dataclass
class BitXorConfig:
    """The bitwise XOR of n-bit strings (the reference: n=5, two strings, one vector per string)."""

    n: int = bounded(5, ge=1)  # bits per string
    patterns: int = bounded(2, ge=2)  # strings XOR-ed together
    patch_size: int | None = bounded(None, ge=1)  # bits per input vector; None = n (one vector per string)
    num_train: int = bounded(4000, ge=1)  # generated training examples
    num_eval: int = bounded(500, ge=1)  # generated valid and test examples each
    data_seed: int = bounded(0, ge=0)  # seed of the generated data

    def validate(self, run=None) -> None:
        if self.patch_size is not None and self.n % self.patch_size:
            raise FieldError("patch_size", f"{self.patch_size} does not divide n={self.n}")


class BitXorTask(VectorTask):
    """Per-bit accuracy of the XOR string (``accuracy``) and whole-string accuracy."""

    Config = BitXorConfig
    label_names = ["0", "1"]

    def __init__(self, cfg: BitXorConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        self.input_size = cfg.patch_size or cfg.n
        self.sequence_length = cfg.patterns * cfg.n // self.input_size
        self.predictions_per_example = cfg.n
        self.read_positions = cfg.n // self.input_size

    def arrays(self, split: str) -> VectorSplit:
        cfg = self.cfg
        data = bits.bit_xor(cfg.num_train if split == "train" else cfg.num_eval, n=cfg.n, patterns=cfg.patterns,
                            patch_size=self.input_size, seed=cfg.data_seed * 3 + SPLIT_OFFSETS[split])
        return VectorSplit(data.inputs, data.labels)


@dataclass
class ListOpsConfig(SequenceFilesConfig):
    """ListOps from LRA's grammar (generated), or LRA's .tsv files under data_dir."""

    max_length: int = bounded(128, ge=3)  # tokens kept per expression, <cls> and <sep> included (LRA and FPT: 512)
    overlong: str = choice("truncate", "error")  # longer expressions: truncate (keep the start, as LRA) | error
    lra_task: str = "basic"  # data_dir files: <lra_task>_train.tsv, <lra_task>_val.tsv, <lra_task>_test.tsv (LRA's names)
    max_depth: int = bounded(4, ge=1)  # generated: deepest nesting (LRA: 10)
    max_args: int = bounded(5, ge=2)  # generated: most arguments of one operator (LRA: 10)
    min_expression_length: int = bounded(10, ge=0)  # generated: keep expressions longer than this (LRA: 500)
    max_expression_length: int = bounded(100, ge=2)  # generated: ... and shorter than this (LRA: 2000)
    num_train: int = bounded(2000, ge=1)  # generated training expressions (LRA: 96,000)
    num_eval: int = bounded(300, ge=1)  # generated valid and test expressions each (LRA: 2,000)

    def validate(self, run=None) -> None:
        if self.max_expression_length <= self.min_expression_length + 1:
            raise FieldError("max_expression_length", f"{self.max_expression_length} leaves no length strictly between it and "
                             f"min_expression_length={self.min_expression_length}")


class ListOpsTask(SymbolSequenceTask):
    """The value (0–9) of a ListOps expression; accuracy and macro-F1. Symbols enter through new embeddings."""

    Config = ListOpsConfig
    default_tokenizer = "listops"

    def __init__(self, cfg: ListOpsConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        self._generated: list[tuple[str, int]] | None = None

    def records(self, split: str) -> list[Record]:
        cfg = self.cfg
        if cfg.data_dir is not None:
            return listops.read_tsv(listops.split_path(Path(cfg.data_dir).expanduser(), split, cfg.lra_task))
        if self._generated is None:  # one stream of distinct expressions, cut into splits (no overlap), as LRA
            self._generated = listops.generate(cfg.num_train + 2 * cfg.num_eval, max_depth=cfg.max_depth, max_args=cfg.max_args,
                                               min_length=cfg.min_expression_length, max_length=cfg.max_expression_length,
                                               seed=cfg.data_seed)
        start = {"train": 0, "valid": cfg.num_train, "test": cfg.num_train + cfg.num_eval}[split]
        size = cfg.num_train if split == "train" else cfg.num_eval
        rows = self._generated[start : start + size]
        return [Record(text, str(target), f"generated ListOps {split} #{i}") for i, (text, target) in enumerate(rows)]

    @property
    def label_names(self) -> list[str]:
        return [str(d) for d in range(10)]  # every value, even one a small training split lacks


# side, channels, classes of each image set
IMAGE_SETS = {
    "digits": (8, 1, [str(d) for d in range(10)]),
    "mnist": (28, 1, [str(d) for d in range(10)]),
    "fashion_mnist": (28, 1, ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]),
    "cifar10": (32, 3, ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]),
}


@dataclass
class ImagePatchesConfig:
    """Images as a sequence of flattened patches (FPT's MNIST / CIFAR-10; patch_size 1 = one pixel per token, LRA)."""

    dataset: str = choice("digits", "fashion_mnist", "mnist", "cifar10")  # digits: scikit-learn's 8x8 | fashion_mnist: IDX (Debian dataset-fashion-mnist) | mnist: IDX | cifar10: python batches
    data_dir: str | None = None  # folder of the files; None: digits need none, fashion_mnist is read from /usr/share/datasets/fashion-mnist
    patch_size: int = bounded(4, ge=1)  # pixels per patch side (FPT: 4); divides the image side after downsampling
    grey: bool = False  # colour images to one luma channel (CIFAR-10 LRA is grey)
    downsample: int = bounded(1, ge=1)  # average-pool factor before patching (2: 28x28 -> 14x14); 1 = full size
    num_valid: int = bounded(5000, ge=1)  # mnist / fashion_mnist / cifar10: training images held out as the valid split
    limit_train: int | None = bounded(None, ge=1)  # keep at most this many training images (class-balanced, fixed by data_seed)
    limit_eval: int | None = bounded(None, ge=1)  # the same for valid and test
    data_seed: int = bounded(0, ge=0)  # seed of the splits of digits, of the held-out valid images, and of the limits

    def validate(self, run=None) -> None:
        side = IMAGE_SETS[self.dataset][0]
        if side % self.downsample or (side // self.downsample) % self.patch_size:
            raise FieldError("patch_size", f"{self.patch_size} does not divide the {side // self.downsample}-pixel side of "
                             f"{self.dataset} (after downsample={self.downsample})")
        if self.dataset in ("mnist", "cifar10") and self.data_dir is None:
            raise FieldError("data_dir", f"{self.dataset} is read from files you have; set task.data_dir "
                             "(mnist: the folder of its IDX files; cifar10: the unpacked cifar-10-batches-py folder)")


class ImagePatchesTask(VectorTask):
    """Class of an image from its patches; accuracy."""

    Config = ImagePatchesConfig

    def __init__(self, cfg: ImagePatchesConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        side, channels, self.label_names = IMAGE_SETS[cfg.dataset]
        channels = 1 if cfg.grey else channels
        side //= cfg.downsample
        self.input_size = cfg.patch_size**2 * channels
        self.sequence_length = (side // cfg.patch_size) ** 2
        self._images: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def _image_splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if self._images is not None:
            return self._images
        cfg = self.cfg
        rng = np.random.default_rng([cfg.data_seed, 7])
        if cfg.dataset == "digits":  # no official split: stratified 60 / 20 / 20 per class
            x, y = images.load_digits_images()
            parts: dict[str, list[int]] = {"train": [], "valid": [], "test": []}
            for label in np.unique(y):
                members = rng.permutation(np.flatnonzero(y == label))
                cut1, cut2 = int(0.6 * len(members)), int(0.8 * len(members))
                parts["train"] += members[:cut1].tolist()
                parts["valid"] += members[cut1:cut2].tolist()
                parts["test"] += members[cut2:].tolist()
            splits = {k: (x[np.sort(v)], y[np.sort(v)]) for k, v in parts.items()}
        else:
            read = images.read_cifar_split if cfg.dataset == "cifar10" else images.read_idx_split
            folder = cfg.data_dir or images.FASHION_MNIST_DIR
            x, y = read(folder, "train")
            held = rng.permutation(len(y))
            valid, train = np.sort(held[: cfg.num_valid]), np.sort(held[cfg.num_valid :])
            splits = {"train": (x[train], y[train]), "valid": (x[valid], y[valid]), "test": read(folder, "test")}
        self._images = {k: self._limit(k, *v) for k, v in splits.items()}
        return self._images

    def _limit(self, split: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        limit = self.cfg.limit_train if split == "train" else self.cfg.limit_eval
        if limit is None or limit >= len(y):
            return x, y
        rng = np.random.default_rng([self.cfg.data_seed, 8, SPLIT_OFFSETS[split]])
        pools = [list(rng.permutation(np.flatnonzero(y == c))) for c in np.unique(y)]
        chosen: list[int] = []
        while len(chosen) < limit:  # round robin over classes: balanced while every class has images left
            for pool in pools:
                if pool and len(chosen) < limit:
                    chosen.append(pool.pop())
        keep = np.sort(np.array(chosen))
        return x[keep], y[keep]

    def split_images(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """The split's images [N, H, W, C] in [0, 1] (after grey and downsample) and labels."""
        x, y = self._image_splits()[split]
        if self.cfg.grey:
            x = images.to_grey(x)
        return images.downsample(x, self.cfg.downsample), y

    def arrays(self, split: str) -> VectorSplit:
        x, y = self.split_images(split)
        return VectorSplit(images.patches(x, self.cfg.patch_size), y)
