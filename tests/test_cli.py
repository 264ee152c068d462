"""The pybp command line (pybp.cli): in-process through main(argv), and a few
runs of the real console script and of python -m pybp."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import pybp
from pybp import cli


def run(capsys, *argv):
    """(exit status, stdout, stderr) of `pybp argv...` run in-process."""
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_error_line(err, *words):
    """stderr holds exactly one error line, naming each of words, and no
    traceback."""
    assert "Traceback" not in err
    lines = [l for l in err.splitlines() if "error" in l]
    assert len(lines) == 1, err
    for w in words:
        assert str(w) in lines[0], (w, lines[0])
    return lines[0]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def three_classes(n=240, seed=0):
    """Three numeric features of very different scales and a string label."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 10.0, 100.0] + [0.0, 5.0, 50.0]
    label = np.where(X[:, 0] + X[:, 1] / 10 > 0.5, "good",
                     np.where(X[:, 2] > 50, "bad", "so so"))
    return X, label


@pytest.fixture
def labelled_csv(tmp_path):
    X, label = three_classes()
    # The target sits between features: columns are matched by name.
    rows = [[x[0], x[1], l, x[2]] for x, l in zip(X, label)]
    return write_csv(tmp_path / "train.csv", ["age", "income", "grade",
                                              "debt"], rows), X, label


def standardised(meta, X):
    sc = meta["scaling"]
    return (X - np.asarray(sc["mean"])) / np.asarray(sc["std"])


# ---------------------------------------------------------------------------
# train -> info -> predict on a CSV with string labels
# ---------------------------------------------------------------------------

def test_train_info_predict_round_trip_with_string_labels(tmp_path, capsys,
                                                          labelled_csv):
    data, X, label = labelled_csv
    model = tmp_path / "m.safetensors"
    rc, out, err = run(capsys, "train", data, "--target", "grade",
                       "--layers", "8,4", "--epochs", "60", "--seed", "3",
                       "-o", model)
    assert rc == 0, err
    assert out.startswith("trained 3-8-4-3:") and str(model) in out
    assert "accuracy" in out and len(out.strip().splitlines()) == 1
    assert "epoch" in err  # the progress bar went to stderr

    net = pybp.load(model)
    meta = pybp.io.load_metadata(model)[cli.META_KEY]
    assert meta["task"] == "classification"
    assert meta["features"] == ["age", "income", "debt"]
    assert meta["targets"] == ["grade"]
    assert meta["classes"] == ["bad", "good", "so so"]
    assert net.activations[-1] == "softmax" and net.sizes == (3, 8, 4, 3)
    cols = np.column_stack([X[:, 0], X[:, 1], X[:, 2]])
    np.testing.assert_allclose(meta["scaling"]["mean"], cols.mean(0))
    np.testing.assert_allclose(meta["scaling"]["std"], cols.std(0))
    assert meta["training"]["epochs"] <= 60

    rc, out, err = run(capsys, "info", model)
    assert rc == 0, err
    for text in ("3-8-4-3", f"parameters    {net.n_params}", "float64",
                 "relu, relu, softmax", "classes       3: bad, good, so so",
                 "age", "income", "debt", "mean", "std", "epochs"):
        assert text in out, text

    # Columns in another order, plus an extra one: matched by name.
    shuffled = write_csv(tmp_path / "new.csv", ["debt", "note", "age",
                                                "income"],
                         [[x[2], "n/a", x[0], x[1]] for x in X])
    rc, out, err = run(capsys, "predict", model, shuffled)
    assert rc == 0, err
    header, rows = read_csv(out)
    expected = net.predict(standardised(meta, cols)).argmax(1)
    assert header == ["grade"]
    assert [r[0] for r in rows] == [meta["classes"][k] for k in expected]
    # It learned something: most training labels come back.
    assert np.mean(np.array([r[0] for r in rows]) == label) > 0.8

    out_csv = tmp_path / "pred.csv"
    rc, out, err = run(capsys, "predict", model, shuffled, "-o", out_csv,
                       "--proba")
    assert rc == 0 and out == "" and "wrote 240" in err
    header, rows = read_csv(out_csv.read_text())
    assert header == ["grade", "p(bad)", "p(good)", "p(so so)"]
    P = np.array([[float(v) for v in r[1:]] for r in rows])
    np.testing.assert_array_equal(P, net.predict(standardised(meta, cols)))


