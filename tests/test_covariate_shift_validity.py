"""Coverage under covariate shift on real data, with the true and with estimated likelihood ratios.

The protocol of Tibshirani, Barber, Candes and Ramdas (2019, Section 2.2), on the bundled
``concrete`` data (the full table, 1,000 repetitions, is benchmarks/covariate_shift_validity.py
and its results/covariate_shift_validity.md). Each seeded repetition splits the rows into a
source half and a pool, draws a test set from the pool with probabilities proportional to
``exp(z)``, ``z`` the standardised ``cement`` feature (an exponential tilting of one feature),
and fits ``SplitConformalRegressor(LinearRegression(), calibration_size=0.5)`` on the source
half at level 0.9:

- unweighted, it under-covers the tilted test set;
- with the true ratio ``exp(z)`` (a plain callable) its coverage is at least 0.9 (Tibshirani et
  al. 2019, Corollary 1) and, with about 100 effective calibration points, at most a little
  above;
- with ``LikelihoodRatioWeights`` (logistic regression; gradient boosting on fewer repetitions)
  cross-fitted on the source rows and the unlabeled test rows, it is near 0.9.

The tolerance is ``Z = 3.5`` standard errors of the mean coverage (tests/_validity.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression
from threadpoolctl import threadpool_limits

from conformal import SplitConformalRegressor
from conformal.datasets import load_dataset
from conformal.weights import LikelihoodRatioWeights
from tests._validity import Z

pytestmark = pytest.mark.slow

LEVEL = 0.9
FEATURE = 0  # cement
# Weighted coverage exceeds 1 - a by at most the expected largest normalised weight (Tibshirani
# et al. 2019, Theorem 2 with continuous scores); with ~100 effective calibration points the
# oracle's excess is below this.
OVERSHOOT = 0.01


@pytest.fixture(scope="module")
def data():
    X, y = load_dataset("concrete")
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    z = (X[:, FEATURE] - X[:, FEATURE].mean()) / X[:, FEATURE].std()

    def oracle(rows):
        return np.exp((np.asarray(rows)[:, FEATURE] - X[:, FEATURE].mean()) / X[:, FEATURE].std())

    return X, y, np.exp(z), oracle


def _coverages(data, methods, repetitions):
    """Coverage of each method in each seeded repetition: {method: (repetitions,)}."""
    X, y, tilt, _ = data
    out = {name: np.empty(repetitions) for name in methods}
    half = y.shape[0] // 2
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small effective sample sizes warn; not under test
        for seed in range(repetitions):
            rng = np.random.default_rng(seed)
            order = rng.permutation(y.shape[0])
            source, pool = order[:half], order[half:]
            p = tilt[pool]
            test = rng.choice(pool, size=pool.shape[0], replace=True, p=p / p.sum())
            for name, weights in methods.items():
                model = SplitConformalRegressor(
                    LinearRegression(), weights=weights, calibration_size=0.5, random_state=seed
                )
                extra = {"X_target": X[test]} if isinstance(weights, LikelihoodRatioWeights) else {}
                model.fit(X[source], y[source], **extra)
                lower, upper = model.predict_interval(X[test], LEVEL).T
                out[name][seed] = np.mean((lower <= y[test]) & (y[test] <= upper))
    return out


def _mean_se(values):
    return values.mean(), values.std(ddof=1) / np.sqrt(values.shape[0])


def test_unweighted_under_covers_and_oracle_and_logistic_weights_cover(data):
    coverages = _coverages(
        data,
        {"unweighted": None, "oracle": data[3], "logistic": LikelihoodRatioWeights()},
        repetitions=500,
    )
    mean, se = _mean_se(coverages["unweighted"])
    assert mean + Z * se < LEVEL, f"unweighted {mean:.4f} (se {se:.4f}) does not under-cover"
    for name in ("oracle", "logistic"):
        mean, se = _mean_se(coverages[name])
        assert LEVEL - Z * se <= mean <= LEVEL + OVERSHOOT + Z * se, (
            f"{name}: mean coverage {mean:.4f} (se {se:.4f}) outside "
            f"[{LEVEL}, {LEVEL + OVERSHOOT}] +- {Z} se"
        )


def test_gradient_boosting_weights_cover(data):
    # Fewer repetitions (gradient boosting is slower) and a wider band: estimated by a flexible
    # classifier on ~400 rows per fold, the ratio is noisier than the logistic one.
    classifier = HistGradientBoostingClassifier(max_iter=50, max_depth=3, random_state=0)
    coverages = _coverages(data, {"gb": LikelihoodRatioWeights(classifier)}, repetitions=100)
    mean, se = _mean_se(coverages["gb"])
    assert LEVEL - 0.01 - Z * se <= mean <= LEVEL + 0.02 + Z * se, (
        f"gradient boosting: mean coverage {mean:.4f} (se {se:.4f})"
    )
