"""Image readers and patches: digits, IDX (Fashion-MNIST from Debian when installed, and files made here), CIFAR-10 batches."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from ssl_universal.errors import ConfigError, DataError
from ssl_universal_plugins.fpt import images
from ssl_universal_plugins.fpt.tasks import ImagePatchesConfig, ImagePatchesTask


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_patches_are_row_major_blocks_in_reading_order():
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    out = images.patches(image, 2)
    assert out.shape == (1, 4, 4)
    assert out[0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    rgb = np.arange(2 * 2 * 3, dtype=np.float32).reshape(1, 2, 2, 3)
    assert images.patches(rgb, 1)[0, 1].tolist() == [3, 4, 5]  # one pixel, its three channels
    with pytest.raises(ConfigError, match="patch_size=3 does not divide the 4x4"):
        images.patches(image, 3)


def test_grey_and_downsample():
    rgb = np.ones((1, 4, 4, 3), dtype=np.float32) * np.array([1.0, 0.0, 0.0], dtype=np.float32)
    assert np.allclose(images.to_grey(rgb), 0.299)
    blocks = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    assert images.downsample(blocks, 2)[0, :, :, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]


def test_digits_splits_shapes_and_label_counts():
    x, y = images.load_digits_images()
    assert x.shape == (1797, 8, 8, 1) and 0 <= x.min() and x.max() == 1.0
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    task = ImagePatchesTask(ImagePatchesConfig(dataset="digits", patch_size=2))
    assert (task.input_size, task.sequence_length, task.num_labels) == (4, 16, 10)
    sizes = {s: len(task.dataset(s)) for s in ("train", "valid", "test")}
    assert sum(sizes.values()) == 1797 and sizes["train"] == sum(int(0.6 * n) for n in np.bincount(y))
    assert task.dataset("train").inputs.shape == (sizes["train"], 16, 4)
    assert np.array_equal(task.dataset("train").inputs, ImagePatchesTask(ImagePatchesConfig(dataset="digits", patch_size=2)).dataset("train").inputs)
    other = ImagePatchesTask(ImagePatchesConfig(dataset="digits", patch_size=2, data_seed=1))
    assert not np.array_equal(task.dataset("train").labels, other.dataset("train").labels)  # the split follows data_seed
    assert np.bincount(task.dataset("test").labels, minlength=10).min() >= 35


def test_idx_reader_on_files_made_here(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (30, 28, 28)), compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(30) % 10, compress=True)
    write_idx(tmp_path / "t10k-images.idx3-ubyte", rng.integers(0, 256, (10, 28, 28)))
    write_idx(tmp_path / "t10k-labels.idx1-ubyte", np.arange(10))
    x, y = images.read_idx_split(tmp_path, "train")
    assert x.shape == (30, 28, 28, 1) and x.max() <= 1.0 and np.bincount(y).tolist() == [3] * 10
    task = ImagePatchesTask(ImagePatchesConfig(dataset="mnist", data_dir=str(tmp_path), patch_size=4, num_valid=10))
    assert [len(task.dataset(s)) for s in ("train", "valid", "test")] == [20, 10, 10]
    assert task.dataset("valid").inputs.shape == (10, 49, 16)
    write_idx(tmp_path / "t10k-labels.idx1-ubyte", np.arange(9))
    with pytest.raises(DataError, match="has 10 images but .*t10k-labels.idx1-ubyte has 9 labels"):
        images.read_idx_split(tmp_path, "test")
    (tmp_path / "broken").write_bytes(b"\x00\x00\x08\x03" + (5).to_bytes(4, "big") * 3 + b"\x00" * 7)
    with pytest.raises(DataError, match=r"broken: the header says shape \(5, 5, 5\)"):
        images.read_idx(tmp_path / "broken")
    (tmp_path / "zip").write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="zip: not an IDX file"):
        images.read_idx(tmp_path / "zip")


@pytest.mark.skipif(not Path(images.FASHION_MNIST_DIR).is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian_has_60k_10k_images_of_ten_balanced_classes():
    x, y = images.read_idx_split(images.FASHION_MNIST_DIR, "train")
    assert x.shape == (60000, 28, 28, 1) and np.bincount(y).tolist() == [6000] * 10
    x, y = images.read_idx_split(images.FASHION_MNIST_DIR, "test")
    assert x.shape == (10000, 28, 28, 1) and np.bincount(y).tolist() == [1000] * 10
    task = ImagePatchesTask(ImagePatchesConfig(dataset="fashion_mnist", patch_size=4, limit_train=100, limit_eval=50))
    assert (task.input_size, task.sequence_length) == (16, 49)
    assert np.bincount(task.dataset("train").labels).tolist() == [10] * 10  # class-balanced limit
    assert len(task.dataset("valid")) == len(task.dataset("test")) == 50
    lra = ImagePatchesTask(ImagePatchesConfig(dataset="fashion_mnist", patch_size=1, downsample=2, limit_train=10, limit_eval=10))
    assert lra.dataset("train").inputs.shape == (10, 196, 1)


def test_cifar_batches_read_and_a_pickle_with_code_is_refused(tmp_path):
    rng = np.random.default_rng(1)
    for name, count in [*((f"data_batch_{i}", 4) for i in range(1, 6)), ("test_batch", 3)]:
        batch = {b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8), b"labels": list(range(count))}
        (tmp_path / name).write_bytes(pickle.dumps(batch))
    x, y = images.read_cifar_split(tmp_path, "train")
    assert x.shape == (20, 32, 32, 3) and y.tolist() == [0, 1, 2, 3] * 5
    raw = pickle.loads((tmp_path / "test_batch").read_bytes())[b"data"][0]
    test_x, _ = images.read_cifar_split(tmp_path, "test")
    assert np.isclose(test_x[0, 0, 1, 2], raw[2 * 1024 + 1] / 255.0)  # channel-major rows -> [H, W, C]
    task = ImagePatchesTask(ImagePatchesConfig(dataset="cifar10", data_dir=str(tmp_path), patch_size=4, num_valid=5, grey=True))
    assert task.dataset("train").inputs.shape == (15, 64, 16)

    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        images.read_cifar_split(tmp_path, "test")
