"""Shared helpers for the training tests (optimizers, trainer, stopping).

Test modules import it by name (conftest.py puts tests/ on sys.path);
nothing here imports the source tree.  The optimizer references are
written from the textbook formulas with numpy, independently of pybp's
code: they are what the tests compare pybp against.  The problems below
are small pybp networks with data they can learn in a few epochs.
"""
import math

import numpy as np

import pybp
from pybp import optim

BACKENDS = ("c", "python")

# Each loss with an output activation it is meant for (and softmax with mse).
OUTPUT_LOSS = [("sigmoid", "half_sse"), ("tanh", "sse"), ("identity", "mse"),
               ("softmax", "mse"), ("softmax", "cross_entropy"),
               ("sigmoid", "binary_cross_entropy")]
OUTPUT_LOSS_IDS = [f"{a}-{l}" for a, l in OUTPUT_LOSS]


# ---- data -------------------------------------------------------------------

def teacher_data(n, rng, n_in=10, n_out=4, hidden=8, teacher_seed=1234):
    """Seed 000's credit task, synthetic: inputs are standard normal, the
    label is the position of the largest output of a FIXED random teacher
    net (tanh hidden layer, linear output), as one-hot rows.

    The teacher depends only on ``teacher_seed``, so training and test sets
    drawn with different ``rng`` share the same labelling rule.
    """
    trng = np.random.default_rng(teacher_seed)
    A = trng.normal(0.0, 1.0 / math.sqrt(n_in), (n_in, hidden))
    a = trng.normal(0.0, 0.3, hidden)
    B = trng.normal(0.0, 1.0 / math.sqrt(hidden), (hidden, n_out))
    X = rng.normal(0.0, 1.0, (n, n_in))
    scores = np.tanh(X @ A + a) @ B
    labels = np.argmax(scores, axis=1)
    return X, np.eye(n_out)[labels], labels


def small_regression(n, rng, n_in=3, n_out=2):
    """Smooth regression targets in (0.1, 0.9) for sigmoid outputs."""
    X = rng.uniform(-1.0, 1.0, (n, n_in))
    W = rng.normal(0.0, 1.0, (n_in, n_out))
    T = 0.5 + 0.4 * np.tanh(X @ W)
    return X, T


