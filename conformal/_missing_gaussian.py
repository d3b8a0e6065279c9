"""The Gaussian linear model with missing covariates of Zaffran et al. (2023), section 7.1: data
with MCAR masks, and the closed-form length of the shortest valid interval (the oracle)."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from .calibration import exact_level

__all__ = ["PAPER_BETA", "make_gaussian_missing", "oracle_interval_length", "paper_covariance"]

#: The coefficients of section 7.1 of Zaffran et al. (2023).
PAPER_BETA = np.array([1.0, 2.0, -1.0, 3.0, -0.5, -1.0, 0.3, 1.7, 0.4, -0.3])


def paper_covariance(n_features: int = 10, rho: float = 0.8) -> NDArray[np.float64]:
    """``rho * ones + (1 - rho) * I``: the covariance of section 7.1 (``rho = 0.8``).

    Parameters
    ----------
    n_features : int, default=10
    rho : float, default=0.8
        The correlation between any two features (unit variances).

    Returns
    -------
    cov : ndarray of shape (n_features, n_features)

    Examples
    --------
    >>> from conformal.missing import paper_covariance
    >>> paper_covariance(2)
    array([[1. , 0.8],
           [0.8, 1. ]])
    """
    return rho * np.ones((n_features, n_features)) + (1 - rho) * np.eye(n_features)


def _check_model(beta: ArrayLike | None, cov: ArrayLike | None) -> tuple[NDArray, NDArray]:
    b = PAPER_BETA if beta is None else np.asarray(beta, dtype=np.float64).ravel()
    s = paper_covariance(b.shape[0]) if cov is None else np.asarray(cov, dtype=np.float64)
    if s.shape != (b.shape[0], b.shape[0]):
        raise ValueError(
            f"cov must be a ({b.shape[0]}, {b.shape[0]}) matrix, one row and column per "
            f"coefficient of beta. Got shape {s.shape} instead."
        )
    return b, s


def oracle_interval_length(
    mask: ArrayLike,
    *,
    beta: ArrayLike | None = None,
    cov: ArrayLike | None = None,
    noise_std: float = 1.0,
    confidence_level: float = 0.9,
) -> float | NDArray[np.float64]:
    """Length of the shortest valid interval given the observed features, in closed form.

    For ``X ~ N(mu, S)``, ``Y = beta'X + N(0, noise_std^2)`` and a mask ``m`` independent of
    ``(X, Y)`` (MCAR), ``Y`` given the observed features is Gaussian with variance
    ``beta_mis' S_{mis|obs} beta_mis + noise_std^2``, where ``S_{mis|obs} = S_mm - S_mo S_oo^{-1}
    S_om``; the shortest interval with conditional coverage ``1 - a`` is centred and has length
    ``2 z_{1 - a/2} sqrt(beta_mis' S_{mis|obs} beta_mis + noise_std^2)``.

    Parameters
    ----------
    mask : array-like of bool of shape (p,) or (m, p)
        ``True`` where a feature is missing.
    beta : array-like of shape (p,), default=None
        Coefficients; ``None`` is the paper's ``(1, 2, -1, 3, -0.5, -1, 0.3, 1.7, 0.4, -0.3)``.
    cov : array-like of shape (p, p), default=None
        Covariance of ``X``; ``None`` is ``0.8 * ones + 0.2 * I``.
    noise_std : float, default=1.0
    confidence_level : float, default=0.9

    Returns
    -------
    length : float, or ndarray of shape (m,) for a 2-D ``mask``

    Raises
    ------
    ValueError
        When the mask does not have one entry per coefficient, or ``cov`` the wrong shape.

    References
    ----------
    M. Zaffran, A. Dieuleveut, J. Josse and Y. Romano (2023). Conformal prediction with missing
    values. ICML, section 7.1.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.missing import oracle_interval_length
    >>> round(oracle_interval_length(np.zeros(10, dtype=bool)), 4)
    3.2897
    >>> round(oracle_interval_length(np.eye(10, dtype=bool)[0]), 4)  # feature 0 missing
    3.636
    """
    b, s = _check_model(beta, cov)
    raw = np.asarray(mask)
    if raw.dtype != bool and not np.isin(raw, (0, 1)).all():
        raise ValueError(
            "mask must be booleans (True where a feature is missing), or 0/1; got values other "
            "than 0 and 1. Pass np.isnan(X) for data with NaN."
        )
    if not 0.0 < float(confidence_level) < 1.0:
        raise ValueError(f"confidence_level must be in (0, 1); got {confidence_level!r}. E.g. 0.9.")
    masks = raw.astype(bool)
    single = masks.ndim == 1
    masks = np.atleast_2d(masks)
    if masks.shape[1] != b.shape[0]:
        raise ValueError(
            f"mask has {masks.shape[1]} entries per row; expected {b.shape[0]}, one per "
            "coefficient of beta."
        )
    a = 1 - exact_level(confidence_level)
    z = float(norm.ppf(1 - float(a) / 2))
    out = np.empty(masks.shape[0])
    for i, m in enumerate(masks):
        mis, obs = np.flatnonzero(m), np.flatnonzero(~m)
        variance = noise_std**2
        if mis.size:
            conditional = s[np.ix_(mis, mis)]
            if obs.size:
                cross = s[np.ix_(mis, obs)]
                conditional = conditional - cross @ np.linalg.solve(s[np.ix_(obs, obs)], cross.T)
            variance += float(b[mis] @ conditional @ b[mis])
        out[i] = 2 * z * np.sqrt(variance)
    return float(out[0]) if single else out


def mean_oracle_length(n_missing: int, **model: Any) -> float:
    """The oracle length averaged uniformly over every mask with ``n_missing`` features missing.

    Parameters
    ----------
    n_missing : int
        Number of missing features, from 0 to ``p``.
    **model : dict
        ``beta``, ``cov``, ``noise_std``, ``confidence_level`` of
        :func:`oracle_interval_length`.

    Returns
    -------
    length : float
        The mean over the ``C(p, n_missing)`` masks (MCAR masks of that size are uniform).

    Examples
    --------
    >>> from conformal.missing import mean_oracle_length
    >>> round(mean_oracle_length(3), 4)
    4.9374
    """
    b, _ = _check_model(model.get("beta"), model.get("cov"))
    p = b.shape[0]
    if not 0 <= n_missing <= p:
        raise ValueError(f"n_missing must be an int from 0 to {p}. Got {n_missing} instead.")
    masks = np.zeros((0, p), dtype=bool)
    rows = []
    for missing in combinations(range(p), n_missing):
        row = np.zeros(p, dtype=bool)
        row[list(missing)] = True
        rows.append(row)
    masks = np.array(rows, dtype=bool).reshape(-1, p)
    return float(np.mean(oracle_interval_length(masks, **model)))


def make_gaussian_missing(
    n_samples: int,
    *,
    missing_rate: float = 0.2,
    n_missing: int | None = None,
    beta: ArrayLike | None = None,
    cov: ArrayLike | None = None,
    noise_std: float = 1.0,
    random_state: Any = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Data of the section 7.1 experiment: ``X ~ N(1, S)``, ``Y = beta'X + noise``, MCAR NaN.

    Parameters
    ----------
    n_samples : int
    missing_rate : float, default=0.2
        Each entry is missing independently with this probability (MCAR).
    n_missing : int, default=None
        Instead: exactly this many features missing per row, the set drawn uniformly among the
        sets of that size (the paper's test points by number of missing values).
    beta, cov, noise_std : see :func:`oracle_interval_length`
    random_state : int, Generator or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, p)
        With NaN where missing; ``Y`` is computed from the complete ``X``.
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.missing import make_gaussian_missing
    >>> X, y = make_gaussian_missing(5, n_missing=3, random_state=0)
    >>> X.shape, np.isnan(X).sum(axis=1).tolist()
    ((5, 10), [3, 3, 3, 3, 3])
    """
    b, s = _check_model(beta, cov)
    p = b.shape[0]
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(
            f"missing_rate must be in [0, 1): the probability that an entry is missing. Got "
            f"{missing_rate!r} instead."
        )
    rng = np.random.default_rng(random_state)
    X = rng.multivariate_normal(np.ones(p), s, size=n_samples)
    y = X @ b + noise_std * rng.standard_normal(n_samples)
    if n_missing is None:
        masks = rng.random((n_samples, p)) < missing_rate
    else:
        if not 0 <= n_missing <= p:
            raise ValueError(f"n_missing must be an int from 0 to {p}. Got {n_missing} instead.")
        order = np.argsort(rng.random((n_samples, p)), axis=1)
        masks = np.zeros((n_samples, p), dtype=bool)
        np.put_along_axis(masks, order[:, :n_missing], True, axis=1)
    X[masks] = np.nan
    return X, y
