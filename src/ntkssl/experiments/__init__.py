"""The paper's claims E1–E6 (SPEC §8), one module each: a Config dataclass, ``tasks``,
``run_task``, ``summarize`` and ``run(config)`` returning plain data."""
from __future__ import annotations

import importlib

EXPERIMENTS = {
    "E1": "e1_ntk_constant",
    "E2": "e2_dynamics",
    "E3": "e3_kernel_limit",
    "E4": "e4_beyond",
    "E5": "e5_generalization",
    "E6": "e6_probe",
}


def get_experiment(name: str):
    """The module of experiment ``name`` (E1..E6)."""
    key = str(name).upper()
    if key not in EXPERIMENTS:
        raise ValueError(f"Unknown experiment {name!r}; valid experiments are: {', '.join(EXPERIMENTS)}.")
    return importlib.import_module(f".{EXPERIMENTS[key]}", __name__)


def run(name: str, config=None) -> dict:
    """Run all tasks of one experiment serially; returns {"tasks": [...], "summary": {...}}."""
    return get_experiment(name).run(config)
