"""Optimizers and learning-rate schedules.

An optimizer object holds hyper-parameters only, checked when it is built.
Its per-parameter state (velocity, moments, step sizes, ...) lives in the
Trainer, in buffers with the parameters' flat layout, so that an update is one
loop in C over flat buffers.  ``weight_decay`` is the seeds' L2
regularization term: it adds ``weight_decay * w`` to the gradient of every
weight (the gradient of ``weight_decay / 2 * sum w^2``), never of a bias.

``lr`` takes a float or a schedule from this module: ``Constant``,
``StepDecay``, ``ExponentialDecay``, ``InverseScaling`` or ``ReduceOnPlateau``.
The learning rate is set once per epoch and recorded in ``History.lr``.
"""
from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Union

from pybp import _registry, _validate

if TYPE_CHECKING:
    from collections.abc import Callable

# A learning rate: a number > 0, or a schedule of them.
LearningRate = Union[float, "Schedule"]

# ---- learning-rate schedules ----------------------------------------------


class Schedule:
    """A learning rate per epoch: ``schedule(epoch, samples_seen)``.

    ``epoch`` counts the epochs a Trainer has run before this one and
    ``samples_seen`` the training samples it has processed.  ``observe(loss)``
    is told the monitored loss after every epoch (only ReduceOnPlateau uses
    it).
    """

    def __call__(self, epoch: int, samples_seen: int) -> float:
        """The learning rate for this epoch."""
        raise NotImplementedError

    def observe(self, loss: float) -> None:
        """Told the monitored loss after every epoch (a no-op here)."""
        pass

    def _args(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._args().items())
        return f"{type(self).__name__}({args})"


def _lr(value: object) -> float:
    return _validate.real("lr", value, minimum=0.0, min_inclusive=False)


class Constant(Schedule):
    """The same learning rate every epoch."""

    lr: float

    def __init__(self, lr: float) -> None:
        self.lr = _lr(lr)

    def __call__(self, epoch: int, samples_seen: int) -> float:
        return self.lr

    def _args(self) -> dict[str, Any]:
        return {"lr": self.lr}


