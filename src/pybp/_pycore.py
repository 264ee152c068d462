"""The pure-Python backend: pybp's algorithms in plain Python.

This module mirrors csrc/kernels_impl.h function by function (forward,
output_delta, backward, accumulate_gradient, optim_step, batch_gradient,
train_epoch), so the algorithm can be read once here and found step by step in
the C.  It is the honest pure-Python baseline users compare against and the
oracle the C kernels are tested against.  No numpy here: a layer's weights are
a list of rows W[j] (the row of w_ij for one j), each row a list of floats
(float64) or an array('f') (float32, so every stored weight is rounded to
float32 as in C; arithmetic is in double).  Biases are one row per layer, or
None without biases.
"""
import math
from array import array
from operator import mul

LEAKY_SLOPE = 0.01


def sigmoid(x):
    """Logistic function without overflow: exp() only ever sees -|x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def softplus(x):
    """log(1 + exp(x)) without overflow for large |x|."""
    return (x if x > 0 else 0.0) + math.log1p(math.exp(-abs(x)))


def _relu(z):
    return z if z > 0 else 0.0


def _leaky_relu(z):
    return z if z > 0 else LEAKY_SLOPE * z


def _identity(z):
    return z


ACTIVATE = {
    "sigmoid": sigmoid,
    "tanh": math.tanh,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "identity": _identity,
}

# A'(net) written in terms of a = A(net), as in C.
DERIVATIVE = {
    "sigmoid": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a * a,
    "relu": lambda a: 1.0 if a > 0 else 0.0,
    "leaky_relu": lambda a: 1.0 if a > 0 else LEAKY_SLOPE,
    "identity": None,
}


def softmax(z):
    zmax = max(z)
    e = [math.exp(v - zmax) for v in z]
    s = 0.0
    for v in e:
        s += v
    return [v / s for v in e]


def row_factory(dtype):
    """The container a weight row is stored in for this precision."""
    if dtype == "float32":
        return lambda values: array("f", values)
    return list


# ---- forward ---------------------------------------------------------------

def forward(activations, W, b, xs):
    """Every layer's activations for the samples xs (a list of rows).

    Returns (acts, z_out): acts[l] is the list of layer l's output rows,
    z_out the output layer's net inputs.
    """
    acts = []
    a_prev = xs
    z_out = None
    last = len(W) - 1
    for l, (Wl, name) in enumerate(zip(W, activations)):
        bl = b[l] if b is not None else [0.0] * len(Wl)
        zs = [[sum(map(mul, row, x)) + bj for row, bj in zip(Wl, bl)]
              for x in a_prev]
        if l == last:
            z_out = zs
        if name == "softmax":
            a = [softmax(z) for z in zs]
        elif name == "identity":
            a = zs
        else:
            f = ACTIVATE[name]
            a = [list(map(f, z)) for z in zs]
        acts.append(a)
        a_prev = a
    return acts, z_out


# ---- loss and output sensitivity -------------------------------------------

def output_delta(loss, act, os, zs, ts, sw):
    """Per-sample losses and each sample's own output delta = de/dz.

    Returns (sum_k w_k e_k, delta rows); w_k = sw[k], or 1 when sw is None.
    """
    total = 0.0
    deltas = []
    for k, (o, z, t) in enumerate(zip(os, zs, ts)):
        m = len(o)
        if loss == "cross_entropy":
            # log o_j = z_j - logsumexp(z); delta = o * sum(t) - t.
            zmax = max(z)
            s = 0.0
            for v in z:
                s += math.exp(v - zmax)
            lse = zmax + math.log(s)
            e = 0.0
            tsum = 0.0
            for zj, tj in zip(z, t):
                if tj != 0:
                    e -= tj * (zj - lse)
                tsum += tj
            d = [oj * tsum - tj for oj, tj in zip(o, t)]
        elif loss == "binary_cross_entropy":
            # -log o = softplus(-z), -log(1 - o) = softplus(z); delta = o - t.
            e = 0.0
            for zj, tj in zip(z, t):
                e += tj * softplus(-zj) + (1.0 - tj) * softplus(zj)
            d = [oj - tj for oj, tj in zip(o, t)]
        else:
            gscale = 2.0 if loss == "sse" else 2.0 / m if loss == "mse" else 1.0
            sq = 0.0
            d = []
            for oj, tj in zip(o, t):
                diff = oj - tj
                sq += diff * diff
                d.append(gscale * diff)
            e = sq if loss == "sse" else sq / m if loss == "mse" else 0.5 * sq
            if act == "softmax":
                # Softmax Jacobian: delta_j = o_j (g_j - sum_i g_i o_i).
                go = 0.0
                for gj, oj in zip(d, o):
                    go += gj * oj
                d = [oj * (gj - go) for gj, oj in zip(d, o)]
            elif act != "identity":
                dA = DERIVATIVE[act]
                d = [gj * dA(oj) for gj, oj in zip(d, o)]
        total += sw[k] * e if sw is not None else e
        deltas.append(d)
    return total, deltas


# ---- backward --------------------------------------------------------------

def backward(activations, W, acts, deltas):
    """The delta recurrence delta_p_i = A'(p_i) sum_j w_ij delta_c_j.

    deltas[-1] holds the output deltas; fills deltas[l] for l < L - 1.
    """
    for l in range(len(W) - 1, 0, -1):
        columns = list(zip(*W[l]))  # columns[i] = (w_i0, w_i1, ...)
        dA = DERIVATIVE[activations[l - 1]]
        dp = []
        for dc, ap in zip(deltas[l], acts[l - 1]):
            s = [sum(map(mul, col, dc)) for col in columns]
            if dA is not None:
                s = [si * dA(ai) for si, ai in zip(s, ap)]
            dp.append(s)
        deltas[l - 1] = dp


def accumulate_gradient(xs, acts, deltas, sw, scale, gW, gb):
    """gW, gb += sum_k c_k (A(p_i) delta_c_j, delta_c_j), c_k = scale * sw[k]."""
    a_prev = xs
    for l in range(len(gW)):
        gWl = gW[l]
        gbl = gb[l] if gb is not None else None
        for k, (ak, dk) in enumerate(zip(a_prev, deltas[l])):
            c = scale * sw[k] if sw is not None else scale
            for j, dj in enumerate(dk):
                cd = c * dj
                gWl[j] = [g + cd * a for g, a in zip(gWl[j], ak)]
                if gbl is not None:
                    gbl[j] += cd
        a_prev = acts[l]


# ---- optimizers ------------------------------------------------------------

def _sgd_segment(hyper, w, g, v, decay):
    """One SGD update of one row; returns (new w, new v).

    The seeds' momentum: V <- mu V - eta g; W <- W + V; Nesterov's variant
    moves by mu V_new - eta g.
    """
    lr, mu = hyper["lr"], hyper.get("momentum", 0.0)
    if mu == 0:
        return [wp - lr * (gp + decay * wp) for wp, gp in zip(w, g)], v
    v = [mu * vp - lr * (gp + decay * wp) for wp, gp, vp in zip(w, g, v)]
    if hyper.get("nesterov", False):
        return [wp + (mu * vp - lr * (gp + decay * wp))
                for wp, gp, vp in zip(w, g, v)], v
    return [wp + vp for wp, vp in zip(w, v)], v


def optim_step(hyper, W, b, gW, gb, state, train_biases, make_row):
    """One optimizer update in place of the rows of W and b.

    state is a dict of per-slot (W-shaped, b-shaped) rows (e.g. "velocity"),
    as made by new_state().  Returns the new step count.
    """
    decay = hyper.get("weight_decay", 0.0)
    velocity = state.get("velocity")
    for l, (Wl, gWl) in enumerate(zip(W, gW)):
        for j in range(len(Wl)):
            v = velocity[0][l][j] if velocity is not None else None
            w, v = _sgd_segment(hyper, Wl[j], gWl[j], v, decay)
            Wl[j] = make_row(w)
            if velocity is not None:
                velocity[0][l][j] = make_row(v)
        if b is not None and train_biases:
            v = velocity[1][l] if velocity is not None else None
            w, v = _sgd_segment(hyper, b[l], gb[l], v, 0.0)
            b[l] = make_row(w)
            if velocity is not None:
                velocity[1][l] = make_row(v)
    return hyper.get("step", 0) + 1


def state_slots(hyper):
    """Names of the optimizer-state slots, in the C layout's order."""
    if hyper["kind"] == "sgd" and hyper.get("momentum", 0.0) != 0:
        return ["velocity"]
    return []


