"""k-nearest-neighbour quantiles: the weighted quantiles of the neighbours' targets."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.neighbors import KNeighborsRegressor, NearestNeighbors
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._protocol import check_quantiles

__all__ = ["KNeighborsQuantileRegressor"]

_SEARCH_PARAMS = ("algorithm", "leaf_size", "metric", "p", "metric_params", "n_jobs")


def _distance_weights(distances: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse distances; a row with a neighbour at distance 0 gives weight 1 to those
    neighbours and 0 to the others (as scikit-learn's ``KNeighborsRegressor`` does)."""
    with np.errstate(divide="ignore"):
        inverse = 1.0 / distances
    exact = np.isinf(inverse)
    rows = exact.any(axis=1)
    inverse[rows] = exact[rows]
    return inverse


class KNeighborsQuantileRegressor(RegressorMixin, BaseEstimator):
    """Conditional quantiles from the k nearest training points.

    The quantile at level ``q`` for ``x`` is the inverse of the empirical CDF of the targets of
    its k nearest training points, each weighted by ``weights``:
    ``inf{y : sum_i w_i 1{Y_i <= y} >= q sum_i w_i}``, a neighbour's target, no interpolation.
    With ``weights="uniform"`` it is NumPy's ``np.quantile(y[neighbours], q,
    method="inverted_cdf")`` (up to the rounding of ``q * k``: a level within ``1e-12``
    relative of a step counts as reaching it). The neighbours come from scikit-learn's
    :class:`~sklearn.neighbors.NearestNeighbors`; the quantiles from the numba kernel shared with
    :class:`QuantileForestRegressor` (all levels in one sweep).

    Parameters
    ----------
    n_neighbors : int, default=20
        Number of neighbours. More than scikit-learn's 5: a level ``q`` below ``1 / k`` (or
        above ``1 - 1 / k``) is the smallest (largest) neighbour's target, so the tails need
        ``k`` of at least about ``1 / min(q, 1 - q)``.
    weights : {"uniform", "distance"} or callable, default="uniform"
        ``"uniform"``: every neighbour counts the same. ``"distance"``: inverse distance (an
        exact match takes all the weight). A callable maps the (n_samples, k) distances to
        non-negative weights of the same shape.
    algorithm, leaf_size, p, metric, metric_params, n_jobs
        As in :class:`~sklearn.neighbors.KNeighborsRegressor` (same defaults), passed to
        :class:`~sklearn.neighbors.NearestNeighbors`.
    quantiles : array-like of float, default=(0.05, 0.5, 0.95)
        The levels :meth:`predict_quantiles` returns when called without levels; strictly
        increasing in (0, 1). Any level can be asked for after ``fit``.

    Attributes
    ----------
    neighbors_ : NearestNeighbors
        The fitted neighbour search.
    quantiles_ : ndarray of shape (n_quantiles,)
        The validated default levels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    References
    ----------
    R. Fakoor, T. Kim, J. Mueller, A. J. Smola and R. J. Tibshirani, "Flexible Model
    Aggregation for Quantile Regression", Journal of Machine Learning Research 24, 2023
    (k-nearest-neighbour quantiles among the base models).

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.aggregation import KNeighborsQuantileRegressor
    >>> X = np.arange(10.0).reshape(-1, 1)
    >>> y = np.arange(10.0)
    >>> model = KNeighborsQuantileRegressor(n_neighbors=4).fit(X, y)
    >>> model.predict_quantiles([[4.2]], quantiles=[0.25, 0.5, 0.75])
    array([[3., 4., 5.]])
    """

    _parameter_constraints: dict = {
        **{
            key: KNeighborsRegressor._parameter_constraints[key]
            for key in ("weights", *_SEARCH_PARAMS)
        },
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "quantiles": ["array-like", Real],
    }

    def __init__(
        self,
        n_neighbors: int = 20,
        *,
        weights: Any = "uniform",
        algorithm: str = "auto",
        leaf_size: int = 30,
        p: float = 2,
        metric: Any = "minkowski",
        metric_params: dict | None = None,
        n_jobs: int | None = None,
        quantiles: Any = (0.05, 0.5, 0.95),
    ) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.metric = metric
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.quantiles = quantiles

    def fit(self, X: ArrayLike, y: ArrayLike) -> KNeighborsQuantileRegressor:
        """Index the training points and sort their targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : KNeighborsQuantileRegressor

        Raises
        ------
        ValueError
            For invalid ``quantiles``, or ``n_neighbors`` larger than the number of samples.
        """
        self._validate_params()
        self.quantiles_ = check_quantiles(self.quantiles)
        X_checked, y_checked = validate_data(self, X, y, y_numeric=True)
        n = np.shape(X_checked)[0]
        if self.n_neighbors > n:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} is more than the training rows (n_samples={n}); "
                f"pass n_neighbors <= {n} or more data."
            )
        params = {key: getattr(self, key) for key in _SEARCH_PARAMS}
        self.neighbors_ = NearestNeighbors(n_neighbors=self.n_neighbors, **params).fit(X_checked)
        target = np.asarray(y_checked, dtype=np.float64)
        order = np.argsort(target, kind="stable")
        self._sorted_y = np.ascontiguousarray(target[order])
        # Each training row is a group of one entry: its rank among the sorted targets.
        self._ranks = np.empty(n, dtype=np.int64)
        self._ranks[order] = np.arange(n)
        self._starts = np.arange(n + 1, dtype=np.int64)
        self._ones = np.ones(n, dtype=np.float64)
        return self

    def predict_quantiles(
        self, X: ArrayLike, quantiles: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Weighted quantiles of the neighbours' targets at any levels in (0, 1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        quantiles : array-like of float, default=None
            Strictly increasing levels in (0, 1); ``None`` means ``quantiles_``.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_quantiles)
            Non-decreasing along each row.

        Raises
        ------
        ValueError
            For invalid ``quantiles``, a wrong number of features, or a ``weights`` callable
            that returns negative, non-finite or wrongly shaped weights, or zero weight for
            every neighbour of a row.
        """
        from .._kernels.forest import grouped_weighted_quantiles

        check_is_fitted(self, "neighbors_")
        levels = self.quantiles_ if quantiles is None else check_quantiles(quantiles)
        X = validate_data(self, X, reset=False)
        distances, indices = self.neighbors_.kneighbors(X)
        if self.weights in (None, "uniform"):
            scale = np.empty((0, 0), dtype=np.float64)
        elif self.weights == "distance":
            scale = _distance_weights(distances)
        else:
            scale = np.asarray(self.weights(distances), dtype=np.float64)
            if scale.shape != distances.shape or not (np.isfinite(scale) & (scale >= 0)).all():
                raise ValueError(
                    f"weights={self.weights!r} must return finite non-negative weights of shape "
                    f"{distances.shape} (one per neighbour); got shape {scale.shape}"
                    + ("" if scale.shape != distances.shape else " with negative or NaN values")
                    + "."
                )
            empty = np.flatnonzero(scale.sum(axis=1) <= 0)
            if empty.size:
                raise ValueError(
                    f"weights={self.weights!r} gives zero weight to every neighbour of "
                    f"{empty.size} of {scale.shape[0]} rows (first: row {int(empty[0])}), whose "
                    "quantiles are then undefined; return a positive weight for at least one "
                    "neighbour of each row (e.g. a floor such as np.maximum(w, 1e-12))."
                )
        return grouped_weighted_quantiles(
            np.ascontiguousarray(indices, dtype=np.int64),
            np.ascontiguousarray(scale),
            self._starts,
            self._ranks,
            self._ones,
            self._sorted_y,
            np.ascontiguousarray(levels, dtype=np.float64),
        )

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The conditional median (level 0.5) of the neighbours' targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self.predict_quantiles(X, [0.5])[:, 0]
