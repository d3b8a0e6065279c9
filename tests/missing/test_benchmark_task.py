"""The missing-data benchmark task: its methods, its measurements, a small run."""

from __future__ import annotations

import math

import numpy as np

from conformal.benchmark import TASK_METRICS, get_method, list_methods
from conformal.benchmark._methods_missing import score_by_mask


def test_methods_and_measurements_are_registered():
    names = [m for m in list_methods() if get_method(m).task == "missing"]
    assert names == ["missing-impute-cqr", "missing-exact-cqr", "missing-nested-cqr"]
    assert "worst_mask_coverage" in TASK_METRICS["missing"]
    assert not any(get_method(m).default for m in names)


def test_worst_mask_coverage_ignores_small_groups():
    y = np.zeros(70)
    intervals = np.column_stack([np.full(70, -1.0), np.full(70, 1.0)])
    intervals[:10] = [1.0, 2.0]  # the 10 rows with 0 missing values: not covered
    intervals[30:45] = [1.0, 2.0]  # half of the 30 rows with 2 missing values
    n_missing = np.repeat([0, 1, 2], [10, 20, 40])
    n_missing[30:40] = 2
    n_missing[10:30] = 1
    scores = score_by_mask(None, y, np.column_stack([intervals, n_missing]), 0.9)
    counts = {k: int((n_missing == k).sum()) for k in (0, 1, 2)}
    assert counts == {0: 10, 1: 20, 2: 40}
    assert scores["worst_mask_coverage"] == (40 - 15) / 40  # only the group of 40 counts
    assert scores["coverage"] == (70 - 25) / 70
    none = score_by_mask(None, y[:5], np.column_stack([intervals[:5], n_missing[:5]]), 0.9)
    assert math.isnan(none["worst_mask_coverage"])


def test_the_task_evaluates_a_light_estimator_on_airquality():
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import QuantileRegressor

    from conformal.benchmark._runner import _evaluate
    from conformal.datasets import load_dataset
    from conformal.missing import MissingDataConformalRegressor

    X, y = load_dataset("airquality")
    order = np.random.default_rng(0).permutation(len(y))  # the rows are in time order
    X, y = X[order], y[order]
    estimator = MissingDataConformalRegressor(
        QuantileRegressor(alpha=0.0), imputer=SimpleImputer(), random_state=0
    )
    scores = _evaluate("missing", estimator, X[:80], y[:80], X[80:], y[80:], 0.9)
    assert set(TASK_METRICS["missing"]) == set(scores)
    assert 0.5 <= scores["coverage"] <= 1.0 and scores["mean_width"] > 0


def test_factories_build_the_three_calibrations():
    built = {
        name: get_method(name).build(3, 0.9)
        for name in ("missing-impute-cqr", "missing-exact-cqr", "missing-nested-cqr")
    }
    assert [e.method for e in built.values()] == ["impute", "exact", "nested"]
    assert all(e.random_state == 3 and e.conformity_score == "cqr" for e in built.values())
