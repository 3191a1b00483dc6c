"""E2 — width-independent dynamics: loss and ‖θ_t − θ_0‖ curves for each width overlap.

In the NTK parametrization with a width-independent learning rate, the parameters move a
width-independent distance (a ball of fixed radius, the Grönwall argument of docs/theory.md).
Verdict: "holds" when the log-log slope of the final ‖θ_T − θ_0‖ vs M has a 95% interval inside
[−0.1, 0.1] and the seed-averaged loss curves of all widths stay within 10% of the initial loss.
"""
from __future__ import annotations

import sys

from dataclasses import dataclass

import numpy as np

from ..train import train
from .common import WidthSweepConfig, group, loglog_slope, run_serially, task_setup, width_seed_tasks

TITLE = "E2: training dynamics do not depend on the width"


@dataclass
class Config(WidthSweepConfig):
    record_every: int = 10
    slope_tolerance: float = 0.1
    loss_tolerance: float = 0.1


def tasks(cfg: Config):
    return width_seed_tasks(cfg)


def run_task(cfg: Config, task: dict) -> dict:
    X1, X2, _, net = task_setup(cfg, task)
    h = train(net, X1, X2, steps=cfg.steps, lr=cfg.lr, loss_kwargs=cfg.loss,
              record_every=cfg.record_every, ntk_probe=None, verbose=False)
    return {"width": task["width"], "seed": task["seed"], "step": h.step, "loss": h.loss,
            "displacement": h.displacement, "time": h.time}


def summarize(cfg: Config, results: list) -> dict:
    widths, finals = group(results, "width", "displacement")
    finals = [[d[-1] for d in ds] for ds in finals]
    fit = loglog_slope(widths, finals)
    _, losses = group(results, "width", "loss")
    curves = np.array([np.mean(np.array(ls), axis=0) for ls in losses])              # (n_widths, n_steps)
    spread = float((curves.max(0) - curves.min(0)).max() / curves[:, 0].mean())
    holds = (-cfg.slope_tolerance <= fit["ci_low"] and fit["ci_high"] <= cfg.slope_tolerance
             and spread <= cfg.loss_tolerance)
    return {"widths": widths, "displacement_mean": [float(np.mean(f)) for f in finals], **fit,
            "loss_spread": spread, "verdict": "holds" if holds else "not shown",
            "statement": (f"‖θ_T − θ_0‖ vs width: slope {fit['slope']:.3f} (95% CI [{fit['ci_low']:.3f}, "
                          f"{fit['ci_high']:.3f}], needs to lie within ±{cfg.slope_tolerance}); the seed-averaged loss "
                          f"curves differ across widths by at most {spread:.3f} of the initial loss "
                          f"(needs ≤ {cfg.loss_tolerance}).")}


def run(config: Config | None = None) -> dict:
    """Run every task serially and summarize: {"tasks": [...], "summary": {...}}."""
    return run_serially(sys.modules[__name__], config)
