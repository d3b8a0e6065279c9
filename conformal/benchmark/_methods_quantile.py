"""Benchmark methods of the quantile family (registered on import by conformal.benchmark).

Task ``"quantile"`` runs on the regression datasets and scores whole quantile vectors at the 19
levels ``0.05, 0.10, ..., 0.95`` (:data:`QUANTILE_GRID`, plus the two tails of the run's
confidence level if they are not on it), as Fakoor et al. (2023) do with 99 levels:

- base quantile models: ``q-forest`` (:class:`~conformal.aggregation.QuantileForestRegressor`),
  ``q-knn`` (:class:`~conformal.aggregation.KNeighborsQuantileRegressor` on standardised
  features), ``q-linear`` (:class:`~conformal.aggregation.LinearQuantileRegressor`,
  statsmodels' ``QuantReg``), ``q-gaussian``
  (:class:`~conformal.aggregation.ConditionalGaussianRegressor`), ``q-gbm``
  (``HistGradientBoostingRegressor(loss="quantile")``, one clone per level);
- :class:`~conformal.aggregation.QuantileAggregator` of the five: the baselines ``q-best``,
  ``q-average``, ``q-median``, ``q-qra``, and the learned families ``q-coarse``, ``q-medium``,
  ``q-fine`` (global weights) and ``q-coarse-local``, ``q-medium-local`` (weights depending on
  x);
- conformalized: ``cqr-<name>`` is :class:`~conformal.ConformalizedQuantileRegressor` around
  ``q-<name>``, calibrated at the nine symmetric pairs of the grid (confidence levels 0.1, ...,
  0.9), its ends and median read as a quantile vector
  (:meth:`~conformal.ConformalizedQuantileRegressor.predict_quantiles`); ``cvplus-medium`` is
  the same with :class:`~conformal.CrossConformalizedQuantileRegressor` (5 folds, each refitting
  the aggregator: run only when named, ``--methods cvplus-medium``; it costs five
  aggregations).

``python -m conformal benchmark --task quantile`` runs every method above but ``cvplus-medium``;
none of them is in the package's default set (``make benchmark``).

Missing features (communities_crime) are imputed by the median of the fit part first (a
Pipeline around each model). Every method's quantiles are scored as they come
(``wis_unsorted``, ``crossing_rate``: the fraction of test rows with a crossing) and after
sorting each row (``wis``, ``pinball``, ``coverage``, widths): sorting never raises the WIS,
which the table shows. ``coverage`` and the
widths are those of the pair ``(a/2, 1 - a/2)`` of the run's confidence level.

Shared fits: the aggregators of one run fit the same base models on the same rows (the same
folds, from the same seed). Each base model is wrapped in :class:`CachedFit`, which reuses a
fit of the same model on the same data within the process, so the five base models are fitted
once per fold and data part, not once per aggregator. Hence ``fit_seconds`` of an aggregator is
its weight fit plus whatever base-model fits were not cached yet: the first aggregator of a
dataset and seed pays the fold fits (``q-best`` in the task's order).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import joblib
import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..aggregation import (
    ConditionalGaussianRegressor,
    KNeighborsQuantileRegressor,
    LinearQuantileRegressor,
    MultiLevelQuantileRegressor,
    QuantileAggregator,
    QuantileForestRegressor,
    merge_quantiles,
    predict_quantiles_of,
)
from ..metrics import coverage, mean_pinball_loss, mean_width, quantile_weighted_interval_score
from ..regression import ConformalizedQuantileRegressor, CrossConformalizedQuantileRegressor
from ._registry import register_method

#: The levels every method of the task is scored at.
QUANTILE_GRID: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))

#: How many fitted base models :class:`CachedFit` keeps (oldest dropped first).
CACHE_SIZE = 128
_CACHE: OrderedDict[str, Any] = OrderedDict()


def quantile_grid(confidence_level: float) -> NDArray[np.float64]:
    """:data:`QUANTILE_GRID` with the tails ``a/2`` and ``1 - a/2`` of ``confidence_level``."""
    a = 1.0 - confidence_level
    return merge_quantiles(QUANTILE_GRID, [round(a / 2, 12), round(1 - a / 2, 12)])


class CachedFit(RegressorMixin, BaseEstimator):
    """A quantile model whose fit is reused when the same model meets the same data again.

    The key is a hash of the unfitted model's parameters and of ``(X, y)``; a hit returns a
    model fitted earlier in the process, a miss fits a clone. Benchmark-only: it lets the
    aggregators of one run share their base models' fold fits (see the module docstring).

    Parameters
    ----------
    estimator : quantile model
        An unfitted model with ``predict_quantiles`` (or a Pipeline ending in one).
    """

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: ArrayLike, y: ArrayLike) -> CachedFit:
        """Fit, or take the fit of the same model on the same data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : CachedFit
        """
        key = joblib.hash((self.estimator, np.asarray(X), np.asarray(y)))
        if key in _CACHE:
            _CACHE.move_to_end(key)
        else:
            _CACHE[key] = clone(self.estimator).fit(X, y)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        self.estimator_ = _CACHE[key]
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_quantiles(
        self, X: ArrayLike, quantiles: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """The fitted model's quantiles.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        quantiles : array-like of float, default=None

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_quantiles)
        """
        return predict_quantiles_of(self.estimator_, X, quantiles)

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The fitted model's median.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self.predict_quantiles(X, [0.5])[:, 0]


def base_models(random_state: int, quantiles: Any) -> dict[str, Any]:
    """The five base quantile models of the task, unfitted, by short name."""
    levels = [float(q) for q in quantiles]
    return {
        "forest": QuantileForestRegressor(
            n_estimators=100, min_samples_leaf=5, quantiles=levels, random_state=random_state
        ),
        "knn": make_pipeline(
            StandardScaler(), KNeighborsQuantileRegressor(n_neighbors=30, quantiles=levels)
        ),
        "linear": LinearQuantileRegressor(quantiles=levels),
        "gaussian": ConditionalGaussianRegressor(quantiles=levels, random_state=random_state),
        "gbm": MultiLevelQuantileRegressor(
            HistGradientBoostingRegressor(loss="quantile", max_iter=50, random_state=random_state),
            quantiles=levels,
        ),
    }


#: name -> (family, weighting) of the aggregators of the task.
AGGREGATORS: dict[str, tuple[str, str]] = {
    "best": ("best", "global"),
    "average": ("average", "global"),
    "median": ("median", "global"),
    "qra": ("qra", "global"),
    "coarse": ("coarse", "global"),
    "medium": ("medium", "global"),
    "fine": ("fine", "global"),
    "coarse-local": ("coarse", "local"),
    "medium-local": ("medium", "local"),
}


def quantile_model(name: str, random_state: int, confidence_level: float) -> Any:
    """The unfitted quantile model ``q-<name>`` (a base model or an aggregator), unsorted:
    the task scores it before and after sorting. A Pipeline: median imputation of missing
    features first, so every model runs on every regression dataset."""
    levels = quantile_grid(confidence_level)
    bases = base_models(random_state, levels)
    if name in bases:
        return make_pipeline(_imputer(), CachedFit(bases[name]))
    family, weighting = AGGREGATORS[name]
    aggregator = QuantileAggregator(
        [(base, CachedFit(model)) for base, model in bases.items()],
        quantiles=levels.tolist(),
        family=family,
        weighting=weighting,
        cv=5,
        rearrangement=None,
        max_rows=2000,
        random_state=random_state,
    )
    return make_pipeline(_imputer(), aggregator)


def _imputer() -> SimpleImputer:
    """Median imputation of missing features (communities_crime has them; the forest, kNN,
    linear models and local gating take finite X only); the identity on complete data."""
    return SimpleImputer(strategy="median", keep_empty_features=True)


class ConformalizedQuantiles(RegressorMixin, BaseEstimator):
    """A conformalized quantile vector: CQR (or CV+ CQR) at every symmetric pair of a grid.

    Benchmark-only glue: fits ``ConformalizedQuantileRegressor`` (``cv=None``) or
    ``CrossConformalizedQuantileRegressor`` (``cv`` folds) around ``estimator`` at the
    confidence levels of the grid's pairs and returns their ends and median, not rearranged.

    Parameters
    ----------
    estimator : quantile model
    quantiles : array-like of float
        A grid symmetric about 0.5.
    cv : int or None, default=None
    random_state : int, default=None
    """

    def __init__(
        self, estimator: Any, quantiles: Any, cv: int | None = None, random_state: Any = None
    ) -> None:
        self.estimator = estimator
        self.quantiles = quantiles
        self.cv = cv
        self.random_state = random_state

    def _levels(self) -> list[float]:
        lower = [q for q in self.quantiles if q < 0.5]
        return sorted({round(1 - 2 * q, 12) for q in lower})

    def fit(self, X: ArrayLike, y: ArrayLike) -> ConformalizedQuantiles:
        """Fit the conformalized model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : ConformalizedQuantiles
        """
        if self.cv is None:
            model: Any = ConformalizedQuantileRegressor(
                self.estimator, confidence_level=self._levels(), random_state=self.random_state
            )
        else:
            model = CrossConformalizedQuantileRegressor(
                self.estimator,
                confidence_level=self._levels(),
                cv=self.cv,
                random_state=self.random_state,
            )
        self.model_ = model.fit(X, y)
        return self

    def predict_quantiles(
        self, X: ArrayLike, quantiles: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """The calibrated ends and the median, not rearranged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        quantiles : array-like of float, default=None

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_quantiles)
        """
        return np.asarray(
            self.model_.predict_quantiles(
                X, self.quantiles if quantiles is None else quantiles, rearrangement=None
            )
        )


def predict_quantile_grid(estimator: Any, X: Any, confidence_level: float) -> np.ndarray:
    """``(n, Q)`` quantiles at :func:`quantile_grid`, as the method gives them (unsorted)."""
    return predict_quantiles_of(estimator, X, quantile_grid(confidence_level))


def score_quantiles(
    estimator: Any, y: np.ndarray, predictions: np.ndarray, confidence_level: float
) -> dict[str, float]:
    """WIS before and after sorting, pinball loss, crossing rate, and the level's interval."""
    levels = quantile_grid(confidence_level)
    ordered = np.sort(predictions, axis=1)
    a = 1.0 - confidence_level
    lo = int(np.abs(levels - a / 2).argmin())
    hi = int(np.abs(levels - (1 - a / 2)).argmin())
    intervals = ordered[:, [lo, hi]]
    width = float(mean_width(intervals))
    spread = float(np.std(y))
    return {
        "wis": quantile_weighted_interval_score(y, ordered, levels),
        "wis_unsorted": quantile_weighted_interval_score(y, predictions, levels),
        "pinball": float(mean_pinball_loss(y, ordered, levels)),
        "crossing_rate": float((np.diff(predictions, axis=1) < 0).any(axis=1).mean()),
        "coverage": float(coverage(y, intervals)),
        "mean_width": width,
        "normalized_width": width / spread if spread > 0 else float("nan"),
    }