def test_train_is_reproducible_and_float32(tmp_path, capsys, labelled_csv):
    data = labelled_csv[0]
    a, b, c = (tmp_path / f"{k}.safetensors" for k in "abc")
    for path in (a, b):
        assert run(capsys, "train", data, "--target", "grade", "--epochs",
                   "5", "-q", "-o", path)[0] == 0
    assert pybp.load(a).params.tobytes() == pybp.load(b).params.tobytes()
    rc, _, err = run(capsys, "train", data, "--target", "grade", "--epochs",
                     "5", "-q", "--dtype", "float32", "-o", c)
    assert rc == 0 and err == ""          # -q: no progress bar
    assert pybp.load(c).dtype == np.float32


def test_regression_targets_are_scaled_back(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2)) * [3.0, 0.5]
    Y = np.column_stack([1000 + 200 * X[:, 0], -5 * X[:, 1]])
    data = write_csv(tmp_path / "r.csv", ["x1", "x2", "price", "score"],
                     np.column_stack([X, Y]).tolist())
    model = tmp_path / "r.safetensors"
    rc, out, err = run(capsys, "train", data, "--target", "price",
                       "--target", "score", "--activation", "tanh",
                       "--epochs", "80", "--lr", "0.01", "-q", "-o", model)
    assert rc == 0, err
    assert "accuracy" not in out
    net = pybp.load(model)
    meta = pybp.io.load_metadata(model)[cli.META_KEY]
    assert meta["task"] == "regression" and meta["classes"] == []
    assert net.activations[-1] == "identity" and net.sizes[-1] == 2
    rc, out, err = run(capsys, "predict", model, data)
    assert rc == 0, err
    header, rows = read_csv(out)
    assert header == ["price", "score"]
    got = np.array(rows, dtype=float)
    ts = meta["target_scaling"]
    want = (net.predict(standardised(meta, X)) * np.asarray(ts["std"])
            + np.asarray(ts["mean"]))
    np.testing.assert_array_equal(got, want)
    assert np.abs(got - Y).mean() < 0.2 * np.abs(Y - Y.mean(0)).mean()
    rc, out, _ = run(capsys, "info", model)
    assert "predict undoes it" in out and "price" in out


def test_numeric_labels_as_classes(tmp_path, capsys):
    X, label = three_classes(120)
    codes = {"bad": 7, "good": 10, "so so": 9}
    data = write_csv(tmp_path / "n.csv", ["a", "b", "c", "y"],
                     [[*x, codes[l]] for x, l in zip(X, label)])
    model = tmp_path / "n.safetensors"
    rc, _, err = run(capsys, "train", data, "--target", "y", "--task",
                     "classification", "--epochs", "3", "-q", "-o", model)
    assert rc == 0, err
    meta = pybp.io.load_metadata(model)[cli.META_KEY]
    assert meta["classes"] == ["7", "9", "10"]      # numeric order


def test_npy_and_npz_inputs(tmp_path, capsys):
    X, label = three_classes(150)
    y = (label == "good").astype(float)
    np.save(tmp_path / "d.npy", np.column_stack([X, y]))
    model = tmp_path / "a.safetensors"
    rc, _, err = run(capsys, "train", tmp_path / "d.npy", "--target", "-1",
                     "--epochs", "3", "-q", "-o", model)
    assert rc == 0, err
    meta = pybp.io.load_metadata(model)[cli.META_KEY]
    assert meta["features"] == ["0", "1", "2"] and meta["targets"] == ["3"]
    assert meta["feature_columns"] == [0, 1, 2]
    net = pybp.load(model)
    # Predict takes the training array (target column ignored) or just the
    # feature columns.
    want = net.predict(standardised(meta, X)) * \
        meta["target_scaling"]["std"][0] + meta["target_scaling"]["mean"][0]
    for arr in (np.column_stack([X, y]), X):
        np.save(tmp_path / "p.npy", arr)
        rc, out, err = run(capsys, "predict", model, tmp_path / "p.npy")
        assert rc == 0, err
        header, rows = read_csv(out)
        assert header == ["3"]
        np.testing.assert_array_equal(np.array(rows, dtype=float), want)

    np.savez(tmp_path / "d.npz", X=X, y=label)
    model = tmp_path / "b.safetensors"
    rc, _, err = run(capsys, "train", tmp_path / "d.npz", "--epochs", "3",
                     "-q", "-o", model)
    assert rc == 0, err
    meta = pybp.io.load_metadata(model)[cli.META_KEY]
    assert meta["task"] == "classification" and meta["targets"] == ["y"]
    assert meta["classes"] == ["bad", "good", "so so"]
    rc, out, err = run(capsys, "predict", model, tmp_path / "d.npz")
    assert rc == 0, err
    header, rows = read_csv(out)
    net = pybp.load(model)
    k = net.predict(standardised(meta, X)).argmax(1)
    assert [r[0] for r in rows] == [meta["classes"][i] for i in k]

    np.savez(tmp_path / "bad.npz", A=X, B=X)
    rc, _, err = run(capsys, "train", tmp_path / "bad.npz", "--target", "0")
    assert rc == 1
    one_error_line(err, "bad.npz", "X and y")


