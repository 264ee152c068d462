"""What the Dask test modules share: a real LocalCluster of worker
processes and a client on it.  Imported only after the test module has
checked (pytest.importorskip) that distributed is installed."""
import contextlib
import sys
from pathlib import Path

import distributed

N_WORKERS = 2

# The workers must unpickle the helper classes the test modules define, by
# name: pytest's importlib mode names a test module tests.<file>, so the
# folder above tests/ must be importable there.  Worker processes start
# with this process's sys.path (multiprocessing's spawn copies it), so it
# is appended here, after site-packages; it does not hold the package
# itself (that is under src/), so everyone still imports the installed pybp.
_ROOT = str(Path(__file__).resolve().parent.parent)


@contextlib.contextmanager
def local_client(n_workers=N_WORKERS):
    """A Client on a LocalCluster of ``n_workers`` single-threaded worker
    processes, both closed on exit."""
    if _ROOT not in sys.path:
        sys.path.append(_ROOT)
    cluster = distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True,
        dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()
