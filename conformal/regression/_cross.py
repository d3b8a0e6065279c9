"""Cross-conformal regression: jackknife, jackknife+, CV, CV+ and their min-max variants."""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.linear_model import LinearRegression
from sklearn.utils._param_validation import HasMethods, StrOptions

from .._folds import fit_on_rows, fold_assignment, predict_columns, resolve_splits, row_blocks
from .._validation import (
    check_refittable,
    check_target,
    n_rows,
    take,
)
from .._weighting import finish_weighting, prepare_weighting
from ..calibration import Calibrator, Level
from ..scores import AbsoluteScore, RegressionScore, SignedScore, get_regression_score
from ..weights import WeightScheme
from ._base import BaseConformalRegressor
from ._predictive import Block, ConformalPredictiveDistribution, PredictiveDistributionMixin

# Scores whose interval is the centre shifted by a threshold: the plus bounds are then order
# statistics of shifted scores, which the kernels select without an n_test x n matrix.
_SHIFT_SCORES: dict[str, type[RegressionScore]] = {
    "absolute": AbsoluteScore,
    "signed": SignedScore,
}


def check_shift_score(conformity_score: Any, owner: str) -> RegressionScore:
    """A copy of the score if its intervals are shifts of a centre, else a ValueError."""
    score = get_regression_score(conformity_score, param="conformity_score")
    if not score.is_shift:
        raise ValueError(
            f"conformity_score={conformity_score!r} is not supported by {owner}: its plus "
            "intervals need a score whose interval is the prediction shifted by a threshold. "
            f"Supported: {sorted(_SHIFT_SCORES)} (or AbsoluteScore(), SignedScore())."
        )
    return score


