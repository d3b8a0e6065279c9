"""Regression conformity scores: ``score(y, y_pred)`` and its inverse, the interval.

Thresholds come from :func:`conformal.calibration.conformal_quantile`. ``inverse`` accepts one
threshold per level (shape ``(L,)``) or per test point and level (shape ``(n, L)``; asymmetric
scores add a last axis ``[lower side, upper side]``) and returns intervals of shape ``(n, L, 2)``.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone

from .._kernels.intervals import fill_intervals

__all__ = [
    "AbsoluteScore",
    "CQRAsymmetricScore",
    "CQRScore",
    "GammaScore",
    "NormalizedScore",
    "RegressionScore",
    "SignedScore",
    "get_regression_score",
]


def _broadcast(threshold: ArrayLike, n: int, asymmetric: bool) -> NDArray[np.float64]:
    """Thresholds as ``(n or 1, L)`` (or ``(n or 1, L, 2)`` when asymmetric)."""
    q = np.asarray(threshold, dtype=np.float64)
    core = 2 if asymmetric else 1
    if q.ndim == core - 1:  # a single level
        q = q[np.newaxis]
    if q.ndim == core:  # one threshold per level, shared by all test points
        q = q[np.newaxis]
    if q.ndim != core + 1 or q.shape[0] not in (1, n):
        raise ValueError(f"threshold of shape {np.shape(threshold)} does not fit {n} predictions.")
    return q


_UNIT_SCALE = np.ones(1)


def _band(
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    q_lo: NDArray[np.float64],
    q_hi: NDArray[np.float64],
    scale: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """``[lo - q_lo * scale, hi + q_hi * scale]`` as ``(n, L, 2)``, in one pass."""
    out = np.empty((lo.shape[0], q_lo.shape[-1], 2), dtype=np.float64)
    fill_intervals(
        np.ascontiguousarray(lo, dtype=np.float64),
        np.ascontiguousarray(hi, dtype=np.float64),
        np.ascontiguousarray(q_lo, dtype=np.float64),
        np.ascontiguousarray(q_hi, dtype=np.float64),
        _UNIT_SCALE if scale is None else np.ascontiguousarray(scale, dtype=np.float64),
        out,
    )
    return out


class RegressionScore:
    """Base class of regression scores.

    Attributes
    ----------
    asymmetric : bool
        ``False``: one score per point, calibrated at level ``1 - a``. ``True``: two scores per
        point (lower side, upper side), each calibrated at level ``1 - a/2``.
    needs_quantiles : bool
        ``True`` when ``y_pred`` holds two columns ``[lower quantile, upper quantile]``.
    needs_scale : bool
        ``True`` when the score divides by a per-point scale (difficulty) estimate.
    """

    name: ClassVar[str] = ""
    asymmetric: ClassVar[bool] = False
    needs_quantiles: ClassVar[bool] = False
    needs_scale: ClassVar[bool] = False

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Conformity scores of observations ``y`` given predictions (larger = worse)."""
        raise NotImplementedError  # pragma: no cover - every concrete score overrides it

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Intervals ``(n, L, 2)`` of all ``y`` whose score is at most ``threshold``."""
        raise NotImplementedError  # pragma: no cover - every concrete score overrides it

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"

    def _point(self, y_pred: ArrayLike) -> NDArray[np.float64]:
        f = np.asarray(y_pred, dtype=np.float64)
        if f.ndim == 2 and f.shape[1] == 1:
            f = f[:, 0]
        if f.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} needs point predictions of shape (n,). "
                f"Got shape {f.shape} instead."
            )
        return f

    def _pair(self, y_pred: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        p = np.asarray(y_pred, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(
                f"{type(self).__name__} needs quantile predictions of shape (n, 2) "
                f"[lower, upper]. Got shape {p.shape} instead."
            )
        return p[:, 0], p[:, 1]


def _check_y(y: ArrayLike, n: int) -> NDArray[np.float64]:
    target = np.asarray(y, dtype=np.float64).ravel()
    if target.shape[0] != n:
        raise ValueError(f"y has {target.shape[0]} entries but y_pred has {n}.")
    return target


class AbsoluteScore(RegressionScore):
    """``|y - f(x)|``; interval ``f(x) -+ q``.

    Examples
    --------
    >>> from conformal.scores import AbsoluteScore
    >>> AbsoluteScore().score([1.0, 4.0], [2.0, 2.0])
    array([1., 2.])
    >>> AbsoluteScore().inverse([2.0], 0.5)[:, 0]
    array([[1.5, 2.5]])
    """

    name = "absolute"

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        return np.abs(_check_y(y, f.shape[0]) - f)

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        q = _broadcast(threshold, f.shape[0], False)
        return _band(f, f, q, q)


class SignedScore(RegressionScore):
    """Two one-sided residuals ``[f(x) - y, y - f(x)]``, each at level ``1 - a/2``.

    The interval ``[f - q_lo, f + q_hi]`` adapts to skewed residuals.

    Examples
    --------
    >>> from conformal.scores import SignedScore
    >>> SignedScore().score([1.0, 4.0], [2.0, 2.0])
    array([[ 1., -1.],
           [-2.,  2.]])
    """

    name = "signed"
    asymmetric = True

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        t = _check_y(y, f.shape[0])
        return np.column_stack([f - t, t - f])

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        q = _broadcast(threshold, f.shape[0], True)
        return _band(f, f, q[..., 0], q[..., 1])


class GammaScore(RegressionScore):
    """``|y - f(x)| / |f(x)|``; interval ``f(x) -+ q |f(x)|`` (relative error, positive targets).

    Examples
    --------
    >>> from conformal.scores import GammaScore
    >>> GammaScore().score([11.0, 18.0], [10.0, 20.0])
    array([0.1, 0.1])
    """

    name = "gamma"

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        if (f == 0).any():
            raise ValueError(
                "GammaScore divides by |f(x)| and got a prediction of exactly 0; use "
                "score='absolute' or a model whose predictions are non-zero."
            )
        return np.abs(_check_y(y, f.shape[0]) - f) / np.abs(f)

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        q = _broadcast(threshold, f.shape[0], False)
        return _band(f, f, q, q, np.abs(f))


class NormalizedScore(RegressionScore):
    """``|y - f(x)| / sigma(x)``; interval ``f(x) -+ q sigma(x)``.

    ``sigma`` is a difficulty estimate: a regressor of absolute residuals. Estimators of this
    package fit it on the training split, on out-of-fold residuals of the point model (``cv``
    folds) so that it sees residuals as large as the calibration set will; a fitted model passed
    as ``sklearn.frozen.FrozenEstimator`` is used as it is.

    Parameters
    ----------
    difficulty_estimator : regressor, default=None
        Model of ``|y - f(x)|`` from ``x``. ``None`` uses
        ``HistGradientBoostingRegressor(max_iter=100, min_samples_leaf=20)``.
    cv : int or None, default=5
        Folds for the out-of-fold residuals the difficulty model learns from; ``None`` uses the
        point model's in-sample residuals (cheaper, but they understate flexible models' errors).
    beta : float, default=0.01
        Floor on ``sigma`` as a fraction of the mean absolute training residual (for a frozen
        difficulty model: of its mean prediction on the calibration data), so a difficulty model
        predicting 0 or less cannot produce zero-width or inverted intervals.

    Examples
    --------
    >>> from conformal.scores import NormalizedScore
    >>> NormalizedScore().score([1.0, 4.0], [2.0, 2.0], scale=[1.0, 4.0])
    array([1. , 0.5])
    """

    name = "normalized"
    needs_scale = True

    def __init__(
        self, difficulty_estimator: Any = None, *, cv: int | None = 5, beta: float = 0.01
    ) -> None:
        self.difficulty_estimator = difficulty_estimator
        self.cv = cv
        self.beta = beta
        self.estimator_: Any
        self.floor_: float

    def fit_scale(self, X: Any, abs_residuals: ArrayLike | None = None) -> NormalizedScore:
        """Fit the difficulty model on ``|y - f(x)|``; returns a fitted copy, ``self`` untouched.

        A ``FrozenEstimator`` difficulty model is used as it is; then ``abs_residuals`` may be
        ``None`` and the floor is ``beta`` times the mean of its predictions on ``X`` (a scale in
        the units of ``y`` either way, so rescaling ``y`` rescales the intervals).
        """
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.frozen import FrozenEstimator

        fitted = copy.copy(self)
        model = self.difficulty_estimator
        if model is None:
            model = HistGradientBoostingRegressor(max_iter=100, min_samples_leaf=20)
        if isinstance(model, FrozenEstimator) and abs_residuals is None:
            reference = np.maximum(np.asarray(model.predict(X), dtype=np.float64), 0.0)
        else:
            if abs_residuals is None:
                raise ValueError("fit_scale needs abs_residuals unless the model is frozen.")
            reference = np.abs(np.asarray(abs_residuals, dtype=np.float64))
            if not isinstance(model, FrozenEstimator):
                model = clone(model).fit(X, reference)
        fitted.estimator_ = model
        mean = float(reference.mean()) if reference.size else 0.0
        fitted.floor_ = self.beta * mean if mean > 0 else np.finfo(np.float64).tiny
        return fitted

    def predict_scale(self, X: Any) -> NDArray[np.float64]:
        """``sigma(x)``, floored at ``floor_`` (``beta`` times the reference scale)."""
        if not hasattr(self, "estimator_"):
            raise ValueError("NormalizedScore.predict_scale called before fit_scale.")
        sigma = np.asarray(self.estimator_.predict(X), dtype=np.float64).ravel()
        return np.maximum(sigma, self.floor_)

    def _scale(self, scale: ArrayLike | None, n: int) -> NDArray[np.float64]:
        if scale is None:
            raise ValueError("NormalizedScore needs scale=sigma(x), the difficulty estimates.")
        s = np.asarray(scale, dtype=np.float64).ravel()
        if s.shape[0] != n:
            raise ValueError(f"scale has {s.shape[0]} entries but y_pred has {n}.")
        if not (s > 0).all():
            raise ValueError("scale must be positive: sigma(x) > 0 for every point.")
        return s

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        return np.abs(_check_y(y, f.shape[0]) - f) / self._scale(scale, f.shape[0])

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        q = _broadcast(threshold, f.shape[0], False)
        return _band(f, f, q, q, self._scale(scale, f.shape[0]))


class CQRScore(RegressionScore):
    """Conformalized quantile regression (Romano, Patterson, Candes 2019).

    ``max(lo(x) - y, y - hi(x))``; interval ``[lo(x) - q, hi(x) + q]``.

    Examples
    --------
    >>> from conformal.scores import CQRScore
    >>> CQRScore().score([0.0, 3.0], [[1.0, 2.0], [1.0, 2.0]])
    array([1., 1.])
    """

    name = "cqr"
    needs_quantiles = True

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        lo, hi = self._pair(y_pred)
        t = _check_y(y, lo.shape[0])
        return np.maximum(lo - t, t - hi)

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        lo, hi = self._pair(y_pred)
        q = _broadcast(threshold, lo.shape[0], False)
        return _band(lo, hi, q, q)


class CQRAsymmetricScore(RegressionScore):
    """CQR with each side calibrated separately at level ``1 - a/2``.

    Scores ``[lo(x) - y, y - hi(x)]``; interval ``[lo(x) - q_lo, hi(x) + q_hi]``. Controls the
    miscoverage of each tail, not only their sum (Romano et al. 2019, section 6).

    Examples
    --------
    >>> from conformal.scores import CQRAsymmetricScore
    >>> CQRAsymmetricScore().score([0.0, 3.0], [[1.0, 2.0], [1.0, 2.0]])
    array([[ 1., -2.],
           [-2.,  1.]])
    """

    name = "cqr_asymmetric"
    asymmetric = True
    needs_quantiles = True

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        lo, hi = self._pair(y_pred)
        t = _check_y(y, lo.shape[0])
        return np.column_stack([lo - t, t - hi])

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        lo, hi = self._pair(y_pred)
        q = _broadcast(threshold, lo.shape[0], True)
        return _band(lo, hi, q[..., 0], q[..., 1])


_REGRESSION_SCORES: dict[str, type[RegressionScore]] = {
    cls.name: cls
    for cls in (
        AbsoluteScore,
        SignedScore,
        GammaScore,
        NormalizedScore,
        CQRScore,
        CQRAsymmetricScore,
    )
}


def get_regression_score(score: str | RegressionScore, *, param: str = "score") -> RegressionScore:
    """A fresh score object from a name, or a copy of the given object (never the user's)."""
    if isinstance(score, RegressionScore):
        return copy.deepcopy(score)
    if isinstance(score, str) and score in _REGRESSION_SCORES:
        return _REGRESSION_SCORES[score]()
    raise ValueError(
        f"Unknown {param} {score!r}. Valid options are {sorted(_REGRESSION_SCORES)} or a "
        "RegressionScore instance."
    )
