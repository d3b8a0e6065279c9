"""The quantile-model protocol: ``predict_quantiles(X, quantiles) -> (n, Q)``.

Every quantile model of the package (forests, nearest neighbours, linear quantile regression,
the conditional Gaussian, :class:`QuantileAggregator`) implements it, and every consumer (CQR,
CV+ CQR, the aggregator, missing-data CQR) calls it. A model that only has a quantile
*parameter* (scikit-learn's ``QuantileRegressor``, ``HistGradientBoostingRegressor(loss=
"quantile")``, LightGBM) joins through :class:`MultiLevelQuantileRegressor`: one clone per level.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..base import fit_with_weights

__all__ = [
    "MultiLevelQuantileRegressor",
    "QuantileModel",
    "QuantileModels",
    "as_quantile_model",
    "check_quantiles",
    "is_quantile_model",
    "merge_quantiles",
    "predict_quantiles_of",
    "quantile_parameter",
]

#: Two levels closer than this are the same level (``1 - 0.95`` is 0.050000000000000044).
LEVEL_TOLERANCE = 1e-9


@runtime_checkable
class QuantileModel(Protocol):
    """A regressor that predicts several conditional quantiles at once (a typing protocol).

    Every quantile model of :mod:`conformal.aggregation` satisfies it; any class of your own
    with these two methods (and scikit-learn's ``get_params``) works wherever one is expected.
    """

    def fit(self, X: Any, y: Any) -> Any:  # pragma: no cover - protocol
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : object
        """
        ...

    def predict_quantiles(
        self, X: Any, quantiles: ArrayLike | None = None
    ) -> NDArray[np.float64]:  # pragma: no cover - protocol
        """Predicted quantiles, one column per level.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        quantiles : array-like of float, default=None
            Strictly increasing levels in (0, 1); ``None``: the model's own levels.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_quantiles)
        """
        ...


def quantile_parameter(estimator: Any, quantile_param: str | None) -> str:
    """The name of the parameter that sets ``estimator``'s quantile level.

    Parameters
    ----------
    estimator : regressor
    quantile_param : str or None
        The name to use (nested names such as ``"model__quantile"`` work for pipelines); wins
        when given. ``None``: ``quantile``, or ``alpha`` with ``loss="quantile"``, is detected.

    Returns
    -------
    name : str

    Raises
    ------
    ValueError
        When ``quantile_param`` is not a parameter of ``estimator``, the model's ``loss`` is
        not ``"quantile"``, or no quantile parameter can be found.

    Examples
    --------
    >>> from sklearn.ensemble import GradientBoostingRegressor
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from conformal.aggregation import quantile_parameter
    >>> quantile_parameter(QuantileRegressor(), None)
    'quantile'
    >>> quantile_parameter(GradientBoostingRegressor(loss="quantile"), None)
    'alpha'
    """
    name = type(estimator).__name__
    shallow = estimator.get_params(deep=False)
    if quantile_param is not None:
        deep = estimator.get_params(deep=True)
        if quantile_param not in deep:
            raise ValueError(
                f"quantile_param={quantile_param!r} is not a parameter of {name}; its "
                f"parameters are {sorted(deep)}."
            )
        return quantile_param
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        # The last step sets the level: its parameter, prefixed with the step's name.
        step, final = estimator.steps[-1]
        return f"{step}__{quantile_parameter(final, None)}"
    if shallow.get("loss", "quantile") != "quantile":
        raise ValueError(
            f"{name}(loss={shallow['loss']!r}) does not fit quantiles; a quantile model needs "
            f"{name}(loss='quantile')."
        )
    if "quantile" in shallow:
        return "quantile"
    if "alpha" in shallow and shallow.get("loss") == "quantile":
        return "alpha"
    raise ValueError(
        f"Cannot tell which parameter of {name} sets the quantile level: it has neither "
        "'quantile' nor 'alpha' with loss='quantile'. Pass quantile_param='<name>' (e.g. "
        "quantile_param='alpha' for LightGBM's LGBMRegressor(objective='quantile')), or use a "
        "model that predicts quantiles itself (conformal.aggregation: QuantileForestRegressor, "
        "KNeighborsQuantileRegressor, LinearQuantileRegressor, ...)."
    )


class QuantileModels(dict[float, Any]):
    """Fitted quantile models keyed by their quantile level (a float).

    A float computed another way (``1 - 0.95`` is 0.050000000000000044) still finds the model:
    lookups match a fitted level within ``1e-9``, far below any two distinct levels one would
    fit. Iterating gives the levels as plain floats.

    Examples
    --------
    >>> from conformal.aggregation import QuantileModels
    >>> models = QuantileModels({0.05: "lower", 0.95: "upper"})
    >>> models[1 - 0.95], 0.05 in models, sorted(models)
    ('lower', True, [0.05, 0.95])
    """

    _TOLERANCE = 1e-9

    def _key(self, level: Any) -> Any:
        try:
            value = float(level)
        except (TypeError, ValueError):
            return level
        for key in dict.keys(self):
            if abs(key - value) <= self._TOLERANCE:
                return key
        return level

    def __getitem__(self, level: Any) -> Any:
        key = self._key(level)
        if not dict.__contains__(self, key):
            raise KeyError(
                f"no quantile model at level {level!r}; the fitted quantile levels are "
                f"{sorted(dict.keys(self))}."
            )
        return dict.__getitem__(self, key)

    def __contains__(self, level: object) -> bool:
        return dict.__contains__(self, self._key(level))

    def get(self, level: Any, default: Any = None) -> Any:
        return self[level] if level in self else default


def _final_step(estimator: Any) -> Any:
    """The model that predicts: the last step of a (nested) Pipeline, the model inside a
    ``FrozenEstimator``, else ``estimator`` itself."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline

    while True:
        if isinstance(estimator, FrozenEstimator):
            estimator = estimator.estimator
        elif isinstance(estimator, Pipeline):
            estimator = estimator.steps[-1][1]
        else:
            return estimator


def median_level(levels: NDArray[np.float64]) -> float:
    """The fitted level that stands for the median: 0.5 if fitted, else the nearest one (the
    lower of two equally near). What ``predict`` of a model with fixed levels returns."""
    return float(levels[int(np.abs(np.asarray(levels) - 0.5).argmin())])


def per_level_models(model: Any) -> QuantileModels:
    """The per-level clones of a :class:`MultiLevelQuantileRegressor` (the ``estimators_`` of
    the CQR estimators); an AttributeError for a model that predicts its levels itself."""
    models = getattr(model, "estimators_", None)
    if not isinstance(models, QuantileModels):
        raise AttributeError(
            f"{type(model).__name__} predicts its quantiles itself: there is no model per "
            "level; use quantile_model_.predict_quantiles(X, quantiles)."
        )
    return models


def pair_bands(model: Any, X: Any, pairs: list[tuple[float, float]]) -> list[NDArray[np.float64]]:
    """``(n, 2)`` bands ``[min, max]`` of each ``(lower, upper)`` level pair, from ONE
    ``predict_quantiles`` call for all of them (a forest applies its trees, an aggregator
    predicts its base models, once per ``X``). ``min``/``max`` rearranges crossing pairs
    (Chernozhukov, Fernandez-Val and Galichon 2010)."""
    levels = merge_quantiles(*pairs)
    predicted = predict_quantiles_of(model, X, levels)
    bands = []
    for lo, hi in pairs:
        lower = predicted[:, level_positions(levels, np.array([lo]), "the quantile model")[0]]
        upper = predicted[:, level_positions(levels, np.array([hi]), "the quantile model")[0]]
        bands.append(np.column_stack([np.minimum(lower, upper), np.maximum(lower, upper)]))
    return bands


def _contains_frozen(estimator: Any) -> bool:
    """Whether a ``FrozenEstimator`` is on the path from ``estimator`` to its final step."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline

    while isinstance(estimator, (FrozenEstimator, Pipeline)):
        if isinstance(estimator, FrozenEstimator):
            return True
        estimator = estimator.steps[-1][1]
    return False


def is_quantile_model(estimator: Any) -> bool:
    """Whether ``estimator`` predicts several quantiles: it has ``predict_quantiles``, or is a
    ``Pipeline`` or ``FrozenEstimator`` around such a model.

    Parameters
    ----------
    estimator : object

    Returns
    -------
    answer : bool

    Examples
    --------
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from conformal.aggregation import KNeighborsQuantileRegressor, is_quantile_model
    >>> is_quantile_model(KNeighborsQuantileRegressor()), is_quantile_model(QuantileRegressor())
    (True, False)
    >>> is_quantile_model(make_pipeline(StandardScaler(), KNeighborsQuantileRegressor()))
    True
    """
    return callable(getattr(_final_step(estimator), "predict_quantiles", None))


def predict_quantiles_of(
    model: Any, X: Any, quantiles: ArrayLike | None = None
) -> NDArray[np.float64]:
    """``model.predict_quantiles(X, quantiles)`` as float64, for a quantile model, or a fitted
    ``Pipeline`` (its transformers applied first) or ``FrozenEstimator`` around one: what every
    consumer of the protocol calls, since scikit-learn's ``Pipeline`` forwards only its own
    methods.

    Parameters
    ----------
    model : fitted quantile model, or Pipeline / FrozenEstimator around one
    X : array-like of shape (n_samples, n_features)
    quantiles : array-like of float, default=None
        Levels; ``None``: the model's own.

    Returns
    -------
    predictions : ndarray of shape (n_samples, n_quantiles)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from conformal.aggregation import KNeighborsQuantileRegressor, predict_quantiles_of
    >>> X, y = np.arange(20.0).reshape(-1, 1), np.arange(20.0)
    >>> model = make_pipeline(StandardScaler(), KNeighborsQuantileRegressor(n_neighbors=5))
    >>> predict_quantiles_of(model.fit(X, y), [[10.0]], [0.1, 0.5, 0.9])
    array([[ 8., 10., 12.]])
    """
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline

    if isinstance(model, FrozenEstimator):
        return predict_quantiles_of(model.estimator, X, quantiles)
    if isinstance(model, Pipeline):
        if len(model.steps) > 1:
            X = model[:-1].transform(X)
        return predict_quantiles_of(model.steps[-1][1], X, quantiles)
    return np.asarray(model.predict_quantiles(X, quantiles), dtype=np.float64)


def check_quantiles(quantiles: Any, name: str = "quantiles") -> NDArray[np.float64]:
    """Quantile levels as a 1-d float array, strictly increasing, each in the open interval (0, 1).

    Parameters
    ----------
    quantiles : float or array-like of float
        The levels. A scalar is one level.
    name : str, default="quantiles"
        The parameter's name, for the error message.

    Returns
    -------
    quantiles : ndarray of shape (n_quantiles,)

    Raises
    ------
    ValueError
        When a level is not a finite number in (0, 1), when the levels are not strictly
        increasing (unsorted or duplicated), or when there are none.

    Examples
    --------
    >>> from conformal.aggregation import check_quantiles
    >>> check_quantiles([0.05, 0.5, 0.95])
    array([0.05, 0.5 , 0.95])
    """
    try:
        if np.asarray(quantiles).dtype.kind not in "iuf":  # no strings, objects or booleans
            raise TypeError
        levels = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}={quantiles!r} must be numbers in (0, 1), e.g. {name}=[0.05, 0.5, 0.95]."
        ) from None
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-d sequence of levels in (0, 1); got shape "
            f"{levels.shape}. E.g. {name}=[0.05, 0.5, 0.95]."
        )
    if not np.isfinite(levels).all():
        raise ValueError(f"{name} must be finite numbers in (0, 1); got {levels.tolist()}.")
    bad = (levels <= 0) | (levels >= 1)
    if bad.any():
        raise ValueError(
            f"{name} must lie strictly between 0 and 1; got {levels[bad].tolist()}. A level of "
            "0 or 1 is an unbounded quantile; use e.g. 0.01 and 0.99."
        )
    steps = np.diff(levels)
    if (steps <= LEVEL_TOLERANCE).any():
        kind = "duplicated" if (np.abs(steps) <= LEVEL_TOLERANCE).any() else "unsorted"
        raise ValueError(
            f"{name} must be strictly increasing; got {kind} levels {levels.tolist()}. Pass "
            f"sorted distinct levels, e.g. {name}=sorted(set(levels))."
        )
    return levels


