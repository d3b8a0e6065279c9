"""Split (inductive) conformal classification: prediction sets and p-values."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._validation import check_flag, check_sample_count, is_frozen, split_indices, take
from .._weighting import finish_weighting, prepare_weighting
from ..base import fit_with_weights
from ..batch import BatchSetMixin
from ..calibration import Calibrator, Level, MondrianCells, TestContext, plain
from ..calibration._cells import check_labels
from ..exceptions import ConformalWarning, warn_conformal
from ..scores import ClassificationScore, get_classification_score
from ..weights import WeightScheme
from ._base import (
    CALIBRATION_U,
    SMOOTHING_U,
    SPLIT,
    TEST_U,
    TUNE_SPLIT,
    TUNE_U,
    BaseConformalClassifier,
    check_class_labels,
    encode,
    refuse_frozen_weights,
)

Floats = NDArray[np.float64]


def _names(labels: list[Any]) -> str:
    shown = ", ".join(repr(plain(v)) for v in labels[:5])
    return shown + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")


class SplitConformalClassifier(BatchSetMixin, BaseConformalClassifier):
    """Split conformal prediction sets (and p-values) around any probabilistic classifier.

    The data given to :meth:`fit` is split into a training part, on which a clone of
    ``estimator`` is fitted, and a calibration part, whose conformity scores set the threshold.
    For exchangeable data the set holds the true class with probability at least
    ``confidence_level`` and, when the scores have no ties (e.g. randomized APS, or continuous
    probabilities), at most ``confidence_level + 1 / (n_calibration + 1)`` (Vovk et al. 2005;
    Angelopoulos and Bates 2023).

    Parameters
    ----------
    estimator : classifier with ``predict_proba``, default=None
        The model. ``None`` means ``LogisticRegression()`` (probabilities that are often
        reasonably calibrated; scale the features, e.g. in a ``Pipeline``, for it to converge).
        A model that is already fitted is passed as ``sklearn.frozen.FrozenEstimator(model)``;
        then all the data given to ``fit`` is calibration data and the model's ``classes_`` are
        the classes.
    confidence_level : float or sequence of float, default=0.9
        Target coverage; can be overridden in :meth:`predict_set`.
    conformity_score : {"lac", "aps", "raps", "top_k"} or ClassificationScore, default="lac"
        ``"lac"``: ``1 - p_y`` (smallest sets, may be empty); ``"aps"``: randomized adaptive
        sets; ``"raps"``: APS with a rank penalty whose ``k_reg`` and ``lam`` are tuned on a
        slice of the calibration data (30%, at the largest ``confidence_level`` given here);
        ``"top_k"``: the same number of classes for every ``x``.
        Pass a score object (:mod:`conformal.scores`) for other options, e.g.
        ``APSScore(randomized=False)`` or ``RAPSScore(k_reg=2, lam=0.01)``.
    class_conditional : bool, default=False
        Mondrian calibration by label: the threshold of class ``c`` is set by the calibration
        points of class ``c`` only, so that coverage holds within every class,
        ``P(Y in C(X) | Y = c) >= confidence_level`` (Vovk et al. 2005, label-conditional
        conformal prediction), not only on average over classes. A class with too few
        calibration points gets an infinite threshold (it is in every set) and a
        :class:`~conformal.ConformalWarning`.
    mondrian : callable, default=None
        The Mondrian taxonomy: ``mondrian(X)`` returns one label per row (a 1-D array, no NaN;
        checked at ``fit`` and at predict time). Coverage holds within each group (with
        ``class_conditional=True``, within each (group, class) pair). A group with too few
        calibration points gets full sets and a :class:`~conformal.ConformalWarning`, as does a
        test group never seen in calibration.
    allow_empty : bool, default=True
        ``False`` adds the most probable class to every empty set. This can only add classes,
        so coverage stays at least ``confidence_level`` (the upper bound no longer holds);
        LAC and randomized APS sets can be empty, meaning "no class is plausible enough".
    calibration_size : float or int, default=0.3
        Fraction (or number) of the samples held out for calibration. Ignored with a frozen
        estimator.
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
        test row (covariate shift, Tibshirani et al. 2019; the thresholds then differ from one
        test row to the next). Weights of your own, one per sample, go to
        ``fit(X, y, calibration_weights=...)``. With ``class_conditional`` or ``mondrian``, each
        cell's threshold is the weighted quantile of that cell's scores. The guarantee holds up
        to the coverage gap of Barber et al. (2023), Theorem 2 (exactly, for the true
        likelihood ratio). The RAPS tuning slice is not weighted (any tuning on held-out rows
        keeps the guarantee).
    random_state : int, Generator, RandomState or None, default=None
        Controls the training/calibration split and every random draw: the uniform ``u`` of
        randomized scores (one per calibration point, and one per test row: the ``i``-th row of
        ``X`` gets the ``i``-th draw of a stream fixed at fit, so the same ``X`` gives the same
        sets), the RAPS tuning slice, smoothed p-values and the cross-fitting of an unfitted
        ``LikelihoodRatioWeights``. The generator you pass is not advanced.
    groups : callable, default=None
        The old name of ``mondrian`` (kept one release, with a FutureWarning). CV groups for a
        group splitter are not this: they go to :class:`CrossConformalClassifier`'s ``fit``.

    Attributes
    ----------
    estimator_ : classifier
        The fitted model.
    classes_ : ndarray of shape (n_classes,)
        The class labels; the columns of :meth:`predict_set`, :meth:`predict_proba` and
        :meth:`predict_pvalues`.
    score_ : ClassificationScore
        The score object (with tuned ``k_reg_`` and ``lam_`` for RAPS).
    conformity_scores_ : ndarray of shape (n_calibration,)
        Calibration scores.
    calibration_labels_ : ndarray of shape (n_calibration,)
        Labels of the calibration points.
    calibration_groups_ : ndarray of shape (n_calibration,) or None
        Mondrian labels of the calibration points (``mondrian(X)``).
    calibration_weights_ : ndarray of shape (n_calibration,) or None
        Weights of the calibration points (aligned with ``conformity_scores_``).
    weights_scheme_ : WeightScheme or None
        The scheme behind ``weights`` (a callable is wrapped in ``CallableWeights``; an
        unfitted ``LikelihoodRatioWeights`` is a fitted copy, cross-fitted on ``X`` and
        ``X_target``).
    effective_sample_size_ : float
        ``(sum w)^2 / sum w^2`` of the calibration weights (the number of calibration points
        when unweighted). A :class:`~conformal.ConformalWarning` at ``fit`` when it is smaller
        than the fitted level needs.
    calibrator_ : Calibrator
        The calibration scores, sorted on first use, with their weights and Mondrian cells (by
        class, by group or by (group, class) pair; ``None`` for marginal calibration).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    Notes
    -----
    Sets are ``{y : s(x, y) <= q}`` with ``q`` the ``ceil((1 - a)(n + 1))``-th smallest
    calibration score (:func:`~conformal.conformal_quantile`), infinite when ``n`` is too small
    (then every class is in the set). They equal ``{y : p(y) > 1 - confidence_level}`` with the
    non-smoothed p-values of :meth:`predict_pvalues`. Classes are ranked by decreasing
    probability, ties by column (see :mod:`conformal.scores`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from conformal import SplitConformalClassifier
    >>> X, y = make_classification(
    ...     600, n_classes=3, n_informative=4, class_sep=2.0, random_state=0
    ... )
    >>> model = SplitConformalClassifier(confidence_level=0.9, random_state=0).fit(X, y)
    >>> model.classes_
    array([0, 1, 2])
    >>> model.predict_set(X[:3])          # one row per sample, one column per class
    array([[False, False,  True],
           [ True, False, False],
           [False, False,  True]])
    >>> model.predict(X[:3]), y[:3]
    (array([2, 0, 2]), array([2, 0, 2]))
    >>> model.predict_set(X[:3], confidence_level=[0.5, 0.9]).shape
    (3, 2, 3)
    >>> model.predict_pvalues(X[:1]).round(3)   # the set at 0.9 holds the classes with p > 0.1
    array([[0.011, 0.028, 0.47 ]])
    """

    _parameter_constraints: dict[str, Any] = {
        **BaseConformalClassifier._parameter_constraints,
        "class_conditional": ["boolean"],
        "mondrian": [callable, None],
        "allow_empty": ["boolean"],
        "calibration_size": [
            Interval(Real, 0.0, 1.0, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "groups": [callable, None],
        "shuffle": ["boolean"],
        "weights": [WeightScheme, callable, None],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float | list[float] = 0.9,
        conformity_score: str | ClassificationScore = "lac",
        class_conditional: bool = False,
        mondrian: Callable[[Any], ArrayLike] | None = None,
        allow_empty: bool = True,
        calibration_size: float = 0.3,
        shuffle: bool = True,
        weights: Any = None,
        random_state: Any = None,
        groups: Callable[[Any], ArrayLike] | None = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.conformity_score = conformity_score
        self.class_conditional = class_conditional
        self.mondrian = mondrian
        self.allow_empty = allow_empty
        self.calibration_size = calibration_size
        self.shuffle = shuffle
        self.weights = weights
        self.random_state = random_state
        self.groups = groups

    # ------------------------------------------------------------------------ fit

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        calibration_weights: ArrayLike | None = None,
        X_target: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> SplitConformalClassifier:
        """Fit the model on the training part and score the calibration part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Passed to the wrapped estimator as given (DataFrames keep their columns).
        y : array-like of shape (n_samples,)
            Class labels (ints, strings, bools; no missing values).
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
            calibration. An error if the model's ``fit`` does not accept it, or with a
            ``FrozenEstimator`` (not refitted).

        Returns
        -------
        self : SplitConformalClassifier
            The fitted estimator.

        Raises
        ------
        ValueError
            For bad parameters or inputs, naming them (e.g. ``calibration_weights`` that are
            not one finite non-negative number per sample, or that weigh every calibration row
            0; ``calibration_weights`` together with a ``weights`` scheme; ``X_target`` without
            a scheme that learns from it).
        """
        X, labels, sample_weight = self._fit_prologue(X, y, check_class_labels, sample_weight)
        self._check_estimator_kind(self._resolve_estimator())
        n = labels.shape[0]
        owner = type(self).__name__
        levels, _ = self._levels(None)
        score = get_classification_score(self.conformity_score, param="conformity_score")
        weighting = prepare_weighting(self, X, calibration_weights, X_target)
        self._mondrian = self._resolve_mondrian()
        estimator = self._resolve_estimator()
        self._seed_streams()
        if is_frozen(estimator):
            refuse_frozen_weights(sample_weight, owner)
            self.estimator_ = estimator
            self.classes_ = np.asarray(estimator.classes_)
            calibration = np.arange(n)
        else:
            check_sample_count(n, owner)
            self.classes_ = np.unique(labels)
            seed = int(self._rng(SPLIT).integers(2**31 - 1))
            train, calibration = split_indices(
                n,
                self.calibration_size,
                seed,
                shuffle=self.shuffle,
                positions=weighting.positions,
            )
            weights = None if sample_weight is None else sample_weight[train]
            self.estimator_ = fit_with_weights(
                clone(estimator), take(X, train), labels[train], weights
            )
        codes = encode(labels, self.classes_, "the prefit estimator")
        X_cal = take(X, calibration)
        proba = self._proba(X_cal)
        codes = codes[calibration]
        if score.needs_tuning:
            keep, tune = self._tuning_split(score, calibration.shape[0])
            u_tune = self._uniform(TUNE_U, tune.shape[0]) if score.randomized else None
            tuning_level = max(levels, key=float)
            score = score.tune(proba[tune], codes[tune], tuning_level, u_tune)  # type: ignore[attr-defined]
            proba, codes, calibration = proba[keep], codes[keep], calibration[keep]
            X_cal = take(X, calibration)
        u = self._uniform(CALIBRATION_U, codes.shape[0]) if score.randomized else None
        self.score_ = score
        self.conformity_scores_ = score.score(proba, codes, u)
        self._calibration_codes = codes
        self.calibration_labels_ = self.classes_[codes]
        self.calibration_groups_ = None
        if self._mondrian is not None:
            self.calibration_groups_ = check_labels(
                np.asarray(self._mondrian(X_cal)),
                codes.shape[0],
                "mondrian(X)",
                " (called on the calibration rows)",
            )
        # after the RAPS tuning split: the weights of the rows that calibrate, in their order
        finish_weighting(self, weighting, X_cal, calibration)
        self._build_calibrator()
        self._warn_missing_classes()
        return self

    def _tuning_split(
        self, score: ClassificationScore, n: int
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Calibration rows kept for calibration, and those set aside to tune the score."""
        if n < 2:
            raise ValueError(
                f"{score!r} is tuned on a slice of the calibration data and calibrated on the "
                f"rest, which needs at least 2 calibration points; got {n}. Give more data, or "
                "pass k_reg and lam to RAPSScore."
            )
        size = min(max(round(score.tune_size * n), 1), n - 1)  # type: ignore[attr-defined]
        order = self._rng(TUNE_SPLIT).permutation(n)
        return np.sort(order[size:]), np.sort(order[:size])

    def _warn_missing_classes(self) -> None:
        seen = np.bincount(self._calibration_codes, minlength=self.classes_.shape[0])
        missing = self.classes_[seen == 0].tolist()
        if not missing:
            return
        if self.class_conditional:
            consequence = (
                "with class_conditional=True they have infinite thresholds and are in every "
                "prediction set"
            )
        else:
            consequence = (
                "the sets are calibrated on the other classes' points, and say nothing about "
                "coverage within these classes"
            )
        warn_conformal(
            f"class(es) {_names(missing)} have no calibration points; {consequence} (calibrate "
            "on data that covers every class)"
        )

    # ------------------------------------------------------------------------ cells

    def _build_calibrator(self) -> None:
        """The calibrator of the scores, with their Mondrian cells: none (marginal), by class
        (every class a cell, empty ones too), by group, or by (group, class) pair. Cells are
        keyed by integer code, so that a test point's cell is found by arithmetic."""
        n_classes = self.classes_.shape[0]
        codes = self._calibration_codes
        self._group_cells: MondrianCells | None = None
        cells: MondrianCells | None = None
        if self.calibration_groups_ is not None:
            self._group_cells = MondrianCells(self.calibration_groups_, name="mondrian(X)")
            groups = self._group_cells
            if self.class_conditional:
                cells = MondrianCells(
                    groups.codes * n_classes + codes,
                    name="mondrian(X)",
                    unit="(group, class) pair",
                    names=[
                        f"(group {plain(g)!r}, class {plain(c)!r})"
                        for g in groups.known
                        for c in self.classes_
                    ],
                    categories=np.arange(groups.n_cells * n_classes),
                )
            else:
                cells = MondrianCells(
                    groups.codes,
                    name="mondrian(X)",
                    names=groups.names,
                    categories=np.arange(groups.n_cells),
                )
        elif self.class_conditional:
            cells = MondrianCells(
                codes,
                name="y",
                unit="class",
                names=[f"class {plain(c)!r}" for c in self.classes_],
                categories=np.arange(n_classes),
            )
        outcome = "full prediction sets" if cells is None else "infinite thresholds"
        self.calibrator_ = Calibrator(
            self.conformity_scores_,
            weights=self.calibration_weights_,
            groups=cells,
            outcome=outcome,
        )

    def _full_meaning(self) -> str:
        """What an infinite (or maximal) threshold means for the prediction sets."""
        if self.class_conditional:
            own_group = " of their group" if self._group_cells is not None else ""
            return f"these classes are in every prediction set{own_group}"
        if self._group_cells is not None:
            return "their prediction sets are full"
        return "every prediction set holds every class"

    def _test_cells(
        self, test: TestContext, n: int
    ) -> tuple[NDArray[np.int64] | None, NDArray | None]:
        """Cell code of each test row and class, ``(n or 1, K)`` (``-1``: a group never
        calibrated, with a warning), or ``None`` for marginal calibration; and the mask of the
        cells used (``None``: all). ``test`` is the test rows' context (their groups)."""
        n_classes = self.classes_.shape[0]
        if self.calibrator_.cells is None:
            return None, None
        if self._group_cells is None:  # by class only: the same cells for every row
            return np.arange(n_classes, dtype=np.int64)[np.newaxis, :], None
        group_codes = self._group_cells.lookup(test.groups)  # type: ignore[arg-type]
        cells = group_codes[:, np.newaxis]
        if self.class_conditional:
            classes = np.arange(n_classes, dtype=np.int64)[np.newaxis, :]
            cells = np.where(cells >= 0, cells * n_classes + classes, -1)
        cells = np.broadcast_to(cells, (n, n_classes))
        used = np.zeros(self.calibrator_.cells.n_cells, dtype=bool)
        used[cells[cells >= 0]] = True
        return cells, used

    # ------------------------------------------------------------------------ predict

    def _proba(self, X: Any) -> Floats:
        return self._aligned_proba(self.estimator_, X)

    def predict(self, X: ArrayLike) -> NDArray:
        """Labels predicted by the wrapped model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        return np.asarray(self.estimator_.predict(X))

    def _test_scores(self, X: Any) -> tuple[Floats, Floats, Floats | None]:
        proba = self._proba(X)
        u = self._uniform(TEST_U, proba.shape[0]) if self.score_.randomized else None
        return proba, self.score_.score_all(proba, u), u

    def predict_set(
        self, X: ArrayLike, confidence_level: float | list[float] | None = None
    ) -> NDArray[np.bool_]:
        """Prediction sets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        confidence_level : float or sequence of float, default=None
            Overrides the level set at construction.

        Returns
        -------
        sets : ndarray of bool of shape (n_samples, n_classes) or (n_samples, n_levels, n_classes)
            ``sets[i, ..., k]`` is ``True`` when ``classes_[k]`` is in the set of row ``i``; a
            sequence of levels adds the middle axis. Full sets (with a
            :class:`~conformal.ConformalWarning`) when the calibration set is too small (or,
            weighted, too light; or a test row's own weight too large), or when the threshold
            is the largest value the score can take.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        proba, _, u = self._test_scores(X)
        test = self._test_context(X)
        cells, used = self._test_cells(test, proba.shape[0])
        if self.calibration_weights_ is None:
            threshold = self._thresholds(levels, cells, used)
        else:
            threshold = self._weighted_thresholds(levels, cells, used, test.weights)
        sets = self.score_.predict_set(proba, threshold, u)
        if not self.allow_empty:
            sets = self._fill_empty(sets, proba)
        return self._shape(sets, scalar)  # type: ignore[arg-type,return-value]

    def _thresholds(
        self, levels: list[Level], cells: NDArray[np.int64] | None, used: NDArray | None
    ) -> Floats:
        """``(L,)`` marginal thresholds, or ``(n or 1, L, K)`` per test row, level and class."""
        meaning = self._full_meaning()
        if cells is None:
            shared = self.calibrator_.threshold(levels)
            self._warn_full_sets(shared, levels, meaning=meaning)
            return shared
        table = self.calibrator_.cell_thresholds(
            levels, used=used, consequence=f": {meaning} (add calibration data or lower the level)"
        )  # (n_cells, L)
        self._warn_full_sets(table, levels, self.calibrator_.cells, used, meaning)
        table = np.vstack([table, np.full((1, len(levels)), np.inf)])  # row -1: unseen group
        return np.transpose(table[cells], (0, 2, 1))

    def _weighted_thresholds(
        self,
        levels: list[Level],
        cells: NDArray[np.int64] | None,
        used: NDArray | None,
        test_weights: Floats | None,
    ) -> Floats:
        """Weighted thresholds: ``(L,)`` marginal with fixed weights (the test point weighs 1);
        ``(m, L)`` with a weight per test row (marginal, or by group only); ``(1 or m, L, K)``
        per row, level and class with class or group cells.

        Every threshold is a binary search in the cell's scores and running weight sums,
        sorted once by the calibrator (O(log n) per test row, level and cell). A test row meets
        a different cell for each class under class-conditional calibration: its weight is
        repeated for each (row, class) pair, all answered in one call. The calibrator's own
        warnings speak of intervals and of weight totals of the whole set; they are replaced
        by one warning in terms of sets and cells.
        """
        calibrator = self.calibrator_
        n_levels = len(levels)
        per_row = test_weights is not None
        flat: NDArray[np.int64] | None = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConformalWarning)
            if cells is None:
                context = TestContext(weights=test_weights)
                out = calibrator.threshold(levels, test=context)
                infinite = np.isinf(out).reshape(-1, n_levels)
            elif not per_row:  # one threshold per cell, the test point weighing 1
                assert calibrator.cells is not None
                n_cells = calibrator.cells.n_cells
                wanted = np.arange(n_cells) if used is None else np.flatnonzero(used)
                table = np.full((n_cells + 1, n_levels), np.inf)  # row -1: unseen group
                if wanted.size:
                    found = calibrator.threshold(levels, test=TestContext(groups=wanted))
                    table[wanted] = found
                infinite = np.zeros((n_cells, n_levels), dtype=bool)
                infinite[wanted] = np.isinf(table[wanted])
                out = np.transpose(table[cells], (0, 2, 1))
            else:
                assert calibrator.cells is not None and test_weights is not None
                m = test_weights.shape[0]
                flat = np.broadcast_to(cells, (m, cells.shape[1]))
                if not self.class_conditional:  # by group only: one cell per row
                    flat = flat[:, :1]
                k = flat.shape[1]
                repeated = np.repeat(test_weights, k)
                labels = flat.ravel().copy()
                # a cell without calibration mass has no weighted quantile: infinite threshold
                # (the calibrator refuses a zero test weight there)
                mass = np.bincount(
                    calibrator.cells.codes,
                    weights=self.calibration_weights_,
                    minlength=calibrator.cells.n_cells,
                )
                labels[(labels >= 0) & (mass[np.maximum(labels, 0)] <= 0.0)] = -1
                found = calibrator.threshold(
                    levels, test=TestContext(weights=repeated, groups=labels)
                )
                out = np.transpose(found.reshape(m, k, n_levels), (0, 2, 1))
                # (m, L): rows with an infinite threshold (unseen groups were warned about)
                seen = (flat >= 0)[..., np.newaxis]
                infinite = np.asarray((np.isinf(found).reshape(m, k, n_levels) & seen).any(axis=1))
        self._warn_weighted_infinite(infinite, levels, per_row, cells is not None)
        if cells is None or per_row:  # levels on the last axis
            by_level = np.moveaxis(out, 1, -1) if out.ndim == 3 else out
            self._warn_full_sets(by_level, levels, meaning=self._full_meaning())
        else:
            assert calibrator.cells is not None
            self._warn_full_sets(
                table[:-1], levels, calibrator.cells, used, meaning=self._full_meaning()
            )
        return out

    def _warn_weighted_infinite(
        self, infinite: NDArray[np.bool_], levels: list[Level], per_row: bool, by_cell: bool
    ) -> None:
        """One warning about infinite weighted thresholds: the levels, and the test rows (a
        weight per test row) or the cells (fixed weights) they concern."""
        if not infinite.any():
            return
        named = ", ".join(f"{float(lv):g}" for j, lv in enumerate(levels) if infinite[:, j].any())
        if per_row:
            rows, m = int(infinite.any(axis=1).sum()), infinite.shape[0]
            outcome = (
                "the classes concerned are in their prediction sets"
                if self.class_conditional
                else "their prediction sets are full"
            )
            warn_conformal(
                f"for {rows} of {m} test row{'s' if m != 1 else ''}, the calibration weights"
                f"{' of a cell' if by_cell else ''} are too light for the test row's own weight "
                f"at confidence_level={named}: their thresholds are infinite and {outcome} "
                "(add calibration data, lower the level, or check the weights' ratio w(x))"
            )
            return
        where = ""
        if by_cell:
            assert self.calibrator_.cells is not None
            listed = np.flatnonzero(infinite.any(axis=1))
            where = " of " + ", ".join(self.calibrator_.cells.describe(int(c)) for c in listed[:5])
            where += f" (and {len(listed) - 5} more)" if len(listed) > 5 else ""
        warn_conformal(
            f"the weighted threshold{where} at confidence_level={named} is infinite: "
            f"{self._full_meaning()}. With the test point weighing 1, a level needs calibration "
            "weights totalling at least level / (1 - level) (as many unit-weight points; weights "
            "above 1 are divided by the largest); add calibration data, decay the weights more "
            "slowly, or lower the level."
        )

    def predict_pvalues(self, X: ArrayLike, *, smoothed: bool = False) -> Floats:
        """Conformal p-values of every class.

        ``p(y) = (#{i : s_i >= s(x, y)} + 1) / (n + 1)`` over the ``n`` calibration scores of
        the test point's cell (all of them; those of class ``y`` with ``class_conditional``;
        those of its group with ``mondrian``). Smoothed:
        ``(#{s_i > s(x, y)} + u (#{s_i = s(x, y)} + 1)) / (n + 1)`` with ``u`` uniform, one draw
        per (row, class). Under exchangeability ``P(p(Y) <= t) <= t`` (exactly ``t`` smoothed),
        and ``predict_set`` at level ``1 - a`` is ``{y : p(y) > a}`` (non-smoothed).
        Computed by :meth:`conformal.calibration.Calibrator.pvalues`: binary search in the
        scores sorted once, without a test x calibration matrix.

        Weighted (``weights`` or ``calibration_weights``), counts become sums of the
        calibration weights and the test point's own mass is its weight (1 for fixed weights,
        on the scale of the thresholds: weights above 1 divided by the largest), so that
        ``predict_set`` is still ``{y : p(y) > a}``. A cell without calibration mass gives
        p-value 1 (``u`` smoothed).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        smoothed : bool, default=False
            Break ties with a uniform draw ``u`` (p-values exactly uniform for the true class).

        Returns
        -------
        pvalues : ndarray of shape (n_samples, n_classes)
        """
        smoothed = check_flag(smoothed, "smoothed")
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        _, scores, _ = self._test_scores(X)
        context = self._test_context(X)
        m = scores.shape[0]
        cells, _ = self._test_cells(context, m)
        u = self._uniform(SMOOTHING_U, scores.shape) if smoothed else None
        weights = self.calibration_weights_
        if weights is None:
            test = None if cells is None else TestContext(groups=cells)
            return self.calibrator_.pvalues(scores, test=test, smoothed=smoothed, u=u)
        # Fixed weights (no test weights): the calibrator gives the test point its weight on
        # the thresholds' scale; likelihood ratios: each row's own weight, over its K scores.
        test = TestContext(weights=context.weights, groups=cells)
        with np.errstate(invalid="ignore", divide="ignore"):
            pvalues = self.calibrator_.pvalues(scores, test=test, smoothed=smoothed, u=u)
        empty = np.isnan(pvalues)  # no calibration mass and a test weight of 0
        if empty.any():
            pvalues[empty] = 1.0 if u is None else u[empty]
        return pvalues
