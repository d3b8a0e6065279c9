"""Conformalized quantile regression (Romano, Patterson, Candes 2019)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils._param_validation import HasMethods

from .._validation import (
    check_sample_count,
    check_target,
    is_frozen,
    n_rows,
    split_indices,
    take,
)
from .._weighting import finish_weighting, prepare_weighting
from ..aggregation._protocol import (
    MultiLevelQuantileRegressor,
    QuantileModels,
    as_quantile_model,
    is_quantile_model,
    merge_quantiles,
    pair_bands,
    per_level_models,
    predict_quantiles_of,
)
from ..base import fit_with_weights
from ..batch import BatchIntervalMixin
from ..calibration import Calibrator, Level
from ..scores import CQRAsymmetricScore, CQRScore
from ..weights import WeightScheme
from ._base import BaseConformalRegressor
from ._quantile_models import (
    FittedLevelsMixin,
    tail_quantiles,
    warn_empty,
)


class ConformalizedQuantileRegressor(BatchIntervalMixin, FittedLevelsMixin, BaseConformalRegressor):
    """Conformalized quantile regression (CQR): calibrated intervals from two quantile models.

    Clones of ``estimator`` are fitted on the training part at quantile levels ``a/2`` and
    ``1 - a/2`` (and 0.5 for :meth:`predict`); the calibration part's scores
    ``max(lo(x) - y, y - hi(x))`` widen or shrink the band so that it covers a new ``y`` with
    probability at least ``confidence_level`` for exchangeable data (Romano et al. 2019,
    Theorem 1), while keeping the quantile models' local adaptivity.

    Quantile models can cross (lower above upper). Their predictions are rearranged
    (``lower = min``, ``upper = max``) on the calibration part and at prediction alike, which
    leaves the guarantee unchanged (the score stays a fixed function of ``(x, y)`` given the
    training part). A negative correction can still make an interval empty where the band is
    narrow; such an interval is the empty set (it covers nothing), and ``predict_interval``
    warns once.

    Parameters
    ----------
    estimator : quantile model, quantile regressor or sequence of frozen models, default=None
        ``None`` means ``HistGradientBoostingRegressor(loss="quantile")``. A quantile model (one
        with ``predict_quantiles(X, quantiles)``:
        :class:`~conformal.aggregation.QuantileForestRegressor`,
        :class:`~conformal.aggregation.QuantileAggregator`, ...) is
        fitted once and asked for the levels ``a/2``, ``1 - a/2`` and 0.5; if it has a
        ``quantiles`` parameter, these levels are added to its own. Any other model whose
        quantile level is a parameter works through
        :class:`~conformal.aggregation.MultiLevelQuantileRegressor` (one clone per level;
        ``quantile`` for scikit-learn's ``HistGradientBoostingRegressor`` and
        ``QuantileRegressor``, ``alpha`` for ``GradientBoostingRegressor(loss="quantile")``,
        found automatically; otherwise name it in ``quantile_param``). Already fitted models come
        as one ``FrozenEstimator`` of a quantile model, or a sequence of ``FrozenEstimator``
        ``[lower, upper]`` or ``[lower, upper, median]``; then all of the data given to ``fit``
        is calibration data.
    confidence_level : float or sequence of float, default=0.9
        Target coverage. Quantile models are fitted for each level given here; a level asked for
        only at predict time is calibrated (so still valid) on the models of the nearest fitted
        level.
    quantile_param : str, default=None
        Name of the estimator's quantile parameter (nested names such as ``"model__quantile"``
        work for pipelines). ``None`` detects ``quantile`` / ``alpha``.
    symmetric : bool, default=True
        ``True``: one score ``max(lo - y, y - hi)`` at level ``1 - a``. ``False``: each side
        calibrated separately at level ``1 - a/2`` (controls each tail; slightly wider).
    calibration_size : float or int, default=0.3
        Fraction (or number) of samples held out for calibration. Ignored with frozen models.
    shuffle : bool, default=True
        Draw the calibration part at random (``random_state``). ``False`` for time-ordered data:
        the most recent ``calibration_size`` rows calibrate and the older ones train (the time
        order is the row order, or the ``time`` column of a drift weight scheme). A random split
        of a time series calibrates on the past and the future of the training rows, which
        hides drift.
    weights : WeightScheme, callable or None, default=None
        Non-exchangeable calibration (see :mod:`conformal.weights`): a scheme such as
        ``ExponentialDecayWeights(0.99)`` (drift, Barber et al. 2023; the test point weighs 1),
        or a likelihood ratio ``w(X) -> (n,)`` evaluated on the calibration rows and on each
        test row (covariate shift, Tibshirani et al. 2019). Weights of your own, one per sample,
        go to ``fit(X, y, calibration_weights=...)``. The guarantee holds up to the coverage gap
        of Barber et al. (2023), Theorem 2 (exactly, for the true likelihood ratio).
    random_state : int, Generator, RandomState or None, default=None
        Controls the training/calibration split (and the cross-fitting of an unfitted
        ``LikelihoodRatioWeights``).

    Attributes
    ----------
    quantile_model_ : estimator with ``predict_quantiles``
        The fitted quantile model (a :class:`~conformal.aggregation.MultiLevelQuantileRegressor`
        for a model with a quantile parameter or for frozen per-level models).
    estimators_ : QuantileModels (a dict of float to regressor)
        The per-level models of a ``MultiLevelQuantileRegressor`` ``quantile_model_``; a lookup
        matches the level within 1e-9, so ``estimators_[1 - 0.95]`` finds the 0.05 model. Not
        defined for a quantile model that predicts its levels itself.
    fitted_confidence_levels_ : list of float
        Confidence levels with their own pair of quantile models (``fit_levels_`` is the old
        name, kept one release with a FutureWarning).
    conformity_scores_ : ndarray of shape (n_fit_levels, n_calibration) or (..., 2)
        Calibration scores for each fitted pair (last axis ``[lower, upper]`` if asymmetric).
    calibrators_ : list of Calibrator
        One calibrator per fitted pair (its row of ``conformity_scores_``, sorted once on first
        use, with the calibration weights).
    calibration_weights_ : ndarray of shape (n_calibration,) or None
        Weights of the calibration rows (the columns of ``conformity_scores_``).
    weights_scheme_ : WeightScheme or None
        The scheme behind ``weights`` (a callable is wrapped in ``CallableWeights``; an
        unfitted ``LikelihoodRatioWeights`` is a fitted copy, cross-fitted on ``X`` and
        ``X_target``).
    effective_sample_size_ : float
        ``(sum w)^2 / sum w^2`` of the calibration weights (the number of calibration points
        when unweighted). A :class:`~conformal.ConformalWarning` at ``fit`` when it is smaller
        than the fitted level needs.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from conformal import ConformalizedQuantileRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(300, 1))
    >>> y = X[:, 0] + rng.normal(scale=0.2 + X[:, 0] / 5, size=300)
    >>> cqr = ConformalizedQuantileRegressor(
    ...     QuantileRegressor(alpha=0.0), confidence_level=0.9, random_state=0
    ... ).fit(X, y)
    >>> cqr.predict_interval([[0.5], [4.5]]).round(2)
    array([[-0.01,  1.06],
           [ 2.75,  6.09]])
    """

    _parameter_constraints: dict[str, Any] = {
        **BaseConformalRegressor._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict"]), list, tuple, None],
        "confidence_level": "no_validation",  # the one level parser, at fit
        "quantile_param": [str, None],
        "symmetric": ["boolean"],
        "shuffle": ["boolean"],
        "weights": [WeightScheme, callable, None],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float | list[float] = 0.9,
        quantile_param: str | None = None,
        symmetric: bool = True,
        calibration_size: float = 0.3,
        shuffle: bool = True,
        weights: Any = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.quantile_param = quantile_param
        self.symmetric = symmetric
        self.calibration_size = calibration_size
        self.shuffle = shuffle
        self.weights = weights
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return HistGradientBoostingRegressor(loss="quantile")

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        calibration_weights: ArrayLike | None = None,
        X_target: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> ConformalizedQuantileRegressor:
        """Fit the quantile models on the training part and score the calibration part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Finite targets.
        calibration_weights : array-like of shape (n_samples,), default=None
            Fixed non-negative weights of the samples (e.g. ``rho ** age`` for data that drift);
            those of the calibration part enter a weighted quantile with the test point's weight
            1 at ``+inf`` (see :func:`conformal.conformal_quantile` for their scale). Not with a
            ``weights`` scheme.
        X_target : array-like of shape (n_target, n_features), default=None
            Unlabeled rows of the test distribution, for an unfitted
            :class:`~conformal.weights.LikelihoodRatioWeights` passed as ``weights``: the
            likelihood ratio is estimated from the rows given here and those of ``X``,
            cross-fitted so that no calibration row is weighted by a classifier that saw it.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the wrapped model's ``fit`` (the rows each model is fitted on); not used
            in calibration. An error if the model's ``fit`` does not accept it.

        Returns
        -------
        self : ConformalizedQuantileRegressor
            The fitted estimator.

        Raises
        ------
        ValueError
            For bad parameters or inputs, naming them (e.g. ``calibration_weights`` that are
            not one finite non-negative number per sample, or that weigh every calibration row
            0; ``calibration_weights`` together with a ``weights`` scheme; ``X_target`` without
            a scheme that learns from it).
        """
        X, target, sample_weight = self._fit_prologue(X, y, check_target, sample_weight)
        self._check_estimator_kind(self._resolve_estimator())
        n = target.shape[0]
        levels, _ = self._levels(None)
        estimator = self._resolve_estimator()
        self.fitted_confidence_levels_ = [float(lv) for lv in levels]
        weighting = prepare_weighting(self, X, calibration_weights, X_target)
        self._pairs = [tail_quantiles(lv) for lv in levels]
        if isinstance(estimator, (list, tuple)):
            calibration = self._use_prefit(estimator, levels, n)
        elif is_frozen(estimator):
            if not is_quantile_model(estimator):
                raise ValueError(
                    "A single frozen model cannot give both quantiles unless it predicts "
                    "several (it has predict_quantiles, e.g. a fitted QuantileForestRegressor); "
                    "pass estimator=[FrozenEstimator(lower), FrozenEstimator(upper)] "
                    "(optionally a third, the median, for predict)."
                )
            self.quantile_model_ = estimator
            self._has_median = True
            calibration = np.arange(n)
        else:
            check_sample_count(n, type(self).__name__)
            train, calibration = split_indices(
                n,
                self.calibration_size,
                self.random_state,
                shuffle=self.shuffle,
                positions=weighting.positions,
            )
            quantiles = merge_quantiles(*self._pairs, [0.5])
            model = as_quantile_model(estimator, quantiles, quantile_param=self.quantile_param)
            self.quantile_model_ = fit_with_weights(
                model,
                take(X, train),
                target[train],
                None if sample_weight is None else sample_weight[train],
            )
            self._has_median = True
        X_cal, y_cal = take(X, calibration), target[calibration]
        self.score_ = CQRScore() if self.symmetric else CQRAsymmetricScore()
        self.conformity_scores_ = np.stack(
            [self.score_.score(y_cal, band) for band in pair_bands(
                self.quantile_model_, X_cal, self._pairs
            )]
        )  # fmt: skip
        finish_weighting(self, weighting, X_cal, calibration)
        self.calibrators_ = [
            Calibrator(scores, weights=self.calibration_weights_)
            for scores in self.conformity_scores_
        ]
        return self

    def _use_prefit(self, models: Any, levels: list[Level], n: int) -> NDArray[np.intp]:
        if not is_frozen(models) or len(models) not in (2, 3):
            raise ValueError(
                "estimator as a sequence must hold 2 or 3 FrozenEstimator models "
                f"[lower, upper(, median)]. Got {models!r} instead."
            )
        if len(levels) != 1:
            raise ValueError(
                "prefit quantile models serve one confidence_level; got "
                f"{[float(lv) for lv in levels]}. Pass a single level."
            )
        lo, hi = self._pairs[0]
        fitted = {lo: models[0], hi: models[1]}
        if len(models) == 3:
            fitted[0.5] = models[2]
        self.quantile_model_ = MultiLevelQuantileRegressor.from_fitted(fitted)
        self._has_median = len(models) == 3
        return np.arange(n)

    def _band(self, X: Any, index: int) -> NDArray[np.float64]:
        """``(n, 2)`` rearranged quantile predictions ``[min, max]`` of the pair ``index``."""
        return pair_bands(self.quantile_model_, X, [self._pairs[index]])[0]

    def _point_predictions(self, X: Any) -> Any:
        if self._has_median:
            return predict_quantiles_of(self.quantile_model_, X, [0.5])[:, 0]
        return self._band(X, 0).mean(axis=1)

    @property
    def estimators_(self) -> QuantileModels:
        """The fitted per-level models (a dict of float to regressor) when the quantile model
        is one clone per level; a model with its own ``predict_quantiles`` has none (see
        ``quantile_model_``)."""
        return per_level_models(self.quantile_model_)

    def predict_interval(
        self, X: ArrayLike, confidence_level: float | list[float] | None = None
    ) -> NDArray[np.float64]:
        """Calibrated intervals ``[lo(x) - q, hi(x) + q]``.

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
        out = np.empty((n_rows(X), len(levels), 2))
        test = self._test_context(X)
        groups = self._by_fitted_pair(levels)
        bands = pair_bands(self.quantile_model_, X, [self._pairs[i] for i, _ in groups])
        for (index, columns), band in zip(groups, bands, strict=True):
            wanted = [levels[j] for j in columns]
            thresholds = self.calibrators_[index].threshold(wanted, test=test)
            out[:, columns, :] = self.score_.inverse(band, thresholds)
        warn_empty(out, type(self).__name__)
        return self._shape(out, scalar)