def merge_quantiles(*groups: Any) -> NDArray[np.float64]:
    """Sorted union of level groups, levels within ``1e-9`` counted once (``None`` is skipped).

    Parameters
    ----------
    *groups : float, array-like of float or None
        Groups of levels.

    Returns
    -------
    levels : ndarray of shape (n_levels,)

    Examples
    --------
    >>> from conformal.aggregation import merge_quantiles
    >>> merge_quantiles([0.05, 0.95], [1 - 0.95, 0.5], None)
    array([0.05, 0.5 , 0.95])
    """
    values = sorted(float(q) for group in groups if group is not None for q in np.atleast_1d(group))
    merged: list[float] = []
    for q in values:
        if not merged or q - merged[-1] > LEVEL_TOLERANCE:
            merged.append(q)
    return np.asarray(merged, dtype=np.float64)


def level_positions(fitted: NDArray[np.float64], wanted: NDArray[np.float64], owner: str) -> Any:
    """Positions of ``wanted`` levels among ``fitted`` ones (each within ``1e-9``).

    Raises
    ------
    ValueError
        Naming the levels that were not fitted, and the fix.
    """
    fitted = np.asarray(fitted, dtype=np.float64)
    gaps = np.abs(fitted[None, :] - np.asarray(wanted, dtype=np.float64)[:, None])
    positions = gaps.argmin(axis=1)
    missing = gaps[np.arange(len(wanted)), positions] > LEVEL_TOLERANCE
    if missing.any():
        raise ValueError(
            f"{owner} was fitted at quantiles {fitted.tolist()} and cannot predict "
            f"{np.asarray(wanted)[missing].tolist()}; refit with quantiles that include them."
        )
    return positions


