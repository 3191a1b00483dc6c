"""Activations and their Gaussian expectations, kept together (one object per σ).

The analytic NTK (SPEC §5) needs, for (u, u') ~ N(0, [[q11, q12], [q12, q22]]),

    E_ss = E[σ(u) σ(u')]        (the NNGP kernel of the layer)
    E_dd = E[σ'(u) σ'(u')]      (the derivative kernel)

Closed forms exist for relu, erf and identity. For tanh (or any σ given as a callable) they are
two-dimensional Gauss–Hermite sums. When every input has the same norm q11 = q22 = q (the
per-sample normalization of SPEC §1), both depend on the correlation ρ = q12/q only, and a
precomputed table in ρ (cubic Hermite interpolation with the exact slopes of Price's theorem,
dE_ss/dρ = q E_dd and dE_dd/dρ = q E[σ''(u)σ''(u')]) makes them as cheap as relu.
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import torch

ACTIVATIONS = ("tanh", "erf", "relu", "identity")

DEFAULT_QUAD_DEGREE = 180
TABLE_INTERVALS = 512


def _hermite_normal(degree: int, dtype, device):
    """Nodes z and weights w with Σ w g(z) ≈ E[g(Z)], Z ~ N(0, 1) (probabilists' Gauss–Hermite)."""
    t, w = np.polynomial.hermite.hermgauss(degree)
    z = torch.as_tensor(t * math.sqrt(2.0), dtype=dtype, device=device)
    w = torch.as_tensor(w / math.sqrt(math.pi), dtype=dtype, device=device)
    return z, w


class Activation:
    """An activation σ with σ', optionally σ'', and its Gaussian expectations.

    Subclasses with closed forms override :meth:`gauss`; the default implementation is
    Gauss–Hermite quadrature (degree ``quad_degree``), with the equal-norm table fast path.
    """

    name = "custom"
    closed_form = False

    def __init__(self, fn: Callable | None = None, deriv: Callable | None = None,
                 deriv2: Callable | None = None, name: str | None = None):
        if fn is not None:
            self._fn, self._deriv, self._deriv2 = fn, deriv, deriv2
            if deriv is None:
                raise ValueError("A custom activation needs its derivative: Activation(fn, deriv, [deriv2]).")
            self.name = name or getattr(fn, "__name__", "custom")

    # -- forward pass and derivatives -------------------------------------------------
    def fn(self, h: torch.Tensor) -> torch.Tensor:
        return self._fn(h)

    def deriv(self, h: torch.Tensor) -> torch.Tensor:
        return self._deriv(h)

    def deriv2(self, h: torch.Tensor) -> torch.Tensor:
        if getattr(self, "_deriv2", None) is None:
            raise NotImplementedError(f"{self.name} has no second derivative")
        return self._deriv2(h)

    @property
    def has_deriv2(self) -> bool:
        return type(self).deriv2 is not Activation.deriv2 or getattr(self, "_deriv2", None) is not None

    def fn_and_deriv(self, h):
        return self.fn(h), self.deriv(h)

    # -- Gaussian expectations ----------------------------------------------------------
    def gauss(self, q11, q22, q12, *, method: str = "auto", quad_degree: int = DEFAULT_QUAD_DEGREE,
              norm_rtol: float = 1e-6):
        """(E_ss, E_dd) elementwise for tensors q11, q22, q12 of one shape.

        ``method``: "auto" (table when all norms agree to ``norm_rtol`` and σ'' is known, else
        quadrature), "table" or "quadrature". q11, q22 may be broadcastable against q12 (e.g. (n1, 1)
        and (1, n2)). The table is read at ρ = q12/q̄ with q̄ the common norm; norms that differ by δ
        (float32-normalized data: δ ~ 1e-7) change the result by O(δ).
        """
        if method in ("auto", "table") and self.has_deriv2:
            q = _common_norm(q11, q22, norm_rtol)
            if q is not None:
                return self.table(q).lookup(q12 * (1.0 / q))
            if method == "table":
                raise ValueError("method='table' needs inputs of equal norm (normalize them per sample, SPEC §1); "
                                 "use method='quadrature' for arbitrary inputs.")
        return gauss_quadrature(self, q11, q22, q12, degree=quad_degree)

    def table(self, q: float) -> "CorrelationTable":
        return _table(self, round(float(q), 12))

    def __repr__(self):
        return f"<activation {self.name}>"


def _common_norm(q11, q22, rtol):
    """The common norm (mean, rounded) when all q11, q22 agree to ``rtol`` relative, else None."""
    if not q11.numel():
        return 1.0
    lo = min(float(q11.min()), float(q22.min()))
    hi = max(float(q11.max()), float(q22.max()))
    if lo <= 0 or hi - lo > rtol * hi:
        return None
    if hi == lo:
        return hi
    return round((hi + lo) / 2, 6)


def gauss_quadrature(act: Activation, q11, q22, q12, *, degree: int = DEFAULT_QUAD_DEGREE,
                     with_dd2: bool = False, chunk: int = 64):
    """Two-dimensional Gauss–Hermite estimate of E[σσ'], E[σ'σ''] (and E[σ''σ''] if asked).

    Writes (u, u') = (√q11 z1, (q12/√q11) z1 + √(q22 − q12²/q11) z2) with z1, z2 independent
    standard normals, so the expectation is Σ_a Σ_b w_a w_b g(u_a) g(u'_ab).
    """
    shape = q12.shape
    dtype = torch.float64
    a11, a22, a12 = (t.reshape(-1).to(dtype) for t in torch.broadcast_tensors(q11, q22, q12))
    z, w = _hermite_normal(degree, dtype, q12.device)
    s1 = torch.sqrt(a11.clamp_min(0))
    b = torch.where(s1 > 0, a12 / s1.clamp_min(1e-300), torch.zeros_like(a12))
    c = torch.sqrt((a22 - b * b).clamp_min(0))
    outs = [torch.empty_like(a12) for _ in range(3 if with_dd2 else 2)]
    for lo in range(0, a12.numel(), chunk):
        sl = slice(lo, lo + chunk)
        u = s1[sl, None] * z                                                         # (P, D)
        up = (b[sl, None, None] * z[None, :, None] + c[sl, None, None] * z[None, None, :])  # (P, D, D)
        fu, du = act.fn_and_deriv(u)
        fup, dup = act.fn_and_deriv(up)
        inner_f = fup @ w                                                             # (P, D)
        inner_d = dup @ w
        outs[0][sl] = (fu * inner_f) @ w
        outs[1][sl] = (du * inner_d) @ w
        if with_dd2:
            outs[2][sl] = (act.deriv2(u) * (act.deriv2(up) @ w)) @ w
    return tuple(o.reshape(shape).to(q12.dtype) for o in outs)


class CorrelationTable:
    """E_ss(ρ) and E_dd(ρ) at fixed norm q, for ρ ∈ [−1, 1], read off a table.

    Built in two stages. A coarse grid (``intervals`` = 512) holds quadrature values and the exact
    slopes of Price's theorem (dE_ss/dρ = q E_dd, dE_dd/dρ = q E[σ''σ'']), so cubic Hermite
    interpolation on it is accurate to O(h⁴) ≈ 1e-12. That interpolant is sampled on a fine grid
    of ``fine`` = 2¹⁶ intervals, where linear interpolation (error ≤ h²/8 · max|E''| ≈ 1e-10) costs one
    gather and two fused multiply-adds per entry: as cheap as the relu closed form.
    """

    def __init__(self, act: Activation, q: float, *, intervals: int = TABLE_INTERVALS,
                 degree: int | None = None, fine: int = 2 ** 16):
        # Gauss–Hermite error for tanh: ~1e-15 at degree 160 for q = 1, ~1e-10 at 240 for q = 4
        degree = degree or (200 if q <= 2 else 320)
        self.q, self.intervals = q, intervals
        rho = torch.linspace(-1.0, 1.0, intervals + 1, dtype=torch.float64)
        qq = torch.full_like(rho, q)
        ess, edd, e22 = gauss_quadrature(act, qq, qq, rho * q, degree=degree, with_dd2=True)
        self.h = 2.0 / intervals
        self.values = torch.stack([ess, edd])                                         # (2, G+1)
        self.slopes = torch.stack([q * edd, q * e22]) * self.h                        # dE/dρ · h
        self.fine = fine
        grid = torch.linspace(-1.0, 1.0, fine + 1, dtype=torch.float64)
        f_ss, f_dd = self.cubic(grid)
        # rows: [E_ss(ρ_i), E_ss(ρ_{i+1}) − E_ss(ρ_i), E_dd(ρ_i), E_dd(ρ_{i+1}) − E_dd(ρ_i)]
        self._rows = torch.stack([f_ss[:-1], f_ss[1:] - f_ss[:-1], f_dd[:-1], f_dd[1:] - f_dd[:-1]], 1)  # (F, 4)
        self._cache = {}

    def cubic(self, rho: torch.Tensor):
        """Cubic Hermite interpolation on the coarse grid (float64), used to build the fine table."""
        pos = (rho.to(torch.float64).clamp(-1.0, 1.0) + 1.0) / self.h
        i = pos.floor().clamp(0, self.intervals - 1)
        t = pos - i
        i = i.long()
        t2, t3 = t * t, t * t * t
        h00, h10, h01, h11 = 2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + t, -2 * t3 + 3 * t2, t3 - t2
        out = [h00 * v[i] + h10 * s[i] + h01 * v[i + 1] + h11 * s[i + 1] for v, s in zip(self.values, self.slopes)]
        return out[0], out[1]

    def _table(self, dtype, device):
        key = (dtype, str(device))
        if key not in self._cache:
            self._cache[key] = self._rows.to(device=device, dtype=dtype)
        return self._cache[key]

    def lookup(self, rho: torch.Tensor):
        """(E_ss, E_dd) at correlations ``rho``, computed in rho's dtype (float32 stays float32)."""
        dtype = rho.dtype if rho.is_floating_point() else torch.float64
        rows = self._table(dtype, rho.device)
        half = self.fine / 2
        pos = torch.clamp(rho.to(dtype) * half + half, 0.0, float(self.fine))      # ρ = −1 + 2·pos/F
        i = pos.to(torch.int32).clamp_(max=self.fine - 1)                             # floor, as pos ≥ 0
        t = pos - i
        r = torch.index_select(rows, 0, i.reshape(-1)).view(*pos.shape, 4)            # (..., 4)
        return torch.addcmul(r[..., 0], t, r[..., 1]), torch.addcmul(r[..., 2], t, r[..., 3])


@functools.lru_cache(maxsize=32)
def _table(act: Activation, q: float) -> CorrelationTable:
    return CorrelationTable(act, q)


# ------------------------------------------------------------------------ the activations
class Tanh(Activation):
    """σ = tanh, σ' = 1 − tanh², σ'' = −2 tanh (1 − tanh²). No closed-form kernel."""

    name = "tanh"

    def fn(self, h):
        return torch.tanh(h)

    def deriv(self, h):
        t = torch.tanh(h)
        return 1 - t * t

    def deriv2(self, h):
        t = torch.tanh(h)
        return -2 * t * (1 - t * t)

    def fn_and_deriv(self, h):
        t = torch.tanh(h)
        return t, 1 - t * t

    __hash__ = object.__hash__


class Erf(Activation):
    """σ = erf, σ' = (2/√π) e^{−u²}.

    E_ss = (2/π) arcsin(2 q12 / √((1 + 2 q11)(1 + 2 q22)))
    E_dd = (4/π) / √((1 + 2 q11)(1 + 2 q22) − 4 q12²)
    """

    name = "erf"
    closed_form = True

    def fn(self, h):
        return torch.erf(h)

    def deriv(self, h):
        return (2 / math.sqrt(math.pi)) * torch.exp(-h * h)

    def deriv2(self, h):
        return (-4 / math.sqrt(math.pi)) * h * torch.exp(-h * h)

    def gauss(self, q11, q22, q12, **_):
        prod = (1 + 2 * q11) * (1 + 2 * q22)
        ess = (2 / math.pi) * torch.asin((2 * q12 / torch.sqrt(prod)).clamp(-1, 1))
        edd = (4 / math.pi) / torch.sqrt((prod - 4 * q12 * q12).clamp_min(1e-300))
        return ess, edd

    __hash__ = object.__hash__


class ReLU(Activation):
    """σ = max(0, u), σ' = 1[u > 0] (arc-cosine kernels of degree 1 and 0).

    With θ the angle between the inputs, computed stably as θ = atan2(√(q11 q22 − q12²), q12):
    E_ss = (√(q11 q22 − q12²) + (π − θ) q12) / (2π)   [= √(q11 q22)(sin θ + (π − θ) cos θ)/(2π)]
    E_dd = (π − θ) / (2π)
    """

    name = "relu"
    closed_form = True

    def fn(self, h):
        return torch.relu(h)

    def deriv(self, h):
        return (h > 0).to(h.dtype)

    def gauss(self, q11, q22, q12, **_):
        prod = q11 * q22
        det = prod - q12 * q12
        eps = torch.finfo(q12.dtype).eps
        det = torch.where(det <= 8 * eps * prod.abs(), torch.zeros_like(det), det)   # x ∥ x' exactly
        root = torch.sqrt(det)
        theta = torch.atan2(root, q12)
        ess = (root + (math.pi - theta) * q12) / (2 * math.pi)
        edd = (math.pi - theta) / (2 * math.pi)
        return ess, edd

    __hash__ = object.__hash__


class Identity(Activation):
    """σ(u) = u: E_ss = q12, E_dd = 1."""

    name = "identity"
    closed_form = True

    def fn(self, h):
        return h

    def deriv(self, h):
        return torch.ones_like(h)

    def deriv2(self, h):
        return torch.zeros_like(h)

    def gauss(self, q11, q22, q12, **_):
        return q12.clone(), torch.ones_like(q12)

    __hash__ = object.__hash__


_REGISTRY = {"tanh": Tanh(), "erf": Erf(), "relu": ReLU(), "identity": Identity()}


def get_activation(activation) -> Activation:
    """Look up an activation by name, or pass an :class:`Activation` through."""
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a name {ACTIVATIONS} or an Activation, got {type(activation).__name__}.")
    if activation not in _REGISTRY:
        raise ValueError(f"Unknown activation {activation!r}; valid values are: {', '.join(map(repr, ACTIVATIONS))} "
                         "(or pass ntkssl.Activation(fn, deriv) for your own).")
    return _REGISTRY[activation]
