"""Figures from results.json (never from in-memory state): one function per claim, PNG files."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path).name


def _by_width(tasks, value, key="width"):
    out = {}
    for t in tasks:
        out.setdefault(t[key], []).append(t[value])
    ws = sorted(out)
    return np.array(ws, float), [np.array(out[w], float) for w in ws]


def _loglog_panel(ax, ws, vals, label, fit=None, guides=True):
    means = np.array([v.mean() for v in vals])
    for w, v in zip(ws, vals):
        ax.scatter(np.full(len(v), w), v, s=12, alpha=0.4, color="C0")
    ax.plot(ws, means, "o-", color="C0", label=label if fit is None else f"{label}: slope {fit['slope']:.2f} "
                                                                          f"[{fit['ci_low']:.2f}, {fit['ci_high']:.2f}]")
    if guides:
        for p, style in ((0.5, "--"), (1.0, ":")):
            ax.plot(ws, means[0] * (ws / ws[0]) ** (-p), style, color="gray", label=f"M^-{p:g}")
    _width_axis(ax, ws)
    ax.legend(fontsize=8)


def _width_axis(ax, ws, label="width M"):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.minorticks_off()
    ax.set_xticks(ws)
    ax.set_xticklabels([str(int(w)) for w in ws])
    ax.set_xlabel(label)


def plot_e1(res, out):
    ws, vals = _by_width(res["tasks"], "ntk_change")
    fig, ax = plt.subplots(figsize=(5, 4))
    _loglog_panel(ax, ws, vals, "relative NTK change", res["summary"])
    ax.set_ylabel("‖Θ_T − Θ_0‖ / ‖Θ_0‖")
    ax.set_title("E1: NTK change vs width")
    return [_save(fig, Path(out) / "e1_ntk_change.png")]


def plot_e2(res, out):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    widths = sorted({t["width"] for t in res["tasks"]})
    for i, w in enumerate(widths):
        ts = [t for t in res["tasks"] if t["width"] == w]
        step = ts[0]["step"]
        for key, ax in (("loss", axes[0]), ("displacement", axes[1])):
            curves = np.array([t[key] for t in ts])
            m = curves.mean(0)
            ax.plot(step, m, color=f"C{i}", label=f"M={w}")
            ax.fill_between(step, curves.min(0), curves.max(0), color=f"C{i}", alpha=0.15)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("Barlow Twins loss")
    axes[1].set_ylabel("‖θ_t − θ_0‖")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.suptitle("E2: dynamics for each width (mean and range over seeds)")
    return [_save(fig, Path(out) / "e2_dynamics.png")]


def plot_e3(res, out):
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, (name, label) in enumerate((("empirical_train", "Θ_0 dynamics, train"),
                                       ("empirical_heldout", "Θ_0 dynamics, held-out"),
                                       ("analytic_train", "θ∞ dynamics, train"),
                                       ("analytic_heldout", "θ∞ dynamics, held-out"))):
        ws, vals = _by_width(res["tasks"], f"dist_{name}")
        s = res["summary"][name]
        ax.plot(ws, [v.mean() for v in vals], "o-" if "train" in name else "s--", color=f"C{i}",
                label=f"{label} (slope {s['slope']:.2f})")
    _width_axis(ax, ws)
    ax.set_ylabel("Procrustes distance to network")
    ax.legend(fontsize=7)
    ax.set_title("E3: network vs kernel model")
    return [_save(fig, Path(out) / "e3_kernel_distance.png")]


def plot_e4(res, out):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, arch, title in ((axes[0], "relu", "relu, two layers"), (axes[1], "deep", "tanh, three layers")):
        ts = [t for t in res["tasks"] if t["arch"] == arch]
        ws, vals = _by_width(ts, "ntk_change")
        _loglog_panel(ax, ws, vals, "relative NTK change", res["summary"][arch])
        ax.set_title(title)
    fig.suptitle("E4: beyond the theorem")
    return [_save(fig, Path(out) / "e4_beyond.png")]


def plot_e5(res, out):
    s = res["summary"]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ns, gaps = _by_width(res["tasks"], "gap", key="n")
    _, bounds = _by_width(res["tasks"], "bound", key="n")
    ax.plot(ns, [b.mean() for b in bounds], "o-", color="C3", label="bound, B = fitted ‖W‖_HS (SPEC §7)")
    if "bound_fixed_B" in s:
        ax.plot(ns, s["bound_fixed_B"], ":", color="C3", label=f"bound at fixed B = {s['B_median']:.3g} (∝ n^-1/2)")
    links = s.get("links", {})
    if links:
        ln = sorted(int(k) for k in links)
        ax.plot(ln, [links[str(k)]["bound"] for k in ln], "^--", color="C2",
                label="bound, B = network's linearized displacement")
        ax.plot(ln, [links[str(k)]["loss_difference"] + 1e-300 for k in ln], "v--", color="C1",
                label="|L_net − L_lin| (finite width)")
    for n, g in zip(ns, gaps):
        ax.scatter(np.full(len(g), n), g, s=10, alpha=0.5, color="C0")
    ax.plot(ns, [g.mean() for g in gaps], "o-", color="C0", label="measured gap |L − L̂|")
    _width_axis(ax, ns, "number of pairs n")
    ax.legend(fontsize=6.5)
    ax.set_title(f"E5: bound vs gap ({s['violations']} violations in {s['draws']} draws)")
    return [_save(fig, Path(out) / "e5_bound.png")]


def plot_e6(res, out):
    acc = res["summary"]["accuracy"]
    names = list(acc)
    labels = {"kernel": "kernel model (θ∞)", "init": "untrained network", "pixels": "raw pixels"}
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.barh([labels.get(k, k) for k in names], [acc[k] for k in names], color=[f"C{i}" for i in range(len(names))])
    for i, k in enumerate(names):
        ax.text(acc[k], i, f" {acc[k]:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("linear-probe test accuracy")
    ax.set_title("E6: downstream accuracy")
    return [_save(fig, Path(out) / "e6_probe.png")]


PLOTTERS = {"E1": plot_e1, "E2": plot_e2, "E3": plot_e3, "E4": plot_e4, "E5": plot_e5, "E6": plot_e6}
