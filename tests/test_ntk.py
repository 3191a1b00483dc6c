import math
import time

import pytest
import torch
from scipy import integrate

import ntkssl
from ntkssl.activations import Activation, get_activation

F64 = torch.float64


def _rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("activation", ["tanh", "erf", "relu", "identity"])
@pytest.mark.parametrize("bias_std", [0.0, 0.7])
@pytest.mark.parametrize("layers", [("W", "V"), ("W",), ("V",)])
def test_closed_form_equals_autodiff(activation, bias_std, layers):
    g = torch.Generator().manual_seed(0)
    x1 = torch.randn(9, 7, generator=g, dtype=F64)
    x2 = torch.randn(5, 7, generator=g, dtype=F64)
    net = ntkssl.TwoLayerNet(7, 31, 3, activation=activation, bias_std=bias_std, seed=2, dtype=F64)
    net.set_trainable(layers)
    for xb in (None, x2):
        ref = ntkssl.autodiff_ntk(net, x1, xb)
        for bs in (None, 1, 2, 4, 50):
            full = ntkssl.empirical_ntk(net, x1, xb, batch_size=bs)
            assert _rel(full, ref) < 1e-10
            trace = ntkssl.empirical_ntk(net, x1, xb, mode="trace", batch_size=bs)
            assert _rel(trace, ref.diagonal(dim1=2, dim2=3).mean(-1)) < 1e-10


def test_symmetric_blocks_large_n():
    """x2=None takes the block-triangle path with several blocks; compare with x2=x1."""
    x = torch.randn(200, 10, dtype=F64)
    net = ntkssl.TwoLayerNet(10, 64, 2, seed=0, dtype=F64)
    a = ntkssl.empirical_ntk(net, x)
    b = ntkssl.empirical_ntk(net, x, x.clone())
    assert _rel(a, b) < 1e-12
    assert torch.allclose(a, a.permute(1, 0, 3, 2))


def test_mlp_autodiff_matches_two_layer_closed_form():
    x = torch.randn(6, 5, dtype=F64)
    net = ntkssl.TwoLayerNet(5, 17, 2, dtype=F64)
    mlp = ntkssl.MLP(5, 17, 2, depth=1, dtype=F64)
    with torch.no_grad():
        mlp.Ws[0].copy_(net.W)
        mlp.V.copy_(net.V)
    assert _rel(ntkssl.empirical_ntk(mlp, x), ntkssl.empirical_ntk(net, x)) < 1e-12


@pytest.mark.parametrize("activation", ["tanh", "erf", "relu"])
@pytest.mark.parametrize("depth,bias_std", [(1, 0.0), (1, 0.5), (2, 0.3)])
def test_analytic_matches_monte_carlo(digits64, activation, depth, bias_std):
    x = digits64.X[:12]
    th = ntkssl.analytic_ntk(x, activation=activation, bias_std=bias_std, depth=depth)
    mc, se = ntkssl.monte_carlo_ntk(x, width=1024, n_samples=24, activation=activation, bias_std=bias_std,
                                    depth=depth, return_std=True)
    # E‖mc − θ∞‖² = Σ se² for an unbiased estimator; allow 3× in norm
    assert float((mc - th).norm()) < 3 * float(torch.sqrt((se ** 2).sum()))
    if depth == 1:
        # the two-layer empirical NTK is unbiased: its error must shrink like 1/√(width · samples)
        assert float((mc - th).abs().max()) < 0.05 * float(th.abs().max())


@pytest.mark.parametrize("activation", ["tanh", "erf", "relu"])
def test_analytic_symmetric_psd(digits64, activation):
    th = ntkssl.analytic_ntk(digits64.X[:80], activation=activation)
    assert torch.allclose(th, th.T, atol=1e-14)
    ev = torch.linalg.eigvalsh(th)
    assert float(ev.min()) > -1e-10 * float(ev.max())


def test_relu_diagonal_exact(digits64):
    x = digits64.X[:50] * 1.7
    q = (x * x).sum(1) / 64
    for th in (ntkssl.analytic_ntk(x, activation="relu"), ntkssl.analytic_ntk(x, x.clone(), activation="relu")):
        assert float((torch.diagonal(th) - q).abs().max()) < 1e-12
    anti = ntkssl.analytic_ntk(x, -x, activation="relu")
    assert float(torch.diagonal(anti).abs().max()) < 1e-12        # θ = π: both terms vanish


def _dblquad_ntk(q11, q22, q12):
    s1 = math.sqrt(q11)
    b = q12 / s1
    c = math.sqrt(max(q22 - b * b, 0.0))
    phi = lambda z1, z2: math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi)
    ess = integrate.dblquad(lambda z2, z1: math.tanh(s1 * z1) * math.tanh(b * z1 + c * z2) * phi(z1, z2),
                            -12, 12, -12, 12, epsabs=1e-13, epsrel=1e-13)[0]
    edd = integrate.dblquad(lambda z2, z1: (1 - math.tanh(s1 * z1) ** 2) * (1 - math.tanh(b * z1 + c * z2) ** 2)
                            * phi(z1, z2), -12, 12, -12, 12, epsabs=1e-13, epsrel=1e-13)[0]
    return ess + q12 * edd


