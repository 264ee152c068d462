"""Replay the fuzz job's seed corpus (tests/fuzz/corpus/<loader>/): every
file loads or raises FormatError, in time linear in its size."""
from pathlib import Path

import pytest

# tests/ is on sys.path (conftest.py)
import helpers_fuzz

CORPUS = Path(__file__).resolve().parent / "fuzz" / "corpus"
FILES = sorted((d.name, p.name) for d in CORPUS.iterdir() if d.is_dir()
               for p in d.iterdir())

# What each kind of seed must do (a guard against a corpus that stopped
# exercising what it was made for).
EXPECTED = {"valid": "ok", "scale_included": "ok"}


def test_corpus_covers_every_loader():
    assert {loader for loader, _ in FILES} == set(helpers_fuzz.LOADERS)
    for loader in helpers_fuzz.LOADERS:
        assert sum(1 for d, _ in FILES if d == loader) >= 8


@pytest.mark.parametrize("loader,name", FILES)
def test_corpus_file(loader, name):
    data = (CORPUS / loader / name).read_bytes()
    outcome = helpers_fuzz.check(loader, data)
    want = EXPECTED.get(name.split("_")[0], EXPECTED.get(name, "FormatError"))
    assert outcome == want, (loader, name, outcome)


def test_check_flags_slow_and_foreign_exceptions(monkeypatch):
    import time
    monkeypatch.setitem(helpers_fuzz.LOADERS, "model",
                        lambda data: time.sleep(0.06))
    with pytest.raises(helpers_fuzz.SlowInput):
        helpers_fuzz.check("model", b"x")

    def boom(data):
        raise OverflowError("not a FormatError")
    monkeypatch.setitem(helpers_fuzz.LOADERS, "model", boom)
    with pytest.raises(OverflowError):
        helpers_fuzz.check("model", b"x")
