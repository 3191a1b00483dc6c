"""Helpers shared by the experiments: configs, data, slopes with bootstrap intervals."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from ..augment import make_pairs
from ..data import load_dataset
from ..model import TwoLayerNet


@dataclass
class BaseConfig:
    """Settings every experiment shares (defaults are the --quick sizes)."""

    dataset: str = "digits"
    data_dir: str | None = None
    n_pairs: int = 64
    d_out: int = 5
    steps: int = 200
    lr: float = 1.0
    activation: str = "tanh"
    loss: str = "paper"
    augment: str = "default"
    views: str = "both"
    data_seed: int = 0
    device: str = "cpu"


def check_sweep(name: str, values, *, minimum: int = 2) -> None:
    """A swept list (widths, ns) needs ≥ ``minimum`` distinct positive integers to fit a slope."""
    if not isinstance(values, (list, tuple)) or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0
                                                    for v in values):
        raise ValueError(f"Config key {name!r} must be a list of positive integers, got {values!r}.")
    if len(set(values)) < minimum:
        raise ValueError(f"Config key {name!r} needs at least {minimum} distinct values to fit a slope, got "
                         f"{values!r}; e.g. {name}=256,1024,4096.")


def check_seeds(seeds) -> None:
    if not isinstance(seeds, (list, tuple)) or not seeds or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in seeds):
        raise ValueError(f"Config key 'seeds' must be a non-empty list of non-negative integers, got {seeds!r}.")


@dataclass
class WidthSweepConfig(BaseConfig):
    """A sweep over widths × seeds (E1–E3): one task per (M, seed)."""

    widths: list = field(default_factory=lambda: [256, 1024, 4096, 16384])
    seeds: list = field(default_factory=lambda: [0, 1, 2])

    def __post_init__(self):
        check_sweep("widths", self.widths, minimum=2)
        check_seeds(self.seeds)


def width_seed_tasks(cfg: WidthSweepConfig) -> list:
    return [{"key": f"M{M}-s{s}", "width": M, "seed": s} for M in cfg.widths for s in cfg.seeds]


def task_setup(cfg: BaseConfig, task: dict, *, holdout: int = 0):
    """Pairs (and held-out inputs) on the config's device and the task's TwoLayerNet at init."""
    dev = device_of(cfg)
    _, X1, X2, Xh, _, _ = load_pairs(cfg, holdout=holdout)
    net = TwoLayerNet(X1.shape[1], task["width"], cfg.d_out, activation=cfg.activation, seed=task["seed"],
                      device=dev)
    return X1.to(dev), X2.to(dev), Xh.to(dev), net


def config_to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def config_from_dict(cls, values: dict):
    """Build a config, rejecting unknown keys and wrongly typed values with the list of valid ones."""
    valid = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise ValueError(f"Unknown config key(s) {unknown} for {cls.__name__}; valid keys are: {', '.join(sorted(valid))}.")
    out = {}
    defaults = cls()
    for key, value in values.items():
        out[key] = coerce(key, value, getattr(defaults, key))
    return cls(**out)


def coerce(key, value, default):
    """Check/convert ``value`` to the type of ``default`` (lists of numbers, numbers, strings)."""
    def bad(expected):
        return ValueError(f"Config key {key!r} expects {expected}, got {value!r}.")

    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise bad("true or false")
    if isinstance(default, int):
        if isinstance(value, bool):
            raise bad("an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise bad("an integer") from None
        raise bad("an integer")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad("a number") from None
        raise bad("a number")
    if isinstance(default, (list, tuple)):
        if isinstance(value, str):
            value = [v for v in value.replace("[", "").replace("]", "").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not value:
            raise bad("a non-empty list, e.g. 256,1024,4096")
        elem = default[0] if default else 0
        return [coerce(key, v.strip() if isinstance(v, str) else v, elem) for v in value]
    if default is None or isinstance(default, str):
        if value is None or isinstance(value, str):
            return value
        raise bad("a string")
    return value


def load_pairs(cfg: BaseConfig, n_pairs: int | None = None, *, seed: int | None = None, holdout: int = 0):
    """Clean data, positive pairs and (optionally) ``holdout`` held-out clean samples."""
    ds = load_dataset(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.data_seed)
    g = torch.Generator().manual_seed(cfg.data_seed)
    perm = torch.randperm(ds.X.shape[0], generator=g)
    held = perm[:holdout]
    pool = perm[holdout:]
    X1, X2 = make_pairs(ds.X[pool], n_pairs or cfg.n_pairs, image_shape=ds.image_shape, augment=cfg.augment,
                        views=cfg.views, seed=cfg.data_seed if seed is None else seed)
    return ds, X1, X2, ds.X[held], ds.y[held], pool


def device_of(cfg) -> torch.device:
    dev = torch.device(cfg.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={cfg.device!r} was requested but CUDA is not available here; use --device cpu "
                         "or install a CUDA build of torch.")
    return dev


def loglog_slope(widths, values_per_width, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """OLS slope of log(mean value) vs log(width) and a bootstrap 95% interval over seeds."""
    widths = np.asarray(widths, dtype=float)
    vals = [np.asarray(v, dtype=float) for v in values_per_width]
    x = np.log(widths)

    def slope(means):
        y = np.log(np.maximum(means, 1e-300))
        return float(np.polyfit(x, y, 1)[0])

    point = slope(np.array([v.mean() for v in vals]))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        boots.append(slope(np.array([rng.choice(v, size=len(v), replace=True).mean() for v in vals])))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    # with one seed per width there is nothing to resample: the interval collapses to the point
    return {"slope": point, "ci_low": float(lo), "ci_high": float(hi),
            "single_seed": bool(all(len(v) == 1 for v in vals))}


def group(results, key, value):
    """Values of field ``value`` grouped by ``key`` (sorted keys)."""
    out = {}
    for r in results:
        out.setdefault(r[key], []).append(r[value])
    keys = sorted(out)
    return keys, [out[k] for k in keys]



def run_serially(module, config=None) -> dict:
    """All tasks of an experiment module in this process, then its summary."""
    cfg = config or module.Config()
    results = [module.run_task(cfg, t) for t in module.tasks(cfg)]
    return {"tasks": results, "summary": module.summarize(cfg, results)}
