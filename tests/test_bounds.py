import math

import numpy as np
import pytest
import torch

import ntkssl
from ntkssl.bounds import hilbert_deviation


def test_formula_hand_picked_values():
    # 2·B²·(B²κ² + √K)·κ²·(1 + √(2 log(1/δ)))/√n with B=1, κ²=1, K=4, n=100, δ=e^{-1/2}: 2·(1+2)·1·2/10
    assert math.isclose(ntkssl.generalization_bound(100, B=1.0, kappa2=1.0, n_components=4, delta=math.exp(-0.5)),
                        1.2, rel_tol=1e-12)
    b = ntkssl.generalization_bound(64, B=2.0, kappa2=0.5, n_components=9, delta=0.05)
    assert math.isclose(b, 2 * 4 * (4 * 0.5 + 3) * 0.5 * (1 + math.sqrt(2 * math.log(20))) / 8, rel_tol=1e-12)
    assert ntkssl.generalization_bound(10, B=0.0, kappa2=1.0, n_components=2) == 0.0


def test_bound_scales_as_inverse_sqrt_n():
    b = [ntkssl.generalization_bound(n, B=1.5, kappa2=2.0, n_components=5) for n in (100, 400, 1600)]
    assert math.isclose(b[0] / b[1], 2.0, rel_tol=1e-12) and math.isclose(b[1] / b[2], 2.0, rel_tol=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="n must be a positive"):
        ntkssl.generalization_bound(0, B=1.0, kappa2=1.0, n_components=2)
    with pytest.raises(ValueError, match="B must lie in"):
        ntkssl.generalization_bound(10, B=-1.0, kappa2=1.0, n_components=2)
    for delta in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"delta must lie in the open interval \(0, 1\)"):
            ntkssl.generalization_bound(10, B=1.0, kappa2=1.0, n_components=2, delta=delta)
    with pytest.raises(ValueError, match="n_components"):
        ntkssl.generalization_bound(10, B=1.0, kappa2=1.0, n_components=0)


def test_kernel_sup(digits64):
    X = digits64.X[:100]
    for name in ("ntk-tanh", "ntk-erf", "ntk-relu", "linear"):
        assert ntkssl.kernel_sup(name, X) <= ntkssl.kernel_sup(name) + 1e-12
    assert abs(ntkssl.kernel_sup("ntk-relu", X) - 1.0) < 1e-12


def test_gap_within_bound_in_simulation(digits64):
    """Repeated independent draws of the training pairs: the measured gap |L(W) − L̂(W)| of the
    fitted kernel model exceeds the bound in at most a δ fraction of draws (binomial slack)."""
    ds = digits64
    sampler = lambda n, seed: ntkssl.make_pairs(ds.X, n, image_shape=(8, 8), seed=seed, replace=True)
    delta, draws, K = 0.1, 12, 3
    kappa2 = ntkssl.kernel_sup("ntk-tanh")
    for n in (16, 48, 96):
        exceed = 0
        for r in range(draws):
            X1, X2 = sampler(n, 100 * n + r)
            kb = ntkssl.KernelBarlowTwins(K).fit(X1, X2)
            gap = abs(ntkssl.population_loss(kb, sampler, 2000, seed=10 ** 6 + r) - ntkssl.empirical_loss(kb, X1, X2))
            exceed += gap > ntkssl.generalization_bound(n, B=ntkssl.rkhs_norm(kb), kappa2=kappa2, n_components=K,
                                                        delta=delta)
        slack = 3 * math.sqrt(delta * (1 - delta) / draws)
        assert exceed / draws <= delta + slack


def test_hilbert_deviation_holds_for_fixed_features(digits64):
    """The McDiarmid step alone, checked: ‖Γ̂ − Γ‖_HS for linear features φ(x) = x/√d (κ² = 1)."""
    ds = digits64
    sampler = lambda n, seed: ntkssl.make_pairs(ds.X, n, image_shape=(8, 8), seed=seed, replace=True)
    P1, P2 = sampler(20000, 7)
    Gamma = (P1.T @ P2) / (20000 * 64)
    n, delta, draws = 50, 0.1, 40
    dev = [float(((lambda a, b: a.T @ b / (n * 64))(*sampler(n, s)) - Gamma).norm()) for s in range(draws)]
    assert np.mean(np.array(dev) > hilbert_deviation(n, kappa2=1.0, delta=delta)) <= delta


def test_population_loss_matches_definition(digits64):
    ds = digits64
    sampler = lambda n, seed: ntkssl.make_pairs(ds.X, n, image_shape=(8, 8), seed=seed, replace=True)
    X1, X2 = sampler(40, 0)
    kb = ntkssl.KernelBarlowTwins(2).fit(X1, X2)
    F1, F2 = sampler(3000, 5)
    expect = float(ntkssl.barlow_twins_loss(kb.transform(F1), kb.transform(F2)))
    # chunked accumulation of C over the same fresh pairs gives the same number
    got = ntkssl.population_loss(kb, lambda n, seed: (F1[:n], F2[:n]) if seed == 5 else None, 3000, seed=5, chunk=3000)
    assert abs(got - expect) < 1e-10


def test_finite_width_link_reports_three_terms(digits):
    X1, X2 = ntkssl.make_pairs(digits.X, 32, image_shape=(8, 8), seed=0)
    net = ntkssl.TwoLayerNet(64, 512, 3, seed=0)
    W0 = net.W.detach().clone()
    out = ntkssl.finite_width_link(net, X1, X2, steps=40, lr=1.0)
    assert torch.equal(net.W, W0)                                     # the caller's network is untouched
    for key in ("network_loss", "bound", "loss_difference", "procrustes", "B", "param_displacement"):
        assert math.isfinite(out[key])
    # the linearized RKHS norm and the network's displacement agree to O(1/√M)
    assert abs(out["B"] - out["param_displacement"]) < 0.1 * out["param_displacement"]
    assert out["bound"] == ntkssl.generalization_bound(32, B=out["B"], kappa2=2.0, n_components=3)