# ---- batch and epoch drivers -----------------------------------------------

def zeros_like(W, b):
    gW = [[[0.0] * len(row) for row in Wl] for Wl in W]
    gb = [[0.0] * len(bl) for bl in b] if b is not None else None
    return gW, gb


def batch_gradient(activations, W, b, xs, ts, sw, loss):
    """Gradient of the (weighted) mean loss over the batch.

    Returns (loss sum, weight sum, gW, gb, acts, deltas).
    """
    acts, z_out = forward(activations, W, b, xs)
    loss_sum, d_out = output_delta(loss, activations[-1], acts[-1], z_out, ts,
                                   sw)
    deltas = [None] * len(W)
    deltas[-1] = d_out
    backward(activations, W, acts, deltas)
    if sw is not None:
        wsum = 0.0
        for s in sw:
            wsum += s
    else:
        wsum = float(len(xs))
    gW, gb = zeros_like(W, b)
    if wsum > 0:
        accumulate_gradient(xs, acts, deltas, sw, 1.0 / wsum, gW, gb)
    return loss_sum, wsum, gW, gb, acts, deltas


def train_epoch(activations, hyper, W, b, state, X, T, sw, order, batch, loss,
                train_biases, make_row, progress=None):
    """One epoch over X[order] in batches: gather, forward, backward, update.

    Returns (samples applied, loss sum, weight sum, new step count).  Stops
    before applying a batch whose loss is not finite, and after a batch for
    which progress(samples_done) returns true.
    """
    loss_sum = 0.0
    weight_sum = 0.0
    n = len(order)
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        xs = [X[i] for i in idx]
        ts = [T[i] for i in idx]
        sws = [sw[i] for i in idx] if sw is not None else None
        bl, bw, gW, gb, _, _ = batch_gradient(activations, W, b, xs, ts, sws,
                                              loss)
        loss_sum += bl
        weight_sum += bw
        if not math.isfinite(bl):
            return start, loss_sum, weight_sum, hyper.get("step", 0)
        hyper = dict(hyper, step=optim_step(hyper, W, b, gW, gb, state,
                                            train_biases, make_row))
        done = start + len(idx)
        if progress is not None and progress(done):
            return done, loss_sum, weight_sum, hyper["step"]
    return n, loss_sum, weight_sum, hyper.get("step", 0)
