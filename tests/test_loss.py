import pytest
import torch

import ntkssl
from ntkssl.loss import output_gradient


def reference_barlow_twins(z1, z2, lambd):
    """facebookresearch/barlowtwins main.py (BarlowTwins.forward), with bn = BatchNorm1d(affine=False)
    in training mode and batch_size = n."""
    bn = torch.nn.BatchNorm1d(z1.shape[1], affine=False).to(z1.dtype)
    bn.train()
    c = bn(z1).T @ bn(z2)
    c.div_(z1.shape[0])

    def off_diagonal(x):
        n, m = x.shape
        return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()

    on_diag = torch.diagonal(c).add_(-1).pow_(2).sum()
    off_diag = off_diagonal(c).pow_(2).sum()
    return on_diag + lambd * off_diag


@pytest.fixture
def zs():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(32, 6, generator=g, dtype=torch.float64),
            torch.randn(32, 6, generator=g, dtype=torch.float64))


def test_paper_preset_is_frobenius(zs):
    z1, z2 = zs
    C = z1.T @ z2 / 32
    assert torch.allclose(ntkssl.barlow_twins_loss(z1, z2, preset="paper"), ((C - torch.eye(6)) ** 2).sum())
    assert torch.allclose(ntkssl.barlow_twins_loss(z1, z2), ((C - torch.eye(6)) ** 2).sum())


def test_original_preset_matches_reference(zs):
    z1, z2 = zs
    ours = ntkssl.barlow_twins_loss(z1, z2, preset="original")
    assert torch.allclose(ours, reference_barlow_twins(z1, z2, 0.0051), rtol=1e-12)


def test_original_preset_invariant_to_affine_map(zs):
    z1, z2 = zs
    scale = torch.rand(6, dtype=torch.float64) * 3 + 0.5
    shift = torch.randn(6, dtype=torch.float64) * 4
    a = ntkssl.barlow_twins_loss(z1, z2, preset="original")
    b = ntkssl.barlow_twins_loss(z1 * scale + shift, z2, preset="original")
    # batch-norm's eps (1e-5 added to the variance) breaks exact invariance at the 1e-5 relative level
    assert torch.allclose(a, b, rtol=1e-4)


def test_gradcheck(zs):
    z1, z2 = (z.clone().requires_grad_(True) for z in zs)
    for kw in ({"preset": "paper"}, {"preset": "original"}, {"lambd": 0.3, "symmetric": True}):
        assert torch.autograd.gradcheck(lambda a, b: ntkssl.barlow_twins_loss(a, b, **kw), (z1, z2))


def test_output_gradient_formula(zs):
    z1, z2 = (z.clone().requires_grad_(True) for z in zs)
    g1, g2 = torch.autograd.grad(ntkssl.barlow_twins_loss(z1, z2), (z1, z2))
    f1, f2 = output_gradient(z1.detach(), z2.detach())
    assert torch.allclose(g1, f1, atol=1e-14) and torch.allclose(g2, f2, atol=1e-14)


def test_symmetric_uses_symmetrized_C(zs):
    z1, z2 = zs
    C = z1.T @ z2 / 32
    S = (C + C.T) / 2
    assert torch.allclose(ntkssl.barlow_twins_loss(z1, z2, symmetric=True), ((S - torch.eye(6)) ** 2).sum())


def test_bad_inputs(zs):
    z1, z2 = zs
    with pytest.raises(ValueError, match="Unknown loss preset 'simclr'"):
        ntkssl.barlow_twins_loss(z1, z2, preset="simclr")
    with pytest.raises(ValueError, match="same shape"):
        ntkssl.barlow_twins_loss(z1, z2[:5])
    with pytest.raises(ValueError, match="2D"):
        ntkssl.barlow_twins_loss(z1[0], z2[0])
    with pytest.raises(ValueError, match="Unknown normalize"):
        ntkssl.barlow_twins_loss(z1, z2, normalize="layernorm")
