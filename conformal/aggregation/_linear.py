"""Linear quantile regression through statsmodels' ``QuantReg``, as a quantile model."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..exceptions import warn_conformal
from ._protocol import check_quantiles, level_positions, median_level

__all__ = ["LinearQuantileRegressor"]


class LinearQuantileRegressor(RegressorMixin, BaseEstimator):
    """Linear quantile regression at several levels (statsmodels ``QuantReg``, one fit per level).

    Each level ``t`` gets its own coefficients minimising the pinball loss
    ``sum_i psi_t(y_i - b_0 - x_i' b)`` (Koenker and Bassett, 1978), solved by statsmodels'
    iteratively reweighted least squares, with its asymptotic standard errors. The fitted
    statsmodels results are kept (``results_``), so ``summary()``, ``conf_int()`` and the rest
    of statsmodels' inference work on each level.

    Parameters
    ----------
    quantiles : array-like of float, default=(0.05, 0.5, 0.95)
        The levels to fit, strictly increasing in (0, 1). Only these can be predicted.
    fit_intercept : bool, default=True
        Whether to add an intercept column (named ``"const"`` in ``results_``). With it, features
        that are constant in the training data are left out of the design: the intercept
        absorbs them (their ``coef_`` is 0 and their ``bse_`` NaN), which keeps the design of
        full rank so the standard errors stay defined.
    vcov : {"robust", "iid"}, default="robust"
        Covariance of the coefficients (``QuantReg.fit(vcov=...)``): ``"robust"`` allows
        heteroscedastic errors, ``"iid"`` assumes identically distributed ones.
    kernel : {"epa", "biw", "cos", "gau", "par"}, default="epa"
        Kernel of the residual density estimate behind the standard errors (Epanechnikov,
        biweight, cosine, Gaussian, Parzen).
    bandwidth : {"hsheather", "bofinger", "chamberlain"}, default="hsheather"
        Bandwidth rule of that density estimate (Hall-Sheather, Bofinger, Chamberlain).
    max_iter : int, default=1000
        Maximum iterations of the reweighted least squares, per level.
    p_tol : float, default=1e-6
        Convergence tolerance on the largest change of a coefficient between iterations.

    Attributes
    ----------
    quantiles_ : ndarray of shape (n_quantiles,)
        The fitted levels.
    coef_ : ndarray of shape (n_quantiles, n_features)
        Slopes, one row per level.
    intercept_ : ndarray of shape (n_quantiles,)
        Intercepts (zeros when ``fit_intercept=False``).
    bse_ : ndarray of shape (n_quantiles, n_features)
        Standard errors of ``coef_`` (NaN for features left out as constant).
    intercept_bse_ : ndarray of shape (n_quantiles,)
        Standard errors of ``intercept_`` (NaN when ``fit_intercept=False``).
    results_ : list of statsmodels ``RegressionResultsWrapper``
        The statsmodels results of each level, in the order of ``quantiles_``; their parameter
        names are ``"const"`` and the feature names (``feature_names_in_``, else ``x0``,
        ``x1``, ... by column position). They keep references to one shared copy of the
        training design, as statsmodels results do.
    n_iter_ : ndarray of int of shape (n_quantiles,)
        Iterations each level took (``max_iter`` means it stopped before converging).
    constant_features_ : ndarray of bool of shape (n_features,)
        Features left out because they were constant (all False when ``fit_intercept=False``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.

    Warns
    -----
    IterationLimitWarning, ConvergenceWarning
        statsmodels' own warnings, passed through unchanged, when a level stops at ``max_iter``
        or its iterations cycle: raise ``max_iter`` or check ``n_iter_``.
    ConformalWarning
        When the standard errors of a level are not finite (statsmodels' residual density
        bandwidth is 0, e.g. for a constant target, or reaches past 0 or 1 at an extreme level
        with few samples); coefficients and predictions are still valid.

    See Also
    --------
    sklearn.linear_model.QuantileRegressor : The same estimate by linear programming (with
        ``alpha=0``), one level per model and without standard errors.

    Notes
    -----
    ``fit`` takes no ``sample_weight``: ``QuantReg`` has no weights.

    References
    ----------
    .. [1] R. Koenker and G. Bassett, "Regression quantiles", Econometrica 46(1), 33-50, 1978.
    .. [2] R. Koenker, "Quantile Regression", Cambridge University Press, 2005.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.aggregation import LinearQuantileRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, size=(300, 1))
    >>> y = 2 * X[:, 0] + rng.normal(scale=0.1, size=300)
    >>> model = LinearQuantileRegressor(quantiles=[0.1, 0.5, 0.9]).fit(X, y)
    >>> model.coef_.round(1)
    array([[2.],
           [2.],
           [2.]])
    >>> model.predict_quantiles([[0.5]]).round(1)
    array([[0.9, 1. , 1.1]])
    >>> model.results_[1].conf_int().shape  # statsmodels' inference for the median
    (2, 2)
    """

    _parameter_constraints: dict = {
        "quantiles": ["array-like", Real],
        "fit_intercept": ["boolean"],
        "vcov": [StrOptions({"robust", "iid"})],
        "kernel": [StrOptions({"epa", "biw", "cos", "gau", "par"})],
        "bandwidth": [StrOptions({"hsheather", "bofinger", "chamberlain"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "p_tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        quantiles: Any = (0.05, 0.5, 0.95),
        *,
        fit_intercept: bool = True,
        vcov: str = "robust",
        kernel: str = "epa",
        bandwidth: str = "hsheather",
        max_iter: int = 1000,
        p_tol: float = 1e-6,
    ) -> None:
        self.quantiles = quantiles
        self.fit_intercept = fit_intercept
        self.vcov = vcov
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.max_iter = max_iter
        self.p_tol = p_tol

    def fit(self, X: ArrayLike, y: ArrayLike) -> LinearQuantileRegressor:
        """Fit one ``QuantReg`` per level.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features (a DataFrame's column names name the coefficients).
        y : array-like of shape (n_samples,)
            Target.

        Returns
        -------
        self : LinearQuantileRegressor
            The fitted model.
        """
        from statsmodels.regression.quantile_regression import QuantReg

        self._validate_params()
        levels = check_quantiles(self.quantiles)
        # copy=True: statsmodels' results keep the design; the user's array must stay theirs.
        X_checked, target = validate_data(self, X, y, dtype=np.float64, y_numeric=True, copy=True)
        n_features = X_checked.shape[1]
        names = getattr(self, "feature_names_in_", None)
        names = (
            [str(c) for c in names] if names is not None else [f"x{j}" for j in range(n_features)]
        )
        if self.fit_intercept:
            # A constant column duplicates the intercept: the design would be singular and the
            # split between the two arbitrary, so the intercept takes it alone.
            constant = np.ptp(X_checked, axis=0) == 0
        else:
            constant = np.zeros(n_features, dtype=bool)
        kept = np.flatnonzero(~constant)
        design = X_checked[:, kept]
        xnames = [names[j] for j in kept]
        if self.fit_intercept:
            design = np.column_stack([np.ones(design.shape[0]), design])
            xnames = ["const", *xnames]
        start = 1 if self.fit_intercept else 0

        n_levels = levels.size
        self.coef_ = np.zeros((n_levels, n_features))
        self.intercept_ = np.zeros(n_levels)
        self.bse_ = np.full((n_levels, n_features), np.nan)
        self.intercept_bse_ = np.full(n_levels, np.nan)
        self.n_iter_ = np.zeros(n_levels, dtype=np.int64)
        self.results_ = []
        degenerate = []
        for i, q in enumerate(levels):
            model = QuantReg(target, design)
            model.data.xnames = xnames  # statsmodels' names for summary() and params
            # A degenerate bandwidth (0, or q +- h outside (0, 1)) makes statsmodels' standard
            # errors 0/0 or NaN; numpy's bare "invalid value" warnings give way to one that
            # says why (below).
            with np.errstate(divide="ignore", invalid="ignore"):
                result = model.fit(
                    q=float(q),
                    vcov=self.vcov,
                    kernel=self.kernel,
                    bandwidth=self.bandwidth,
                    max_iter=self.max_iter,
                    p_tol=self.p_tol,
                )
                params = np.asarray(result.params, dtype=np.float64)
                bse = np.asarray(result.bse, dtype=np.float64)
            self.coef_[i, kept] = params[start:]
            self.bse_[i, kept] = bse[start:]
            if self.fit_intercept:
                self.intercept_[i] = params[0]
                self.intercept_bse_[i] = bse[0]
            self.n_iter_[i] = result.iterations
            self.results_.append(result)
            if not np.isfinite(bse).all():
                degenerate.append(float(q))
        if degenerate:
            warn_conformal(
                f"LinearQuantileRegressor: the standard errors at quantiles {degenerate} are not "
                "finite: statsmodels' density estimate of the residuals degenerated (a "
                "bandwidth of 0 when y is constant or the residuals have no spread, or a level "
                "closer to 0 or 1 than the bandwidth, which happens with few samples). coef_ and "
                "the predictions are valid; bse_ and the results_' inference are not. Use more "
                "samples, levels further from 0 and 1, or bandwidth='chamberlain' (the narrowest)."
            )
        self.quantiles_ = levels
        self.constant_features_ = constant
        return self

    def predict_quantiles(
        self, X: ArrayLike, quantiles: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """Predictions of the fitted levels ``quantiles`` (default: all fitted levels).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        quantiles : array-like of float, default=None
            Fitted levels, strictly increasing; ``None`` means ``quantiles_``.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_quantiles)
            Column ``j`` is ``X @ coef_[j] + intercept_[j]`` of level ``quantiles[j]``; not
            rearranged (separately fitted levels can cross).

        Raises
        ------
        ValueError
            For a level that was not fitted (the message lists the fitted ones).
        """
        check_is_fitted(self, "coef_")
        wanted = self.quantiles_ if quantiles is None else check_quantiles(quantiles)
        positions = level_positions(self.quantiles_, wanted, type(self).__name__)
        X_checked = validate_data(self, X, reset=False, dtype=np.float64)
        return np.asarray(
            X_checked @ self.coef_[positions].T + self.intercept_[positions], dtype=np.float64
        )

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Predictions of the fitted level nearest 0.5 (the median when it was fitted).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predicted conditional quantile.
        """
        check_is_fitted(self, "coef_")
        return self.predict_quantiles(X, [median_level(self.quantiles_)])[:, 0]
