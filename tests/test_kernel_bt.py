
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import ntkssl
from ntkssl.kernel_bt import KernelBarlowTwins, linear_cka, linearized_training, procrustes_distance


@pytest.fixture(scope="module")
def pairs(digits64):
    return ntkssl.make_pairs(digits64.X, 100, image_shape=(8, 8), seed=0)


@pytest.mark.parametrize("kernel", ["ntk-tanh", "ntk-erf", "ntk-relu", "linear"])
def test_closed_form_reaches_identity_correlation(pairs, kernel):
    X1, X2 = pairs
    kb = KernelBarlowTwins(6, kernel=kernel).fit(X1, X2)
    assert kb.solver_ == "exact" and torch.all(kb.eigenvalues_ > 0)
    loss = ntkssl.barlow_twins_loss(kb.transform(X1), kb.transform(X2), symmetric=True)
    assert float(loss) <= 1e-8


def test_linear_kernel_equals_linear_model_closed_form(pairs):
    """With k(x,x') = x·x'/d the solution is W = Λ^{-1/2} Eᵀ on φ(x) = x/√d, (Λ, E) the top
    eigenpairs of Γ̂ = Φᵀ𝒵Φ (d×d): the linear model's own closed form."""
    X1, X2 = pairs
    n, d = X1.shape
    P1, P2 = X1 / d ** 0.5, X2 / d ** 0.5
    Gamma = (P1.T @ P2 + P2.T @ P1) / (2 * n)
    lam, E = torch.linalg.eigh(Gamma)
    lam, E = lam.flip(0)[:4], E.flip(1)[:, :4]
    W = E / torch.sqrt(lam)                                                    # (d, K)
    Xt = torch.cat([X1, X2])
    kb = KernelBarlowTwins(4, kernel="linear").fit(X1, X2)
    assert procrustes_distance(kb.transform(Xt), Xt / d ** 0.5 @ W) < 1e-8
    assert abs(kb.rkhs_norm_ - float(torch.sqrt((1 / lam).sum()))) < 1e-8


@pytest.mark.parametrize("kernel", ["ntk-tanh", "ntk-relu"])
def test_nystrom_with_all_landmarks_is_exact(pairs, kernel, digits64):
    X1, X2 = pairs
    exact = KernelBarlowTwins(5, kernel=kernel, solver="exact").fit(X1, X2)
    nys = KernelBarlowTwins(5, kernel=kernel, solver="nystrom", n_landmarks=200).fit(X1, X2)
    Xe = digits64.X[:300]
    assert procrustes_distance(nys.transform(Xe), exact.transform(Xe)) <= 1e-8
    few = KernelBarlowTwins(5, kernel=kernel, solver="nystrom", n_landmarks=120).fit(X1, X2)
    assert procrustes_distance(few.transform(Xe), exact.transform(Xe)) < 0.3


def test_callable_kernel_and_auto_solver(pairs):
    X1, X2 = pairs
    rbf = lambda A, B: torch.exp(-torch.cdist(A, B) ** 2 / (2 * A.shape[1]))
    kb = KernelBarlowTwins(3, kernel=rbf).fit(X1, X2)
    assert kb.solver_ == "exact"
    assert float(ntkssl.barlow_twins_loss(kb.transform(X1), kb.transform(X2), symmetric=True)) < 1e-8


def test_estimator_contract(pairs):
    X1, X2 = pairs
    kb = KernelBarlowTwins(3, kernel="ntk-relu", ridge=1e-9)
    assert kb.get_params()["ridge"] == 1e-9 and clone(kb).get_params() == kb.get_params()
    kb.set_params(n_components=2)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        kb.transform(X1)
    Z = kb.fit_transform(X1, X2)
    assert Z.shape == (100, 2) and torch.allclose(Z, kb.transform(X1))
    with pytest.raises(ValueError, match="fitted with 64"):
        kb.transform(X1[:, :10])


def test_warns_when_fewer_positive_eigenvalues():
    g = torch.Generator().manual_seed(0)
    X1 = torch.randn(20, 5, generator=g, dtype=torch.float64)
    X2 = -X1                                       # anti-correlated views: every cross-eigenvalue ≤ 0
    with pytest.warns(RuntimeWarning, match="eigenvalues .* are positive"):
        KernelBarlowTwins(3, kernel="linear").fit(X1, X2)


