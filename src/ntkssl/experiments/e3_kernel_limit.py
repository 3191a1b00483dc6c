"""E3 — convergence to the kernel model: network vs kernel-dynamics embeddings as M grows.

For each width and seed the network trained by gradient descent is compared with the kernel
dynamics from the same initial outputs, with Θ_0 (its empirical NTK: the linearized network) and
with θ∞ ⊗ I_K (the infinite-width model), by the Procrustes distance on the training inputs and
on held-out clean inputs. Verdict: "holds" when the 95% interval of the log-log slope of the Θ_0
distance (training inputs) vs width lies below 0.
"""
from __future__ import annotations

import sys

from dataclasses import dataclass, field

import torch

from ..kernel_bt import linearized_training, procrustes_distance
from ..train import train
from .common import WidthSweepConfig, group, loglog_slope, run_serially, task_setup, width_seed_tasks

TITLE = "E3: the trained network converges to the kernel model"


@dataclass
class Config(WidthSweepConfig):
    seeds: list = field(default_factory=lambda: [0, 1])
    steps: int = 100
    holdout: int = 200


def tasks(cfg: Config):
    return width_seed_tasks(cfg)


def run_task(cfg: Config, task: dict) -> dict:
    X1, X2, Xh, net = task_setup(cfg, task, holdout=cfg.holdout)
    lin = linearized_training(net, X1, X2, steps=cfg.steps, lr=cfg.lr, kernel="empirical", X_eval=Xh,
                              loss_kwargs=cfg.loss)
    inf = linearized_training(net, X1, X2, steps=cfg.steps, lr=cfg.lr, kernel="analytic", X_eval=Xh,
                              loss_kwargs=cfg.loss)
    train(net, X1, X2, steps=cfg.steps, lr=cfg.lr, loss_kwargs=cfg.loss, ntk_probe=None, verbose=False)
    with torch.no_grad():
        F = net(torch.cat([X1, X2])).double().cpu()
        Fh = net(Xh).double().cpu()
    return {"width": task["width"], "seed": task["seed"],
            "dist_empirical_train": procrustes_distance(F, lin.F.cpu()),
            "dist_empirical_heldout": procrustes_distance(Fh, lin.F_eval.cpu()),
            "dist_analytic_train": procrustes_distance(F, inf.F.cpu()),
            "dist_analytic_heldout": procrustes_distance(Fh, inf.F_eval.cpu())}


def summarize(cfg: Config, results: list) -> dict:
    out = {}
    for name in ("empirical_train", "empirical_heldout", "analytic_train", "analytic_heldout"):
        widths, vals = group(results, "width", f"dist_{name}")
        out[name] = {"mean": [sum(v) / len(v) for v in vals], **loglog_slope(widths, vals)}
    out["widths"] = widths
    e = out["empirical_train"]
    a = out["analytic_train"]
    out["verdict"] = "holds" if e["ci_high"] < 0 else "not shown"
    out["statement"] = (f"Procrustes distance network ↔ Θ_0 dynamics falls like M^{e['slope']:.2f} (95% CI "
                        f"[{e['ci_low']:.2f}, {e['ci_high']:.2f}]); network ↔ θ∞ dynamics like M^{a['slope']:.2f} "
                        f"(CI [{a['ci_low']:.2f}, {a['ci_high']:.2f}]); held-out inputs: "
                        f"M^{out['empirical_heldout']['slope']:.2f} and M^{out['analytic_heldout']['slope']:.2f}.")
    return out


def run(config: Config | None = None) -> dict:
    """Run every task serially and summarize: {"tasks": [...], "summary": {...}}."""
    return run_serially(sys.modules[__name__], config)
