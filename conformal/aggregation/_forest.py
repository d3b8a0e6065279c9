"""Quantile regression forests (Meinshausen 2006) on top of scikit-learn's random forest."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._protocol import check_quantiles

__all__ = ["QuantileForestRegressor"]

# The forest's own parameters, passed through unchanged (warm_start, oob_score and
# monotonic_cst are left out: they describe a mean forest, not a quantile one).
_FOREST_PARAMS = (
    "n_estimators",
    "criterion",
    "max_depth",
    "min_samples_split",
    "min_samples_leaf",
    "min_weight_fraction_leaf",
    "max_features",
    "max_leaf_nodes",
    "min_impurity_decrease",
    "bootstrap",
    "n_jobs",
    "random_state",
    "verbose",
    "ccp_alpha",
    "max_samples",
)


def _leaf_table(
    forest: RandomForestRegressor,
    X: NDArray[Any],
    rank_of: NDArray[np.int64],
    sample_weight: NDArray[np.float64],
    in_bag: bool,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Per tree, leaf -> (rank of the training target, weight within the leaf), as one CSR.

    Returns ``node_offsets`` (T,), ``starts`` (sum of node counts + 1), ``ranks`` and
    ``weights`` (one entry per training row with positive weight per tree, at most n T). Node
    ``v`` of tree ``t`` owns entries ``starts[node_offsets[t] + v]`` to the next start; within a
    leaf the entries are in increasing rank and their weights sum to 1 (internal nodes are empty).
    """
    n = X.shape[0]
    leaves = forest.apply(X)  # (n, T): one call, the trees in parallel (n_jobs)
    node_counts = np.array([tree.tree_.node_count for tree in forest.estimators_], dtype=np.int64)
    node_offsets = np.concatenate(([0], np.cumsum(node_counts)[:-1])).astype(np.int64)
    samples = forest.estimators_samples_ if in_bag and forest.bootstrap else None
    order = np.argsort(rank_of, kind="stable")  # rows in increasing target rank
    counts = np.empty(node_counts.sum(), dtype=np.int64)
    rank_parts = []
    weight_parts = []
    for t, tree_leaves in enumerate(leaves.T):
        if samples is None:
            w = sample_weight
        else:
            # A bootstrap tree is fitted on draws proportional to sample_weight (scikit-learn
            # >= 1.9) with the draw counts as weights: those counts are its training weights.
            w = np.bincount(samples[t], minlength=n).astype(np.float64)
        w_sorted = w[order]
        keep = np.flatnonzero(w_sorted > 0)  # positions in rank order = ranks
        leaf = tree_leaves[order[keep]]
        by_leaf = np.argsort(leaf, kind="stable")  # stable: ranks stay increasing in a leaf
        leaf = leaf[by_leaf]
        kept = keep[by_leaf]
        mass = np.bincount(leaf, weights=w_sorted[kept], minlength=node_counts[t])
        rank_parts.append(kept.astype(np.int64))
        weight_parts.append(w_sorted[kept] / mass[leaf])
        offset = node_offsets[t]
        counts[offset : offset + node_counts[t]] = np.bincount(leaf, minlength=node_counts[t])
    starts = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    return node_offsets, starts, np.concatenate(rank_parts), np.concatenate(weight_parts)


