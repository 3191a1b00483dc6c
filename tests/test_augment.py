import pytest
import torch

import ntkssl
from ntkssl.augment import Augmentation, augment_batch


def test_pairs_shapes_and_determinism(digits):
    a1, a2 = ntkssl.make_pairs(digits.X, 50, image_shape=(8, 8), seed=1)
    b1, b2 = ntkssl.make_pairs(digits.X, 50, image_shape=(8, 8), seed=1)
    c1, _ = ntkssl.make_pairs(digits.X, 50, image_shape=(8, 8), seed=2)
    assert a1.shape == a2.shape == (50, 64)
    assert torch.equal(a1, b1) and torch.equal(a2, b2) and not torch.equal(a1, c1)
    assert not torch.equal(a1, a2)                                  # two independent views
    assert torch.allclose((a1 * a1).mean(1), torch.ones(50), atol=1e-5)   # normalized after augmentation


def test_views_one_keeps_clean_sample(digits):
    X1, X2 = ntkssl.make_pairs(digits.X, 30, image_shape=(8, 8), views="one", seed=0)
    idx = torch.randperm(digits.X.shape[0], generator=torch.Generator().manual_seed(0))[:30]
    assert torch.allclose(X1, digits.X[idx], atol=1e-6)
    assert not torch.allclose(X2, X1)


def test_shift_only_is_an_integer_translation():
    torch.manual_seed(0)
    X = ntkssl.normalize_samples(torch.randn(40, 64, dtype=torch.float64))
    aug = Augmentation(shift=1, rotation=0.0, noise=0.0, erase_prob=0.0)
    out = augment_batch(X, aug, image_shape=(8, 8), generator=torch.Generator().manual_seed(0))
    imgs = X.reshape(40, 8, 8)
    for i in range(40):
        candidates = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                shifted = torch.zeros(8, 8, dtype=X.dtype)
                src = imgs[i]
                ys, yd = (slice(0, 8 - dy), slice(dy, 8)) if dy >= 0 else (slice(-dy, 8), slice(0, 8 + dy))
                xs, xd = (slice(0, 8 - dx), slice(dx, 8)) if dx >= 0 else (slice(-dx, 8), slice(0, 8 + dx))
                shifted[yd, xd] = src[ys, xs]
                candidates.append(ntkssl.normalize_samples(shifted.reshape(1, 64))[0])
        assert min(float((out[i] - c).abs().max()) for c in candidates) < 1e-9


def test_erasing_zeroes_a_patch():
    X = ntkssl.normalize_samples(torch.randn(20, 64, dtype=torch.float64) + 5)
    aug = Augmentation(shift=0, rotation=0.0, noise=0.0, erase_prob=1.0, erase_size=3)
    g = torch.Generator().manual_seed(0)
    out = augment_batch(X, aug, image_shape=(8, 8), generator=g)
    # before renormalization the erased pixels were exactly 0: after it they share one value per row
    for row in out:
        vals, counts = torch.unique(row, return_counts=True)
        assert counts.max() >= 9


def test_non_image_masking_and_noise():
    X = ntkssl.normalize_samples(torch.randn(100, 30))
    X1, X2 = ntkssl.make_pairs(X, 100, augment="noise", seed=0)
    corr = torch.nn.functional.cosine_similarity(X1, X2).mean()
    assert 0.5 < float(corr) < 0.999


def test_bad_inputs(digits):
    with pytest.raises(ValueError, match="n_pairs=5000 exceeds the 1797"):
        ntkssl.make_pairs(digits.X, 5000)
    with pytest.raises(ValueError, match="Unknown augmentation 'blur'"):
        ntkssl.make_pairs(digits.X, 10, augment="blur")
    with pytest.raises(ValueError, match="Unknown augmentation parameter"):
        ntkssl.make_pairs(digits.X, 10, augment={"zoom": 2})
    with pytest.raises(ValueError, match="Expected X to be a 2D tensor"):
        ntkssl.make_pairs(digits.X.reshape(-1, 8, 8), 10)
    with pytest.raises(ValueError, match="NaN"):
        ntkssl.make_pairs(torch.full((4, 4), float("nan")), 2)
    with pytest.raises(ValueError, match="image_shape"):
        ntkssl.make_pairs(digits.X, 10, image_shape=(7, 7))
    with pytest.raises(ValueError, match="Unknown views"):
        ntkssl.make_pairs(digits.X, 10, views="three")
    X1, X2 = ntkssl.make_pairs(digits.X, 5000, replace=True)
    assert X1.shape == (5000, 64)
