"""Classification conformity scores: ``score(proba, y_index, u)`` and its inverse, the set.

A score object maps predicted class probabilities ``proba`` of shape ``(n, n_classes)`` to one
conformity score per (sample, class) pair, larger meaning less conforming. ``score`` returns the
scores of the observed classes (calibration), ``score_all`` those of every class (test), and
``predict_set`` the prediction sets ``{y : s(x, y) <= q}`` for a threshold ``q`` from
:func:`conformal.calibration.conformal_quantile`. Both go through the same computation, so a class
is in the set exactly when its score is at most the threshold, bit for bit.

Rank order (ties). Classes are ranked by decreasing probability; classes with equal probabilities
are ranked by column index, the lower index first (a stable sort of ``-proba``). Rank 1 is the
most probable class. APS, RAPS and top-k use this order, so their sets are always a prefix of it:
with ties, the sets never hold "half" of a group of tied classes in an order that changes from
call to call.

Zero-probability classes (APS, RAPS). A class of probability 0 is ranked after every class of
positive probability, where the mass above it is already the full mass ``M`` of the row. Following
the generalized conditional quantile of Romano, Sesia and Candes (2020, section 2),
``L(x; tau) = min{c : p_(1) + ... + p_(c) >= tau}``, a class enters the set at level ``tau`` only
if the mass ranked strictly above it is below ``tau``: a zero-probability class enters only beyond
the full mass. Its score is therefore the smallest float above the full mass (plus the RAPS
penalty of its rank), never the mass of the class that completes it: a threshold of 1 (which
one-hot calibration rows produce) holds every class of positive probability and none of
probability 0, instead of every class. The full mass of a row of probabilities is 1: a row whose
sum exceeds 1 only by rounding (at most 1e-6) has its cumulative mass capped at 1, so that every
row's zero-probability classes score the same ``nextafter(1, inf)``; a row of larger weights keeps
its own sum as full mass.

Bounded scores. :meth:`ClassificationScore.max_score` is the largest value a score can take (1 for
LAC, the number of classes for top-k, just above 1 for APS, plus the largest penalty for RAPS); a
threshold at or above it makes every set full, which an estimator can warn about.

Randomized scores (APS, RAPS) take ``u``: one uniform draw in [0, 1] per row (per sample), the
same for every class of that row. Estimators of this package draw ``u`` from their
``random_state``; a user calling a score directly passes it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..calibration import Level, conformal_quantile, min_calibration_size

__all__ = [
    "APSScore",
    "ClassificationScore",
    "LACScore",
    "RAPSScore",
    "TopKScore",
    "get_classification_score",
]

Floats = NDArray[np.float64]

# A row of probabilities whose sum exceeds 1 by at most this much (rounding: float64 sums exceed 1
# by a few ulps, float32 probabilities by about 1e-7) has its cumulative mass capped at 1.
_MASS_TOLERANCE = 1e-6


def check_proba(proba: ArrayLike, name: str = "proba") -> Floats:
    """Probabilities as a float ``(n, n_classes)`` array without NaN."""
    values = np.asarray(proba, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of class probabilities, shape (n_samples, n_classes). "
            f"Got shape {values.shape} instead."
        )
    bad = np.isnan(values).any(axis=1)
    if bad.any():
        raise ValueError(
            f"{name} contains NaN in {int(bad.sum())} row(s) (first: row "
            f"{int(np.flatnonzero(bad)[0])}); class probabilities must be numbers."
        )
    return values


def _check_index(y_index: ArrayLike, n: int, n_classes: int) -> NDArray[np.intp]:
    index = np.asarray(y_index)
    if index.ndim != 1 or index.shape[0] != n:
        raise ValueError(
            f"y_index must hold one class index per row of proba ({n}). Got shape "
            f"{index.shape} instead."
        )
    if index.dtype.kind not in "iu" and not (
        index.dtype.kind == "f" and np.array_equal(index, np.round(index))
    ):
        raise ValueError(
            f"y_index must be integer column indices into proba. Got dtype {index.dtype} "
            "instead (encode labels first, e.g. with np.searchsorted(classes, y))."
        )
    index = index.astype(np.intp)
    if n and (index.min() < 0 or index.max() >= n_classes):
        raise ValueError(
            f"y_index must lie in [0, {n_classes - 1}] (one column of proba per class). Got "
            f"values from {int(index.min())} to {int(index.max())}."
        )
    return index


def _check_u(u: ArrayLike | None, n: int, owner: str) -> Floats:
    if u is None:
        raise ValueError(
            f"{owner} is randomized and needs u, one uniform draw in [0, 1] per row "
            "(e.g. u=np.random.default_rng(0).uniform(size=n)); pass randomized=False for "
            "the non-randomized score."
        )
    values = np.asarray(u, dtype=np.float64).ravel()
    if values.shape[0] != n:
        raise ValueError(f"u has {values.shape[0]} entries; expected {n}, one per row of proba.")
    if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
        raise ValueError("u must hold numbers in [0, 1] (uniform draws).")
    return values


def rank_order(proba: Floats) -> NDArray[np.intp]:
    """Columns of each row by decreasing probability, ties by lower column first."""
    return np.argsort(-proba, axis=1, kind="stable")


def true_ranks(proba: ArrayLike, y_index: ArrayLike) -> NDArray[np.int64]:
    """1-based rank of the class ``y_index`` in each row (see the module's rank order).

    Examples
    --------
    >>> from conformal.scores._classification import true_ranks
    >>> true_ranks([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]], [2, 1])
    array([2, 2])
    """
    p = check_proba(proba)
    index = _check_index(y_index, p.shape[0], p.shape[1])
    return TopKScore().score(p, index).astype(np.int64)


def _thresholds(threshold: ArrayLike, n: int, n_classes: int) -> tuple[Floats, bool]:
    """Thresholds as ``(n or 1, L, n_classes or 1)`` and whether a single scalar was given."""
    q = np.asarray(threshold, dtype=np.float64)
    if q.ndim == 0:
        return q.reshape(1, 1, 1), True
    if q.ndim == 1:  # one threshold per level
        return q[np.newaxis, :, np.newaxis], False
    if q.ndim == 2 and q.shape[0] in (1, n):  # per test point and level
        return q[:, :, np.newaxis], False
    if q.ndim == 3 and q.shape[0] in (1, n) and q.shape[2] in (1, n_classes):
        return q, False  # per test point, level and class (class-conditional calibration)
    raise ValueError(
        f"threshold of shape {q.shape} does not fit {n} rows of {n_classes} classes; use a "
        "float, (n_levels,), (n, n_levels) or (n or 1, n_levels, n_classes)."
    )


class ClassificationScore:
    """Base class of classification scores.

    Attributes
    ----------
    randomized : bool
        ``True`` when the score takes ``u``, one uniform draw per row.
    needs_tuning : bool
        ``True`` when parameters must be fitted on held-out data first (:meth:`tune`).
    """

    name: ClassVar[str] = ""
    randomized: bool = False

    @property
    def needs_tuning(self) -> bool:
        """Whether the score has parameters to tune on calibration data before use."""
        return False

    def score_all(self, proba: ArrayLike, u: ArrayLike | None = None) -> Floats:
        """Scores of every class (larger = less conforming).

        Parameters
        ----------
        proba : array-like of shape (n, n_classes)
            Predicted class probabilities.
        u : array-like of shape (n,), default=None
            The tie-breaking uniforms of randomized scores, one per row.

        Returns
        -------
        ndarray of shape (n, n_classes)
        """
        raise NotImplementedError  # pragma: no cover - every concrete score overrides it

    def max_score(self, n_classes: int) -> float:
        """The largest value the score can take with ``n_classes`` classes (``inf``: unbounded).

        A threshold at or above it puts every class in every set (for probability rows that
        sum to at most 1); estimators warn then, since the sets say nothing.

        Parameters
        ----------
        n_classes : int

        Returns
        -------
        float
        """
        return float(np.inf)

    def score(self, proba: ArrayLike, y_index: ArrayLike, u: ArrayLike | None = None) -> Floats:
        """Scores of the observed classes ``y_index`` (column indices into ``proba``).

        Parameters
        ----------
        proba : array-like of shape (n, n_classes)
            Predicted class probabilities.
        y_index : array-like of int of shape (n,)
            Column of the observed class in each row.
        u : array-like of shape (n,), default=None
            Uniform draws in [0, 1], one per row; required by randomized scores.

        Returns
        -------
        scores : ndarray of shape (n,)
        """
        p = check_proba(proba)
        index = _check_index(y_index, p.shape[0], p.shape[1])
        return np.take_along_axis(self.score_all(p, u), index[:, np.newaxis], axis=1)[:, 0]

    def predict_set(
        self, proba: ArrayLike, threshold: ArrayLike, u: ArrayLike | None = None
    ) -> NDArray[np.bool_]:
        """Prediction sets ``{y : s(x, y) <= threshold}``.

        Parameters
        ----------
        proba : array-like of shape (n, n_classes)
            Predicted class probabilities.
        threshold : float or array-like
            A float (one set per row), ``(n_levels,)`` (one per level), ``(n, n_levels)`` (per
            row and level, e.g. Mondrian groups) or ``(n or 1, n_levels, n_classes)`` (per
            class too, for class-conditional calibration). ``inf`` includes every class.
        u : array-like of shape (n,), default=None
            Uniform draws, one per row; required by randomized scores.

        Returns
        -------
        sets : ndarray of bool of shape (n, n_classes) or (n, n_levels, n_classes)
            ``(n, n_classes)`` for a float threshold, else with the level axis in the middle.
        """
        scores = self.score_all(proba, u)
        q, scalar = _thresholds(threshold, scores.shape[0], scores.shape[1])
        sets = scores[:, np.newaxis, :] <= q
        return sets[:, 0, :] if scalar else sets

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


class LACScore(ClassificationScore):
    """Least ambiguous set-valued classifier (Sadinle, Lei and Wasserman 2019): ``1 - p_y(x)``.

    The set ``{y : 1 - p_y(x) <= q}`` holds every class whose probability is at least ``1 - q``:
    the smallest sets on average among those with the coverage guarantee, but they can be empty
    (when no class is likely enough) and they do not adapt to how hard ``x`` is.

    Examples
    --------
    >>> from conformal.scores import LACScore
    >>> proba = [[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]]
    >>> LACScore().score(proba, [0, 1])
    array([0.3 , 0.65])
    >>> LACScore().predict_set(proba, 0.75)        # p >= 0.25
    array([[ True, False, False],
           [ True,  True,  True]])
    """

    name = "lac"

    def score_all(self, proba: ArrayLike, u: ArrayLike | None = None) -> Floats:
        return 1.0 - check_proba(proba)

    def max_score(self, n_classes: int) -> float:
        """1, the score of a class of probability 0.

        Parameters
        ----------
        n_classes : int
            Number of classes.

        Returns
        -------
        float
            The supremum of the score.
        """
        return 1.0


class TopKScore(ClassificationScore):
    """Rank of the class: 1 for the most probable, 2 for the next, and so on.

    The set holds the ``floor(q)`` most probable classes, the same number for every ``x``
    (Angelopoulos et al. 2021, "naive" top-k calibrated conformally). Ties in probability are
    ranked by column index (see the module), so a set never holds more than ``floor(q)`` classes.

    Examples
    --------
    >>> from conformal.scores import TopKScore
    >>> proba = [[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]]
    >>> TopKScore().score(proba, [2, 1])
    array([2., 2.])
    >>> TopKScore().predict_set(proba, 1.0)
    array([[False,  True, False],
           [ True, False, False]])
    """

    name = "top_k"

    def score_all(self, proba: ArrayLike, u: ArrayLike | None = None) -> Floats:
        p = check_proba(proba)
        order = rank_order(p)
        out = np.empty(p.shape, dtype=np.float64)
        positions = np.broadcast_to(np.arange(1.0, p.shape[1] + 1.0), p.shape)
        np.put_along_axis(out, order, positions, axis=1)
        return out

    def max_score(self, n_classes: int) -> float:
        """``n_classes``, the rank of the last class.

        Parameters
        ----------
        n_classes : int
            Number of classes.

        Returns
        -------
        float
            The supremum of the score.
        """
        return float(n_classes)


class APSScore(ClassificationScore):
    """Adaptive prediction sets (Romano, Sesia and Candes 2020).

    The score of class ``y`` is the probability mass of the classes ranked at or above it,
    ``C(y) = sum_{rank(k) <= rank(y)} p_k``; the randomized score subtracts ``u * p_y`` with ``u``
    uniform in [0, 1]. The set takes classes in rank order while their score stays at most the
    threshold: hard ``x`` (flat probabilities) get large sets, easy ``x`` small ones.

    A class of probability 0 comes after the full mass of its row (1, the cumulative mass being
    capped at 1 where rounding pushes it above): its score is ``nextafter(1, inf)``, so that it
    enters a set only beyond the full mass (the generalized quantile of Romano et al. 2020; see
    :mod:`conformal.scores._classification`).
    Without that, a threshold of 1, which many one-hot calibration rows produce (a random forest
    whose trees agree), ties every zero-probability class with the class completing the mass
    and gives every row every class. Sets stay ``{y : s(x, y) <= q}``, with the calibration
    scores computed the same way, so the split-conformal guarantee
    ``P(Y in C(X)) >= confidence_level`` holds as for any score, and sets are nested in the
    level and prefixes of the rank order.

    Parameters
    ----------
    randomized : bool, default=True
        Subtract ``u * p_y``: coverage then exceeds the level by at most ``1 / (n + 1)`` on
        average and sets are smaller, at the price of a random last class. ``False`` gives
        deterministic sets (a class is in when ``C(y) <= q``; an empty set when the top class
        alone exceeds ``q``).

    Examples
    --------
    >>> from conformal.scores import APSScore
    >>> proba = [[0.5, 0.3, 0.2]]
    >>> APSScore(randomized=False).score(proba, [1])          # 0.5 + 0.3
    array([0.8])
    >>> APSScore().score(proba, [1], u=[0.5])                  # 0.8 - 0.5 * 0.3
    array([0.65])
    >>> APSScore(randomized=False).predict_set(proba, 0.85)
    array([[ True,  True, False]])
    >>> APSScore(randomized=False).predict_set([[1.0, 0.0, 0.0], [0.6, 0.4, 0.0]], 1.0)
    array([[ True, False, False],
           [ True,  True, False]])
    """

    name = "aps"

    def __init__(self, randomized: bool = True) -> None:
        self.randomized = randomized

    def _penalty(self, n_classes: int) -> Floats | None:
        return None

    def score_all(self, proba: ArrayLike, u: ArrayLike | None = None) -> Floats:
        p = check_proba(proba)
        order = rank_order(p)
        ordered = np.take_along_axis(p, order, axis=1)
        cumulative = np.cumsum(ordered, axis=1)
        # the full mass: 1 for a row of probabilities (its sum within rounding of 1, above
        # which the cumulative mass is capped), the row's sum for a row of larger weights
        total = cumulative[:, -1:]
        full = np.where(total <= 1.0 + _MASS_TOLERANCE, 1.0, total)
        np.minimum(cumulative, full, out=cumulative)
        if self.randomized:
            cumulative -= _check_u(u, p.shape[0], repr(self))[:, np.newaxis] * ordered
        empty = ordered <= 0.0  # probability 0: ranked last, after the full mass
        if empty.any():
            cumulative = np.where(empty, np.nextafter(full, np.inf), cumulative)
        penalty = self._penalty(p.shape[1])
        if penalty is not None:
            cumulative += penalty
        out = np.empty(p.shape, dtype=np.float64)
        np.put_along_axis(out, order, cumulative, axis=1)
        return out

    def max_score(self, n_classes: int) -> float:
        """The score of the last class of a one-hot row: a class of probability 0 ranked last
        (just above 1 for APS; RAPS adds its largest penalty), computed by :meth:`score_all`.

        Parameters
        ----------
        n_classes : int
            Number of classes.

        Returns
        -------
        float
            The supremum of the score.
        """
        if n_classes < 1:
            raise ValueError(f"n_classes must be at least 1. Got {n_classes!r}.")
        one_hot = np.zeros((1, n_classes))
        one_hot[0, 0] = 1.0
        return float(self.score_all(one_hot, np.zeros(1)).max())


_LAMBDAS = (0.001, 0.01, 0.1, 0.2, 0.5)


class RAPSScore(APSScore):
    """Regularized adaptive prediction sets (Angelopoulos, Bates, Malik and Jordan 2021).

    The APS score plus ``lam * max(0, rank(y) - k_reg)``: classes ranked below ``k_reg`` pay a
    penalty per rank, which keeps the sets small when the tail probabilities are noisy.

    Parameters
    ----------
    k_reg : int, default=None
        Ranks up to ``k_reg`` are not penalized. ``None`` tunes it (see ``tune_size``): the
        ``ceil((1 - a)(m + 1))``-th smallest rank of the true class on the ``m`` tuning points,
        the conformal ``1 - a`` quantile (Angelopoulos et al. 2021, section 2.2; their code takes
        the ``np.quantile(..., 'higher')`` quantile instead); the number of classes when the
        tuning slice is too small for the level.
    lam : float, default=None
        Penalty per rank. ``None`` tunes it: the value of ``lambdas`` whose sets, calibrated and
        evaluated on the tuning slice, are smallest on average (the first on ties), as the
        authors' "size" criterion.
    randomized : bool, default=True
        Subtract ``u * p_y`` as in :class:`APSScore`. A class of probability 0 has the APS
        score just above the full mass, plus its rank's penalty, as in :class:`APSScore`.
    tune_size : float, default=0.3
        Fraction of the calibration data set aside to tune ``k_reg`` and ``lam`` when either is
        ``None`` (the authors' code uses 0.3, MAPIE 0.2). Those points are not used to
        calibrate, which keeps the guarantee exact.
    lambdas : sequence of float, default=(0.001, 0.01, 0.1, 0.2, 0.5)
        The grid for ``lam`` (the paper's).

    Attributes
    ----------
    k_reg_ : int
        ``k_reg``, given or tuned (set by :meth:`tune`, or equal to ``k_reg`` when given).
    lam_ : float
        ``lam``, given or tuned.

    Examples
    --------
    >>> from conformal.scores import RAPSScore
    >>> proba = [[0.5, 0.3, 0.2]]
    >>> score = RAPSScore(k_reg=1, lam=0.1, randomized=False)
    >>> score.score(proba, [2]).round(3)                # 1.0 + 0.1 * (3 - 1)
    array([1.2])
    >>> score.predict_set(proba, 0.95)
    array([[ True,  True, False]])
    """

    name = "raps"

    def __init__(
        self,
        k_reg: int | None = None,
        lam: float | None = None,
        *,
        randomized: bool = True,
        tune_size: float = 0.3,
        lambdas: Sequence[float] = _LAMBDAS,
    ) -> None:
        self.k_reg = k_reg
        self.lam = lam
        self.randomized = randomized
        self.tune_size = tune_size
        self.lambdas = tuple(lambdas)
        if k_reg is not None:
            if int(k_reg) != k_reg or k_reg < 0:
                raise ValueError(f"k_reg must be a non-negative integer or None. Got {k_reg!r}.")
            self.k_reg_ = int(k_reg)
        if lam is not None:
            if not np.isfinite(lam) or lam < 0:
                raise ValueError(f"lam must be a non-negative number or None. Got {lam!r}.")
            self.lam_ = float(lam)
        if not 0.0 < tune_size < 1.0:
            raise ValueError(f"tune_size must be in (0, 1). Got {tune_size!r}.")
        if not self.lambdas or any(not np.isfinite(v) or v < 0 for v in self.lambdas):
            raise ValueError(
                f"lambdas must be a non-empty sequence of non-negative numbers. Got {lambdas!r}."
            )

    @property
    def needs_tuning(self) -> bool:
        """Whether ``k_reg`` and ``lam`` still have to be tuned (see :meth:`tune`)."""
        return not (hasattr(self, "k_reg_") and hasattr(self, "lam_"))

    def _penalty(self, n_classes: int) -> Floats:
        if self.needs_tuning:
            raise ValueError(
                "RAPSScore has no k_reg and lam yet: pass both, or fit them with "
                "tune(proba, y_index, confidence_level) on held-out data."
            )
        ranks = np.arange(1.0, n_classes + 1.0)
        return self.lam_ * np.maximum(0.0, ranks - self.k_reg_)

    def tune(
        self,
        proba: ArrayLike,
        y_index: ArrayLike,
        confidence_level: Level,
        u: ArrayLike | None = None,
    ) -> RAPSScore:
        """Fit ``k_reg`` and ``lam`` on held-out data; returns a tuned copy, ``self`` untouched.

        Parameters
        ----------
        proba : array-like of shape (m, n_classes)
            Probabilities of the tuning points (not the calibration points).
        y_index : array-like of int of shape (m,)
            Their observed classes.
        confidence_level : float
            The level the sets will be calibrated at.
        u : array-like of shape (m,), default=None
            Uniform draws for a randomized score.

        Returns
        -------
        RAPSScore
            With ``k_reg_`` and ``lam_`` set.

        Examples
        --------
        >>> import numpy as np
        >>> from conformal.scores import RAPSScore
        >>> rng = np.random.default_rng(0)
        >>> proba = rng.dirichlet(np.ones(5), size=200)
        >>> y = np.array([rng.choice(5, p=row) for row in proba])
        >>> tuned = RAPSScore(randomized=False).tune(proba, y, 0.9)
        >>> tuned.k_reg_, tuned.lam_
        (4, 0.001)
        """
        p = check_proba(proba)
        index = _check_index(y_index, p.shape[0], p.shape[1])
        m, n_classes = p.shape
        enough = m >= min_calibration_size(confidence_level)
        fitted = copy.copy(self)
        if self.k_reg is None:
            ranks = true_ranks(p, index).astype(np.float64)
            k = float(conformal_quantile(ranks, confidence_level)) if enough else np.inf
            fitted.k_reg_ = int(min(k, n_classes))
        if self.lam is not None:
            return fitted
        best_size, best_lam = np.inf, self.lambdas[0]
        for lam in self.lambdas:
            fitted.lam_ = float(lam)
            every = fitted.score_all(p, u)
            observed = np.take_along_axis(every, index[:, np.newaxis], axis=1)[:, 0]
            q = float(conformal_quantile(observed, confidence_level)) if enough else np.inf
            size = float((every <= q).sum(axis=1).mean())
            if size < best_size:
                best_size, best_lam = size, float(lam)
        fitted.lam_ = best_lam
        return fitted


_CLASSIFICATION_SCORES: dict[str, type[ClassificationScore]] = {
    cls.name: cls for cls in (LACScore, APSScore, RAPSScore, TopKScore)
}


def get_classification_score(
    score: str | ClassificationScore, *, param: str = "score"
) -> ClassificationScore:
    """A fresh score object from a name, or a copy of the given object (never the user's).

    Names: ``"lac"``, ``"aps"`` (randomized), ``"raps"`` (randomized, tuned), ``"top_k"``.

    Parameters
    ----------
    score : {"lac", "aps", "raps", "top_k"} or ClassificationScore
        A name or a score object.
    param : str, default="score"
        The parameter the score came from, for the error message.

    Returns
    -------
    ClassificationScore
        A new object (a deep copy of a given one).

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.
    """
    if isinstance(score, ClassificationScore):
        return copy.deepcopy(score)
    if isinstance(score, str) and score in _CLASSIFICATION_SCORES:
        return _CLASSIFICATION_SCORES[score]()
    raise ValueError(
        f"Unknown {param} {score!r}. Valid options are {sorted(_CLASSIFICATION_SCORES)} or a "
        "ClassificationScore instance."
    )