class MultiLevelQuantileRegressor(RegressorMixin, BaseEstimator):
    """Any model with a quantile parameter as a quantile model: one clone per level.

    Parameters
    ----------
    estimator : regressor, default=None
        A model whose quantile level is a parameter (``quantile`` for scikit-learn's
        ``QuantileRegressor`` and ``HistGradientBoostingRegressor(loss="quantile")``, ``alpha``
        for ``GradientBoostingRegressor(loss="quantile")``, found automatically; otherwise
        name it in ``quantile_param``). ``None`` means
        ``HistGradientBoostingRegressor(loss="quantile")``.
    quantiles : array-like of float, default=(0.05, 0.5, 0.95)
        The levels to fit, strictly increasing in (0, 1).
    quantile_param : str, default=None
        Name of the estimator's quantile parameter (nested names such as
        ``"model__quantile"`` work for pipelines). ``None`` detects ``quantile`` / ``alpha``.

    Attributes
    ----------
    estimators_ : QuantileModels
        The fitted clones by level (a dict of float to regressor; a lookup matches a level
        within 1e-9).
    quantiles_ : ndarray of shape (n_quantiles,)
        The fitted levels.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from conformal.aggregation import MultiLevelQuantileRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, size=(200, 1))
    >>> y = 2 * X[:, 0] + rng.normal(scale=0.1, size=200)
    >>> model = MultiLevelQuantileRegressor(
    ...     QuantileRegressor(alpha=0.0), quantiles=[0.1, 0.5, 0.9]
    ... ).fit(X, y)
    >>> model.predict_quantiles([[0.5]]).round(2)
    array([[0.89, 0.98, 1.12]])
    """

    def __init__(
        self,
        estimator: Any = None,
        quantiles: Any = (0.05, 0.5, 0.95),
        *,
        quantile_param: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.quantiles = quantiles
        self.quantile_param = quantile_param

    def _resolved(self) -> Any:
        if self.estimator is None:
            from sklearn.ensemble import HistGradientBoostingRegressor

            return HistGradientBoostingRegressor(loss="quantile")
        return self.estimator

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> MultiLevelQuantileRegressor:
        """Fit one clone of ``estimator`` per level.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to each clone's ``fit``.

        Returns
        -------
        self : MultiLevelQuantileRegressor
        """
        estimator = self._resolved()
        levels = check_quantiles(self.quantiles)
        param = quantile_parameter(estimator, self.quantile_param)
        weights = None if sample_weight is None else np.asarray(sample_weight)
        self.estimators_ = QuantileModels(
            (
                float(q),
                fit_with_weights(clone(estimator).set_params(**{param: float(q)}), X, y, weights),
            )
            for q in levels
        )
        self._set_fitted(levels)
        return self

    def _set_fitted(self, levels: NDArray[np.float64]) -> None:
        self.quantiles_ = np.asarray(levels, dtype=np.float64)
        first = next(iter(self.estimators_.values()))
        if hasattr(first, "n_features_in_"):
            self.n_features_in_ = first.n_features_in_
        if hasattr(first, "feature_names_in_"):
            self.feature_names_in_ = first.feature_names_in_

    @classmethod
    def from_fitted(cls, models: dict[float, Any]) -> MultiLevelQuantileRegressor:
        """A fitted adapter around already fitted models keyed by level (e.g. frozen models).

        Parameters
        ----------
        models : dict of float to fitted regressor
            One model per level.

        Returns
        -------
        adapter : MultiLevelQuantileRegressor
            Fitted: ``predict_quantiles`` works at once.
        """
        adapter = cls(estimator=None, quantiles=sorted(models))
        adapter.estimators_ = QuantileModels(sorted(models.items()))
        adapter._set_fitted(check_quantiles(sorted(models)))
        return adapter

    def predict_quantiles(
        self, X: ArrayLike, quantiles: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Predictions of the fitted levels ``quantiles`` (default: all fitted levels).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        quantiles : array-like of float, default=None
            Fitted levels, strictly increasing; ``None`` means ``quantiles_``.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_quantiles)
            Column ``j`` is the model of level ``quantiles[j]``; not rearranged (columns can
            cross).

        Raises
        ------
        ValueError
            For a level that was not fitted.
        """
        check_is_fitted(self, "estimators_")
        wanted = self.quantiles_ if quantiles is None else check_quantiles(quantiles)
        positions = level_positions(self.quantiles_, wanted, type(self).__name__)
        models = [self.estimators_[float(self.quantiles_[i])] for i in positions]
        columns = [np.asarray(model.predict(X), dtype=np.float64).ravel() for model in models]
        return np.column_stack(columns)

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The median model's predictions (or the middle fitted level's, without 0.5).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimators_")
        model = self.estimators_[median_level(self.quantiles_)]
        return np.asarray(model.predict(X), dtype=np.float64).ravel()


def as_quantile_model(estimator: Any, quantiles: Any, *, quantile_param: str | None = None) -> Any:
    """An unfitted quantile model that will predict at least ``quantiles``.

    A model with ``predict_quantiles`` is cloned; if it has a ``quantiles`` parameter, the
    levels asked for are added to its own (so an aggregator fits the weights the caller needs).
    Any other model is wrapped in :class:`MultiLevelQuantileRegressor` (one clone per level).

    Parameters
    ----------
    estimator : regressor
    quantiles : array-like of float
        Levels the caller will ask ``predict_quantiles`` for.
    quantile_param : str, default=None
        The quantile parameter of a model without ``predict_quantiles``. An error for a model
        that has it (the model predicts its levels itself).

    Returns
    -------
    model : estimator with ``fit`` and ``predict_quantiles``

    Raises
    ------
    ValueError
        For a model with neither ``predict_quantiles`` nor a recognisable quantile parameter.

    Examples
    --------
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from conformal.aggregation import as_quantile_model
    >>> as_quantile_model(QuantileRegressor(alpha=0.0), [0.05, 0.95]).quantiles
    [0.05, 0.95]
    """
    levels = check_quantiles(merge_quantiles(quantiles))
    if is_quantile_model(estimator):
        if quantile_param is not None:
            raise ValueError(
                f"quantile_param={quantile_param!r} was given but {type(estimator).__name__} "
                "predicts its quantiles itself (it has predict_quantiles); drop quantile_param."
            )
        model = clone(estimator)
        final = _final_step(model)
        params = final.get_params(deep=False)
        # A frozen model is not cloned (clone returns it): never write levels onto it; it
        # predicts the levels it can.
        if "quantiles" in params and not _contains_frozen(model):
            final.set_params(quantiles=merge_quantiles(params["quantiles"], levels).tolist())
        return model
    quantile_parameter(estimator, quantile_param)  # the error for a model without one, now
    return MultiLevelQuantileRegressor(
        estimator, quantiles=levels.tolist(), quantile_param=quantile_param
    )
