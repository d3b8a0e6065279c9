"""What a regressor adds to a conformal predictive distribution: the signed residuals of its
score and the ``predict_cdf`` / ``predict_quantiles`` / ``predict_pvalues`` /
``crps_per_sample`` methods.

The learner-free distribution, its conventions (ties, ``tau``, quantile ranks, CRPS) and its
references are in :mod:`conformal.calibration._distribution`
(:class:`conformal.ConformalPredictiveDistribution`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils.validation import check_is_fitted

from .._deprecation import renamed
from .._validation import check_flag, n_rows, seed_from
from ..calibration import parse_levels
from ..calibration._distribution import (
    Alternative,
    ConformalPredictiveDistribution,
    QuantileSide,
    check_alternative,
    quantile_ranks,
)
from ..scores import RegressionScore

__all__ = [
    "ConformalPredictiveDistribution",
    "PredictiveDistributionMixin",
    "residual_scale",
    "signed_residuals",
]

Floats = NDArray[np.float64]
_RESIDUAL_SCORES = ("absolute", "signed", "normalized", "gamma")


# ------------------------------------------------------------------------ residual scores


def residual_scale(score: RegressionScore, y_pred: ArrayLike, scale: ArrayLike | None) -> Any:
    """The divisor ``s(x)`` of the signed residual ``(y - f(x)) / s(x)`` of a residual score
    (:meth:`~conformal.scores.RegressionScore.residual_divisor`: ``None`` for ``"absolute"``
    and ``"signed"``, ``sigma(x)`` for ``"normalized"``, ``|f(x)|`` for ``"gamma"``).

    Raises
    ------
    ValueError
        For CQR scores (they compare ``y`` with two quantile models, not with one prediction)
        and for any score that is not a residual of one prediction.
    """
    if score.needs_quantiles:
        raise ValueError(
            f"conformity_score={score.name!r} is a CQR score, not a residual: conformal "
            "predictive distributions need signed residuals y - f(x). Use one of "
            f"{list(_RESIDUAL_SCORES)}."
        )
    if not _says_its_residual(score):
        raise ValueError(
            f"conformal predictive distributions need a residual score; {score!r} is not one "
            f"that says so: it redefines the score (or its name) without redefining "
            f"residual_divisor and signed_residual. Supported: {list(_RESIDUAL_SCORES)}, or a "
            "subclass that defines those two methods for its own score."
        )
    return score.residual_divisor(y_pred, scale)


def _says_its_residual(score: RegressionScore) -> bool:
    """Whether the class that defines the score (and its name) also defines its residual: a
    subclass that changes what the score is must say what its residual is."""

    def definer(attribute: str) -> type:
        return next(k for k in type(score).__mro__ if attribute in vars(k))

    own = definer("residual_divisor")
    return definer("score") is own and definer("name") is own


def signed_residuals(
    score: RegressionScore, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
) -> Floats:
    """Signed residuals ``(y - f(x)) / s(x)`` for :class:`ConformalPredictiveDistribution`.

    Examples
    --------
    >>> from conformal.scores import AbsoluteScore, GammaScore
    >>> from conformal.regression._predictive import signed_residuals
    >>> signed_residuals(AbsoluteScore(), [1.0, 4.0], [2.0, 2.0])
    array([-1.,  2.])
    >>> signed_residuals(GammaScore(), [11.0, 18.0], [10.0, 20.0])
    array([ 0.1, -0.1])
    """
    residual_scale(score, y_pred, scale)  # the CQR message, before the score's own
    return score.signed_residual(y, y_pred, scale)


def _numeric(values: ArrayLike, name: str, *, ravel: bool = True) -> Floats:
    """``values`` as float64, or a ValueError that names the argument and its dtype."""
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numeric targets; got values of dtype {np.asarray(values).dtype} "
            "that cannot be read as numbers."
        ) from None
    return out.ravel() if ravel else out


# ------------------------------------------------------------------------ estimator methods

Block = tuple[slice, Floats, "Floats | None"]


class PredictiveDistributionMixin:
    """``predict_cdf``, ``predict_quantiles``, ``predict_pvalues`` and ``crps`` for a regressor.

    Hook: a fitted estimator using this mixin (put it left of ``BaseConformalRegressor``) provides

    - ``_predictive_distribution(self) -> ConformalPredictiveDistribution``: the calibrated
      object, built once at fit time from the signed calibration residuals
      (:func:`signed_residuals`; out-of-fold residuals with ``fold_of`` for the cross form).
      It raises a ``ValueError`` saying why when the fit cannot support distributions (a CQR or
      custom score, Mondrian groups, weights).
    - ``_predictive_blocks(self, X) -> Iterator[(rows, centers, scale)]``: for ``X`` already
      checked by ``_check_features``, consecutive row slices covering all of ``X`` with the
      centres of those rows (``(n_rows,)`` for the split form, ``(n_rows, n_folds)`` for the
      cross form: column ``k`` is the model fitted without fold ``k``) and the scale
      ``s(x)`` (``(n_rows,)``, or ``None`` for plain residuals: see :func:`residual_scale`).
      Yielding several blocks bounds the memory of the ``(n_rows, n_folds)`` centres.

    It also uses ``self._check_features(X, reset=False)`` and ``self.random_state`` (the source
    of the randomized CDF's ``tau``), both of which the package's regressors have.

    A cross-conformal regressor with out-of-fold predictions ``out_of_fold``, fold models
    ``estimators_`` and folds ``fold_of_`` adopts it with (sketch)::

        # in fit, after scoring out of fold:
        self.signed_residuals_ = target - out_of_fold
        self.predictive_distribution_ = ConformalPredictiveDistribution(
            self.signed_residuals_, self.fold_of_, n_folds=len(self.estimators_)
        )

        def _predictive_distribution(self):
            return self.predictive_distribution_

        def _predictive_blocks(self, X):
            for rows, centers in self._fold_blocks(X):  # (n_rows, K) fold predictions
                yield rows, centers, None

    Jackknife+-after-bootstrap is the case ``fold_of = arange(n)``: column ``i`` of the centres
    is the aggregate of the models whose bag excludes point ``i``.
    """

    random_state: Any

    if TYPE_CHECKING:

        def _check_features(self, X: Any, *, reset: bool) -> Any: ...

    def _predictive_distribution(self) -> ConformalPredictiveDistribution:  # pragma: no cover
        raise NotImplementedError

    def _predictive_blocks(self, X: Any) -> Iterator[Block]:  # pragma: no cover
        raise NotImplementedError

    def _blocks(self, X: Any) -> tuple[ConformalPredictiveDistribution, int, Iterator[Block]]:
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        cpd = self._predictive_distribution()
        return cpd, n_rows(X), self._predictive_blocks(X)

    def predict_cdf(
        self,
        X: ArrayLike,
        y_grid: ArrayLike,
        *,
        kind: Literal["randomized", "lower", "upper"] = "randomized",
        shared_grid: bool = False,
    ) -> Floats:
        """Conformal predictive CDFs evaluated on a grid of target values.

        ``Q(y, tau) = (#{i: C_i < y} + tau (#{i: C_i = y} + 1)) / (n + 1)`` with ``C_i`` the
        prediction at ``x`` plus each calibration residual (times the scale of the score, see
        :class:`ConformalPredictiveDistribution`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y_grid : array-like of shape (n_grid,) or (n_samples, n_grid)
            One grid shared by all samples, or one grid per sample.
        kind : {"randomized", "lower", "upper"}, default="randomized"
            ``"randomized"``: ``tau ~ U(0, 1)``, one draw per sample shared by its grid, from
            ``random_state`` (same seed, same output); at the true target the values are then
            exactly Uniform(0, 1) (split form). ``"lower"`` (``tau = 0``) and ``"upper"``
            (``tau = 1``) are the deterministic envelopes, which bracket it.
        shared_grid : bool, default=False
            Only needed when ``y_grid`` is 1-D with exactly one value per row of ``X``: that
            shape is ambiguous (``predict_pvalues`` and ``crps`` read it as one value per row),
            so it is refused unless ``shared_grid=True`` says it is one grid for every row.
            Pass ``y_grid[:, None]`` for one value per row.

        Returns
        -------
        cdf : ndarray of shape (n_samples, n_grid)

        Examples
        --------
        >>> import numpy as np
        >>> from conformal import SplitConformalRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.uniform(0, 5, size=(500, 1))
        >>> y = 2 * X[:, 0] + rng.normal(size=500)
        >>> model = SplitConformalRegressor(random_state=0).fit(X, y)
        >>> model.predict_cdf([[1.0]], [0.0, 2.0, 4.0], kind="lower").round(3)
        array([[0.013, 0.49 , 0.974]])
        >>> model.predict_cdf([[1.0]], [0.0, 2.0, 4.0], kind="upper").round(3)
        array([[0.02 , 0.497, 0.98 ]])
        """
        if kind not in ("randomized", "lower", "upper"):
            raise ValueError(
                f"kind must be one of ['lower', 'randomized', 'upper']. Got {kind!r} instead."
            )
        cpd, m, blocks = self._blocks(X)
        values = _numeric(y_grid, "y_grid", ravel=False)
        if values.ndim == 1 and values.shape[0] == m and m > 1 and not shared_grid:
            raise ValueError(
                f"y_grid is 1-D with {m} values, one per row of X: read as ONE grid shared by "
                f"every row, this gives a ({m}, {m}) array, while predict_pvalues and crps read "
                "such a y as one value per row. Say which you mean: pass y_grid[:, None] for "
                "one value per row (the CDF at each row's own y), or shared_grid=True for one "
                "grid shared by every row."
            )
        grid = cpd._grid(values, m, "y_grid")
        if kind == "randomized":
            tau = np.random.default_rng(seed_from(self.random_state)).random(m)
        else:
            tau = np.full(m, 0.0 if kind == "lower" else 1.0)
        out = np.empty(grid.shape)
        for rows, centers, scale in blocks:
            out[rows] = cpd.cdf(centers, grid[rows], tau=tau[rows], scale=scale)
        return out

    def predict_quantiles(
        self,
        X: ArrayLike,
        levels: float | Sequence[float],
        *,
        side: QuantileSide = "central",
    ) -> Floats:
        """Quantiles of the conformal predictive distributions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        levels : float or sequence of float
            Quantile levels ``p`` in (0, 1).
        side : {"central", "lower", "upper"}, default="central"
            Which order statistic when ``p (n + 1)`` is not an integer:
            ``"upper"`` ``C_(ceil(p (n + 1)))``, ``"lower"`` ``C_(floor(p (n + 1)))``,
            ``"central"`` lower below 1/2 and upper from 1/2 on. With ``"central"``,
            ``predict_quantiles(X, [a/2, 1 - a/2])`` is exactly
            ``predict_interval(X, 1 - a)`` of the same model fitted with
            ``conformity_score="signed"``.

        Returns
        -------
        quantiles : ndarray of shape (n_samples,) for a float, (n_samples, n_levels) for a
            sequence of levels. Infinite (with a :class:`~conformal.ConformalWarning`) when the
            calibration set is too small for a level.

        Examples
        --------
        >>> import numpy as np
        >>> from conformal import SplitConformalRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.uniform(0, 5, size=(500, 1))
        >>> y = 2 * X[:, 0] + rng.normal(size=500)
        >>> model = SplitConformalRegressor(conformity_score="signed", random_state=0).fit(X, y)
        >>> model.predict_quantiles([[1.0]], [0.05, 0.5, 0.95]).round(2)
        array([[0.31, 2.01, 3.64]])
        >>> model.predict_interval([[1.0]], 0.9).round(2)
        array([[0.31, 3.64]])
        """
        cpd, m, blocks = self._blocks(X)
        exact, scalar = parse_levels(levels, name="levels", owner="predict_quantiles")
        ranks = quantile_ranks(cpd.n_calibration, exact, side)  # warns once for all blocks
        out = np.empty((m, len(exact)))
        for rows, centers, scale in blocks:
            out[rows] = cpd._at_ranks(centers, ranks, scale)
        return out[:, 0] if scalar else out

    def predict_pvalues(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        alternative: Alternative = "two-sided",
        smoothed: bool = False,
        randomized: bool | None = None,
    ) -> Floats:
        """Conformal p-values of candidate targets, one (or several) per sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_candidates)
        alternative : {"two-sided", "less", "greater"}, default="two-sided"
            scipy.stats' words. ``"greater"``: ``(1 + #{C_i >= y}) / (n + 1)``, small when
            ``y`` is unusually large; ``"less"``: ``(1 + #{C_i <= y}) / (n + 1)``, small when it
            is unusually small; ``"two-sided"``: ``min(1, 2 min(less, greater))``. The set
            ``{y: p > a}`` of the two-sided p-value is exactly the ``"signed"`` split interval
            at level ``1 - a``. (``"upper"`` and ``"lower"`` still work one release, with a
            FutureWarning.)
        smoothed : bool, default=False
            ``False``: conservative p-values, ``P(p <= a) <= a``. ``True``: smoothed p-values
            (Vovk's term): ties and the test point's own rank are broken by ``u ~ U(0, 1)``
            from ``random_state``, which makes them exactly uniform at the true target (split
            form).
        randomized : bool, default=None
            The old name of ``smoothed``; still accepted one release, with a FutureWarning.

        Returns
        -------
        pvalues : ndarray of shape (n_samples,) or (n_samples, n_candidates)

        Examples
        --------
        >>> import numpy as np
        >>> from conformal import SplitConformalRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.uniform(0, 5, size=(500, 1))
        >>> y = 2 * X[:, 0] + rng.normal(size=500)
        >>> model = SplitConformalRegressor(random_state=0).fit(X, y)
        >>> model.predict_pvalues([[1.0], [1.0]], [2.0, 6.0]).round(3)
        array([0.993, 0.013])
        """
        cpd, m, blocks = self._blocks(X)
        values = _numeric(y, "y", ravel=False)
        if values.ndim not in (1, 2) or values.shape[0] != m:
            raise ValueError(
                f"y must have shape (n_samples,) = ({m},), one candidate per sample, or "
                f"({m}, n_candidates). Got shape {values.shape} instead."
            )
        if randomized is not None:
            warnings.warn(
                "predict_pvalues(randomized=...) is renamed smoothed=... (Vovk's term, as in "
                "the classifiers); the old name stops working in the next release.",
                FutureWarning,
                stacklevel=2,
            )
            smoothed = randomized
        alternative = check_alternative(alternative)  # type: ignore[assignment]
        smoothed = check_flag(smoothed, "smoothed")
        tau = None
        if smoothed:
            tau = np.random.default_rng(seed_from(self.random_state)).random(m)
        out = np.empty(values.shape)
        for rows, centers, scale in blocks:
            out[rows] = cpd.pvalues(
                centers,
                values[rows],
                alternative=alternative,
                tau=None if tau is None else tau[rows],
                scale=scale,
            )
        return out

    def crps_per_sample(self, X: ArrayLike, y: ArrayLike) -> Floats:
        """CRPS of each sample's predictive distribution at its observed target (lower is
        better).

        The distribution scored is the empirical distribution of the ``C_i`` (mass ``1/n``
        each), the finite convention explained in :class:`ConformalPredictiveDistribution`;
        :func:`conformal.metrics.mean_crps` gives the mean for any other step distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Finite observed targets.

        Returns
        -------
        crps : ndarray of shape (n_samples,)
            Per sample; ``.mean()`` is the usual summary.

        Examples
        --------
        >>> import numpy as np
        >>> from conformal import SplitConformalRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.uniform(0, 5, size=(500, 1))
        >>> y = 2 * X[:, 0] + rng.normal(size=500)
        >>> model = SplitConformalRegressor(random_state=0).fit(X, y)
        >>> model.crps_per_sample([[1.0], [1.0]], [2.0, 6.0]).round(3)
        array([0.23 , 3.428])
        """
        cpd, m, blocks = self._blocks(X)
        target = _numeric(y, "y")
        if target.shape[0] != m:
            raise ValueError(f"y has {target.shape[0]} entries but X has {m} rows.")
        out = np.empty(m)
        for rows, centers, scale in blocks:
            out[rows] = cpd.crps(centers, target[rows], scale=scale)
        return out

    # The old name: ``crps`` now names the mean in :mod:`conformal.metrics`.
    crps = renamed(crps_per_sample, "crps", " (it returns one value per sample)")
