"""Benchmark methods of the batch family (registered on import by conformal.benchmark).

Task ``"batch"`` runs on the regression datasets: the test part is cut into consecutive batches
of ``BATCH_SIZE`` rows, and each method gives intervals meant to cover at least
``ceil((1 - DELTA) m)`` points of each batch at once (a PAC guarantee: with probability
``confidence_level``), except ``batch-pointwise``, the per-point split intervals, shown for what
they miss. All four share the same fitted split (histogram gradient boosting, absolute residuals)
and differ only in the calibration threshold:

- ``batch-exact``: the exact rank of Lee, Tchetgen Tchetgen and Dobriban (2024)
  (:func:`conformal.batch.batch_simultaneous_rank`);
- ``batch-bonferroni``: per-point intervals at level ``1 - a / m``, rank
  ``ceil((n + 1)(1 - a / m))``, which cover all ``m`` points at once (so also the PAC event);
  finite only from ``n >= m / a - 1``;
- ``batch-partition``: the calibration set cut into ``K = floor(n / m)`` batches; the conformal
  quantile of their ``ceil((1 - delta) m)``-th smallest scores; finite only from
  ``K >= (1 - a) / a``.

The scorer adds ``batch_coverage``, the fraction of test batches with at least
``ceil((1 - DELTA) m)`` points covered.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor

from ..batch import batch_simultaneous_rank, bonferroni_rank
from ..calibration import conformal_rank, exact_level
from ..metrics import coverage, mean_width
from ..regression import SplitConformalRegressor
from ._registry import register_method

BATCH_SIZE = 50
DELTA = 0.1
KINDS = ("exact", "bonferroni", "partition", "pointwise")


def partition_threshold(
    scores: ArrayLike, m: int, confidence_level: float, delta: float = 0.0, random_state: Any = 0
) -> float:
    """PAC threshold by partitioning: the calibration scores cut at random into
    ``K = floor(n / m)`` batches of ``m``; the ``ceil((1 - a)(K + 1))``-th smallest of their
    ``zeta``-th smallest scores, ``zeta = ceil((1 - delta) m)`` (``+inf`` past ``K``). The test
    batch's ``zeta``-th smallest score is exchangeable with the ``K`` others, so at least
    ``zeta`` test points are covered with probability ``>= 1 - a``."""
    values = np.asarray(scores, dtype=np.float64)
    k_batches = values.shape[0] // m
    if k_batches == 0:
        return math.inf
    zeta = max(1, math.ceil((1 - exact_level(delta)) * m)) if delta else m
    order = np.random.default_rng(random_state).permutation(values.shape[0])[: k_batches * m]
    stats = np.sort(np.sort(values[order].reshape(k_batches, m), axis=1)[:, zeta - 1])
    rank = conformal_rank(k_batches, confidence_level)
    return float(stats[rank - 1]) if rank <= k_batches else math.inf


def batch_threshold(
    kind: str,
    scores: ArrayLike,
    m: int,
    confidence_level: float,
    delta: float = 0.0,
    random_state: Any = 0,
) -> float:
    """The threshold of one of :data:`KINDS` for a batch of ``m`` points."""
    values = np.sort(np.asarray(scores, dtype=np.float64))
    n = values.shape[0]
    padded = np.append(values, np.inf)
    if kind == "exact":
        rank = batch_simultaneous_rank(n, m, confidence_level, delta=delta, warn=False)[0]
        return float(padded[rank - 1])
    if kind == "bonferroni":
        return float(padded[bonferroni_rank(n, m, confidence_level) - 1])
    if kind == "partition":
        return partition_threshold(values, m, confidence_level, delta, random_state)
    if kind == "pointwise":
        return float(padded[min(conformal_rank(n, confidence_level), n + 1) - 1])
    raise ValueError(f"kind must be one of {KINDS}. Got {kind!r} instead.")


class BatchIntervals(RegressorMixin, BaseEstimator):
    """Split conformal regression whose ``predict_interval`` treats consecutive blocks of
    ``batch_size`` rows as batches (benchmark helper, not public).

    Parameters
    ----------
    kind : {"exact", "bonferroni", "partition", "pointwise"}
    batch_size : int
    delta : float
        Fraction of a batch allowed to be uncovered.
    random_state : int
    """

    def __init__(
        self,
        kind: str = "exact",
        batch_size: int = BATCH_SIZE,
        delta: float = DELTA,
        random_state: int = 0,
    ):
        self.kind = kind
        self.batch_size = batch_size
        self.delta = delta
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike) -> BatchIntervals:
        self.model_ = SplitConformalRegressor(
            HistGradientBoostingRegressor(random_state=self.random_state),
            random_state=self.random_state,
        ).fit(X, y)
        return self

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        return self.model_.predict(X)

    def predict_interval(self, X: ArrayLike, confidence_level: float = 0.9) -> NDArray[np.float64]:
        prediction = self.model_.predict(X)
        scores = self.model_.conformity_scores_
        out = np.empty((prediction.shape[0], 2))
        for start in range(0, prediction.shape[0], self.batch_size):
            rows = slice(start, start + self.batch_size)
            m = prediction[rows].shape[0]
            q = batch_threshold(
                self.kind, scores, m, confidence_level, self.delta, self.random_state
            )
            out[rows] = self.model_.score_.inverse(prediction[rows], np.array([q]))[:, 0]
        return out


def predict_batches(estimator: Any, X: Any, confidence_level: float) -> np.ndarray:
    """``(n, 4)``: the intervals, each row's batch number and the batch's allowed misses."""
    intervals = np.asarray(estimator.predict_interval(X, confidence_level=confidence_level))
    size = getattr(estimator, "batch_size", BATCH_SIZE)
    delta = exact_level(getattr(estimator, "delta", DELTA))
    batch = np.arange(intervals.shape[0]) // size
    counts = np.bincount(batch)
    misses = np.array([c - max(1, math.ceil((1 - delta) * c)) for c in counts])[batch]
    return np.column_stack([intervals, batch, misses])


def score_batches(
    estimator: Any, y: np.ndarray, predicted: np.ndarray, confidence_level: float
) -> dict[str, float]:
    """Per-point coverage, ``batch_coverage`` (batches with at most their allowed misses) and
    widths."""
    intervals, batch = predicted[:, :2], predicted[:, 2].astype(np.int64)
    allowed = np.bincount(batch, weights=predicted[:, 3]) / np.bincount(batch)
    inside = (intervals[:, 0] <= y) & (y <= intervals[:, 1])
    whole = np.bincount(batch, weights=~inside) <= allowed + 1e-9
    width = float(mean_width(intervals))
    spread = float(np.std(y))
    return {
        "coverage": float(coverage(y, intervals)),
        "batch_coverage": float(whole.mean()),
        "mean_width": width,
        "normalized_width": width / spread if spread > 0 else math.nan,
    }


_DESCRIPTIONS = {
    "exact": "exact PAC rank (Lee et al. 2024): at least 90% of each batch at once",
    "bonferroni": "Bonferroni: per-point intervals at level 1 - a / m (needs n >= m / a - 1)",
    "partition": "calibration set cut into floor(n / m) batches: quantile of a batch statistic",
    "pointwise": "per-point split intervals (not simultaneous: the baseline they fix)",
}

for _kind in KINDS:
    register_method(
        f"batch-{_kind}",
        (lambda random_state, kind=_kind: BatchIntervals(kind, random_state=random_state)),
        description=f"{_DESCRIPTIONS[_kind]}; batches of {BATCH_SIZE} test rows",
        task="batch",
    )

__all__ = ["BatchIntervals", "batch_threshold", "partition_threshold"]
