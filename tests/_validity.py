"""Shared machinery for statistical validity tests.

Data have a known conditional law, ``y | x ~ N(mu(x), sd(x)^2)`` with heteroskedastic noise, so
the coverage of an interval at a test point is computed exactly (no test-sample noise); only the
calibration draw varies across repetitions. A method passes when the mean coverage over the
repetitions lies in its theoretical band widened by ``Z`` standard errors of that mean.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm

Z = 3.5  # tolerance in standard errors of the mean coverage (two-sided false alarm ~5e-4)


def mu(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) * 2 + x[:, 0]


def sd(x: np.ndarray) -> np.ndarray:
    return 0.2 + 0.5 * x[:, 0]


def draw(n: int, rng: np.random.Generator, n_features: int = 1) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(0, 5, size=(n, n_features))
    return x, mu(x) + sd(x) * rng.normal(size=n)


def exact_coverage(x: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """P(lower <= Y <= upper | x) for each test point."""
    m, s = mu(x), sd(x)
    return norm.cdf((intervals[:, 1] - m) / s) - norm.cdf((intervals[:, 0] - m) / s)


def repeated_coverage(
    fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray],
    *,
    n: int,
    repetitions: int = 200,
    n_test: int = 500,
) -> np.ndarray:
    """Exact coverage of each repetition (its own seed, its own data)."""
    x_test = np.random.default_rng(12345).uniform(0, 5, size=(n_test, 1))
    out = np.empty(repetitions)
    for seed in range(repetitions):
        rng = np.random.default_rng(seed)
        x, y = draw(n, rng)
        out[seed] = exact_coverage(x_test, fit_predict(x, y, x_test, seed)).mean()
    return out


def assert_in_band(coverages: np.ndarray, low: float, high: float) -> None:
    mean = coverages.mean()
    se = coverages.std(ddof=1) / np.sqrt(len(coverages))
    assert low - Z * se <= mean <= high + Z * se, (
        f"mean coverage {mean:.4f} (se {se:.4f}) outside [{low:.4f}, {high:.4f}] +- {Z} se"
    )
