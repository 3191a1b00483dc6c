import json

import pytest
import torch

import ntkssl


@pytest.fixture(scope="module")
def pairs256(digits):
    return ntkssl.make_pairs(digits.X, 256, image_shape=digits.image_shape, seed=0)


def test_loss_drops_tenfold_at_width_independent_lr(pairs256):
    X1, X2 = pairs256
    for M, steps in ((1024, 300), (256, 300), (8192, 250)):
        net = ntkssl.TwoLayerNet(64, M, 10, seed=0)
        h = ntkssl.train(net, X1, X2, steps=steps, lr=1.0, verbose=False, ntk_probe=None)
        assert h.loss[-1] < h.loss[0] / 10, (M, h.loss[0], h.loss[-1])


def test_history_records_ntk_change_and_log(digits, tmp_path):
    X1, X2 = ntkssl.make_pairs(digits.X, 32, image_shape=(8, 8), seed=0)
    net = ntkssl.TwoLayerNet(64, 128, 3, seed=0)
    net0 = ntkssl.TwoLayerNet(64, 128, 3, seed=0)
    h = ntkssl.train(net, X1, X2, steps=20, lr=0.5, record_every=5, verbose=False, log_path=tmp_path / "log.jsonl")
    assert h.step == [0, 5, 10, 15, 20]
    assert h.ntk_change[0] == 0.0 and h.displacement[0] == 0.0 and h.ntk_change[-1] > 0
    Z = torch.cat([X1, X2])
    expect = ntkssl.ntk_change(ntkssl.empirical_ntk(net, Z), ntkssl.empirical_ntk(net0, Z))
    assert abs(h.ntk_change[-1] - expect) < 1e-6
    with torch.no_grad():
        disp = torch.sqrt(((net.W - net0.W) ** 2).sum() + ((net.V - net0.V) ** 2).sum())
    assert abs(h.displacement[-1] - float(disp)) < 1e-4
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == h.step and lines[-1]["loss"] == h.loss[-1]


def test_frozen_layer_and_sgd(digits):
    X1, X2 = ntkssl.make_pairs(digits.X, 64, image_shape=(8, 8), seed=0)
    net = ntkssl.TwoLayerNet(64, 128, 3, seed=0)
    W0 = net.W.detach().clone()
    h = ntkssl.train(net, X1, X2, steps=30, lr=0.5, train_layers=("V",), verbose=False, ntk_probe=None)
    assert torch.equal(net.W, W0) and h.loss[-1] < h.loss[0]
    net = ntkssl.TwoLayerNet(64, 128, 3, seed=0)
    h = ntkssl.train(net, X1, X2, steps=60, lr=0.5, batch_size=16, verbose=False, ntk_probe=None, seed=1)
    assert h.loss[-1] < h.loss[0]


def test_divergence_names_step_and_lr(pairs256):
    X1, X2 = pairs256
    net = ntkssl.TwoLayerNet(64, 256, 10, seed=0)
    with pytest.raises(ntkssl.TrainingDivergedError, match=r"step \d+ with learning rate lr=1000.0.*smaller"):
        ntkssl.train(net, X1, X2, steps=50, lr=1000.0, verbose=False, ntk_probe=None)


def test_bad_inputs(pairs256):
    X1, X2 = pairs256
    net = ntkssl.TwoLayerNet(64, 32, 3)
    with pytest.raises(ValueError, match="lr must lie in"):
        ntkssl.train(net, X1, X2, steps=5, lr=0.0, verbose=False)
    with pytest.raises(ValueError, match="same shape"):
        ntkssl.train(net, X1, X2[:10], steps=5, lr=0.1, verbose=False)
    with pytest.raises(ValueError, match="2D"):
        ntkssl.train(net, X1[0], X2[0], steps=5, lr=0.1, verbose=False)
    bad = X1.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        ntkssl.train(net, bad, X2, steps=5, lr=0.1, verbose=False)
    with pytest.raises(ValueError, match="d_in=64"):
        ntkssl.train(net, X1[:, :10], X2[:, :10], steps=5, lr=0.1, verbose=False)
    with pytest.raises(ValueError, match="Unknown loss preset"):
        ntkssl.train(net, X1, X2, steps=5, lr=0.1, loss_kwargs="vicreg", verbose=False)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        ntkssl.train(net, X1, X2, steps=0, lr=0.1, verbose=False)


@pytest.mark.parametrize("layer,scale", [("V", "M"), ("W", "d")])
def test_standard_parametrization_step_correspondence(digits64, layer, scale):
    """A step η' = η/M on V (η/d on W) in the standard parametrization is a step η in the NTK one."""
    X1, X2 = ntkssl.make_pairs(digits64.X, 32, image_shape=(8, 8), seed=0)
    M, d, eta = 96, 64, 0.5
    ntk = ntkssl.TwoLayerNet(d, M, 3, seed=4, dtype=torch.float64)
    std = ntkssl.TwoLayerNet(d, M, 3, seed=4, dtype=torch.float64, parametrization="standard")
    lr_std = eta / (M if scale == "M" else d)
    ntkssl.train(ntk, X1, X2, steps=15, lr=eta, train_layers=(layer,), verbose=False, ntk_probe=None)
    ntkssl.train(std, X1, X2, steps=15, lr=lr_std, train_layers=(layer,), verbose=False, ntk_probe=None)
    with torch.no_grad():
        assert torch.allclose(ntk(X1), std(X1), atol=1e-12)
