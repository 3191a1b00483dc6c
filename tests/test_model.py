import math

import pytest
import torch

import ntkssl


def test_parameters_and_shapes():
    net = ntkssl.TwoLayerNet(7, 13, 3)
    assert isinstance(net.W, torch.nn.Parameter) and net.W.shape == (13, 7)
    assert isinstance(net.V, torch.nn.Parameter) and net.V.shape == (3, 13)
    assert net(torch.randn(5, 7)).shape == (5, 3)
    assert ntkssl.MLP(7, 13, 3, depth=3)(torch.randn(5, 7)).shape == (5, 3)


def test_forward_is_the_formula():
    x = torch.randn(4, 6, dtype=torch.float64)
    net = ntkssl.TwoLayerNet(6, 9, 2, bias_std=0.5, dtype=torch.float64)
    h = x @ net.W.T / math.sqrt(6) + 0.5 * net.b
    assert torch.allclose(net(x), torch.tanh(h) @ net.V.T / 3.0)
    std = ntkssl.TwoLayerNet(6, 9, 2, parametrization="standard", dtype=torch.float64, seed=0)
    ntk = ntkssl.TwoLayerNet(6, 9, 2, dtype=torch.float64, seed=0)
    assert torch.allclose(std(x), ntk(x))            # same function, different parametrization


def test_depth_one_mlp_is_the_two_layer_net():
    x = torch.randn(4, 6, dtype=torch.float64)
    net = ntkssl.TwoLayerNet(6, 9, 2, dtype=torch.float64)
    mlp = ntkssl.MLP(6, 9, 2, depth=1, dtype=torch.float64)
    with torch.no_grad():
        mlp.Ws[0].copy_(net.W)
        mlp.V.copy_(net.V)
    assert torch.allclose(mlp(x), net(x))


@pytest.mark.parametrize("activation", ["tanh", "relu", "erf"])
def test_init_output_mean_zero_and_nngp_variance(digits64, activation):
    """f(x) at init is a centred Gaussian with covariance the NNGP E[σ(u)σ(u')] (Monte Carlo over seeds)."""
    x = digits64.X[:3]
    S, M = 400, 512
    outs = torch.stack([ntkssl.TwoLayerNet(64, M, 1, activation=activation, seed=s, dtype=torch.float64)(x)[:, 0]
                        for s in range(S)])                                            # (S, 3)
    nngp = ntkssl.analytic_ntk(x, activation=activation, get="nngp")
    var = torch.diagonal(nngp)
    # mean: standard error √(var/S); variance: relative standard error √(2/S) (Gaussian outputs)
    assert torch.all(outs.mean(0).abs() < 4 * torch.sqrt(var / S))
    emp_cov = outs.T @ outs / S
    assert torch.all((emp_cov - nngp).abs() < 4 * math.sqrt(2 / S) * var.max())


def test_bad_inputs():
    with pytest.raises(ValueError, match="width must be a positive integer"):
        ntkssl.TwoLayerNet(4, 0, 2)
    with pytest.raises(TypeError, match="width must be a positive integer"):
        ntkssl.TwoLayerNet(4, 2.5, 2)
    with pytest.raises(ValueError, match="Unknown activation 'gelu'"):
        ntkssl.TwoLayerNet(4, 8, 2, activation="gelu")
    with pytest.raises(ValueError, match="Unknown parametrization"):
        ntkssl.TwoLayerNet(4, 8, 2, parametrization="mup")
    with pytest.raises(ValueError, match="bias_std"):
        ntkssl.TwoLayerNet(4, 8, 2, bias_std=-1)
