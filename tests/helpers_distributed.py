"""What the Dask test modules share: a real LocalCluster of worker
processes and a client on it.  Imported only after the test module has
checked (pytest.importorskip) that distributed is installed."""
import contextlib

import distributed

N_WORKERS = 2


@contextlib.contextmanager
def local_client(n_workers=N_WORKERS):
    """A Client on a LocalCluster of ``n_workers`` single-threaded worker
    processes, both closed on exit."""
    cluster = distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True,
        dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()
