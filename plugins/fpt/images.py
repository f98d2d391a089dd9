"""Image readers and patching: scikit-learn's digits, MNIST-style IDX files (Fashion-MNIST from Debian), CIFAR-10 batches.

Every reader returns ``(images, labels)``: uint8-range floats [N, H, W, C] in [0, 1] and int64 labels.
:func:`patches` turns images into the FPT input: non-overlapping ``p × p`` patches, each flattened
(row-major, channels last) into one vector of ``p·p·C`` values, patches in reading order.
"""

from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path

import numpy as np

from ssl_universal.errors import ConfigError, DataError

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
IDX_SPLITS = {"train": "train", "test": "t10k"}
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = ("test_batch",)


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits (8 × 8, values 0–16, shipped inside scikit-learn)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    return images, digits.target.astype(np.int64)


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX array (the MNIST file format; gzip-compressed when the name ends in .gz)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (its first bytes are {data[:4].hex()}, expected 0000 + type code + dimensions)")
    dims = data[3]
    header = 4 + 4 * dims
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(f"{path}: the header says shape {shape} ({expected} bytes) but {len(data) - header} bytes follow; "
                        "the file is truncated or not IDX")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def idx_file(folder: Path, stem: str) -> Path:
    """``stem-idx3-ubyte`` in ``folder``, gzipped or not, with ``-`` or ``.`` before ``idx``."""
    names = [f"{stem}{sep}{ext}" for sep in ("-", ".") for ext in (stem_type(stem), stem_type(stem) + ".gz")]
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"no {stem} IDX file in {folder}: tried {', '.join(names)}")


def stem_type(stem: str) -> str:
    return "idx3-ubyte" if stem.endswith("images") else "idx1-ubyte"


def read_idx_split(folder: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST / Fashion-MNIST ``train`` (60,000) or ``test`` (10,000) images and labels from IDX files."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder of IDX files (Fashion-MNIST: `apt-get install dataset-fashion-mnist` "
                        f"puts them in {FASHION_MNIST_DIR}; MNIST: set task.data_dir to the folder of its four files)")
    prefix = IDX_SPLITS[split]
    image_path, label_path = idx_file(folder, f"{prefix}-images"), idx_file(folder, f"{prefix}-labels")
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(f"{image_path}: expected images [N, H, W] and labels [N]; got {images.shape} and {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{image_path} has {len(images)} images but {label_path} has {len(labels)} labels")
    return (images.astype(np.float32) / 255.0)[..., None], labels.astype(np.int64)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles the dicts, lists, bytes and NumPy arrays of a CIFAR batch and nothing else (no code runs)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch (``data_batch_1`` ... ``test_batch``): images [N, 32, 32, 3] and labels."""
    path = Path(path)
    try:
        batch = _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DataError(f"{path}: not a CIFAR-10 python batch ({exc})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{path}: expected a dict with b'data' and b'labels' (the CIFAR-10 python version)")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise DataError(f"{path}: expected data [N, 3072] and N labels; got {data.shape} and {labels.shape}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / 255.0
    return images, labels


def read_cifar_split(folder: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 ``train`` (the five data batches, 50,000) or ``test`` (10,000) from ``cifar-10-batches-py``."""
    folder = Path(folder).expanduser()
    names = CIFAR_TRAIN if split == "train" else CIFAR_TEST
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DataError(f"{folder}: missing CIFAR-10 batch file(s) {', '.join(missing)}; set task.data_dir to the "
                        "unpacked cifar-10-batches-py folder")
    parts = [read_cifar_batch(folder / n) for n in names]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def to_grey(images: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of RGB images [N, H, W, 3] → [N, H, W, 1] (CIFAR-10 LRA is grey)."""
    if images.shape[-1] == 1:
        return images
    return (images @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]


def downsample(images: np.ndarray, factor: int) -> np.ndarray:
    """Average over ``factor × factor`` blocks (a smaller image for a CPU budget)."""
    if factor == 1:
        return images
    n, h, w, c = images.shape
    if h % factor or w % factor:
        raise ConfigError(f"task.downsample={factor} does not divide the {h}x{w} images")
    return images.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def patches(images: np.ndarray, patch_size: int) -> np.ndarray:
    """[N, H, W, C] → [N, (H/p)·(W/p), p·p·C]: patches in reading order, each row-major with channels last."""
    n, h, w, c = images.shape
    p = patch_size
    if h % p or w % p:
        raise ConfigError(f"task.patch_size={p} does not divide the {h}x{w} images; choose a divisor of {h}")
    blocks = images.reshape(n, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
    return np.ascontiguousarray(blocks.reshape(n, (h // p) * (w // p), p * p * c), dtype=np.float32)
