"""Risk-controlling estimators: multilabel sets (CRC / RCPS / LTT), binary decision thresholds
(LTT) and regression intervals (CRC), each with ``weights=`` for non-exchangeable CRC."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.multioutput import MultiOutputClassifier
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._validation import (
    check_levels,
    check_same_rows,
    check_sample_count,
    check_sample_weight,
    check_target,
    is_frozen,
    split_indices,
    take,
)
from .._weighting import finish_weighting, prepare_weighting
from ..base import ConformalMixin, fit_with_weights
from ..exceptions import warn_conformal
from ..regression import SplitConformalRegressor
from ..scores import RegressionScore
from ..weights import WeightScheme
from ._bounds import first_valid, hb_pvalues, last_valid, learn_then_test, rcps
from ._control import (
    check_alpha,
    check_lambdas,
    feasible_index,
    step_curve,
)

Floats = NDArray[np.float64]

_WEIGHTS = [WeightScheme, callable, None]


def _steps_lambda(
    values: Floats,
    sums: Floats,
    total: float,
    alpha: Any,
    test_weights: Floats | None,
    grid: Floats | None,
) -> Floats:
    """CRC lambdas (one per test weight, or one) from a step curve (see ``step_curve``)."""
    index = feasible_index(sums, total, 1.0, alpha, test_weights)
    padded = np.r_[-np.inf, values, np.inf]  # index 0: -inf; past the last breakpoint: +inf
    exact = padded[np.minimum(index, values.shape[0] + 1)]
    if grid is not None:
        j = np.searchsorted(grid, exact, side="left")
        exact = np.where(j < grid.shape[0], grid[np.minimum(j, grid.shape[0] - 1)], np.inf)
    if np.isposinf(exact).any():
        warn_conformal(
            f"no lambda meets the risk target alpha={float(alpha):g} with N = {total:.6g} "
            "(weighted) calibration points: lambda_hat = +inf (the trivial set / infinite "
            "interval). Calibrate on more data or raise alpha."
        )
    return np.asarray(exact, dtype=np.float64)


class _RiskBase(ConformalMixin, BaseEstimator):
    """Fit plumbing shared by the risk estimators: split, weights, wrapped model."""

    alpha: float
    calibration_size: Any
    shuffle: bool
    weights: Any
    random_state: Any

    def _levels(self, confidence_level: Any) -> Any:
        # The weighting's effective-sample-size warning asks for the level whose threshold
        # needs the most points: CRC with losses in [0, 1] needs N >= 1/alpha - 1, as split CP
        # at confidence_level = 1 - alpha.
        return check_levels(1.0 - float(self.alpha), type(self).__name__)

    def _fit_split(
        self,
        X: Any,
        y: NDArray,
        sample_weight: ArrayLike | None,
        calibration_weights: ArrayLike | None,
        X_target: Any,
    ) -> tuple[Any, NDArray[np.intp]]:
        """Validate, split, fit a clone of the model on the training part and set the
        calibration weights; returns the calibration rows and their indices."""
        check_same_rows(X, y.shape[0])
        weights = check_sample_weight(sample_weight, y.shape[0])
        self._alpha = check_alpha(self.alpha)
        weighting = prepare_weighting(self, X, calibration_weights, X_target)
        estimator = self._resolve_estimator()
        n = y.shape[0]
        if is_frozen(estimator):
            if weights is not None:
                raise ValueError(
                    "sample_weight was given with a FrozenEstimator, which is not refitted; fit "
                    "without sample_weight (it only weighs the wrapped model's training)."
                )
            calibration = np.arange(n)
            self.estimator_ = estimator
        else:
            check_sample_count(n, type(self).__name__)
            train, calibration = split_indices(
                n,
                self.calibration_size,
                self.random_state,
                shuffle=self.shuffle,
                positions=weighting.positions,
            )
            self.estimator_ = fit_with_weights(
                clone(estimator),
                take(X, train),
                y[train],
                None if weights is None else weights[train],
            )
        X_cal = take(X, calibration)
        finish_weighting(self, weighting, X_cal, calibration)
        return X_cal, calibration

    def _test_weights(self, X: Any) -> Floats | None:
        scheme = getattr(self, "weights_scheme_", None)
        return None if scheme is None else scheme.test_weights(X)


def _per_test(scheme: Any) -> bool:
    """The scheme gives each test row its own weight (likelihood ratios, callables)."""
    return scheme is not None and type(scheme).test_weights is not WeightScheme.test_weights


def _positive_proba(proba: Any, n_labels: int | None = None) -> Floats:
    """Per-label positive probabilities, shape (n, L), from a ``predict_proba`` output: a list
    of (n, 2) arrays (``MultiOutputClassifier``), an (n, L, 2) or an (n, L) array."""
    if isinstance(proba, list):
        columns = []
        for k, block in enumerate(proba):
            block = np.asarray(block, dtype=np.float64)
            if block.ndim != 2 or block.shape[1] not in (1, 2):
                raise ValueError(
                    f"predict_proba returned a list whose entry {k} has shape {block.shape}; "
                    "expected (n_samples, 2) per label, as MultiOutputClassifier gives."
                )
            columns.append(block[:, -1] if block.shape[1] == 2 else block[:, 0])
        out = np.column_stack(columns)
    else:
        out = np.asarray(proba, dtype=np.float64)
        if out.ndim == 3:
            out = out[..., 1]
        if out.ndim != 2:
            raise ValueError(
                "predict_proba must give per-label probabilities of shape (n_samples, "
                f"n_labels); got shape {out.shape}."
            )
    if n_labels is not None and out.shape[1] != n_labels:
        raise ValueError(
            f"predict_proba gave {out.shape[1]} labels; the model was calibrated on {n_labels}."
        )
    bad = ~((out >= 0) & (out <= 1))
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(
            f"probabilities must lie in [0, 1]; predict_proba gave {out[i, j]!r} at row {i}, "
            f"label {j}. Wrap the model in CalibratedClassifierCV or clip its scores."
        )
    return out


def _check_multilabel(y: ArrayLike) -> NDArray[np.int8]:
    target = np.asarray(y)
    if target.ndim != 2:
        raise ValueError(
            "y must be a binary indicator matrix of shape (n_samples, n_labels) for multilabel "
            f"risk control. Got shape {target.shape} instead (use MultiLabelBinarizer)."
        )
    if not np.isin(target, (0, 1)).all():
        raise ValueError("y must hold only 0 and 1 (a multilabel indicator matrix).")
    return target.astype(np.int8)


def _fnr_losses(proba: Floats, y: NDArray, lambdas: Floats) -> Floats:
    """False-negative rate of ``{j : p_j >= 1 - lambda}``, (n, n_lambdas); 0 without labels."""
    size = y.sum(axis=1)
    out = np.zeros((proba.shape[0], lambdas.shape[0]))
    for k, lam in enumerate(lambdas):
        found = ((1.0 - proba <= lam) & (y == 1)).sum(axis=1)
        out[:, k] = np.where(size > 0, 1.0 - found / np.maximum(size, 1), 0.0)
    return out


def _precision_losses(proba: Floats, y: NDArray, lambdas: Floats) -> Floats:
    """1 - precision of ``{j : p_j >= 1 - lambda}``, (n, n_lambdas); 0 for an empty set."""
    out = np.zeros((proba.shape[0], lambdas.shape[0]))
    for k, lam in enumerate(lambdas):
        chosen = 1.0 - proba <= lam
        size = chosen.sum(axis=1)
        hits = (chosen & (y == 1)).sum(axis=1)
        out[:, k] = np.where(size > 0, 1.0 - hits / np.maximum(size, 1), 0.0)
    return out


_DEFAULT_GRID = np.linspace(0.0, 1.0, 101)


class RiskControlMultilabelClassifier(ClassifierMixin, _RiskBase):
    """Multilabel prediction sets that control a risk: the false-negative rate (CRC, RCPS,
    LTT) or the precision (LTT), with weights for non-exchangeable CRC.

    The sets are ``C_lambda(x) = {j : p_j(x) >= 1 - lambda}``, growing with ``lambda`` in
    ``[0, 1]``; ``p_j`` are the wrapped model's per-label probabilities. ``lambda_`` is chosen
    on the calibration part:

    - ``method="crc"`` (risk ``"fnr"``): ``E[FNR] <= alpha`` (Angelopoulos et al. 2022); with
      ``weights``, up to the non-exchangeability gap of Farinhas et al. (2024);
    - ``method="rcps"`` (risk ``"fnr"``): ``P(E[FNR | calibration] > alpha) <= delta``;
    - ``method="ltt"``: ``P(risk > alpha) <= delta`` for ``"fnr"`` (smallest certified
      lambda) or ``"precision"`` (the loss ``1 - precision``, 0 for an empty set, not
      monotone; fixed-sequence testing from the smallest sets up, the largest certified
      lambda, ``0`` with a warning when none is).

    Parameters
    ----------
    estimator : classifier with ``predict_proba``, default=None
        A multilabel model: ``MultiOutputClassifier`` (a list of (n, 2) arrays), a one-vs-rest
        model or any model whose ``predict_proba`` gives (n, L) or (n, L, 2) probabilities.
        ``None``: ``MultiOutputClassifier(LogisticRegression())``. Frozen models
        (``FrozenEstimator``) calibrate on all the data given to ``fit``.
    alpha : float, default=0.1
        Target risk, in (0, 1).
    risk : {"fnr", "precision"}, default="fnr"
    method : {"crc", "rcps", "ltt"}, default="crc"
    delta : float, default=0.1
        Error probability of RCPS and LTT, in (0, 1) (not used by CRC).
    bound : {"wsr", "hoeffding", "bernstein"}, default="wsr"
        The RCPS upper confidence bound.
    lambdas : array-like of shape (n_lambdas,), default=None
        Strictly increasing grid in ``[0, 1]``. ``None``: CRC takes the exact infimum over all
        lambda (bisection over the sorted breakpoints ``1 - p_ij``); RCPS and LTT use 101
        points from 0 to 1.
    calibration_size : float or int, default=0.3
    shuffle : bool, default=True
        ``False``: the most recent rows calibrate (time-ordered data).
    weights : WeightScheme, callable or None, default=None
        Non-exchangeable CRC (``method="crc"`` only): ``ExponentialDecayWeights(0.99)``,
        ``SlidingWindowWeights``, ``LikelihoodRatioWeights`` or a callable ``w(X)``. Fixed
        weights above 1 are divided by their maximum (the test point weighs 1); likelihood
        ratios give one lambda per test point.
    random_state : int, Generator, RandomState or None, default=None
        Controls the split.

    Attributes
    ----------
    estimator_ : classifier
    lambda_ : float
        The chosen lambda (``+inf``: every label; with likelihood-ratio weights, the lambda of
        a test point of weight 1).
    n_labels_ : int
    calibration_weights_ : ndarray of shape (n_calibration,) or None
    weights_scheme_ : WeightScheme or None
    effective_sample_size_ : float
    n_features_in_ : int

    References
    ----------
    A. N. Angelopoulos, S. Bates, A. Fisch, L. Lei and T. Schuster (2022). Conformal risk
    control.

    A. Farinhas, C. Zerva, D. Ulmer and A. F. T. Martins (2024). Non-exchangeable conformal
    risk control. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.risk import RiskControlMultilabelClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> Y = (X + 0.5 * rng.normal(size=(600, 3)) > 0).astype(int)
    >>> model = RiskControlMultilabelClassifier(alpha=0.1, random_state=0).fit(X, Y)
    >>> model.predict_set(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "risk": [StrOptions({"fnr", "precision"})],
        "method": [StrOptions({"crc", "rcps", "ltt"})],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "bound": [StrOptions({"wsr", "hoeffding", "bernstein"})],
        "lambdas": ["array-like", None],
        "calibration_size": [
            Interval(Real, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "shuffle": ["boolean"],
        "weights": _WEIGHTS,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        alpha: float = 0.1,
        risk: str = "fnr",
        method: str = "crc",
        delta: float = 0.1,
        bound: str = "wsr",
        lambdas: ArrayLike | None = None,
        calibration_size: float = 0.3,
        shuffle: bool = True,
        weights: Any = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.alpha = alpha
        self.risk = risk
        self.method = method
        self.delta = delta
        self.bound = bound
        self.lambdas = lambdas
        self.calibration_size = calibration_size
        self.shuffle = shuffle
        self.weights = weights
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return MultiOutputClassifier(LogisticRegression())

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    def _grid(self) -> Floats | None:
        if self.lambdas is None:
            return None
        grid = check_lambdas(self.lambdas)
        if grid[0] < 0 or grid[-1] > 1:
            raise ValueError(
                f"lambdas must lie in [0, 1] (sets {{j : p_j >= 1 - lambda}}); got "
                f"[{grid[0]!r}, {grid[-1]!r}]."
            )
        return grid

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        calibration_weights: ArrayLike | None = None,
        X_target: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> RiskControlMultilabelClassifier:
        """Fit the model on the training part and choose ``lambda_`` on the calibration part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples, n_labels)
            Binary indicator matrix.
        calibration_weights : array-like of shape (n_samples,), default=None
            Fixed weights (CRC only; not with a ``weights`` scheme).
        X_target : array-like, default=None
            Unlabeled test rows for an unfitted ``LikelihoodRatioWeights``.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the model's ``fit``.

        Returns
        -------
        self : RiskControlMultilabelClassifier

        Raises
        ------
        ValueError
            For bad parameters, a non-binary ``y``, probabilities outside [0, 1],
            ``risk="precision"`` without ``method="ltt"``, weights without ``method="crc"``.
        """
        self._validate_params()
        if self.risk == "precision" and self.method != "ltt":
            raise ValueError(
                f"risk='precision' needs method='ltt' (the precision loss is not monotone in "
                f"lambda); got method={self.method!r}."
            )
        weighted = self.weights is not None or calibration_weights is not None
        if weighted and self.method != "crc":
            raise ValueError(
                f"weights are supported by method='crc' only (non-exchangeable CRC, Farinhas "
                f"et al. 2024); got method={self.method!r}. Use method='crc' or drop weights."
            )
        grid = self._grid()
        X = self._check_features(X, reset=True)
        target = _check_multilabel(y)
        self._check_estimator_kind(self._resolve_estimator())
        X_cal, calibration = self._fit_split(
            X, target, sample_weight, calibration_weights, X_target
        )
        proba = _positive_proba(self.estimator_.predict_proba(X_cal))
        y_cal = target[calibration]
        if proba.shape[1] != y_cal.shape[1]:
            raise ValueError(
                f"predict_proba gave {proba.shape[1]} labels but y has {y_cal.shape[1]}."
            )
        self.n_labels_ = y_cal.shape[1]
        self._curve = None
        if self.method == "crc":
            size = y_cal.sum(axis=1)
            points = np.where(y_cal == 1, 1.0 - proba, np.inf)
            drops = np.where(y_cal == 1, 1.0 / np.maximum(size, 1)[:, None], 0.0)
            w = self.calibration_weights_
            scheme = self.weights_scheme_
            lr = _per_test(scheme)
            self._curve = step_curve(points, drops, 1.0, None if w is None else w)
            if lr:  # ratios used unscaled: step_curve scaled fixed weights above 1
                self._curve = _unscaled_curve(points, drops, w)
            values, sums, total = self._curve
            self.lambda_ = float(_steps_lambda(values, sums, total, self._alpha, None, grid)[0])
            self._grid_ = grid
            return self
        grid = _DEFAULT_GRID if grid is None else grid
        if self.risk == "fnr":
            losses = _fnr_losses(proba, y_cal, grid)
        else:
            losses = _precision_losses(proba, y_cal, grid)
        if self.method == "rcps":
            self.lambda_ = rcps(losses, grid, self.alpha, self.delta, method=self.bound)
        elif self.risk == "fnr":
            valid = learn_then_test(losses, self.alpha, self.delta)
            self.lambda_ = first_valid(valid, grid)
        else:  # 1 - precision rises as sets grow: test from the smallest sets, keep the largest
            valid = learn_then_test(losses, self.alpha, self.delta, start="first")
            self.lambda_ = last_valid(valid, grid)
        return self

    def predict_proba(self, X: ArrayLike) -> Floats:
        """Per-label positive probabilities of the wrapped model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_labels)
            ``P(label j is relevant | x)`` for each label ``j``.
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        return _positive_proba(self.estimator_.predict_proba(X), self.n_labels_)

    def predict(self, X: ArrayLike) -> NDArray:
        """The risk-controlling sets as a 0/1 indicator matrix.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        sets : ndarray of int of shape (n_samples, n_labels)
            ``predict_set(X)`` as 0/1.
        """
        return self.predict_set(X).astype(np.int64)

    def predict_set(self, X: ArrayLike) -> NDArray[np.bool_]:
        """Label sets ``{j : p_j(x) >= 1 - lambda}`` (``lambda`` per test row with
        likelihood-ratio weights).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        sets : ndarray of bool of shape (n_samples, n_labels)
            ``sets[i, j]`` is true when label ``j`` is in the set of row ``i``.
        """
        proba = self.predict_proba(X)
        lam: Any = self.lambda_
        t = self._test_weights(X) if self._curve is not None else None
        if t is not None and self._curve is not None:
            values, sums, total = self._curve
            lam = _steps_lambda(values, sums, total, self._alpha, t, self._grid_)[:, None]
        # The test fit used: label j is in when its breakpoint 1 - p_j is <= lambda (written as
        # p_j >= 1 - lambda it differs in floating point, e.g. 1 - (1 - 0.3) > 0.3).
        return np.asarray(1.0 - proba <= np.asarray(lam))


def _unscaled_curve(points: Floats, drops: Floats, w: Any) -> tuple[Floats, Floats, float]:
    """``step_curve`` with likelihood-ratio weights as given (their scale cancels against the
    test weight's)."""
    top = float(np.max(w)) if w is not None and np.size(w) else 1.0
    values, sums, total = step_curve(points, drops, 1.0, None if w is None else w / top)
    return values, sums * top, total * top


class RiskControlBinaryClassifier(ClassifierMixin, _RiskBase):
    """A binary decision threshold certified by Learn-then-Test to control precision or recall.

    Predicts the positive class (``classes_[1]``) when its probability is at least
    ``threshold_``. ``threshold_`` is the best of the thresholds of the grid that
    Learn-then-Test certifies with family-wise error ``delta``:

    - ``risk="precision"``: ``1 - precision <= alpha`` (the false-discovery proportion among
      predicted positives, tested with their count as sample size), the smallest certified
      threshold (most recall);
    - ``risk="recall"``: ``1 - recall <= alpha`` (missed positives among true positives), the
      largest certified threshold (most precision).

    Guarantee: ``P(risk(threshold_) > alpha) <= delta`` for i.i.d. data.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``, default=None
        ``None``: ``LogisticRegression()``.
    alpha : float, default=0.1
        Target risk (``1 - precision`` or ``1 - recall``), in (0, 1).
    risk : {"precision", "recall"}, default="precision"
    delta : float, default=0.1
    fwer : {"bonferroni", "fixed_sequence"}, default="bonferroni"
        Bonferroni keeps every threshold with ``p <= delta / n_thresholds``. Fixed-sequence
        tests from the safest threshold (highest for precision, lowest for recall) on and stops
        at the first failure: strong for recall, but for precision the highest thresholds
        predict almost no positives (p-value near 1), which stops it at once.
    thresholds : array-like, default=None
        Strictly increasing grid in [0, 1]; ``None``: 101 points from 0 to 1.
    calibration_size : float or int, default=0.3
    shuffle : bool, default=True
    random_state : int, Generator, RandomState or None, default=None

    Attributes
    ----------
    estimator_ : classifier
    classes_ : ndarray of shape (2,)
    threshold_ : float
        ``+inf`` (never positive) or ``-inf`` (always positive), with a warning, when no
        threshold is certified.
    valid_thresholds_ : ndarray
        The certified thresholds.
    pvalues_ : ndarray of shape (n_thresholds,)

    References
    ----------
    A. N. Angelopoulos, S. Bates, E. J. Candes, M. I. Jordan and L. Lei (2021). Learn then
    test: calibrating predictive algorithms to achieve risk control. arXiv:2110.01052.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.risk import RiskControlBinaryClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2))
    >>> y = (X[:, 0] + rng.normal(size=2000) > 0).astype(int)
    >>> model = RiskControlBinaryClassifier(alpha=0.2, random_state=0).fit(X, y)
    >>> bool(0.5 < model.threshold_ < 1.0)
    True
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "risk": [StrOptions({"precision", "recall"})],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "fwer": [StrOptions({"fixed_sequence", "bonferroni"})],
        "thresholds": ["array-like", None],
        "calibration_size": [
            Interval(Real, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    }
    weights = None

    def __init__(
        self,
        estimator: Any = None,
        *,
        alpha: float = 0.1,
        risk: str = "precision",
        delta: float = 0.1,
        fwer: str = "bonferroni",
        thresholds: ArrayLike | None = None,
        calibration_size: float = 0.3,
        shuffle: bool = True,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.alpha = alpha
        self.risk = risk
        self.delta = delta
        self.fwer = fwer
        self.thresholds = thresholds
        self.calibration_size = calibration_size
        self.shuffle = shuffle
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return LogisticRegression()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(
        self, X: ArrayLike, y: ArrayLike, *, sample_weight: ArrayLike | None = None
    ) -> RiskControlBinaryClassifier:
        """Fit the model on the training part and certify thresholds on the calibration part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Two classes.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : RiskControlBinaryClassifier

        Raises
        ------
        ValueError
            For bad parameters, ``y`` without exactly two classes, thresholds outside [0, 1].
        """
        self._validate_params()
        grid = _DEFAULT_GRID if self.thresholds is None else check_lambdas(self.thresholds)
        if grid[0] < 0 or grid[-1] > 1:
            raise ValueError(
                f"thresholds must lie in [0, 1] (probabilities); got [{grid[0]!r}, {grid[-1]!r}]."
            )
        X = self._check_features(X, reset=True)
        labels = column_or_1d(y, warn=True)
        check_classification_targets(labels)
        self.classes_, encoded = np.unique(labels, return_inverse=True)
        if self.classes_.shape[0] != 2:
            raise ValueError(
                f"Only binary classification is supported: y must have exactly two classes for "
                f"RiskControlBinaryClassifier; got {self.classes_.shape[0]} "
                f"class{'' if self.classes_.shape[0] == 1 else 'es'} ({self.classes_[:5]!r}). "
                "For several labels use "
                "RiskControlMultilabelClassifier."
            )
        self._check_estimator_kind(self._resolve_estimator())
        X_cal, calibration = self._fit_split(X, labels, sample_weight, None, None)
        p = self._positive(X_cal)
        positive = encoded[calibration] == 1
        chosen = p[:, None] >= grid[None, :]
        if self.risk == "precision":
            count = chosen.sum(axis=0)
            wrong = (chosen & ~positive[:, None]).sum(axis=0)
            order = np.arange(grid.shape[0])[::-1]  # highest threshold (safest) first
        else:
            count = np.full(grid.shape[0], positive.sum())
            wrong = (~chosen & positive[:, None]).sum(axis=0)
            order = np.arange(grid.shape[0])
        r_hat = np.where(count > 0, wrong / np.maximum(count, 1), 0.0)
        a = float(check_alpha(self.alpha))
        self.pvalues_ = hb_pvalues(r_hat, count, a, True)
        valid = np.zeros(grid.shape[0], dtype=bool)
        if self.fwer == "bonferroni":
            valid = self.pvalues_ <= self.delta / grid.shape[0]
        else:
            for j in order:
                if self.pvalues_[j] > self.delta:
                    break
                valid[j] = True
        self.valid_thresholds_ = grid[valid]
        if not valid.any():
            fallback = np.inf if self.risk == "precision" else -np.inf
            warn_conformal(
                f"Learn-then-Test certified no threshold for {self.risk} risk alpha="
                f"{self.alpha:g} at delta={self.delta:g}: threshold_ = {fallback} (predict "
                f"{'no' if fallback > 0 else 'every'} sample positive). Calibrate on more data "
                "or raise alpha or delta."
            )
            self.threshold_ = float(fallback)
        elif self.risk == "precision":
            self.threshold_ = float(self.valid_thresholds_[0])
        else:
            self.threshold_ = float(self.valid_thresholds_[-1])
        return self

    def _positive(self, X: Any) -> Floats:
        proba = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        column = proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 else proba.ravel()
        if not ((column >= 0) & (column <= 1)).all():
            raise ValueError(
                "probabilities must lie in [0, 1]; the model's predict_proba gave values "
                "outside. Wrap it in CalibratedClassifierCV."
            )
        return column

    def predict_proba(self, X: ArrayLike) -> Floats:
        """The wrapped model's class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns aligned with ``classes_``.
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        return np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)

    def predict(self, X: ArrayLike) -> NDArray:
        """``classes_[1]`` where its probability is at least ``threshold_``, else
        ``classes_[0]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The decisions at the certified threshold.
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        return np.asarray(self.classes_[(self._positive(X) >= self.threshold_).astype(int)])


class RiskControlRegressor(RegressorMixin, _RiskBase):
    """Regression intervals that control a monotone loss by conformal risk control.

    The intervals are those of a split conformal regressor's score at threshold ``lambda``
    (``[f - lambda, f + lambda]`` for the absolute score), growing with ``lambda``; the score
    part (model, difficulty model, split, weights) is :class:`SplitConformalRegressor`'s,
    fitted inside. ``lambda_`` is chosen by CRC for the loss:

    - ``"miscoverage"``: ``1{y outside}``; the result is exactly the split-conformal interval
      for ``confidence_level = 1 - alpha`` (same split, same scores);
    - ``"relative_distance"``: ``max(0, 1 - lambda / s)`` for the score ``s`` of ``y`` (the
      distance of ``y`` outside the interval over its distance to the prediction, in [0, 1]),
      solved exactly (piecewise linear in lambda).

    Guarantee: ``E[loss] <= alpha`` for exchangeable data (with ``weights``, up to the gap of
    Farinhas et al. 2024).

    Parameters
    ----------
    estimator : regressor, default=None
        ``None``: ``LinearRegression()``.
    alpha : float, default=0.1
        Target risk, in (0, 1).
    loss : {"miscoverage", "relative_distance"}, default="miscoverage"
    conformity_score : {"absolute", "normalized", "gamma"} or RegressionScore, \
            default="absolute"
        A symmetric score (one threshold per interval).
    calibration_size : float or int, default=0.3
    shuffle : bool, default=True
    weights : WeightScheme, callable or None, default=None
        Non-exchangeable CRC (see :class:`RiskControlMultilabelClassifier`).
    random_state : int, Generator, RandomState or None, default=None

    Attributes
    ----------
    split_estimator_ : SplitConformalRegressor
        The fitted score part.
    estimator_ : regressor
    conformity_scores_ : ndarray of shape (n_calibration,)
    lambda_ : float
        The chosen threshold (``+inf`` with a warning when none qualifies).
    calibration_weights_ : ndarray or None
    effective_sample_size_ : float

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.risk import RiskControlRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 5, size=(500, 1))
    >>> y = 2 * X[:, 0] + rng.normal(size=500)
    >>> model = RiskControlRegressor(alpha=0.1, random_state=0).fit(X, y)
    >>> model.predict_interval([[1.0]]).shape
    (1, 2)
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "loss": [StrOptions({"miscoverage", "relative_distance"})],
        "conformity_score": [StrOptions({"absolute", "normalized", "gamma"}), RegressionScore],
        "calibration_size": [
            Interval(Real, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "shuffle": ["boolean"],
        "weights": _WEIGHTS,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        alpha: float = 0.1,
        loss: str = "miscoverage",
        conformity_score: Any = "absolute",
        calibration_size: float = 0.3,
        shuffle: bool = True,
        weights: Any = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.alpha = alpha
        self.loss = loss
        self.conformity_score = conformity_score
        self.calibration_size = calibration_size
        self.shuffle = shuffle
        self.weights = weights
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return LinearRegression()

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        calibration_weights: ArrayLike | None = None,
        X_target: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> RiskControlRegressor:
        """Fit the score part (:class:`SplitConformalRegressor`) and choose ``lambda_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        calibration_weights : array-like of shape (n_samples,), default=None
        X_target : array-like, default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : RiskControlRegressor

        Raises
        ------
        ValueError
            For bad parameters and inputs, and a two-sided (``(n, 2)``) score.
        """
        self._validate_params()
        self._alpha = check_alpha(self.alpha)
        X = self._check_features(X, reset=True)
        check_target(y)
        split = SplitConformalRegressor(
            self.estimator,
            confidence_level=1.0 - float(self.alpha),
            conformity_score=self.conformity_score,
            calibration_size=self.calibration_size,
            shuffle=self.shuffle,
            weights=self.weights,
            random_state=self.random_state,
        )
        split.fit(
            X,
            y,
            calibration_weights=calibration_weights,
            X_target=X_target,
            sample_weight=sample_weight,
        )
        scores = np.asarray(split.conformity_scores_, dtype=np.float64)
        if scores.ndim != 1:
            raise ValueError(
                f"conformity_score={self.conformity_score!r} gives two scores per point; "
                "RiskControlRegressor needs one threshold per interval: use 'absolute', "
                "'normalized' or 'gamma'."
            )
        self.split_estimator_ = split
        self.estimator_ = split.estimator_
        self.conformity_scores_ = scores
        self.calibration_weights_ = split.calibration_weights_
        self.weights_scheme_ = split.weights_scheme_
        self.effective_sample_size_ = split.effective_sample_size_
        w = self.calibration_weights_
        self._lr = _per_test(self.weights_scheme_)
        if w is not None and not self._lr:
            w = w / max(1.0, float(w.max()))
        self._w = w
        self.lambda_ = float(self._lambdas(None)[0])
        return self

    def _lambdas(self, t: Floats | None) -> Floats:
        s, w = self.conformity_scores_, self._w
        if self.loss == "miscoverage":
            if w is not None and self._lr:
                values, sums, total = _unscaled_curve(s, np.ones_like(s)[:, None], w)
            else:
                values, sums, total = step_curve(s, None, 1.0, w)
            return _steps_lambda(values, sums, total, self._alpha, t, None)
        return _relative_distance_lambda(s, w, self._alpha, t)

    def predict(self, X: ArrayLike) -> Floats:
        """Point predictions of the wrapped model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return np.asarray(self.split_estimator_.predict(X), dtype=np.float64)

    def predict_interval(self, X: ArrayLike) -> Floats:
        """Intervals ``[lower, upper]`` at threshold ``lambda_`` (per test row with
        likelihood-ratio weights), rounded outward.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2)
            Infinite where no finite ``lambda`` controls the risk (with a warning at ``fit``).
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        split = self.split_estimator_
        t = self._test_weights(X)
        lam = np.full(1, self.lambda_) if t is None else self._lambdas(t)
        f = np.asarray(split._point_predictions(X), dtype=np.float64)
        thresholds = np.broadcast_to(lam, f.shape)[:, None]
        return np.asarray(split.score_.inverse(f, thresholds, scale=split._scale(X))[:, 0])


def _relative_distance_lambda(s: Floats, w: Floats | None, alpha: Any, t: Floats | None) -> Floats:
    """Exact CRC for ``L_i = max(0, 1 - lambda / s_i)`` (piecewise linear, convex)."""
    weights = np.ones_like(s) if w is None else w
    order = np.argsort(s)
    ss, ww = s[order], weights[order]
    total = float(weights.sum())
    tt = np.ones(1) if t is None else t
    c = (float(alpha) * (total + tt) - tt) / 1.0  # S(lambda) <= c, bound 1
    # suffix sums over points with s > s_(k): A_k = sum w, B_k = sum w / s
    positive = ss > 0
    inv = np.where(positive, ww / np.where(positive, ss, 1.0), 0.0)
    wpos = np.where(positive, ww, 0.0)
    A = np.r_[np.cumsum(wpos[::-1])[::-1], 0.0]  # A[k]: points k.. (sorted)
    B = np.r_[np.cumsum(inv[::-1])[::-1], 0.0]
    # F at lambda = ss[k-1] (points >= k remain above, if distinct): A[k] - ss[k-1] B[k]
    knots = np.r_[0.0, ss]
    F = A - knots * B  # F at each knot, non-increasing
    F = np.minimum.accumulate(F)
    out = np.empty(tt.shape[0])
    for m in range(tt.shape[0]):
        if c[m] < 0:
            out[m] = np.inf
            continue
        k = int(np.searchsorted(-F, -c[m], side="left"))  # first knot with F <= c
        if k == 0:
            out[m] = 0.0
            continue
        # on [knots[k-1], knots[k]]: F(lambda) = A[k-1] - lambda B[k-1]
        out[m] = min(knots[k], max(knots[k - 1], (A[k - 1] - c[m]) / B[k - 1]))
    if np.isinf(out).any():
        warn_conformal(
            f"no lambda meets the risk target alpha={float(alpha):g}: too few (weighted) "
            "calibration points; lambda_hat = +inf (infinite intervals)."
        )
    return out
