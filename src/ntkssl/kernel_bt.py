"""Kernelized Barlow Twins: the infinite-width model (SPEC §6).

Closed form (small-initialization limit, symmetric loss). With the Gram matrix 𝐊 of a scalar kernel
on Z (2n points) and 𝒵 = (1/2n)[[0, I_n], [I_n, 0]], take the top-K eigenpairs (Λ, B) of 𝐊^{1/2} 𝒵 𝐊^{1/2};
then f(x) = Λ^{-1/2} Bᵀ 𝐊^{-1/2} k_Z(x) and C = Fᵀ𝒵F = I on the training pairs. Any square root
works (the result changes by a K×K rotation): we use the Cholesky factor 𝐊 = LLᵀ, so the eigenproblem
is Lᵀ𝒵L = (1/2n)(L₁ᵀL₂ + L₂ᵀL₁) (L₁, L₂ the row halves of L), solved for its top K eigenpairs only.

Nyström: on m landmarks with K_mm = L_m L_mᵀ, features φ(x) = L_m^{-1} k_m(x) and the linear problem
Γ = Φᵀ𝒵Φ = L_m^{-1} [(1/2n)(K₁ᵀK₂ + K₂ᵀK₁)] L_m^{-T}, accumulated over chunks of pairs (K_i = k(X_i, landmarks)),
so no 2n×2n (or 2n×m) matrix is ever stored. With all 2n points as landmarks it is the exact solution.

Kernel dynamics (the linearized network): F_{t+1} = F_t − η Θ ∇_F L(F_t) on the 2n training outputs,
with Θ the empirical NTK at init (K×K blocks) or θ∞ ⊗ I_K; out of sample
f_t(x) = f_0(x) − η Θ(x, Z) Σ_{s<t} ∇_F L(F_s).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._checks import as_tensor, check_choice, check_positive_int, check_real, check_same_shape
from .loss import barlow_twins_loss, resolve_loss_kwargs

KERNELS = ("ntk-tanh", "ntk-erf", "ntk-relu", "linear")
SOLVERS = ("auto", "exact", "nystrom")
EXACT_MAX_POINTS = 6000          # "auto": exact when 2n ≤ this (a 2n×2n float64 Gram ≤ 288 MB)
DEFAULT_LANDMARKS = 2000
CHUNK = 4096


# ------------------------------------------------------------------------------- kernels
class NamedKernel:
    """A scalar kernel k(A, B) -> (nA, nB) by name: analytic NTKs θ∞ or the linear kernel x·x'/d."""

    def __init__(self, name: str, bias_std: float = 0.0):
        self.name = check_choice("kernel", name, KERNELS)
        self.bias_std = bias_std

    def __call__(self, A, B=None):
        from .ntk import analytic_ntk

        if self.name == "linear":
            return A @ (A if B is None else B).T / A.shape[1]
        return analytic_ntk(A, B, activation=self.name.split("-")[1], bias_std=self.bias_std)

    def __repr__(self):
        return f"NamedKernel({self.name!r})"


def resolve_kernel(kernel):
    if isinstance(kernel, str):
        return NamedKernel(kernel)
    if callable(kernel):
        return kernel
    raise TypeError(f"kernel must be one of {KERNELS} or a callable k(A, B) -> (nA, nB), got {type(kernel).__name__}.")


