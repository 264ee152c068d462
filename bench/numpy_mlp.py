"""A plain vectorised numpy MLP: the baseline pybp's mini-batch kernels are
measured against.

Forward a_l = A(a_{l-1} W_l^T + b_l), the output sensitivity, the δ
recurrence δ_{l-1} = A'(a_{l-1}) ⊙ (δ_l W_l), the gradients of the batch-mean
loss ∂J/∂W_l = δ_l^T a_{l-1} / B, and SGD with momentum V ← μV − η∂J/∂W,
W ← W + V: the same algorithm as pybp (DESIGN.md), one matmul per product,
no fusing and no tricks.  W_l has pybp's shape (n_out, n_in).
"""
import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# activation(z) and its derivative written in terms of the output a = A(z)
ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(a.dtype)),
    "identity": (lambda z: z, lambda a: np.ones_like(a)),
    "softmax": (_softmax, None),
}


def per_sample_loss(loss, O, T):
    """Each sample's loss, summed over outputs (pybp's definitions)."""
    if loss == "half_sse":
        return 0.5 * ((O - T) ** 2).sum(1)
    if loss == "sse":
        return ((O - T) ** 2).sum(1)
    if loss == "cross_entropy":
        return -(T * np.log(np.maximum(O, np.finfo(O.dtype).tiny))).sum(1)
    raise ValueError(f"numpy_mlp supports half_sse, sse and cross_entropy; "
                     f"got {loss!r}")


class NumpyMLP:
    def __init__(self, params, activations, loss, lr, momentum=0.0,
                 dtype="float64"):
        dt = np.dtype(dtype)
        hidden, out = activations
        self.acts = [hidden] * (len(params) - 1) + [out]
        self.loss, self.lr, self.momentum = loss, lr, momentum
        self.W = [np.array(w, dtype=dt) for w, _ in params]
        self.b = [np.array(b, dtype=dt) for _, b in params]
        self.VW = [np.zeros_like(w) for w in self.W]
        self.Vb = [np.zeros_like(b) for b in self.b]
        if (loss == "cross_entropy") != (out == "softmax"):
            raise ValueError("cross_entropy goes with a softmax output")

    def forward(self, X):
        a = [X]
        for W, b, act in zip(self.W, self.b, self.acts):
            a.append(ACTIVATIONS[act][0](a[-1] @ W.T + b))
        return a

    def predict(self, X):
        return self.forward(X)[-1]

    def mean_loss(self, X, T):
        return float(per_sample_loss(self.loss, self.predict(X), T).mean())

    def step(self, X, T):
        """One update on the batch (X, T)."""
        a = self.forward(X)
        o = a[-1]
        if self.loss == "cross_entropy":
            delta = o - T
        else:
            scale = 1.0 if self.loss == "half_sse" else 2.0
            delta = scale * (o - T) * ACTIVATIONS[self.acts[-1]][1](o)
        inv_b = 1.0 / len(X)
        for l in range(len(self.W) - 1, -1, -1):
            gW = (delta.T @ a[l]) * inv_b
            gb = delta.sum(0) * inv_b
            if l > 0:
                delta = (delta @ self.W[l]) * ACTIVATIONS[self.acts[l - 1]][1](a[l])
            self.VW[l] *= self.momentum
            self.VW[l] -= self.lr * gW
            self.Vb[l] *= self.momentum
            self.Vb[l] -= self.lr * gb
            self.W[l] += self.VW[l]
            self.b[l] += self.Vb[l]

    def train(self, X, T, orders, batch_size):
        """One epoch per row of orders, batches taken in that order."""
        for order in orders:
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                self.step(X[idx], T[idx])