# One of each optimizer (and SGD's variants), with settings that train the
# small problems below in a few epochs.
OPTIMIZERS = {
    "sgd": lambda: optim.SGD(0.2),
    "momentum": lambda: optim.SGD(0.1, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda: optim.SGD(0.1, momentum=0.9, nesterov=True),
    "adam": lambda: optim.Adam(0.02, weight_decay=0.01),
    "rmsprop": lambda: optim.RMSprop(0.01),
    "adagrad": lambda: optim.Adagrad(0.1),
    "rprop": lambda: optim.Rprop(weight_decay=0.01),
    "quickprop": lambda: optim.Quickprop(),
}


def regression_problem(n=24, seed=0, backend="c", sizes=(3, 5, 2), dtype="float64"):
    rng = np.random.default_rng(seed)
    X, T = small_regression(n, rng, n_in=sizes[0], n_out=sizes[-1])
    net = pybp.Network(list(sizes), "tanh", "sigmoid", seed=seed,
                       backend=backend, dtype=dtype)
    randomize_biases(net, rng, 0.2)
    return net, X, T


def classification_problem(n=30, seed=0, backend="c"):
    rng = np.random.default_rng(seed)
    X, T, labels = teacher_data(n, rng, n_in=4, n_out=3, hidden=5)
    net = pybp.Network([4, 6, 3], "tanh", "softmax", seed=seed,
                       backend=backend)
    return net, X, T, labels


# ---- parameter layout --------------------------------------------------------

def weight_mask(net):
    """Boolean mask over net.params: True for weights, False for biases.

    Found through the public views only: a copy's weights are set to 1, its
    biases to 0.
    """
    probe = net.copy()
    probe.params[...] = 0.0
    for W in probe.weights:
        W[...] = 1.0
    return probe.params == 1.0


def randomize_biases(net, rng, scale=0.5):
    """Give every bias a non-zero value (they start at zero), so that a
    wrongly applied weight decay on biases would show."""
    for b in net.biases:
        b[...] = rng.uniform(-scale, scale, b.shape)


# ---- textbook optimizer references (flat numpy arrays) -------------------------

class RefSGD:
    """w <- w - lr gd;  momentum: V <- mu V - lr gd, W <- W + V;
    Nesterov (Sutskever et al. 2013, as PyTorch/Keras): W <- W + mu V_new - lr gd.
    gd = g + weight_decay * w on weights only."""

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        self.lr, self.mu, self.nesterov, self.wd = lr, momentum, nesterov, weight_decay
        self.v = None

    def step(self, w, g, mask):
        gd = g + self.wd * w * mask
        if self.mu == 0:
            return w - self.lr * gd
        if self.v is None:
            self.v = np.zeros_like(w)
        self.v = self.mu * self.v - self.lr * gd
        if self.nesterov:
            return w + self.mu * self.v - self.lr * gd
        return w + self.v


class RefAdam:
    """Kingma & Ba (2015), Algorithm 1, with bias correction."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, beta1, beta2, eps, weight_decay
        self.m = self.v = None
        self.t = 0

    def step(self, w, g, mask):
        gd = g + self.wd * w * mask
        if self.m is None:
            self.m, self.v = np.zeros_like(w), np.zeros_like(w)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * gd
        self.v = self.b2 * self.v + (1 - self.b2) * gd ** 2
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        return w - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class RefRMSprop:
    """Hinton's RMSprop: v <- rho v + (1-rho) g^2;  w <- w - lr g / (sqrt(v) + eps)."""

    def __init__(self, lr, rho=0.9, eps=1e-8, weight_decay=0.0):
        self.lr, self.rho, self.eps, self.wd = lr, rho, eps, weight_decay
        self.v = None

    def step(self, w, g, mask):
        gd = g + self.wd * w * mask
        if self.v is None:
            self.v = np.zeros_like(w)
        self.v = self.rho * self.v + (1 - self.rho) * gd ** 2
        return w - self.lr * gd / (np.sqrt(self.v) + self.eps)


class RefAdagrad:
    """Duchi et al. (2011): G <- G + g^2;  w <- w - lr g / (sqrt(G) + eps)."""

    def __init__(self, lr, eps=1e-10, weight_decay=0.0):
        self.lr, self.eps, self.wd = lr, eps, weight_decay
        self.G = None

    def step(self, w, g, mask):
        gd = g + self.wd * w * mask
        if self.G is None:
            self.G = np.zeros_like(w)
        self.G = self.G + gd ** 2
        return w - self.lr * gd / (np.sqrt(self.G) + self.eps)


class RefRprop:
    """iRPROP- (Igel & Huesken 2000, Fig. 3), written per weight:

        if g_prev * g > 0:  delta = min(delta * eta+, delta_max)
        elif g_prev * g < 0: delta = max(delta * eta-, delta_min); g = 0
        w = w - sign(g) * delta;  g_prev = g

    with delta starting at delta0 and g_prev at 0.  Counts how often each
    case happened so that tests can check they were exercised.
    """

    def __init__(self, eta_plus=1.2, eta_minus=0.5, delta0=0.1, delta_min=0.0,
                 delta_max=50.0, weight_decay=0.0):
        self.up, self.down = eta_plus, eta_minus
        self.delta0, self.dmin, self.dmax = delta0, delta_min, delta_max
        self.wd = weight_decay
        self.delta = self.g_prev = None
        self.grew = self.shrank = self.clipped = 0

    def step(self, w, g, mask):
        gd = g + self.wd * w * mask
        if self.delta is None:
            self.delta = np.full_like(w, self.delta0)
            self.g_prev = np.zeros_like(w)
        w = w.copy()
        for p in range(w.size):
            s = self.g_prev[p] * gd[p]
            d = self.delta[p]
            gp = gd[p]
            if s > 0:
                d = min(d * self.up, self.dmax)
                self.grew += 1
                self.clipped += d == self.dmax
            elif s < 0:
                d = max(d * self.down, self.dmin)
                self.shrank += 1
                self.clipped += d == self.dmin
                gp = 0.0
            w[p] -= np.sign(gp) * d
            self.delta[p] = d
            self.g_prev[p] = gp
        return w


class RefQuickprop:
    """Fahlman (1988) quickprop, per weight, on the slope S = -(g + decay w)
    (weights only), with the previous slope S_prev and previous step dw_prev:

        dw_prev == 0:  dw = lr S                        (plain gradient step)
        dw_prev > 0:   dw = (lr S if S > 0 else 0)
                          + (mu dw_prev                if S > mu/(1+mu) S_prev
                             else dw_prev S / (S_prev - S))
        dw_prev < 0:   mirror image (S < 0, S < mu/(1+mu) S_prev)

    i.e. jump to the minimum of the parabola through the last two slopes,
    at most mu times the last step, plus the gradient term while the slope
    still points the way of the last step.  Counts the branches taken.
    """

    def __init__(self, lr=0.7, mu=1.75, weight_decay=1e-4):
        self.lr, self.mu, self.wd = lr, mu, weight_decay
        self.S_prev = self.dw_prev = None
        self.capped = self.parabola = 0

    def step(self, w, g, mask):
        S_all = -(g + self.wd * w * mask)
        if self.S_prev is None:
            self.S_prev = np.zeros_like(w)
            self.dw_prev = np.zeros_like(w)
        shrink = self.mu / (1.0 + self.mu)
        w = w.copy()
        for p in range(w.size):
            S, Sp, prev = S_all[p], self.S_prev[p], self.dw_prev[p]
            if prev == 0:
                dw = self.lr * S
            else:
                sgn = 1.0 if prev > 0 else -1.0
                dw = self.lr * S if sgn * S > 0 else 0.0
                if sgn * S > sgn * shrink * Sp:
                    dw += self.mu * prev
                    self.capped += 1
                else:
                    assert Sp != S, "reference: parabola through equal slopes"
                    dw += prev * S / (Sp - S)
                    self.parabola += 1
            w[p] += dw
            self.S_prev[p] = S
            self.dw_prev[p] = dw
        return w


def reference_steps(net, X, T, ref, steps, loss="half_sse"):
    """Full-batch reference training: each step takes g from
    net.gradients(X, T) at the reference's current parameters and applies the
    reference update.  Returns the list of parameter vectors after each step.
    """
    work = net.copy()
    mask = weight_mask(net)
    w = work.params.copy()
    out = []
    for _ in range(steps):
        work.params[...] = w
        g = work.gradients(X, T, loss=loss).params.copy()
        w = ref.step(w, g, mask)
        out.append(w.copy())
    return out


class Snapshots:
    """A callback that records a copy of the parameters after every epoch."""

    def __init__(self):
        self.params = []
        self.history_lengths = []

    def __call__(self, net, history):
        self.params.append(net.params.copy())
        self.history_lengths.append(len(history.loss))
        return False


def sigint_when_fit_listens(delay, fired, timeout=30.0):
    """Send SIGINT to this process `delay` s after a fit has put its Ctrl-C
    handler in place of Python's default one (looked for during `timeout`
    s), appending the time to `fired`.  Call it from the main thread: it
    first installs Python's default SIGINT handler, the one fit replaces.
    Returns (thread, stop): stop.set() cancels it, thread.join() waits for
    it.  Firing only once the handler listens keeps a loaded machine from
    losing the signal before fit starts listening (which would turn the
    test into a hang), and no signal is sent once fit has stopped
    listening.

    Where the platform has setitimer, the looking and the sending are done
    by a SIGALRM handler, which runs in the main thread, so that the test
    does not depend on how the GIL is shared: a watcher thread needs it,
    and fits on the pure-Python backend once kept it from the watcher for
    seconds (0 turns in a 3 s fit; see _core's FINITE_NOGIL)."""
    import os
    import signal
    import threading
    import time
    # fit listens only over Python's default handler: put that one in place
    # (an earlier test or plugin may have left another).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def listening():
        return signal.getsignal(signal.SIGINT) is not \
            signal.default_int_handler

    if hasattr(signal, "setitimer"):
        end = time.perf_counter() + timeout
        since = []

        def on_alarm(signum, frame):
            if not since:
                if listening():
                    since.append(time.perf_counter())
                    signal.setitimer(signal.ITIMER_REAL, delay)
                elif time.perf_counter() < end:
                    signal.setitimer(signal.ITIMER_REAL, 0.001)
            elif listening():
                fired.append(time.perf_counter())
                os.kill(os.getpid(), signal.SIGINT)

        class Alarm:
            def set(self):
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)

            def join(self):
                pass

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, 0.001)
        alarm = Alarm()
        return alarm, alarm

    stop = threading.Event()

    def run():
        end = time.perf_counter() + timeout
        while not listening():
            if stop.is_set() or time.perf_counter() > end:
                return
            time.sleep(0.001)
        if stop.wait(delay) or not listening():
            return
        fired.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, stop
