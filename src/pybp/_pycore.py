"""The pure-Python backend: pybp's algorithms in plain Python.

Activations are looked up by the registry's names in ACTIVATIONS and
DERIVATIVES (as scikit-learn's neural_network/_base.py does).  This module
mirrors csrc/kernels_impl.h function by function (forward,
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

from pybp import _registry

# ---- sums in the C kernels' order -------------------------------------------
# Python's sum() of floats is left to right up to 3.11 but compensated
# (Neumaier) from 3.12 on, so the sums the C kernels compute are written out
# here, addition by addition.

_LANES = 8   # PYBP_DOT_LANES in csrc/kernels_impl.h


def ordered_sum(values):
    """values[0] + values[1] + ... from 0.0, left to right, as C adds."""
    s = 0.0
    for v in values:
        s += v
    return s


def ordered_dot(a, b):
    """sum_i a[i] b[i] left to right (the C delta recurrence's order)."""
    s = 0.0
    for p in map(mul, a, b):
        s += p
    return s


def dot(a, b):
    """The C forward product's dot: eight partial sums, lane u holding
    a[u] b[u] + a[u+8] b[u+8] + ... over the whole blocks of eight, the tail
    added to lane 0, then ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7))."""
    n = len(a)
    m = n - n % _LANES
    if m == 0:
        return ordered_dot(a, b)
    s = [ordered_dot(a[u:m:_LANES], b[u:m:_LANES]) for u in range(_LANES)]
    for p in map(mul, a[m:n], b[m:n]):
        s[0] += p
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))

LEAKY_SLOPE = _registry.LEAKY_SLOPE
state_slots = _registry.state_slots

# ---- the sample-order generator (csrc/shuffle.h) --------------------------

_MASK64 = (1 << 64) - 1


def rng_next(state):
    """SplitMix64: (new state, 64-bit output)."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def rng_below(state, bound):
    """Lemire's bounded draw: (new state, index uniform in [0, bound))."""
    state, x = rng_next(state)
    product = x * bound
    low = product & _MASK64
    if low < bound:
        reject = (1 << 64) % bound
        while low < reject:
            state, x = rng_next(state)
            product = x * bound
            low = product & _MASK64
    return state, product >> 64


