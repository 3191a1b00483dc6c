"""The Barlow Twins loss (SPEC §3).

With embeddings z_i = f(x_i), z_i⁺ = f(x_i⁺) ∈ R^K, optionally standardized per feature over the
batch, the cross-correlation is C = (1/n) Σ_i z_i z_i⁺ᵀ (K×K), and

    L = Σ_k (1 − C_kk)² + λ Σ_{k≠l} C_kl².

Presets: "paper" (no normalization, λ = 1, C as is): L = ‖C − I‖²_F, the loss the theory analyses;
"original" (batch-norm standardization, λ = 0.0051), as in facebookresearch/barlowtwins.
"""
from __future__ import annotations

import torch

from ._checks import check_choice, check_real

NORMALIZATIONS = (None, "batchnorm")
PRESETS = {
    "paper": {"lambd": 1.0, "normalize": None, "symmetric": False},
    "original": {"lambd": 0.0051, "normalize": "batchnorm", "symmetric": False},
    "symmetric": {"lambd": 1.0, "normalize": None, "symmetric": True},
}
BN_EPS = 1e-5


def loss_preset(name: str) -> dict:
    """The keyword arguments of a named preset ("paper", "original", "symmetric")."""
    check_choice("loss preset", name, tuple(PRESETS))
    return dict(PRESETS[name])


def resolve_loss_kwargs(loss_kwargs) -> dict:
    """Accept None (the "paper" preset), a preset name, or a dict (optionally with "preset")."""
    if loss_kwargs is None:
        return loss_preset("paper")
    if isinstance(loss_kwargs, str):
        return loss_preset(loss_kwargs)
    if not isinstance(loss_kwargs, dict):
        raise TypeError(f"loss_kwargs must be None, a preset name or a dict, got {type(loss_kwargs).__name__}.")
    kw = dict(loss_kwargs)
    base = loss_preset(kw.pop("preset")) if "preset" in kw else loss_preset("paper")
    unknown = set(kw) - {"lambd", "normalize", "symmetric"}
    if unknown:
        raise ValueError(f"Unknown loss option(s) {sorted(unknown)}; valid ones are 'preset', 'lambd', "
                         "'normalize', 'symmetric'.")
    base.update(kw)
    return base


def batch_standardize(z: torch.Tensor) -> torch.Tensor:
    """(z − mean) / √(biased var + 1e-5) per feature over the batch (BatchNorm1d without affine)."""
    return (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + BN_EPS)


def cross_correlation(z1: torch.Tensor, z2: torch.Tensor, *, normalize=None, symmetric: bool = False):
    """C = (1/n) Σ_i z_i z_i⁺ᵀ (K×K), after optional batch standardization; (C + Cᵀ)/2 if symmetric."""
    check_choice("normalize", normalize, NORMALIZATIONS)
    if normalize == "batchnorm":
        z1, z2 = batch_standardize(z1), batch_standardize(z2)
    C = z1.T @ z2 / z1.shape[0]                                                       # (K, K)
    return (C + C.T) / 2 if symmetric else C


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, *, lambd: float = 1.0, normalize=None,
                      symmetric: bool = False, preset: str | None = None) -> torch.Tensor:
    """Barlow Twins loss L = Σ_k (1 − C_kk)² + λ Σ_{k≠l} C_kl² of two embedding batches (n, K).

    ``preset`` ("paper" or "original") sets ``lambd``, ``normalize`` and ``symmetric`` at once.
    """
    if preset is not None:
        kw = loss_preset(preset)
        lambd, normalize, symmetric = kw["lambd"], kw["normalize"], kw["symmetric"]
    for name, z in (("z1", z1), ("z2", z2)):
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(z).__name__}.")
        if z.ndim != 2:
            raise ValueError(f"Expected {name} to be 2D (n, K), got shape {tuple(z.shape)}.")
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}.")
    lambd = check_real("lambd", lambd, low=0.0)
    C = cross_correlation(z1, z2, normalize=normalize, symmetric=symmetric)
    diag = torch.diagonal(C)
    on = ((1 - diag) ** 2).sum()
    off = (C * C).sum() - (diag * diag).sum()
    return on + lambd * off


def output_gradient(z1: torch.Tensor, z2: torch.Tensor):
    """∂L/∂z for the "paper" preset: ∂L/∂z_i = (2/n)(C − I) z_i⁺, ∂L/∂z_i⁺ = (2/n)(C − I)ᵀ z_i."""
    n, K = z1.shape
    E = z1.T @ z2 / n - torch.eye(K, dtype=z1.dtype, device=z1.device)
    return (2 / n) * z2 @ E.T, (2 / n) * z1 @ E
