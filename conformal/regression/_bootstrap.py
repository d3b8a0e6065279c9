"""Jackknife+-after-bootstrap regression (Kim, Xu, Barber 2020)."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.linear_model import LinearRegression
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .._aggregate import out_of_bag_medians
from .._blocks import block_slices
from .._folds import fit_on_rows, predict_columns
from .._validation import (
    check_refittable,
    check_target,
    n_rows,
    seed_from,
    take,
)
from ..calibration import Calibrator
from ..exceptions import warn_conformal
from ._base import BaseConformalRegressor


def bootstrap_bags(n: int, n_resamplings: int, seed: int | None) -> NDArray[np.intp]:
    """``(B, n)`` indices drawn with replacement, bag after bag from one ``RandomState(seed)``.

    The draws are those of MAPIE's ``Subsample(n_resamplings, random_state=seed)`` (scikit-learn's
    ``resample``), so both libraries fit the same models for the same integer seed.
    """
    generator = np.random.RandomState(seed)
    return np.stack([generator.randint(0, n, size=n) for _ in range(n_resamplings)]).astype(np.intp)


class JackknifeAfterBootstrapRegressor(BaseConformalRegressor):
    """Jackknife+-after-bootstrap (J+aB) prediction intervals (Kim, Xu, Barber 2020).

    ``n_resamplings`` clones of ``estimator`` are fitted on bootstrap samples of the data. For
    each sample ``i``, the models whose bootstrap sample left ``i`` out are aggregated (mean or
    median) into ``agg_{-i}``; its out-of-bag score is ``R_i = |y_i - agg_{-i}(x_i)|``. With
    ``a = 1 - confidence_level``:

    - ``"plus"``: ``[q-({agg_{-i}(x) - R_i}), q+({agg_{-i}(x) + R_i})]``, ``q+`` the
      ``ceil((1 - a)(n + 1))``-th smallest value and ``q-`` the ``floor(a (n + 1))``-th.
      Coverage at least ``1 - 2a`` when the number of bootstrap fits is itself random
      (Binomial; Kim et al. 2020, Theorem 1) and about ``1 - a`` in practice.
    - ``"minmax"``: ``[min_i agg_{-i}(x) - q+(R), max_i agg_{-i}(x) + q+(R)]``.

    The ensemble is reused for all ``n`` leave-one-out models, so J+aB costs ``B`` fits instead
    of jackknife+'s ``n``.

    Parameters
    ----------
    estimator : regressor, default=None
        The model, cloned for each bootstrap sample. ``None`` means ``LinearRegression()``.
    confidence_level : float or sequence of float, default=0.9
        Target coverage; can be overridden in :meth:`predict_interval`.
    n_resamplings : int, default=30
        Number of bootstrap samples ``B`` (each of size ``n``, drawn with replacement).
    aggregation : {"mean", "median"}, default="mean"
        How the out-of-bag models of a sample are aggregated, and how :meth:`predict`
        aggregates all ``B`` models.
    method : {"plus", "minmax"}, default="plus"
        How the intervals are built from the out-of-bag scores (see above).
    n_jobs : int, default=None
        Bootstrap models fitted in parallel through joblib (``-1``: all cores).
    random_state : int, Generator, RandomState or None, default=None
        Controls the bootstrap draws: for an integer seed they are those of MAPIE's
        ``Subsample(n_resamplings, random_state=seed)``. The generator you pass is not advanced.

    Attributes
    ----------
    estimators_ : list of regressor
        The ``B`` bootstrap models.
    oob_ : ndarray of shape (n_samples, n_resamplings), dtype bool
        ``oob_[i, b]`` is true when sample ``i`` is out of bag ``b``.
    scored_ : ndarray of shape (n_samples,), dtype bool
        Samples out of at least one bag: those with a conformity score.
    conformity_scores_ : ndarray of shape (n_scored,)
        Out-of-bag scores of the samples in ``scored_``, in order.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    Notes
    -----
    A sample that is in every bootstrap sample has no out-of-bag model; it is left out of the
    calibration (``n`` becomes the number of scored samples) with a
    :class:`~conformal.ConformalWarning`. MAPIE does the same in effect: it warns ("at least one
    point of training set belongs to every resamplings"), keeps a NaN score and ignores NaN in
    its quantiles, so both give the same intervals with ``method="plus"``.

    The interval of a test point is an order statistic of ``n`` values ``agg_{-i}(x) +- R_i``;
    they are computed for blocks of test points at a time (the mean is one matrix product with
    the ``(B,)`` predictions, the median a compiled walk over them), so memory stays bounded
    whatever the number of test points.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal import JackknifeAfterBootstrapRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(200, 1))
    >>> y = 2 * X[:, 0] + rng.normal(size=200)
    >>> model = JackknifeAfterBootstrapRegressor(n_resamplings=20, random_state=0).fit(X, y)
    >>> model.predict_interval([[1.0], [2.0]]).round(2)
    array([[0.49, 3.55],
           [2.43, 5.49]])
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "confidence_level": "no_validation",  # the one level parser, at fit
        "n_resamplings": [Interval(Integral, 1, None, closed="left")],
        "aggregation": [StrOptions({"mean", "median"})],
        "method": [StrOptions({"plus", "minmax"})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float | list[float] = 0.9,
        n_resamplings: int = 30,
        aggregation: str = "mean",
        method: str = "plus",
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.n_resamplings = n_resamplings
        self.aggregation = aggregation
        self.method = method
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return LinearRegression()

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        sample_weight: ArrayLike | None = None,
    ) -> JackknifeAfterBootstrapRegressor:
        """Fit the bootstrap models and score every sample on its out-of-bag models.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Passed to the wrapped estimator as given (DataFrames keep their columns).
        y : array-like of shape (n_samples,)
            Finite targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the wrapped model's ``fit`` (the rows each model is fitted on); not used
            in calibration. An error if the model's ``fit`` does not accept it.

        Returns
        -------
        self : JackknifeAfterBootstrapRegressor
        """
        X, target, sample_weight = self._fit_prologue(X, y, check_target, sample_weight)
        self._check_estimator_kind(self._resolve_estimator())
        n = target.shape[0]
        owner = type(self).__name__
        estimator = self._resolve_estimator()
        check_refittable(
            estimator, owner, "the estimator on each bootstrap sample", "SplitConformalRegressor"
        )
        bags = bootstrap_bags(n, self.n_resamplings, seed_from(self.random_state))
        oob = np.ones((n, self.n_resamplings), dtype=bool)
        for b, bag in enumerate(bags):
            oob[bag, b] = False
        self.estimators_ = fit_on_rows(
            [estimator] * self.n_resamplings, X, target, list(bags), self.n_jobs, sample_weight
        )
        self.oob_ = oob
        self.scored_ = oob.any(axis=1)
        n_scored = int(self.scored_.sum())
        if n_scored == 0:
            raise ValueError(
                f"No sample is ever out of bag in the {self.n_resamplings} bootstrap samples (got "
                f"{n} sample{'s' if n != 1 else ''}), so none can be scored; increase "
                "n_resamplings or give more samples."
            )
        if n_scored < n:
            warn_conformal(
                f"{n - n_scored} of {n} samples are in every bootstrap sample (never out of "
                f"bag) and are left out of the calibration, which has {n_scored} points; "
                "increase n_resamplings"
            )
        self.conformity_scores_ = np.abs(target[self.scored_] - self._out_of_bag(X))
        return self

    def _out_of_bag(self, X: Any) -> NDArray[np.float64]:
        """``agg_{-i}(x_i)`` for each scored sample, each model predicting only where it is out
        of bag."""
        oob = self.oob_[self.scored_]
        rows = np.flatnonzero(self.scored_)
        predictions = np.full(oob.shape, np.nan)
        for b, model in enumerate(self.estimators_):
            mine = np.flatnonzero(oob[:, b])
            if mine.size:
                values = model.predict(take(X, rows[mine]))
                predictions[mine, b] = np.asarray(values, dtype=np.float64).ravel()
        if self.aggregation == "mean":
            return np.asarray(np.nanmean(predictions, axis=1))
        return np.asarray(np.nanmedian(predictions, axis=1))

    def _centers(self, predictions: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(m, n_scored)``: ``agg_{-i}`` at each of ``m`` test points from their ``(m, B)``
        model predictions."""
        oob = self.oob_[self.scored_]
        if self.aggregation == "median":
            return out_of_bag_medians(predictions, oob)
        weights = oob / oob.sum(axis=1, keepdims=True)
        return predictions @ weights.T

    def _point_predictions(self, X: Any) -> Any:
        predictions = predict_columns(self.estimators_, X)
        if self.aggregation == "mean":
            return predictions.mean(axis=1)
        return np.median(predictions, axis=1)

    def predict_interval(
        self, X: ArrayLike, confidence_level: float | list[float] | None = None
    ) -> NDArray[np.float64]:
        """Prediction intervals.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        confidence_level : float or sequence of float, default=None
            Overrides the level set at construction.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, n_levels, 2)
            ``[lower, upper]``; a sequence of levels adds the middle axis. Infinite bounds (with a
            :class:`~conformal.ConformalWarning`) when there are too few scored samples.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        predictions = predict_columns(self.estimators_, X)
        scores = self.conformity_scores_
        n_scored = scores.shape[0]
        out = np.empty((n_rows(X), len(levels), 2))
        if self.method == "plus":
            calibrator = Calibrator(scores, folds=np.arange(n_scored), n_folds=n_scored)
            for rows in block_slices(out.shape[0], n_scored):
                centers = self._centers(predictions[rows])
                out[rows] = calibrator.plus(centers, levels, warn=rows.start == 0)
        else:
            threshold = Calibrator(scores).threshold(levels)
            for rows in block_slices(out.shape[0], n_scored):
                centers = self._centers(predictions[rows])
                out[rows, :, 0] = centers.min(axis=1, keepdims=True) - threshold
                out[rows, :, 1] = centers.max(axis=1, keepdims=True) + threshold
        return self._shape(out, scalar)
