"""Generalization bounds for kernelized Barlow Twins (SPEC §7) and their finite-width link.

For f = W φ with ‖W‖_HS ≤ B, sup_x k(x, x) ≤ κ², i.i.d. pairs, population loss
L(W) = ‖W Γ W* − I‖²_F with Γ = E[φ(x) ⊗ φ(x⁺)] and empirical Γ̂, with probability ≥ 1 − δ,
uniformly over such W,

    |L(W) − L̂(W)| ≤ 2 B² (B² κ² + √K) κ² (1 + √(2 log(1/δ))) / √n.

Proof sketch (docs/theory.md has it in full): |a² − b²| ≤ |a − b|(a + b) with a, b the two Frobenius
distances; |a − b| ≤ ‖W(Γ − Γ̂)W*‖_F ≤ B² ‖Γ − Γ̂‖_HS; a, b ≤ B²κ² + √K; McDiarmid in Hilbert
space: ‖Γ̂ − Γ‖_HS ≤ κ²(1 + √(2 log(1/δ)))/√n.
"""
from __future__ import annotations

import copy
import math

import torch

from ._checks import as_tensor, check_positive_int, check_real
from .loss import barlow_twins_loss


def generalization_bound(n: int, *, B: float, kappa2: float, n_components: int, delta: float = 0.05) -> float:
    """Right-hand side 2B²(B²κ² + √K)κ²(1 + √(2 log(1/δ)))/√n of the uniform deviation bound."""
    if isinstance(n, bool) or not isinstance(n, (int, float)) or n <= 0:
        raise ValueError(f"n must be a positive number of pairs, got {n!r}.")
    B = check_real("B", B, low=0.0)
    kappa2 = check_real("kappa2", kappa2, low=0.0)
    K = check_positive_int("n_components", n_components)
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not (0 < delta < 1):
        raise ValueError(f"delta must lie in the open interval (0, 1), got {delta!r}; e.g. delta=0.05 "
                         "for a 95% guarantee.")
    return 2 * B ** 2 * (B ** 2 * kappa2 + math.sqrt(K)) * kappa2 * (1 + math.sqrt(2 * math.log(1 / delta))) / math.sqrt(n)


def hilbert_deviation(n: int, *, kappa2: float, delta: float = 0.05) -> float:
    """McDiarmid's bound on ‖Γ̂ − Γ‖_HS: κ²(1 + √(2 log(1/δ)))/√n."""
    return kappa2 * (1 + math.sqrt(2 * math.log(1 / delta))) / math.sqrt(n)


def rkhs_norm(model) -> float:
    """‖W‖_HS of a fitted KernelBarlowTwins (√Σ_k 1/λ_k) or of a LinearizedResult's displacement."""
    from .kernel_bt import KernelBarlowTwins, LinearizedResult

    if isinstance(model, KernelBarlowTwins):
        if not hasattr(model, "rkhs_norm_"):
            raise ValueError("The KernelBarlowTwins estimator is not fitted; call fit(X1, X2) first.")
        return model.rkhs_norm_
    if isinstance(model, LinearizedResult):
        return model.rkhs_norm
    raise TypeError(f"rkhs_norm takes a fitted KernelBarlowTwins or a LinearizedResult, got {type(model).__name__}.")


_SUP_NORMALIZED = {
    # sup θ∞(x, x) for ‖x‖²/d = q: E[σ(u)²] + q E[σ'(u)²] with u ~ N(0, q)
    "ntk-tanh": lambda q: 1 + q,             # |tanh| ≤ 1, |tanh'| ≤ 1
    "ntk-erf": lambda q: 1 + 4 * q / math.pi,  # |erf| ≤ 1, |erf'| ≤ 2/√π
    "ntk-relu": lambda q: q,                 # exact: q/2 + q/2
    "linear": lambda q: q,
}


