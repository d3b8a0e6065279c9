"""The built-in benchmark methods: one ``@register_method`` factory per method.

This is the file a new method family touches. Each method is one decorated factory,
``factory(random_state) -> unfitted estimator``; pass ``needs_level=True`` (and take
``confidence_level`` as the second argument) when the estimator's ``fit`` depends on the
target level. Registration order is the order of ``list_methods()`` and of the result tables.

Every base model of the regression and classification tasks is a scikit-learn histogram
gradient boosting model with its defaults (100 boosting iterations). Its ``random_state`` is set
too, because it draws a validation split for early stopping on data sets of more than 10,000
rows. The time-series methods wrap least squares (``LinearRegression``), as the experiments of
Barber et al. (2023) and Gibbs and Candes (2021) do, so that they differ only in calibration.
"""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression

from ..classification import CrossConformalClassifier, SplitConformalClassifier
from ..online import (
    AdaptiveConformalRegressor,
    AggregatedAdaptiveConformalRegressor,
    EnbPIRegressor,
)
from ..regression import (
    ConformalizedQuantileRegressor,
    CrossConformalizedQuantileRegressor,
    CrossConformalRegressor,
    JackknifeAfterBootstrapRegressor,
    SplitConformalRegressor,
)
from ..scores import NormalizedScore
from ..weights import ExponentialDecayWeights
from ._registry import register_method


def _hgb(random_state: int, **params: Any) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(random_state=random_state, **params)


def _split(random_state: int, score: Any) -> SplitConformalRegressor:
    """Split CP around HistGradientBoostingRegressor with conformity score ``score``."""
    return SplitConformalRegressor(
        _hgb(random_state), conformity_score=score, random_state=random_state
    )


def _cqr(
    random_state: int, confidence_level: float, **params: Any
) -> ConformalizedQuantileRegressor:
    """CQR around HistGradientBoostingRegressor(loss='quantile'), built for ``confidence_level``.

    CQR fits its quantile models at the level it is constructed with, so it needs the level of
    the run (``needs_level=True``).
    """
    return ConformalizedQuantileRegressor(
        _hgb(random_state, loss="quantile"),
        confidence_level=confidence_level,
        random_state=random_state,
        **params,
    )


def _cross(random_state: int, method: str) -> CrossConformalRegressor:
    """Cross-conformal regression with 5 folds of HistGradientBoostingRegressor."""
    return CrossConformalRegressor(
        _hgb(random_state), method=method, cv=5, random_state=random_state
    )


def _split_classifier(random_state: int, **params: Any) -> SplitConformalClassifier:
    """Split CP around HistGradientBoostingClassifier; ``params`` go to the conformal layer."""
    return SplitConformalClassifier(
        HistGradientBoostingClassifier(random_state=random_state),
        random_state=random_state,
        **params,
    )


# Regression ---------------------------------------------------------------------------------


@register_method(
    "split-absolute",
    default=True,
    description="split CP, |y - f(x)| around HistGradientBoostingRegressor",
)
def _split_absolute(random_state: int) -> SplitConformalRegressor:
    return _split(random_state, "absolute")


@register_method(
    "split-normalized",
    default=True,
    description=(
        "split CP, |y - f(x)| / sigma(x) around HistGradientBoostingRegressor; sigma is a "
        "shallower HistGradientBoostingRegressor(max_iter=50, max_leaf_nodes=15, "
        "min_samples_leaf=40) fitted on 3-fold out-of-fold absolute residuals"
    ),
)
def _split_normalized(random_state: int) -> SplitConformalRegressor:
    difficulty = _hgb(random_state, max_iter=50, max_leaf_nodes=15, min_samples_leaf=40)
    return _split(random_state, NormalizedScore(difficulty, cv=3))


@register_method(
    "cqr",
    default=True,
    needs_level=True,
    description="conformalized quantile regression, HistGradientBoostingRegressor(loss='quantile')",
)
def _cqr_symmetric(random_state: int, confidence_level: float) -> ConformalizedQuantileRegressor:
    return _cqr(random_state, confidence_level)


@register_method(
    "split-signed",
    description="split CP, signed residuals y - f(x), each tail at level 1 - a/2",
)
def _split_signed(random_state: int) -> SplitConformalRegressor:
    return _split(random_state, "signed")


@register_method(
    "cqr-asymmetric",
    needs_level=True,
    description="CQR with each tail calibrated separately at level 1 - a/2",
)
def _cqr_asymmetric(random_state: int, confidence_level: float) -> ConformalizedQuantileRegressor:
    return _cqr(random_state, confidence_level, symmetric=False)


@register_method(
    "cv-plus",
    description="CV+ (Barber et al. 2021), 5 folds of HistGradientBoostingRegressor",
)
def _cv_plus(random_state: int) -> CrossConformalRegressor:
    return _cross(random_state, "plus")


