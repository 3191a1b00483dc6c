"""Positive pairs by random augmentation (SPEC §1), vectorized over the batch.

Image views: a random affine warp (translation by up to ``shift`` pixels and rotation by up to
``rotation`` degrees, one ``grid_sample`` call for the whole batch), additive Gaussian noise and
random erasing of a square patch (a broadcast mask). Non-image views: Gaussian noise and random
feature masking. Views are normalized per sample after augmentation, like the clean data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
import torch.nn.functional as F

from ._checks import as_tensor, check_choice, check_int, check_positive_int, check_real
from .data import normalize_samples

AUGMENTATIONS = ("default", "none", "noise")
VIEWS = ("both", "one")


@dataclass(frozen=True)
class Augmentation:
    """Parameters of the random view distribution.

    shift: max translation in pixels (integer shifts, uniform in [−shift, shift] per axis).
    rotation: max rotation in degrees (uniform in [−rotation, rotation]).
    noise: std of additive Gaussian noise (inputs have unit per-feature scale).
    erase_prob, erase_size: probability of erasing one square patch of side ``erase_size`` px.
    mask_prob: for non-image data, probability that each feature is set to 0.
    """

    shift: int = 1
    rotation: float = 10.0
    noise: float = 0.1
    erase_prob: float = 0.5
    erase_size: int = 3
    mask_prob: float = 0.1

    def __post_init__(self):
        check_int("shift", self.shift, minimum=0)
        check_real("rotation", self.rotation, low=0.0, high=180.0)
        check_real("noise", self.noise, low=0.0)
        check_real("erase_prob", self.erase_prob, low=0.0, high=1.0)
        check_int("erase_size", self.erase_size, minimum=0)
        check_real("mask_prob", self.mask_prob, low=0.0, high=1.0, high_open=True)

    @classmethod
    def for_images(cls, image_shape) -> "Augmentation":
        """Defaults scaled to the image side: shift ≈ side/8, erased patch ≈ 0.3·side."""
        side = min(image_shape)
        return cls(shift=max(1, round(side / 8)), erase_size=max(1, round(0.3 * side)))


NO_AUGMENTATION = Augmentation(shift=0, rotation=0.0, noise=0.0, erase_prob=0.0, erase_size=0, mask_prob=0.0)


def resolve_augmentation(augment, image_shape) -> Augmentation:
    """Turn the ``augment`` argument (name, dict of fields, or Augmentation) into an Augmentation."""
    if isinstance(augment, Augmentation):
        return augment
    base = Augmentation.for_images(image_shape) if image_shape is not None else Augmentation()
    if isinstance(augment, dict):
        valid = {f.name for f in fields(Augmentation)}
        unknown = set(augment) - valid
        if unknown:
            raise ValueError(f"Unknown augmentation parameter(s) {sorted(unknown)}; valid ones are {sorted(valid)}.")
        return replace(base, **augment)
    if not isinstance(augment, str):
        raise TypeError(f"augment must be a name, a dict or an Augmentation, got {type(augment).__name__}.")
    check_choice("augmentation", augment, AUGMENTATIONS)
    if augment == "none":
        return NO_AUGMENTATION
    if augment == "noise":
        return replace(NO_AUGMENTATION, noise=base.noise, mask_prob=base.mask_prob)
    return base


def augment_batch(X: torch.Tensor, aug: Augmentation, *, image_shape=None,
                  generator: torch.Generator) -> torch.Tensor:
    """One random view of every row of ``X`` (N, d); returns normalized views (N, d)."""
    N, d = X.shape
    out = X
    if image_shape is not None:
        H, W = image_shape
        if H * W != d:
            raise ValueError(f"image_shape={tuple(image_shape)} has {H * W} pixels but X has d={d} features.")
        imgs = X.reshape(N, 1, H, W)                                               # (N, 1, H, W)
        if aug.shift > 0 or aug.rotation > 0:
            angle = (torch.rand(N, generator=generator, dtype=X.dtype) * 2 - 1) * math.radians(aug.rotation)
            shifts = torch.randint(-aug.shift, aug.shift + 1, (N, 2), generator=generator).to(X.dtype)
            cos, sin = torch.cos(angle), torch.sin(angle)
            theta = torch.stack([torch.stack([cos, -sin, 2 * shifts[:, 0] / W], 1),
                                 torch.stack([sin, cos, 2 * shifts[:, 1] / H], 1)], 1)  # (N, 2, 3)
            grid = F.affine_grid(theta, (N, 1, H, W), align_corners=False)
            imgs = F.grid_sample(imgs, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if aug.erase_prob > 0 and aug.erase_size > 0:
            e = min(aug.erase_size, H, W)
            r0 = torch.randint(0, H - e + 1, (N, 1, 1), generator=generator)
            c0 = torch.randint(0, W - e + 1, (N, 1, 1), generator=generator)
            on = torch.rand(N, 1, 1, generator=generator) < aug.erase_prob
            rows = torch.arange(H).view(1, H, 1)
            cols = torch.arange(W).view(1, 1, W)
            patch = (rows >= r0) & (rows < r0 + e) & (cols >= c0) & (cols < c0 + e) & on  # (N, H, W)
            imgs = imgs.masked_fill(patch.unsqueeze(1), 0.0)
        out = imgs.reshape(N, d)
    elif aug.mask_prob > 0:
        keep = torch.rand(N, d, generator=generator) >= aug.mask_prob
        out = out * keep.to(X.dtype)
    if aug.noise > 0:
        out = out + aug.noise * torch.randn(N, d, generator=generator, dtype=X.dtype)
    return normalize_samples(out, name="augmented views")


def make_pairs(X, n_pairs: int, *, image_shape=None, augment="default", views: str = "both",
               seed: int = 0, replace: bool = False):
    """Draw ``n_pairs`` positive pairs (x_i, x_i⁺) from the clean samples ``X`` (N, d).

    ``views="both"``: x_i and x_i⁺ are independent augmentations of the same clean sample;
    ``views="one"``: x_i is the clean sample and x_i⁺ its augmentation. Samples are drawn
    without replacement unless ``replace=True``. Deterministic for a given ``seed``.

    Returns (X1, X2), each (n_pairs, d), normalized per sample.
    """
    X = as_tensor("X", X)
    n_pairs = check_positive_int("n_pairs", n_pairs)
    check_choice("views", views, VIEWS)
    if image_shape is not None:
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 2 or image_shape[0] * image_shape[1] != X.shape[1]:
            raise ValueError(f"image_shape={image_shape} does not match X with d={X.shape[1]} features; "
                             "pass (height, width) with height*width == d, or None for non-image data.")
    aug = resolve_augmentation(augment, image_shape)
    N = X.shape[0]
    g = torch.Generator().manual_seed(int(seed))
    if replace:
        idx = torch.randint(0, N, (n_pairs,), generator=g)
    else:
        if n_pairs > N:
            raise ValueError(f"n_pairs={n_pairs} exceeds the {N} available samples when sampling without "
                             "replacement; lower n_pairs or pass replace=True.")
        idx = torch.randperm(N, generator=g)[:n_pairs]
    clean = X[idx]
    X2 = augment_batch(clean, aug, image_shape=image_shape, generator=g)
    X1 = normalize_samples(clean) if views == "one" else augment_batch(clean, aug, image_shape=image_shape, generator=g)
    return X1, X2

