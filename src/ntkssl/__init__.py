"""ntkssl — infinite-width limits of self-supervised (Barlow Twins) networks.

The public API: data and views, networks, the Barlow Twins loss, training, the NTK engine,
kernelized Barlow Twins and the generalization bound. See README.md and docs/theory.md.
"""
from ._runtime import tune_allocator
from .activations import Activation, get_activation
from .augment import Augmentation, make_pairs
from .bounds import (empirical_loss, finite_width_link, generalization_bound, kernel_sup, population_loss,
                     rkhs_norm)
from .data import Dataset, load_dataset, normalize_samples
from .kernel_bt import KernelBarlowTwins, LinearizedResult, linear_cka, linearized_training, procrustes_distance
from .loss import barlow_twins_loss, loss_preset
from .model import MLP, TwoLayerNet
from .ntk import analytic_ntk, autodiff_ntk, empirical_ntk, monte_carlo_ntk, ntk_change
from .train import History, TrainingDivergedError, train

__version__ = "0.1.0"

__all__ = [
    "Activation", "Augmentation", "Dataset", "History", "KernelBarlowTwins", "LinearizedResult", "MLP",
    "TrainingDivergedError", "TwoLayerNet", "analytic_ntk", "autodiff_ntk", "barlow_twins_loss",
    "empirical_loss", "empirical_ntk", "finite_width_link", "generalization_bound", "get_activation",
    "kernel_sup", "linear_cka", "linearized_training", "load_dataset", "loss_preset", "make_pairs",
    "monte_carlo_ntk", "normalize_samples", "ntk_change", "population_loss", "procrustes_distance",
    "rkhs_norm", "train", "tune_allocator",
]