def shuffle(state, n):
    """(new state, a permutation of range(n)) exactly as pybp_shuffle_order:
    Fisher-Yates from the last position down."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        state, j = rng_below(state, i + 1)
        order[i], order[j] = order[j], order[i]
    return state, order


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


# A(net) per unit, by the registry's names (softmax, which needs the whole
# row, is the function softmax below).
ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": math.tanh,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "identity": _identity,
}

# A'(net) written in terms of a = A(net), as in C.
DERIVATIVES = {
    "sigmoid": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a * a,
    "relu": lambda a: 1.0 if a > 0 else 0.0,
    "leaky_relu": lambda a: 1.0 if a > 0 else LEAKY_SLOPE,
    "identity": None,
}


if set(ACTIVATIONS) != set(DERIVATIVES) or \
        set(ACTIVATIONS) | {"softmax"} != set(_registry.ACTIVATIONS):
    raise ImportError("pybp._pycore's activations differ from the registry's")


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
        zs = [[dot(row, x) + bj for row, bj in zip(Wl, bl)]
              for x in a_prev]
        if l == last:
            z_out = zs
        if name == "softmax":
            a = [softmax(z) for z in zs]
        elif name == "identity":
            a = zs
        else:
            f = ACTIVATIONS[name]
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
                dA = DERIVATIVES[act]
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
        dA = DERIVATIVES[activations[l - 1]]
        dp = []
        for dc, ap in zip(deltas[l], acts[l - 1]):
            s = [ordered_dot(col, dc) for col in columns]
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

def update_segment(spec, step, w, g, state, decay):
    """One optimizer update of one row: returns (new w, new state).

    spec: the optimizer's spec (Optimizer.spec), step: updates taken so
    far, state: {slot name: row} for the registry's state_slot_names(spec)
    (copied, not changed).  gd below is the gradient plus the L2 term,
    g + decay * w.
    """
    kind = spec["kind"]
    n = len(w)
    w = list(w)
    state = {name: list(row) for name, row in state.items()}
    if kind == "sgd":
        # The seeds' momentum: V <- mu V - eta gd; W <- W + V; Nesterov's
        # variant moves by mu V_new - eta gd.
        lr, mu = spec["lr"], spec["momentum"]
        if mu == 0:
            return [wp - lr * (gp + decay * wp) for wp, gp in zip(w, g)], state
        V = state["velocity"]
        nesterov = spec["nesterov"]
        for p in range(n):
            gd = g[p] + decay * w[p]
            V[p] = mu * V[p] - lr * gd
            w[p] += (mu * V[p] - lr * gd) if nesterov else V[p]
    elif kind == "adam":
        # As in C: lr_t * m / (sqrt(v) + eps_t), the textbook update
        # lr * (m / c1) / (sqrt(v / c2) + eps) rearranged (Kingma & Ba, Sec. 2).
        b1, b2 = spec["beta1"], spec["beta2"]
        m, v = state["m"], state["v"]
        c1, c2 = 1.0 - b1 ** (step + 1), 1.0 - b2 ** (step + 1)
        root_c2 = math.sqrt(c2)
        lr_t, eps_t = spec["lr"] * root_c2 / c1, spec["eps"] * root_c2
        for p in range(n):
            gd = g[p] + decay * w[p]
            m[p] = b1 * m[p] + (1.0 - b1) * gd
            v[p] = b2 * v[p] + (1.0 - b2) * gd * gd
            w[p] -= lr_t * m[p] / (math.sqrt(v[p]) + eps_t)
    elif kind == "rmsprop":
        lr, rho, eps = spec["lr"], spec["rho"], spec["eps"]
        v = state["v"]
        for p in range(n):
            gd = g[p] + decay * w[p]
            v[p] = rho * v[p] + (1.0 - rho) * gd * gd
            w[p] -= lr * gd / (math.sqrt(v[p]) + eps)
    elif kind == "adagrad":
        lr, eps = spec["lr"], spec["eps"]
        G = state["sum_sq"]
        for p in range(n):
            gd = g[p] + decay * w[p]
            G[p] += gd * gd
            w[p] -= lr * gd / (math.sqrt(G[p]) + eps)
    elif kind == "rprop":
        # iRPROP-: every parameter has its own step size; a sign change
        # shrinks it and forgets that gradient.
        up, down = spec["eta_plus"], spec["eta_minus"]
        dmin, dmax = spec["delta_min"], spec["delta_max"]
        prev_grad, step_size = state["prev_grad"], state["step_size"]
        for p in range(n):
            gd = g[p] + decay * w[p]
            delta = spec["delta0"] if step == 0 else step_size[p]
            sign_change = gd * prev_grad[p]
            if sign_change > 0:
                delta = min(delta * up, dmax)
            elif sign_change < 0:
                delta = max(delta * down, dmin)
                gd = 0.0
            if gd > 0:
                w[p] -= delta
            elif gd < 0:
                w[p] += delta
            prev_grad[p] = gd
            step_size[p] = delta
    elif kind == "quickprop":
        # Fahlman's quickprop on the slope S = -gd.
        lr, mu = spec["lr"], spec["mu"]
        shrink = mu / (1.0 + mu)
        prev_slope, prev_step = state["prev_slope"], state["prev_step"]
        for p in range(n):
            S = -(g[p] + decay * w[p])
            Sp, prev = prev_slope[p], prev_step[p]
            step_p = 0.0
            if prev != 0:
                forward = S > 0 if prev > 0 else S < 0
                steep = S > shrink * Sp if prev > 0 else S < shrink * Sp
                if forward:
                    step_p += lr * S
                if steep:
                    step_p += mu * prev
                elif Sp != S:
                    step_p += prev * S / (Sp - S)
            else:
                step_p = lr * S
            w[p] += step_p
            prev_slope[p] = S
            prev_step[p] = step_p
    return w, state


def optim_step(spec, step, W, b, gW, gb, state, train_biases, make_row):
    """One optimizer update in place of the rows of W and b.

    state: {slot name: (W-shaped rows, b-shaped rows)}, the slots of
    state_slot_names(spec).  Returns the new step count.
    """
    decay = spec["weight_decay"]

    def update(rows, slot_rows, index, grads, decay):
        """rows[index] and its state rows slot_rows[name][index], updated."""
        held = {name: s[index] for name, s in slot_rows.items()}
        w, new = update_segment(spec, step, rows[index], grads, held, decay)
        rows[index] = make_row(w)
        for name, s in slot_rows.items():
            s[index] = make_row(new[name])

    for l in range(len(W)):
        for j in range(len(W[l])):
            update(W[l], {name: sW[l] for name, (sW, _) in state.items()}, j,
                   gW[l][j], decay)
        if b is not None and train_biases:
            update(b, {name: sb for name, (_, sb) in state.items()}, l, gb[l],
                   0.0)
    return step + 1


# ---- batch and epoch drivers -----------------------------------------------

def zeros_like(W, b):
    gW = [[[0.0] * len(row) for row in Wl] for Wl in W]
    gb = [[0.0] * len(bl) for bl in b] if b is not None else None
    return gW, gb


def count_correct(metric, threshold, os, ts, sw):
    """sum_k w_k [sample k predicted right], as count_correct in C."""
    if metric is None:
        return 0.0
    correct = 0.0
    for k, (o, t) in enumerate(zip(os, ts)):
        if metric == "argmax":
            io = it = 0
            for j in range(1, len(o)):
                if o[j] > o[io]:
                    io = j
                if t[j] > t[it]:
                    it = j
            right = io == it
        else:
            right = all((oj >= threshold) == (tj >= threshold)
                        for oj, tj in zip(o, t))
        if right:
            correct += sw[k] if sw is not None else 1.0
    return correct


def batch_deltas(activations, W, b, xs, ts, sw, loss):
    """Forward pass, losses, output deltas and the delta recurrence.

    Returns (loss sum, weight sum, acts, deltas).
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
    return loss_sum, wsum, acts, deltas


