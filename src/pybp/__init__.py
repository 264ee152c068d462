"""pybp: fast backpropagation for multi-layer perceptrons.

    >>> import pybp
    >>> net = pybp.Network([2, 3, 1], "tanh", "sigmoid", seed=0)
    >>> history = net.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0],
    ...                   optimizer=pybp.optim.SGD(0.5), epochs=10, seed=0)
"""
from pybp import optim
from pybp.network import Gradients, Network
from pybp.train import History, Trainer
from pybp.check import check_gradients
from pybp._config import (config, show_config, set_kernels, get_kernels,
                          set_num_threads, get_num_threads,
                          _select_from_environment, _kernels_from_environment)
from pybp import io
from pybp.errors import FormatError
from pybp.io import load

__version__: str = "0.1.0"

__all__ = ["Network", "Gradients", "History", "Trainer", "check_gradients",
           "load", "FormatError", "io", "optim", "config", "show_config",
           "set_kernels", "get_kernels", "set_num_threads", "get_num_threads",
           "__version__"]

_select_from_environment()
_kernels_from_environment()
