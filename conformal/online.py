"""Online conformal regression for time-ordered data: ACI, AgACI and EnbPI.

Both estimators follow scikit-learn's incremental convention: :meth:`fit` on the first rows of a
series (in time order), then, at every step, ``predict_interval(X_next)`` before the outcome is
known and ``partial_fit(X_next, y_next)`` once it arrives.

- :class:`AdaptiveConformalRegressor` is adaptive conformal inference (ACI, Gibbs and Candes
  2021): the miscoverage level used for the next interval moves after every outcome,
  ``a_{t+1} = a_t + gamma (a - err_t)``, so that the long-run frequency of misses tends to the
  target ``a = 1 - confidence_level`` for *any* sequence, exchangeable or not.
- :class:`AggregatedAdaptiveConformalRegressor` is AgACI (Zaffran et al. 2022): one ACI expert
  per learning rate of a grid, their bounds aggregated online by Bernstein Online Aggregation
  (BOA, Wintenberger 2017) under the pinball loss, so that ``gamma`` need not be chosen.
- :class:`EnbPIRegressor` is EnbPI (Xu and Xie 2021): a bootstrap ensemble (block bootstrap for
  time series) whose leave-one-out residuals slide forward on ``partial_fit`` without refitting,
  in O(n + n_test) memory (defined in ``conformal/_enbpi.py``, re-exported here).

Conventions shared by both (decisions, also stated in the class docstrings):

- ``fit(X, y)``: rows are in time order and are never shuffled. A clone of ``estimator`` is
  fitted on the oldest rows and the most recent ``calibration_size`` rows are the calibration
  set (with a ``FrozenEstimator``, every row is calibration data).
- Thresholds come from the calibration layer (:class:`conformal.calibration.Calibrator`): the
  ``ceil((1 - a_t)(n + 1))``-th smallest score, ``+inf`` when that rank exceeds ``n``; bounds are
  the score's own ``inverse``, rounded outward like every interval of the package.
- ``a_t <= 0`` gives the whole line ``(-inf, +inf)`` (not an error); ``a_t >= 1`` the empty set,
  written ``[+inf, -inf]`` (``lower > upper``, as the package writes every empty interval:
  :mod:`conformal.metrics` scores it as not covering, width 0).
- ``partial_fit`` processes its rows one at a time, in order: the interval at the current level,
  the miss ``err_t`` (``y`` outside the closed interval), the update of the level, the new score
  appended to the calibration set (the oldest dropped when ``window`` is set), and, every
  ``refit_every`` steps, a refit of the model.

References
----------
I. Gibbs and E. Candes (2021). Adaptive conformal inference under distribution shift. NeurIPS 34,
1660-1672.

M. Zaffran, O. Feron, Y. Goude, J. Josse and A. Dieuleveut (2022). Adaptive conformal predictions
for time series. ICML, PMLR 162, 25834-25866.

O. Wintenberger (2017). Optimal learning with Bernstein online aggregation. Machine Learning
106(1), 119-141.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._enbpi import EnbPIRegressor
from ._validation import check_same_rows, check_sample_count, check_target, is_frozen, take
from .base import ConformalMixin
from .calibration import (
    Calibrator,
    exact_level,
    warn_too_few,
)
from .scores import RegressionScore, get_regression_score

__all__ = ["AdaptiveConformalRegressor", "AggregatedAdaptiveConformalRegressor", "EnbPIRegressor"]

Floats = NDArray[np.float64]

# Scores that need no second model (a difficulty or quantile model) to be computed online.
_ONLINE_SCORES = ["absolute", "signed", "gamma"]

# The learning rates of Zaffran et al. (2022), Section 5: the grid of the AgACI experts.
DEFAULT_GAMMAS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.004,
    0.005,
    0.006,
    0.007,
    0.008,
    0.009,
    0.01,
    0.02,
    0.03,
    0.04,
    0.05,
    0.06,
    0.07,
    0.08,
    0.09,
)


def _stack_rows(chunks: Sequence[Any]) -> Any:
    """Rows of several chunks (arrays, sparse matrices or DataFrames) as one, in order."""
    if len(chunks) == 1:
        return chunks[0]
    if all(hasattr(chunk, "iloc") for chunk in chunks):
        import pandas as pd

        return pd.concat(list(chunks), axis=0)
    if any(sp.issparse(chunk) for chunk in chunks):
        return sp.vstack([sp.csr_matrix(chunk) for chunk in chunks], format="csr")
    return np.concatenate([np.asarray(chunk) for chunk in chunks], axis=0)


def _covered(y: float, lower: Floats, upper: Floats) -> NDArray[np.bool_]:
    """Whether ``y`` lies in each closed interval (an empty one, ``lower > upper``, holds none)."""
    return np.asarray((lower <= y) & (y <= upper))


class _OnlineConformalRegressor(ConformalMixin, RegressorMixin, BaseEstimator):
    """What ACI and AgACI share: the chronological split, the calibration set that follows the
    series, the step loop of ``partial_fit`` and the refits (not public).

    Subclasses set the level state in ``_start_levels``, give the intervals of one step in
    ``_step`` and the intervals at the current state in ``_current_intervals``.
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "confidence_level": [Interval(Real, 0.0, 1.0, closed="neither")],
        "conformity_score": [StrOptions(set(_ONLINE_SCORES)), RegressionScore],
        "calibration_size": [
            Interval(Real, 0.0, 1.0, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "window": [Interval(Integral, 1, None, closed="left"), None],
        "refit_every": [Interval(Integral, 1, None, closed="left"), None],
    }

    estimator: Any
    confidence_level: float
    conformity_score: str | RegressionScore
    calibration_size: float | int
    window: int | None
    refit_every: int | None

    def _default_estimator(self) -> Any:
        return LinearRegression()

    # ------------------------------------------------------------------ fit

    def fit(self, X: ArrayLike, y: ArrayLike) -> Any:
        """Fit the model on the oldest rows and calibrate on the most recent ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows in time order (never shuffled). Passed to the wrapped estimator as given.
        y : array-like of shape (n_samples,)
            Finite targets, in the same order.

        Returns
        -------
        self : estimator
            The fitted estimator, with the level at its start ``1 - confidence_level`` and
            empty histories.

        Raises
        ------
        ValueError
            For bad parameters or inputs, naming them; for a conformity score that needs a
            second model; for a ``FrozenEstimator`` with ``refit_every``.
        """
        X, target, _ = self._fit_prologue(X, y, check_target)
        estimator = self._resolve_estimator()
        self._check_estimator_kind(estimator)
        score = get_regression_score(self.conformity_score, param="conformity_score")
        if score.needs_quantiles or score.needs_scale:
            raise ValueError(
                f"conformity_score={score.name!r} needs a second model (quantile or difficulty "
                f"model), which {type(self).__name__} does not refit online; use one of "
                f"{_ONLINE_SCORES}."
            )
        frozen = is_frozen(estimator)
        if frozen and self.refit_every is not None:
            raise ValueError(
                f"refit_every={self.refit_every!r} asks to refit the model, which a "
                "FrozenEstimator cannot do; pass an unfitted estimator, or refit_every=None to "
                "keep the frozen model."
            )
        n = target.shape[0]
        if frozen:
            n_calibration = n
            self.estimator_ = estimator
        else:
            check_sample_count(n, type(self).__name__)
            n_calibration = self._calibration_count(n)
            self.estimator_ = clone(estimator).fit(
                take(X, np.arange(n - n_calibration)), target[: n - n_calibration]
            )
        self.score_ = score
        self.n_train_ = n - n_calibration
        f_cal = self._predict_model(take(X, np.arange(n - n_calibration, n)))
        scores = score.score(target[n - n_calibration :], f_cal)
        self._set_calibration(scores)
        self._tails = 2 if self.conformity_scores_.ndim == 2 else 1
        warn_too_few(
            self.conformity_scores_.shape[0],
            [exact_level(self.confidence_level)],
            tails=self._tails,
            what="infinite intervals until the calibration set grows",
        )
        self.alpha_ = float(1 - exact_level(self.confidence_level))
        # The observed range bounds the infinite bounds of AgACI's experts (see there).
        self._y_range = (float(target.min()), float(target.max()))
        # Rows kept for refits only: a model that is never refitted needs no history.
        self._X_chunks: list[Any] = [X] if self.refit_every is not None else []
        self._y_seen = target.copy() if self.refit_every is not None else target[:0]
        self.n_steps_ = 0
        self.n_refits_ = 0
        self.errors_ = np.zeros(0, dtype=np.int8)
        self.interval_history_ = np.zeros((0, 2))
        self._start_levels()
        return self

    def _calibration_count(self, n: int) -> int:
        """The number of most recent rows of ``n`` that calibrate (chronological split)."""
        size = self.calibration_size
        count = int(size) if isinstance(size, (int, np.integer)) else math.ceil(size * n)
        if not 1 <= count <= n - 1:
            raise ValueError(
                f"calibration_size={size!r} leaves {count} of the {n} samples for calibration "
                f"and {n - count} for training; both need at least one. Use a fraction in "
                f"(0, 1) or an int from 1 to {n - 1}."
            )
        return count

    def _set_calibration(self, scores: Floats) -> None:
        """The calibration scores (the ``window`` most recent when set) and their calibrator."""
        if self.window is not None:
            scores = scores[-self.window :]
        self.conformity_scores_ = np.ascontiguousarray(scores, dtype=np.float64)
        self.calibrator_ = Calibrator(self.conformity_scores_)

    def _append_score(self, score: Floats) -> None:
        """One new score in the calibration set; the oldest leaves when ``window`` is full."""
        if self.window is not None and self.conformity_scores_.shape[0] >= self.window:
            # No removal in the calibrator: rebuild it on the window (sorting ``window``
            # scores costs microseconds next to a model's predict).
            kept = np.concatenate([self.conformity_scores_, score])[-self.window :]
            self._set_calibration(kept)
            return
        self.conformity_scores_ = np.concatenate([self.conformity_scores_, score])
        self.calibrator_.append(score)  # sorted view kept by insertion

    def _predict_model(self, X: Any) -> Floats:
        return np.asarray(self.estimator_.predict(X), dtype=np.float64).ravel()

    def _point_predictions(self, X: Any) -> Any:
        return self.estimator_.predict(X)

    def predict(self, X: ArrayLike) -> Floats:
        """Point predictions of the wrapped model (the current one, after any refit).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions of the wrapped model.
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        return self._predict_model(X)

    # ------------------------------------------------------------------ thresholds

    def _thresholds(self, alphas: Floats) -> Floats:
        """Score thresholds at the miscoverage levels ``alphas``: ``(K,)``, or ``(K, 2)`` for
        two-column scores. ``a <= 0`` gives ``+inf`` (the whole line), ``a >= 1`` gives
        ``-inf`` (no score is at most it: the empty set), and a level the calibration set is
        too small for gives ``+inf`` without a warning (ACI asks for such levels by design)."""
        shape = (alphas.shape[0],) + ((2,) if self._tails == 2 else ())
        out = np.full(shape, np.inf)
        out[alphas >= 1.0] = -np.inf
        # 1 - a rounding to 1 (a below 1e-16) is the whole line, as a <= 0 is.
        inside = np.flatnonzero((alphas > 0.0) & (alphas < 1.0) & (1.0 - alphas < 1.0))
        if inside.size:
            levels = [exact_level(1.0 - float(alphas[k])) for k in inside]
            out[inside] = self.calibrator_.threshold(levels, warn=False)
        return out

    def _expert_intervals(self, f: Floats, alphas: Floats) -> Floats:
        """``(m, K, 2)`` intervals of the predictions ``f`` at the levels ``alphas``."""
        return np.asarray(self.score_.inverse(f, self._thresholds(alphas)), dtype=np.float64)

    # ------------------------------------------------------------------ online

    def _check_level(self, confidence_level: Any) -> None:
        """Only the constructor's level: ``a_t`` tracks it, another level has no state."""
        if confidence_level is None:
            return
        try:
            same = float(confidence_level) == float(self.confidence_level)
        except (TypeError, ValueError):
            same = False
        if not same:
            raise ValueError(
                f"confidence_level={confidence_level!r} was passed to predict_interval, but "
                f"{type(self).__name__} adapts its level online to the target "
                f"confidence_level={self.confidence_level!r} set at construction: there is no "
                "adapted state for another level. Omit confidence_level, or fit another "
                f"estimator with {type(self).__name__}(confidence_level={confidence_level!r})."
            )

    def predict_interval(self, X: ArrayLike, confidence_level: Any = None) -> Floats:
        """Intervals for the next rows, all at the current state (before their outcomes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The next rows. Every row gets the interval of the current level: pass them to
            :meth:`partial_fit` with their outcomes to move the level between rows.
        confidence_level : float, default=None
            Only ``None`` or the constructor's level: the state tracks that target.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2)
            ``[lower, upper]``; ``(-inf, +inf)`` when the level asks for more than the
            calibration set holds (``a_t <= 0``), ``[+inf, -inf]`` (empty) when ``a_t >= 1``.

        Raises
        ------
        ValueError
            For another ``confidence_level``.
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self)
        self._check_level(confidence_level)
        X = self._check_features(X, reset=False)
        return self._current_intervals(self._predict_model(X))

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> Any:
        """Take the outcomes of the next rows, one step per row, in order.

        For each row: the interval at the current state (recorded in ``interval_history_``),
        the miss ``err_t`` (in ``errors_``), the level update, the row's score appended to the
        calibration set, and a refit of the model every ``refit_every`` steps. Several rows in
        one call are processed as one step each: the intervals scored are the one-step intervals
        at each row's own ``a_t``, not those a single earlier :meth:`predict_interval` call gave
        for all of them; predict and learn one row at a time for the strict protocol.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The next rows, in time order.
        y : array-like of shape (n_samples,)
            Their outcomes (finite).

        Returns
        -------
        self : estimator

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit` (a subclass of ``ValueError``).
        ValueError
            When ``y`` holds NaN or infinity, or ``X`` and ``y`` differ in length.
        """
        owner = type(self).__name__
        if not hasattr(self, "calibrator_"):
            raise NotFittedError(
                f"partial_fit was called before fit on this {owner}: online conformal "
                "prediction starts from a fitted model and a calibration set. Call "
                f"fit(X_first, y_first) on the first rows of the series, then "
                "partial_fit(X_next, y_next) as outcomes arrive."
            )
        X = self._check_features(X, reset=False)
        target = self._check_outcomes(y)
        check_same_rows(X, target.shape[0])
        m = target.shape[0]
        records: dict[str, list[Any]] = {name: [] for name in self._history_names}
        start = 0
        while start < m:
            # The model changes only at refits: predict the rows up to the next one at once.
            stop = m
            if self.refit_every is not None:
                stop = min(m, start + self.refit_every - self.n_steps_ % self.refit_every)
            X_part = take(X, np.arange(start, stop))
            f = self._predict_model(X_part)
            for i in range(stop - start):
                outcome = float(target[start + i])
                for name, value in self._step(f[i : i + 1], outcome).items():
                    records[name].append(value)
                self._append_score(self.score_.score(np.array([outcome]), f[i : i + 1]))
                low, high = self._y_range
                self._y_range = (min(low, outcome), max(high, outcome))
                self.n_steps_ += 1
            if self.refit_every is not None:
                self._X_chunks.append(X_part)
                self._y_seen = np.concatenate([self._y_seen, target[start:stop]])
                if self.n_steps_ % self.refit_every == 0:
                    self._refit()
            start = stop
        # Histories grow once per call, not once per row (no quadratic copying).
        for name, attribute in self._history_names.items():
            if records[name]:
                old = getattr(self, attribute)
                setattr(self, attribute, np.concatenate([old, np.asarray(records[name])]))
        return self

    def _check_outcomes(self, y: ArrayLike) -> Floats:
        """``y`` of ``partial_fit`` as finite floats, with a message that names the fix."""
        try:
            target = np.asarray(y, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            return check_target(y)  # its message names the dtype
        bad = ~np.isfinite(target)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"y passed to partial_fit contains {float(target[first])!r} at index {first} "
                f"({int(bad.sum())} of {target.shape[0]} values are NaN or infinite): every "
                "outcome updates the level, so each must be known. Pass only the rows whose "
                "outcome has arrived (keep the others for a later partial_fit call)."
            )
        return check_target(target)

    def _refit(self) -> None:
        """Refit on the rows seen, split chronologically again: the most recent rows calibrate
        (``window`` of them when set, else the ``calibration_size`` share), the rows before
        them train (the ``n_train_`` most recent of those when ``window`` is set: a rolling
        training window as in Zaffran et al. 2022; else all of them)."""
        X_all = _stack_rows(self._X_chunks)
        self._X_chunks = [X_all]
        n = self._y_seen.shape[0]
        if self.window is not None:
            n_calibration = min(self.window, n - 1)
            first = max(0, n - n_calibration - self.n_train_)
        else:
            n_calibration = self._calibration_count(n)
            first = 0
        train = np.arange(first, n - n_calibration)
        calibration = np.arange(n - n_calibration, n)
        self.estimator_ = clone(self._resolve_estimator()).fit(
            take(X_all, train), self._y_seen[train]
        )
        f_cal = self._predict_model(take(X_all, calibration))
        self._set_calibration(self.score_.score(self._y_seen[calibration], f_cal))
        self.n_refits_ += 1

    # ------------------------------------------------------------------ subclass hooks

    def _start_levels(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    # Per-step records of ``_step`` and the history attribute each one extends.
    _history_names: dict[str, str] = {"interval": "interval_history_", "error": "errors_"}

    def _step(self, f: Floats, y: float) -> dict[str, Any]:  # pragma: no cover - overridden
        """One step: the interval at the current state, its miss, the state update; returns
        the records named in ``_history_names``."""
        raise NotImplementedError

    def _current_intervals(self, f: Floats) -> Floats:  # pragma: no cover - overridden
        raise NotImplementedError

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class AdaptiveConformalRegressor(_OnlineConformalRegressor):
    """Adaptive conformal inference (ACI): intervals whose level adapts online.

    After :meth:`fit` on the first rows of a series (in time order), each step is
    ``predict_interval(X_t)`` then ``partial_fit(X_t, y_t)``. The interval of step ``t`` is split
    conformal at the miscoverage level ``a_t`` on the current calibration scores; once ``y_t`` is
    known, ``err_t = 1`` if it fell outside, and ``a_{t+1} = a_t + gamma (a - err_t)`` with
    ``a = 1 - confidence_level`` and ``a_1 = a`` (Gibbs and Candes 2021). For *any* sequence,
    exchangeable or adversarial, the miss frequency after ``T`` steps satisfies
    ``|mean(err) - a| <= (max(a_1, 1 - a_1) + gamma) / (gamma T)`` (their Proposition 4.1),
    because ``a_t <= 0`` gives the whole line (never a miss) and ``a_t >= 1`` the empty set
    (always a miss), which keeps ``a_t`` in ``[-gamma, 1 + gamma]``. There is no per-step
    coverage guarantee.

    The calibration set follows the series: every outcome's score is appended (with ``window``,
    the oldest leaves). The model is fixed unless ``refit_every`` is set (see there).

    Parameters
    ----------
    estimator : regressor, default=None
        The point model. ``None`` means ``LinearRegression()``. A model that is already fitted
        is passed as ``sklearn.frozen.FrozenEstimator(model)``; then all of the data given to
        ``fit`` is calibration data.
    confidence_level : float, default=0.9
        The target long-run coverage ``1 - a``. One level only: ``a_t`` tracks it, so
        :meth:`predict_interval` accepts no other level.
    gamma : float, default=0.005
        The learning rate of ``a_t`` (> 0). Larger adapts faster to shifts, with noisier
        interval widths; the long-run bound shrinks as ``1 / (gamma T)``. Gibbs and Candes
        (2021) use 0.005.
    conformity_score : {"absolute", "signed", "gamma"} or RegressionScore, default="absolute"
        The conformity score (see :mod:`conformal.scores`); ``"signed"`` calibrates each side
        at ``1 - a_t / 2``. Scores that need a second model (normalized, CQR) are refused.
    calibration_size : float or int, default=0.3
        Fraction (or number) of the rows given to :meth:`fit`, **the most recent ones**, held
        out for calibration; the older rows train the model. Ignored with a frozen estimator.
    window : int, default=None
        A rolling calibration window: only the ``window`` most recent scores calibrate (the
        oldest leaves as each new one arrives); with ``refit_every``, the model is refitted on
        the ``n_train_`` rows just before them. ``None``: the calibration set keeps growing.
    refit_every : int, default=None
        Refit the model every ``refit_every`` steps of :meth:`partial_fit`: the rows seen so
        far (those of ``fit`` and every step) are split chronologically again, the most recent
        (``window`` of them, or the ``calibration_size`` share) recompute the calibration
        scores with the new model, the older ones train it (all of them, or the ``n_train_``
        most recent with ``window``). ``a_t`` carries on. ``None``: the model of :meth:`fit`
        is kept. Not with a ``FrozenEstimator``.

    Attributes
    ----------
    estimator_ : regressor
        The current point model.
    score_ : RegressionScore
        The score object.
    alpha_ : float
        The target miscoverage ``a = 1 - confidence_level``.
    alpha_t_ : float
        The current level ``a_t``: the one of the next interval.
    alpha_history_ : ndarray of shape (n_steps,)
        ``a_t`` of each step processed by :meth:`partial_fit`.
    errors_ : ndarray of int8 of shape (n_steps,)
        ``err_t``: 1 where the outcome fell outside the step's interval.
    interval_history_ : ndarray of shape (n_steps, 2)
        The interval of each step at the level ``a_t`` of that step: what
        :meth:`predict_interval` gives for a row predicted one step ahead (then learned with
        :meth:`partial_fit`). Rows predicted several steps ahead in one call all got the level of
        that call; ACI scores (``errors_``) the one-step intervals recorded here.
    conformity_scores_ : ndarray of shape (n_calibration,) or (n_calibration, 2)
        The current calibration scores, oldest first.
    calibrator_ : Calibrator
        The current calibration scores, sorted.
    n_train_ : int
        Rows that trained the model at :meth:`fit` (0 with a frozen estimator).
    n_steps_ : int
        Steps processed by :meth:`partial_fit`.
    n_refits_ : int
        Refits done so far.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    See Also
    --------
    AggregatedAdaptiveConformalRegressor : ACI without choosing ``gamma`` (AgACI).

    Notes
    -----
    MAPIE's ``TimeSeriesRegressor(method="aci")`` (``adapt_conformal_inference`` then
    ``update`` at each step, with ``AbsoluteConformityScore(sym=True)``) gives the same intervals
    as ``conformity_score="absolute", window=n_calibration``, while ``a_t`` stays in (0, 1) and
    no outcome lies exactly on a bound. It differs there: MAPIE clips ``a_t`` to ``[0, 1]``
    (after which the two sequences of ``a_t`` part), gives at ``a_t = 1`` the interval of the
    smallest score rather than the empty set, and counts an outcome on a bound as a miss (this
    package's intervals are closed). With ``sym=True``, MAPIE 1.6 also raises a ``ValueError``
    once ``a_t < 1 / (n + 1)`` instead of giving ``(-inf, inf)`` (its symmetric branch ignores
    ``allow_infinite_bounds``). Measured in ``benchmarks/agreement_aci.py``: identical ``a_t``
    sequences and bounds within 2e-15 over 1,000 steps. Its default score (``sym=False``) is
    this package's ``"signed"``. Zaffran et al.'s reference code takes ``numpy.quantile``
    (interpolated) of the scores instead of the conformal order statistic.

    References
    ----------
    I. Gibbs and E. Candes (2021). Adaptive conformal inference under distribution shift.
    NeurIPS 34, 1660-1672.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.online import AdaptiveConformalRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(700, 2))
    >>> y = X @ [1.0, -2.0] + rng.normal(size=700) * np.r_[np.ones(400), 3 * np.ones(300)]
    >>> aci = AdaptiveConformalRegressor(gamma=0.01).fit(X[:200], y[:200])
    >>> aci.predict_interval(X[200:201]).round(2)
    array([[-3.2 ,  0.15]])
    >>> for t in range(200, 700):  # one step per outcome
    ...     interval = aci.predict_interval(X[t : t + 1])
    ...     aci = aci.partial_fit(X[t : t + 1], y[t : t + 1])
    >>> float(round(1 - aci.errors_.mean(), 3)), float(round(aci.alpha_t_, 3))
    (0.89, 0.05)
    """

    _parameter_constraints: dict[str, Any] = {
        **_OnlineConformalRegressor._parameter_constraints,
        "gamma": [Interval(Real, 0.0, None, closed="neither")],
    }
    _history_names = {
        "interval": "interval_history_",
        "error": "errors_",
        "alpha": "alpha_history_",
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float = 0.9,
        gamma: float = 0.005,
        conformity_score: str | RegressionScore = "absolute",
        calibration_size: float | int = 0.3,
        window: int | None = None,
        refit_every: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.gamma = gamma
        self.conformity_score = conformity_score
        self.calibration_size = calibration_size
        self.window = window
        self.refit_every = refit_every

    def _start_levels(self) -> None:
        self.alpha_t_ = self.alpha_
        self.alpha_history_ = np.zeros(0)

    def _current_intervals(self, f: Floats) -> Floats:
        return self._expert_intervals(f, np.array([self.alpha_t_]))[:, 0, :]

    def _step(self, f: Floats, y: float) -> dict[str, Any]:
        alpha_t = self.alpha_t_
        interval = self._expert_intervals(f, np.array([alpha_t]))[0, 0]
        err = int(not _covered(y, interval[0:1], interval[1:2])[0])
        self.alpha_t_ = alpha_t + float(self.gamma) * (self.alpha_ - err)
        return {"interval": interval, "error": np.int8(err), "alpha": alpha_t}


class AggregatedAdaptiveConformalRegressor(_OnlineConformalRegressor):
    """AgACI: ACI experts over a grid of learning rates, aggregated online.

    Choosing ACI's ``gamma`` trades adaptivity against stable widths, and the best value depends
    on the series. AgACI (Zaffran et al. 2022) runs one ACI expert per ``gamma`` of a grid, all
    on the same model and calibration set, and aggregates their bounds with Bernstein Online
    Aggregation (BOA; Wintenberger 2017, in the gradient form of the R package ``opera`` that the
    authors used): the lower bounds under the pinball loss at ``a / 2``, the upper bounds at
    ``1 - a / 2``, each with its own weights. Each expert's level moves with its *own* misses,
    exactly as in :class:`AdaptiveConformalRegressor`.

    Infinite expert bounds cannot be averaged. Before aggregation (and in the loss), an
    infinite bound is replaced by the extreme outcome observed so far on its side (in ``fit``
    and every step): ``+inf`` by the largest ``y`` seen, ``-inf`` by the smallest; an expert's
    empty interval ``[+inf, -inf]`` thus counts as ``[max y, min y]``. The aggregate of such
    bounds is finite; it is empty (``lower > upper``) only when the weighted bounds cross.
    This follows the paper's treatment as we read it (the authors' R scripts are not public in
    full): state it when comparing numbers.

    AgACI has no long-run guarantee of its own (the aggregate is not an ACI run); Zaffran et
    al. report coverage near the target on their benchmarks, and the tests check it on drifting
    and changepoint sequences.

    Parameters
    ----------
    estimator : regressor, default=None
        The point model. ``None`` means ``LinearRegression()``; an already fitted model comes as
        ``sklearn.frozen.FrozenEstimator(model)`` (then all of ``fit``'s data calibrates).
    confidence_level : float, default=0.9
        The target long-run coverage ``1 - a``, for every expert and for the aggregation.
    gammas : sequence of float, default=None
        The experts' learning rates (positive). ``None``: the grid of Zaffran et al. (2022),
        ``DEFAULT_GAMMAS`` = 0.0005, 0.001, 0.002, ..., 0.009, 0.01, 0.02, ..., 0.09.
    conformity_score : {"absolute", "signed", "gamma"} or RegressionScore, default="absolute"
        As in :class:`AdaptiveConformalRegressor`.
    calibration_size : float or int, default=0.3
        Fraction (or number) of the rows of :meth:`fit`, the most recent ones, that calibrate.
    window : int, default=None
        A rolling calibration window, as in :class:`AdaptiveConformalRegressor`.
    refit_every : int, default=None
        Refit the model every ``refit_every`` steps, as in :class:`AdaptiveConformalRegressor`.

    Attributes
    ----------
    estimator_ : regressor
    score_ : RegressionScore
    alpha_ : float
        The target miscoverage ``a``.
    gammas_ : ndarray of shape (n_experts,)
        The learning rates of the experts.
    expert_alphas_ : ndarray of shape (n_experts,)
        Each expert's current level ``a_t``.
    weights_ : ndarray of shape (2, n_experts)
        The current aggregation weights of the lower (row 0) and upper (row 1) bounds.
    alpha_history_ : ndarray of shape (n_steps, n_experts)
        The experts' levels at each step.
    weight_history_ : ndarray of shape (n_steps, 2, n_experts)
        The weights used at each step.
    errors_ : ndarray of int8 of shape (n_steps,)
        1 where the outcome fell outside the aggregated interval.
    interval_history_ : ndarray of shape (n_steps, 2)
        The aggregated interval of each step.
    conformity_scores_ : ndarray
    calibrator_ : Calibrator
    n_train_ : int
    n_steps_ : int
    n_refits_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    See Also
    --------
    AdaptiveConformalRegressor : one ACI run with a given ``gamma``.

    References
    ----------
    M. Zaffran, O. Feron, Y. Goude, J. Josse and A. Dieuleveut (2022). Adaptive conformal
    predictions for time series. ICML, PMLR 162, 25834-25866.

    O. Wintenberger (2017). Optimal learning with Bernstein online aggregation. Machine
    Learning 106(1), 119-141.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.online import AggregatedAdaptiveConformalRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(700, 2))
    >>> y = X @ [1.0, -2.0] + rng.normal(size=700) * np.r_[np.ones(400), 3 * np.ones(300)]
    >>> agaci = AggregatedAdaptiveConformalRegressor().fit(X[:200], y[:200])
    >>> agaci = agaci.partial_fit(X[200:], y[200:])  # 500 steps, one per row, in order
    >>> float(round(1 - agaci.errors_.mean(), 3)), agaci.weights_.shape
    (0.888, (2, 19))
    """

    _parameter_constraints: dict[str, Any] = {
        **_OnlineConformalRegressor._parameter_constraints,
        "gammas": ["array-like", None],
    }
    _history_names = {
        "interval": "interval_history_",
        "error": "errors_",
        "alpha": "alpha_history_",
        "weights": "weight_history_",
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float = 0.9,
        gammas: Sequence[float] | None = None,
        conformity_score: str | RegressionScore = "absolute",
        calibration_size: float | int = 0.3,
        window: int | None = None,
        refit_every: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.gammas = gammas
        self.conformity_score = conformity_score
        self.calibration_size = calibration_size
        self.window = window
        self.refit_every = refit_every

    def _check_gammas(self) -> Floats:
        if self.gammas is None:
            return np.array(DEFAULT_GAMMAS)
        try:
            gammas = np.asarray(self.gammas, dtype=np.float64)
        except (TypeError, ValueError):
            gammas = np.array([np.nan])
        if (
            gammas.ndim != 1
            or gammas.shape[0] == 0
            or not (np.isfinite(gammas) & (gammas > 0)).all()
        ):
            raise ValueError(
                f"gammas={self.gammas!r} must be a non-empty flat sequence of positive, finite "
                "learning rates, e.g. gammas=(0.001, 0.01, 0.05); or None for the grid of "
                "Zaffran et al. (2022)."
            )
        return gammas

    def _start_levels(self) -> None:
        self.gammas_ = self._check_gammas()
        k = self.gammas_.shape[0]
        self.expert_alphas_ = np.full(k, self.alpha_)
        self.weights_ = np.full((2, k), 1.0 / k)
        # BOA's state per side: cumulated regularised regrets and inverse squared rates.
        self._regrets = np.zeros((2, k))
        self._eta_inv2 = np.zeros((2, k))
        self._last_regret = np.zeros((2, k))
        self.alpha_history_ = np.zeros((0, k))
        self.weight_history_ = np.zeros((0, 2, k))

    def _finite_bounds(self, bounds: Floats) -> Floats:
        """Infinite expert bounds replaced by the extreme outcome seen on their side."""
        low, high = self._y_range
        return np.where(np.isinf(bounds), np.where(bounds > 0, high, low), bounds)

    def _aggregate(self, bounds: Floats) -> Floats:
        """``(m, 2)`` aggregated intervals from the experts' ``(m, K, 2)`` bounds."""
        finite = self._finite_bounds(bounds)
        lower = finite[..., 0] @ self.weights_[0]
        upper = finite[..., 1] @ self.weights_[1]
        return np.stack([lower, upper], axis=-1)

    def _current_intervals(self, f: Floats) -> Floats:
        return self._aggregate(self._expert_intervals(f, self.expert_alphas_))

    def _step(self, f: Floats, y: float) -> dict[str, Any]:
        alphas, weights = self.expert_alphas_.copy(), self.weights_.copy()
        bounds = self._expert_intervals(f, alphas)  # (1, K, 2)
        interval = self._aggregate(bounds)[0]
        err = int(not _covered(y, interval[0:1], interval[1:2])[0])
        expert_errors = (~_covered(y, bounds[0, :, 0], bounds[0, :, 1])).astype(np.float64)
        self.expert_alphas_ = alphas + self.gammas_ * (self.alpha_ - expert_errors)
        finite = self._finite_bounds(bounds[0])  # (K, 2)
        for side, tau in ((0, self.alpha_ / 2), (1, 1 - self.alpha_ / 2)):
            self._boa_update(side, finite[:, side], float(interval[side]), y, tau)
        return {
            "interval": interval,
            "error": np.int8(err),
            "alpha": alphas,
            "weights": weights,
        }

    def _boa_update(
        self, side: int, experts: Floats, prediction: float, y: float, tau: float
    ) -> None:
        """One BOA step with the gradient trick (``opera::BOA``, ``loss.gradient=TRUE``): the
        pinball loss ``rho_tau`` is linearised at the aggregated bound, so the instantaneous
        regret of expert ``k`` is ``g (prediction - x_k)`` with ``g = 1{y < prediction} - tau``;
        each expert's rate is ``1 / sqrt(2.2 * sum of its squared regrets)``."""
        gradient = float(y < prediction) - tau
        regret = gradient * (prediction - experts)
        eta_inv2 = self._eta_inv2[side] + 2.2 * regret**2
        self._eta_inv2[side] = eta_inv2
        active = eta_inv2 > 0
        # Bernstein's second-order correction; an expert never apart from the aggregate keeps
        # its last value (0), as in opera.
        self._last_regret[side, active] = regret[active] - regret[active] ** 2 / np.sqrt(
            eta_inv2[active]
        )
        self._regrets[side] += self._last_regret[side]
        k = experts.shape[0]
        w0 = np.full(k, 1.0 / k)
        weights = w0.copy()
        if active.any():
            log_w = (
                -np.log(eta_inv2[active]) / 2
                + np.log(w0[active])
                + self._regrets[side, active] / np.sqrt(eta_inv2[active])
            )
            log_w -= log_w.max()
            weights[active] = w0[active].sum() * np.exp(log_w) / np.exp(log_w).sum()
        self.weights_[side] = weights / weights.sum()
