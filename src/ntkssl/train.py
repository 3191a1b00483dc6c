"""Gradient-descent training with the recorded NTK drift (SPEC §4).

Full-batch gradient descent θ ← θ − η ∇_θ L on the fixed 2n inputs Z = (x_1..x_n, x_1⁺..x_n⁺):
a discretized gradient flow. In the NTK parametrization η = O(1) independently of the width M.
Per recorded step the history holds the loss, ‖θ_t − θ_0‖ (Frobenius, over the trained
parameters), the relative NTK change ‖Θ_t − Θ_0‖_F/‖Θ_0‖_F on a fixed probe set, and wall time.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ._checks import as_tensor, check_positive_int, check_real, check_same_shape
from .loss import barlow_twins_loss, resolve_loss_kwargs

PROBE_BUDGET = 4096   # probe all of Z when 2nK <= this, else a fixed random subset of Z


class TrainingDivergedError(ValueError):
    """The loss became NaN or infinite; raised with the step and the learning rate."""


@dataclass
class History:
    """Recorded training curves (plain lists, JSON-ready)."""

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    displacement: list = field(default_factory=list)
    ntk_change: list = field(default_factory=list)
    time: list = field(default_factory=list)
    config: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def __repr__(self) -> str:
        if not self.step:
            return "History(empty)"
        return (f"History(steps={self.step[-1]}, loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}, "
                f"|θ-θ0|={self.displacement[-1]:.4g}, ntk_change={self.ntk_change[-1]})")


def default_probe(X1: torch.Tensor, X2: torch.Tensor, d_out: int, *, seed: int = 0) -> torch.Tensor:
    """All of Z when 2nK ≤ 4096, else a fixed random subset of Z with ⌊4096/K⌋ points."""
    Z = torch.cat([X1, X2])
    if Z.shape[0] * d_out <= PROBE_BUDGET:
        return Z
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(Z.shape[0], generator=g)[: max(1, PROBE_BUDGET // d_out)]
    return Z[idx]


def _probe_ntk(net, probe):
    from .ntk import empirical_ntk

    return empirical_ntk(net, probe, mode="full")


def train(net: nn.Module, X1, X2, *, steps: int, lr: float, loss_kwargs=None, record_every: int | None = None,
          ntk_probe="auto", verbose: bool = True, log_path=None, batch_size: int | None = None,
          train_layers=None, seed: int = 0) -> History:
    """Train ``net`` on the positive pairs (X1[i], X2[i]) with the Barlow Twins loss.

    Parameters
    ----------
    steps, lr : number of gradient steps T and learning rate η (> 0).
    loss_kwargs : None ("paper" preset), a preset name, or a dict of loss options.
    record_every : record every this many steps (default steps // 20); step 0 and T always.
    ntk_probe : "auto" (SPEC §5 default probe), a tensor of probe inputs, or None to skip the NTK.
    batch_size : pairs per minibatch for SGD (default: full batch).
    train_layers : e.g. ("W",) to train one layer of a TwoLayerNet (default: all parameters).
    log_path : write one JSON line per recorded step there.

    Raises TrainingDivergedError (a ValueError) when the loss turns NaN or infinite.
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}.")
    steps = check_positive_int("steps", steps)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    p0 = next(net.parameters())
    X1 = as_tensor("X1", X1, dtype=p0.dtype).to(p0.device)
    X2 = as_tensor("X2", X2, dtype=p0.dtype).to(p0.device)
    check_same_shape("X1", X1, "X2", X2)
    d_in = getattr(net, "d_in", X1.shape[1])
    if X1.shape[1] != d_in:
        raise ValueError(f"X1 has {X1.shape[1]} features but the network expects d_in={d_in}.")
    kw = resolve_loss_kwargs(loss_kwargs)
    record_every = max(1, steps // 20) if record_every is None else check_positive_int("record_every", record_every)
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
    if train_layers is not None:
        if not hasattr(net, "set_trainable"):
            raise ValueError("train_layers needs a TwoLayerNet; freeze parameters with requires_grad_(False) instead.")
        net.set_trainable(train_layers)
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("net has no trainable parameter (all requires_grad=False).")
    init = [p.detach().clone() for p in params]
    n = X1.shape[0]
    with torch.no_grad():
        d_out = net(X1[:1]).shape[1]
    if isinstance(ntk_probe, str):
        if ntk_probe != "auto":
            raise ValueError(f"ntk_probe must be 'auto', a tensor of inputs or None, got {ntk_probe!r}.")
        ntk_probe = default_probe(X1, X2, d_out, seed=seed)
    elif ntk_probe is not None:
        ntk_probe = as_tensor("ntk_probe", ntk_probe, dtype=p0.dtype).to(p0.device)
    theta0 = _probe_ntk(net, ntk_probe) if ntk_probe is not None else None

    hist = History(config={"steps": steps, "lr": lr, "loss": kw, "n_pairs": n, "batch_size": batch_size,
                           "record_every": record_every})
    log = open(log_path, "w") if log_path is not None else None
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()

    def record(t, loss_value):
        from .ntk import ntk_change

        with torch.no_grad():
            disp = math.sqrt(sum(float(((p - q) ** 2).sum()) for p, q in zip(params, init)))
        change = ntk_change(_probe_ntk(net, ntk_probe), theta0) if theta0 is not None else None
        for key, val in (("step", t), ("loss", loss_value), ("displacement", disp), ("ntk_change", change),
                         ("time", time.perf_counter() - start)):
            getattr(hist, key).append(val)
        if log is not None:
            log.write(json.dumps({"step": t, "loss": loss_value, "displacement": disp, "ntk_change": change,
                                  "time": hist.time[-1]}) + "\n")
            log.flush()

    try:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="train", disable=not (verbose and sys.stderr.isatty()), leave=False)
        for t in range(steps + 1):
            if batch_size is None or batch_size >= n:
                b1, b2 = X1, X2
            else:
                idx = torch.randperm(n, generator=g)[:batch_size].to(X1.device)
                b1, b2 = X1[idx], X2[idx]
            loss = barlow_twins_loss(net(b1), net(b2), **kw)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"The loss became {value} at step {t} with learning rate lr={lr}; training diverged. "
                    f"Use a smaller learning rate (e.g. lr={lr / 10:g}).")
            if t % record_every == 0 or t == steps:
                if batch_size is not None and batch_size < n:
                    with torch.no_grad():
                        full = float(barlow_twins_loss(net(X1), net(X2), **kw))
                else:
                    full = value
                record(t, full)
            if t == steps:
                break
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, gr in zip(params, grads):
                    p.sub_(lr * gr)
            bar.update(1)
            if t % max(1, steps // 100) == 0:
                bar.set_postfix(loss=f"{value:.4g}")
        bar.close()
    finally:
        if log is not None:
            log.close()
    return hist
