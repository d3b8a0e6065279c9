"""Scorers for model selection on intervals and sets: ``scoring=`` of ``GridSearchCV``.

scikit-learn's default ``score`` of a regressor or classifier rates its point predictions
(R^2, accuracy): it never sees ``confidence_level`` or ``conformity_score``, and it prefers a
configuration that keeps fewer rows for calibration (its point model gets more). The scorers
here rate what a conformal estimator returns: intervals, sets and predictive distributions.

Each follows scikit-learn's scorer protocol ``scorer(estimator, X, y) -> float``, greater is
better, so every loss is negated. They are plain callables rather than
``sklearn.metrics.make_scorer`` objects: ``make_scorer`` (scikit-learn 1.9) accepts only
``"predict"``, ``"predict_proba"`` and ``"decision_function"`` as a ``response_method`` string,
and its score function never sees the estimator, so it could read neither the estimator's
``confidence_level`` nor its ``classes_`` (needed to score sets on a fold that lacks a class).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._intervals import coverage, mean_width
from ._scoring_rules import interval_score
from ._sets import mean_set_size, set_coverage
from ._validation import _check_level, _show

__all__ = [
    "coverage_width_scorer",
    "crps_scorer",
    "interval_scorer",
    "set_size_scorer",
    "wis_scorer",
]


def _check_optional_level(value: Any, name: str) -> float | None:
    return None if value is None else _check_level(value, name)


def _check_tolerance(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValueError(
            f"The 'tolerance' parameter must be None or a float in [0.0, 1.0). Got "
            f"{_show(value)} instead."
        )
    if not 0.0 <= float(value) < 1.0:  # False for NaN
        raise ValueError(
            f"The 'tolerance' parameter must be None or a float in [0.0, 1.0). Got "
            f"{_show(value)} instead."
        )
    return float(value)


def _method(estimator: Any, name: str, scorer: str, instead: str) -> Any:
    method = getattr(estimator, name, None)
    if method is None:
        raise TypeError(
            f"{scorer} needs an estimator with a {name} method; got "
            f"{type(estimator).__name__}. {instead}"
        )
    return method


def _level_of(estimator: Any, level: float | None, scorer: str) -> float:
    """The scorer's level, else the estimator's ``confidence_level`` (a single level)."""
    if level is not None:
        return level
    own = getattr(estimator, "confidence_level", None)
    if isinstance(own, (bool, np.bool_)) or not isinstance(own, Real) or not 0 < float(own) < 1:
        raise ValueError(
            f"{scorer}(confidence_level=None) scores at the estimator's confidence_level, which "
            f"must be a single level in (0, 1); {type(estimator).__name__} has "
            f"confidence_level={own!r}. Pass one level to the scorer, e.g. "
            f"{scorer}(confidence_level=0.9)."
        )
    return float(own)


def _allowed_shortfall(tolerance: float | None, level: float, n: int) -> float:
    """How far the empirical coverage may fall below ``level``: ``tolerance`` or, when
    ``None``, ``3 * sqrt(2 * level * (1 - level) / n)`` (see ``coverage_width_scorer``)."""
    if tolerance is not None:
        return tolerance
    return 3.0 * math.sqrt(2.0 * level * (1.0 - level) / max(n, 1))


class _ConformalScorer:
    """A scorer ``scorer(estimator, X, y) -> float`` (greater is better) with a readable repr."""

    def __init__(self, name: str, score: Any, **params: Any) -> None:
        self._name = name
        self._score = score
        self._params = params

    def __call__(self, estimator: Any, X: ArrayLike, y: ArrayLike) -> float:
        return float(self._score(estimator, X, y, **self._params))

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self._params.items())
        return f"{self._name}({args})"


# ---------------------------------------------------------------------- intervals


def _neg_interval_score(estimator: Any, X: Any, y: Any, *, confidence_level: Any) -> float:
    predict = _method(
        estimator,
        "predict_interval",
        "interval_scorer",
        "Use a conformal regressor (for classifiers, set_size_scorer).",
    )
    level = _level_of(estimator, confidence_level, "interval_scorer")
    intervals = predict(X, confidence_level=level)
    return -float(interval_score(y, intervals, confidence_level=level))


def interval_scorer(confidence_level: float | None = None) -> _ConformalScorer:
    """Scorer of the negated mean interval score (Winkler score) of ``predict_interval``.

    For a central interval ``[l, u]`` at level ``1 - a``, the interval score
    ``(u - l) + (2 / a) * (l - y)_+ + (2 / a) * (y - u)_+`` (see
    :func:`conformal.metrics.interval_score`) is a proper scoring rule: it rewards narrow
    intervals and penalises misses in proportion to their distance, so it ranks
    configurations on both width and coverage in one number. The scorer returns its mean over
    the rows of ``X``, negated (greater is better, as scikit-learn's ``scoring=`` expects).

    Parameters
    ----------
    confidence_level : float in (0, 1), default=None
        The level of the intervals scored. ``None`` scores at each estimator's own
        ``confidence_level`` (which must then be a single level); give a level when the grid
        searches over ``confidence_level`` itself, so every candidate is scored at the same
        level.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, usable as ``scoring=`` in
        :class:`~sklearn.model_selection.GridSearchCV` or
        :func:`~sklearn.model_selection.cross_val_score`. An interval with an infinite bound
        (calibration set too small for the level) gives ``-inf``.

    Raises
    ------
    ValueError
        When ``confidence_level`` is not in (0, 1); at scoring time, when it is ``None`` and the
        estimator's ``confidence_level`` is not a single level.
    TypeError
        At scoring time, when the estimator has no ``predict_interval``.

    See Also
    --------
    coverage_width_scorer : Mean width, provided the coverage is reached.
    conformal.metrics.interval_score : The score itself.

    References
    ----------
    T. Gneiting and A. E. Raftery (2007). Strictly proper scoring rules, prediction, and
    estimation. Journal of the American Statistical Association 102(477), 359-378.

    R. L. Winkler (1972). A decision-theoretic approach to interval estimation. Journal of the
    American Statistical Association 67(337), 187-191.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from conformal import SplitConformalRegressor
    >>> from conformal.metrics import interval_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(600, 1))
    >>> y = 2 * X[:, 0] + rng.normal(size=600)
    >>> model = SplitConformalRegressor(confidence_level=0.9, random_state=0)
    >>> scores = cross_val_score(model, X, y, cv=3, scoring=interval_scorer())
    >>> bool(np.all(scores < 0))
    True
    """
    level = _check_optional_level(confidence_level, "confidence_level")
    return _ConformalScorer("interval_scorer", _neg_interval_score, confidence_level=level)


def _neg_width_at_coverage(
    estimator: Any, X: Any, y: Any, *, confidence_level: Any, tolerance: Any
) -> float:
    predict = _method(
        estimator,
        "predict_interval",
        "coverage_width_scorer",
        "Use a conformal regressor (for classifiers, set_size_scorer).",
    )
    level = _level_of(estimator, confidence_level, "coverage_width_scorer")
    intervals = np.asarray(predict(X, confidence_level=level), dtype=np.float64)
    reached = float(coverage(y, intervals))
    if reached < level - _allowed_shortfall(tolerance, level, intervals.shape[0]):
        return -math.inf
    return -float(mean_width(intervals))


def coverage_width_scorer(
    confidence_level: float | None = None, *, tolerance: float | None = None
) -> _ConformalScorer:
    """Scorer of the negated mean interval width, ``-inf`` when the coverage falls short.

    On the rows of ``X``, the scorer returns ``-mean_width`` of ``predict_interval`` when the
    empirical coverage is at least ``confidence_level - tolerance``, and ``-inf`` otherwise.

    Parameters
    ----------
    confidence_level : float in (0, 1), default=None
        The level of the intervals and the coverage required. ``None`` uses each estimator's
        own ``confidence_level`` (a single level).
    tolerance : float in [0, 1), default=None
        How far the empirical coverage may fall below ``confidence_level`` before the
        configuration is rejected. ``None`` allows ``3 * sqrt(2 * level * (1 - level) / n)``
        on ``n`` scored rows (0.13 for ``n = 100``, 0.04 for ``n = 1000`` at level 0.9): three
        standard errors of a fold's coverage when both the ``n`` test rows and a calibration
        set of about ``n`` rows are random. A valid conformal method misses its level on one
        fold by up to about this much by chance alone, so a smaller tolerance rejects valid
        configurations (and one rejected fold makes the mean score ``-inf``).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, usable as ``scoring=`` in
        :class:`~sklearn.model_selection.GridSearchCV` or
        :func:`~sklearn.model_selection.cross_val_score`.

    Raises
    ------
    ValueError
        When ``confidence_level`` is not in (0, 1) or ``tolerance`` not in [0, 1); at scoring
        time, when the level is ``None`` and the estimator's ``confidence_level`` is not a
        single level.
    TypeError
        At scoring time, when the estimator has no ``predict_interval``.

    See Also
    --------
    interval_scorer : One proper score for both width and misses.
    set_size_scorer : The same rule for prediction sets.

    Notes
    -----
    The width alone is not a fair criterion: narrower intervals always win, so a search would
    pick whichever configuration covers least. Under-coverage therefore scores ``-inf``, not a
    finite penalty: no finite penalty in the units of ``y`` can guarantee that an under-covering
    configuration never beats a covering one on every data set, and ``-inf`` keeps it ranked last
    by :class:`~sklearn.model_selection.GridSearchCV` (which warns that some test scores are
    non-finite: the intended signal). One failing fold makes the candidate's mean score
    ``-inf``. Infinite intervals (calibration set too small for the level) also give ``-inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from conformal import SplitConformalRegressor
    >>> from conformal.metrics import coverage_width_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(600, 1))
    >>> y = 2 * X[:, 0] + rng.normal(size=600)
    >>> model = SplitConformalRegressor(confidence_level=0.9, random_state=0)
    >>> widths = -cross_val_score(model, X, y, cv=3, scoring=coverage_width_scorer())
    >>> widths.round(2)  # near 2 * 1.645 = 3.29 for N(0, 1) noise
    array([2.96, 3.53, 3.42])
    """
    level = _check_optional_level(confidence_level, "confidence_level")
    return _ConformalScorer(
        "coverage_width_scorer",
        _neg_width_at_coverage,
        confidence_level=level,
        tolerance=_check_tolerance(tolerance),
    )


# ---------------------------------------------------------------------- sets


def _neg_set_size_at_coverage(
    estimator: Any, X: Any, y: Any, *, confidence_level: Any, tolerance: Any
) -> float:
    predict = _method(
        estimator,
        "predict_set",
        "set_size_scorer",
        "Use a conformal classifier (for regressors, coverage_width_scorer).",
    )
    level = _level_of(estimator, confidence_level, "set_size_scorer")
    sets = np.asarray(predict(X, confidence_level=level))
    classes = getattr(estimator, "classes_", None)
    reached = float(set_coverage(y, sets, classes=classes))
    if reached < level - _allowed_shortfall(tolerance, level, sets.shape[0]):
        return -math.inf
    return -float(mean_set_size(sets))


def set_size_scorer(
    confidence_level: float | None = None, *, tolerance: float | None = None
) -> _ConformalScorer:
    """Scorer of the negated mean prediction-set size, ``-inf`` when the coverage falls short.

    On the rows of ``X``, the scorer returns ``-mean_set_size`` of ``predict_set`` when the
    empirical coverage (labels matched to columns through the estimator's ``classes_``) is at
    least ``confidence_level - tolerance``, and ``-inf`` otherwise.

    Parameters
    ----------
    confidence_level : float in (0, 1), default=None
        The level of the sets and the coverage required. ``None`` uses each estimator's own
        ``confidence_level`` (a single level).
    tolerance : float in [0, 1), default=None
        How far the empirical coverage may fall below ``confidence_level``. ``None`` allows
        ``3 * sqrt(2 * level * (1 - level) / n)`` on ``n`` scored rows (see
        :func:`coverage_width_scorer`).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, usable as ``scoring=`` in
        :class:`~sklearn.model_selection.GridSearchCV` or
        :func:`~sklearn.model_selection.cross_val_score`.

    Raises
    ------
    ValueError
        When ``confidence_level`` is not in (0, 1) or ``tolerance`` not in [0, 1); at scoring
        time, when the level is ``None`` and the estimator's ``confidence_level`` is not a
        single level, or a label of ``y`` is not in ``classes_``.
    TypeError
        At scoring time, when the estimator has no ``predict_set``.

    See Also
    --------
    coverage_width_scorer : The same rule for intervals (why ``-inf`` is in its Notes).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import KFold, cross_val_score
    >>> from conformal import SplitConformalClassifier
    >>> from conformal.metrics import set_size_scorer
    >>> X, y = load_iris(return_X_y=True)
    >>> model = SplitConformalClassifier(confidence_level=0.9, random_state=0)
    >>> cv = KFold(3, shuffle=True, random_state=0)  # iris rows are sorted by class
    >>> sizes = -cross_val_score(model, X, y, cv=cv, scoring=set_size_scorer())
    >>> bool(np.all((0.0 < sizes) & (sizes < 3.0)))
    True
    """
    level = _check_optional_level(confidence_level, "confidence_level")
    return _ConformalScorer(
        "set_size_scorer",
        _neg_set_size_at_coverage,
        confidence_level=level,
        tolerance=_check_tolerance(tolerance),
    )


# ---------------------------------------------------------------------- distributions


def _neg_crps(estimator: Any, X: Any, y: Any) -> float:
    per_sample = _method(
        estimator,
        "crps_per_sample",
        "crps_scorer",
        "Use SplitConformalRegressor or CrossConformalRegressor (conformal predictive "
        "distributions).",
    )
    return -float(np.mean(per_sample(X, y)))


def crps_scorer() -> _ConformalScorer:
    """Scorer of the negated mean CRPS of a regressor's conformal predictive distributions.

    The continuous ranked probability score of each row's predictive distribution at its
    observed target (``estimator.crps_per_sample(X, y)``), averaged and negated. It scores the
    whole distribution, so it needs no ``confidence_level``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, usable as ``scoring=`` in
        :class:`~sklearn.model_selection.GridSearchCV` or
        :func:`~sklearn.model_selection.cross_val_score`.

    Raises
    ------
    TypeError
        At scoring time, when the estimator has no ``crps_per_sample`` (only regressors with
        conformal predictive distributions have it).

    See Also
    --------
    conformal.metrics.mean_crps : The mean CRPS of any step distribution.

    References
    ----------
    T. Gneiting and A. E. Raftery (2007). Strictly proper scoring rules, prediction, and
    estimation. Journal of the American Statistical Association 102(477), 359-378.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from conformal import SplitConformalRegressor
    >>> from conformal.metrics import crps_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(600, 1))
    >>> y = 2 * X[:, 0] + rng.normal(size=600)
    >>> model = SplitConformalRegressor(random_state=0)
    >>> scores = cross_val_score(model, X, y, cv=3, scoring=crps_scorer())
    >>> bool(np.all((-1.0 < scores) & (scores < 0.0)))  # about -0.56 for N(0, 1) noise
    True
    """
    return _ConformalScorer("crps_scorer", _neg_crps)


# ---------------------------------------------------------------------- quantiles


def _neg_wis(estimator: Any, X: Any, y: Any, *, quantiles: Any) -> float:
    from ..aggregation import (
        check_quantiles,
        is_quantile_model,
        merge_quantiles,
        predict_quantiles_of,
    )
    from ..aggregation._protocol import _final_step
    from ..regression._quantile_models import tail_quantiles
    from ._quantile import quantile_weighted_interval_score

    if not is_quantile_model(estimator):
        raise TypeError(
            f"wis_scorer needs an estimator with predict_quantiles; "
            f"{type(estimator).__name__} has none. Use a quantile model (conformal.aggregation) "
            "or a conformalized quantile regressor."
        )
    levels = quantiles
    if levels is None:
        model = _final_step(estimator)  # a Pipeline's levels are its last step's
        fitted = getattr(model, "quantiles_", None)
        levels = fitted if fitted is not None else getattr(model, "quantiles", None)
        confidence = getattr(model, "fitted_confidence_levels_", None)
        if levels is None and confidence is not None:
            # A conformalized quantile regressor: the ends of its fitted pairs and the median,
            # what its predict_quantiles gives by default.
            levels = merge_quantiles(*[tail_quantiles(lv) for lv in confidence], [0.5])
    if levels is None:
        raise ValueError(
            f"wis_scorer(quantiles=None) scores the estimator's own levels, but "
            f"{type(estimator).__name__} has neither quantiles_ nor quantiles; pass "
            "wis_scorer(quantiles=[...])."
        )
    levels = check_quantiles(levels)
    predictions = predict_quantiles_of(estimator, X, levels)
    return -float(quantile_weighted_interval_score(y, predictions, levels))


def wis_scorer(quantiles: ArrayLike | None = None) -> _ConformalScorer:
    """Scorer of the negated weighted interval score (WIS) of ``predict_quantiles``.

    WIS over a set of levels is twice the mean pinball loss of the predicted quantiles (see
    :func:`conformal.metrics.quantile_weighted_interval_score`), a proper scoring rule for the
    whole set of quantiles: it is what :class:`~conformal.aggregation.QuantileAggregator` fits
    its weights on, and the measure by which to tune quantile models (scikit-learn's default
    ``score`` rates R^2 of the median only).

    Parameters
    ----------
    quantiles : array-like of float, default=None
        Levels scored, strictly increasing in (0, 1). ``None``: each estimator's fitted
        ``quantiles_`` (or its ``quantiles`` parameter; for a conformalized quantile
        regressor, the ends of its fitted confidence levels and 0.5); give levels when the grid
        searches over ``quantiles`` or ``confidence_level``, so every candidate is scored on the
        same levels.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, usable as ``scoring=`` in
        :class:`~sklearn.model_selection.GridSearchCV` or
        :func:`~sklearn.model_selection.cross_val_score` (quantile models, Pipelines ending in
        one, and the conformalized quantile regressors, whose ``predict_quantiles`` gives the
        sorted calibrated ends).

    Raises
    ------
    ValueError
        For invalid ``quantiles``; at scoring time, when ``quantiles`` is ``None`` and the
        estimator has no levels of its own.
    TypeError
        At scoring time, when the estimator has no ``predict_quantiles``.

    See Also
    --------
    conformal.metrics.quantile_weighted_interval_score : The score itself.
    interval_scorer : The interval score of one level's intervals.

    References
    ----------
    J. Bracher, E. L. Ray, T. Gneiting and N. G. Reich (2021). Evaluating epidemic forecasts in
    an interval format. PLoS Computational Biology 17(2), e1008618.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from conformal.aggregation import KNeighborsQuantileRegressor
    >>> from conformal.metrics import wis_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(400, 1))
    >>> y = 2 * X[:, 0] + rng.normal(size=400)
    >>> search = GridSearchCV(
    ...     KNeighborsQuantileRegressor(quantiles=[0.1, 0.5, 0.9]),
    ...     {"n_neighbors": [2, 50]},
    ...     scoring=wis_scorer(),
    ...     cv=3,
    ... ).fit(X, y)
    >>> search.best_params_
    {'n_neighbors': 50}
    """
    levels = None
    if quantiles is not None:
        from ..aggregation import check_quantiles

        levels = check_quantiles(quantiles).tolist()
    return _ConformalScorer("wis_scorer", _neg_wis, quantiles=levels)