def test_plot_option_writes_a_png(tmp_path, capsys, labelled_csv):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    rc, out, err = run(capsys, "train", labelled_csv[0], "--target", "grade",
                       "--epochs", "5", "-q", "-o", tmp_path / "m.safetensors",
                       "--plot", png)
    assert rc == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 5000 and str(png) in out


# ---------------------------------------------------------------------------
# Errors: one line, the right exit status, no traceback
# ---------------------------------------------------------------------------

def test_missing_target_column(tmp_path, capsys, labelled_csv):
    rc, out, err = run(capsys, "train", labelled_csv[0], "--target", "colour")
    assert rc == 1 and out == ""
    one_error_line(err, "train.csv", "'colour'", "age")


def test_missing_feature_column_in_predict(tmp_path, capsys, labelled_csv):
    model = tmp_path / "m.safetensors"
    assert run(capsys, "train", labelled_csv[0], "--target", "grade",
               "--epochs", "2", "-q", "-o", model)[0] == 0
    data = write_csv(tmp_path / "short.csv", ["age", "debt"], [[1, 2]])
    rc, out, err = run(capsys, "predict", model, data)
    assert rc == 1 and out == ""
    one_error_line(err, "short.csv", "'income'")


def test_non_numeric_feature(tmp_path, capsys):
    data = write_csv(tmp_path / "f.csv", ["x", "city", "y"],
                     [[1, 2, 3], [2, "Paris", 4], [3, 1, 5]])
    rc, _, err = run(capsys, "train", data, "--target", "y")
    assert rc == 1
    one_error_line(err, "f.csv", "'city'", "line 3", "Paris")
    data = write_csv(tmp_path / "g.csv", ["x", "y"], [[1, 3], ["", 4]])
    rc, _, err = run(capsys, "train", data, "--target", "y")
    assert rc == 1
    one_error_line(err, "g.csv", "'x'", "line 3")


@pytest.mark.parametrize("content, words", [
    ("", ["empty"]),
    ("\n\n", ["empty"]),
    ("a,b,y\n", ["no data rows"]),
    ("a,b,y\n1,2\n", ["line 2", "2 fields"]),
    ("a,a,y\n1,2,3\n", ["'a'", "twice"]),
])
def test_bad_csv_files(tmp_path, capsys, content, words):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    rc, _, err = run(capsys, "train", path, "--target", "y")
    assert rc == 1
    one_error_line(err, "bad.csv", *words)


