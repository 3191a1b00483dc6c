"""ntkssl — infinite-width limits of self-supervised (Barlow Twins) networks."""
from .activations import Activation, get_activation
from .augment import Augmentation, make_pairs
from .data import Dataset, load_dataset, normalize_samples
from .loss import barlow_twins_loss, loss_preset
from .model import MLP, TwoLayerNet
from .ntk import analytic_ntk, autodiff_ntk, empirical_ntk, monte_carlo_ntk, ntk_change

__version__ = "0.1.0"
