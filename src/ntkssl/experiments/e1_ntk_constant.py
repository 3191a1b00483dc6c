"""E1 — the NTK stays constant: relative NTK change after T steps vs width M.

For each width M and seed, train a TwoLayerNet on the pairs for T steps and measure
‖Θ_T − Θ_0‖_F/‖Θ_0‖_F on the probe set (SPEC §5). Theory: O(M^{-1/2}) at worst; the first-order
change averages out over neurons (V has random signs), so for tanh the measured slope is near −1.
Verdict: "holds" when the bootstrap 95% interval of the log-log slope lies below −0.5.
"""
from __future__ import annotations

import sys

from dataclasses import dataclass

from ..train import train
from .common import WidthSweepConfig, group, loglog_slope, run_serially, task_setup, width_seed_tasks

TITLE = "E1: the NTK stays constant as the width grows"


@dataclass
class Config(WidthSweepConfig):
    threshold: float = -0.5


def tasks(cfg: Config):
    return width_seed_tasks(cfg)


def run_task(cfg: Config, task: dict) -> dict:
    X1, X2, _, net = task_setup(cfg, task)
    h = train(net, X1, X2, steps=cfg.steps, lr=cfg.lr, loss_kwargs=cfg.loss,
              record_every=cfg.steps, verbose=False)
    return {"width": task["width"], "seed": task["seed"], "ntk_change": h.ntk_change[-1],
            "loss0": h.loss[0], "loss": h.loss[-1], "displacement": h.displacement[-1]}


def summarize(cfg: Config, results: list) -> dict:
    widths, changes = group(results, "width", "ntk_change")
    fit = loglog_slope(widths, changes)
    holds = fit["ci_high"] < cfg.threshold
    return {"widths": widths, "ntk_change_mean": [sum(c) / len(c) for c in changes], **fit,
            "verdict": "holds" if holds else "not shown",
            "statement": (f"log-log slope of the relative NTK change vs width = {fit['slope']:.2f} "
                          f"(95% bootstrap CI [{fit['ci_low']:.2f}, {fit['ci_high']:.2f}]); the claim needs the "
                          f"interval below {cfg.threshold}.")}


def run(config: Config | None = None) -> dict:
    """Run every task serially and summarize: {"tasks": [...], "summary": {...}}."""
    return run_serially(sys.modules[__name__], config)