@pytest.mark.slow
def test_tanh_quadrature_against_adaptive_integration():
    for q11, q22, q12 in [(1.0, 1.0, 0.3), (4.0, 4.0, 3.9), (4.0, 1.0, -1.5), (0.5, 3.0, 0.9), (2.0, 2.0, -2.0)]:
        t = lambda v: torch.tensor([v], dtype=F64)
        ess, edd = get_activation("tanh").gauss(t(q11), t(q22), t(q12), method="quadrature")
        assert abs(float(ess + q12 * edd) - _dblquad_ntk(q11, q22, q12)) < 1e-6


def test_tanh_table_against_quadrature(digits64):
    x = torch.cat([digits64.X[:30], -digits64.X[:3]])
    table = ntkssl.analytic_ntk(x, activation="tanh", method="table")
    quad = ntkssl.analytic_ntk(x, activation="tanh", method="quadrature", quad_degree=240)
    assert float((table - quad).abs().max()) < 1e-9
    # and against adaptive integration at a few correlations
    rho = torch.tensor([-1.0, -0.5, 0.0, 0.37, 0.99, 1.0], dtype=F64)
    ess, edd = get_activation("tanh").table(1.0).lookup(rho)
    for r, a, b in zip(rho.tolist(), ess.tolist(), edd.tolist()):
        assert abs(a + r * b - _dblquad_ntk(1.0, 1.0, r)) < 1e-9


def test_tanh_table_at_least_100x_faster_per_entry(digits64):
    X = ntkssl.load_dataset("digits", dtype=F64).X[:1000]
    get_activation("tanh").table(1.0)                       # built once per (σ, q), cached
    t0 = time.perf_counter()
    ntkssl.analytic_ntk(X, activation="tanh", method="table")
    t_table = (time.perf_counter() - t0) / 1000 ** 2
    t0 = time.perf_counter()
    ntkssl.analytic_ntk(X, X[:10], activation="tanh", method="quadrature")
    t_quad = (time.perf_counter() - t0) / (1000 * 10)
    assert t_quad / t_table > 100, (t_quad, t_table)


def test_erf_closed_form_against_quadrature():
    erf = get_activation("erf")
    custom = Activation(erf.fn, erf.deriv, name="erf-quad")
    q11 = torch.tensor([1.0, 0.5, 3.0], dtype=F64)
    q22 = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    q12 = torch.tensor([0.2, -0.9, 2.99], dtype=F64)
    a = erf.gauss(q11, q22, q12)
    b = custom.gauss(q11, q22, q12, method="quadrature", quad_degree=200)
    for u, v in zip(a, b):
        assert torch.allclose(u, v, atol=1e-9)


def test_custom_activation_by_quadrature(digits64):
    x = digits64.X[:6]
    sig = Activation(torch.sin, torch.cos, lambda h: -torch.sin(h), name="sin")
    th = ntkssl.analytic_ntk(x, activation=sig)
    mc = ntkssl.monte_carlo_ntk(x, width=2048, n_samples=16, activation=sig)
    assert float((mc - th).abs().max()) < 0.05


def test_ntk_change():
    a = torch.ones(3, 3)
    assert ntkssl.ntk_change(a, a) == 0.0
    assert abs(ntkssl.ntk_change(2 * a, a) - 1.0) < 1e-12
    with pytest.raises(ValueError, match="same shape"):
        ntkssl.ntk_change(a, torch.ones(2, 2))


def test_bad_inputs():
    net = ntkssl.TwoLayerNet(5, 8, 2)
    with pytest.raises(ValueError, match="x1 has 4 features but the model expects d_in=5"):
        ntkssl.empirical_ntk(net, torch.randn(3, 4))
    with pytest.raises(ValueError, match="Unknown mode 'diag'"):
        ntkssl.empirical_ntk(net, torch.randn(3, 5), mode="diag")
    with pytest.raises(ValueError, match="Expected x1 to be a 2D tensor"):
        ntkssl.empirical_ntk(net, torch.randn(5))
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        ntkssl.analytic_ntk(torch.randn(3, 5), activation="swish")
    with pytest.raises(ValueError, match="same number of features"):
        ntkssl.analytic_ntk(torch.randn(3, 5), torch.randn(3, 4))
    with pytest.raises(ValueError, match="Expected x1 to be a 2D"):
        ntkssl.analytic_ntk(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="equal norm"):
        ntkssl.analytic_ntk(torch.randn(3, 5) * torch.arange(1, 4)[:, None], activation="tanh", method="table")
