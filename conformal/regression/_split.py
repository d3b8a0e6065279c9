"""Split (inductive) conformal regression."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, StrOptions

from .._validation import (
    check_sample_count,
    check_target,
    is_frozen,
    split_indices,
    take,
)
from .._weighting import finish_weighting, prepare_weighting
from ..base import fit_with_weights
from ..batch import BatchIntervalMixin
from ..calibration import Calibrator, MondrianCells
from ..calibration._cells import check_labels
from ..scores import RegressionScore, get_regression_score
from ..weights import WeightScheme
from ._base import BaseConformalRegressor
from ._difficulty import fit_difficulty, predict_scale
from ._predictive import (
    Block,
    ConformalPredictiveDistribution,
    PredictiveDistributionMixin,
    residual_scale,
    signed_residuals,
)

_POINT_SCORES = ["absolute", "signed", "normalized", "gamma"]


class SplitConformalRegressor(
    BatchIntervalMixin, PredictiveDistributionMixin, BaseConformalRegressor
):
    """Split conformal prediction intervals around any regressor.

    The data given to :meth:`fit` is split into a training part, on which a clone of
    ``estimator`` is fitted, and a calibration part, whose conformity scores set the interval
    width. For exchangeable data the interval covers a new ``y`` with probability at least
    ``confidence_level`` and, when scores have no ties, at most
    ``confidence_level + 1 / (n_calibration + 1)`` (Vovk et al. 2005; Lei et al. 2018).

    With a residual score (``"absolute"``, ``"signed"``, ``"normalized"``, ``"gamma"``) the
    calibration residuals also give a conformal predictive distribution for every test point
    (Vovk et al. 2019): :meth:`predict_cdf`, :meth:`predict_quantiles`, :meth:`predict_pvalues`
    and :meth:`crps`, whatever score set the intervals (see
    :class:`~conformal.regression.ConformalPredictiveDistribution`).

    Parameters
    ----------
    estimator : regressor, default=None
        The point model. ``None`` means ``LinearRegression()``. A model that is already fitted
        is passed as ``sklearn.frozen.FrozenEstimator(model)``; then all the data given to
        ``fit`` is calibration data.
    confidence_level : float or sequence of float, default=0.9
        Target coverage; can be overridden in :meth:`predict_interval`.
    conformity_score : {"absolute", "signed", "normalized", "gamma"} or RegressionScore, \
            default="absolute"
        The conformity score (see :mod:`conformal.scores`). ``"signed"`` calibrates each side at
        level ``1 - a/2``; ``"normalized"`` divides residuals by a difficulty model fitted on the
        training part (pass ``NormalizedScore(difficulty_estimator=...)`` to choose it).
    calibration_size : float or int, default=0.3
        Fraction (or number) of the samples held out for calibration. Ignored with a frozen
        estimator.
    shuffle : bool, default=True
        Draw the calibration part at random (``random_state``). ``False`` for time-ordered data:
        the most recent ``calibration_size`` rows calibrate and the older ones train (the time
        order is the row order, or the ``time`` column of a drift weight scheme). A random split
        of a time series calibrates on the past and the future of the training rows, which
        hides drift.
    mondrian : callable, default=None
        The Mondrian taxonomy: ``mondrian(X)`` returns one label per row (no NaN); coverage
        holds within each cell (group). A cell with too few calibration points gets infinite
        intervals and a :class:`~conformal.ConformalWarning`. Checked at ``fit``.
    weights : WeightScheme, callable or None, default=None
        Non-exchangeable calibration (see :mod:`conformal.weights`): a scheme such as
        ``ExponentialDecayWeights(0.99)`` (drift, Barber et al. 2023; the test point weighs 1),
        or a likelihood ratio ``w(X) -> (n,)`` evaluated on the calibration rows and on each
        test row (covariate shift, Tibshirani et al. 2019). Weights of your own, one per sample,
        go to ``fit(X, y, calibration_weights=...)``. An array here still works one release,
        with a FutureWarning. The guarantee holds up to the coverage gap of Barber et al.
        (2023), Theorem 2 (exactly, for the true likelihood ratio).
    random_state : int, Generator, RandomState or None, default=None
        Controls the training/calibration split. The generator you pass is not advanced.
    groups : callable, default=None
        The old name of ``mondrian`` (kept one release, with a FutureWarning). CV groups for
        a group splitter are not this: they go to ``fit``.

    Attributes
    ----------
    estimator_ : regressor
        The fitted point model.
    score_ : RegressionScore
        The score object (a copy of ``conformity_score``; it never holds a fitted model).
    difficulty_estimator_ : regressor or None
        The fitted difficulty model ``sigma(x)`` of the normalized score (fitted on out-of-fold
        absolute residuals of the training part; a ``FrozenEstimator`` as given); ``None`` for
        the other scores.
    scale_floor_ : float or None
        The floor of ``sigma(x)``: ``min_scale`` times the mean absolute training residual (for
        a frozen difficulty model, its mean prediction on the calibration data).
    conformity_scores_ : ndarray of shape (n_calibration,) or (n_calibration, 2)
        Calibration scores.
    signed_residuals_ : ndarray of shape (n_calibration,) or None
        ``(y - f(x)) / s(x)`` on the calibration part (``s`` is 1, ``sigma(x)`` or ``|f(x)|``
        for the absolute / signed, normalized and gamma scores); ``None`` for other scores.
    predictive_distribution_ : ConformalPredictiveDistribution or None
        The signed residuals, sorted once on first use: the conformal predictive distributions
        behind :meth:`predict_cdf`. ``None`` for non-residual scores, groups or weights.
    calibration_groups_ : ndarray of shape (n_calibration,) or None
        Mondrian labels of the calibration rows.
    calibration_weights_ : ndarray of shape (n_calibration,) or None
        Weights of the calibration rows.
    weights_scheme_ : WeightScheme or None
        The scheme behind ``weights`` (a callable is wrapped in ``CallableWeights``; an
        unfitted ``LikelihoodRatioWeights`` is a fitted copy, cross-fitted on ``X`` and
        ``X_target``).
    effective_sample_size_ : float
        ``(sum w)^2 / sum w^2`` of the calibration weights (the number of calibration points
        when unweighted): the weighted thresholds are about as variable as those of this many
        unweighted points. A :class:`~conformal.ConformalWarning` at ``fit`` when it is smaller
        than the fitted level needs.
    calibrator_ : Calibrator
        The calibration scores, sorted on first use, with their weights and cells.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal import SplitConformalRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(500, 1))
    >>> y = 2 * X[:, 0] + rng.normal(size=500)
    >>> model = SplitConformalRegressor(confidence_level=0.9, random_state=0).fit(X, y)
    >>> model.predict_interval([[1.0], [2.0]]).round(2)
    array([[0.31, 3.49],
           [2.31, 5.48]])
    >>> model.predict_interval([[1.0]], confidence_level=[0.5, 0.9]).shape
    (1, 2, 2)
    """

    _parameter_constraints: dict[str, Any] = {
        **BaseConformalRegressor._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict"]), None],
        "confidence_level": "no_validation",  # the one level parser, at fit
        "conformity_score": [StrOptions(set(_POINT_SCORES)), RegressionScore],
        "mondrian": [callable, None],
        "groups": [callable, None],
        "weights": [WeightScheme, callable, "array-like", None],
        "shuffle": ["boolean"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float | list[float] = 0.9,
        conformity_score: str | RegressionScore = "absolute",
        calibration_size: float = 0.3,
        shuffle: bool = True,
        mondrian: Callable[[Any], ArrayLike] | None = None,
        weights: Any = None,
        random_state: Any = None,
        groups: Callable[[Any], ArrayLike] | None = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.conformity_score = conformity_score
        self.calibration_size = calibration_size
        self.shuffle = shuffle
        self.mondrian = mondrian
        self.weights = weights
        self.random_state = random_state
        self.groups = groups

    def _default_estimator(self) -> Any:
        return LinearRegression()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            score = get_regression_score(self.conformity_score, param="conformity_score")
        except ValueError:  # an unknown name is reported by fit, not by tag inspection
            return tags
        if score.needs_scale:  # the difficulty model sees X too
            difficulty = score.difficulty_estimator
            inner = get_tags(difficulty) if difficulty is not None else None
            tags.input_tags.sparse &= inner.input_tags.sparse if inner else False
        return tags

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        calibration_weights: ArrayLike | None = None,
        X_target: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> SplitConformalRegressor:
        """Fit the point model on the training part and score the calibration part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Passed to the wrapped estimator as given (DataFrames keep their columns).
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
            Passed to the wrapped model's ``fit`` (its training part's entries); not used in
            calibration.

        Returns
        -------
        self : SplitConformalRegressor
            The fitted estimator.

        Raises
        ------
        ValueError
            For bad parameters or inputs, naming them; when ``sample_weight`` is given and the
            wrapped model does not accept it.
        """
        X, target, sample_weight = self._fit_prologue(X, y, check_target, sample_weight)
        self._check_estimator_kind(self._resolve_estimator())
        n = target.shape[0]
        score = get_regression_score(self.conformity_score, param="conformity_score")
        if score.needs_quantiles:
            raise ValueError(
                f"conformity_score={score.name!r} needs quantile models; use "
                "ConformalizedQuantileRegressor for CQR scores."
            )
        weighting = prepare_weighting(self, X, calibration_weights, X_target)
        self.difficulty_estimator_: Any = None
        self.scale_floor_: float | None = None
        self._mondrian = self._resolve_mondrian()
        estimator = self._resolve_estimator()
        if is_frozen(estimator):
            if sample_weight is not None:
                raise ValueError(
                    "sample_weight was given with a FrozenEstimator, which is not refitted; fit "
                    "without sample_weight (it only weighs the wrapped model's training)."
                )
            calibration = np.arange(n)
            self.estimator_ = estimator
            if score.needs_scale:
                self.difficulty_estimator_, self.scale_floor_ = fit_difficulty(
                    score, estimator, estimator, X, None
                )
        else:
            check_sample_count(n, type(self).__name__)
            train, calibration = split_indices(
                n,
                self.calibration_size,
                self.random_state,
                shuffle=self.shuffle,
                positions=weighting.positions,
            )
            X_train, y_train = take(X, train), target[train]
            self.estimator_ = fit_with_weights(
                clone(estimator),
                X_train,
                y_train,
                None if sample_weight is None else sample_weight[train],
            )
            if score.needs_scale:
                self.difficulty_estimator_, self.scale_floor_ = fit_difficulty(
                    score, estimator, self.estimator_, X_train, y_train
                )
        X_cal = take(X, calibration)
        self.score_ = score
        y_cal, f_cal = target[calibration], self._point_predictions(X_cal)
        scale_cal = self._scale(X_cal)
        self.conformity_scores_ = score.score(y_cal, f_cal, scale=scale_cal)
        self.calibration_groups_ = None
        cells = None
        if self._mondrian is not None:
            self.calibration_groups_ = check_labels(
                np.asarray(self._mondrian(X_cal)),
                len(calibration),
                "mondrian(X)",
                " (called on the calibration rows)",
            )
            cells = MondrianCells(self.calibration_groups_, name="mondrian(X)")
        finish_weighting(self, weighting, X_cal, calibration)
        self.calibrator_ = Calibrator(
            self.conformity_scores_, weights=self.calibration_weights_, groups=cells
        )
        self._fit_predictive(score, y_cal, f_cal, scale_cal)
        return self

    def _fit_predictive(self, score: RegressionScore, y: NDArray, f: Any, scale: Any) -> None:
        """Keep the signed residuals (for residual scores) and their sorted distribution."""
        try:
            self.signed_residuals_: NDArray[np.float64] | None = signed_residuals(
                score, y, f, scale
            )
        except ValueError:  # not a residual score: the distributions explain why when asked
            self.signed_residuals_ = None
        self._cached_distribution: ConformalPredictiveDistribution | None = None

    @property
    def predictive_distribution_(self) -> ConformalPredictiveDistribution | None:
        """The signed residuals sorted once, built on first use: sorting a million residuals
        costs more than the rest of ``fit``, and interval users never need it."""
        plain = self.calibration_groups_ is None and self.calibration_weights_ is None
        if not plain or self.signed_residuals_ is None:
            return None
        if getattr(self, "_cached_distribution", None) is None:
            self._cached_distribution = ConformalPredictiveDistribution(self.signed_residuals_)
        return self._cached_distribution

    def _predictive_distribution(self) -> ConformalPredictiveDistribution:
        if self.signed_residuals_ is None:
            residual_scale(self.score_, [1.0], [1.0])  # raises: why this score has no residuals
            raise ValueError(f"{self.score_!r} gave no signed residuals.")  # pragma: no cover
        for name, value in (
            ("groups", self.calibration_groups_),
            ("weights", self.calibration_weights_),
        ):
            if value is not None:
                raise ValueError(
                    f"conformal predictive distributions with {name} are not supported yet; fit "
                    f"{type(self).__name__} without {name} to use predict_cdf, "
                    "predict_quantiles, predict_pvalues or crps."
                )
        if self.predictive_distribution_ is None:  # pragma: no cover - set whenever the above pass
            raise ValueError("no predictive distribution was fitted.")
        return self.predictive_distribution_

    def _predictive_blocks(self, X: Any) -> Iterator[Block]:
        f = np.asarray(self._point_predictions(X), dtype=np.float64).ravel()
        yield slice(0, f.shape[0]), f, residual_scale(self.score_, f, self._scale(X))

    def _point_predictions(self, X: Any) -> Any:
        return self.estimator_.predict(X)

    def _scale(self, X: Any) -> NDArray[np.float64] | None:
        """``sigma(x)`` of the normalized score (``None`` for the others)."""
        if self.difficulty_estimator_ is None or self.scale_floor_ is None:
            return None
        return predict_scale(self.difficulty_estimator_, self.scale_floor_, X)

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
            :class:`~conformal.ConformalWarning`) when the calibration set is too small.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        thresholds = self.calibrator_.threshold(levels, test=self._test_context(X))
        intervals = self.score_.inverse(
            np.asarray(self._point_predictions(X), dtype=np.float64),
            thresholds,
            scale=self._scale(X),
        )
        return self._shape(intervals, scalar)
