import gzip

import numpy as np
import pytest
import torch

import ntkssl
from ntkssl.data import read_idx, write_idx


def test_digits_normalized_per_sample(digits64):
    X = digits64.X
    assert X.shape == (1797, 64) and digits64.image_shape == (8, 8)
    assert torch.allclose(X.mean(1), torch.zeros(1797, dtype=X.dtype), atol=1e-12)
    assert torch.allclose((X * X).sum(1) / 64, torch.ones(1797, dtype=X.dtype), atol=1e-12)
    assert digits64.y.dtype == torch.long and set(digits64.y.tolist()) == set(range(10))


def test_subset_is_seeded():
    a = ntkssl.load_dataset("digits", n=100, seed=3)
    b = ntkssl.load_dataset("digits", n=100, seed=3)
    c = ntkssl.load_dataset("digits", n=100, seed=4)
    assert torch.equal(a.X, b.X) and not torch.equal(a.X, c.X)


def test_synthetic():
    ds = ntkssl.load_dataset("synthetic", n=300, n_classes=4, dim=20)
    assert ds.X.shape == (300, 20) and ds.image_shape is None and ds.y.max() == 3


def test_constant_sample_refused():
    with pytest.raises(ValueError, match="constant sample"):
        ntkssl.normalize_samples(torch.ones(3, 5))


def test_unknown_dataset():
    with pytest.raises(ValueError, match="Unknown dataset name 'cifar'.*digits"):
        ntkssl.load_dataset("cifar")


def _write_mnist(tmp_path, n=20, compress=False, split="train"):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    stem_i, stem_l = ("train", "train") if split == "train" else ("t10k", "t10k")
    suffix = ".gz" if compress else ""
    write_idx(tmp_path / f"{stem_i}-images-idx3-ubyte{suffix}", imgs, compress=compress)
    write_idx(tmp_path / f"{stem_l}-labels-idx1-ubyte{suffix}", labels, compress=compress)
    return imgs, labels


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_idx(tmp_path, compress):
    imgs, labels = _write_mnist(tmp_path, compress=compress)
    ds = ntkssl.load_dataset("mnist", data_dir=tmp_path)
    assert ds.X.shape == (20, 784) and ds.image_shape == (28, 28)
    assert ds.y.tolist() == labels.tolist()
    raw = imgs.reshape(20, -1).astype(np.float64)
    expect = (raw - raw.mean(1, keepdims=True)) / raw.std(1, keepdims=True)
    assert np.allclose(ds.X.numpy(), expect, atol=1e-5)


def test_mnist_missing_files_lists_names(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        ntkssl.load_dataset("mnist", data_dir=tmp_path)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg and str(tmp_path.resolve()) in msg


def test_mnist_bad_magic_names_file(tmp_path):
    _write_mnist(tmp_path)
    p = tmp_path / "train-images-idx3-ubyte"
    data = bytearray(p.read_bytes())
    data[2] = 0x0D
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*magic"):
        ntkssl.load_dataset("mnist", data_dir=tmp_path)


def test_mnist_truncated_names_file(tmp_path):
    _write_mnist(tmp_path)
    p = tmp_path / "train-labels-idx1-ubyte"
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*wrong length"):
        ntkssl.load_dataset("mnist", data_dir=tmp_path)


def test_read_idx_truncated_gzip(tmp_path):
    p = tmp_path / "x.gz"
    with gzip.open(p, "wb") as fh:
        fh.write(bytes([0, 0, 8, 1, 0, 0, 0, 9]) + b"abc")
    with pytest.raises(ValueError, match="x.gz"):
        read_idx(p)
