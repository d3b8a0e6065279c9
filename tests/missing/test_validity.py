"""Coverage over many seeded repetitions: mask-conditional for CP-MDA-Exact under MCAR (per
number of missing values), marginal for the three methods under MAR and MNAR.

Each check averages the coverage of ``R`` independent repetitions (a new calibration set each);
its expectation is at least ``1 - a``. The tolerance is 3 standard errors of that average, from
the repetitions' spread (the coverage of one repetition varies with its calibration set, more
than a binomial count says) and at least the binomial one; about 0.01 to 0.02 here. So the
checks fail for a method that under-covers by more, as impute-then-predict does on rows with many
missing values (checked too).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression

from conformal.missing import MissingDataConformalRegressor, make_gaussian_missing

BETA = [1.0, 2.0, -1.0, 3.0]
LEVEL = 0.9
REPETITIONS = 40


def _tolerance(per_repetition: np.ndarray, n_test: int) -> float:
    """3 standard errors of the mean coverage over repetitions (rows: repetitions)."""
    r = per_repetition.shape[0]
    spread = per_repetition.std(axis=0, ddof=1).max() / np.sqrt(r)
    binomial = np.sqrt(LEVEL * (1 - LEVEL) / (r * n_test))
    return float(3 * max(spread, binomial))


def _model(method: str) -> MissingDataConformalRegressor:
    return MissingDataConformalRegressor(
        LinearRegression(),
        method=method,
        imputer=SimpleImputer(),
        conformity_score="absolute",
        calibration_size=300,
        random_state=0,
    )


def _covered(model, X, y, method):
    intervals = model.predict_interval(X, method=method)
    return (y >= intervals[:, 0]) & (y <= intervals[:, 1])


@pytest.mark.slow
def test_exact_is_mask_conditionally_valid_under_mcar_and_impute_is_not():
    hits = {m: np.zeros((REPETITIONS, 4)) for m in ("impute", "exact", "nested")}
    per_size = 150
    for seed in range(REPETITIONS):
        X, y = make_gaussian_missing(600, beta=BETA, random_state=seed)
        model = _model("exact").fit(X, y)
        tests = [
            make_gaussian_missing(per_size, n_missing=k, beta=BETA, random_state=1000 + seed)
            for k in range(4)
        ]
        for method in hits:
            for k, (X_test, y_test) in enumerate(tests):
                hits[method][seed, k] = _covered(model, X_test, y_test, method).mean()
    coverage = {m: h.mean(axis=0) for m, h in hits.items()}
    for method in ("exact", "nested"):
        tol = _tolerance(hits[method], per_size)
        assert (coverage[method] >= LEVEL - tol).all(), (method, coverage[method], tol)
    assert (coverage["exact"] <= LEVEL + 0.04).all(), coverage["exact"]  # not trivially wide
    # the baseline fails exactly where CP-MDA is needed: rows with 3 of 4 values missing
    assert coverage["impute"][3] < LEVEL - 0.05, coverage["impute"]
    assert coverage["impute"][0] > LEVEL + 0.03, coverage["impute"]


def _mar(n, rng):
    """Feature 0 always observed; features 1-3 missing with probability rising with X_0."""
    X, y = make_gaussian_missing(n, missing_rate=0.0, beta=BETA, random_state=rng)
    p = 1 / (1 + np.exp(-2 * (X[:, [0]] - 1)))
    X[:, 1:][rng.random((n, 3)) < 0.6 * p] = np.nan
    return X, y


def _mnar(n, rng):
    """Each feature missing with probability 0.5 when it exceeds its mean (self-masking)."""
    X, y = make_gaussian_missing(n, missing_rate=0.0, beta=BETA, random_state=rng)
    X[(X > 1.0) & (rng.random(X.shape) < 0.5)] = np.nan
    return X, y


@pytest.mark.slow
@pytest.mark.parametrize("mechanism", [_mar, _mnar], ids=["MAR", "MNAR"])
def test_marginal_coverage_of_the_three_methods(mechanism):
    covered = {m: np.zeros((REPETITIONS, 1)) for m in ("impute", "exact", "nested")}
    n_test = 300
    for seed in range(REPETITIONS):
        rng = np.random.default_rng(seed)
        X, y = mechanism(600, rng)
        X_test, y_test = mechanism(n_test, rng)
        model = _model("impute").fit(X, y)
        for method in covered:
            covered[method][seed] = _covered(model, X_test, y_test, method).mean()
    for method, hits in covered.items():
        tol = _tolerance(hits, n_test)
        assert hits.mean() >= LEVEL - tol, (method, hits.mean(), tol)
