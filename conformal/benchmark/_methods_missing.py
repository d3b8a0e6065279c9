"""Benchmark methods for missing covariates (task ``"missing"``): impute-then-CQR, CP-MDA-Exact
and CP-MDA-Nested (Zaffran et al. 2023), and how the task predicts and scores.

Every method is :class:`~conformal.missing.MissingDataConformalRegressor` around
``HistGradientBoostingRegressor(loss="quantile")`` with the default imputer
(``IterativeImputer(Ridge())``, fitted on the training part) and the mask appended to the
features; they differ only in calibration. The task's rows carry the usual interval measurements
and ``worst_mask_coverage``: the lowest coverage among the groups of test rows with the same
number of missing values (groups of at least :data:`MIN_GROUP` rows), the mask-conditional
failure that CP-MDA fixes. None is in the default set: ``--task missing`` runs all three
(choose ``--methods`` on large data: Nested makes ``n_calibration`` predictions per test point).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from ..metrics import coverage, coverage_by_mask, mean_width
from ..missing import MissingDataConformalRegressor
from ._registry import register_method

#: Smallest group of test rows (same number of missing values) counted in
#: ``worst_mask_coverage``: smaller groups are too noisy to compare.
MIN_GROUP = 30


def _missing(method: str, random_state: int) -> MissingDataConformalRegressor:
    return MissingDataConformalRegressor(
        HistGradientBoostingRegressor(loss="quantile", random_state=random_state),
        method=method,
        random_state=random_state,
    )


@register_method(
    "missing-impute-cqr",
    task="missing",
    description=(
        "impute-then-CQR: IterativeImputer(Ridge) on the training part, quantile HGB on "
        "[Phi(X), M], split CQR (marginally valid, not by mask)"
    ),
)
def _impute_cqr(random_state: int) -> MissingDataConformalRegressor:
    return _missing("impute", random_state)


@register_method(
    "missing-exact-cqr",
    task="missing",
    description=(
        "CP-MDA-Exact (Zaffran et al. 2023): each test mask calibrated on the compatible "
        "calibration points masked to it (infinite intervals for masks with too few)"
    ),
)
def _exact_cqr(random_state: int) -> MissingDataConformalRegressor:
    return _missing("exact", random_state)


@register_method(
    "missing-nested-cqr",
    task="missing",
    description=(
        "CP-MDA-Nested (Zaffran et al. 2023): every calibration point masked by its mask OR "
        "the test mask (one imputer and model call per group of test points sharing a mask, "
        "over the distinct augmented masks: wider and slower than Exact)"
    ),
)
def _nested_cqr(random_state: int) -> MissingDataConformalRegressor:
    return _missing("nested", random_state)


def predict_with_masks(estimator: Any, X: Any, confidence_level: float) -> np.ndarray:
    """``(n, 3)``: the intervals and each row's number of missing values, for the scorer."""
    intervals = np.asarray(estimator.predict_interval(X, confidence_level=confidence_level))
    n_missing = np.isnan(np.asarray(X, dtype=np.float64)).sum(axis=1)
    return np.column_stack([intervals, n_missing])


def score_by_mask(
    estimator: Any, y: np.ndarray, predicted: np.ndarray, confidence_level: float
) -> dict[str, float]:
    """Coverage, widths and the worst coverage by number of missing values."""
    intervals, n_missing = predicted[:, :2], predicted[:, 2]
    width = float(mean_width(intervals))
    spread = float(np.std(y))
    counts = n_missing.astype(np.int64)
    groups = coverage_by_mask(y, intervals, np.arange(counts.max() + 1) < counts[:, None])
    worst = [float(g.coverage) for g in groups.values() if g.n >= MIN_GROUP]
    return {
        "coverage": float(coverage(y, intervals)),
        "mean_width": width,
        "normalized_width": width / spread if spread > 0 else math.nan,
        "worst_mask_coverage": min(worst) if worst else math.nan,
    }
