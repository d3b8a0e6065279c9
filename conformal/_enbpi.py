"""Ensemble batch prediction intervals, EnbPI (Xu and Xie 2021), for time series.

Re-exported by :mod:`conformal.online`. The bootstrap ensemble, its leave-one-out (out-of-bag)
residuals and the sliding residual window use O(n + n_test) memory beyond the ``(n, B)``
out-of-bag mask and ``(rows, B)`` blocks of model predictions: the ``n_test x n`` matrix of
leave-one-out predictions that a direct implementation builds is never formed (see
:class:`EnbPIRegressor`, Notes).
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._aggregate import out_of_bag_medians
from ._blocks import block_slices
from ._folds import fit_on_rows, predict_columns, row_blocks
from ._validation import check_refittable, check_same_rows, check_target, n_rows, seed_from, take
from .calibration import Calibrator
from .exceptions import warn_conformal
from .regression._base import BaseConformalRegressor
from .regression._bootstrap import bootstrap_bags
from .scores import AbsoluteScore, RegressionScore, SignedScore

__all__ = ["EnbPIRegressor"]


def block_bootstrap_bags(
    n: int, n_resamplings: int, length: int, overlapping: bool, seed: int | None
) -> list[NDArray[np.intp]]:
    """Block bootstrap samples of ``n`` time-ordered rows: ``n // length + 1`` blocks each.

    The draws are those of MAPIE's ``BlockBootstrap(n_resamplings, length=length,
    overlapping=overlapping, random_state=seed)``, bag after bag from one
    ``RandomState(seed)``:

    - ``overlapping=False``: the ``n // length`` consecutive, non-overlapping blocks
      ``[0, length), [length, 2 length), ...`` (the last ``n % length`` rows belong to no
      block, so they are in no bag);
    - ``overlapping=True`` (moving block bootstrap, Kunsch 1989): the ``n - length + 1``
      windows ``[s, s + length)``.

    Each bag concatenates ``n // length + 1`` blocks drawn uniformly with replacement.

    Parameters
    ----------
    n : int
        Number of rows, in time order.
    n_resamplings : int
        Number of bags ``B``.
    length : int
        Block length ``L``, ``1 <= L <= n``.
    overlapping : bool
        Moving blocks (any start) or non-overlapping ones (starts at multiples of ``L``).
    seed : int or None
        Seed of the one ``RandomState`` the bags are drawn from.

    Returns
    -------
    bags : list of ndarray of int
        ``B`` arrays of ``(n // length + 1) * length`` row indices each.
    """
    if overlapping:
        starts = np.arange(n - length + 1)
    else:
        starts = np.arange(n // length) * length
    generator = np.random.RandomState(seed)
    offsets = np.arange(length)
    bags = []
    for _ in range(n_resamplings):
        chosen = starts[generator.randint(0, starts.shape[0], size=n // length + 1)]
        bags.append((chosen[:, None] + offsets).ravel().astype(np.intp))
    return bags


def _weighted_medians(
    values: NDArray[np.float64], counts: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Row-wise median of ``values`` (m, k) where column ``j`` stands for ``counts[j]`` equal
    values: ``np.median`` of the expanded rows (the mean of the two middle values of an even
    count) without expanding them."""
    total = int(counts.sum())
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    cumulative = np.cumsum(counts[order], axis=1)
    rows = np.arange(values.shape[0])
    low = np.argmax(cumulative > (total - 1) // 2, axis=1)
    high = np.argmax(cumulative > total // 2, axis=1)
    return np.asarray((ordered[rows, low] + ordered[rows, high]) / 2.0)


class EnbPIRegressor(BaseConformalRegressor):
    """Ensemble batch prediction intervals for time series, EnbPI (Xu and Xie 2021).

    ``n_resamplings`` clones of ``estimator`` are fitted on bootstrap samples of the
    time-ordered training rows (blocks of ``block_length`` consecutive rows, or single rows).
    Each training row ``i`` gets the leave-one-out prediction ``f_{-i}(x_i)``, the aggregate
    (mean or median) of the models whose sample left ``i`` out, and the residual
    ``y_i - f_{-i}(x_i)``. At a new point ``x`` the centre is the aggregate over the training
    rows of their leave-one-out predictions, ``f(x) = agg_i f_{-i}(x)``, and, with
    ``a = 1 - confidence_level``:

    - ``symmetric=True``: ``[f(x) - q, f(x) + q]``, ``q`` the ``ceil((1 - a)(n + 1))``-th
      smallest absolute residual;
    - ``symmetric=False``: ``[f(x) + r_lo, f(x) + r_hi]`` from the signed residuals,
      ``r_lo`` the ``floor(a/2 (n + 1))``-th smallest and ``r_hi`` the
      ``ceil((1 - a/2)(n + 1))``-th (MAPIE's default for EnbPI, with ``beta = a / 2``).

    :meth:`partial_fit` adds the residuals of newly observed rows, computed with the same
    centre ``f(x)`` as the intervals, and drops as many of the oldest ones: the window keeps
    its size ``n``. The models are never refitted. Coverage is approximate, under conditions
    on the dependence of the errors (strong mixing) and the accuracy of the ensemble
    (Xu and Xie 2021); it is not a finite-sample guarantee. A rank above ``n`` gives an
    infinite bound and a :class:`~conformal.ConformalWarning`.

    Parameters
    ----------
    estimator : regressor, default=None
        The model, cloned for each bootstrap sample. ``None`` means ``LinearRegression()``.
    confidence_level : float or sequence of float, default=0.9
        Target coverage; can be overridden in :meth:`predict_interval`.
    n_resamplings : int, default=30
        Number of bootstrap samples ``B``.
    block_length : int, default=None
        ``None``: the iid bootstrap (``n`` rows drawn with replacement; the draws of MAPIE's
        ``Subsample(n_resamplings, random_state=seed)``). An int: a block bootstrap with blocks
        of that many consecutive rows, ``n // block_length + 1`` blocks per sample (the draws
        of MAPIE's ``BlockBootstrap(n_resamplings, length=block_length,
        overlapping=overlapping_blocks, random_state=seed)``).
    overlapping_blocks : bool, default=False
        ``False``: non-overlapping blocks ``[0, L), [L, 2L), ...`` (MAPIE's default; the last
        ``n % L`` rows are in no sample, so every model scores them). ``True``: the moving
        block bootstrap, any ``L`` consecutive rows form a block. Needs ``block_length``.
    aggregation : {"mean", "median"}, default="mean"
        How models are aggregated, both into each ``f_{-i}`` and over ``i`` into the centre.
    symmetric : bool, default=True
        Absolute residuals and a symmetric interval (Xu and Xie 2021), or signed residuals
        with each tail at ``a / 2`` (MAPIE's ``TimeSeriesRegressor`` default).
    n_jobs : int, default=None
        Bootstrap models fitted in parallel through joblib (``-1``: all cores).
    random_state : int, Generator, RandomState or None, default=None
        Controls the bootstrap draws; for an integer seed they are MAPIE's (see
        ``block_length``). The generator you pass is not advanced.

    Attributes
    ----------
    estimators_ : list of regressor
        The ``B`` bootstrap models.
    oob_ : ndarray of shape (n_samples, n_resamplings), dtype bool
        ``oob_[i, b]`` is true when row ``i`` is out of sample ``b``.
    scored_ : ndarray of shape (n_samples,), dtype bool
        Rows out of at least one sample: those with a leave-one-out residual.
    conformity_scores_ : ndarray of shape (n_window,) or (n_window, 2)
        The residual window, oldest first: absolute residuals, or ``[f - y, y - f]`` when
        ``symmetric=False``. ``n_window`` is the number of scored rows and never changes.
    n_updates_ : int
        Residuals added by :meth:`partial_fit` since :meth:`fit`.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    Raises
    ------
    ValueError
        From :meth:`fit`, when ``block_length`` exceeds the number of rows, when
        ``overlapping_blocks=True`` comes without ``block_length``, or when no row is ever out
        of sample; from :meth:`partial_fit`, on bad ``y`` or a wrong number of features.
    sklearn.exceptions.NotFittedError
        When :meth:`partial_fit` or a ``predict*`` method is called before :meth:`fit`.

    See Also
    --------
    conformal.JackknifeAfterBootstrapRegressor : the same ensemble with exchangeable
        (jackknife+) intervals and a finite-sample guarantee.

    Notes
    -----
    **Which centre.** Algorithm 1 of the ICML paper (and the authors' code of that time,
    ``np.sort(...)[int((1 - a) n)]``) centres the interval on the ``(1 - a)`` quantile over
    ``i`` of ``f_{-i}(x)``; the journal version (Xu and Xie 2023), its code and MAPIE centre it
    on the aggregate ``agg_i f_{-i}(x)``, as here, and so do the residuals of new rows. The two
    agree when the leave-one-out predictions at ``x`` agree (each averages about ``0.37 B`` of
    the same ``B`` models, so their spread shrinks like ``1 / sqrt(B)``), and exactly for
    ``a = 1/2`` with median aggregation and an odd number of rows; otherwise the quantile
    centre sits above the aggregate by a quantile of that spread (for ``a < 1/2``). The
    journal version also moves the split ``beta`` of ``a`` between the two tails to narrow
    the interval (MAPIE's ``optimize_beta``); here ``beta = a / 2``.

    **Agreement with MAPIE.** With the same integer seed, MAPIE's
    ``TimeSeriesRegressor(method="enbpi", cv=Subsample(B) or BlockBootstrap(...),
    agg_function=...)`` gives the same intervals (``predict(..., ensemble=True)``), with
    ``conformity_score=AbsoluteConformityScore(sym=True)`` for ``symmetric=True`` and its
    default score for ``symmetric=False``, and its ``update(X, y, ensemble=True)`` slides the
    window as :meth:`partial_fit` does; both up to floating-point rounding (a mean summed in
    another order) and this package's outward rounding of the bounds. Differences: rows in
    every bootstrap sample have no residual; MAPIE keeps a NaN in their slot of the window,
    here they are left out (with a warning), so the windows then differ in length. MAPIE's
    ``update`` refuses more new rows than the window holds; here only the newest ``n_window``
    are kept. MAPIE's ``predict`` with ``ensemble=False`` returns a model refitted on all the
    rows; :meth:`predict` returns the centre of the intervals.

    **Memory.** The mean of the leave-one-out means is one fixed weighted mean of the ``B``
    predictions, ``f(x) = sum_b w_b f_b(x)`` with ``w_b = (1/n) sum_i oob[i, b] / |oob_i|``:
    O(B) per test point. The median of medians takes the median of each distinct
    out-of-bag set (rows of one block share theirs) and weighs it by how many rows share
    the set, a block of test rows at a time (O(n_test n_sets B) time, bounded memory). At
    fit, each model predicts only its out-of-bag rows, summed into an ``(n,)`` array for the
    mean, taken a block of rows at a time for the median.

    References
    ----------
    C. Xu and Y. Xie (2021). Conformal prediction interval for dynamic time-series. Proceedings
    of the 38th International Conference on Machine Learning (ICML), PMLR 139, 11559-11569.

    C. Xu and Y. Xie (2023). Conformal prediction for time series. IEEE Transactions on
    Pattern Analysis and Machine Intelligence 45(10), 11575-11587.

    H. R. Kunsch (1989). The jackknife and the bootstrap for general stationary observations.
    Annals of Statistics 17(3), 1217-1241.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.online import EnbPIRegressor
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(300.0)
    >>> X = np.column_stack([np.sin(t / 10), np.cos(t / 10)])
    >>> y = 2 * X[:, 0] + rng.normal(scale=0.3, size=300)
    >>> model = EnbPIRegressor(n_resamplings=20, block_length=10, random_state=0)
    >>> model = model.fit(X[:200], y[:200])
    >>> model.predict_interval(X[200:202]).round(2)
    array([[1.34, 2.28],
           [1.41, 2.35]])
    >>> model = model.partial_fit(X[200:250], y[200:250])  # 50 new residuals, 50 oldest out
    >>> model.conformity_scores_.shape, model.n_updates_
    ((200,), 50)
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "confidence_level": "no_validation",  # the one level parser, at fit
        "n_resamplings": [Interval(Integral, 1, None, closed="left")],
        "block_length": [Interval(Integral, 1, None, closed="left"), None],
        "overlapping_blocks": ["boolean"],
        "aggregation": [StrOptions({"mean", "median"})],
        "symmetric": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float | list[float] = 0.9,
        n_resamplings: int = 30,
        block_length: int | None = None,
        overlapping_blocks: bool = False,
        aggregation: str = "mean",
        symmetric: bool = True,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.n_resamplings = n_resamplings
        self.block_length = block_length
        self.overlapping_blocks = overlapping_blocks
        self.aggregation = aggregation
        self.symmetric = symmetric
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return LinearRegression()

    def _score(self) -> RegressionScore:
        return AbsoluteScore() if self.symmetric else SignedScore()

    # ------------------------------------------------------------------ fit

    def _bags(self, n: int) -> list[NDArray[np.intp]]:
        owner = type(self).__name__
        seed = seed_from(self.random_state)
        if self.block_length is None:
            if self.overlapping_blocks:
                raise ValueError(
                    f"overlapping_blocks=True asks {owner} for a moving block bootstrap but "
                    "block_length is None (the iid bootstrap); give block_length=L (an int) or "
                    "set overlapping_blocks=False."
                )
            return list(bootstrap_bags(n, self.n_resamplings, seed))
        if self.block_length > n:
            raise ValueError(
                f"block_length={self.block_length} exceeds the {n} rows given to fit; use "
                f"block_length <= {n} (or None for the iid bootstrap)."
            )
        return block_bootstrap_bags(
            n, self.n_resamplings, int(self.block_length), bool(self.overlapping_blocks), seed
        )

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        sample_weight: ArrayLike | None = None,
    ) -> EnbPIRegressor:
        """Fit the bootstrap models and compute each row's leave-one-out residual.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows in time order; passed to the wrapped estimator as given (DataFrames keep
            their columns).
        y : array-like of shape (n_samples,)
            Finite targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the wrapped model's ``fit`` (the rows each model is fitted on); not used
            in calibration. An error if the model's ``fit`` does not accept it.

        Returns
        -------
        self : EnbPIRegressor

        Raises
        ------
        ValueError
            When ``block_length`` exceeds the number of rows, ``overlapping_blocks=True``
            comes without ``block_length``, or no row is ever out of sample.
        """
        X, target, sample_weight = self._fit_prologue(X, y, check_target, sample_weight)
        estimator = self._resolve_estimator()
        self._check_estimator_kind(estimator)
        owner = type(self).__name__
        check_refittable(
            estimator, owner, "the estimator on each bootstrap sample", "SplitConformalRegressor"
        )
        n = target.shape[0]
        bags = self._bags(n)
        oob = np.ones((n, self.n_resamplings), dtype=bool)
        for b, bag in enumerate(bags):
            oob[bag, b] = False
        scored = oob.any(axis=1)
        n_scored = int(scored.sum())
        if n_scored == 0:
            raise ValueError(
                f"No row is ever out of sample in the {self.n_resamplings} bootstrap samples "
                f"(got {n} sample{'s' if n != 1 else ''}), so none has a leave-one-out residual; "
                "increase n_resamplings or give more rows."
            )
        if n_scored < n:
            warn_conformal(
                f"{n - n_scored} of {n} rows are in every bootstrap sample (never out of "
                f"sample) and have no residual; the residual window has {n_scored} points. "
                "Increase n_resamplings."
            )
        self.estimators_ = fit_on_rows(
            [estimator] * self.n_resamplings, X, target, bags, self.n_jobs, sample_weight
        )
        self.oob_ = oob
        self.scored_ = scored
        self._prepare_centre()
        loo = self._leave_one_out(X)
        self.conformity_scores_ = self._score().score(target[scored], loo)
        self.n_updates_ = 0
        return self

    def _prepare_centre(self) -> None:
        """What the centre needs from the out-of-bag mask: the model weights (mean) or the
        distinct out-of-bag sets and how many scored rows share each (median)."""
        oob = self.oob_[self.scored_]
        if self.aggregation == "mean":
            # w_b = (1/n) sum_i oob[i, b] / |oob_i|, one model at a time (no (n, B) floats)
            share = 1.0 / oob.sum(axis=1)
            self._model_weights_ = (
                np.array([share[oob[:, b]].sum() for b in range(oob.shape[1])]) / oob.shape[0]
            )
            return
        packed = np.packbits(oob, axis=1)
        _, first, multiplicity = np.unique(packed, axis=0, return_index=True, return_counts=True)
        self._oob_sets_ = np.ascontiguousarray(oob[first])
        self._oob_set_counts_ = multiplicity.astype(np.int64)

    def _leave_one_out(self, X: Any) -> NDArray[np.float64]:
        """``f_{-i}(x_i)`` of each scored row; each model predicts only its out-of-bag rows."""
        rows = np.flatnonzero(self.scored_)
        oob = self.oob_[rows]
        if self.aggregation == "mean":
            sums = np.zeros(rows.shape[0])
            for b, model in enumerate(self.estimators_):
                mine = np.flatnonzero(oob[:, b])
                if mine.size:
                    sums[mine] += np.asarray(
                        model.predict(take(X, rows[mine])), dtype=np.float64
                    ).ravel()
            return np.asarray(sums / oob.sum(axis=1))
        out = np.empty(rows.shape[0])
        for block in block_slices(rows.shape[0], self.n_resamplings):
            predictions = predict_columns(self.estimators_, take(X, rows[block]))
            masked = np.where(oob[block], predictions, np.nan)
            out[block] = np.nanmedian(masked, axis=1)
        return out

    # ------------------------------------------------------------------ predict

    def _centre(self, X: Any) -> NDArray[np.float64]:
        """``agg_i f_{-i}(x)`` at each row of ``X``, a block of rows at a time."""
        n = n_rows(X)
        out = np.empty(n)
        if self.aggregation == "mean":
            for rows, part in row_blocks(X, self.n_resamplings):
                out[rows] = predict_columns(self.estimators_, part) @ self._model_weights_
            return out
        sets, counts = self._oob_sets_, self._oob_set_counts_
        # the medians of the sets, their order and running counts: about 4 floats per set
        width = max(self.n_resamplings, 4 * sets.shape[0])
        for rows, part in row_blocks(X, width):
            predictions = predict_columns(self.estimators_, part)
            out[rows] = _weighted_medians(out_of_bag_medians(predictions, sets), counts)
        return out

    def _point_predictions(self, X: Any) -> Any:
        return self._centre(X)

    def predict_interval(
        self, X: ArrayLike, confidence_level: float | list[float] | None = None
    ) -> NDArray[np.float64]:
        """Prediction intervals from the current residual window.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows.
        confidence_level : float or sequence of float, default=None
            Overrides the level set at construction.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, n_levels, 2)
            ``[lower, upper]``, rounded outward; a sequence of levels adds the middle axis.
            Infinite bounds (with a :class:`~conformal.ConformalWarning`) when the window is
            too small for a level.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        thresholds = Calibrator(self.conformity_scores_).threshold(levels)
        out = self._score().inverse(self._centre(X), thresholds)
        return self._shape(out, scalar)

    # ------------------------------------------------------------------ update

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> EnbPIRegressor:
        """Slide the residual window over newly observed rows, without refitting the models.

        The residuals of the new rows, computed with the centre of the intervals (the
        aggregate of the leave-one-out predictions, as for any test point), enter the window
        and as many of the oldest residuals leave it: its size stays ``n_window``. When more
        rows than that arrive at once, the window holds the newest ``n_window`` of them.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features)
            The new rows, in time order, after those given to :meth:`fit` (and to earlier
            calls).
        y : array-like of shape (n_new,)
            Their observed, finite targets.

        Returns
        -------
        self : EnbPIRegressor

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`: there is no ensemble to compute residuals with.
        ValueError
            When ``y`` holds NaN or infinity, ``X`` and ``y`` differ in length, or ``X`` has
            another number of features than at :meth:`fit`.
        """
        try:
            check_is_fitted(self)
        except NotFittedError:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet: partial_fit slides "
                "the residual window of a fitted bootstrap ensemble and never fits models. "
                "Call fit(X, y) on the training rows first."
            ) from None
        X = self._check_features(X, reset=False)
        target = check_target(y)
        check_same_rows(X, target.shape[0])
        if target.shape[0] == 0:
            return self
        new = self._score().score(target, self._centre(X))
        window = self.conformity_scores_.shape[0]
        k = new.shape[0]
        if k >= window:
            self.conformity_scores_ = np.ascontiguousarray(new[k - window :])
        else:
            self.conformity_scores_ = np.concatenate([self.conformity_scores_[k:], new])
        self.n_updates_ += k
        return self
