"""Gradient checking: backpropagation against central finite differences."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from pybp.network import Network


def check_gradients(net: Network, X: ArrayLike, T: ArrayLike,
                    loss: str = "half_sse",
                    sample_weight: ArrayLike | None = None,
                    eps: float | None = None) -> float:
    """Largest relative difference between backprop and finite differences.

    Returns max |a - b| / max(|a|, |b|, 1e-7) over all weights and biases,
    with a the backpropagated gradient of net.loss(X, T) and b the central
    difference (loss(w + eps) - loss(w - eps)) / (2 eps).  eps defaults to
    1e-5 in float64 (rounding noise ~1e-16/eps and truncation error ~eps^2
    balance there) and 1e-2 in float32, where rounding would swamp a smaller
    step.  The network's parameters are restored afterwards.
    """
    backprop = net.gradients(X, T, loss=loss,
                             sample_weight=sample_weight).params.astype(float)
    if eps is None:
        eps = 1e-5 if net.dtype == np.float64 else 1e-2
    params = net.params
    numeric = np.empty_like(backprop)
    for p in range(params.size):
        saved = params[p]
        try:
            params[p] = saved + eps
            up = net.loss(X, T, loss=loss, sample_weight=sample_weight)
            params[p] = saved - eps
            down = net.loss(X, T, loss=loss, sample_weight=sample_weight)
        finally:
            params[p] = saved
        # The step actually taken, after rounding to the parameter dtype.
        step = float(np.asarray(saved + eps, net.dtype)) - \
            float(np.asarray(saved - eps, net.dtype))
        numeric[p] = (up - down) / step
    if backprop.size == 0:
        return 0.0
    scale = np.maximum(np.maximum(np.abs(backprop), np.abs(numeric)), 1e-7)
    return float(np.max(np.abs(backprop - numeric) / scale))
