"""Data sets: scikit-learn's digits (embedded default), MNIST from local IDX files, synthetic.

Every sample is normalized as in SPEC §1,

    x ← (x − mean(x)) / std(x)      (mean and biased std over the d features),

so that ‖x‖²/d = 1 exactly: the inputs are bounded, as the theory assumes, and every
input has the same norm, which the analytic NTK's fast path exploits.
"""
from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._checks import as_tensor, check_choice, check_positive_int

DATASETS = ("digits", "mnist", "synthetic")

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass
class Dataset:
    """A normalized data set: ``X`` (N, d) float, ``y`` (N,) long, ``image_shape`` or None."""

    X: torch.Tensor
    y: torch.Tensor
    image_shape: tuple[int, int] | None
    name: str

    def __len__(self) -> int:
        return self.X.shape[0]

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, N={self.X.shape[0]}, d={self.X.shape[1]}, "
                f"image_shape={self.image_shape}, classes={int(self.y.max()) + 1 if len(self.y) else 0})")


def normalize_samples(X, *, name: str = "X") -> torch.Tensor:
    """Per-sample standardization x ← (x − mean x) / std x (biased std over features).

    Afterwards every row has mean 0 and ‖x‖²/d = 1 exactly (up to rounding).
    A constant row (std 0) cannot be normalized and is refused.
    """
    X = as_tensor(name, X)
    mean = X.mean(dim=1, keepdim=True)
    std = X.std(dim=1, unbiased=False, keepdim=True)
    bad = (std.squeeze(1) <= torch.finfo(X.dtype).eps * (1 + mean.abs().squeeze(1)))
    if bool(bad.any()):
        rows = torch.nonzero(bad).flatten()[:5].tolist()
        raise ValueError(
            f"{name} has {int(bad.sum())} constant sample(s) (std 0 over features), e.g. rows {rows}; "
            "per-sample normalization x <- (x - mean)/std is undefined for them. Remove these samples."
        )
    return (X - mean) / std


def load_dataset(name: str = "digits", *, data_dir=None, n: int | None = None, seed: int = 0,
                 split: str = "train", n_classes: int = 10, dim: int = 64,
                 dtype: torch.dtype = torch.float32) -> Dataset:
    """Load a data set, normalized per sample.

    Parameters
    ----------
    name : {"digits", "mnist", "synthetic"}
        ``digits``: scikit-learn's 1,797 8×8 digit images (ships with scikit-learn, no download).
        ``mnist``: the standard IDX files (gzipped or not) found in ``data_dir``.
        ``synthetic``: a Gaussian mixture with ``n_classes`` classes in dimension ``dim``.
    data_dir : path, required for ``mnist``.
    n : keep a random subset of ``n`` samples (chosen with ``seed``); all when None.
        For ``synthetic`` it is the number of samples drawn (default 2,000).
    split : {"train", "test"} for MNIST.
    """
    check_choice("dataset name", name, DATASETS)
    if n is not None:
        check_positive_int("n", n)
    if name == "digits":
        from sklearn.datasets import load_digits

        raw = load_digits()
        X, y, shape = raw.data.astype(np.float64), raw.target, (8, 8)
    elif name == "mnist":
        check_choice("split", split, tuple(MNIST_FILES))
        X, y = read_mnist(data_dir, split=split)
        shape = (28, 28)
    else:
        X, y = _synthetic(n or 2000, n_classes=n_classes, dim=dim, seed=seed)
        shape = None
    X = torch.as_tensor(X, dtype=torch.float64)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    if n is not None and name != "synthetic":
        if n > X.shape[0]:
            raise ValueError(f"n={n} exceeds the {X.shape[0]} samples of {name!r}; pass n <= {X.shape[0]} or n=None.")
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(X.shape[0], generator=g)[:n]
        X, y = X[idx], y[idx]
    X = normalize_samples(X, name=f"{name} data").to(dtype)
    return Dataset(X=X, y=y, image_shape=shape, name=name)


def _synthetic(n: int, *, n_classes: int, dim: int, seed: int):
    check_positive_int("n_classes", n_classes)
    check_positive_int("dim", dim)
    if dim < 2:
        raise ValueError(f"dim must be >= 2 for per-sample normalization, got {dim}.")
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, dim)) * 1.5
    y = rng.integers(0, n_classes, size=n)
    X = centers[y] + rng.standard_normal((n, dim))
    return X, y


# ---------------------------------------------------------------- MNIST IDX files
def _open_idx(path: Path):
    with open(path, "rb") as fh:
        head = fh.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def read_idx(path) -> np.ndarray:
    """Read one IDX file (the MNIST format): magic 0x0000 08 ndim, big-endian sizes, uint8 data."""
    path = Path(path)
    try:
        with _open_idx(path) as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"Cannot read IDX file {path}: {exc}. The file is corrupt; download it again.") from None
    if len(raw) < 4:
        raise ValueError(f"IDX file {path} is truncated ({len(raw)} bytes); download it again.")
    zero, dtype_code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00" or dtype_code != 0x08 or ndim not in (1, 3):
        magic = int.from_bytes(raw[:4], "big")
        raise ValueError(
            f"IDX file {path} has bad magic number 0x{magic:08x}; expected 0x00000801 (labels) or "
            "0x00000803 (images). It is not an MNIST IDX file or it is corrupt."
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"IDX file {path} is truncated inside its header; download it again.")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise ValueError(
            f"IDX file {path} has wrong length: header promises {expected} bytes of data for shape {dims}, "
            f"found {len(raw) - header}. The file is truncated or corrupt; download it again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(data_dir: Path, stem: str) -> Path | None:
    for cand in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (data_dir / cand).is_file():
            return data_dir / cand
    return None


def read_mnist(data_dir, *, split: str = "train"):
    """Read MNIST images (N, 784) as float and labels (N,) from the standard IDX files."""
    if data_dir is None:
        raise ValueError("data_dir is required for the 'mnist' data set: pass the directory holding the IDX files, "
                         f"e.g. data_dir='~/data/mnist' (files: {', '.join(sum(MNIST_FILES.values(), ()))}).")
    data_dir = Path(os.path.expanduser(str(data_dir)))
    img_stem, lab_stem = MNIST_FILES[split]
    paths = [_find(data_dir, s) for s in (img_stem, lab_stem)]
    if any(p is None for p in paths):
        expected = ", ".join(f"{s} (or {s}.gz)" for s in (img_stem, lab_stem))
        raise FileNotFoundError(
            f"MNIST {split} files not found in directory {data_dir.resolve()}: expected {expected}. "
            "Place the standard IDX files there or pass --data-dir pointing to them."
        )
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3:
        raise ValueError(f"IDX file {paths[0]} holds a {images.ndim}D array; expected 3D images (N, rows, cols).")
    if labels.ndim != 1:
        raise ValueError(f"IDX file {paths[1]} holds a {labels.ndim}D array; expected 1D labels.")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{paths[0]} has {images.shape[0]} images but {paths[1]} has {labels.shape[0]} labels.")
    return images.reshape(images.shape[0], -1).astype(np.float64), labels.astype(np.int64)


def write_idx(path, array: np.ndarray, *, compress: bool = False) -> None:
    """Write a uint8 array as an IDX file (used by tests to build small MNIST-like files)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as fh:
        fh.write(header + array.tobytes())