class StepDecay(Schedule):
    """lr * gamma ** (epoch // step_size): divided every step_size epochs."""

    lr: float
    step_size: int
    gamma: float

    def __init__(self, lr: float, step_size: int = 10,
                 gamma: float = 0.1) -> None:
        self.lr = _lr(lr)
        self.step_size = _validate.integer("step_size", step_size, minimum=1)
        self.gamma = _validate.real("gamma", gamma, minimum=0.0, maximum=1.0,
                                    min_inclusive=False)

    def __call__(self, epoch: int, samples_seen: int) -> float:
        return self.lr * self.gamma ** (epoch // self.step_size)

    def _args(self) -> dict[str, Any]:
        return {"lr": self.lr, "step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(Schedule):
    """lr * gamma ** epoch."""

    lr: float
    gamma: float

    def __init__(self, lr: float, gamma: float = 0.95) -> None:
        self.lr = _lr(lr)
        self.gamma = _validate.real("gamma", gamma, minimum=0.0, maximum=1.0,
                                    min_inclusive=False)

    def __call__(self, epoch: int, samples_seen: int) -> float:
        return self.lr * self.gamma ** epoch

    def _args(self) -> dict[str, Any]:
        return {"lr": self.lr, "gamma": self.gamma}


class InverseScaling(Schedule):
    """lr / (samples_seen + 1) ** power_t, as scikit-learn's "invscaling"
    (updated at each epoch's start from the samples seen so far)."""

    lr: float
    power_t: float

    def __init__(self, lr: float, power_t: float = 0.5) -> None:
        self.lr = _lr(lr)
        self.power_t = _validate.real("power_t", power_t, minimum=0.0)

    def __call__(self, epoch: int, samples_seen: int) -> float:
        return self.lr / (samples_seen + 1) ** self.power_t

    def _args(self) -> dict[str, Any]:
        return {"lr": self.lr, "power_t": self.power_t}


class ReduceOnPlateau(Schedule):
    """Multiply the learning rate by ``factor`` when the monitored loss (the
    validation loss if there is validation data, else the training loss) has
    not improved by more than ``min_delta`` for ``patience`` epochs in a row
    (counted as fit's own ``patience``, and as Keras counts); never below
    ``min_lr``.  The count starts again after each reduction."""

    lr: float
    factor: float
    patience: int
    min_delta: float
    min_lr: float
    current: float
    _best: float
    _wait: int

    def __init__(self, lr: float, factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, min_lr: float = 0.0) -> None:
        self.lr = _lr(lr)
        self.factor = _validate.real("factor", factor, minimum=0.0,
                                     maximum=1.0, min_inclusive=False,
                                     max_inclusive=False)
        self.patience = _validate.integer("patience", patience, minimum=0)
        self.min_delta = _validate.real("min_delta", min_delta, minimum=0.0)
        self.min_lr = _validate.real("min_lr", min_lr, minimum=0.0)
        self.reset()

    def reset(self) -> None:
        """Back to the initial learning rate, with no loss seen."""
        self.current = self.lr
        self._best = math.inf
        self._wait = 0

    def __call__(self, epoch: int, samples_seen: int) -> float:
        return self.current

    def observe(self, loss: float) -> None:
        """Count an epoch without improvement, and reduce after patience."""
        if loss < self._best - self.min_delta:
            self._best = loss
            self._wait = 0
        elif math.isfinite(loss):
            self._wait += 1
            if self._wait >= self.patience:
                self.current = max(self.current * self.factor, self.min_lr)
                self._wait = 0

    def _args(self) -> dict[str, Any]:
        return {"lr": self.lr, "factor": self.factor, "patience": self.patience,
                "min_delta": self.min_delta, "min_lr": self.min_lr}


def as_schedule(lr: LearningRate) -> Schedule:
    """lr itself if it is a Schedule, else Constant(lr)."""
    if isinstance(lr, Schedule):
        return lr
    return Constant(lr)


def checked_rate(schedule: Schedule, epoch: int, samples_seen: int) -> float:
    """schedule(epoch, samples_seen), which must be a finite real > 0;
    ValueError naming the schedule and the epoch otherwise."""
    rate = schedule(epoch, samples_seen)
    if type(rate) is float and math.isfinite(rate) and rate > 0:
        return rate                 # the common case, without the ABC check
    ok = (isinstance(rate, numbers.Real) and not isinstance(rate, bool)
          and math.isfinite(rate) and rate > 0)
    if not ok:
        raise ValueError(f"learning-rate schedule {schedule!r} returned "
                         f"{rate!r} for epoch {epoch}; a learning rate must "
                         "be a finite number > 0")
    return float(rate)


# ---- optimizers -------------------------------------------------------------


class Optimizer:
    """Base class.  ``kind`` names the C update rule; ``spec(lr)`` is the
    complete description the kernels take.  The learning rate comes from
    ``schedule`` (None for Rprop, which has none), once per epoch; optimizers
    in the registry's FULL_BATCH take one step per epoch on the gradient of
    the whole training set."""

    kind: str
    schedule: Schedule | None = None
    lr: LearningRate
    weight_decay: float

    def _set_lr(self, lr: LearningRate) -> None:
        self.schedule = as_schedule(lr)
        # (self.schedule is a Constant when lr is not a Schedule.)
        self.lr = lr if isinstance(lr, Schedule) else \
            self.schedule.lr  # type: ignore[attr-defined]

    def _weight_decay(self, value: float) -> None:
        self.weight_decay = _validate.real("weight_decay", value, minimum=0.0)

    def _setup(self, lr: LearningRate, weight_decay: float,
               **fields: float) -> None:
        """The common constructor: lr, then each field checked by its entry
        in _FIELD_CHECKS (in the order given), then weight_decay."""
        self._set_lr(lr)
        for name, value in fields.items():
            setattr(self, name, _FIELD_CHECKS[name](name, value))
        self._weight_decay(weight_decay)

    @property
    def full_batch(self) -> bool:
        """Whether one step is taken per epoch on the whole set's gradient."""
        return self.kind in _registry.FULL_BATCH

    def spec(self, lr: float | None = None) -> dict[str, Any]:
        """{"kind": kind, field: value, ...} with exactly the registry's
        OPTIMIZER_FIELDS[kind]: what the kernels take for one epoch.

        lr: this epoch's learning rate (what the schedule gave); None means
        the rate the optimizer was built with (a schedule's ``lr``, or, for
        a custom schedule without one, its checked rate for epoch 0).
        Ignored by optimizers without a learning rate (Rprop).
        """
        out: dict[str, Any] = {"kind": self.kind}
        for name in _registry.OPTIMIZER_FIELDS[self.kind]:
            if name == "lr":
                out["lr"] = self._base_lr() if lr is None else float(lr)
            else:
                out[name] = getattr(self, name)
        return out

    def _base_lr(self) -> float:
        base = getattr(self.schedule, "lr", None)
        if type(base) is float:     # the common case, without the ABC check
            return base
        if isinstance(base, numbers.Real):
            return float(base)
        # (Only called when there is a schedule.)
        return checked_rate(self.schedule, 0, 0)  # type: ignore[arg-type]

    def _args(self) -> dict[str, Any]:
        """The constructor arguments besides lr."""
        return {k: v for k, v in self.spec(1.0).items()
                if k not in ("kind", "lr")}

    def __repr__(self) -> str:
        args = self._args()
        if self.schedule is not None:
            args = {"lr": self.lr, **args}
        return f"{type(self).__name__}(" + ", ".join(
            f"{k}={v!r}" for k, v in args.items()) + ")"


def _fraction(name: str, value: float) -> float:
    return _validate.real(name, value, minimum=0.0, maximum=1.0,
                          max_inclusive=False)


def _positive(name: str, value: float) -> float:
    return _validate.real(name, value, minimum=0.0, min_inclusive=False)


# field -> its check, for the optimizers built by Optimizer._setup
_FIELD_CHECKS: dict[str, Callable[[str, float], float]] = {
    "beta1": _fraction, "beta2": _fraction, "rho": _fraction,
    "eps": _positive, "mu": _positive}


class SGD(Optimizer):
    """Steepest descent w <- w - lr * g, optionally with momentum.

    With momentum mu, the seeds' rule  V <- mu V - lr g;  W <- W + V;  with
    ``nesterov=True``, W <- W + mu V - lr g (Sutskever's form of Nesterov's
    accelerated gradient).
    """

    kind = "sgd"
    momentum: float
    nesterov: bool

    def __init__(self, lr: LearningRate = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        self._set_lr(lr)
        self.momentum = _fraction("momentum", momentum)
        self.nesterov = _validate.flag("nesterov", nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0; got momentum=0")
        self._weight_decay(weight_decay)



class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction, eps outside the root:
    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
    w <- w - lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),
    v_hat = v / (1 - b2^t)."""

    kind = "adam"
    beta1: float
    beta2: float
    eps: float

    def __init__(self, lr: LearningRate = 0.001, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        self._setup(lr, weight_decay, beta1=beta1, beta2=beta2, eps=eps)



class RMSprop(Optimizer):
    """RMSprop (Hinton): v <- rho v + (1-rho) g^2;  w <- w - lr g / (sqrt(v) + eps)."""

    kind = "rmsprop"
    rho: float
    eps: float

    def __init__(self, lr: LearningRate = 0.001, rho: float = 0.9,
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        self._setup(lr, weight_decay, rho=rho, eps=eps)



class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): G <- G + g^2;  w <- w - lr g / (sqrt(G) + eps)."""

    kind = "adagrad"
    eps: float

    def __init__(self, lr: LearningRate = 0.01, eps: float = 1e-10,
                 weight_decay: float = 0.0) -> None:
        self._setup(lr, weight_decay, eps=eps)



class Rprop(Optimizer):
    """iRPROP- (Igel & Huesken 2000), FANN's default trainer; full batch.

    Every parameter has its own step size, started at ``delta0``; it grows by
    ``eta_plus`` (up to ``delta_max``) while the parameter's gradient keeps
    its sign and shrinks by ``eta_minus`` (down to ``delta_min``) when the
    sign flips; the parameter moves by its step size against the sign of the
    gradient.  Defaults are FANN's.  One step per epoch on the gradient of
    the whole training set; there is no learning rate.
    """

    kind = "rprop"
    eta_plus: float
    eta_minus: float
    delta0: float
    delta_min: float
    delta_max: float

    def __init__(self, eta_plus: float = 1.2, eta_minus: float = 0.5,
                 delta0: float = 0.1, delta_min: float = 0.0,
                 delta_max: float = 50.0, weight_decay: float = 0.0) -> None:
        self.eta_plus = _validate.real("eta_plus", eta_plus, minimum=1.0,
                                       min_inclusive=False)
        self.eta_minus = _validate.real("eta_minus", eta_minus, minimum=0.0,
                                        maximum=1.0, min_inclusive=False,
                                        max_inclusive=False)
        self.delta0 = _positive("delta0", delta0)
        self.delta_min = _validate.real("delta_min", delta_min, minimum=0.0)
        self.delta_max = _positive("delta_max", delta_max)
        if not self.delta_min <= self.delta0 <= self.delta_max:
            raise ValueError("Rprop needs delta_min <= delta0 <= delta_max; "
                             f"got {self.delta_min}, {self.delta0}, "
                             f"{self.delta_max}")
        self._weight_decay(weight_decay)



class Quickprop(Optimizer):
    """Quickprop (Fahlman 1988); full batch.

    Each parameter jumps towards the minimum of the parabola through its last
    two gradients, at most ``mu`` times its previous step, plus a gradient
    step ``lr * g`` while the gradient still points the way of the previous
    step.  One step per epoch on the mean gradient of the whole training
    set.  Defaults follow FANN (lr 0.7, mu 1.75, decay 1e-4); FANN's gradient
    is a sum over samples where pybp's is a mean, so FANN's lr corresponds to
    pybp's lr divided by the number of samples.
    """

    kind = "quickprop"
    mu: float

    def __init__(self, lr: LearningRate = 0.7, mu: float = 1.75,
                 weight_decay: float = 1e-4) -> None:
        self._setup(lr, weight_decay, mu=mu)



# name -> constructor (each takes its own keywords)
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad,
    "rprop": Rprop, "quickprop": Quickprop}


SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "Constant": Constant, "StepDecay": StepDecay,
    "ExponentialDecay": ExponentialDecay, "InverseScaling": InverseScaling,
    "ReduceOnPlateau": ReduceOnPlateau}


def to_config(optimizer: Optimizer) -> dict[str, Any]:
    """A JSON-able description of an optimizer (with its schedule and the
    schedule's state), from which from_config rebuilds an equal one."""
    config: dict[str, Any] = {"kind": optimizer.kind,
                              "args": optimizer._args()}
    if optimizer.schedule is not None:
        sched = optimizer.schedule
        config["schedule"] = {"class": type(sched).__name__,
                              "args": sched._args()}
        if isinstance(sched, ReduceOnPlateau):
            config["schedule"]["state"] = {"current": sched.current,
                                           "best": sched._best,
                                           "wait": sched._wait}
    return config


def from_config(config: Any) -> Optimizer:
    """The optimizer to_config described; ValueError/TypeError if the
    description is not one."""
    if not isinstance(config, dict) or config.get("kind") not in OPTIMIZERS \
            or not isinstance(config.get("args"), dict):
        raise ValueError(f"not an optimizer description: {config!r}")
    args = dict(config["args"])
    sched = config.get("schedule")
    if sched is not None:
        if not isinstance(sched, dict) or sched.get("class") not in SCHEDULES \
                or not isinstance(sched.get("args"), dict):
            raise ValueError(f"not a schedule description: {sched!r}")
        schedule = SCHEDULES[sched["class"]](**sched["args"])
        state = sched.get("state")
        if isinstance(schedule, ReduceOnPlateau) and isinstance(state, dict):
            schedule.current = _lr(state["current"])
            schedule._best = float(state["best"])
            schedule._wait = _validate.integer("wait", state["wait"], minimum=0)
        args["lr"] = schedule
    return OPTIMIZERS[config["kind"]](**args)


def get(optimizer: str | Optimizer) -> Optimizer:
    """An Optimizer from a name (with its defaults) or an Optimizer."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        name = _validate.choice("optimizer", optimizer, tuple(OPTIMIZERS))
        return OPTIMIZERS[name]()
    raise TypeError("optimizer must be a name (" + ", ".join(OPTIMIZERS) +
                    ") or a pybp.optim optimizer; got "
                    f"{type(optimizer).__name__}")
