"""Neural tangent kernels: empirical (closed form and autodiff), analytic (M → ∞), Monte Carlo.

Empirical NTK of a network f with trained parameters θ (SPEC §5):

    Θ(x, x')_{kl} = Σ_p ∂f_k(x)/∂θ_p · ∂f_l(x')/∂θ_p,         shape (n1, n2, K, K).

For :class:`TwoLayerNet` with h = W x/√d (+ b_std b), a = σ(h), s = σ'(h), it is, in closed form,

    Θ_{kl}(x, x') = δ_kl a·a'/M + (x·x'/d + b_std²) Σ_m V_km V_lm s_m s'_m / M,

(first term from V, second from W and b), built here from matrix products only: the second term is
the Gram matrix of the rows of P[i, k, :] = V_k ⊙ s_i, computed block by block, and for x2 = None
only on the upper block triangle (Θ(x', x) = Θ(x, x')ᵀ).

Analytic NTK (M → ∞): Θ* = θ∞ I_K with θ∞(x, x') = E[σ(u)σ(u')] + q12 E[σ'(u)σ'(u')],
(u, u') ~ N(0, [[q11, q12], [q12, q22]]), q12 = x·x'/d + b_std², the convention of neural-tangents'
``stax.Dense(W_std=1) → act → Dense``.
"""
from __future__ import annotations


import torch
from torch import nn

from ._checks import as_tensor, check_choice, check_positive_int, check_real
from .activations import get_activation
from .model import MLP, TwoLayerNet

MODES = ("full", "trace")
GETS = ("ntk", "nngp", "both")


def _check_model_input(model: nn.Module, name: str, x) -> torch.Tensor:
    p = next(model.parameters())
    x = as_tensor(name, x, dtype=p.dtype)
    d_in = getattr(model, "d_in", None)
    if d_in is not None and x.shape[1] != d_in:
        raise ValueError(f"{name} has {x.shape[1]} features but the model expects d_in={d_in}; "
                         f"pass {name} of shape (n, {d_in}).")
    return x.to(p.device)


def empirical_ntk(model: nn.Module, x1, x2=None, *, mode: str = "full", batch_size: int | None = None,
                  method: str = "auto") -> torch.Tensor:
    """Empirical NTK of ``model`` between ``x1`` (n1, d) and ``x2`` (n2, d) (``x2=None``: x1 with itself).

    mode="full" gives Θ (n1, n2, K, K); mode="trace" gives (1/K) Σ_k Θ_kk, shape (n1, n2).
    ``batch_size`` bounds peak memory by computing blocks of that many rows (any value, same result).
    ``method``: "auto" (closed form for TwoLayerNet, autodiff otherwise), "closed_form" or "autodiff".
    Only parameters with ``requires_grad=True`` count (a frozen layer drops its term).
    """
    check_choice("mode", mode, MODES)
    check_choice("method", method, ("auto", "closed_form", "autodiff"))
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
    x1 = _check_model_input(model, "x1", x1)
    x2 = None if x2 is None else _check_model_input(model, "x2", x2)
    if method == "closed_form" and not isinstance(model, TwoLayerNet):
        raise ValueError("method='closed_form' needs a TwoLayerNet; use method='autodiff' for other modules.")
    if isinstance(model, TwoLayerNet) and method != "autodiff":
        return _two_layer_ntk(model, x1, x2, mode=mode, batch_size=batch_size)
    return autodiff_ntk(model, x1, x2, mode=mode, batch_size=batch_size)


# ------------------------------------------------------------------------- closed form
def _blocks(n: int, size: int):
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def _triangle_blocks(lo: int, hi: int, leaf: int):
    """Block pairs covering the upper triangle of [lo, hi)², recursively: the two diagonal halves
    recurse and the off-diagonal quarter is one large block. Flops: 1/2 + O(leaf/n) of the square,
    in few large GEMMs (uniform small blocks lose GEMM efficiency)."""
    if hi - lo <= leaf:
        return [(lo, hi, lo, hi)]
    mid = (lo + hi) // 2
    return _triangle_blocks(lo, mid, leaf) + [(lo, mid, mid, hi)] + _triangle_blocks(mid, hi, leaf)


