"""Regression conformity scores: ``score(y, y_pred)`` and its inverse, the interval.

Thresholds come from :func:`conformal.calibration.conformal_quantile`. ``inverse`` accepts one
threshold per level (shape ``(L,)``) or per test point and level (shape ``(n, L)``; asymmetric
scores add a last axis ``[lower side, upper side]``) and returns intervals of shape ``(n, L, 2)``.

Every ``inverse`` is rounded outward (see :mod:`conformal._outward`): **every float64 ``y``
whose score, computed by the score's own ``score`` in float64, is at most the threshold lies in
the closed interval** (for an asymmetric score: at most the threshold of its side).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._outward import (
    _above,
    _absolute,
    _below,
    _interval,
    _outside_band,
    _scaled_absolute,
)

__all__ = [
    "AbsoluteScore",
    "CQRAsymmetricScore",
    "CQRScore",
    "GammaScore",
    "NormalizedScore",
    "RegressionScore",
    "RelativeScore",
    "SignedScore",
    "get_regression_score",
]

Floats = NDArray[np.float64]
# The score of a candidate bound ``y`` from the centres ``lo``, ``hi`` and the scale ``s``
# (broadcast against ``y``): the exact float64 expression of the class's ``score``.
SideScore = Callable[[Floats, Floats, Floats, Floats], Floats]

_RESIDUAL_NAMES = ["absolute", "signed", "normalized", "gamma"]


def _broadcast(threshold: ArrayLike, n: int, asymmetric: bool) -> Floats:
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


class RegressionScore:
    """Base class of regression scores.

    These are nonconformity scores (larger = less conforming); ``inverse`` is the set of ``y``
    whose score is at most a threshold, an interval for every score here, rounded outward in
    floating point (see the module).

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

    @property
    def is_shift(self) -> bool:
        """``True`` when the interval is the prediction plus or minus a threshold that does not
        depend on ``x`` (``"absolute"`` and ``"signed"``): the bounds are then order statistics
        of shifted scores, which cross-conformal (plus) methods select without an
        ``n_test x n`` matrix."""
        return False

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Conformity scores of observations ``y`` given predictions (larger = worse).

        Parameters
        ----------
        y : array-like of shape (n,)
            Observed targets.
        y_pred : array-like of shape (n,) or (n, 2)
            Point predictions ``f(x)``, or ``[lower, upper]`` quantile predictions for CQR.
        scale : array-like of shape (n,), default=None
            ``sigma(x)`` for the normalized score; unused by the others.

        Returns
        -------
        ndarray of shape (n,) or (n, 2)
            One score per point; two (lower side, upper side) for an asymmetric score.
        """
        raise NotImplementedError  # pragma: no cover - every concrete score overrides it

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Intervals ``(n, L, 2)`` of all ``y`` whose score is at most ``threshold``.

        Guarantee (rounded outward): every float64 ``y`` whose score, computed by
        :meth:`score` in float64 with the same prediction and scale, is at most the threshold
        (of its side, for an asymmetric score) lies in ``[lower, upper]``. A bound that is
        already the outermost such float is returned bit for bit as ``f - q * s`` /
        ``f + q * s`` computes it; a bound that rounding put inside is moved out to the last
        float whose score is at most the threshold, by rounding error only (see the module).
        Infinite thresholds give infinite bounds.

        Parameters
        ----------
        y_pred : array-like of shape (n,) or (n, 2)
            Point predictions ``f(x)``, or ``[lower, upper]`` quantile predictions for CQR.
        threshold : array-like of shape (L,) or (n, L)
            Thresholds per level (and per test point); asymmetric scores add a last axis
            ``[lower side, upper side]``.
        scale : array-like of shape (n,), default=None
            ``sigma(x)`` for the normalized score; unused by the others.

        Returns
        -------
        ndarray of shape (n, L, 2)
            ``[lower, upper]`` per point and level.
        """
        raise NotImplementedError  # pragma: no cover - every concrete score overrides it

    def signed_residual(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Signed residuals ``(y - f(x)) / s(x)`` of a residual score.

        ``s`` is 1 for ``"absolute"`` and ``"signed"``, the difficulty estimate ``sigma(x)``
        (``scale``) for ``"normalized"`` and ``|f(x)|`` for ``"gamma"``. They are what
        conformal predictive distributions are built from.

        Parameters
        ----------
        y : array-like of shape (n,)
            Observed targets.
        y_pred : array-like of shape (n,) or (n, 2)
            Point predictions ``f(x)``, or ``[lower, upper]`` quantile predictions for CQR.
        scale : array-like of shape (n,), default=None
            ``sigma(x)`` for the normalized score; unused by the others.

        Returns
        -------
        ndarray of shape (n,)

        Raises
        ------
        ValueError
            For scores that are not residuals of one prediction (CQR and any other score).
        """
        raise self._not_a_residual()

    def residual_divisor(
        self, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64] | None:
        """The divisor ``s(x)`` of :meth:`signed_residual` at predictions ``y_pred``.

        Parameters
        ----------
        y_pred : array-like of shape (n,)
            Point predictions ``f(x)``.
        scale : array-like of shape (n,), default=None
            ``sigma(x)`` for the normalized score.

        Returns
        -------
        ndarray of shape (n,) or None
            ``None`` for plain residuals (absolute, signed), ``sigma(x)`` (normalized),
            ``|f(x)|`` (gamma).

        Raises
        ------
        ValueError
            For scores that are not residuals of one prediction.
        """
        raise self._not_a_residual()

    def _not_a_residual(self) -> ValueError:
        kind = (
            "a CQR score (it compares y with two quantile models)"
            if self.needs_quantiles
            else "not a residual of one prediction"
        )
        return ValueError(
            f"{type(self).__name__} (conformity_score={self.name!r}) is {kind}: it has no signed "
            f"residual (y - f(x)) / s(x). Residual scores: {_RESIDUAL_NAMES}."
        )

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

    @property
    def is_shift(self) -> bool:
        return True

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        return np.abs(_check_y(y, f.shape[0]) - f)

    def signed_residual(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        return _check_y(y, f.shape[0]) - f

    def residual_divisor(
        self, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64] | None:
        return None

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        q = _broadcast(threshold, f.shape[0], False)
        return _interval(f, f, q, q, _absolute, _absolute)


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

    @property
    def is_shift(self) -> bool:
        return True

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        t = _check_y(y, f.shape[0])
        return np.column_stack([f - t, t - f])

    def signed_residual(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        return _check_y(y, f.shape[0]) - f

    def residual_divisor(
        self, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64] | None:
        return None

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        q = _broadcast(threshold, f.shape[0], True)
        return _interval(f, f, q[..., 0], q[..., 1], _below, _above)


def _nonzero_predictions(f: Floats) -> Floats:
    if (f == 0).any():
        raise ValueError(
            "GammaScore divides by |f(x)| and got a prediction of exactly 0; use "
            "conformity_score='absolute' or a model whose predictions are non-zero."
        )
    return f


class GammaScore(RegressionScore):
    """The relative residual |y - f(x)| / |f(x)|; interval ``f(x) -+ q |f(x)|``.

    The relative error, for targets of one sign whose noise grows with their size (MAPIE's
    ``GammaConformityScore(sym=True)``, named after the gamma distribution whose standard
    deviation is proportional to its mean). Also exported as :data:`RelativeScore` (the same
    class). A prediction of exactly 0 is an error.

    Examples
    --------
    >>> from conformal.scores import GammaScore
    >>> GammaScore().score([11.0, 18.0], [10.0, 20.0])
    array([0.1, 0.1])
    >>> GammaScore().signed_residual([11.0, 18.0], [10.0, 20.0])
    array([ 0.1, -0.1])
    """

    name = "gamma"

    def score(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = _nonzero_predictions(self._point(y_pred))
        return np.abs(_check_y(y, f.shape[0]) - f) / np.abs(f)

    def signed_residual(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = _nonzero_predictions(self._point(y_pred))
        return (_check_y(y, f.shape[0]) - f) / np.abs(f)

    def residual_divisor(
        self, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64] | None:
        return np.abs(_nonzero_predictions(self._point(y_pred)))

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        q = _broadcast(threshold, f.shape[0], False)
        return _interval(f, f, q, q, _scaled_absolute, _scaled_absolute, np.abs(f))


RelativeScore = GammaScore
"""The relative residual ``|y - f(x)| / |f(x)|``: another name of :class:`GammaScore` (the same
class, so ``RelativeScore() `` is a ``GammaScore`` whose ``name`` is ``"gamma"``)."""

_DEFAULT_MIN_SCALE = 0.01


class NormalizedScore(RegressionScore):
    """``|y - f(x)| / sigma(x)``; interval ``f(x) -+ q sigma(x)``.

    ``sigma`` is a difficulty estimate: a regressor of absolute residuals. The score never fits
    it: its parameters say how the ESTIMATOR builds it (``SplitConformalRegressor`` fits it on
    the training split, on out-of-fold residuals of the point model (``cv`` folds) so that it
    sees residuals as large as the calibration set will, and keeps it as
    ``difficulty_estimator_``; a fitted model passed as ``sklearn.frozen.FrozenEstimator`` is
    used as it is). The score itself only divides by the ``scale`` it is given.

    Parameters
    ----------
    difficulty_estimator : regressor, default=None
        Model of ``|y - f(x)|`` from ``x``. ``None`` uses
        ``HistGradientBoostingRegressor(max_iter=100, min_samples_leaf=20)``.
    cv : int or None, default=5
        Folds for the out-of-fold residuals the difficulty model learns from; ``None`` uses the
        point model's in-sample residuals (cheaper, but they understate flexible models' errors).
    min_scale : float, default=0.01
        Relative floor on ``sigma``: ``sigma(x) = max(model(x), min_scale * mean)`` where
        ``mean`` is the mean absolute training residual (for a frozen difficulty model: its mean
        prediction on the calibration data), so that a difficulty model predicting 0 or less
        cannot produce zero-width or inverted intervals. It is a floor, not the additive
        ``sigma(x) + beta`` of some papers.
    beta : float, default=None
        Deprecated spelling of ``min_scale`` (same meaning); passing it gives a
        ``FutureWarning``. It will be removed in the next release.

    Examples
    --------
    >>> from conformal.scores import NormalizedScore
    >>> NormalizedScore().score([1.0, 4.0], [2.0, 2.0], scale=[1.0, 4.0])
    array([1. , 0.5])
    """

    name = "normalized"
    needs_scale = True

    def __init__(
        self,
        difficulty_estimator: Any = None,
        *,
        cv: int | None = 5,
        min_scale: float = _DEFAULT_MIN_SCALE,
        beta: float | None = None,
    ) -> None:
        if beta is not None:
            if min_scale != _DEFAULT_MIN_SCALE:
                raise ValueError(
                    f"NormalizedScore got both min_scale={min_scale!r} and its deprecated "
                    f"spelling beta={beta!r}; pass min_scale only."
                )
            warnings.warn(
                "NormalizedScore(beta=...) is deprecated and will be removed in the next "
                f"release; use NormalizedScore(min_scale={beta!r}) instead (the same relative "
                "floor on sigma(x)).",
                FutureWarning,
                stacklevel=2,
            )
            min_scale = beta
        self.difficulty_estimator = difficulty_estimator
        self.cv = cv
        self.min_scale = min_scale

    @property
    def beta(self) -> float:
        """Deprecated: ``min_scale``."""
        warnings.warn(
            "NormalizedScore.beta is deprecated and will be removed in the next release; use "
            "NormalizedScore.min_scale instead.",
            FutureWarning,
            stacklevel=2,
        )
        return self.min_scale

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

    def signed_residual(
        self, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        return (_check_y(y, f.shape[0]) - f) / self._scale(scale, f.shape[0])

    def residual_divisor(
        self, y_pred: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64] | None:
        return self._scale(scale, self._point(y_pred).shape[0])

    def inverse(
        self, y_pred: ArrayLike, threshold: ArrayLike, scale: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        f = self._point(y_pred)
        q = _broadcast(threshold, f.shape[0], False)
        s = self._scale(scale, f.shape[0])
        return _interval(f, f, q, q, _scaled_absolute, _scaled_absolute, s)


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
        return _interval(lo, hi, q, q, _outside_band, _outside_band)


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
        return _interval(lo, hi, q[..., 0], q[..., 1], _below, _above)


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
    """A fresh score object from a name, or a copy of the given object (never the user's).

    Parameters
    ----------
    score : {"absolute", "signed", "normalized", "gamma", "cqr", "cqr_asymmetric"} or \
            RegressionScore
        A name or a score object.
    param : str, default="score"
        The parameter the score came from, for the error message.

    Returns
    -------
    RegressionScore
        A new object (a deep copy of a given one).

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.
    """
    if isinstance(score, RegressionScore):
        return copy.deepcopy(score)
    if isinstance(score, str) and score in _REGRESSION_SCORES:
        return _REGRESSION_SCORES[score]()
    raise ValueError(
        f"Unknown {param} {score!r}. Valid options are {sorted(_REGRESSION_SCORES)} or a "
        "RegressionScore instance."
    )
