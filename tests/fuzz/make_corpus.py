"""Write the seed corpus of the fuzz job, tests/fuzz/corpus/<loader>/.

    python tests/fuzz/make_corpus.py

Valid files of each format, and hostile ones: the pathological inputs of
issue 11 (long digit runs followed by a non-digit, inf connection rates,
out-of-range random states) at a size the old readers took seconds over,
small enough to keep in the repository.  Deterministic: running it again
rewrites the same bytes.
"""
import io
import json
import os
import struct

import numpy as np

import pybp

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = 20_000      # the old FANN reader took about 10 s on this many


def _net(sizes, acts, bias=True, dtype="float64", seed=0):
    net = pybp.Network(list(sizes), activation=list(acts), bias=bias,
                       dtype=dtype, seed=seed)
    net.params[...] = np.random.default_rng(seed).standard_normal(
        net.n_params)
    return net


def _bytes(write, *args, **kw):
    buf = io.BytesIO()
    write(*args, buf, **kw)
    return buf.getvalue()


def _header_file(header):
    raw = header + b" " * (-len(header) % 8)
    return struct.pack("<Q", len(raw)) + raw


def model_corpus():
    small = _net([2, 3, 1], ["tanh", "sigmoid"])
    good = pybp.io.to_bytes(small)
    tensors, meta = pybp.io._network_tensors(small)
    yield "valid_f64", good
    yield "valid_f32", pybp.io.to_bytes(
        _net([3, 2, 2], ["relu", "softmax"], dtype="float32"))
    yield "valid_no_bias", pybp.io.to_bytes(
        _net([1, 2, 2, 1], ["leaky_relu", "identity", "tanh"], bias=False))
    yield "valid_metadata", _bytes(lambda n, f: pybp.io.save(
        n, f, metadata={"classes": ["a", "b"], "input_mean": [0.5, 1.0]}),
        small)
    yield "truncated", good[: len(good) // 2]
    yield "short", good[:5]
    yield "huge_header_length", struct.pack("<Q", 2**63) + good[8:]
    yield "fann_file", _bytes(pybp.io.save_fann, small)
    yield "onnx_head", b"\x08\x08\x12\x04pybp\x1a\x050.1.0" + b"\x00" * 24
    yield "digits_then_x", _header_file(
        b'{"a":{"dtype":"F64","shape":[' + b"1" * DIGITS + b"x")
    yield "metadata_digits", _header_file(json.dumps(
        {"__metadata__": dict(meta, sizes="[" + "7" * DIGITS + "]")}).encode())
    yield "nesting", _header_file(b"[" * DIGITS)
    yield "nan_weight", pybp.io.to_bytes(_with_nan(small))


def _with_nan(net):
    net = net.copy()
    net.weights[0][0, 0] = np.nan
    return net


def _checkpoint(opt, net):
    X = np.random.default_rng(0).standard_normal((20, net.n_inputs))
    T = np.random.default_rng(1).random((20, net.n_outputs))
    trainer = pybp.Trainer(optimizer=opt, batch_size=8)
    trainer.fit(net, X, T, epochs=1)
    buf = io.BytesIO()
    pybp.io.save_checkpoint(trainer, net, buf)
    return buf.getvalue()


def _edit_trainer(data, change):
    tensors, meta = pybp.io.read_safetensors(data)
    config = json.loads(meta["trainer"])
    change(config)
    buf = io.BytesIO()
    pybp.io.write_safetensors(buf, tensors, dict(meta, trainer=json.dumps(
        config)))
    return buf.getvalue()


def checkpoint_corpus():
    net = _net([2, 3, 1], ["tanh", "sigmoid"])
    sgd = _checkpoint(pybp.optim.SGD(0.1, momentum=0.9), net.copy())
    yield "valid_sgd", sgd
    yield "valid_adam", _checkpoint(
        pybp.optim.Adam(pybp.optim.ReduceOnPlateau(0.01)), net.copy())
    yield "valid_rprop", _checkpoint(pybp.optim.Rprop(), net.copy())
    yield "valid_f32_rmsprop", _checkpoint(pybp.optim.RMSprop(
        pybp.optim.StepDecay(0.01, 2, 0.5)), _net([3, 2, 2], [
            "relu", "softmax"], dtype="float32"))
    yield "negative_rng_state", _edit_trainer(
        sgd, lambda c: c["rng"]["state"].update(state=-1))
    yield "huge_rng_inc", _edit_trainer(
        sgd, lambda c: c["rng"]["state"].update(inc=2**130 + 1))
    yield "rng_not_dict", _edit_trainer(sgd, lambda c: c.update(rng=[1]))
    yield "bad_optimizer", _edit_trainer(
        sgd, lambda c: c.update(optimizer={"kind": "adam",
                                           "args": {"beta1": 2.0}}))
    yield "bad_options", _edit_trainer(
        sgd, lambda c: c["options"].update(batch_size=-3))
    yield "negative_step", _edit_trainer(sgd, lambda c: c.update(step=-1))
    tensors, meta = pybp.io.read_safetensors(sgd)
    buf = io.BytesIO()
    pybp.io.write_safetensors(buf, tensors, dict(
        meta, trainer='{"step": 1' + "0" * DIGITS + "x"))
    yield "trainer_digits", buf.getvalue()
    yield "truncated", sgd[: len(sgd) * 2 // 3]
    yield "model_only", pybp.io.to_bytes(net)


def fann_net_corpus():
    tanh = _bytes(pybp.io.save_fann, _net([2, 3, 1], ["tanh", "sigmoid"]))
    text = tanh.decode("ascii")
    yield "valid_tanh_sigmoid", tanh
    yield "valid_identity", _bytes(pybp.io.save_fann, _net(
        [1, 2, 2], ["sigmoid", "identity"], bias=False))
    yield "scale_included", text.replace("scale_included=0",
                                         "scale_included=1").encode()
    yield "rate_digits_then_x", text.replace(
        "connection_rate=1.000000",
        "connection_rate=" + "1" * DIGITS + "x").encode()
    yield "rate_inf", text.replace("connection_rate=1.000000",
                                   "connection_rate=1e999").encode()
    yield "neuron_digits_then_x", text.replace(
        "(3, 5, ", "(3, 5, " + "1" * DIGITS + "x", 1).encode()
    yield "connection_digits_then_x", text.replace(
        "(0, ", "(0, " + "2" * DIGITS + "x", 1).encode()
    yield "fixed_point", text.replace("FANN_FLO_2.1", "FANN_FIX_2.1").encode()
    yield "truncated", tanh[: len(tanh) * 3 // 4]
    yield "steepness_zero", text.replace(
        "(3, 5, 1.00000000000000000000e+00)", "(3, 5, 0.0)", 1).encode()
    yield "safetensors_file", pybp.io.to_bytes(_net([2, 1], ["sigmoid"]))


def fann_data_corpus():
    X = np.random.default_rng(0).standard_normal((4, 3))
    T = np.random.default_rng(1).random((4, 2))
    good = _bytes(lambda f: pybp.io.save_fann_data(f, X, T))
    yield "valid", good
    yield "valid_tabs", b"2 2 1\n0\t1\n1\n  1e-3   -2.5\n\n0\n"
    yield "digits_then_x", b"1 1 1\n" + b"1" * DIGITS + b"x\n1\n"
    yield "long_fraction", b"1 1 1\n1." + b"5" * DIGITS + b"\n1\n"
    yield "inf", b"1 2 1\n0 0\n-inf\n"
    yield "underscore", b"1 1 1\n1_000\n1\n"
    yield "count_mismatch", b"3 2 1\n0 0\n1\n"
    yield "huge_count", b"999999999999999999 2 1\n0 0\n1\n"
    yield "not_ascii", "1 1 1\n\u0661\n1\n".encode("utf-8")
    yield "truncated", good[: len(good) // 2]


def main():
    for loader, corpus in (("model", model_corpus),
                           ("checkpoint", checkpoint_corpus),
                           ("fann_net", fann_net_corpus),
                           ("fann_data", fann_data_corpus)):
        folder = os.path.join(HERE, "corpus", loader)
        os.makedirs(folder, exist_ok=True)
        for name, data in corpus():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
