"""Optimizers: update rules over the flat parameter and gradient buffers.

An optimizer object holds hyper-parameters only (checked when it is built);
its per-parameter state (velocity, moments, ...) lives in the Trainer, in
buffers with the parameters' layout, so that one update is one loop in C.
"""
from pybp import _validate


class Optimizer:
    """Base class: `kind` names the C update rule, `hyper()` its arguments."""

    kind = None

    def hyper(self):
        """The hyper-parameters as the kernels take them."""
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper().items()
                         if k != "kind")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Steepest descent, optionally with (Nesterov) momentum and L2 decay.

    With momentum mu the seeds' rule  V <- mu V - lr * dJ/dW;  W <- W + V.
    weight_decay lambda adds lambda * W to the gradient of the weights (the L2
    term lambda/2 * sum w^2), never of the biases.
    """

    kind = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        self.lr = _validate.real("lr", lr, minimum=0.0, min_inclusive=False)
        self.momentum = _validate.real("momentum", momentum, minimum=0.0,
                                       maximum=1.0, max_inclusive=False)
        self.nesterov = _validate.flag("nesterov", nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0; got momentum=0")
        self.weight_decay = _validate.real("weight_decay", weight_decay,
                                           minimum=0.0)

    def hyper(self):
        return {"kind": self.kind, "lr": self.lr, "momentum": self.momentum,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay}


OPTIMIZERS = {"sgd": SGD}


def get(optimizer):
    """An Optimizer from a name (defaults) or an Optimizer instance."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        name = _validate.choice("optimizer", optimizer, tuple(OPTIMIZERS))
        return OPTIMIZERS[name]()
    raise TypeError("optimizer must be a name (" + ", ".join(OPTIMIZERS) +
                    ") or a pybp.optim optimizer; got "
                    f"{type(optimizer).__name__}")