def _call_kernel(k, A, B=None) -> torch.Tensor:
    """Evaluate a kernel and check what a user callable returns."""
    if isinstance(k, NamedKernel):          # our own kernels: shape and finiteness hold by construction
        return k(A, B)
    out = k(A, A) if B is None else k(A, B)
    if isinstance(out, np.ndarray):
        out = torch.from_numpy(out)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"The kernel returned {type(out).__name__}; it must return a tensor or array (nA, nB).")
    nB = A.shape[0] if B is None else B.shape[0]
    if tuple(out.shape) != (A.shape[0], nB):
        raise ValueError(f"The kernel returned shape {tuple(out.shape)} for inputs with {A.shape[0]} and {nB} rows; "
                         f"it must return the Gram matrix of shape ({A.shape[0]}, {nB}).")
    if not bool(torch.isfinite(out).all()):
        raise ValueError("The kernel returned NaN or infinite values; check the kernel and the inputs.")
    if B is None:
        asym = float((out - out.T).abs().max())
        if asym > 1e-8 * max(1.0, float(out.abs().max())):
            raise ValueError(f"The kernel's Gram matrix k(X, X) is not symmetric (max |K - K^T| = {asym:.3g}); "
                             "a kernel must satisfy k(x, x') = k(x', x).")
    return out


def _cholesky(Kmat: torch.Tensor, ridge: float):
    """(L, jitter): lower Cholesky factor of K + jitter·I (jitter = ridge · mean diag, raised if needed)."""
    scale = float(torch.diagonal(Kmat).mean().abs()) or 1.0
    jitter = ridge * scale
    eye = torch.eye(Kmat.shape[0], dtype=Kmat.dtype)
    for _ in range(8):
        L, info = torch.linalg.cholesky_ex(Kmat + jitter * eye)
        if int(info) == 0:
            return L, jitter
        jitter = max(jitter * 100, 1e-12 * scale)
    raise ValueError("The kernel Gram matrix is not positive semi-definite (Cholesky failed even with jitter "
                     f"{jitter:.3g}); check that the kernel is a valid (PSD) kernel.")


def _top_eigh(A: np.ndarray, k: int):
    """Top-k eigenpairs (ascending → returned descending) of a symmetric matrix, without a full eigh."""
    N = A.shape[0]
    if N <= 1200 or k >= N // 4:
        w, v = sla.eigh(A, subset_by_index=[N - k, N - 1])
    else:
        from scipy.sparse.linalg import eigsh

        w, v = eigsh(A, k=k, which="LA", tol=0, ncv=min(N, max(2 * k + 1, 40)))
    order = np.argsort(w)[::-1]
    return w[order], v[:, order]