_BASE_DESCRIPTIONS = {
    "forest": "quantile regression forest (Meinshausen 2006), 100 trees, min_samples_leaf=5",
    "knn": "30-nearest-neighbour quantiles on standardised features",
    "linear": "linear quantile regression (statsmodels QuantReg), one fit per level",
    "gaussian": "conditional Gaussian: boosted mean + boosted out-of-fold scale",
    "gbm": "HistGradientBoostingRegressor(loss='quantile', max_iter=50), one clone per level",
}
_AGGREGATOR_DESCRIPTIONS = {
    "best": "the base model with the lowest out-of-fold pinball loss",
    "average": "average of the five base models' quantiles",
    "median": "median of the five base models' quantiles",
    "qra": "quantile regression averaging (a linear quantile regression per level)",
    "coarse": "one simplex weight per base model (global)",
    "medium": "one simplex weight per base model and level (global)",
    "fine": "weights over every base model and level for each level (global)",
    "coarse-local": "one weight per base model, a softmax-linear function of x",
    "medium-local": "one weight per base model and level, a softmax-linear function of x",
}

for _name, _text in {**_BASE_DESCRIPTIONS, **_AGGREGATOR_DESCRIPTIONS}.items():
    register_method(
        f"q-{_name}",
        (lambda random_state, level, name=_name: quantile_model(name, random_state, level)),
        description=_text,
        task="quantile",
        needs_level=True,
    )

for _name in ("forest", "gbm", "best", "average", "qra", "medium", "fine", "medium-local"):
    register_method(
        f"cqr-{_name}",
        (
            lambda random_state, level, name=_name: ConformalizedQuantiles(
                quantile_model(name, random_state, level),
                quantile_grid(level).tolist(),
                random_state=random_state,
            )
        ),
        description=f"CQR at the grid's nine pairs around q-{_name}",
        task="quantile",
        needs_level=True,
    )

register_method(
    "cvplus-medium",
    lambda random_state, level: ConformalizedQuantiles(
        quantile_model("medium", random_state, level),
        quantile_grid(level).tolist(),
        cv=5,
        random_state=random_state,
    ),
    description="CV+ CQR (5 folds) at the grid's nine pairs around q-medium",
    task="quantile",
    needs_level=True,
    on_request=True,
)

__all__ = [
    "AGGREGATORS",
    "QUANTILE_GRID",
    "CachedFit",
    "ConformalizedQuantiles",
    "base_models",
    "predict_quantile_grid",
    "quantile_grid",
    "quantile_model",
    "score_quantiles",
]
