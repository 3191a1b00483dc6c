"""E4 — beyond the theorem: relu (non-smooth) and a three-layer tanh network (autodiff NTK).

Same measurement as E1. Verdict: "observed" when the 95% interval of the slope lies below 0 for
both architectures (the theorem covers neither case; the slopes are reported as measured).
"""
from __future__ import annotations

import sys

from dataclasses import dataclass, field

import torch

from ..model import MLP, TwoLayerNet
from ..train import train
from .common import BaseConfig, check_seeds, check_sweep, device_of, group, load_pairs, loglog_slope, run_serially

TITLE = "E4: beyond the theorem — relu and a deeper network"


@dataclass
class Config(BaseConfig):
    relu_widths: list = field(default_factory=lambda: [256, 1024, 4096, 16384])
    deep_widths: list = field(default_factory=lambda: [128, 256, 512])
    deep_depth: int = 2
    seeds: list = field(default_factory=lambda: [0, 1, 2])
    probe_size: int = 32
    lr: float = 0.3          # relu's NTK is larger than tanh's: the quartic loss needs a smaller step

    def __post_init__(self):
        check_sweep("relu_widths", self.relu_widths, minimum=2)
        check_sweep("deep_widths", self.deep_widths, minimum=2)
        check_seeds(self.seeds)


def tasks(cfg: Config):
    t = [{"key": f"relu-M{M}-s{s}", "arch": "relu", "width": M, "seed": s} for M in cfg.relu_widths for s in cfg.seeds]
    t += [{"key": f"deep-M{M}-s{s}", "arch": "deep", "width": M, "seed": s} for M in cfg.deep_widths for s in cfg.seeds]
    return t


def run_task(cfg: Config, task: dict) -> dict:
    dev = device_of(cfg)
    _, X1, X2, *_ = load_pairs(cfg)
    X1, X2 = X1.to(dev), X2.to(dev)
    d = X1.shape[1]
    if task["arch"] == "relu":
        net = TwoLayerNet(d, task["width"], cfg.d_out, activation="relu", seed=task["seed"], device=dev)
        probe = "auto"
    else:
        net = MLP(d, task["width"], cfg.d_out, depth=cfg.deep_depth, activation=cfg.activation, seed=task["seed"],
                  device=dev)
        g = torch.Generator().manual_seed(cfg.data_seed)
        Z = torch.cat([X1, X2])
        probe = Z[torch.randperm(Z.shape[0], generator=g)[:cfg.probe_size].to(dev)]
    h = train(net, X1, X2, steps=cfg.steps, lr=cfg.lr, loss_kwargs=cfg.loss, record_every=cfg.steps,
              ntk_probe=probe, verbose=False)
    return {"arch": task["arch"], "width": task["width"], "seed": task["seed"], "ntk_change": h.ntk_change[-1],
            "loss": h.loss[-1]}


def summarize(cfg: Config, results: list) -> dict:
    out = {}
    for arch in ("relu", "deep"):
        rs = [r for r in results if r["arch"] == arch]
        widths, changes = group(rs, "width", "ntk_change")
        out[arch] = {"widths": widths, "ntk_change_mean": [sum(c) / len(c) for c in changes],
                     **loglog_slope(widths, changes)}
    ok = out["relu"]["ci_high"] < 0 and out["deep"]["ci_high"] < 0
    out["verdict"] = "observed" if ok else "not observed"
    out["statement"] = (f"relu two-layer: slope {out['relu']['slope']:.2f} (CI [{out['relu']['ci_low']:.2f}, "
                        f"{out['relu']['ci_high']:.2f}]); {cfg.deep_depth + 1}-layer {cfg.activation}: slope "
                        f"{out['deep']['slope']:.2f} (CI [{out['deep']['ci_low']:.2f}, {out['deep']['ci_high']:.2f}]).")
    return out


def run(config: Config | None = None) -> dict:
    """Run every task serially and summarize: {"tasks": [...], "summary": {...}}."""
    return run_serially(sys.modules[__name__], config)
