"""pybp.plot: loss curves and network drawings, rendered with Agg."""
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import pybp
import pybp.plot

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def png_pixels(ax, tmp_path, name="x.png"):
    """Save the Axes' figure; return (file size, RGB pixels)."""
    path = tmp_path / name
    ax.figure.savefig(path, dpi=60)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return len(data), plt.imread(path)[..., :3]


def trained(dtype="float64", backend="c", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 3))
    T = np.eye(2)[(X[:, 0] > 0).astype(int)]
    net = pybp.Network([3, 5, 2], "tanh", "softmax", seed=seed, dtype=dtype,
                       backend=backend)
    h = net.fit(X, T, loss="cross_entropy", optimizer="adam", epochs=15,
                batch_size=8, seed=seed, validation_split=0.25)
    return net, h


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_history_one_run(tmp_path, dtype, backend):
    _, h = trained(dtype, backend)
    ax = pybp.plot.history(h)
    lines = ax.get_lines()
    assert len(lines) == 2                      # loss, val_loss
    np.testing.assert_allclose(lines[0].get_ydata(), h.loss)
    np.testing.assert_allclose(lines[1].get_ydata(), h.val_loss)
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    twins = [a for a in ax.figure.axes if a is not ax]
    assert len(twins) == 1                      # accuracy axis
    acc = twins[0].get_lines()
    np.testing.assert_allclose(acc[0].get_ydata(), h.metrics["accuracy"])
    np.testing.assert_allclose(acc[1].get_ydata(), h.metrics["val_accuracy"])
    size, px = png_pixels(ax, tmp_path)
    assert size > 5000 and px.std() > 0.05


def test_history_several_runs_with_labels(tmp_path):
    hs = [trained(seed=s)[1] for s in (0, 1, 2)]
    ax = pybp.plot.history(hs, labels=["a", "b", "c"], accuracy=False)
    names = [l.get_label() for l in ax.get_lines()]
    assert names == ["a: loss", "a: val_loss", "b: loss", "b: val_loss",
                     "c: loss", "c: val_loss"]
    colours = {l.get_color() for l in ax.get_lines()}
    assert len(colours) == 3
    assert len(ax.figure.axes) == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == names
    size, px = png_pixels(ax, tmp_path)
    assert size > 5000 and px.std() > 0.05


def test_history_log_scale_choice_and_given_axes():
    falling = SimpleNamespace(loss=[10.0, 1.0, 0.1, 0.01], val_loss=[],
                              metrics={})
    flat = SimpleNamespace(loss=[1.0, 0.9, 0.8], val_loss=[0.95, 0.9, 0.85],
                           metrics={})
    assert pybp.plot.history(falling).get_yscale() == "log"
    assert pybp.plot.history(flat).get_yscale() == "linear"
    assert pybp.plot.history(falling, log=False).get_yscale() == "linear"
    negative = SimpleNamespace(loss=[-1.0, -20.0], val_loss=[], metrics={})
    assert pybp.plot.history(negative).get_yscale() == "linear"
    fig, ax = plt.subplots()
    assert pybp.plot.history(flat, ax=ax, title="t") is ax
    assert ax.get_title() == "t"


def test_history_keeps_non_finite_epochs_drawable():
    h = SimpleNamespace(loss=[1.0, 0.5, float("nan")], val_loss=[],
                        metrics={})
    ax = pybp.plot.history(h)
    assert len(ax.get_lines()) == 1


def test_history_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        pybp.plot.history([])
    with pytest.raises(TypeError, match="item 1 is int"):
        pybp.plot.history([pybp.History(), 3])
    with pytest.raises(ValueError, match="2 names for 1"):
        pybp.plot.history([pybp.History()], labels=["a", "b"])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_network_small(tmp_path, dtype, backend):
    net, _ = trained(dtype, backend)
    ax = pybp.plot.network(net)
    edges = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in edges] == [15, 10]
    # Widths grow with |w_ij|: the widest edge is the largest weight.
    w0 = np.abs(net.weights[0]).ravel()
    widths = edges[0].get_linewidths()
    assert np.isclose(max(widths), 0.3 + 2.7 * w0.max() /
                      max(np.abs(W).max() for W in net.weights))
    assert ax.get_title() == "3-5-2"
    size, px = png_pixels(ax, tmp_path)
    assert size > 5000 and px.std() > 0.05


def test_network_caps_large_layers(tmp_path):
    net = pybp.Network([100, 64, 3], "relu", "identity", seed=0)
    ax = pybp.plot.network(net, max_edges=50)
    edges = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in edges] == [50, 48]
    nodes = [c for c in ax.collections if not isinstance(c, LineCollection)]
    assert [len(c.get_offsets()) for c in nodes] == [16, 16, 3]
    assert sum(t.get_text() == "..." for t in ax.texts) == 2
    size, px = png_pixels(ax, tmp_path)
    assert size > 5000 and px.std() > 0.05


def test_network_without_biases_and_the_difference_shows(tmp_path):
    a = pybp.Network([2, 3, 1], "sigmoid", bias=False, seed=0)
    b = a.copy()
    b.weights[0][...] = -b.weights[0]
    _, pa = png_pixels(pybp.plot.network(a), tmp_path, "a.png")
    _, pb = png_pixels(pybp.plot.network(b), tmp_path, "b.png")
    assert pa.shape == pb.shape and np.abs(pa - pb).max() > 0.1


def test_network_bad_input():
    with pytest.raises(TypeError, match="pybp.Network"):
        pybp.plot.network("3-5-2")
    net = pybp.Network([2, 2], "sigmoid", seed=0)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="max_edges"):
            pybp.plot.network(net, max_edges=bad)


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "pybp\[plot\]"'):
        pybp.plot.history(SimpleNamespace(loss=[1.0], val_loss=[],
                                          metrics={}))
    with pytest.raises(ImportError, match=r'pybp\[plot\]'):
        pybp.plot.network(pybp.Network([2, 2], seed=0))


def test_import_does_not_load_matplotlib_or_the_trainer():
    code = ("import sys, pybp.plot; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "False"
    # pybp.plot names nothing from pybp.train or pybp.network at top level.
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(pybp.plot))
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [getattr(node, "module", None) or ""] + \
                [a.name for a in node.names]
            assert not any(n.startswith("pybp") for n in names), names


def test_many_curves_put_the_legend_beside_the_plot(tmp_path):
    hs = [trained(seed=s)[1] for s in (0, 1, 2)]
    ax = pybp.plot.history(hs, labels=["a", "b", "c"])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(texts) == 12 and texts[-1] == "c: val_accuracy"
    ax.figure.canvas.draw()
    box = ax.get_legend().get_window_extent()
    assert box.x0 > ax.get_window_extent().x1      # right of the axes
    size, px = png_pixels(ax, tmp_path)
    assert size > 5000 and px.std() > 0.05
    # A few curves: the legend stays inside.
    ax = pybp.plot.history(hs[0])
    ax.figure.canvas.draw()
    assert ax.get_legend().get_window_extent().x1 <= \
        ax.get_window_extent().x1 + 1


def test_history_plot_method_draws_the_same_curves(tmp_path):
    _, h = trained()
    fig, ax = plt.subplots()
    got = h.plot(ax=ax, accuracy=False)
    assert got is ax
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), h.loss)
    np.testing.assert_allclose(lines[1].get_ydata(), h.val_loss)
    size, px = png_pixels(ax, tmp_path)
    assert size > 3000 and px.std() > 0.05