def test_binary_garbage_as_csv(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xff\xfe\x00\x81garbage")
    rc, _, err = run(capsys, "train", path, "--target", "y")
    assert rc == 1
    one_error_line(err, "x.csv", "UTF-8")


def test_one_class_only(tmp_path, capsys):
    data = write_csv(tmp_path / "o.csv", ["x", "y"], [[1, "a"], [2, "a"]])
    rc, _, err = run(capsys, "train", data, "--target", "y")
    assert rc == 1
    one_error_line(err, "'y'", "one class")


@pytest.mark.parametrize("command", ["info", "predict"])
def test_bad_model_files(tmp_path, capsys, command, labelled_csv):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    extra = [labelled_csv[0]] if command == "predict" else []
    rc, out, err = run(capsys, command, junk, *extra)
    assert rc == 1 and out == ""
    one_error_line(err, "junk.safetensors")
    rc, out, err = run(capsys, command, tmp_path / "absent.safetensors",
                       *extra)
    assert rc == 1
    one_error_line(err, "absent.safetensors", "No such file")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    rc, out, err = run(capsys, command, empty, *extra)
    assert rc == 1
    one_error_line(err, "empty.safetensors")
    rc, out, err = run(capsys, command, tmp_path / "m.onnx", *extra)
    assert rc == 1
    one_error_line(err, "m.onnx", "export only")


def test_missing_data_file(tmp_path, capsys):
    rc, _, err = run(capsys, "train", tmp_path / "nope.csv", "--target", "y")
    assert rc == 1
    one_error_line(err, "nope.csv", "No such file")
    rc, _, err = run(capsys, "train", tmp_path, "--target", "y")
    assert rc == 1
    one_error_line(err, "directory")


@pytest.mark.parametrize("argv, words", [
    (["train", "d.csv", "--layers", "16,x"], ["--layers", "16,x"]),
    (["train", "d.csv", "--layers", "16,-2"], ["--layers", "positive"]),
    (["train", "d.csv", "--lr", "-1"], ["--lr", "-1"]),
    (["train", "d.csv", "--lr", "nan"], ["--lr"]),
    (["train", "d.csv", "--epochs", "0"], ["--epochs"]),
    (["train", "d.csv", "--validation-split", "1.5"],
     ["--validation-split"]),
    (["train", "d.csv", "--optimizer", "lbfgs"], ["--optimizer", "lbfgs"]),
    (["train", "d.csv", "--activation", "softmax"], ["--activation"]),
    (["train", "d.csv", "--frobnicate"], ["--frobnicate"]),
    (["train"], ["DATA"]),
    (["predict", "m.safetensors"], ["DATA"]),
    (["frobnicate"], ["frobnicate"]),
    (["info", "--nope", "m.safetensors"], ["--nope"]),
])
def test_usage_errors_exit_2(capsys, argv, words):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    one_error_line(err, *words)


def test_usage_errors_found_after_parsing_exit_2(tmp_path, capsys,
                                                 labelled_csv):
    data = labelled_csv[0]
    cases = [
        (["train", data], ["--target", "grade"]),
        (["train", data, "--target", "grade", "--target", "age"],
         ["one --target"]),
        (["train", data, "--target", "grade", "--target", "grade"],
         ["twice"]),
        (["train", data, "--target", "grade", "--optimizer", "rprop",
          "--lr", "0.1"], ["--lr", "rprop"]),
        (["train", data, "--target", "grade", "-o", tmp_path / "m.net"],
         ["-o", "convert"]),
        (["train", data, "--target", "grade", "--plot",
          tmp_path / "x.txt"], ["--plot"]),
        (["convert", tmp_path / "a.txt", tmp_path / "b.net"],
         ["a.txt", "'.txt'"]),
        (["convert", tmp_path / "a.onnx", tmp_path / "b.net"],
         ["a.onnx", "export only"]),
    ]
    for argv, words in cases:
        if "--plot" in argv:
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                continue
        rc, out, err = run(capsys, *argv)
        assert rc == 2, (argv, err)
        one_error_line(err, *words)
    assert not (tmp_path / "m.net").exists()


def test_predict_proba_needs_a_classifier(tmp_path, capsys):
    net = pybp.Network([2, 3, 1], "tanh", "identity", seed=0)
    net.save(tmp_path / "plain.safetensors")
    data = write_csv(tmp_path / "x.csv", ["u", "v"], [[0.5, -1], [2, 3]])
    rc, _, err = run(capsys, "predict", tmp_path / "plain.safetensors", data,
                     "--proba")
    assert rc == 2
    one_error_line(err, "--proba")


def test_models_without_column_names(tmp_path, capsys):
    """A Network.save model or a FANN file: all columns are inputs, in
    order, unscaled; outputs named y0, y1, ..."""
    net = pybp.Network([2, 3, 2], "tanh", "sigmoid", seed=0)
    net.save(tmp_path / "plain.safetensors")
    pybp.io.save_fann(net, tmp_path / "plain.net")
    X = np.array([[0.5, -1.0], [2.0, 3.0], [0.0, 0.25]])
    data = write_csv(tmp_path / "x.csv", ["u", "v"], X.tolist())
    for model in ("plain.safetensors", "plain.net"):
        rc, out, err = run(capsys, "predict", tmp_path / model, data)
        assert rc == 0, err
        header, rows = read_csv(out)
        assert header == ["y0", "y1"]
        np.testing.assert_allclose(np.array(rows, dtype=float),
                                   net.predict(X), rtol=1e-6)
    wide = write_csv(tmp_path / "w.csv", ["u", "v", "w"], [[1, 2, 3]])
    rc, _, err = run(capsys, "predict", tmp_path / "plain.safetensors", wide)
    assert rc == 1
    one_error_line(err, "w.csv", "3 columns", "2 inputs")


# ---------------------------------------------------------------------------
# info, convert, bench, demo
# ---------------------------------------------------------------------------

def test_info_on_fann_and_plain_files(tmp_path, capsys):
    net = pybp.Network([4, 5, 3], "tanh", "sigmoid", seed=2)
    pybp.io.save_fann(net, tmp_path / "f.net")
    rc, out, err = run(capsys, "info", tmp_path / "f.net")
    assert rc == 0, err
    assert "FANN" in out and "4-5-3" in out and "tanh, sigmoid" in out
    assert f"parameters    {net.n_params} (35 weights, 8 biases)" in out
    pybp.io.save(net, tmp_path / "p.safetensors", metadata={"author": "me"})
    rc, out, err = run(capsys, "info", tmp_path / "p.safetensors", "--json")
    assert rc == 0, err
    info = json.loads(out)
    assert info["sizes"] == [4, 5, 3] and info["n_params"] == 43
    assert info["metadata"] == {"author": "me"}
    assert info["dtype"] == "float64"


def test_convert_round_trips(tmp_path, capsys):
    # A regression model with FANN-representable activations.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"],
                     np.column_stack([X, X[:, 0] - X[:, 1]]).tolist())
    st = tmp_path / "m.safetensors"
    assert run(capsys, "train", data, "--target", "y", "--activation",
               "tanh", "--epochs", "3", "-q", "-o", st)[0] == 0
    net = pybp.load(st)

    rc, out, err = run(capsys, "convert", st, tmp_path / "m.net")
    assert rc == 0 and "wrote" in out
    assert "not kept" in err            # scaling and names stay behind
    rc, _, err = run(capsys, "convert", tmp_path / "m.net",
                     tmp_path / "back.safetensors")
    assert rc == 0, err
    back = pybp.load(tmp_path / "back.safetensors")
    assert back.sizes == net.sizes and back.activations == net.activations
    np.testing.assert_allclose(back.predict(X), net.predict(X), rtol=1e-9,
                               atol=1e-12)

    # safetensors -> safetensors keeps the CLI metadata: predict still works.
    rc, _, err = run(capsys, "convert", st, tmp_path / "copy.safetensors")
    assert rc == 0 and err == ""
    assert pybp.io.load_metadata(tmp_path / "copy.safetensors") == \
        pybp.io.load_metadata(st)
    assert pybp.load(tmp_path / "copy.safetensors").params.tobytes() == \
        net.params.tobytes()

    # A softmax classifier cannot become a FANN file: one clear line.
    clf = pybp.Network([2, 3, 3], "tanh", "softmax", seed=0)
    clf.save(tmp_path / "clf.safetensors")
    rc, _, err = run(capsys, "convert", tmp_path / "clf.safetensors",
                     tmp_path / "clf.net")
    assert rc == 1 and not (tmp_path / "clf.net").exists()
    one_error_line(err, "softmax")

    rc, out, err = run(capsys, "convert", st, tmp_path / "m.onnx")
    try:
        import onnx  # noqa: F401
    except ImportError:
        assert rc == 1
        one_error_line(err, "pybp[onnx]")
    else:
        assert rc == 0, err
        assert (tmp_path / "m.onnx").stat().st_size > 0