class CrossConformalRegressor(PredictiveDistributionMixin, BaseConformalRegressor):
    """Cross-conformal prediction intervals: jackknife+ and CV+ (Barber et al. 2021).

    The data given to :meth:`fit` is split into ``cv`` folds; a clone of ``estimator`` is fitted
    without each fold ``k`` (``f_{-k}``) and scores the points of fold ``k``: out-of-fold scores
    ``R_i = |y_i - f_{-k(i)}(x_i)|`` for every sample, so no data is set aside for calibration
    alone. With ``a = 1 - confidence_level`` and ``n`` samples:

    - ``"plus"`` (jackknife+ / CV+): ``[q-({f_{-k(i)}(x) - R_i}), q+({f_{-k(i)}(x) + R_i})]``
      where ``q+`` is the ``ceil((1 - a)(n + 1))``-th smallest value and ``q-`` the
      ``floor(a (n + 1))``-th. Coverage at least ``1 - 2a`` for exchangeable data (Theorems 1
      and 4), about ``1 - a`` in practice. Computed without the ``n_test x n`` matrix.
      With ``weights`` (covariate shift: JAWS, Prinster et al. 2022), ``q+`` is the weighted
      ``1 - a`` quantile of the values ``f_{-k(i)}(x) + R_i`` with probabilities
      ``p_i(x) = w(X_i) / (w(X_1) + ... + w(X_n) + w(x))`` and the remaining ``p_{n+1}(x) =
      w(x) / (...)`` at ``+inf``; ``q-`` mirrors it (``-q+`` of the values
      ``-(f_{-k(i)}(x) - R_i)``, the test mass at ``-inf``). Unit weights give the unweighted
      bounds bit for bit.
    - ``"minmax"``: ``[min_k f_{-k}(x) - q+(R), max_k f_{-k}(x) + q+(R)]``; at least ``1 - a``.
    - ``"base"`` (jackknife / CV): ``f(x) -+ q+(R)`` with ``f`` fitted on all of the data; no
      guarantee in general (it can under-cover when ``f`` is unstable), kept for comparison.

    Parameters
    ----------
    estimator : regressor, default=None
        The point model, cloned for each fold. ``None`` means ``LinearRegression()``. A
        ``FrozenEstimator`` cannot be refitted on folds: use :class:`SplitConformalRegressor`.
    confidence_level : float or sequence of float, default=0.9
        Target coverage; can be overridden in :meth:`predict_interval`.
    method : {"plus", "minmax", "base"}, default="plus"
        How the intervals are built from the out-of-fold scores (see above).
    cv : int, "loo", cross-validation splitter or iterable of splits, default=5
        An int is ``KFold(cv, shuffle=True)`` seeded by ``random_state`` (``None``: 5 folds);
        ``"loo"`` is leave-one-out (jackknife+: one model per sample). A splitter (e.g.
        ``KFold``; splitters that need ``groups`` are not supported) or an iterable of
        ``(train, test)`` index pairs must put every sample in exactly one test fold.
    conformity_score : {"absolute", "signed"} or RegressionScore, default="absolute"
        ``"absolute"``: ``|y - f(x)|``, both sides at level ``1 - a``. ``"signed"``: residuals
        ``f(x) - y`` below and ``y - f(x)`` above, each side at level ``1 - a/2`` (skewed
        noise). Scores whose interval is not a shift of the prediction (gamma, normalized) are
        not supported.
    predict_mode : {"auto", "full", "mean", "median"}, default="auto"
        What :meth:`predict` returns: ``"full"`` the model fitted on all of the data (one fit
        more), ``"mean"`` / ``"median"`` the mean / median of the fold models. ``"auto"`` is
        ``"full"`` for ``method="base"`` (whose intervals are centred on that model) and
        ``"mean"`` otherwise, so "plus" and "minmax" fit no extra model.
    n_jobs : int, default=None
        Fold models fitted in parallel through joblib (``-1``: all cores).
    weights : WeightScheme, callable or None, default=None
        Weighted jackknife+ / CV+ for data that are not exchangeable, ``method="plus"`` only.
        Under covariate shift (JAWS, Prinster et al. 2022) a likelihood ratio
        ``w(x) = dP_test(x) / dP_train(x)``: a callable ``w(X) -> (n,)`` evaluated on every
        training row and on each test row, or an unfitted
        :class:`~conformal.weights.LikelihoodRatioWeights` that estimates it from
        ``fit(X, y, X_target=X_new)`` (cross-fitted, so no row is weighted by a classifier that
        saw it). For drift, a scheme such as ``ExponentialDecayWeights(0.99)`` (the test point
        weighs 1; Barber et al. 2023). Fixed weights of your own go to
        ``fit(X, y, calibration_weights=...)``. With the true likelihood ratio, JAWS prove
        coverage at least ``1 - 2a`` under covariate shift for the weighted jackknife+
        (``cv="loo"``); weighted CV+ is its K-fold analogue, as CV+ is of the jackknife+ (whose
        unweighted bound loses a small term in ``K / n``). About ``1 - a`` in practice.
    random_state : int, Generator, RandomState or None, default=None
        Shuffles the folds of an int ``cv`` (and seeds the cross-fitting of an unfitted
        ``LikelihoodRatioWeights``). The generator you pass is not advanced.

    Attributes
    ----------
    estimators_ : list of regressor
        The fold models ``f_{-k}``, in the order of the splits.
    estimator_ : regressor or None
        The model fitted on all of the data; ``None`` unless ``method="base"`` or
        ``predict_mode="full"`` (or ``"auto"`` with ``"base"``).
    conformity_scores_ : ndarray of shape (n_samples,) or (n_samples, 2)
        Out-of-fold scores (``[lower, upper]`` columns for ``"signed"``).
    fold_of_ : ndarray of shape (n_samples,)
        Index in ``estimators_`` of the model that did not see each sample.
    signed_residuals_ : ndarray of shape (n_samples,)
        Out-of-fold ``y - f_{-k(i)}(x_i)``: the calibration of the cross-conformal predictive
        distributions behind :meth:`predict_cdf`, :meth:`predict_quantiles`,
        :meth:`predict_pvalues` and :meth:`crps` (Vovk et al. 2018).
    predictive_distribution_ : ConformalPredictiveDistribution or None
        Those residuals sorted per fold, built on first use; ``None`` with weights.
    calibration_weights_ : ndarray of shape (n_samples,) or None
        The weight ``w(X_i)`` of every sample (every sample calibrates); ``None`` unweighted.
    weights_scheme_ : WeightScheme or None
        The scheme behind ``weights`` (a callable is wrapped in ``CallableWeights``; an
        unfitted ``LikelihoodRatioWeights`` is a fitted copy, cross-fitted on ``X`` and
        ``X_target``).
    effective_sample_size_ : float
        ``(sum w)^2 / sum w^2`` of the calibration weights (``n_samples`` unweighted). A
        :class:`~conformal.ConformalWarning` at ``fit`` when it is smaller than the fitted
        level needs.
    score_ : RegressionScore
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    See Also
    --------
    JackknifeAfterBootstrapRegressor : the plus interval over bootstrap models.
    CrossConformalizedQuantileRegressor : CV+ with quantile models (CQR scores).

    Notes
    -----
    The plus bounds are order statistics of ``n`` values per test point. With ``K`` folds the
    values of a fold are its sorted scores shifted by one number, so the bound is selected across
    ``K`` sorted arrays in ``O(K log^2 n)`` per test point; with leave-one-out each test point's
    values are streamed through a buffer in ``O(n)``. Memory never holds the ``n_test x n``
    matrix (fold predictions are computed in row blocks). The weighted bounds use the same
    layout with running weight sums per fold: ``O(K log^2 n)`` per test point for CV+, a
    weighted selection in ``O(n)`` for the jackknife+.

    References
    ----------
    R. Foygel Barber, E. J. Candes, A. Ramdas and R. J. Tibshirani (2021). Predictive inference
    with the jackknife+. Annals of Statistics 49(1), 486-507.

    D. Prinster, A. Liu and S. Saria (2022). JAWS: Auditing predictive uncertainty under
    covariate shift. Advances in Neural Information Processing Systems 35.

    R. Foygel Barber, E. J. Candes, A. Ramdas and R. J. Tibshirani (2023). Conformal prediction
    beyond exchangeability. Annals of Statistics 51(2), 816-845.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal import CrossConformalRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(200, 1))
    >>> y = 2 * X[:, 0] + rng.normal(size=200)
    >>> model = CrossConformalRegressor(cv=10, random_state=0).fit(X, y)
    >>> model.predict_interval([[1.0], [2.0]]).round(2)
    array([[0.45, 3.5 ],
           [2.41, 5.47]])
    >>> model.predict([[1.0]]).round(2)  # mean of the 10 fold models
    array([2.])
    >>> jackknife_plus = CrossConformalRegressor(cv="loo").fit(X, y)
    >>> jackknife_plus.predict_interval([[1.0]], confidence_level=[0.5, 0.9]).shape
    (1, 2, 2)

    Under covariate shift, weight by the likelihood ratio of test to training covariates
    (weighted CV+, JAWS); here the test covariates are shifted to the right:

    >>> shifted = CrossConformalRegressor(cv=10, weights=lambda X: np.exp(X[:, 0] - 2.5))
    >>> shifted.fit(X, y).predict_interval(np.array([[4.0]])).shape
    (1, 2)
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "confidence_level": "no_validation",  # the one level parser, at fit
        "method": [StrOptions({"base", "plus", "minmax"})],
        "cv": ["cv_object", StrOptions({"loo"})],
        "conformity_score": [StrOptions(set(_SHIFT_SCORES)), RegressionScore],
        "predict_mode": [StrOptions({"auto", "full", "mean", "median"})],
        "n_jobs": [Integral, None],
        "weights": [WeightScheme, callable, None],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float | list[float] = 0.9,
        method: str = "plus",
        cv: Any = 5,
        conformity_score: str | RegressionScore = "absolute",
        predict_mode: str = "auto",
        n_jobs: int | None = None,
        weights: Any = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.method = method
        self.cv = cv
        self.conformity_score = conformity_score
        self.predict_mode = predict_mode
        self.n_jobs = n_jobs
        self.weights = weights
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return LinearRegression()

    def _point_mode(self) -> str:
        if self.predict_mode == "auto":
            return "full" if self.method == "base" else "mean"
        return self.predict_mode

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        groups: ArrayLike | None = None,
        calibration_weights: ArrayLike | None = None,
        X_target: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> CrossConformalRegressor:
        """Fit one model per fold (and on all of the data if needed) and score every sample out
        of fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Passed to the wrapped estimator as given (DataFrames keep their columns).
        y : array-like of shape (n_samples,)
            Finite targets.

        groups : array-like of shape (n_samples,), default=None
            CV groups, passed to a group splitter's ``split`` (``cv=GroupKFold(5)``), as
            scikit-learn's ``cross_validate(groups=...)`` does. Not Mondrian labels.
        calibration_weights : array-like of shape (n_samples,), default=None
            Fixed non-negative weights of the samples (every sample calibrates); they enter
            the weighted plus bounds with the test point's weight 1 at ``+-inf``
            (``method="plus"`` only; not with a ``weights`` scheme).
        X_target : array-like of shape (n_target, n_features), default=None
            Unlabeled rows of the test distribution, for an unfitted
            :class:`~conformal.weights.LikelihoodRatioWeights` passed as ``weights``.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the wrapped model's ``fit`` (the rows each model is fitted on); not used
            in calibration. An error if the model's ``fit`` does not accept it.

        Returns
        -------
        self : CrossConformalRegressor
            The fitted estimator.

        Raises
        ------
        ValueError
            For bad parameters or inputs, naming them; for weights with a ``method`` other than
            ``"plus"``.
        """
        X, target, sample_weight = self._fit_prologue(X, y, check_target, sample_weight)
        self._check_estimator_kind(self._resolve_estimator())
        n = target.shape[0]
        owner = type(self).__name__
        score = check_shift_score(self.conformity_score, owner)
        weighted = self.weights is not None or calibration_weights is not None
        if weighted and self.method != "plus":
            given = "weights" if self.weights is not None else "calibration_weights"
            raise ValueError(
                f"{given} were given with method={self.method!r}; weighted cross-conformal "
                "intervals (weighted jackknife+ / CV+, JAWS) are defined for method='plus' "
                f"only. Use {owner}(method='plus', ...) or fit without {given}."
            )
        weighting = prepare_weighting(self, X, calibration_weights, X_target)
        estimator = self._resolve_estimator()
        check_refittable(estimator, owner, "the estimator on each fold", "SplitConformalRegressor")
        splits = resolve_splits(self.cv, X, target, self.random_state, groups=groups)
        self.fold_of_ = fold_assignment(splits, n)
        rows = [train for train, _ in splits]
        full = self.method == "base" or self._point_mode() == "full"
        if full:  # in the same parallel batch as the fold models
            rows.append(np.arange(n))
        models = fit_on_rows([estimator] * len(rows), X, target, rows, self.n_jobs, sample_weight)
        self.estimator_ = models.pop() if full else None
        self.estimators_ = models
        out_of_fold = np.empty(n)
        for model, (_, calibration) in zip(self.estimators_, splits, strict=True):
            if calibration.size:
                prediction = model.predict(take(X, calibration))
                out_of_fold[calibration] = np.asarray(prediction, dtype=np.float64).ravel()
        self.score_ = score
        self.conformity_scores_ = score.score(target, out_of_fold)
        self.signed_residuals_ = target - out_of_fold
        self._cached_distribution: ConformalPredictiveDistribution | None = None
        # Every sample calibrates (out of fold), so the calibration rows are all of X.
        finish_weighting(self, weighting, X, np.arange(n))
        self.calibrator_ = Calibrator(
            self.conformity_scores_,
            weights=self.calibration_weights_,
            folds=self.fold_of_,
            n_folds=len(self.estimators_),
        )
        return self

    @property
    def predictive_distribution_(self) -> ConformalPredictiveDistribution | None:
        """The cross-conformal predictive system (Vovk et al. 2018) of the out-of-fold signed
        residuals, sorted per fold on first use (interval users never pay for it); ``None``
        when fitted with weights."""
        if getattr(self, "calibration_weights_", None) is not None:
            return None
        if getattr(self, "_cached_distribution", None) is None:
            self._cached_distribution = ConformalPredictiveDistribution(
                self.signed_residuals_, self.fold_of_, n_folds=len(self.estimators_)
            )
        return self._cached_distribution

    def _predictive_distribution(self) -> ConformalPredictiveDistribution:
        distribution = self.predictive_distribution_
        if distribution is None:
            raise ValueError(
                "conformal predictive distributions with weights are not supported yet; fit "
                f"{type(self).__name__} without weights (and calibration_weights) to use "
                "predict_cdf, predict_quantiles, predict_pvalues or crps."
            )
        return distribution

    def _predictive_blocks(self, X: Any) -> Iterator[Block]:
        for rows, centers in self._fold_blocks(X):
            yield rows, centers, None

    def _fold_blocks(self, X: Any) -> Any:
        """``(rows, (n_rows, K) predictions of the fold models)`` in memory-bounded blocks."""
        for rows, block in row_blocks(X, len(self.estimators_)):
            yield rows, predict_columns(self.estimators_, block)

    def _point_predictions(self, X: Any) -> Any:
        mode = self._point_mode()
        if mode == "full":
            if self.estimator_ is None:
                raise ValueError(
                    "predict_mode='full' needs the model fitted on all of the data, which this "
                    "fit did not make; set predict_mode='full' before calling fit."
                )
            return self.estimator_.predict(X)
        out = np.empty(n_rows(X))
        for rows, centers in self._fold_blocks(X):
            out[rows] = centers.mean(axis=1) if mode == "mean" else np.median(centers, axis=1)
        return out

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
            :class:`~conformal.ConformalWarning`) when there are too few samples for the level.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        if self.method == "plus":
            intervals = self._plus(X, levels)
        else:
            thresholds = self.calibrator_.threshold(levels)
            if self.method == "base":
                full_model: Any = self.estimator_  # fitted whenever method="base"
                center = np.asarray(full_model.predict(X), dtype=np.float64).ravel()
                intervals = self.score_.inverse(center, thresholds)
            else:
                intervals = self._minmax(X, thresholds, len(levels))
        return self._shape(intervals, scalar)

    def _plus(self, X: Any, levels: list[Level]) -> NDArray[np.float64]:
        out = np.empty((n_rows(X), len(levels), 2))
        if self.calibration_weights_ is None:
            for rows, centers in self._fold_blocks(X):
                out[rows] = self.calibrator_.plus(centers, levels, warn=rows.start == 0)
            return out
        # Weighted (JAWS): each test row brings its own weight w(x), so whether a bound is
        # infinite depends on the row; one warning for all blocks, after the last.
        per_point = False
        for rows, block in row_blocks(X, len(self.estimators_)):
            test = self._test_context(block)
            per_point = per_point or test.weights is not None
            centers = predict_columns(self.estimators_, block)
            out[rows] = self.calibrator_.plus(centers, levels, test=test, warn=False)
        self.calibrator_._warn_weighted([out], levels, per_point=per_point)
        return out

    def _minmax(self, X: Any, thresholds: NDArray, n_levels: int) -> NDArray[np.float64]:
        out = np.empty((n_rows(X), n_levels, 2))
        for rows, centers in self._fold_blocks(X):
            out[rows, :, 0] = self.score_.inverse(centers.min(axis=1), thresholds)[..., 0]
            out[rows, :, 1] = self.score_.inverse(centers.max(axis=1), thresholds)[..., 1]
        return out