def batch_gradient(activations, W, b, xs, ts, sw, loss):
    """Gradient of the (weighted) mean loss over the batch.

    Returns (loss sum, weight sum, gW, gb, acts, deltas).
    """
    loss_sum, wsum, acts, deltas = batch_deltas(activations, W, b, xs, ts, sw,
                                                loss)
    gW, gb = zeros_like(W, b)
    if wsum > 0:
        accumulate_gradient(xs, acts, deltas, sw, 1.0 / wsum, gW, gb)
    return loss_sum, wsum, gW, gb, acts, deltas


def evaluate(activations, W, b, X, T, sw, loss, metric, threshold, chunk):
    """(loss sum, weight sum, correct sum) over X, T in chunks."""
    loss_sum = weight_sum = correct = 0.0
    for start in range(0, len(X), chunk):
        xs, ts = X[start:start + chunk], T[start:start + chunk]
        sws = sw[start:start + chunk] if sw is not None else None
        acts, z_out = forward(activations, W, b, xs)
        ls, _ = output_delta(loss, activations[-1], acts[-1], z_out, ts, sws)
        loss_sum += ls
        weight_sum += ordered_sum(sws) if sws is not None else float(len(xs))
        correct += count_correct(metric, threshold, acts[-1], ts, sws)
    return loss_sum, weight_sum, correct


def train_epoch(activations, spec, step, W, b, state, X, T, sw, order, batch,
                loss, train_biases, metric, threshold, make_row,
                progress=None):
    """One epoch over X[order] in batches, as pybp_train_epoch in C.

    spec, step: the optimizer and its update count; state: as optim_step.
    Returns (samples applied, loss sum, weight sum, correct sum, new step).
    For a full-batch optimizer the gradients of all batches are summed and
    one step is taken at the end.  Stops before applying a batch whose loss
    is not finite, and after a batch for which progress(samples_done) is
    true.
    """
    full_batch = spec["kind"] in _registry.FULL_BATCH
    loss_sum = weight_sum = correct = epoch_weight = 0.0
    if full_batch:
        gsum_W, gsum_b = zeros_like(W, b)
    n = len(order)
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        xs = [X[i] for i in idx]
        ts = [T[i] for i in idx]
        sws = [sw[i] for i in idx] if sw is not None else None
        bl, bw, acts, deltas = batch_deltas(activations, W, b, xs, ts, sws,
                                            loss)
        loss_sum += bl
        weight_sum += bw
        correct += count_correct(metric, threshold, acts[-1], ts, sws)
        if not math.isfinite(bl):
            return (0 if full_batch else start), loss_sum, weight_sum, \
                correct, step
        if full_batch:
            accumulate_gradient(xs, acts, deltas, sws, 1.0, gsum_W, gsum_b)
            epoch_weight += bw
        elif bw > 0:
            gW, gb = zeros_like(W, b)
            accumulate_gradient(xs, acts, deltas, sws, 1.0 / bw, gW, gb)
            step = optim_step(spec, step, W, b, gW, gb, state, train_biases,
                              make_row)
        done = start + len(idx)
        if progress is not None and progress(done):
            return (0 if full_batch else done), loss_sum, weight_sum, \
                correct, step
    if full_batch:
        if not epoch_weight > 0:
            return 0, loss_sum, weight_sum, correct, step
        gW = [[[g / epoch_weight for g in row] for row in Wl] for Wl in gsum_W]
        gb = [[g / epoch_weight for g in row] for row in gsum_b] \
            if gsum_b is not None else None
        step = optim_step(spec, step, W, b, gW, gb, state, train_biases,
                          make_row)
    return n, loss_sum, weight_sum, correct, step