def test_bench_prints_a_table(capsys):
    rc, out, err = run(capsys, "bench", "--samples", "200", "--repeat", "1")
    assert rc == 0, err
    lines = out.splitlines()
    for name in ("pybp, C backend", "pybp, pure-Python backend",
                 "plain numpy MLP"):
        line = next(l for l in lines if l.strip().startswith(name))
        seconds, rate, ratio = line[len(name) + 2:].split()
        assert float(seconds) > 0 and float(rate.replace(",", "")) > 0
        if "C backend" in name:
            assert float(ratio) == 1.0
    assert "python bench/run.py" in out


def test_demo_reproduces_the_worked_example(capsys):
    rc, out, err = run(capsys, "demo", "--samples", "300", "--epochs", "1",
                       "-q")
    assert rc == 0, err
    assert "Mazur" in out and "seed 00" not in out.lower()
    for backend in ("[C]", "[pure Python]"):
        step = next(l for l in out.splitlines()
                    if backend in l and "after one step" in l)
        # w1..w4 and w5..w8 after one step (DESIGN.md's digits).
        for v in ("0.149780716", "0.199561432", "0.249751144", "0.299502287",
                  "0.358916480", "0.408666186", "0.511301270", "0.561370121"):
            assert v in step, (v, step)
        err_line = next(l for l in out.splitlines()
                        if backend in l and "error" in l and "10,000" in l)
        assert "0.298371109 -> 0.291027774" in err_line
        assert "3.510e-05" in err_line and "0.0159 0.9841" in err_line
    assert "144 weights and 22 biases" in out
    assert "speed-up over pure Python" in out