def kernel_sup(kernel="ntk-tanh", X=None, *, bias_std: float = 0.0) -> float:
    """κ² = sup_x k(x, x): over the rows of ``X`` when given, else the analytic bound for
    per-sample-normalized inputs (‖x‖²/d = 1, so q = 1 + b_std²)."""
    from .kernel_bt import NamedKernel, resolve_kernel

    if X is None:
        if not isinstance(kernel, str) or kernel not in _SUP_NORMALIZED:
            raise ValueError(f"The analytic bound is known for {sorted(_SUP_NORMALIZED)}; pass X to take the "
                             "supremum over data for other kernels.")
        return _SUP_NORMALIZED[kernel](1.0 + bias_std ** 2)
    X = as_tensor("X", X, dtype=torch.float64)
    k = resolve_kernel(kernel)
    if isinstance(k, NamedKernel):
        k.bias_std = bias_std
    diag = torch.cat([torch.diagonal(k(X[lo:lo + 512], X[lo:lo + 512])) for lo in range(0, X.shape[0], 512)])
    return float(diag.max())


def _embed(model, X):
    if hasattr(model, "transform"):
        return model.transform(X)
    with torch.no_grad():
        return model(X)


def population_loss(model, pair_sampler, n_fresh: int = 5000, *, seed: int = 10 ** 6, symmetric: bool = False,
                    chunk: int = 4096) -> float:
    """Barlow Twins loss ‖C − I‖²_F with C estimated on ``n_fresh`` fresh pairs.

    ``pair_sampler(n, seed) -> (X1, X2)`` draws pairs from the same augmentation distribution as
    training; ``model`` is a fitted estimator (``transform``) or a network (callable). The fresh
    cross-correlation C → E[f(x) f(x⁺)ᵀ] = W Γ W*, so this estimates the population loss L(W).
    """
    n_fresh = check_positive_int("n_fresh", n_fresh)
    C, done, part = None, 0, 0
    while done < n_fresh:
        c = min(chunk, n_fresh - done)
        X1, X2 = pair_sampler(c, seed + part)
        Z1 = _embed(model, X1).to(torch.float64)
        Z2 = _embed(model, X2).to(torch.float64)
        S = Z1.T @ Z2
        C = S if C is None else C + S
        done += c
        part += 1
    C = C / n_fresh
    if symmetric:
        C = (C + C.T) / 2
    return float(((C - torch.eye(C.shape[0], dtype=C.dtype)) ** 2).sum())


def empirical_loss(model, X1, X2, *, symmetric: bool = False) -> float:
    """‖Ĉ − I‖²_F on the training pairs."""
    Z1 = _embed(model, X1).to(torch.float64)
    Z2 = _embed(model, X2).to(torch.float64)
    return float(barlow_twins_loss(Z1, Z2, symmetric=symmetric))


def finite_width_link(net, X1, X2, *, steps: int, lr: float, delta: float = 0.05, kernel_name: str | None = None,
                      loss_kwargs=None) -> dict:
    """The three terms side by side for a network trained ``steps`` steps from ``net``'s init:

    - ``network_loss``: its empirical Barlow Twins loss after training;
    - ``bound``: the kernel bound with B = RKHS norm of the linearized displacement (kernel Θ_0) and
      κ² = sup θ∞ for normalized inputs, plus ``param_displacement`` ‖θ_T − θ_0‖ (B ≤ this);
    - ``network_vs_kernel``: |L_net − L_lin| and the Procrustes distance of the embeddings.
    ``net`` itself is not modified.
    """
    from .kernel_bt import linearized_training, procrustes_distance
    from .train import train

    net = copy.deepcopy(net)
    lin = linearized_training(net, X1, X2, steps=steps, lr=lr, kernel="empirical", loss_kwargs=loss_kwargs)
    hist = train(net, X1, X2, steps=steps, lr=lr, verbose=False, ntk_probe=None, loss_kwargs=loss_kwargs)
    with torch.no_grad():
        F = net(torch.cat([X1, X2])).to(torch.float64)
    K = F.shape[1]
    name = kernel_name or f"ntk-{net.activation}"
    kappa2 = kernel_sup(name, bias_std=getattr(net, "bias_std", 0.0))
    B = lin.rkhs_norm
    bound = generalization_bound(X1.shape[0], B=B, kappa2=kappa2, n_components=K, delta=delta)
    return {
        "network_loss": hist.loss[-1],
        "linearized_loss": lin.loss[-1],
        "B": B,
        "param_displacement": hist.displacement[-1],
        "kappa2": kappa2,
        "bound": bound,
        "loss_difference": abs(hist.loss[-1] - lin.loss[-1]),
        "procrustes": procrustes_distance(F, lin.F),
    }
