"""Networks in the NTK parametrization (SPEC §2).

TwoLayerNet:  f(x) = V σ(W x/√d + b_std·b) / √M ∈ R^K,   W (M, d), V (K, M), b (M,), entries N(0, 1).
MLP:          L hidden layers, h₁ = W₁x/√d + b_std·b₁, h_{l+1} = W_{l+1} σ(h_l)/√M + b_std·b_{l+1},
              f = V σ(h_L)/√M.
``parametrization="standard"`` draws W ~ N(0, 1/d), V ~ N(0, 1/M) and drops the explicit factors
(the usual ``nn.Linear`` scaling): the same functions, a different gradient geometry.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import as_tensor, check_choice, check_positive_int, check_real
from .activations import Activation, get_activation

PARAMETRIZATIONS = ("ntk", "standard")


def _check_input(net, x):
    x = as_tensor("x", x, dtype=net.V.dtype)
    if x.shape[1] != net.d_in:
        raise ValueError(f"x has {x.shape[1]} features but the network expects d_in={net.d_in}; "
                         "pass inputs of shape (n, d_in).")
    return x.to(net.V.device)


class TwoLayerNet(nn.Module):
    """Two-layer network f(x) = V σ(W x/√d + b_std·b)/√M (NTK parametrization).

    Parameters
    ----------
    d_in, width, d_out : input dimension d, hidden width M, output dimension K.
    activation : "tanh" (default), "erf", "relu", "identity" or an :class:`Activation`.
    parametrization : "ntk" (default) or "standard".
    bias_std : b_std; biases are used (and trained with W) when > 0.
    seed : seed of the initialization (a private generator; global RNG state is untouched).
    """

    def __init__(self, d_in: int, width: int, d_out: int, *, activation="tanh", parametrization: str = "ntk",
                 bias_std: float = 0.0, seed: int = 0, dtype: torch.dtype = torch.float32, device="cpu"):
        super().__init__()
        self.d_in = check_positive_int("d_in", d_in)
        self.width = check_positive_int("width", width)
        self.d_out = check_positive_int("d_out", d_out)
        self.act: Activation = get_activation(activation)
        self.parametrization = check_choice("parametrization", parametrization, PARAMETRIZATIONS)
        self.bias_std = check_real("bias_std", bias_std, low=0.0)
        g = torch.Generator().manual_seed(int(seed))
        W = torch.randn(width, d_in, generator=g, dtype=torch.float64)
        V = torch.randn(d_out, width, generator=g, dtype=torch.float64)
        if parametrization == "ntk":
            self.w_scale, self.v_scale = 1 / math.sqrt(d_in), 1 / math.sqrt(width)
        else:
            W, V = W / math.sqrt(d_in), V / math.sqrt(width)
            self.w_scale, self.v_scale = 1.0, 1.0
        self.W = nn.Parameter(W.to(dtype=dtype, device=device))                      # (M, d)
        self.V = nn.Parameter(V.to(dtype=dtype, device=device))                      # (K, M)
        if self.bias_std > 0:
            self.b = nn.Parameter(torch.randn(width, generator=g, dtype=torch.float64).to(dtype=dtype, device=device))
        else:
            self.b = None

    @property
    def activation(self) -> str:
        return self.act.name

    def preactivation(self, x: torch.Tensor) -> torch.Tensor:
        h = (x * self.w_scale) @ self.W.T                                             # (n, M)
        if self.b is not None:
            h = h + self.bias_std * self.b
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.act.fn(self.preactivation(x)) @ self.V.T) * self.v_scale        # (n, K)

    def set_trainable(self, train=("W", "V")) -> "TwoLayerNet":
        """Choose the trained layers: ("W", "V") (default), ("W",) or ("V",). Biases follow W."""
        train = tuple(train)
        for name in train:
            check_choice("trained layer", name, ("W", "V"))
        if not train:
            raise ValueError("train must name at least one layer: ('W', 'V'), ('W',) or ('V',).")
        self.W.requires_grad_("W" in train)
        self.V.requires_grad_("V" in train)
        if self.b is not None:
            self.b.requires_grad_("W" in train)
        return self

    def extra_repr(self) -> str:
        return (f"d_in={self.d_in}, width={self.width}, d_out={self.d_out}, activation={self.act.name!r}, "
                f"parametrization={self.parametrization!r}, bias_std={self.bias_std}")


class MLP(nn.Module):
    """Fully connected network with ``depth`` hidden layers of width M, NTK parametrization.

    ``depth=1`` is the same function as :class:`TwoLayerNet` (different parameter layout).
    Its empirical NTK is computed by autodiff; its analytic NTK by the layer recursion
    (see :func:`ntkssl.analytic_ntk` with ``depth``).
    """

    def __init__(self, d_in: int, width: int, d_out: int, *, depth: int = 2, activation="tanh",
                 parametrization: str = "ntk", bias_std: float = 0.0, seed: int = 0,
                 dtype: torch.dtype = torch.float32, device="cpu"):
        super().__init__()
        self.d_in = check_positive_int("d_in", d_in)
        self.width = check_positive_int("width", width)
        self.d_out = check_positive_int("d_out", d_out)
        self.depth = check_positive_int("depth", depth)
        self.act = get_activation(activation)
        self.parametrization = check_choice("parametrization", parametrization, PARAMETRIZATIONS)
        self.bias_std = check_real("bias_std", bias_std, low=0.0)
        g = torch.Generator().manual_seed(int(seed))
        fan_ins = [d_in] + [width] * (depth - 1)
        ntk = parametrization == "ntk"
        self.scales = [1 / math.sqrt(f) if ntk else 1.0 for f in fan_ins]
        self.v_scale = 1 / math.sqrt(width) if ntk else 1.0

        def draw(*shape, fan):
            w = torch.randn(*shape, generator=g, dtype=torch.float64)
            return nn.Parameter((w if ntk else w / math.sqrt(fan)).to(dtype=dtype, device=device))

        self.Ws = nn.ParameterList([draw(width, f, fan=f) for f in fan_ins])
        self.V = draw(d_out, width, fan=width)
        if self.bias_std > 0:
            self.bs = nn.ParameterList([nn.Parameter(torch.randn(width, generator=g, dtype=torch.float64)
                                                     .to(dtype=dtype, device=device)) for _ in fan_ins])
        else:
            self.bs = None

    @property
    def activation(self) -> str:
        return self.act.name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x
        for l, (W, c) in enumerate(zip(self.Ws, self.scales)):
            h = (a @ W.T) * c                                                         # (n, M)
            if self.bs is not None:
                h = h + self.bias_std * self.bs[l]
            a = self.act.fn(h)
        return (a @ self.V.T) * self.v_scale                                          # (n, K)
