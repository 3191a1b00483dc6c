"""E6 — downstream: linear-probe accuracy of the network's and the kernel model's embeddings.

Self-supervised training on ``n_pairs`` augmented pairs from the training split; a multinomial
logistic regression is fitted on the embeddings of the labelled training split and scored on the
held-out split. Baselines: raw pixels and the untrained network. Verdict: "agree" when the widest
network and the kernel model are within ``tolerance`` accuracy of each other.
"""
from __future__ import annotations

import sys

from dataclasses import dataclass, field

import numpy as np
import torch

from ..kernel_bt import KernelBarlowTwins
from ..model import TwoLayerNet
from ..train import train
from .common import BaseConfig, check_seeds, check_sweep, device_of, load_pairs, run_serially

TITLE = "E6: downstream linear-probe accuracy"


@dataclass
class Config(BaseConfig):
    n_pairs: int = 256
    d_out: int = 10
    widths: list = field(default_factory=lambda: [256, 2048])
    seeds: list = field(default_factory=lambda: [0])
    holdout: int = 500
    tolerance: float = 0.05

    def __post_init__(self):
        check_sweep("widths", self.widths, minimum=1)
        check_seeds(self.seeds)


def tasks(cfg: Config):
    t = [{"key": f"net-M{M}-s{s}", "model": "network", "width": M, "seed": s} for M in cfg.widths for s in cfg.seeds]
    t += [{"key": "kernel", "model": "kernel"}, {"key": "pixels", "model": "pixels"},
          {"key": "init", "model": "init", "width": max(cfg.widths), "seed": 0}]
    return t


def _probe(E_tr, y_tr, E_te, y_te) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(E_tr)
    clf = LogisticRegression(max_iter=2000).fit(sc.transform(E_tr), y_tr)
    return float(clf.score(sc.transform(E_te), y_te))


def run_task(cfg: Config, task: dict) -> dict:
    dev = device_of(cfg)
    ds, X1, X2, Xte, yte, pool = load_pairs(cfg, holdout=cfg.holdout)
    Xtr, ytr = ds.X[pool], ds.y[pool]
    kind = task["model"]
    if kind == "pixels":
        Etr, Ete = Xtr, Xte
    elif kind == "kernel":
        kb = KernelBarlowTwins(cfg.d_out, kernel=f"ntk-{cfg.activation}").fit(X1.double(), X2.double())
        Etr, Ete = kb.transform(Xtr.double()), kb.transform(Xte.double())
    else:
        net = TwoLayerNet(X1.shape[1], task["width"], cfg.d_out, activation=cfg.activation, seed=task["seed"],
                          device=dev)
        if kind == "network":
            train(net, X1.to(dev), X2.to(dev), steps=cfg.steps, lr=cfg.lr, loss_kwargs=cfg.loss, ntk_probe=None,
                  verbose=False)
        with torch.no_grad():
            Etr, Ete = net(Xtr.to(dev)).cpu(), net(Xte.to(dev)).cpu()
    acc = _probe(np.asarray(Etr, dtype=np.float64), ytr.numpy(), np.asarray(Ete, dtype=np.float64), yte.numpy())
    return {"model": kind, "width": task.get("width"), "seed": task.get("seed"), "accuracy": acc}


def summarize(cfg: Config, results: list) -> dict:
    table = {}
    for r in results:
        name = r["model"] if r["model"] != "network" else f"network M={r['width']}"
        table.setdefault(name, []).append(r["accuracy"])
    table = {k: float(np.mean(v)) for k, v in table.items()}
    widest = table[f"network M={max(cfg.widths)}"]
    diff = abs(widest - table["kernel"])
    return {"accuracy": table, "difference": diff, "verdict": "agree" if diff <= cfg.tolerance else "differ",
            "statement": (f"linear-probe accuracy: widest network {widest:.3f}, kernel model {table['kernel']:.3f} "
                          f"(difference {diff:.3f}, tolerance {cfg.tolerance}); raw pixels {table['pixels']:.3f}, "
                          f"untrained network {table['init']:.3f}.")}


def run(config: Config | None = None) -> dict:
    """Run every task serially and summarize: {"tasks": [...], "summary": {...}}."""
    return run_serially(sys.modules[__name__], config)