def test_bad_inputs(pairs):
    X1, X2 = pairs
    with pytest.raises(ValueError, match="same shape"):
        KernelBarlowTwins(3).fit(X1, X2[:50])
    with pytest.raises(ValueError, match="n_components=300 exceeds 2n=200"):
        KernelBarlowTwins(300).fit(X1, X2)
    with pytest.raises(ValueError, match="n_components must be a positive integer"):
        KernelBarlowTwins(0).fit(X1, X2)
    with pytest.raises(ValueError, match="n_landmarks must be a positive integer"):
        KernelBarlowTwins(3, solver="nystrom", n_landmarks=0).fit(X1, X2)
    with pytest.raises(ValueError, match="returned shape"):
        KernelBarlowTwins(3, kernel=lambda A, B: A @ B.T[:, :3]).fit(X1, X2)
    with pytest.raises(ValueError, match="not symmetric"):
        KernelBarlowTwins(3, kernel=lambda A, B: A @ B.T + torch.arange(B.shape[0], dtype=A.dtype)).fit(X1, X2)
    bad = X1.clone()
    bad[3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        KernelBarlowTwins(3).fit(bad, X2)
    with pytest.raises(ValueError, match="Unknown kernel"):
        KernelBarlowTwins(3, kernel="rbf").fit(X1, X2)


def test_kernel_dynamics_from_tiny_init_reach_closed_form(digits64):
    """Small-initialization limit: gradient flow on the symmetric loss from outputs ~1e-8 grows the
    top eigen-directions of K^{1/2}𝒵K^{1/2} first and lands on the closed form (up to rotation).
    K = 2 here because λ_2/λ_3 ≈ 2.4 on these pairs; a small eigengap would slow the selection."""
    X1, X2 = ntkssl.make_pairs(digits64.X, 64, image_shape=(8, 8), seed=0)
    net = ntkssl.TwoLayerNet(64, 256, 2, seed=0, dtype=torch.float64)
    kb = KernelBarlowTwins(2, kernel="ntk-tanh").fit(X1, X2)
    res = linearized_training(net, X1, X2, steps=1500, lr=1.0, kernel="analytic", output_scale=1e-8,
                              loss_kwargs="symmetric")
    assert procrustes_distance(res.F, kb.transform(torch.cat([X1, X2]))) <= 1e-2


def test_network_approaches_linearized_dynamics_with_width(digits):
    X1, X2 = ntkssl.make_pairs(digits.X, 128, image_shape=(8, 8), seed=0)
    dist = {}
    for M in (256, 4096):
        net = ntkssl.TwoLayerNet(64, M, 5, seed=1)
        lin = linearized_training(net, X1, X2, steps=100, lr=1.0, kernel="empirical")
        ntkssl.train(net, X1, X2, steps=100, lr=1.0, verbose=False, ntk_probe=None)
        with torch.no_grad():
            F = net(torch.cat([X1, X2]))
        dist[M] = procrustes_distance(F, lin.F)
    assert dist[4096] * 5 <= dist[256], dist


def test_linearized_rkhs_norm_is_parameter_displacement_of_linear_model(digits64):
    """For the linearized network θ_T − θ_0 = Jᵀα, so ‖θ_T − θ_0‖² = αᵀΘα = the RKHS norm²."""
    X1, X2 = ntkssl.make_pairs(digits64.X, 16, image_shape=(8, 8), seed=0)
    net = ntkssl.TwoLayerNet(64, 64, 2, seed=0, dtype=torch.float64)
    res = linearized_training(net, X1, X2, steps=30, lr=0.5)
    from torch.func import functional_call, jacrev

    params = {k: v.detach() for k, v in net.named_parameters()}
    Z = torch.cat([X1, X2])
    J = jacrev(lambda p: functional_call(net, p, (Z,)))(params)
    Jm = torch.cat([j.reshape(Z.shape[0] * 2, -1) for j in J.values()], dim=1)   # (2n·K, P)
    dtheta = Jm.T @ res.alpha.reshape(-1)
    assert abs(float(dtheta.norm()) - res.rkhs_norm) < 1e-10 * res.rkhs_norm
    assert ntkssl.rkhs_norm(res) == res.rkhs_norm


def test_procrustes_and_cka_invariances():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(50, 4, generator=g, dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=torch.float64))
    assert procrustes_distance(A @ Q, A) < 1e-12
    assert abs(linear_cka(A @ Q, A) - 1) < 1e-12
    assert abs(linear_cka(3 * A, A) - 1) < 1e-12
    B = torch.randn(50, 4, generator=g, dtype=torch.float64)
    assert procrustes_distance(B, A) > 0.5 and linear_cka(B, A) < 0.5
    with pytest.raises(ValueError, match="same shape"):
        procrustes_distance(A, A[:10])


def test_auto_solver_switches_to_nystrom_for_many_pairs():
    """2n > 6000 → Nyström on 2000 landmarks; its C is still exactly I on the training pairs, because
    Γ = ΦᵀZΦ is accumulated over all pairs (the approximation is in the feature space, not in the loss)."""
    X = ntkssl.load_dataset("synthetic", n=3100, dim=16, dtype=torch.float64).X
    X1, X2 = ntkssl.make_pairs(X, 3100, augment="noise", seed=0)
    kb = KernelBarlowTwins(3).fit(X1, X2)
    assert kb.solver_ == "nystrom" and kb.n_landmarks_ == 2000 and kb.coef_.shape == (2000, 3)
    assert float(ntkssl.barlow_twins_loss(kb.transform(X1), kb.transform(X2), symmetric=True)) < 1e-8
