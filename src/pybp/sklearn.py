"""scikit-learn estimators over pybp: MLPClassifier and MLPRegressor.

They take scikit-learn's MLP parameters (plus pybp's solvers, ``dtype``,
``loss`` and ``output_activation``) and train a :class:`pybp.Network` with a
:class:`pybp.Trainer`, one C call per epoch.  scikit-learn is an optional
dependency: ``pip install "pybp[sklearn]"``.  docs/sklearn.md maps every
parameter onto scikit-learn's MLP.

    >>> from pybp.sklearn import MLPClassifier
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)
    >>> clf.fit(X, y).predict(X)                         # doctest: +SKIP
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d
except ImportError as exc:                                  # pragma: no cover
    raise ImportError(
        "pybp.sklearn needs scikit-learn (>= 1.1), which is not installed: "
        'pip install "pybp[sklearn]"') from exc

try:                                    # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:                                         # pragma: no cover
    _sk_validate_data = None

from pybp import optim
from pybp.network import Network
from pybp.train import Trainer

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from pybp._typing import FloatArray

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names -> pybp's, and back.
_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid",
                "identity": "identity"}
_SK_NAMES = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu",
             "identity": "identity", "softmax": "softmax",
             "leaky_relu": "leaky_relu"}
SOLVERS = ("sgd", "adam", "rprop", "quickprop", "rmsprop", "adagrad")
FULL_BATCH_SOLVERS = ("rprop", "quickprop")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
DTYPES = ("float64", "float32")
# Below this the "adaptive" schedule stops dividing and training ends.
_MIN_ADAPTIVE_LR = 1e-6
# "auto" batch size: min(_AUTO_BATCH, n_samples), as scikit-learn.
_AUTO_BATCH = 200


def _validate_data(est, X, y="no_validation", *, reset, **kwargs):
    if _sk_validate_data is not None:
        return _sk_validate_data(est, X, y, reset=reset, **kwargs)
    return est._validate_data(X, y, reset=reset, **kwargs)  # pragma: no cover


def _dense(X, dtype):
    """X as a C-contiguous, writable array of dtype (sparse X densified)."""
    if hasattr(X, "toarray"):
        X = X.toarray()
    X = np.asarray(X)
    out = np.ascontiguousarray(X, dtype=dtype)
    if not out.flags.writeable:
        out = out.copy()
    return out


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(
        value, (bool, np.bool_))


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(
        value, (bool, np.bool_))


def _check_real(name, value, low, high, low_open=False, high_open=False):
    if not _is_real(value) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite real number; got "
                        f"{value!r} ({type(value).__name__})")
    if value < low or (low_open and value == low) or value > high or (
            high_open and value == high):
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lo}{low}, {high}{hi}; "
                         f"got {value!r}")
    return float(value)


def _check_int(name, value, minimum):
    if not _is_int(value):
        raise TypeError(f"{name} must be an int; got {value!r} "
                        f"({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return int(value)


def _check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; "
                         f"got {value!r}")
    return value


def _check_flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: parameters, the training
    loop and its stopping rule (scikit-learn's), and the fitted attributes.
    Subclasses say how targets become network outputs."""

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam",
                 alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None,
                 tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True,
                 early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, dtype: str = "float64",
                 loss: str | None = None,
                 output_activation: str | None = None,
                 callback: Callable[..., object] | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype
        self.loss = loss
        self.output_activation = output_activation
        self.callback = callback

    # ---- parameters ------------------------------------------------------

    def _checked_params(self):
        """The parameters, validated (in fit, never in __init__, as
        scikit-learn requires); returns a dict of normalised values."""
        p = {}
        sizes = self.hidden_layer_sizes
        if _is_int(sizes):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise TypeError("hidden_layer_sizes must be an int or a sequence "
                            f"of ints; got {sizes!r}") from None
        for s in sizes:
            if not _is_int(s) or s < 1:
                raise ValueError("hidden_layer_sizes must hold positive ints; "
                                 f"got {self.hidden_layer_sizes!r}")
        p["hidden"] = tuple(int(s) for s in sizes)
        p["activation"] = _ACTIVATIONS[_check_choice(
            "activation", self.activation, tuple(_ACTIVATIONS))]
        if self.solver == "lbfgs":
            raise ValueError('solver="lbfgs" is not available in pybp; use '
                             'solver="rprop" (full batch, no learning rate) '
                             'or "adam"')
        p["solver"] = _check_choice("solver", self.solver, SOLVERS)
        p["alpha"] = _check_real("alpha", self.alpha, 0.0, math.inf)
        if isinstance(self.batch_size, str):
            if self.batch_size != "auto":
                raise ValueError('batch_size must be "auto" or a positive '
                                 f'int; got {self.batch_size!r}')
            p["batch_size"] = _AUTO_BATCH
        else:
            p["batch_size"] = _check_int("batch_size", self.batch_size, 1)
        p["learning_rate"] = _check_choice("learning_rate",
                                           self.learning_rate, LEARNING_RATES)
        p["lr"] = _check_real("learning_rate_init", self.learning_rate_init,
                              0.0, math.inf, low_open=True)
        p["power_t"] = _check_real("power_t", self.power_t, 0.0, math.inf)
        p["max_iter"] = _check_int("max_iter", self.max_iter, 1)
        p["shuffle"] = _check_flag("shuffle", self.shuffle)
        p["tol"] = _check_real("tol", self.tol, 0.0, math.inf)
        p["verbose"] = _check_flag("verbose", self.verbose) \
            if isinstance(self.verbose, (bool, np.bool_)) \
            else _check_int("verbose", self.verbose, 0) > 0
        p["warm_start"] = _check_flag("warm_start", self.warm_start)
        p["momentum"] = _check_real("momentum", self.momentum, 0.0, 1.0,
                                    high_open=True)
        p["nesterov"] = _check_flag("nesterovs_momentum",
                                    self.nesterovs_momentum)
        p["early_stopping"] = _check_flag("early_stopping",
                                          self.early_stopping)
        p["validation_fraction"] = _check_real(
            "validation_fraction", self.validation_fraction, 0.0, 1.0,
            high_open=True)
        if p["early_stopping"] and p["validation_fraction"] == 0:
            raise ValueError("early_stopping=True needs validation_fraction "
                             "> 0; got 0")
        p["beta_1"] = _check_real("beta_1", self.beta_1, 0.0, 1.0,
                                  high_open=True)
        p["beta_2"] = _check_real("beta_2", self.beta_2, 0.0, 1.0,
                                  high_open=True)
        p["epsilon"] = _check_real("epsilon", self.epsilon, 0.0, math.inf,
                                   low_open=True)
        p["n_iter_no_change"] = _check_int("n_iter_no_change",
                                           self.n_iter_no_change, 1)
        dtype = self.dtype
        if not isinstance(dtype, str):
            try:
                dtype = np.dtype(dtype).name
            except TypeError:
                pass
        p["dtype"] = _check_choice("dtype", dtype, DTYPES)
        if self.loss is not None and not isinstance(self.loss, str):
            raise TypeError(f"loss must be a pybp loss name or None; got "
                            f"{type(self.loss).__name__}")
        if self.output_activation is not None and not isinstance(
                self.output_activation, str):
            raise TypeError("output_activation must be an activation name "
                            f"or None; got "
                            f"{type(self.output_activation).__name__}")
        if self.callback is not None and not callable(self.callback):
            raise TypeError("callback must be callable as callback(estimator) "
                            f"or None; got {type(self.callback).__name__}")
        return p

    def _optimizer(self, p, lr, weight_decay):
        """The pybp optimizer for solver p["solver"] at learning rate lr."""
        solver = p["solver"]
        if solver == "sgd":
            schedule = (optim.InverseScaling(lr, p["power_t"])
                        if p["learning_rate"] == "invscaling" else lr)
            momentum = p["momentum"]
            return optim.SGD(schedule, momentum=momentum,
                             nesterov=p["nesterov"] and momentum > 0,
                             weight_decay=weight_decay)
        if solver == "adam":
            return optim.Adam(lr, beta1=p["beta_1"], beta2=p["beta_2"],
                              eps=p["epsilon"], weight_decay=weight_decay)
        if solver == "rmsprop":
            return optim.RMSprop(lr, eps=p["epsilon"],
                                 weight_decay=weight_decay)
        if solver == "adagrad":
            return optim.Adagrad(lr, eps=p["epsilon"],
                                 weight_decay=weight_decay)
        if solver == "quickprop":
            return optim.Quickprop(lr, weight_decay=weight_decay)
        return optim.Rprop(weight_decay=weight_decay)

    @staticmethod
    def _weight_decay(p, n, sw):
        """pybp's weight_decay for scikit-learn's alpha.

        scikit-learn adds alpha * W / (samples in the batch) to every
        batch's gradient.  pybp's weight_decay adds weight_decay * W to the
        gradient of the batch's (weighted) mean loss, so weight_decay =
        alpha / (mean weight per batch) = alpha * n_batches / sum(weights),
        which is alpha / batch_size without sample weights.  Full-batch
        solvers have one batch per epoch.
        """
        if p["alpha"] == 0:
            return 0.0
        b = n if p["solver"] in FULL_BATCH_SOLVERS else min(p["batch_size"], n)
        n_batches = -(-n // b)
        total = float(n) if sw is None else float(np.sum(sw, dtype=np.float64))
        return p["alpha"] * n_batches / total

    # ---- fitting -----------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike,
            sample_weight: ArrayLike | None = None) -> Self:
        """Train on X, y for up to max_iter epochs (scikit-learn's stopping
        rule); returns self.  With warm_start=True a fitted estimator goes on
        from its current weights (with a fresh optimizer state, as
        scikit-learn)."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        return self._fit(X, y, sample_weight, incremental=True,
                         classes=classes)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        p = self._checked_params()
        keep = hasattr(self, "network_") and (incremental or p["warm_start"])
        before = dict(self.__dict__)
        try:
            return self._fit_checked(p, keep, X, y, sample_weight,
                                     incremental, classes)
        except BaseException:
            if not keep:        # a failed first fit leaves it unfitted
                self.__dict__.clear()
                self.__dict__.update(before)
            raise

    def _fit_checked(self, p, keep, X, y, sample_weight, incremental,
                     classes):
        X, y = _validate_data(self, X, y, reset=not keep,
                              accept_sparse=["csr", "csc", "coo"],
                              dtype=(np.float64, np.float32),
                              multi_output=True, y_numeric=self._y_numeric)
        X = _dense(X, p["dtype"])
        T, y = self._targets(y, keep, classes, incremental, p["dtype"])
        sw = self._sample_weight(sample_weight, X, y, p, incremental)
        n_out = T.shape[1]

        if keep:
            net = self.network_
            if net.n_outputs != n_out:                  # pragma: no cover
                raise ValueError(f"the fitted network has {net.n_outputs} "
                                 f"outputs; these targets need {n_out}")
        else:
            rs = check_random_state(self.random_state)
            self._rng = rs
            out_act, loss = self._output_layer(n_out)
            net = Network([X.shape[1], *p["hidden"], n_out], p["activation"],
                          out_act, seed=int(rs.randint(np.iinfo(np.int32).max)),
                          dtype=p["dtype"])
            self._loss_name = loss
            # Fail on a bad loss/activation pairing before anything changes.
            net.loss(X[:1], T[:1], loss=loss)
        if not keep or not incremental or not hasattr(self, "_trainer"):
            trainer = Trainer(loss=self._loss_name,
                              optimizer=self._optimizer(p, p["lr"], 0.0),
                              batch_size=p["batch_size"], shuffle=p["shuffle"],
                              seed=int(self._rng.randint(
                                  np.iinfo(np.int32).max)),
                              restore_best=False)
            self._current_lr = p["lr"]
        else:
            trainer = self._trainer
            trainer.batch_size = p["batch_size"]
            trainer.shuffle = p["shuffle"]

        validation = None
        if p["early_stopping"] and not incremental:
            stratify = y if (self._is_classifier and
                             not self._multilabel) else None
            idx = np.arange(X.shape[0])
            tr, va = train_test_split(idx, random_state=self._rng,
                                      test_size=p["validation_fraction"],
                                      stratify=stratify)
            validation = (X[va], y[va], None if sw is None else sw[va])
            X, T = X[tr], T[tr]
            sw = None if sw is None else sw[tr]
            if X.shape[0] < 1:                          # pragma: no cover
                raise ValueError("validation_fraction leaves no training "
                                 "samples")
        weight_decay = self._weight_decay(p, X.shape[0], sw)

        if not keep:
            self.network_ = net
            self.n_outputs_ = n_out
            self.n_layers_ = len(net.sizes)
            self.out_activation_ = _SK_NAMES[net.activations[-1]]
            self.loss_curve_ = []
            self.best_loss_ = math.inf
            self.t_ = 0
            self.n_iter_ = 0
            self._no_improvement_count = 0
            self.validation_scores_ = None
            self.best_validation_score_ = None
        if p["early_stopping"] and not incremental and (
                not keep or self.validation_scores_ is None):
            self.validation_scores_ = []
            self.best_validation_score_ = -math.inf
            self.best_loss_ = None
        if (incremental or not p["early_stopping"]) and keep \
                and self.best_loss_ is None:
            self.best_loss_ = math.inf
        self._trainer = trainer
        self._fit_epochs(p, X, T, sw, validation, weight_decay,
                         1 if incremental else p["max_iter"], incremental)
        return self

    def _fit_epochs(self, p, X, T, sw, validation, weight_decay, epochs,
                    incremental):
        net, trainer = self.network_, self._trainer
        trainer.optimizer = self._optimizer(p, self._current_lr, weight_decay)
        best_params = None
        n = X.shape[0]
        converged = stopped = False
        for _ in range(epochs):
            history = trainer.fit(net, X, T, epochs=1, sample_weight=sw)
            if history.stopped in ("diverged", "interrupted"):
                warnings.warn(
                    f"training stopped early ({history.stopped}) at epoch "
                    f"{self.n_iter_ + 1}" + (
                        "; the loss stopped being finite: lower "
                        "learning_rate_init" if history.stopped == "diverged"
                        else ""), ConvergenceWarning)
                stopped = True
                break
            self.n_iter_ += 1
            self.t_ += n
            penalty = 0.0
            if weight_decay:
                penalty = 0.5 * weight_decay * sum(
                    float(np.dot(W.ravel(), W.ravel())) for W in net.weights)
            loss = float(history.loss[-1]) + penalty
            self.loss_curve_.append(loss)
            if p["verbose"]:
                print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
            if validation is not None:
                Xv, yv, swv = validation
                score = self._validation_score(Xv, yv, swv)
                self.validation_scores_.append(score)
                if p["verbose"]:
                    print(f"Validation score: {score:f}")
                if score < self.best_validation_score_ + p["tol"]:
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best_params = net.params.copy()
            else:
                if loss > self.best_loss_ - p["tol"]:
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                if loss < self.best_loss_:
                    self.best_loss_ = loss
            if self.callback is not None and self.callback(self):
                stopped = True
                break
            if incremental:
                continue
            if self._no_improvement_count > p["n_iter_no_change"]:
                if (p["solver"] == "sgd" and p["learning_rate"] == "adaptive"
                        and self._current_lr > _MIN_ADAPTIVE_LR):
                    self._current_lr /= 5.0
                    self._no_improvement_count = 0
                    trainer.optimizer = self._optimizer(p, self._current_lr,
                                                        weight_decay)
                    if p["verbose"]:
                        print(f"Setting learning rate to "
                              f"{self._current_lr:f}")
                    continue
                if p["verbose"]:
                    what = ("Validation score" if validation is not None
                            else "Training loss")
                    print(f"{what} did not improve more than tol={p['tol']} "
                          f"for {p['n_iter_no_change']} consecutive epochs. "
                          "Stopping.")
                converged = True
                break
        if not incremental and not converged and not stopped:
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({p['max_iter']}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning)
        if best_params is not None:
            net.params[...] = best_params

    # ---- fitted attributes -------------------------------------------------

    @property
    def coefs_(self) -> list[FloatArray]:
        """Weight matrices in scikit-learn's orientation, (n_in, n_out):
        read-only views into network_.params (they follow further
        training; copy them to keep a snapshot)."""
        check_is_fitted(self, "network_")
        return [_read_only(W.T) for W in self.network_.weights]

    @property
    def intercepts_(self) -> list[FloatArray]:
        """Bias vectors, read-only views into network_.params."""
        check_is_fitted(self, "network_")
        return [_read_only(b) for b in self.network_.biases]

    def _outputs(self, X):
        check_is_fitted(self, "network_")
        X = _validate_data(self, X, reset=False,
                           accept_sparse=["csr", "csc", "coo"],
                           dtype=(np.float64, np.float32))
        out_dtype = X.dtype
        out = self.network_.predict(_dense(X, self.network_.dtype))
        return out.astype(out_dtype, copy=False)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "network_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self):                                   # pragma: no cover
        return {"multioutput": True}


def _read_only(a):
    view = a.view()
    view.flags.writeable = False
    return view


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by pybp.

    Labels may be of any kind: strings, ints, bools; binary (one sigmoid
    output, binary cross-entropy), multiclass (softmax outputs,
    cross-entropy) or a multilabel indicator matrix (one sigmoid output per
    label, binary cross-entropy).  ``class_weight`` (a dict
    {label: weight} or "balanced") multiplies the sample weights.

    Parameters are scikit-learn's MLPClassifier's (docs/sklearn.md maps
    them), with pybp's solvers rprop, quickprop, rmsprop and adagrad, and:

    dtype : "float64" or "float32"; the network's precision.
    loss : None (cross-entropy as above) or a pybp loss name, e.g.
        "half_sse" (squared error on one-hot targets).
    output_activation : None ("softmax" for multiclass, "sigmoid" for binary
        and multilabel), "softmax" (also for binary: two outputs) or
        "sigmoid" (multiclass: one output per class, rows normalised in
        predict_proba).
    callback : None or a callable ``callback(estimator)`` called after every
        epoch, when loss_curve_ (and validation_scores_) include it; a true
        return value stops training (e.g. for Ray Tune's schedulers).

    Fitted attributes: classes_, n_features_in_, feature_names_in_ (from
    a DataFrame), loss_curve_, validation_scores_, best_loss_,
    best_validation_score_, n_iter_, t_, n_layers_, n_outputs_,
    out_activation_, coefs_, intercepts_, network_ (the pybp Network).
    """

    _y_numeric = False
    _is_classifier = True

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam",
                 alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None,
                 tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True,
                 early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, 
                 class_weight: Mapping[Any, float] | str | None = None,
                 dtype: str = "float64",
                 loss: str | None = None,
                 output_activation: str | None = None,
                 callback: Callable[..., object] | None = None) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, dtype=dtype, loss=loss,
            output_activation=output_activation, callback=callback)
        self.class_weight = class_weight

    def partial_fit(self, X: ArrayLike, y: ArrayLike,
                    classes: ArrayLike | None = None,
                    sample_weight: ArrayLike | None = None) -> Self:
        """One epoch over X, y, keeping the weights and the optimizer state
        of earlier calls.  ``classes`` (all the labels there will be) is
        needed on the first call, as in scikit-learn.  The same blocks in the
        same order with the same random_state give the same network."""
        return self._partial_fit(X, y, sample_weight, classes=classes)

    # ---- targets -----------------------------------------------------------

    @property
    def _multilabel(self):
        return self._label_binarizer.y_type_.startswith("multilabel")

    def _targets(self, y, keep, classes, incremental, dtype):
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was "
                          "expected. Please change the shape of y to "
                          "(n_samples,), for example using ravel().",
                          DataConversionWarning, stacklevel=4)
            y = column_or_1d(y)
        check_classification_targets(y)
        if incremental and not keep:
            if classes is None:
                raise ValueError("classes must be passed on the first call "
                                 "to partial_fit: all the labels there will "
                                 "be, e.g. classes=np.unique(y_all)")
        if keep:
            if incremental and classes is not None and not np.array_equal(
                    np.unique(np.asarray(classes)), self.classes_):
                raise ValueError(f"classes={list(classes)!r} differ from the "
                                 f"classes of the first call, "
                                 f"{list(self.classes_)!r}")
            lb = self._label_binarizer
            if lb.y_type_.startswith("multilabel"):
                if y.ndim != 2 or y.shape[1] != len(self.classes_):
                    raise ValueError("this estimator was fitted on a "
                                     f"{len(self.classes_)}-label indicator "
                                     f"matrix; got y of shape {y.shape}")
            else:
                if y.ndim != 1:
                    raise ValueError("this estimator was fitted on 1-D labels;"
                                     f" got y of shape {y.shape}")
                unseen = np.setdiff1d(np.unique(y), self.classes_)
                if unseen.size:
                    raise ValueError(f"y holds labels {list(unseen)!r} that are "
                                     f"not among classes_ "
                                     f"{list(self.classes_)!r}")
        else:
            lb = LabelBinarizer()
            if incremental:
                # as scikit-learn: an indicator matrix names its own labels
                lb.fit(np.unique(np.asarray(classes)) if y.ndim == 1 else y)
                if y.ndim == 1:
                    unseen = np.setdiff1d(np.unique(y), lb.classes_)
                    if unseen.size:
                        raise ValueError(f"y holds labels {list(unseen)!r} "
                                         "that are not in classes="
                                         f"{list(lb.classes_)!r}")
            else:
                lb.fit(y)
            if len(lb.classes_) < 2:
                raise ValueError("MLPClassifier needs samples of at least 2 "
                                 f"classes; got 1 class ({lb.classes_[0]!r})")
            self._label_binarizer = lb
            self.classes_ = lb.classes_
        T = lb.transform(y).astype(dtype)
        if T.shape[1] == 1 and not self._multilabel:
            # Binary labels: one sigmoid output, or two with softmax.
            two = (self.network_.n_outputs == 2 if keep else
                   self.output_activation == "softmax")
            if two:
                T = np.hstack([1 - T, T])
        return np.ascontiguousarray(T), y

    def _output_layer(self, n_out):
        """(output activation, loss) for n_out network outputs."""
        act = self.output_activation
        if act is None:
            act = "sigmoid" if (n_out == 1 or self._multilabel) else "softmax"
        elif act not in ("softmax", "sigmoid", "logistic"):
            raise ValueError("MLPClassifier's output_activation must be "
                             '"softmax", "sigmoid" or None; got '
                             f"{act!r}")
        act = "sigmoid" if act == "logistic" else act
        if act == "softmax" and self._multilabel:
            raise ValueError('output_activation="softmax" cannot model '
                             "multilabel targets (labels are not exclusive); "
                             'use "sigmoid" or None')
        loss = self.loss
        if loss is None:
            loss = ("cross_entropy" if act == "softmax"
                    else "binary_cross_entropy")
        return act, loss

    def _sample_weight(self, sample_weight, X, y, p, incremental):
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight)
            if sw.ndim == 0:
                sw = np.full(X.shape[0], float(sw))
            sw = _dense(sw, p["dtype"])
            if sw.shape != (X.shape[0],):
                raise ValueError(f"sample_weight must have shape "
                                 f"({X.shape[0]},); got {sw.shape}")
        cw = self.class_weight
        if cw is not None:
            if y.ndim != 1:
                raise ValueError("class_weight is not supported for "
                                 "multilabel targets; pass sample_weight")
            if incremental and isinstance(cw, str):
                raise ValueError('class_weight="balanced" needs all the data '
                                 "at once and cannot be used with "
                                 "partial_fit; pass a dict, e.g. from "
                                 "sklearn.utils.class_weight."
                                 "compute_class_weight")
            if not (cw == "balanced" or isinstance(cw, dict)):
                raise ValueError('class_weight must be a dict {label: '
                                 f'weight}}, "balanced" or None; got {cw!r}')
            w = compute_sample_weight(cw, y).astype(p["dtype"])
            sw = w if sw is None else sw * w
        if sw is not None:
            if not np.isfinite(sw).all():
                raise ValueError("sample_weight must be finite")
            if (sw < 0).any():
                raise ValueError("sample_weight must be non-negative")
            if not sw.any():
                raise ValueError("sample_weight (times class_weight) is all "
                                 "zero: no sample would count")
        return sw

    def _validation_score(self, X, y, sw):
        return accuracy_score(y, self._predict_dense(X), sample_weight=sw)

    # ---- prediction --------------------------------------------------------

    def _proba_from_outputs(self, out):
        if self._multilabel:
            return out
        if out.shape[1] == 1:
            return np.hstack([1 - out, out])
        if self.network_.activations[-1] != "softmax":
            s = out.sum(axis=1, keepdims=True)
            s[s == 0] = 1
            return out / s
        return out

    def _labels_from_outputs(self, out):
        if self._multilabel:
            return (out > 0.5).astype(int)
        if out.shape[1] == 1:
            return self.classes_[(out[:, 0] > 0.5).astype(int)]
        return self.classes_[np.argmax(out, axis=1)]

    def _predict_dense(self, X):
        return self._labels_from_outputs(self.network_.predict(X))

    def predict(self, X: ArrayLike) -> np.ndarray[Any, Any]:
        """The predicted labels (an indicator matrix for multilabel)."""
        return self._labels_from_outputs(self._outputs(X))

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Class probabilities, shape (n_samples, n_classes) (for
        multilabel, each label's probability)."""
        return self._proba_from_outputs(self._outputs(X))

    def predict_log_proba(self, X: ArrayLike) -> FloatArray:
        """log(predict_proba(X))."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor trained by pybp.

    Identity output and squared error by default: pybp's "half_sse",
    1/2 sum over outputs of (o - y)^2 averaged over samples, which is
    scikit-learn's squared error for one output (scikit-learn also divides
    by the number of outputs).  Parameters as MLPClassifier, without
    class_weight; ``loss`` may be "half_sse", "sse" or "mse" and
    ``output_activation`` any pybp activation but softmax (None: identity).
    """

    _y_numeric = True
    _is_classifier = False
    _multilabel = False

    def partial_fit(self, X: ArrayLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> Self:
        """One epoch over X, y, keeping the weights and the optimizer state
        of earlier calls; deterministic for a given random_state."""
        return self._partial_fit(X, y, sample_weight)

    def _targets(self, y, keep, classes, incremental, dtype):
        y = np.asarray(y)
        T = _dense(y.reshape(-1, 1) if y.ndim == 1 else y, dtype)
        if keep and T.shape[1] != self.n_outputs_:
            raise ValueError(f"this estimator was fitted on {self.n_outputs_} "
                             f"target(s); got y with {T.shape[1]}")
        return T, y

    def _output_layer(self, n_out):
        act = self.output_activation
        if act is None:
            act = "identity"
        act = _ACTIVATIONS.get(act, act)
        if act == "softmax":
            raise ValueError("MLPRegressor's output_activation cannot be "
                             '"softmax"; use MLPClassifier for classes')
        loss = "half_sse" if self.loss is None else self.loss
        if loss not in ("half_sse", "sse", "mse"):
            raise ValueError('MLPRegressor\'s loss must be "half_sse", "sse" '
                             f'or "mse"; got {loss!r}')
        return act, loss

    def _sample_weight(self, sample_weight, X, y, p, incremental):
        if sample_weight is None:
            return None
        sw = np.asarray(sample_weight)
        if sw.ndim == 0:
            sw = np.full(X.shape[0], float(sw))
        sw = _dense(sw, p["dtype"])
        if sw.shape != (X.shape[0],):
            raise ValueError(f"sample_weight must have shape ({X.shape[0]},);"
                             f" got {sw.shape}")
        if not np.isfinite(sw).all():
            raise ValueError("sample_weight must be finite")
        if (sw < 0).any():
            raise ValueError("sample_weight must be non-negative")
        if not sw.any():
            raise ValueError("sample_weight is all zero: no sample would "
                             "count")
        return sw

    def _validation_score(self, X, y, sw):
        pred = self.network_.predict(X)
        return r2_score(y, pred[:, 0] if y.ndim == 1 else pred,
                        sample_weight=sw)

    def predict(self, X: ArrayLike) -> FloatArray:
        """Predicted targets: shape (n_samples,) for one output, else
        (n_samples, n_outputs)."""
        out = self._outputs(X)
        return out[:, 0] if out.shape[1] == 1 else out