# ------------------------------------------------------------------------ the estimator
class KernelBarlowTwins(TransformerMixin, BaseEstimator):
    """Kernelized Barlow Twins, the infinite-width limit of Barlow Twins networks.

    Parameters
    ----------
    n_components : K, the embedding dimension.
    kernel : "ntk-tanh" (default), "ntk-erf", "ntk-relu" (analytic θ∞), "linear" (x·x'/d),
        or a callable k(A, B) -> (nA, nB).
    solver : "exact" (closed form on all 2n points), "nystrom" (n_landmarks points), or "auto"
        (exact when 2n ≤ 6000, else Nyström). The choice is stored in ``solver_``.
    n_landmarks : Nyström landmarks (default min(2n, 2000)); all 2n reproduces "exact".
    ridge : relative jitter added to the Gram diagonal before the Cholesky factorization.
    random_state : seed for the choice of landmarks.

    Fitted attributes: ``solver_``, ``landmarks_`` (m, d), ``coef_`` (m, K) with
    f(x) = k(x, landmarks_) @ coef_, ``eigenvalues_`` (K,), ``n_features_in_``.
    """

    def __init__(self, n_components: int = 10, *, kernel="ntk-tanh", solver: str = "auto",
                 n_landmarks: int | None = None, ridge: float = 1e-10, random_state: int = 0):
        self.n_components = n_components
        self.kernel = kernel
        self.solver = solver
        self.n_landmarks = n_landmarks
        self.ridge = ridge
        self.random_state = random_state

    def fit(self, X1, X2):
        """Fit on positive pairs (X1[i], X2[i]), each (n, d)."""
        X1 = as_tensor("X1", X1)
        X2 = as_tensor("X2", X2, dtype=X1.dtype)
        check_same_shape("X1", X1, "X2", X2)
        n, d = X1.shape
        K = check_positive_int("n_components", self.n_components)
        if K > 2 * n:
            raise ValueError(f"n_components={K} exceeds 2n={2 * n} (the number of training inputs); "
                             f"use n_components <= {2 * n} or more pairs.")
        check_choice("solver", self.solver, SOLVERS)
        check_real("ridge", self.ridge, low=0.0)
        if self.n_landmarks is not None:
            check_positive_int("n_landmarks", self.n_landmarks)
            if self.n_landmarks > 2 * n:
                raise ValueError(f"n_landmarks={self.n_landmarks} exceeds the 2n={2 * n} training inputs; "
                                 f"use n_landmarks <= {2 * n}.")
        kfun = resolve_kernel(self.kernel)
        solver = self.solver
        if solver == "auto":
            solver = "exact" if 2 * n <= EXACT_MAX_POINTS else "nystrom"
        if solver == "exact":
            landmarks, m = torch.cat([X1, X2]), 2 * n                                 # Z (2n, d)
        else:
            m = self.n_landmarks or min(2 * n, DEFAULT_LANDMARKS)
            g = torch.Generator().manual_seed(int(self.random_state))
            idx = torch.arange(2 * n) if m == 2 * n else torch.randperm(2 * n, generator=g)[:m]
            from1 = idx < n                                                           # gather from Z without forming it
            landmarks = torch.empty(m, d, dtype=X1.dtype)
            landmarks[from1] = X1[idx[from1]]
            landmarks[~from1] = X2[idx[~from1] - n]
        Kmm = _call_kernel(kfun, landmarks).to(torch.float64)                       # (m, m)
        L, jitter = _cholesky(Kmm, self.ridge)
        if solver == "exact":
            # Φ = K L^{-T} = L: the Gram of the pairs needs no further kernel evaluations
            M = L[:n].T @ L[n:]                                                       # (2n, 2n)
            Gamma = (M + M.T) / (2 * n)
        else:
            S = torch.zeros(m, m, dtype=torch.float64)
            for lo in range(0, n, CHUNK):
                K1 = _call_kernel(kfun, X1[lo:lo + CHUNK], landmarks)                 # (c, m)
                K2 = _call_kernel(kfun, X2[lo:lo + CHUNK], landmarks)
                S += (K1.T @ K2).to(torch.float64)
            S = (S + S.T) / (2 * n)
            T = torch.linalg.solve_triangular(L, S, upper=False)                     # L^{-1} S
            Gamma = torch.linalg.solve_triangular(L, T.T, upper=False)               # L^{-1} S L^{-T}
            Gamma = (Gamma + Gamma.T) / 2
        lam, E = _top_eigh(Gamma.numpy(), K)
        lam, E = torch.from_numpy(lam.copy()), torch.from_numpy(np.ascontiguousarray(E))
        # eigenvalues at the jitter's scale (≤ 10·jitter/2n) come from the ridge, not from the data
        positive = lam > max(1e-12 * float(lam.abs().max()), 10 * jitter / (2 * n))
        if int(positive.sum()) < K:
            warnings.warn(
                f"Only {int(positive.sum())} of the top {K} eigenvalues of K^1/2 Z K^1/2 are positive: the two views "
                f"share fewer than {K} directions in this kernel's feature space, so the cross-correlation C = I "
                "cannot be reached; the remaining components are set to zero. Use fewer components or more pairs.",
                RuntimeWarning, stacklevel=2)
        scale = torch.where(positive, 1 / torch.sqrt(lam.clamp_min(1e-300)), torch.zeros_like(lam))
        coef = torch.linalg.solve_triangular(L.T, E * scale, upper=True)             # L^{-T} E Λ^{-1/2}  (m, K)
        self.solver_ = solver
        self.kernel_ = kfun
        self.landmarks_ = landmarks
        self.coef_ = coef
        self.eigenvalues_ = lam
        self.n_landmarks_ = m
        self.n_features_in_ = d
        self.rkhs_norm_ = float(torch.sqrt((scale ** 2).sum()))                      # ‖W‖_HS² = Σ 1/λ_k
        return self

    def transform(self, X) -> torch.Tensor:
        """Embeddings f(x) = k(x, landmarks) coef, shape (n, K), in the dtype the estimator was fitted in."""
        check_is_fitted(self, "coef_", msg="This KernelBarlowTwins instance is not fitted yet; call "
                                           "fit(X1, X2) with positive pairs before transform(X).")
        X = as_tensor("X", X, dtype=self.landmarks_.dtype)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but KernelBarlowTwins was fitted with "
                             f"{self.n_features_in_}.")
        out = []
        for lo in range(0, X.shape[0], CHUNK):
            Kx = _call_kernel(self.kernel_, X[lo:lo + CHUNK], self.landmarks_)           # (c, m), input dtype
            coef = self.coef_ if Kx.dtype == torch.float64 else self.coef_.to(Kx.dtype)
            out.append(Kx @ coef)                                                      # (c, K)
        return torch.cat(out) if out else torch.zeros(0, self.coef_.shape[1], dtype=self.landmarks_.dtype)

    def fit_transform(self, X1, X2=None, **_):
        """Fit on the pairs and return the embeddings of X1 (the anchor views), (n, K)."""
        if X2 is None:
            raise TypeError("fit_transform needs the positive pairs: fit_transform(X1, X2).")
        return self.fit(X1, X2).transform(X1)


