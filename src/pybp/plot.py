"""Pictures of training and of networks (needs matplotlib: ``pip install
"pybp[plot]"``).

    >>> import pybp.plot
    >>> ax = pybp.plot.history(history)          # loss curves (and accuracy)
    >>> ax = pybp.plot.network(net)              # layers of nodes and weights

Both functions draw on ``ax`` when given, else on a new figure, and return
the matplotlib Axes.  matplotlib is imported only when a function is called,
so ``import pybp.plot`` works without it.  ``history`` takes anything with
``loss``, ``val_loss`` and ``metrics`` attributes (a ``pybp.History``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["history", "network"]

# Most nodes drawn per layer; wider layers show their first and last nodes
# around a gap marked "...".
MAX_NODES = 16
# Most edges drawn between two layers: the largest weights by magnitude.
MAX_EDGES = 400


class HistoryLike(Protocol):
    """What ``history`` reads: per-epoch lists, as in ``pybp.History``."""

    loss: list[float]
    val_loss: list[float]
    metrics: dict[str, list[float]]


class NetworkLike(Protocol):
    """What ``network`` reads, as in ``pybp.Network``."""

    @property
    def sizes(self) -> tuple[int, ...]: ...

    @property
    def activations(self) -> Sequence[str]: ...

    @property
    def weights(self) -> Sequence[np.ndarray]: ...


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('pybp.plot needs matplotlib: pip install '
                          '"pybp[plot]"') from None
    return plt


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    plt = _pyplot()
    new: Axes = plt.subplots(figsize=figsize)[1]
    return new


def _positive(values: Sequence[float]) -> bool:
    finite = [v for v in values if np.isfinite(v)]
    return bool(finite) and min(finite) > 0


def history(h: HistoryLike | Sequence[HistoryLike], ax: Axes | None = None,
            *, labels: Sequence[str] | None = None, log: bool | None = None,
            accuracy: bool = True, title: str | None = None) -> Axes:
    """Plot training (solid) and validation (dashed) loss per epoch.

    h: one History or a sequence of them (one colour each, named by
    ``labels``).  log: log-scale loss axis; None (default) chooses it when
    the losses are positive and span more than a factor of 10.  accuracy:
    also draw ``metrics["accuracy"]``/``["val_accuracy"]`` where present, on
    a second y axis at the right (dotted).  Returns the loss Axes.
    """
    many = isinstance(h, Sequence)
    hists: list[HistoryLike] = list(h) if isinstance(h, Sequence) else [h]
    if not hists:
        raise ValueError("history() needs at least one History; got an "
                         "empty sequence")
    for i, one in enumerate(hists):
        if not hasattr(one, "loss") or not hasattr(one, "val_loss"):
            raise TypeError("history() takes pybp.History objects (with "
                            f".loss and .val_loss); item {i} is "
                            f"{type(one).__name__}")
    if labels is not None and len(labels) != len(hists):
        raise ValueError(f"labels has {len(labels)} names for "
                         f"{len(hists)} histories")
    names = (list(labels) if labels is not None else
             [f"run {i + 1}" for i in range(len(hists))] if many else [""])
    new_figure = ax is None
    ax = _axes(ax, (7.0, 4.0))
    colours = [f"C{i % 10}" for i in range(len(hists))]
    everything: list[float] = []
    acc_ax = None
    for one, name, colour in zip(hists, names, colours):
        prefix = f"{name}: " if name else ""
        epochs = np.arange(1, len(one.loss) + 1)
        ax.plot(epochs, one.loss, color=colour, label=prefix + "loss")
        everything += list(one.loss)
        if one.val_loss:
            ax.plot(np.arange(1, len(one.val_loss) + 1), one.val_loss,
                    color=colour, linestyle="--", label=prefix + "val_loss")
            everything += list(one.val_loss)
        metrics = getattr(one, "metrics", {}) or {}
        if accuracy and metrics.get("accuracy"):
            if acc_ax is None:
                acc_ax = ax.twinx()
                acc_ax.set_ylabel("accuracy")
                acc_ax.set_ylim(0.0, 1.02)
            # One run: accuracy in its own colour; several: the run's.
            acc_colour = colour if many else "C1"
            for key, style in (("accuracy", ":"), ("val_accuracy", "-.")):
                values = metrics.get(key)
                if values:
                    acc_ax.plot(np.arange(1, len(values) + 1), values,
                                color=acc_colour, linestyle=style, alpha=0.7,
                                label=prefix + key)
    if log is None:
        finite = [v for v in everything if np.isfinite(v)]
        log = _positive(finite) and max(finite) > 10 * min(finite)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if title is not None:
        ax.set_title(title)
    handles, texts = ax.get_legend_handles_labels()
    if acc_ax is not None:
        more, more_texts = acc_ax.get_legend_handles_labels()
        handles, texts = handles + more, texts + more_texts
    if len(texts) <= 6:
        ax.legend(handles, texts, loc="upper right", fontsize="small")
    else:
        # Many runs: the legend goes beside the plot, clear of the curves.
        ax.legend(handles, texts, loc="upper left", fontsize="small",
                  bbox_to_anchor=(1.12 if acc_ax is not None else 1.02, 1.0),
                  borderaxespad=0.0)
        from matplotlib.figure import Figure
        figure = ax.get_figure()
        if isinstance(figure, Figure) and new_figure:
            figure.set_size_inches(10.0, 4.5)
            figure.tight_layout()
    ax.grid(True, alpha=0.3)
    return ax


def _shown(n: int) -> list[int]:
    """Indices of the nodes drawn for a layer of n nodes."""
    if n <= MAX_NODES:
        return list(range(n))
    half = MAX_NODES // 2
    return list(range(half)) + list(range(n - half, n))


def _positions(shown: list[int], n: int) -> np.ndarray:
    """Vertical positions, centred on 0, leaving a gap where nodes are
    hidden."""
    slots = [float(k) for k in range(len(shown))]
    if len(shown) < n:
        half = len(shown) // 2
        slots = slots[:half] + [s + 1.0 for s in slots[half:]]
    y = np.asarray(slots)
    return y - y.mean() if y.size else y


def network(net: NetworkLike, ax: Axes | None = None, *,
            max_edges: int = MAX_EDGES, cmap: str = "coolwarm",
            title: str | None = None) -> Axes:
    """Draw the network as columns of nodes (input at the left), with one
    line per weight w_ij: colour by sign and size (``cmap``, red positive,
    blue negative), width by |w_ij|.

    Layers wider than 16 nodes show their first and last 8 with a "..."
    between; between two layers at most ``max_edges`` edges are drawn, the
    largest by magnitude.  Returns the Axes.
    """
    for attr in ("sizes", "weights"):
        if not hasattr(net, attr):
            raise TypeError(f"network() takes a pybp.Network; got "
                            f"{type(net).__name__} (no .{attr})")
    if isinstance(max_edges, bool) or not isinstance(max_edges, int) \
            or max_edges < 1:
        raise ValueError(f"max_edges must be a positive int; got "
                         f"{max_edges!r}")
    plt = _pyplot()
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    sizes = list(net.sizes)
    ax = _axes(ax, (1.6 * len(sizes) + 2.0, 5.0))
    shown = [_shown(n) for n in sizes]
    ys = [_positions(s, n) for s, n in zip(shown, sizes)]
    scale = max(float(np.max(np.abs(W))) if W.size else 0.0
                for W in net.weights) or 1.0
    norm = Normalize(-scale, scale)
    colormap = plt.get_cmap(cmap)
    for l, W in enumerate(net.weights):
        rows, cols = shown[l + 1], shown[l]
        sub = np.asarray(W, dtype=float)[np.ix_(rows, cols)]
        flat = np.abs(sub).ravel()
        keep = np.argsort(flat)[::-1][:max_edges]
        segments, colours, widths = [], [], []
        for k in keep:
            j, i = divmod(int(k), len(cols))
            segments.append([(l, ys[l][i]), (l + 1, ys[l + 1][j])])
            colours.append(colormap(norm(sub[j, i])))
            widths.append(0.3 + 2.7 * abs(sub[j, i]) / scale)
        ax.add_collection(LineCollection(segments, colors=colours,
                                         linewidths=widths, alpha=0.8,
                                         zorder=1))
    acts = list(getattr(net, "activations", []))
    for l, (n, y) in enumerate(zip(sizes, ys)):
        ax.scatter(np.full(len(y), l), y, s=120, color="white",
                   edgecolors="black", zorder=2)
        if len(shown[l]) < n:
            gap = (y[len(y) // 2 - 1] + y[len(y) // 2]) / 2
            ax.text(l, gap, "...", ha="center", va="center", zorder=3)
        name = "input" if l == 0 else acts[l - 1] if l - 1 < len(acts) else ""
        ax.text(l, min(y.min(), 0) - 1.2, f"{n}\n{name}", ha="center",
                va="top", fontsize="small")
    top = max(float(y.max()) for y in ys)
    bottom = min(float(y.min()) for y in ys)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(bottom - 3.0, top + 1.0)
    ax.set_axis_off()
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=colormap)
    plt.colorbar(mappable, ax=ax, fraction=0.03, label="weight w_ij")
    ax.set_title(title if title is not None else
                 "-".join(str(n) for n in sizes))
    return ax
