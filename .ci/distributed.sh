#!/usr/bin/env bash
# CI: the scale-out recipes (pybp.distributed) on a real local Dask cluster
# and a local Ray.  Run it inside the CI virtual environment, after pybp is
# installed there (.ci/run does that); it adds the dask and ray extras and
# runs the tests that need them.  Exits non-zero on any failure, including
# an extra that installed but cannot be imported (the tests would otherwise
# skip and pass).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
    echo "run this inside the CI virtual environment (see .ci/run)" >&2
    exit 2
fi

echo "== optional extras: dask (with dask-ml) and ray (with tune)"
pip install --quiet ".[test,dask,ray]"
python - <<'PY'
import dask, dask.dataframe, distributed, dask_ml, pandas, ray, ray.tune
print("dask", dask.__version__, "| distributed", distributed.__version__,
      "| dask-ml", dask_ml.__version__, "| ray", ray.__version__,
      "| pandas", pandas.__version__)
PY

echo "== pybp.distributed on a LocalCluster and a local Ray"
# -p no:logging: the cluster's own log records would fill the failure report.
python -m pytest -q -p no:logging -rs tests/test_distributed*.py