class QuantileForestRegressor(RegressorMixin, BaseEstimator):
    """Quantile regression forest (Meinshausen 2006): every level from one random forest.

    A scikit-learn :class:`~sklearn.ensemble.RandomForestRegressor` is fitted as usual. For a
    point ``x``, training row ``i`` gets the weight

    ``w_i(x) = (1 / T) sum_t c_ti 1{i in leaf_t(x)} / sum_j c_tj 1{j in leaf_t(x)}``

    over the T trees, where ``c_ti`` is the weight tree t was fitted with on row i (see
    ``leaf_samples``), and the conditional quantile at level ``q`` is the inverse of the weighted
    empirical CDF, ``inf{y : sum_i w_i(x) 1{Y_i <= y} >= q}``: Meinshausen's definition, always a
    training target, no interpolation (the weighted analogue of NumPy's
    ``method="inverted_cdf"``). Any level in (0, 1) can be predicted after one fit.

    At ``fit``, each tree's leaves are listed with their training rows sorted by target
    (O(n T) memory); a prediction gathers the entries of its T leaves and reads all levels in
    one sweep of cumulative weights (a numba kernel): O(S) per test point for S gathered
    entries, never an (n_test, n_train) matrix.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    criterion, max_depth, min_samples_split, min_samples_leaf, min_weight_fraction_leaf, \
max_features, max_leaf_nodes, min_impurity_decrease, bootstrap, ccp_alpha, max_samples
        As in :class:`~sklearn.ensemble.RandomForestRegressor` (same defaults), passed unchanged.
        With ``min_samples_leaf=1`` most leaves hold one row and the distribution at ``x`` has
        at most T atoms; Meinshausen used leaves of 5 or more, which gives smoother quantiles.
    quantiles : array-like of float, default=(0.05, 0.5, 0.95)
        The levels :meth:`predict_quantiles` returns when called without levels (the levels an
        aggregator asks for; the same as :class:`MultiLevelQuantileRegressor`'s). Strictly
        increasing in (0, 1); they do not change the fit.
    leaf_samples : {"in_bag", "all"}, default="in_bag"
        The training rows that populate each tree's leaves.

        - ``"in_bag"``: the rows the tree was grown on, weighted by their bootstrap counts (and
          by ``sample_weight`` when ``bootstrap=False``). Then the weighted mean of the targets
          is exactly the forest's ``predict``, every leaf holds at least ``min_samples_leaf``
          draws, and the weights are those of the quantile-forest package
          (``weighted_leaves=True``).
        - ``"all"``: every training row (times its ``sample_weight``), in every tree: the
          definition in Meinshausen's paper and R's quantregForest. Each leaf also holds the
          rows left out of that tree's bootstrap sample (more rows per leaf, smoother
          quantiles).

        Both are the same when ``bootstrap=False``.
    n_jobs : int, default=None
        Jobs of the forest's ``fit`` and ``apply`` (joblib). The quantile kernel uses numba's
        thread count.
    random_state : int, RandomState instance or None, default=None
        The forest's randomness (bootstraps and feature draws): the same seed grows the same
        trees as ``RandomForestRegressor(random_state=...)`` with the same parameters.
    verbose : int, default=0
        The forest's verbosity.

    Attributes
    ----------
    forest_ : RandomForestRegressor
        The fitted forest (its ``predict`` is the conditional mean).
    quantiles_ : ndarray of shape (n_quantiles,)
        The validated default levels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    Notes
    -----
    A level within ``1e-12`` (relative) of a step of the weighted CDF counts as reaching it, so
    that the rounding of ``q`` or of the weight sums cannot move the answer by one training
    target (NumPy's ``0.07 * 100`` is 7.000000000000001).

    The quantile-forest package's ``RandomForestQuantileRegressor`` grows the same trees with the
    same parameters and ``random_state``. With ``max_samples_leaf=None, weighted_leaves=True`` its
    weights are ours (``leaf_samples="in_bag"``) times a constant, but its weighted quantile
    interpolates between targets (a weighted ``"linear"`` rule whose answer depends on the
    weights' scale), so its quantiles equal ours where every leaf holds one training row (fully
    grown trees, with its default ``max_samples_leaf=1`` and ``interpolation="inverted_cdf"``);
    ``benchmarks/speed_quantile_forest.py`` compares both cases.

    References
    ----------
    N. Meinshausen, "Quantile Regression Forests", Journal of Machine Learning Research 7,
    983-999, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.aggregation import QuantileForestRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, size=(500, 1))
    >>> y = X[:, 0] + rng.normal(scale=0.1, size=500)
    >>> model = QuantileForestRegressor(
    ...     n_estimators=50, min_samples_leaf=10, random_state=0
    ... ).fit(X, y)
    >>> model.predict_quantiles([[0.5]], quantiles=[0.1, 0.5, 0.9]).round(1)
    array([[0.4, 0.5, 0.6]])
    """

    _parameter_constraints: dict = {
        **{key: RandomForestRegressor._parameter_constraints[key] for key in _FOREST_PARAMS},
        "quantiles": ["array-like", Real],
        "leaf_samples": [StrOptions({"in_bag", "all"})],
    }

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        criterion: str = "squared_error",
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float = 1,
        min_weight_fraction_leaf: float = 0.0,
        max_features: Any = 1.0,
        max_leaf_nodes: int | None = None,
        min_impurity_decrease: float = 0.0,
        bootstrap: bool = True,
        ccp_alpha: float = 0.0,
        max_samples: int | float | None = None,
        quantiles: Any = (0.05, 0.5, 0.95),
        leaf_samples: str = "in_bag",
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.ccp_alpha = ccp_alpha
        self.max_samples = max_samples
        self.quantiles = quantiles
        self.leaf_samples = leaf_samples
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> QuantileForestRegressor:
        """Grow the forest and index each tree's leaves by training-target rank.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: they grow the trees as in ``RandomForestRegressor`` and
            weigh the rows in the leaves (see ``leaf_samples``).

        Returns
        -------
        self : QuantileForestRegressor

        Raises
        ------
        ValueError
            For invalid ``quantiles``, or when ``y`` is not a finite 1-d target.
        """
        self._validate_params()
        self.quantiles_ = check_quantiles(self.quantiles)
        X_checked, y_checked = validate_data(self, X, y, y_numeric=True, dtype=np.float32)
        features = np.asarray(X_checked)
        target = np.asarray(y_checked, dtype=np.float64)
        weights = _check_sample_weight(
            sample_weight, features, dtype=np.float64, ensure_non_negative=True
        )
        params = {key: getattr(self, key) for key in _FOREST_PARAMS}
        self.forest_ = RandomForestRegressor(**params).fit(
            features, target, sample_weight=None if sample_weight is None else weights
        )
        order = np.argsort(target, kind="stable")
        rank_of = np.empty(target.shape[0], dtype=np.int64)
        rank_of[order] = np.arange(target.shape[0])
        self._sorted_y = np.ascontiguousarray(target[order])
        (
            self._node_offsets,
            self._starts,
            self._ranks,
            self._weights,
        ) = _leaf_table(self.forest_, features, rank_of, weights, self.leaf_samples == "in_bag")
        return self

    def predict_quantiles(
        self, X: ArrayLike, quantiles: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Conditional quantiles at any levels in (0, 1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        quantiles : array-like of float, default=None
            Strictly increasing levels in (0, 1); ``None`` means ``quantiles_``.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_quantiles)
            Column ``j`` is the level ``quantiles[j]`` quantile of the training targets weighted
            by their leaf weights at each row: non-decreasing along each row.

        Raises
        ------
        ValueError
            For invalid ``quantiles`` or a wrong number of features.
        """
        from .._kernels.forest import grouped_weighted_quantiles

        check_is_fitted(self, "forest_")
        levels = self.quantiles_ if quantiles is None else check_quantiles(quantiles)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        groups = self.forest_.apply(X).astype(np.int64) + self._node_offsets
        return grouped_weighted_quantiles(
            np.ascontiguousarray(groups),
            np.empty((0, 0), dtype=np.float64),
            self._starts,
            self._ranks,
            self._weights,
            self._sorted_y,
            np.ascontiguousarray(levels, dtype=np.float64),
        )

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The conditional median (level 0.5), a training target; ``forest_.predict`` gives
        the conditional mean.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self.predict_quantiles(X, [0.5])[:, 0]
