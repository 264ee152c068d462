"""Atomic saving (pybp.io._files): replacement, failures, permissions,
concurrency, and clean-up of temporary files left by killed saves."""
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

import pybp
import pybp.io._files
# tests/ is on sys.path (conftest.py)
from helpers_io import assert_same, make_net



def test_save_over_existing_replaces_whole_file(tmp_path):
    path = tmp_path / "m.safetensors"
    old, new = make_net([3, 5, 2], ["tanh", "softmax"]), make_net(
        [2, 8, 8, 1], ["relu", "relu", "sigmoid"], seed=3)
    old.save(path)
    new.save(path)
    assert path.read_bytes() == pybp.io.to_bytes(new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


@pytest.mark.parametrize("fail", ["fsync", "replace", "write", "interrupt"])
def test_failed_save_leaves_old_file(tmp_path, monkeypatch, fail):
    path = tmp_path / "m.safetensors"
    old = make_net()
    old.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise (KeyboardInterrupt if fail == "interrupt" else
               OSError("disk full"))

    if fail in ("fsync", "interrupt"):
        monkeypatch.setattr(os, "fsync", boom)
    elif fail == "replace":
        monkeypatch.setattr(os, "replace", boom)
    else:
        class Exploding:
            nbytes = 8

            def reshape(self, *shape):
                raise OSError("disk full mid-write")
        real = pybp.io.safetensors.encode_tensors

        def encode(tensors, metadata):
            prefix, arrays = real(tensors, metadata)
            return prefix, arrays[:1] + [Exploding()]  # fails midway
        monkeypatch.setattr(pybp.io.safetensors, "encode_tensors", encode)
    with pytest.raises((OSError, KeyboardInterrupt)):
        make_net([2, 8, 1], ["tanh", "tanh"], seed=5).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    assert_same(pybp.load(path), old)


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(
        OSError("no")))
    with pytest.raises(OSError):
        make_net().save(tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_save_keeps_permissions(tmp_path):
    path = tmp_path / "m.safetensors"
    make_net().save(path)
    umask = pybp.io._umask()
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    os.chmod(path, 0o640)
    make_net(seed=2).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_concurrent_save_and_load_never_see_partial_files(tmp_path):
    path = tmp_path / "m.safetensors"
    nets = [make_net([3, 5, 2], ["tanh", "softmax"], seed=1),
            make_net([4, 16, 16, 3], ["relu", "tanh", "sigmoid"], seed=2,
                     dtype="float32")]
    blobs = {pybp.io.to_bytes(n) for n in nets}
    nets[0].save(path)
    errors, loads = [], [0]
    done = threading.Event()

    def writer():
        try:
            for i in range(300):
                nets[i % 2].save(path)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    def reader():
        try:
            while not done.is_set() or loads[0] < 300:
                net = pybp.load(path)
                assert pybp.io.to_bytes(net) in blobs
                loads[0] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert loads[0] >= 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


# ---- temporary files of killed saves -----------------------------------

def _temporaries(directory):
    return sorted(p.name for p in directory.iterdir()
                  if pybp.io._files.TMP_TAG in p.name)


def test_temporary_file_name_names_target_host_and_process(tmp_path,
                                                           monkeypatch):
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        return real(src, dst)
    monkeypatch.setattr(os, "replace", spy)
    make_net().save(tmp_path / "m.safetensors")
    (name,) = seen
    prefix = ".m.safetensors" + pybp.io._files.TMP_TAG
    assert name.startswith(prefix)
    host, pid, rand = name[len(prefix):].split(".")
    assert host == pybp.io._files._host_tag() and int(pid) == os.getpid()
    assert len(rand) == 12
    assert _temporaries(tmp_path) == []


def _fake_temporary(directory, target, pid, age=0.0, host=None):
    host = pybp.io._files._host_tag() if host is None else host
    path = directory / (f".{target}{pybp.io._files.TMP_TAG}{host}.{pid}."
                        "0123456789ab")
    path.write_bytes(b"partial")
    if age:
        t = time.time() - age
        os.utime(path, (t, t))
    return path.name


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.skipif(os.name != "posix", reason="process probing is POSIX")
def test_save_removes_stale_temporaries_and_keeps_live_ones(tmp_path):
    stale = pybp.io.STALE_TMP_SECONDS
    dead = _fake_temporary(tmp_path, "m.safetensors", _dead_pid())
    live = _fake_temporary(tmp_path, "m.safetensors", os.getpid())
    old_live = _fake_temporary(tmp_path, "m.safetensors", 1, age=stale + 60)
    other_host_new = _fake_temporary(tmp_path, "m.safetensors", 12345,
                                     host="deadbeef")
    other_host_old = _fake_temporary(tmp_path, "m.safetensors", 12345,
                                     host="deadbee0", age=stale + 60)
    other_target = _fake_temporary(tmp_path, "other.safetensors",
                                   _dead_pid())
    unrelated = tmp_path / ".m.safetensors.abc.tmp"
    unrelated.write_bytes(b"not ours")
    make_net().save(tmp_path / "m.safetensors")
    left = set(p.name for p in tmp_path.iterdir())
    assert dead not in left and old_live not in left
    assert other_host_old not in left
    assert {live, other_host_new, other_target, unrelated.name} <= left
    assert_same(pybp.load(tmp_path / "m.safetensors"), make_net())


# A child that saves a big network to argv[1] over and over; with
# argv[2] == "hang" its fsync never returns, so the kill lands mid-save
# for certain.
_SAVER = """
import os, sys, time
import numpy as np
import pybp
net = pybp.Network([1000, 2000, 1000], seed=0)
net.save(sys.argv[1])
print("ready", flush=True)
if sys.argv[2] == "hang":
    os.fsync = lambda fd: time.sleep(600)
while True:
    net.params[0] += 1.0
    net.save(sys.argv[1])
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("mode", ["hang", "loop"])
def test_kill_9_during_save_then_next_save_cleans_up(tmp_path, mode):
    target = tmp_path / "big.safetensors"
    kills = 0
    for attempt in range(8 if mode == "loop" else 1):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(target),
                                 mode], stdout=subprocess.PIPE, cwd=tmp_path)
        try:
            assert proc.stdout.readline().strip() == b"ready"
            deadline = time.monotonic() + 30
            while not _temporaries(tmp_path):   # a save is under way
                assert time.monotonic() < deadline, "no save started"
                time.sleep(0.001)
            if mode == "hang":
                time.sleep(0.3)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        kills += 1
        net = pybp.load(target)         # the target always stays loadable
        assert net.sizes == (1000, 2000, 1000)
    left = _temporaries(tmp_path)
    if mode == "hang":
        assert len(left) == 1, left     # the kill left its temporary file
        assert (tmp_path / left[0]).stat().st_size == target.stat().st_size
    small = make_net()
    small.save(target)
    assert _temporaries(tmp_path) == []
    assert_same(pybp.load(target), small)
    assert kills >= 1
