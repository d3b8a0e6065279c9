"""Cross-conformalized quantile regression: CQR scores in the CV+ (plus) form."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils._param_validation import HasMethods, StrOptions

from .._folds import fit_on_rows, fold_assignment, resolve_splits, row_blocks
from .._validation import (
    check_refittable,
    check_target,
    n_rows,
    take,
)
from ..aggregation._protocol import (
    QuantileModels,
    as_quantile_model,
    merge_quantiles,
    pair_bands,
    per_level_models,
    predict_quantiles_of,
)
from ..calibration import Calibrator, Level, warn_too_few
from ..scores import CQRScore
from ._base import BaseConformalRegressor
from ._quantile_models import (
    FittedLevelsMixin,
    tail_quantiles,
    warn_empty,
)


class CrossConformalizedQuantileRegressor(FittedLevelsMixin, BaseConformalRegressor):
    """Cross-conformalized quantile regression: CQR without a held-out calibration set.

    For each of the ``cv`` folds, clones of ``estimator`` are fitted without fold ``k`` at
    quantile levels ``a/2`` and ``1 - a/2`` (``lo_{-k}``, ``hi_{-k}``) and score the points of
    fold ``k`` with the CQR score ``R_i = max(lo_{-k(i)}(x_i) - y_i, y_i - hi_{-k(i)}(x_i))``
    (Romano et al. 2019). The interval is the plus form of Barber et al. (2021) with separate
    lower and upper centres:

    ``[q-({lo_{-k(i)}(x) - R_i}), q+({hi_{-k(i)}(x) + R_i})]``

    where ``q+`` is the ``ceil((1 - a)(n + 1))``-th smallest value and ``q-`` the
    ``floor(a (n + 1))``-th. CQR scores are nested, so the jackknife+ argument gives coverage at
    least ``1 - 2a`` for exchangeable data (Gupta, Kuchibhotla, Ramdas 2022, "Nested conformal
    prediction and quantile out-of-bag ensemble methods"), about ``1 - a`` in practice, with every
    sample used both to fit and to calibrate. Each fold's quantile predictions are rearranged
    (``min``, ``max``) out of fold and at prediction alike, so crossing models give ordered
    bands; the guarantee is unchanged.

    Parameters
    ----------
    estimator : quantile model or quantile regressor, default=None
        ``None`` means ``HistGradientBoostingRegressor(loss="quantile")``. A quantile model (with
        ``predict_quantiles``, e.g. :class:`~conformal.aggregation.QuantileAggregator`) is
        refitted on each fold, its ``quantiles`` (if any) extended by the levels needed; any
        model whose quantile level is a parameter works through one clone per level
        (``quantile`` or ``alpha`` found automatically, as in
        :class:`ConformalizedQuantileRegressor`; otherwise name it in ``quantile_param``).
    confidence_level : float or sequence of float, default=0.9
        Target coverage. Quantile models are fitted for each level given here; a level asked for
        only at predict time is calibrated (so still valid) on the models of the nearest fitted
        level.
    cv : int, "loo", cross-validation splitter or iterable of splits, default=5
        As in :class:`CrossConformalRegressor`: an int is ``KFold(cv, shuffle=True)`` seeded by
        ``random_state``; every sample must be in exactly one test fold.
    quantile_param : str, default=None
        Name of the estimator's quantile parameter (``"model__quantile"`` for a pipeline).
    n_jobs : int, default=None
        Fold models fitted in parallel through joblib (``-1``: all cores).
    random_state : int, Generator, RandomState or None, default=None
        Shuffles the folds of an int ``cv``.

    Attributes
    ----------
    quantile_models_ : list of estimators with ``predict_quantiles``
        For each fold, its fitted quantile model (levels ``a/2``, ``1 - a/2`` and 0.5; a
        :class:`~conformal.aggregation.MultiLevelQuantileRegressor` for a model with a quantile
        parameter).
    estimators_ : list of QuantileModels (dicts of float to regressor)
        For each fold, the per-level models of its ``MultiLevelQuantileRegressor`` (0.5
        included, for :meth:`predict`); a lookup matches the level within 1e-9. Not defined for
        a quantile model that predicts its levels itself.
    fitted_confidence_levels_ : list of float
        Confidence levels with their own quantile models (``fit_levels_`` is the old name, kept
        one release with a FutureWarning).
    conformity_scores_ : ndarray of shape (n_fit_levels, n_samples)
        Out-of-fold CQR scores for each fitted level.
    fold_of_ : ndarray of shape (n_samples,)
        Index in ``estimators_`` of the fold that did not see each sample.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from conformal import CrossConformalizedQuantileRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(200, 1))
    >>> y = X[:, 0] + rng.normal(scale=0.2 + X[:, 0] / 5, size=200)
    >>> model = CrossConformalizedQuantileRegressor(
    ...     QuantileRegressor(alpha=0.0), cv=5, random_state=0
    ... ).fit(X, y)
    >>> model.predict_interval([[0.5], [4.5]]).round(2)
    array([[0.2 , 0.9 ],
           [2.75, 6.61]])
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "confidence_level": "no_validation",  # the one level parser, at fit
        "cv": ["cv_object", StrOptions({"loo"})],
        "quantile_param": [str, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float | list[float] = 0.9,
        cv: Any = 5,
        quantile_param: str | None = None,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.cv = cv
        self.quantile_param = quantile_param
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return HistGradientBoostingRegressor(loss="quantile")

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        groups: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> CrossConformalizedQuantileRegressor:
        """Fit the quantile models of every fold and score every sample out of fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        groups : array-like of shape (n_samples,), default=None
            CV groups, passed to a group splitter's ``split`` (``cv=GroupKFold(5)``), as
            scikit-learn's ``cross_validate(groups=...)`` does. Not Mondrian labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the wrapped model's ``fit`` (the rows each model is fitted on); not used
            in calibration. An error if the model's ``fit`` does not accept it.

        Returns
        -------
        self : CrossConformalizedQuantileRegressor
        """
        X, target, sample_weight = self._fit_prologue(X, y, check_target, sample_weight)
        self._check_estimator_kind(self._resolve_estimator())
        n = target.shape[0]
        owner = type(self).__name__
        levels, _ = self._levels(None)
        estimator = self._resolve_estimator()
        check_refittable(
            estimator, owner, "the quantile models on each fold", "ConformalizedQuantileRegressor"
        )
        splits = resolve_splits(self.cv, X, target, self.random_state, groups=groups)
        self.fold_of_ = fold_assignment(splits, n)
        self.fitted_confidence_levels_ = [float(lv) for lv in levels]
        self._pairs = [tail_quantiles(lv) for lv in levels]
        quantiles = merge_quantiles(*self._pairs, [0.5])
        model = as_quantile_model(estimator, quantiles, quantile_param=self.quantile_param)
        self.quantile_models_ = fit_on_rows(
            [model for _ in splits],
            X,
            target,
            [train for train, _ in splits],
            self.n_jobs,
            sample_weight,
        )
        score = CQRScore()
        scores = np.empty((len(levels), n))
        for fold, (_, calibration) in zip(self.quantile_models_, splits, strict=True):
            if calibration.size:
                bands = pair_bands(fold, take(X, calibration), self._pairs)
                for index, band in enumerate(bands):
                    scores[index, calibration] = score.score(target[calibration], band)
        self.conformity_scores_ = scores
        # Each fitted level's scores sorted per fold, on first use (see _plus).
        self._cached_calibrations: dict[int, Calibrator] = {}
        return self

    def _point_predictions(self, X: Any) -> Any:
        return np.column_stack(
            [predict_quantiles_of(fold, X, [0.5])[:, 0] for fold in self.quantile_models_]
        ).mean(axis=1)

    @property
    def estimators_(self) -> list[QuantileModels]:
        """For each fold, its per-level models (dicts of float to regressor) when the quantile
        model is one clone per level; a model with its own ``predict_quantiles`` has none (see
        ``quantile_models_``)."""
        return [per_level_models(model) for model in self.quantile_models_]

    def predict_interval(
        self, X: ArrayLike, confidence_level: float | list[float] | None = None
    ) -> NDArray[np.float64]:
        """Calibrated intervals in the plus form around the folds' quantile models.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        confidence_level : float or sequence of float, default=None
            Overrides the level set at construction. A level without its own quantile models is
            calibrated on those of the nearest fitted level: coverage still holds.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, n_levels, 2)
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        warn_too_few(self.conformity_scores_.shape[1], levels)
        out = np.empty((n_rows(X), len(levels), 2))
        for index, columns in self._by_fitted_pair(levels):
            out[:, columns, :] = self._plus(X, index, [levels[j] for j in columns])
        warn_empty(out, type(self).__name__)
        return self._shape(out, scalar)

    def _plus(self, X: Any, index: int, levels: list[Level]) -> NDArray[np.float64]:
        """Plus intervals ``(n, L, 2)`` from the quantile models of fitted level ``index``."""
        lo, hi = self._pairs[index]
        n_folds = len(self.quantile_models_)
        if index not in self._cached_calibrations:
            self._cached_calibrations[index] = Calibrator(
                self.conformity_scores_[index], folds=self.fold_of_, n_folds=n_folds
            )
        calibration = self._cached_calibrations[index]
        out = np.empty((n_rows(X), len(levels), 2))
        for rows, block in row_blocks(X, 2 * n_folds):
            bands = [pair_bands(fold, block, [(lo, hi)])[0] for fold in self.quantile_models_]
            lower = np.column_stack([band[:, 0] for band in bands])
            upper = np.column_stack([band[:, 1] for band in bands])
            out[rows] = calibration.plus(lower, levels, upper_centers=upper, warn=False)
        return out
