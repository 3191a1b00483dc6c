"""Input validation shared by the public API.

Every user-facing function validates its arguments here so that bad input gets a
ValueError/TypeError naming the argument, the bad value, the valid range and the fix,
instead of a traceback from deep inside torch.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch


def as_tensor(name: str, X, *, ndim: int | None = 2, dtype=None, allow_int: bool = False) -> torch.Tensor:
    """Convert ``X`` to a floating torch tensor, checking type, dimension and finiteness."""
    if isinstance(X, np.ndarray):
        X = torch.from_numpy(np.ascontiguousarray(X))
    elif not isinstance(X, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy.ndarray, got {type(X).__name__}. "
            f"Convert it with torch.as_tensor({name})."
        )
    if ndim is not None and X.ndim != ndim:
        shape = tuple(X.shape)
        fix = (f"Reshape it with {name}.reshape(1, -1) for a single sample or "
               f"{name}.reshape(len({name}), -1) to flatten images.") if ndim == 2 else ""
        raise ValueError(f"Expected {name} to be a {ndim}D tensor, got a {X.ndim}D tensor of shape {shape} instead. {fix}")
    if not (X.is_floating_point() or allow_int):
        X = X.to(torch.get_default_dtype() if dtype is None else dtype)
    if dtype is not None and X.is_floating_point() and X.dtype != dtype:
        X = X.to(dtype)
    if X.is_floating_point() and X.numel() and not bool(torch.isfinite(X).all()):
        bad = int((~torch.isfinite(X)).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); remove or impute them before calling.")
    return X


def check_same_shape(name1: str, X1: torch.Tensor, name2: str, X2: torch.Tensor) -> None:
    if X1.shape != X2.shape:
        raise ValueError(
            f"{name1} and {name2} must have the same shape (row i of each is one positive pair), "
            f"got {tuple(X1.shape)} and {tuple(X2.shape)}."
        )


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}.")
    return value


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {value!r} of type {type(value).__name__}.")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer (>= 1), got {value}.")
    return int(value)


def check_real(name: str, value, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    rng = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must lie in {rng}, got {value}.")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must lie in {rng}, got {value}.")
    return value


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"Unknown {name} {value!r}; valid values are: {', '.join(map(repr, choices))}.")
    return value