def _two_layer_ntk(net: TwoLayerNet, x1, x2, *, mode, batch_size):
    sym = x2 is None
    xb = x1 if sym else x2
    tw = net.W.requires_grad
    tv = net.V.requires_grad
    n1, n2, K = x1.shape[0], xb.shape[0], net.d_out
    cv2 = net.v_scale ** 2
    with torch.no_grad():
        V = net.V.detach()                                                            # (K, M)

        rvbar = torch.sqrt((V * V).mean(0))                                           # √v̄ (M,)

        def feats(x):
            a, s = net.act.fn_and_deriv(net.preactivation(x))                         # a, s: (n, M)
            return (a, s.mul_(rvbar)) if mode == "trace" else (a, s)                  # trace needs u = s ⊙ √v̄

        if batch_size is None:
            if sym:
                leaf = max(32, 640 // K) if mode == "full" else 256
                pairs = _triangle_blocks(0, n1, leaf)
            else:
                pairs = [(0, n1, 0, n2)]
        else:
            rows, cols = _blocks(n1, batch_size), _blocks(n2, batch_size)
            pairs = [(i0, i1, j0, j1) for i0, i1 in rows for j0, j1 in cols if not (sym and j1 <= i0)]
        full_feats = batch_size is None or (n1 + n2) * net.width * (K if mode == "full" else 1) * 4 < 2 ** 28
        cache1 = feats(x1) if full_feats else None
        cache2 = cache1 if sym else (feats(xb) if full_feats else None)
        def block_feats(which, lo, hi):
            cache, x = (cache1, x1) if which == 1 else (cache2, xb)
            if cache is not None:
                return cache[0][lo:hi], cache[1][lo:hi]
            return feats(x[lo:hi])

        out_shape = (n1, n2, K, K) if mode == "full" else (n1, n2)
        out = torch.empty(out_shape, dtype=V.dtype, device=V.device)
        for i0, i1, j0, j1 in pairs:
            a1, s1 = block_feats(1, i0, i1)
            a2, s2 = (a1, s1) if (sym and (i0, i1) == (j0, j1)) else block_feats(2, j0, j1)
            bi, bj = i1 - i0, j1 - j0
            blk = out[i0:i1, j0:j1]
            if tw:
                Q = (x1[i0:i1] @ xb[j0:j1].T) * net.w_scale ** 2 + net.bias_std ** 2       # (bi, bj)
            if mode == "full":
                if tw:
                    P1 = (s1[:, None, :] * V[None]).reshape(-1, V.shape[1])           # (bi K, M)
                    P2 = P1 if a2 is a1 else (s2[:, None, :] * V[None]).reshape(-1, V.shape[1])
                    G = (P1 @ P2.T).view(bi, K, bj, K).permute(0, 2, 1, 3)            # (bi, bj, K, K)
                    torch.mul(G, (cv2 * Q)[:, :, None, None], out=blk)
                else:
                    blk.zero_()
                if tv:
                    blk.diagonal(dim1=2, dim2=3).add_((cv2 * (a1 @ a2.T))[:, :, None])
            else:
                # (1/K) Σ_k Θ_kk = [a·a' + Q ⊙ (u·u')]/M with u = s ⊙ √v̄, v̄_m = (1/K) Σ_k V_km²
                if tw:
                    G = torch.mm(s1, s2.T)                                            # u·u' (s holds u here)
                    G.mul_(Q)
                    if tv:
                        G.addmm_(a1, a2.T)
                else:
                    G = torch.mm(a1, a2.T)
                blk.copy_(G.mul_(cv2))
            if sym and j0 != i0:
                mirror = blk.transpose(0, 1)
                out[j0:j1, i0:i1] = mirror.transpose(2, 3) if mode == "full" else mirror
    return out


# --------------------------------------------------------------------------- autodiff
def _flat_jacobian(model: nn.Module, params: dict, x: torch.Tensor) -> torch.Tensor:
    """J (b, K, P): ∂f_k(x_i)/∂θ_p for the trained parameters, via torch.func."""
    from torch.func import functional_call, jacrev, vmap

    buffers = dict(model.named_buffers())

    def f(p, xi):
        return functional_call(model, (p, buffers), (xi[None],))[0]

    jac = vmap(jacrev(f), in_dims=(None, 0))(params, x)
    b = x.shape[0]
    return torch.cat([j.reshape(b, j.shape[1], -1) for j in jac.values()], dim=2)


def autodiff_ntk(model: nn.Module, x1, x2=None, *, mode: str = "full", batch_size: int | None = None):
    """Empirical NTK by Jacobian contraction (torch.func), for any module; chunked over samples.

    Θ[I, J] = J_I J_Jᵀ over all parameters with requires_grad=True. This is the reference the closed
    form is tested against, and the engine for deeper networks.
    """
    check_choice("mode", mode, MODES)
    x1 = _check_model_input(model, "x1", x1)
    sym = x2 is None
    xb = x1 if sym else _check_model_input(model, "x2", x2)
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    if not params:
        raise ValueError("The model has no parameter with requires_grad=True; its NTK is zero. "
                         "Unfreeze at least one layer.")
    P = sum(v.numel() for v in params.values())
    with torch.no_grad():
        K = model(x1[:1]).shape[1]
    if batch_size is None:
        batch_size = max(1, int(2 ** 26 // max(1, K * P)))            # ~256 MB of float32 Jacobian per block
    n1, n2 = x1.shape[0], xb.shape[0]
    dtype = next(iter(params.values())).dtype
    out = torch.empty((n1, n2, K, K) if mode == "full" else (n1, n2), dtype=dtype, device=x1.device)
    col_blocks = _blocks(n2, batch_size)
    cached = {}
    if n2 * K * P <= max(2 ** 26, batch_size * K * P):
        for j0, j1 in col_blocks:
            cached[(j0, j1)] = _flat_jacobian(model, params, xb[j0:j1])
    for i0, i1 in _blocks(n1, batch_size):
        J1 = cached.get((i0, i1)) if sym else None
        if J1 is None:
            J1 = _flat_jacobian(model, params, x1[i0:i1])
        for j0, j1 in col_blocks:
            J2 = cached.get((j0, j1))
            if J2 is None:
                J2 = _flat_jacobian(model, params, xb[j0:j1])
            if mode == "full":
                out[i0:i1, j0:j1] = torch.einsum("akp,blp->abkl", J1, J2)
            else:
                out[i0:i1, j0:j1] = torch.einsum("akp,bkp->ab", J1, J2) / K
    return out


def ntk_change(theta_t: torch.Tensor, theta_0: torch.Tensor) -> float:
    """Relative NTK change ‖Θ_t − Θ_0‖_F / ‖Θ_0‖_F over the whole tensor."""
    if theta_t.shape != theta_0.shape:
        raise ValueError(f"theta_t and theta_0 must have the same shape, got {tuple(theta_t.shape)} "
                         f"and {tuple(theta_0.shape)}.")
    return float(torch.linalg.vector_norm((theta_t - theta_0).double()) / torch.linalg.vector_norm(theta_0.double()))


# --------------------------------------------------------------------------- analytic
def _gram(x1, x2, bias_std):
    """q12 (n1, n2), q11 (n1,), q22 (n2,) of the first layer: x·x'/d + b_std²."""
    d = x1.shape[1]
    b2 = bias_std ** 2
    if x2 is None:
        Q = x1 @ x1.T / d + b2
        q = torch.diagonal(Q).clone()        # norms from the Gram diagonal: exact at x = x'
        return Q, q, q
    Q = (x1 * (1.0 / d)) @ x2.T
    n1, n2 = (x1 * x1).sum(1) / d, (x2 * x2).sum(1) / d
    if Q.dtype == torch.float64:           # float32 cannot resolve the difference anyway
        _refine_near_parallel(Q, n1, n2, x1, x2)
    return Q + b2, n1 + b2, n2 + b2


def _refine_near_parallel(Q, n1, n2, x1, x2):
    """Recompute x·x' for (anti)parallel pairs from ‖u ∓ u'‖², u = x/‖x‖, in place.

    A GEMM entry and a row-wise norm round differently, so q11 q22 − q12² loses all digits when
    x ∥ x' (a 1e-8 error in θ = atan2(√det, q12)); cos θ = ±(1 − ½‖u ∓ u'‖²) is exact there.
    """
    root = torch.sqrt(n1[:, None] * n2[None, :])
    near = Q.abs() >= (1 - 1e-6) * root
    if not bool(near.any()):
        return
    i, j = torch.nonzero(near, as_tuple=True)
    u = x1[i] / x1[i].norm(dim=1, keepdim=True)
    v = x2[j] / x2[j].norm(dim=1, keepdim=True)
    sign = torch.sign(Q[i, j])
    gap = ((u - sign[:, None] * v) ** 2).sum(1)
    Q[i, j] = sign * root[i, j] * (1 - gap / 2)


def _layer(act, Q, q1, q2, *, symmetric, method, quad_degree):
    """(E_ss, E_dd) on the grid of input pairs, computing each symmetric pair once for quadrature."""
    Q11, Q22 = q1[:, None], q2[None, :]                                               # broadcast, not expanded
    if act.closed_form or not symmetric or _uses_table(act, q1, q2, method):
        return act.gauss(Q11, Q22, Q, method=method, quad_degree=quad_degree)
    Q11, Q22 = Q11.expand_as(Q), Q22.expand_as(Q)
    iu = torch.triu_indices(Q.shape[0], Q.shape[1])
    ess_u, edd_u = act.gauss(Q11[iu[0], iu[1]], Q22[iu[0], iu[1]], Q[iu[0], iu[1]],
                             method=method, quad_degree=quad_degree)
    ess, edd = torch.empty_like(Q), torch.empty_like(Q)
    for full, upper in ((ess, ess_u), (edd, edd_u)):
        full[iu[0], iu[1]] = upper
        full[iu[1], iu[0]] = upper
    return ess, edd


def _uses_table(act, q1, q2, method):
    from .activations import _common_norm

    return method != "quadrature" and act.has_deriv2 and _common_norm(q1, q2, 1e-6) is not None


def analytic_ntk(x1, x2=None, *, activation="tanh", bias_std: float = 0.0, get: str = "ntk", depth: int = 1,
                 method: str = "auto", quad_degree: int = 180):
    """Infinite-width NTK θ∞ (n1, n2) of a network with ``depth`` hidden layers (SPEC §5).

    Layer recursion (q⁽¹⁾ = x·x'/d + b_std², Θ⁽¹⁾ = q⁽¹⁾):
        q⁽ˡ⁺¹⁾ = E_ss(q⁽ˡ⁾) + b_std²,   Θ⁽ˡ⁺¹⁾ = q⁽ˡ⁺¹⁾ + Θ⁽ˡ⁾ · E_dd(q⁽ˡ⁾),
    and the readout gives NNGP = E_ss(q⁽ᴸ⁾), NTK = E_ss(q⁽ᴸ⁾) + Θ⁽ᴸ⁾ · E_dd(q⁽ᴸ⁾).
    For depth 1: θ∞ = E[σ(u)σ(u')] + q12 E[σ'(u)σ'(u')].

    ``get``: "ntk", "nngp" or "both" (returns (nngp, ntk)). ``method`` for tanh and custom σ:
    "auto" (1-D correlation table when all inputs have equal norm, else 2-D Gauss–Hermite),
    "table" or "quadrature".
    """
    check_choice("get", get, GETS)
    check_choice("method", method, ("auto", "table", "quadrature"))
    act = get_activation(activation)
    bias_std = check_real("bias_std", bias_std, low=0.0)
    depth = check_positive_int("depth", depth)
    x1 = as_tensor("x1", x1)
    if x2 is not None:
        x2 = as_tensor("x2", x2, dtype=x1.dtype)
        if x2.shape[1] != x1.shape[1]:
            raise ValueError(f"x1 and x2 must have the same number of features, got {x1.shape[1]} and {x2.shape[1]}.")
    sym = x2 is None
    Q, q1, q2 = _gram(x1, x2, bias_std)
    theta = Q
    b2 = bias_std ** 2
    for layer in range(depth):
        ess, edd = _layer(act, Q, q1, q2, symmetric=sym, method=method, quad_degree=quad_degree)
        theta = ess + theta * edd if layer == depth - 1 else (ess + b2) + theta * edd
        if layer < depth - 1:
            Q = ess + b2
            if sym:
                q1 = q2 = torch.diagonal(Q).clone()
            else:
                q1 = act.gauss(q1, q1, q1, method=method, quad_degree=quad_degree)[0] + b2
                q2 = act.gauss(q2, q2, q2, method=method, quad_degree=quad_degree)[0] + b2
    if get == "ntk":
        return theta
    return ess if get == "nngp" else (ess, theta)


def monte_carlo_ntk(x1, x2=None, *, width: int, n_samples: int = 16, d_out: int = 1, activation="tanh",
                    bias_std: float = 0.0, depth: int = 1, seed: int = 0, return_std: bool = False):
    """Mean traced empirical NTK over ``n_samples`` independent initializations of width ``width``.

    Converges to the analytic θ∞ as width·n_samples grows (fluctuations O(1/√(width·n_samples))).
    With ``return_std`` also returns the standard error of the mean, entrywise.
    """
    n_samples = check_positive_int("n_samples", n_samples)
    x1 = as_tensor("x1", x1)
    d = x1.shape[1]
    acc, acc2 = 0.0, 0.0
    for s in range(n_samples):
        if depth == 1:
            net = TwoLayerNet(d, width, d_out, activation=activation, bias_std=bias_std, seed=seed + s, dtype=x1.dtype)
        else:
            net = MLP(d, width, d_out, depth=depth, activation=activation, bias_std=bias_std, seed=seed + s,
                      dtype=x1.dtype)
        th = empirical_ntk(net, x1, x2, mode="trace")
        acc = acc + th
        acc2 = acc2 + th * th
    mean = acc / n_samples
    if not return_std:
        return mean
    var = (acc2 / n_samples - mean * mean).clamp_min(0) * n_samples / max(1, n_samples - 1)
    return mean, torch.sqrt(var / n_samples)
