"""The quantile task of the CLI benchmark: its grid, its scorer, the shared fits, a small run."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from conformal.aggregation import KNeighborsQuantileRegressor
from conformal.benchmark import TASK_METRICS, run_benchmark
from conformal.benchmark._methods_quantile import (
    QUANTILE_GRID,
    CachedFit,
    ConformalizedQuantiles,
    quantile_grid,
    score_quantiles,
)


class Counting(RegressorMixin, BaseEstimator):
    """A protocol model that counts its fits in a class attribute."""

    fits = 0

    def __init__(self, shift=0.0):
        self.shift = shift

    def fit(self, X, y):
        type(self).fits += 1
        self.centre_ = float(np.mean(y)) + self.shift
        return self

    def predict_quantiles(self, X, quantiles=None):
        levels = np.asarray(quantiles if quantiles is not None else [0.5])
        return np.full((len(X), levels.size), self.centre_) + levels


def test_grid_has_the_tails_of_the_level():
    assert len(QUANTILE_GRID) == 19 and QUANTILE_GRID[0] == 0.05 and QUANTILE_GRID[-1] == 0.95
    np.testing.assert_allclose(quantile_grid(0.9), QUANTILE_GRID)
    grid = quantile_grid(0.85)
    assert grid.size == 21 and 0.075 in grid.round(12) and 0.925 in grid.round(12)


def test_scorer_sorts_counts_crossings_and_reads_the_pair():
    levels = quantile_grid(0.9)
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    predictions = np.sort(rng.normal(size=(50, levels.size)), axis=1)
    predictions[:10, 4] = predictions[:10, 3] - 1.0  # ten crossing rows
    scores = score_quantiles(None, y, predictions, 0.9)
    assert scores["crossing_rate"] == pytest.approx(0.2)
    assert scores["wis"] <= scores["wis_unsorted"]
    ordered = np.sort(predictions, axis=1)
    inside = (ordered[:, 0] <= y) & (y <= ordered[:, -1])
    assert scores["coverage"] == pytest.approx(inside.mean())
    assert scores["mean_width"] == pytest.approx((ordered[:, -1] - ordered[:, 0]).mean())
    assert set(scores) == set(TASK_METRICS["quantile"]) - {"fit_seconds", "predict_seconds"}


def test_cached_fit_reuses_a_fit_of_the_same_model_on_the_same_data():
    X = np.arange(20.0).reshape(-1, 1)
    y = np.arange(20.0)
    before = Counting.fits
    first = CachedFit(Counting()).fit(X, y)
    second = CachedFit(Counting()).fit(X, y)
    assert Counting.fits == before + 1 and second.estimator_ is first.estimator_
    CachedFit(Counting(shift=1.0)).fit(X, y)  # another model
    CachedFit(Counting()).fit(X, y + 1)  # other data
    assert Counting.fits == before + 3
    np.testing.assert_allclose(first.predict(X[:2]), [10.0, 10.0])


@pytest.mark.parametrize("cv", [None, 3])
def test_conformalized_quantiles_give_the_calibrated_vector(cv):
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(200, 2))
    y = X[:, 0] + rng.normal(scale=0.1, size=200)
    grid = quantile_grid(0.9).tolist()
    model = ConformalizedQuantiles(
        KNeighborsQuantileRegressor(n_neighbors=15, quantiles=grid), grid, cv=cv, random_state=0
    ).fit(X, y)
    predictions = model.predict_quantiles(X[:5])
    assert predictions.shape == (5, 19)
    intervals = model.model_.predict_interval(X[:5], confidence_level=0.9)
    np.testing.assert_allclose(predictions[:, [0, -1]], intervals)


def test_run_benchmark_quantile_task_on_yacht():
    rows = run_benchmark(["yacht"], ["q-knn", "q-forest", "cqr-forest"], seeds=1, progress=False)
    assert [r["method"] for r in rows] == ["q-knn", "q-forest", "cqr-forest"]
    for row in rows:
        assert row["wis"] <= row["wis_unsorted"] + 1e-12
        assert 0.0 <= row["crossing_rate"] <= 1.0
    assert rows[0]["crossing_rate"] == 0.0  # nearest-neighbour quantiles never cross
    assert rows[2]["coverage"] >= 0.75  # 62 test rows: a loose check that CQR is in place


def test_quantile_methods_impute_missing_features():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(200, 3))
    y = X[:, 0] + rng.normal(scale=0.1, size=200)
    X[rng.random(X.shape) < 0.1] = np.nan
    rows = run_benchmark({"gappy": (X, y)}, ["q-knn", "cqr-forest"], seeds=1, progress=False)
    assert [r["method"] for r in rows] == ["q-knn", "cqr-forest"]
    assert all(np.isfinite(r["wis"]) for r in rows)