# ------------------------------------------------------------------------ kernel dynamics
@dataclass
class LinearizedResult:
    """Trajectory of the kernel (linearized) dynamics.

    F : final training outputs (2n, K) (rows 0..n−1 for X1, n..2n−1 for X2);
    F_eval : final outputs on X_eval (or None); alpha : (2n, K) with f_T − f_0 = Θ(·, Z) α;
    rkhs_norm : ‖f_T − f_0‖ in the kernel's RKHS, √(vec αᵀ Θ vec α).
    """

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    F: torch.Tensor | None = None
    F_eval: torch.Tensor | None = None
    F0: torch.Tensor | None = None
    alpha: torch.Tensor | None = None
    rkhs_norm: float = float("nan")
    kernel: str = "empirical"

    def to_dict(self) -> dict:
        return {"step": self.step, "loss": self.loss, "rkhs_norm": self.rkhs_norm, "kernel": self.kernel}


def linearized_training(net, X1, X2, *, steps: int, lr: float, kernel: str = "empirical", X_eval=None,
                        record_every: int | None = None, loss_kwargs=None, output_scale: float = 1.0,
                        dtype=torch.float64) -> LinearizedResult:
    """Function-space gradient descent with a fixed kernel, from the network's initial outputs.

    kernel="empirical": Θ_0, the network's full empirical NTK at init (the linearized network);
    kernel="analytic": θ∞ ⊗ I_K (the infinite-width model). Same step and learning-rate semantics
    as :func:`ntkssl.train`: both runs make ``steps`` updates θ ← θ − η∇L.
    ``output_scale`` multiplies the initial outputs F_0 (1e-8 gives the small-initialization limit).
    """
    from .ntk import analytic_ntk, empirical_ntk

    check_choice("kernel", kernel, ("empirical", "analytic"))
    steps = check_positive_int("steps", steps)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    p0 = next(net.parameters())
    X1 = as_tensor("X1", X1, dtype=p0.dtype)
    X2 = as_tensor("X2", X2, dtype=p0.dtype)
    check_same_shape("X1", X1, "X2", X2)
    kw = resolve_loss_kwargs(loss_kwargs)
    record_every = max(1, steps // 20) if record_every is None else check_positive_int("record_every", record_every)
    n = X1.shape[0]
    Z = torch.cat([X1, X2])                                                          # (2n, d)
    with torch.no_grad():
        F0 = net(Z).to(dtype) * output_scale                                          # (2n, K)
        Fe0 = None if X_eval is None else net(as_tensor("X_eval", X_eval, dtype=p0.dtype)).to(dtype) * output_scale
    K = F0.shape[1]
    if kernel == "empirical":
        Th = empirical_ntk(net, Z, mode="full").to(dtype)                            # (2n, 2n, K, K)
        Tmat = Th.permute(0, 2, 1, 3).reshape(2 * n * K, 2 * n * K)
        apply = lambda G: (Tmat @ G.reshape(-1)).reshape(2 * n, K)
        Te = None if X_eval is None else empirical_ntk(net, X_eval, Z, mode="full").to(dtype)
    else:
        act = getattr(net, "act", None)
        if act is None:
            raise ValueError("kernel='analytic' needs a TwoLayerNet (its activation defines θ∞).")
        Kmat = analytic_ntk(Z.to(dtype), activation=act, bias_std=net.bias_std)     # (2n, 2n)
        apply = lambda G: Kmat @ G
        Te = None if X_eval is None else analytic_ntk(as_tensor("X_eval", X_eval, dtype=dtype), Z.to(dtype),
                                                      activation=act, bias_std=net.bias_std)
    F = F0.clone()
    Gsum = torch.zeros_like(F)
    res = LinearizedResult(kernel=kernel, F0=F0)
    for t in range(steps + 1):
        Fg = F.clone().requires_grad_(True)
        loss = barlow_twins_loss(Fg[:n], Fg[n:], **kw)
        if t % record_every == 0 or t == steps:
            res.step.append(t)
            res.loss.append(float(loss.detach()))
        if not math.isfinite(float(loss.detach())):
            from .train import TrainingDivergedError

            raise TrainingDivergedError(f"The kernel dynamics diverged at step {t} with lr={lr}; "
                                        f"use a smaller learning rate (e.g. lr={lr / 10:g}).")
        if t == steps:
            break
        (G,) = torch.autograd.grad(loss, Fg)
        Gsum += G
        F = F - lr * apply(G)
    alpha = -lr * Gsum                                                                # (2n, K)
    res.F, res.alpha = F, alpha
    res.rkhs_norm = float(torch.sqrt((alpha * apply(alpha)).sum().clamp_min(0)))
    if X_eval is not None:
        if kernel == "empirical":
            ne = Te.shape[0]
            res.F_eval = Fe0 + (Te.permute(0, 2, 1, 3).reshape(ne * K, 2 * n * K) @ alpha.reshape(-1)).reshape(ne, K)
        else:
            res.F_eval = Fe0 + Te @ alpha
    return res


# ------------------------------------------------------------------------ comparisons
def _pair(A, B):
    A = as_tensor("A", A, dtype=torch.float64)
    B = as_tensor("B", B, dtype=torch.float64)
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape (same inputs, same K), got {tuple(A.shape)} and "
                         f"{tuple(B.shape)}.")
    return A, B


def procrustes_distance(A, B) -> float:
    """min over orthogonal R of ‖A R − B‖_F / ‖B‖_F (R = U Vᵀ from the SVD of AᵀB)."""
    A, B = _pair(A, B)
    U, _, Vh = torch.linalg.svd(A.T @ B)
    R = U @ Vh
    return float(torch.linalg.norm(A @ R - B) / torch.linalg.norm(B))


def linear_cka(A, B) -> float:
    """Linear CKA ‖ÃᵀB̃‖²_F / (‖ÃᵀÃ‖_F ‖B̃ᵀB̃‖_F) with column-centred Ã, B̃; 1 for rotated copies."""
    A, B = _pair(A, B)
    A = A - A.mean(0)
    B = B - B.mean(0)
    return float(torch.linalg.norm(A.T @ B) ** 2 / (torch.linalg.norm(A.T @ A) * torch.linalg.norm(B.T @ B)))
