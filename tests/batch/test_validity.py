"""Validity of batch inference over seeded repetitions on real bundled data.

A model is fitted once on a fixed part of the data and frozen; each repetition draws a
calibration set and a test batch at random, without replacement, from the remaining rows (so
calibration and test scores are exchangeable), calibrates, and checks the batch event. The
frequency of the event must reach ``1 - a`` up to ``Z`` standard errors (tests/_validity.py's
tolerance); where the exact probability is known (continuous scores), it must also match it.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conformal import SplitConformalClassifier, SplitConformalRegressor
from conformal.batch import BatchSelector, batch_simultaneous_rank
from conformal.datasets import load_dataset

from .._validity import Z

REPS = 1000
LEVEL = 0.9


@pytest.fixture(scope="module")
def power():
    X, y = load_dataset("power_plant")
    order = np.random.default_rng(0).permutation(y.shape[0])
    train, pool = order[:1500], order[1500:]
    model = FrozenEstimator(LinearRegression().fit(X[train], y[train]))
    return model, X[pool], y[pool]


def _draws(pool_size: int, n: int, m: int, seed: int):
    rng = np.random.default_rng(seed)
    pick = rng.choice(pool_size, n + m, replace=False)
    return pick[:n], pick[n:]


def _assert_at_least(hits: np.ndarray, level: float) -> None:
    freq, se = hits.mean(), np.sqrt(level * (1 - level) / hits.size)
    assert freq >= level - Z * se, f"frequency {freq:.4f} below {level} - {Z} se ({se:.4f})"


@pytest.mark.parametrize(("n", "m", "delta"), [(200, 100, 0.1), (500, 50, 0.0)])
def test_simultaneous_intervals(power, n, m, delta):
    model, X, y = power
    hits = np.empty(REPS, dtype=bool)
    for seed in range(REPS):
        cal, test = _draws(y.shape[0], n, m, seed)
        est = SplitConformalRegressor(model).fit(X[cal], y[cal])
        out = est.predict_batch_interval(X[test], LEVEL, delta=delta)
        covered = ((out[:, 0] <= y[test]) & (y[test] <= out[:, 1])).sum()
        hits[seed] = covered >= np.ceil((1 - delta) * m - 1e-9)
    _assert_at_least(hits, LEVEL)
    exact = batch_simultaneous_rank(n, m, LEVEL, delta=delta)[1]  # 0.9020 for (200, 100, 0.1)
    se = np.sqrt(exact * (1 - exact) / REPS)
    assert abs(hits.mean() - exact) <= Z * se, (hits.mean(), exact)


@pytest.mark.slow
def test_median_and_mean_bounds(power):
    model, X, y = power
    n, m = 150, 20
    bound = float(np.abs(y - model.predict(X)).max())  # a known bound of every score
    median_hits = np.empty(REPS, dtype=bool)
    two_sided_hits = np.empty(REPS, dtype=bool)
    mean_hits = np.empty(REPS, dtype=bool)
    for seed in range(REPS):
        cal, test = _draws(y.shape[0], n, m, seed)
        est = SplitConformalRegressor(model).fit(X[cal], y[cal])
        scores = np.abs(y[test] - model.predict(X[test]))
        median = np.sort(scores)[m // 2 - 1]  # the lower median: the ceil(m / 2)-th smallest
        median_hits[seed] = median <= est.predict_batch_bound(X[test], LEVEL)
        lower, upper = est.predict_batch_bound(X[test], LEVEL, two_sided=True)
        two_sided_hits[seed] = lower <= median <= upper
        mean_hits[seed] = scores.mean() <= est.predict_batch_bound(
            X[test], LEVEL, statistic="mean", score_bound=bound
        )
    _assert_at_least(median_hits, LEVEL)
    _assert_at_least(two_sided_hits, LEVEL)
    _assert_at_least(mean_hits, LEVEL)
    assert mean_hits.mean() < 1.0 or median_hits.mean() < 1.0  # the bounds are not trivial


def test_selection_false_claims(power):
    model, X, y = power
    n, m, eta = 400, 50, 3
    c = float(np.quantile(y, 0.6))
    too_many = np.empty(REPS, dtype=bool)
    selected = np.empty(REPS)
    for seed in range(REPS):
        cal, test = _draws(y.shape[0], n, m, seed)
        selector = BatchSelector(model, threshold=c, max_false=eta, confidence_level=LEVEL)
        chosen = selector.fit(X[cal], y[cal]).select(X[test])
        too_many[seed] = (chosen & (y[test] <= c)).sum() > eta
        selected[seed] = chosen.sum()
    _assert_at_least(~too_many, LEVEL)
    assert selected.mean() > 5  # it selects: the guarantee is not met by selecting nothing


@pytest.mark.slow
def test_simultaneous_sets():
    X, y = load_dataset("segmentation")
    order = np.random.default_rng(0).permutation(y.shape[0])
    train, pool = order[:600], order[600:]
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model = FrozenEstimator(classifier.fit(X[train], y[train]))
    Xp, yp = X[pool], y[pool]
    n, m, reps = 400, 40, 600
    hits = np.empty(reps, dtype=bool)
    for seed in range(reps):
        cal, test = _draws(yp.shape[0], n, m, seed)
        est = SplitConformalClassifier(model).fit(Xp[cal], yp[cal])
        sets = est.predict_batch_set(Xp[test], LEVEL, delta=0.05)
        truth = np.searchsorted(est.classes_, yp[test])
        hits[seed] = sets[np.arange(m), truth].sum() >= 38
    _assert_at_least(hits, LEVEL)
