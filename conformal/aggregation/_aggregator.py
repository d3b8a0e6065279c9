"""QuantileAggregator: weighted ensembles of quantile models fitted on out-of-fold pinball loss
(Fakoor, Kim, Mueller, Smola and Tibshirani, JMLR 2023)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

import joblib
import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import RegressorMixin
from sklearn.frozen import FrozenEstimator
from sklearn.utils import Bunch, check_array, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted, validate_data

from .._folds import fit_on_rows, fold_assignment, resolve_splits
from .._validation import as_rows, check_same_rows, check_target, n_rows, take
from ..exceptions import warn_conformal
from ._baselines import average_weights, best_weights, fit_qra
from ._global_weights import block_problems, combine, fit_global_weights
from ._local_weights import fit_gate, gate_weights
from ._protocol import (
    as_quantile_model,
    check_quantiles,
    level_positions,
    median_level,
    predict_quantiles_of,
)
from ._rearrangement import rearrange_quantiles

__all__ = ["QuantileAggregator"]

_WEIGHTED = ("coarse", "medium", "fine")
#: Parameters that only the weights depend on: refit_weights may change them.
_WEIGHT_ONLY = ("family", "weighting", "alpha", "max_rows", "rearrangement", "n_jobs")
_BASELINES = ("best", "average", "median", "qra")


class QuantileAggregator(RegressorMixin, _BaseComposition):
    """Aggregate quantile models with weights fitted on out-of-fold pinball loss.

    Fit: ``cv``-fold out-of-fold predictions of every base model at every level (``n``, ``p``,
    ``Q``); aggregation weights minimising the summed pinball loss (equivalently the weighted
    interval score) of the aggregated quantiles on them; then every base model refitted on all
    the data. Predict: the refitted models' quantiles, aggregated, then rearranged so that they
    do not cross (which never increases the pinball loss).

    The families (Fakoor et al. 2023, Table 1; weights on the simplex):

    - ``"coarse"``: ``q(x, t) = sum_j w_j q_j(x, t)``, one weight per model;
    - ``"medium"``: ``q(x, t) = sum_j w_{j,t} q_j(x, t)``, one weight per model and level;
    - ``"fine"``: ``q(x, t) = sum_j sum_v w_{j,t,v} q_j(x, v)``, every level of every model
      may enter every output level.

    They nest (fine contains medium contains coarse contains each single model), so on the
    out-of-fold predictions the fitted loss decreases from coarse to fine; out of sample the
    richer families can overfit with few rows. Baselines by name: ``"best"`` (the single model
    with the lowest out-of-fold summed pinball loss), ``"average"``, ``"median"`` (of the base
    quantiles, per level), ``"qra"`` (quantile regression averaging: per level, an unpenalised
    linear quantile regression of y on the ``p`` base quantiles, with an intercept).

    Parameters
    ----------
    estimators : list of estimators or of (str, estimator) pairs
        The base quantile models. Each either has ``predict_quantiles`` (a quantile model of
        this package; its own ``quantiles`` are extended by ours) or a quantile parameter
        (scikit-learn's ``QuantileRegressor``, ``HistGradientBoostingRegressor(loss=
        "quantile")``...), then it is fitted once per level through
        :class:`MultiLevelQuantileRegressor`. A ``Pipeline`` ending in a quantile model is a
        quantile model. Names default to the lower-cased class names, made unique with
        ``-1``, ``-2``... (skipping the names given in pairs). Names must be unique, must not
        contain ``"__"`` and must not be a parameter name of this class. Base-model parameters
        are set by name, as in scikit-learn's ``VotingRegressor``:
        ``set_params(knn__n_neighbors=5)`` (default names work too), so ``GridSearchCV`` can tune
        them; ``set_params(knn=other)`` replaces a model. Never fitted themselves: clones are.
        A ``FrozenEstimator`` is not refitted per fold, so its "out-of-fold" predictions are
        in-sample on rows it was trained on (a :class:`~conformal.ConformalWarning` says so).
    quantiles : array-like of float, default=(0.05, 0.5, 0.95)
        The levels aggregated, strictly increasing in (0, 1). Only these can be predicted:
        the fine family mixes levels, and all weights are fitted for this set.
    family : {"coarse", "medium", "fine", "best", "average", "median", "qra"}, \
            default="medium"
        The aggregation family or baseline (see above). ``"medium"`` by default: the paper's
        strongest family for its cost, solved exactly.
    weighting : {"global", "local"}, default="global"
        ``"global"``: constant weights, the exact solution of one linear program (coarse) or
        one per level (medium, fine), solved with HiGHS. ``"local"``: weights that depend on x
        through a softmax-linear gating model of the standardised features (needs numeric,
        finite ``X``), fitted with L-BFGS-B on a smoothed pinball loss from the global
        solution, with an L2 penalty ``alpha`` on its slopes. Only the coarse, medium and fine
        families have local weights; a baseline with ``"local"`` is an error.
    cv : int, "loo", cross-validation splitter or iterable of (train, test) splits, default=5
        The folds of the out-of-fold predictions. An int is ``KFold(cv, shuffle=True)``
        seeded by ``random_state``; ``"loo"`` is leave-one-out (``n`` fits per model); the
        test folds must partition the rows.
    rearrangement : {"sort", "isotonic"} or None, default="sort"
        Applied to each row of aggregated quantiles at predict (see
        :func:`~conformal.aggregation.rearrange_quantiles`); ``None`` leaves crossings.
    alpha : float, default=0.01
        L2 penalty on the slopes of the local gating model, relative to the mean pinball loss
        per row and level in units of y's standard deviation (a slope of 1, one unit of logit
        per standard deviation of a feature, costs ``alpha / 2``). Large ``alpha`` gives the
        global weights back. Ignored with ``weighting="global"``.
    max_rows : int, default=None
        Fit the weights on a random subsample of at most this many rows of out-of-fold
        predictions (drawn with ``random_state``); ``None`` uses all. The base models always
        use all rows. At least ``n_estimators + 1`` (QRA fits ``n_estimators + 1``
        coefficients per level; fewer rows than that leave the weights underdetermined). The
        LPs grow with ``n * Q`` (coarse: one LP over all levels) or with
        ``n`` and ``p * Q`` candidates (fine: one LP per level). Measured on 2 shared cores:
        n = 2,000, p = 4, Q = 19 takes 0.4 s (coarse), 0.4 s (medium), 3.3 s (fine); n = 5,000,
        p = 5, Q = 99 takes 10-20 s (coarse), 9 s (medium) and about 3 minutes (fine, 1.8 s
        per level), so set ``max_rows`` (e.g. 2,000) for fine with many levels.
    n_jobs : int, default=None
        Base-model fits run in parallel through joblib (``None``: one job, unless in a
        ``joblib.parallel_config`` context).
    random_state : int, RandomState instance or None, default=None
        Seeds the default folds and the ``max_rows`` subsample.

    Attributes
    ----------
    estimators_ : list of estimators
        The base quantile models refitted on all the data, in order.
    named_estimators_ : Bunch
        The same, by name.
    quantiles_ : ndarray of shape (n_quantiles,)
        The fitted levels.
    oof_predictions_ : ndarray of shape (n_samples, n_estimators, n_quantiles)
        Out-of-fold predictions of each base model at each level (not rearranged): for
        diagnostics and cross-conformal (CV+) calibration.
    fold_of_ : ndarray of shape (n_samples,)
        The fold in which each row was predicted.
    weights_ : ndarray or None
        The global weights: shape ``(n_estimators,)`` for coarse, best and average;
        ``(n_quantiles, n_estimators)`` for medium and for QRA's coefficients (not on the
        simplex); ``(n_quantiles, n_estimators, n_quantiles)`` for fine, where
        ``weights_[t, j, v]`` weighs model ``j``'s level ``v`` in output level ``t``; ``None``
        for the median. Each row ``weights_[t]`` of a family sums to one. With
        ``weighting="local"``, the starting point of the gating model.
    intercept_ : ndarray of shape (n_quantiles,)
        QRA's intercepts (``family="qra"`` only).
    gate_coef_ : ndarray of shape (n_blocks, n_features + 1, n_candidates)
        Local gating coefficients (``weighting="local"`` only): one block for coarse, one per
        level for medium and fine; row 0 holds the intercepts, the others the slopes of the
        standardised features; ``n_candidates`` is ``n_estimators`` (coarse, medium) or
        ``n_estimators * n_quantiles`` (fine).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when ``X`` has string column names.

    See Also
    --------
    MultiLevelQuantileRegressor : one clone per level of a model with a quantile parameter.
    conformal.ConformalizedQuantileRegressor : calibrates the intervals of a quantile model.

    Notes
    -----
    The global weights are exact: each problem ``min_w sum psi_t(y - F w)`` over the simplex is
    a linear program, solved in its dual form (``m`` constraints for ``m`` candidate columns,
    box-bounded variables for the residuals), from which HiGHS's multipliers are the optimal
    weights. The out-of-fold loss of the fitted weights is in-sample for the weights, so
    compare families on held-out data (the richer ones have more weights: ``p``, ``p Q`` and
    ``p Q^2``).

    References
    ----------
    .. [1] R. Fakoor, T. Kim, J. Mueller, A. J. Smola and R. J. Tibshirani, "Flexible Model
       Aggregation for Quantile Regression", Journal of Machine Learning Research 24 (2023).
    .. [2] J. Nowotarski and R. Weron, "Computing electricity spot price prediction intervals
       using quantile regression and forecast averaging", Computational Statistics 30 (2015).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import HistGradientBoostingRegressor
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from conformal.aggregation import QuantileAggregator
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, size=(300, 2))
    >>> y = 3 * X[:, 0] + rng.normal(scale=0.2 + X[:, 1], size=300)
    >>> model = QuantileAggregator(
    ...     [QuantileRegressor(alpha=0.0), HistGradientBoostingRegressor(loss="quantile")],
    ...     quantiles=[0.1, 0.5, 0.9],
    ...     family="medium",
    ...     cv=3,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> model.weights_.shape, bool(np.allclose(model.weights_.sum(axis=1), 1.0))
    ((3, 2), True)
    >>> model.predict_quantiles(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints: dict[str, Any] = {
        "estimators": [list],
        "quantiles": ["array-like", Real],
        "family": [StrOptions(set(_WEIGHTED + _BASELINES))],
        "weighting": [StrOptions({"global", "local"})],
        "cv": [
            Interval(Integral, 2, None, closed="left"),
            HasMethods(["split", "get_n_splits"]),
            Iterable,
        ],
        "rearrangement": [StrOptions({"sort", "isotonic"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_rows": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimators: list[Any],
        quantiles: Any = (0.05, 0.5, 0.95),
        *,
        family: str = "medium",
        weighting: str = "global",
        cv: Any = 5,
        rearrangement: str | None = "sort",
        alpha: float = 0.01,
        max_rows: int | None = None,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.estimators = estimators
        self.quantiles = quantiles
        self.family = family
        self.weighting = weighting
        self.cv = cv
        self.rearrangement = rearrangement
        self.alpha = alpha
        self.max_rows = max_rows
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        models = [item[1] if isinstance(item, tuple) else item for item in self.estimators]
        inner = [get_tags(model).input_tags for model in models if hasattr(model, "fit")]
        # Base models see X as given; the local gating model needs a dense finite matrix.
        dense = self.weighting == "local" or not inner
        tags.input_tags.sparse = not dense and all(t.sparse for t in inner)
        tags.input_tags.allow_nan = not dense and all(t.allow_nan for t in inner)
        return tags

    # ------------------------------------------------------------------ parameters

    @property
    def _estimator_pairs(self) -> list[tuple[str, Any]] | None:
        """``estimators`` as ``(name, estimator)`` pairs with the default names filled in, or
        ``None`` while ``estimators`` is malformed (``fit`` then says why)."""
        items = self.estimators
        if not isinstance(items, list) or not items:
            return None
        given: list[str | None] = []
        models = []
        for item in items:
            if isinstance(item, tuple):
                if len(item) != 2 or not isinstance(item[0], str):
                    return None
                given.append(item[0])
                models.append(item[1])
            else:
                given.append(None)
                models.append(item)
        explicit = [name for name in given if name is not None]
        if len(set(explicit)) != len(explicit):
            return None
        return list(zip(_default_names(given, items), models, strict=True))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this aggregator and, with ``deep``, of its base models by name.

        Parameters
        ----------
        deep : bool, default=True
            Also return each base model (under its name, the given one or the default one) and
            its parameters as ``<name>__<parameter>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("_estimator_pairs", deep=deep)

    def set_params(self, **params: Any) -> Any:
        """Set parameters of this aggregator or, by name, of its base models.

        ``<name>__<parameter>`` sets a base model's parameter (e.g. ``knn__n_neighbors=5``);
        ``<name>=estimator`` replaces a base model (an unnamed one becomes the pair
        ``(<name>, estimator)``, so its name stays). Names are the given ones or the defaults
        (lower-cased class names, see ``estimators``).

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : QuantileAggregator
            This aggregator.
        """
        if "estimators" in params:
            self.estimators = params.pop("estimators")
        self._set_params("_estimator_pairs", **params)
        return self

    def _replace_estimator(self, attr: str, name: str, new_val: Any) -> None:
        pairs = self._estimator_pairs or []
        estimators = list(self.estimators)
        for index, (current, _) in enumerate(pairs):
            if current == name:
                estimators[index] = (name, new_val)
                break
        self.estimators = estimators

    # ------------------------------------------------------------------ fit

    def _named_models(self, levels: NDArray[np.float64]) -> tuple[list[str], list[Any]]:
        """Names and unfitted quantile models of ``estimators`` (clones or adapters)."""
        if len(self.estimators) == 0:
            raise ValueError(
                "estimators=[] is empty; QuantileAggregator needs at least one base quantile "
                "model, e.g. estimators=[QuantileRegressor(alpha=0.0), "
                "HistGradientBoostingRegressor(loss='quantile')]."
            )
        names: list[str | None] = []
        models = []
        frozen: list[tuple[int, Any]] = []
        for index, item in enumerate(self.estimators):
            if isinstance(item, tuple):
                if len(item) != 2 or not isinstance(item[0], str):
                    raise ValueError(
                        f"estimators[{index}]={item!r} must be an estimator or a (name, "
                        "estimator) pair with a string name."
                    )
                name, estimator = item
            else:
                name, estimator = None, item
            shown = type(estimator).__name__
            if not callable(getattr(estimator, "fit", None)):
                raise ValueError(
                    f"estimators[{index}]={estimator!r} is not an estimator (it has no fit "
                    "method); pass quantile models or regressors with a quantile parameter."
                )
            try:
                model = as_quantile_model(estimator, levels)
            except ValueError as error:
                raise ValueError(
                    f"estimators[{index}] ({shown}) has no predict_quantiles method and no "
                    f"usable quantile parameter: {error}"
                ) from None
            names.append(name)
            models.append(model)
            if isinstance(estimator, FrozenEstimator):
                frozen.append((index, estimator))
        unique = _unique_names(names, self.estimators, set(self.get_params(deep=False)))
        for index, estimator in frozen:
            inner = type(estimator.estimator).__name__
            warn_conformal(
                f"estimators[{index}] ({unique[index]!r}) is a FrozenEstimator around {inner}: a "
                "frozen model is not refitted per fold, so its out-of-fold predictions are "
                "in-sample on every row it was trained on, and the aggregation weights favour it. "
                f"Pass the unfitted {inner} instead, so that it is refitted out of fold (a frozen "
                "model is only fair if it was trained on other data than X)."
            )
        return unique, models

    def fit(self, X: ArrayLike, y: ArrayLike, *, groups: ArrayLike | None = None) -> Any:
        """Fit the base models out of fold, the aggregation weights, and the base models again.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Passed to the base models as given (DataFrames keep their columns). Numeric and
            finite for ``weighting="local"``.
        y : array-like of shape (n_samples,)
        groups : array-like of shape (n_samples,), default=None
            CV groups, passed to a group splitter's ``split`` (``cv=GroupKFold(5)``).

        Returns
        -------
        self : QuantileAggregator
            The fitted aggregator.

        Raises
        ------
        ValueError
            For invalid quantiles, an empty ``estimators``, duplicated or invalid names, a
            base model with neither ``predict_quantiles`` nor a quantile parameter, ``cv`` with
            more folds than rows, ``max_rows`` below ``n_estimators + 1``, a baseline family
            with ``weighting="local"``, non-numeric ``X`` with ``weighting="local"``, or a
            base model predicting NaN or infinite quantiles.

        Warns
        -----
        ConformalWarning
            For a ``FrozenEstimator`` base model, whose out-of-fold predictions are in-sample
            on the rows it was trained on.
        """
        self._validate_params()
        owner = type(self).__name__
        if y is None:
            raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
        X = as_rows(X)
        validate_data(self, X, reset=True, skip_check_array=True)
        target = check_target(y)
        n = target.shape[0]
        check_same_rows(X, n)
        levels = check_quantiles(self.quantiles)
        self._check_family_weighting()
        features = self._gate_features(X) if self.weighting == "local" else None
        names, models = self._named_models(levels)
        if isinstance(self.cv, str) and self.cv != "loo":
            # A string is an iterable, so the constraints let it through; only "loo" means folds.
            raise ValueError(
                f"The 'cv' parameter of {owner} must be an int >= 2, 'loo', a cross-validation "
                f"splitter or an iterable of (train, test) splits. Got {self.cv!r} instead."
            )
        if isinstance(self.cv, Integral) and int(self.cv) > n:
            raise ValueError(
                f"cv={self.cv} folds need at least {self.cv} samples; {owner} got {n} "
                f"sample{'s' if n != 1 else ''}. Use cv={max(n, 2)} or fewer folds, or more data."
            )
        splits = resolve_splits(self.cv, X, target, self.random_state, groups=groups)
        self.fold_of_ = fold_assignment(splits, n)

        p, Q = len(models), levels.shape[0]
        self._check_max_rows(p)
        # One joblib batch: every (fold, model) fit, then every model on all rows.
        jobs = [(model, train) for _, (train, _) in enumerate(splits) for model in models]
        jobs += [(model, np.arange(n)) for model in models]
        fitted = fit_on_rows(
            [model for model, _ in jobs], X, target, [rows for _, rows in jobs], self.n_jobs
        )
        oof = np.empty((n, p, Q))
        for k, (_, test) in enumerate(splits):
            if test.size == 0:
                continue
            X_test = take(X, test)
            for j in range(p):
                oof[test, j] = _base_quantiles(
                    fitted[k * p + j], X_test, levels, names[j], f"out of fold (fold {k})"
                )
        self.estimators_ = fitted[len(splits) * p :]
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_, strict=True)))
        self.quantiles_ = levels
        self.oof_predictions_ = oof
        self._target_hash = joblib.hash(target)
        self._features_hash = joblib.hash(np.asarray(X))
        self._base_key = self._base_fit_key()
        rows = self._weight_rows(n)
        self._fit_weights(oof[rows], target[rows], None if features is None else features[rows])
        return self

    def refit_weights(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        family: str | None = None,
        weighting: str | None = None,
    ) -> QuantileAggregator:
        """Another aggregation of the same fitted base models, without refitting them.

        The weights of ``family`` / ``weighting`` are fitted on this aggregator's
        ``oof_predictions_``; the base models (``estimators_``) are shared. Comparing the
        families this way costs one weight fit each instead of ``cv + 1`` fits of every base
        model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The features given to :meth:`fit` (checked; used by ``weighting="local"``).
        y : array-like of shape (n_samples,)
            The targets given to :meth:`fit` (checked: the out-of-fold predictions belong to
            them).
        family : str, default=None
            As the constructor's; ``None`` keeps this aggregator's.
        weighting : {"global", "local"}, default=None
            As the constructor's; ``None`` keeps this aggregator's.

        Returns
        -------
        aggregator : QuantileAggregator
            A new fitted aggregator (this one is unchanged), equal to fitting
            ``clone(self).set_params(family=..., weighting=...)`` on ``(X, y)`` when
            ``random_state`` is an int (``max_rows`` subsamples with it).

        Raises
        ------
        ValueError
            When ``X`` or ``y`` is not the data given to :meth:`fit`; when a parameter other
            than ``family``, ``weighting``, ``alpha``, ``max_rows``, ``rearrangement`` or
            ``n_jobs`` changed since :meth:`fit`; for an invalid ``family`` or ``weighting``, a
            baseline with ``weighting="local"``, or too small a ``max_rows``.

        Examples
        --------
        >>> import numpy as np
        >>> from conformal.aggregation import KNeighborsQuantileRegressor, QuantileAggregator
        >>> rng = np.random.default_rng(0)
        >>> X = rng.uniform(size=(200, 2))
        >>> y = X[:, 0] + rng.normal(scale=0.1, size=200)
        >>> models = [KNeighborsQuantileRegressor(n_neighbors=k) for k in (5, 40)]
        >>> medium = QuantileAggregator(models, [0.1, 0.5, 0.9], cv=3, random_state=0).fit(X, y)
        >>> coarse = medium.refit_weights(X, y, family="coarse")
        >>> coarse.weights_.shape, coarse.estimators_ is medium.estimators_
        ((2,), True)
        """
        from sklearn.base import clone

        check_is_fitted(self, "oof_predictions_")
        owner = type(self).__name__
        if self._base_fit_key() != self._base_key:
            raise ValueError(
                f"This {owner}'s parameters changed since fit in what the base models or the "
                "folds depend on (estimators, their parameters, quantiles or cv); refit_weights "
                f"can only change {list(_WEIGHT_ONLY)}. Call fit again."
            )
        target = check_target(y)
        n = self.oof_predictions_.shape[0]
        if target.shape[0] != n:
            raise ValueError(
                f"y has {target.shape[0]} values but this {owner} was fitted on {n}; pass the "
                "same X and y as to fit, or fit a new aggregator."
            )
        X = as_rows(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        if joblib.hash(target) != self._target_hash or (
            joblib.hash(np.asarray(X)) != self._features_hash
        ):
            raise ValueError(
                f"X or y differ from the data this {owner} was fitted on (its out-of-fold "
                "predictions belong to them); pass the same X and y as to fit, or fit a new "
                "aggregator."
            )
        new = clone(self).set_params(
            family=self.family if family is None else family,
            weighting=self.weighting if weighting is None else weighting,
        )
        new._validate_params()
        new._check_family_weighting(
            " (this aggregator's, kept since weighting=None)" if weighting is None else ""
        )
        new._check_max_rows(len(self.estimators_))
        for name in (
            "n_features_in_",
            "feature_names_in_",
            "fold_of_",
            "estimators_",
            "named_estimators_",
            "quantiles_",
            "oof_predictions_",
            "_target_hash",
            "_features_hash",
            "_base_key",
        ):
            if hasattr(self, name):
                setattr(new, name, getattr(self, name))
        features = None
        if new.weighting == "local":  # X was checked against the fitted data above
            features = new._gate_features(X)
        rows = new._weight_rows(target.shape[0])
        new._fit_weights(
            self.oof_predictions_[rows],
            target[rows],
            None if features is None else features[rows],
        )
        return new

    def _check_family_weighting(self, carried: str = "") -> None:
        """Baselines have no weights of x: only ``weighting="global"``."""
        if self.family in _BASELINES and self.weighting != "global":
            raise ValueError(
                f"weighting={self.weighting!r}{carried} is not available for the baseline "
                f"family={self.family!r}, which has no weights of x; pass weighting='global', "
                f"or a family among {list(_WEIGHTED)} for local weights."
            )

    def _check_max_rows(self, p: int) -> None:
        if self.max_rows is not None and self.max_rows < p + 1:
            raise ValueError(
                f"max_rows={self.max_rows} is too few rows to fit the weights of {p} base "
                f"model{'s' if p != 1 else ''}: use max_rows >= {p + 1} (the number of base "
                "models + 1; e.g. 2000 to bound the LPs' cost) or max_rows=None for all rows."
            )

    def _base_fit_key(self) -> str:
        """A hash of what the base models and folds depend on (every parameter but those of
        the weights alone), so that refit_weights can tell whether they still hold."""
        params = self.get_params(deep=True)
        for name in _WEIGHT_ONLY:
            params.pop(name, None)
        return str(joblib.hash(params))

    def _weight_rows(self, n: int) -> NDArray[np.intp]:
        """The rows the weights are fitted on: all, or a ``max_rows`` subsample."""
        if self.max_rows is None or n <= self.max_rows:
            return np.arange(n)
        rng = check_random_state(self.random_state)
        return np.sort(rng.choice(n, size=self.max_rows, replace=False))

    def _gate_features(self, X: Any) -> NDArray[np.float64]:
        """``X`` as a finite float matrix for the gating model (standardised later)."""
        try:
            return np.asarray(check_array(X, dtype=np.float64), dtype=np.float64)
        except (TypeError, ValueError) as error:
            # Same class as check_array's error (a TypeError for objects that are not numbers).
            raise type(error)(
                "weighting='local' fits a gating model of the features and needs numeric, "
                f"finite X ({error}); encode or impute X first (e.g. in a Pipeline), or use "
                "weighting='global'."
            ) from None

    def _fit_weights(
        self, P: NDArray[np.float64], y: NDArray[np.float64], features: NDArray[np.float64] | None
    ) -> None:
        family, levels = self.family, self.quantiles_
        self.weights_: NDArray[np.float64] | None
        if family in _WEIGHTED:
            self.weights_ = fit_global_weights(family, P, y, levels)
        elif family == "best":
            self.weights_ = best_weights(P, y, levels)
        elif family == "average":
            self.weights_ = average_weights(P.shape[1])
        elif family == "median":
            self.weights_ = None
        else:
            self.weights_, self.intercept_ = fit_qra(P, y, levels)
        if features is None:
            return
        # Local gating, in standardised units (simplex weights commute with shift and scale).
        self.feature_mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        self.feature_scale_ = np.where(scale > 0, scale, 1.0)
        y_center, y_scale = float(y.mean()), float(y.std()) or 1.0
        Z = self._design(features)
        coefs = []
        weights = np.asarray(self.weights_)
        for F, taus, index in block_problems(family, (P - y_center) / y_scale, levels):
            start = weights[index].ravel()
            coefs.append(fit_gate(Z, F, (y - y_center) / y_scale, taus, start, self.alpha))
        self.gate_coef_ = np.stack(coefs)

    def _design(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        standardised = (features - self.feature_mean_) / self.feature_scale_
        return np.column_stack([np.ones(features.shape[0]), standardised])

    # ------------------------------------------------------------------ predict

    def _aggregate(self, P: NDArray[np.float64], X: Any) -> NDArray[np.float64]:
        """Aggregated, not rearranged, quantiles ``(n, Q)`` of base predictions ``P``."""
        family = self.family
        if family == "median":
            return np.asarray(np.median(P, axis=1), dtype=np.float64)
        if family == "qra":
            return np.asarray(
                np.einsum("ijt,tj->it", P, np.asarray(self.weights_)) + self.intercept_,
                dtype=np.float64,
            )
        if family in ("best", "average"):
            return combine("coarse", P, np.asarray(self.weights_))
        if self.weighting == "global":
            return combine(family, P, np.asarray(self.weights_))
        Z = self._design(self._gate_features(X))
        out = np.empty((P.shape[0], P.shape[2]))
        blocks = block_problems(family, P, self.quantiles_)
        for (F, _, index), coef in zip(blocks, self.gate_coef_, strict=True):
            values = np.einsum("ikt,ik->it", F, gate_weights(Z, coef))
            out[:, index] = values if isinstance(index, slice) else values[:, 0]
        return out

    def predict_quantiles(
        self, X: ArrayLike, quantiles: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Aggregated quantiles at fitted levels, rearranged with ``rearrangement``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        quantiles : array-like of float, default=None
            Fitted levels, strictly increasing; ``None`` means ``quantiles_``.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_quantiles)
            Column ``j`` is the aggregated quantile at ``quantiles[j]``. The rearrangement runs
            over all fitted levels before the columns are selected.

        Raises
        ------
        ValueError
            For a level that was not fitted.
        """
        check_is_fitted(self, "estimators_")
        X = as_rows(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        wanted = self.quantiles_ if quantiles is None else check_quantiles(quantiles)
        positions = level_positions(self.quantiles_, wanted, type(self).__name__)
        P = np.stack(
            [
                _base_quantiles(model, X, self.quantiles_, name, "at predict")
                for name, model in self.named_estimators_.items()
            ],
            axis=1,
        )
        aggregated = rearrange_quantiles(self._aggregate(P, X), self.rearrangement)
        return np.asarray(aggregated[:, positions], dtype=np.float64)

    def predict_weights(self, X: ArrayLike) -> NDArray[np.float64]:
        """The aggregation weights at each row of ``X`` (constant rows for global weights).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        weights : ndarray of shape (n_samples, *weights_.shape)
            ``weights[i]`` has the layout of ``weights_`` (see Attributes) and sums to one
            over its last axes.

        Raises
        ------
        ValueError
            For ``family="median"`` or ``"qra"``, which have no simplex weights.
        """
        check_is_fitted(self, "estimators_")
        X = as_rows(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        if self.family in ("median", "qra"):
            raise ValueError(
                f"family={self.family!r} has no simplex weights to predict; predict_weights "
                f"works for {list(_WEIGHTED)}, 'best' and 'average'."
            )
        constant = np.asarray(self.weights_)
        if self.weighting == "global":
            return np.broadcast_to(constant, (n_rows(X), *constant.shape)).copy()
        Z = self._design(self._gate_features(X))
        gates = [gate_weights(Z, coef) for coef in self.gate_coef_]
        if self.family == "coarse":
            return gates[0]
        return np.stack(gates, axis=1).reshape(n_rows(X), *constant.shape)

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The aggregated quantile at the fitted level nearest 0.5 (after rearrangement).

        The median when 0.5 is among ``quantiles_``. Otherwise the nearest fitted level; when
        two are equally near (e.g. ``quantiles=[0.1, 0.9]``), the lower one (here 0.1). Fit 0.5,
        or use :meth:`predict_quantiles`, for a point prediction at a chosen level.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimators_")
        return self.predict_quantiles(X, [median_level(self.quantiles_)])[:, 0]


def _base_quantiles(
    model: Any, X: Any, levels: NDArray[np.float64], name: str, where: str
) -> NDArray[np.float64]:
    """A base model's ``(n, Q)`` predictions, checked for shape and finiteness (``where``
    says when they were made, for the error message)."""
    values = predict_quantiles_of(model, X, levels)
    expected = (n_rows(X), levels.shape[0])
    shown = type(model).__name__
    if values.shape != expected:
        raise ValueError(
            f"base model {name!r} ({shown}) returned predict_quantiles of shape "
            f"{values.shape}; expected {expected} (rows, quantiles)."
        )
    finite = np.isfinite(values)
    if not finite.all():
        bad = int((~finite.all(axis=1)).sum())
        with_nan = int(np.isnan(values).any(axis=1).sum())
        with_inf = int(np.isinf(values).any(axis=1).sum())
        raise ValueError(
            f"base model {name!r} ({shown}) predicted non-finite quantiles {where} in {bad} of "
            f"{expected[0]} rows ({with_nan} with NaN, {with_inf} with +-inf, first: row "
            f"{int(np.flatnonzero(~finite.all(axis=1))[0])}). The aggregation weights are fitted "
            "and applied by linear programs and weighted sums of the base quantiles, which "
            "cannot use NaN or infinite values. Fix the base model so that it predicts finite "
            "quantiles at every row (e.g. impute or drop rows it cannot predict), or remove it "
            "from estimators."
        )
    return values


def _unique_names(given: list[str | None], estimators: list[Any], reserved: set[str]) -> list[str]:
    """Given names checked (unique, no ``"__"``, not in ``reserved``, the aggregator's own
    parameters) and kept; missing ones filled in by :func:`_default_names`."""
    explicit = [name for name in given if name is not None]
    for repeated in sorted(set(explicit)):
        if explicit.count(repeated) > 1:
            raise ValueError(
                f"estimator names must be unique; got {repeated!r} {explicit.count(repeated)} "
                "times in estimators. Rename the pairs."
            )
    for name in explicit:
        if "__" in name:
            raise ValueError(
                f"estimator name {name!r} contains '__', which set_params reads as "
                f"<name>__<parameter>; rename the pair (e.g. {name.replace('__', '_')!r})."
            )
        if name in reserved:
            raise ValueError(
                f"estimator name {name!r} is also a parameter of QuantileAggregator, so "
                f"set_params({name}=...) would be ambiguous; rename the pair (e.g. "
                f"{name + '_model'!r})."
            )
    return _default_names(given, estimators)


def _default_names(given: list[str | None], estimators: list[Any]) -> list[str]:
    """``given`` with each missing name replaced by the lower-cased class name, suffixed
    ``-1``, ``-2``... when the class occurs more than once unnamed or the plain name is taken;
    suffixes skip every name already taken, so that all names are distinct (given names
    assumed distinct)."""
    defaults = [type(item).__name__.lower() for item in estimators]
    unnamed = Counter(d for d, g in zip(defaults, given, strict=True) if g is None)
    taken = {name for name in given if name is not None}
    counts: dict[str, int] = {}
    names: list[str] = []
    for default, name in zip(defaults, given, strict=True):
        if name is None:
            name = default
            if unnamed[default] > 1 or default in taken:
                counter = counts.get(default, 0) + 1
                while f"{default}-{counter}" in taken:
                    counter += 1
                counts[default] = counter
                name = f"{default}-{counter}"
            taken.add(name)
        names.append(name)
    return names
