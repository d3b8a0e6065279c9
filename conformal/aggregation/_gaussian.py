"""A conditional Gaussian quantile model: a mean model plus a model of the residual scale."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._folds import fit_on_rows, fold_assignment, resolve_splits
from .._validation import as_rows, check_same_rows, check_target, seed_from, take
from ._protocol import check_quantiles

__all__ = ["ConditionalGaussianRegressor"]

#: E|e| = sigma * sqrt(2 / pi) for e ~ N(0, sigma^2): the scale model's mean absolute residual
#: times this is sigma.
_ABS_TO_SIGMA = float(np.sqrt(np.pi / 2))


class ConditionalGaussianRegressor(RegressorMixin, BaseEstimator):
    """Quantiles of a normal law around a mean model: ``mu(x) + sigma(x) * Phi^{-1}(t)``.

    A baseline quantile model. ``mu`` is ``mean_estimator`` fitted on all the data. ``sigma``
    comes from ``scale_estimator`` fitted to the absolute residuals ``|y - mu(x)|`` computed
    *out of fold* (``cv`` folds: each residual is that of a mean model that did not see the
    row), because in-sample residuals of a flexible mean model are too small. The scale model
    predicts the conditional mean absolute residual, and ``E|e| = sigma sqrt(2/pi)`` under
    normality, so ``sigma(x) = sqrt(pi/2) * scale_estimator.predict(x)``. Absolute rather than
    squared residuals: their mean is far less driven by a few large errors.

    Any level in (0, 1) can be predicted after ``fit``; the quantiles increase with the level.

    Parameters
    ----------
    mean_estimator : regressor, default=None
        Model of the conditional mean. ``None`` means ``HistGradientBoostingRegressor()``
        (seeded with ``random_state``).
    scale_estimator : regressor, default=None
        Model of the conditional mean absolute residual (fitted to ``|y - mu_oof(x)|``).
        ``None`` means ``HistGradientBoostingRegressor()`` (seeded with ``random_state``).
    quantiles : array-like of float, default=(0.05, 0.5, 0.95)
        The levels ``predict_quantiles(X)`` gives when called without ``quantiles``, strictly
        increasing in (0, 1). Others can be asked for at predict time.
    cv : int, cross-validation generator or iterable, default=5
        Folds of the out-of-fold residuals; an int is ``KFold(cv, shuffle=True)`` seeded by
        ``random_state``. The test folds must partition the samples.
    scale_floor : float in (0, 1], default=1e-3
        ``sigma(x)`` is floored at ``scale_floor`` times the global residual scale
        ``sqrt(pi/2) * mean(|y - mu_oof(x)|)``: a scale model may predict 0 or negative values
        (a gradient-boosted or linear model of ``|e|`` is not constrained to be positive), which
        would give zero-width or reversed quantiles. The floor used is ``scale_floor_`` and the
        share of training rows it lifted is ``floored_fraction_``.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the default estimators (a given estimator keeps its own).
    n_jobs : int, default=None
        Parallel fold fits (joblib).

    Attributes
    ----------
    mean_estimator_ : regressor
        The mean model fitted on all the data.
    scale_estimator_ : regressor
        The scale model fitted to the out-of-fold absolute residuals.
    quantiles_ : ndarray of shape (n_quantiles,)
        The default levels.
    oof_residuals_ : ndarray of shape (n_samples,)
        ``y - mu(x)`` of each training row, from the mean model of the folds that left it out.
    scale_floor_ : float
        The floor on ``sigma(x)`` (0 only when every out-of-fold residual is 0).
    floored_fraction_ : float
        Share of the training rows whose ``sigma(x)`` was raised to the floor.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.

    Notes
    -----
    The out-of-fold residuals come from mean models fitted on ``(cv - 1) / cv`` of the data,
    a little less accurate than the final one, so ``sigma`` errs slightly on the wide side.
    The quantiles are exact only when the residuals are conditionally normal; conformalize them
    (:class:`conformal.ConformalizedQuantileRegressor`) for a coverage guarantee.

    References
    ----------
    .. [1] R. Fakoor, T. Kim, J. Mueller, A. J. Smola and R. J. Tibshirani, "Flexible model
       aggregation for quantile regression", JMLR 24(162), 1-45, 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from conformal.aggregation import ConditionalGaussianRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, size=(500, 1))
    >>> y = 2 * X[:, 0] + rng.normal(scale=0.1 + X[:, 0], size=500)
    >>> model = ConditionalGaussianRegressor(
    ...     LinearRegression(), LinearRegression(), random_state=0
    ... ).fit(X, y)
    >>> q = model.predict_quantiles([[0.1], [0.9]], quantiles=[0.1, 0.5, 0.9])
    >>> bool((q[1, 2] - q[1, 0]) > (q[0, 2] - q[0, 0]))  # wider where the noise is larger
    True
    """

    _parameter_constraints: dict = {
        "mean_estimator": [HasMethods(["fit", "predict"]), None],
        "scale_estimator": [HasMethods(["fit", "predict"]), None],
        "quantiles": ["array-like", Real],
        "cv": ["cv_object", StrOptions({"loo"})],
        "scale_floor": [Interval(Real, 0, 1, closed="right")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        mean_estimator: Any = None,
        scale_estimator: Any = None,
        *,
        quantiles: Any = (0.05, 0.5, 0.95),
        cv: Any = 5,
        scale_floor: float = 1e-3,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.mean_estimator = mean_estimator
        self.scale_estimator = scale_estimator
        self.quantiles = quantiles
        self.cv = cv
        self.scale_floor = scale_floor
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _resolved(self, estimator: Any) -> Any:
        if estimator is not None:
            return estimator
        from sklearn.ensemble import HistGradientBoostingRegressor

        # Seeded so that the same random_state gives the same model (its early-stopping split).
        return HistGradientBoostingRegressor(random_state=seed_from(self.random_state))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = [get_tags(self._resolved(e)) for e in (self.mean_estimator, self.scale_estimator)]
        # Rows go to both models as given, so an input kind is allowed only if both take it.
        tags.input_tags.allow_nan = all(t.input_tags.allow_nan for t in inner)
        tags.input_tags.sparse = all(t.input_tags.sparse for t in inner)
        return tags

    def fit(self, X: ArrayLike, y: ArrayLike) -> ConditionalGaussianRegressor:
        """Fit the mean model on all rows and the scale model on out-of-fold residuals.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features, passed to the models as given (NaN and DataFrames included).
        y : array-like of shape (n_samples,)
            Finite target.

        Returns
        -------
        self : ConditionalGaussianRegressor
            The fitted model.

        Raises
        ------
        ValueError
            When ``cv`` asks for more folds than samples, or its test folds do not partition
            the samples.
        """
        self._validate_params()
        quantiles = check_quantiles(self.quantiles)
        X = as_rows(X)
        validate_data(self, X, reset=True, skip_check_array=True)
        target = check_target(y)
        n = target.shape[0]
        check_same_rows(X, n)
        mean = self._resolved(self.mean_estimator)
        scale = self._resolved(self.scale_estimator)

        splits = resolve_splits(self.cv, X, target, self.random_state)
        fold_assignment(splits, n)  # every row held out exactly once, never trained on
        fold_models = fit_on_rows(
            [mean] * len(splits), X, target, [train for train, _ in splits], self.n_jobs
        )
        out_of_fold = np.empty(n, dtype=np.float64)
        for model, (_, held_out) in zip(fold_models, splits, strict=True):
            out_of_fold[held_out] = np.asarray(
                model.predict(take(X, held_out)), dtype=np.float64
            ).ravel()
        residuals = target - out_of_fold
        absolute = np.abs(residuals)

        self.mean_estimator_ = clone(mean).fit(X, target)
        self.scale_estimator_ = clone(scale).fit(X, absolute)
        self.oof_residuals_ = residuals
        self.scale_floor_ = float(self.scale_floor * _ABS_TO_SIGMA * absolute.mean())
        raw = _ABS_TO_SIGMA * self._raw_scale(X)
        self.floored_fraction_ = float(np.mean(raw < self.scale_floor_))
        self.quantiles_ = quantiles
        return self

    def _raw_scale(self, X: Any) -> NDArray[np.float64]:
        return np.asarray(self.scale_estimator_.predict(X), dtype=np.float64).ravel()

    def predict_scale(self, X: ArrayLike) -> NDArray[np.float64]:
        """The conditional standard deviation ``sigma(x)``, floored at ``scale_floor_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        sigma : ndarray of shape (n_samples,)
            ``max(sqrt(pi/2) * scale_estimator_.predict(X), scale_floor_)``.
        """
        check_is_fitted(self, "scale_estimator_")
        X = as_rows(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        return np.maximum(_ABS_TO_SIGMA * self._raw_scale(X), self.scale_floor_)

    def predict_quantiles(
        self, X: ArrayLike, quantiles: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """``mu(x) + sigma(x) * Phi^{-1}(t)`` at each level ``t`` of ``quantiles``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        quantiles : array-like of float, default=None
            Any levels, strictly increasing in (0, 1); ``None`` means ``quantiles_``.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_quantiles)
            Non-decreasing along each row.
        """
        check_is_fitted(self, "mean_estimator_")
        levels = self.quantiles_ if quantiles is None else check_quantiles(quantiles)
        X = as_rows(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        mu = np.asarray(self.mean_estimator_.predict(X), dtype=np.float64).ravel()
        sigma = np.maximum(_ABS_TO_SIGMA * self._raw_scale(X), self.scale_floor_)
        return np.asarray(mu[:, None] + sigma[:, None] * norm.ppf(levels)[None, :])

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The mean model's predictions ``mu(x)`` (also the median of the normal law).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predicted conditional mean.
        """
        check_is_fitted(self, "mean_estimator_")
        X = as_rows(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        return np.asarray(self.mean_estimator_.predict(X), dtype=np.float64).ravel()