def test_no_arguments_is_the_demo_and_old_options_still_work(capsys):
    rc, out, _ = run(capsys, "--samples", "200", "--epochs", "1", "--quiet")
    assert rc == 0 and "Mazur" in out


def test_help_everywhere(capsys):
    for argv in ([], ["demo"], ["train"], ["predict"], ["info"], ["bench"],
                 ["convert"]):
        rc, out, _ = run(capsys, *argv, "--help")
        assert rc == 0 and out.startswith("usage: pybp")
    rc, out, _ = run(capsys, "train", "--help")
    for option in ("--target", "--layers", "--activation", "--optimizer",
                   "--lr", "--epochs", "--batch-size", "--validation-split",
                   "--patience", "--seed", "--output", "--plot"):
        assert option in out


# ---------------------------------------------------------------------------
# The real entry points, in subprocesses
# ---------------------------------------------------------------------------

def _entry_points():
    points = [[sys.executable, "-m", "pybp"]]
    script = shutil.which("pybp", path=os.path.dirname(sys.executable))
    if script is not None:
        points.append([script])
    return points


@pytest.mark.parametrize("entry", _entry_points(), ids=lambda e: e[-1])
def test_entry_points(tmp_path, entry, labelled_csv):
    def sh(*argv):
        return subprocess.run([*entry, *map(str, argv)], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)

    r = sh("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"pybp {pybp.__version__}"
    r = sh("train", labelled_csv[0], "--target", "grade", "--epochs", "3")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "model.safetensors").exists()   # the default -o
    r = sh("predict", "model.safetensors", labelled_csv[0])
    assert r.returncode == 0 and r.stdout.startswith("grade\n")
    assert len(r.stdout.splitlines()) == 241
    r = sh("info", "missing.safetensors")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "missing.safetensors" in r.stderr
    r = sh("train", "d.csv", "--bogus")
    assert r.returncode == 2 and "--bogus" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("bad", [
    "not an object",
    {"task": "poetry"},
    {"task": "regression", "features": ["a"], "targets": ["y"],
     "scaling": {"mean": [0.0], "std": [1.0]}},              # 2 inputs
    {"task": "regression", "features": ["a", "b"], "targets": ["y"],
     "scaling": {"mean": [0.0, 0.0], "std": [1.0, 0.0]}},    # std 0
    {"task": "classification", "features": ["a", "b"], "targets": ["y"],
     "classes": ["x"], "scaling": {"mean": [0.0, 0.0], "std": [1.0, 1.0]}},
])
def test_malformed_cli_metadata(tmp_path, capsys, bad):
    net = pybp.Network([2, 3, 1], "tanh", "identity", seed=0)
    model = tmp_path / "odd.safetensors"
    pybp.io.save(net, model, metadata={cli.META_KEY: bad})
    data = write_csv(tmp_path / "x.csv", ["a", "b"], [[1, 2]])
    for argv in (["info", model], ["predict", model, data]):
        rc, out, err = run(capsys, *argv)
        assert rc == 1 and out == ""
        one_error_line(err, "odd.safetensors", "malformed")


def test_unwritable_outputs(tmp_path, capsys, labelled_csv):
    model = tmp_path / "m.safetensors"
    assert run(capsys, "train", labelled_csv[0], "--target", "grade",
               "--epochs", "1", "-q", "-o", model)[0] == 0
    rc, _, err = run(capsys, "train", labelled_csv[0], "--target", "grade",
                     "--epochs", "1", "-q", "-o",
                     tmp_path / "no" / "such" / "m.safetensors")
    assert rc == 1
    one_error_line(err, "No such file")
    rc, out, err = run(capsys, "predict", model, labelled_csv[0], "-o",
                       tmp_path / "no" / "p.csv")
    assert rc == 1 and out == ""
    one_error_line(err, "No such file")
    assert list((tmp_path).glob("**/*.tmp*")) == []