@register_method(
    "cv-minmax",
    description="CV-minmax, 5 folds of HistGradientBoostingRegressor (guarantee 1 - a)",
)
def _cv_minmax(random_state: int) -> CrossConformalRegressor:
    return _cross(random_state, "minmax")


@register_method(
    "jackknife-after-bootstrap",
    description=(
        "jackknife+-after-bootstrap (Kim, Xu, Barber 2020), 20 bootstrap "
        "HistGradientBoostingRegressor models, mean aggregation"
    ),
)
def _jackknife_after_bootstrap(random_state: int) -> JackknifeAfterBootstrapRegressor:
    return JackknifeAfterBootstrapRegressor(
        _hgb(random_state), n_resamplings=20, random_state=random_state
    )


@register_method(
    "cv-plus-cqr",
    needs_level=True,
    description="CV+ with CQR scores, 5 folds of HistGradientBoostingRegressor(loss='quantile')",
)
def _cv_plus_cqr(random_state: int, confidence_level: float) -> CrossConformalizedQuantileRegressor:
    return CrossConformalizedQuantileRegressor(
        _hgb(random_state, loss="quantile"),
        confidence_level=confidence_level,
        cv=5,
        random_state=random_state,
    )


# Classification: one method per conformity score ---------------------------------------------


@register_method(
    "split-lac",
    task="classification",
    description="split CP, LAC score 1 - p_y(x), HistGradientBoostingClassifier",
)
def _split_lac(random_state: int) -> SplitConformalClassifier:
    return _split_classifier(random_state)


@register_method("split-aps", task="classification", description="split CP, randomized APS score")
def _split_aps(random_state: int) -> SplitConformalClassifier:
    return _split_classifier(random_state, conformity_score="aps")


@register_method(
    "split-raps",
    task="classification",
    description=(
        "split CP, randomized RAPS score (k_reg and lambda tuned on a slice of the calibration set)"
    ),
)
def _split_raps(random_state: int) -> SplitConformalClassifier:
    return _split_classifier(random_state, conformity_score="raps")


@register_method("split-top-k", task="classification", description="split CP, top-k score")
def _split_top_k(random_state: int) -> SplitConformalClassifier:
    return _split_classifier(random_state, conformity_score="top_k")


@register_method(
    "split-lac-class-conditional",
    task="classification",
    description="split CP, LAC score calibrated within each class (Mondrian by label)",
)
def _split_lac_class_conditional(random_state: int) -> SplitConformalClassifier:
    return _split_classifier(random_state, class_conditional=True)


@register_method(
    "cross-lac",
    task="classification",
    description="cross-conformal LAC, 5 folds of HistGradientBoostingClassifier",
)
def _cross_lac(random_state: int) -> CrossConformalClassifier:
    return CrossConformalClassifier(
        HistGradientBoostingClassifier(random_state=random_state), random_state=random_state
    )


# Time series ---------------------------------------------------------------------------------


@register_method(
    "split-ordered",
    task="timeseries",
    description=(
        "split CP on time-ordered data (shuffle=False: the most recent 30% calibrate), least "
        "squares, unweighted"
    ),
)
def _split_ordered(random_state: int) -> SplitConformalRegressor:
    return SplitConformalRegressor(LinearRegression(), shuffle=False, random_state=random_state)


@register_method(
    "nexcp",
    task="timeseries",
    description=(
        "nexCP (Barber et al. 2023): split CP with ExponentialDecayWeights(0.99), the most "
        "recent 30% calibrate, least squares"
    ),
)
def _nexcp(random_state: int) -> SplitConformalRegressor:
    return SplitConformalRegressor(
        LinearRegression(),
        shuffle=False,
        weights=ExponentialDecayWeights(0.99),
        random_state=random_state,
    )


@register_method(
    "aci",
    task="timeseries",
    description=(
        "ACI (Gibbs and Candes 2021), gamma=0.005, least squares refitted every 200 steps on "
        "the rows seen; the most recent 30% of the fit rows calibrate, every new score joins"
    ),
)
def _aci(random_state: int) -> AdaptiveConformalRegressor:
    return AdaptiveConformalRegressor(LinearRegression(), gamma=0.005, refit_every=200)


@register_method(
    "agaci",
    task="timeseries",
    description=(
        "AgACI (Zaffran et al. 2022): ACI experts over 19 values of gamma aggregated by BOA, "
        "least squares refitted every 200 steps"
    ),
)
def _agaci(random_state: int) -> AggregatedAdaptiveConformalRegressor:
    return AggregatedAdaptiveConformalRegressor(LinearRegression(), refit_every=200)


@register_method(
    "enbpi",
    task="timeseries",
    description=(
        "EnbPI (Xu and Xie 2021): 20 least-squares models on non-overlapping block bootstrap "
        "samples (blocks of 24 rows), leave-one-out residuals sliding forward, never refitted"
    ),
)
def _enbpi(random_state: int) -> EnbPIRegressor:
    return EnbPIRegressor(
        LinearRegression(), n_resamplings=20, block_length=24, random_state=random_state
    )
