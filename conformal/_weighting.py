"""Calibration weights of the split estimators, in one place: the ``weights`` parameter (a scheme
or a callable), ``fit``'s ``calibration_weights`` and ``X_target``, the time order of the rows,
the ordered (``shuffle=False``) split and the effective sample size with its warning.

Two steps around the split: :func:`prepare_weighting` before it (the scheme bound to the data,
each row's time position), :func:`finish_weighting` after it (the calibration rows' weights,
kept on the estimator with their effective sample size).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_sample_weight, n_rows, seed_from
from .calibration import min_calibration_size
from .calibration._weights import effective_sample_size, weight_factor
from .exceptions import warn_conformal
from .weights import WeightScheme, resolve_weights

Floats = NDArray[np.float64]


@dataclass
class FitWeighting:
    """What ``fit`` knows about the weights before the split."""

    scheme: WeightScheme | None
    fixed: Floats | None
    positions: NDArray[np.intp]  # each row's place in time order, 0 the oldest


def time_positions(X: Any, n: int, time: Any) -> NDArray[np.intp]:
    """Each row's place in time order: the row order, or the order of the column ``time`` of
    ``X`` (a DataFrame column name or an integer column index; ties keep their row order)."""
    if time is None:
        return np.arange(n, dtype=np.intp)
    if isinstance(time, (bool, np.bool_)):
        raise ValueError(
            f"time={time!r} is not a column: pass a column name of the DataFrame given to fit, "
            "an integer column index, or None for the row order."
        )
    try:
        if hasattr(X, "iloc"):
            values = np.asarray(X[time] if not isinstance(time, int) else X.iloc[:, time])
        else:
            values = np.asarray(X[:, time].toarray() if hasattr(X, "toarray") else X[:, time])
    except (KeyError, IndexError, TypeError, ValueError):
        raise ValueError(
            f"time={time!r} names no column of X: pass a column name of the DataFrame given to "
            "fit, or an integer column index."
        ) from None
    values = values.ravel()
    missing = np.isnat(values) if values.dtype.kind in "mM" else None
    if missing is None and values.dtype.kind in "fc":
        missing = np.isnan(values)
    if missing is not None and missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"the time column time={time!r} is missing in {int(missing.sum())} row(s) (the first "
            f"is row {first}); every row needs a time to be ordered. Drop those rows or fill "
            "their time."
        )
    order = np.argsort(values, kind="stable")
    positions = np.empty(n, dtype=np.intp)
    positions[order] = np.arange(n, dtype=np.intp)
    return positions


def prepare_weighting(
    owner: Any, X: Any, calibration_weights: ArrayLike | None, X_target: Any
) -> FitWeighting:
    """Resolve ``owner.weights`` with ``fit``'s ``calibration_weights`` and ``X_target``.

    Raises
    ------
    ValueError
        When a scheme and ``calibration_weights`` are both given; when ``X_target`` is given
        without a scheme that learns from it; for ``calibration_weights`` that are not one
        finite non-negative number per row.
    """
    n = n_rows(X)
    weights = owner.weights
    if weights is not None and not callable(weights) and not isinstance(weights, WeightScheme):
        warnings.warn(
            "an array passed as weights=... is deprecated (data-sized arrays in __init__ "
            "break clone, cross_val_score and GridSearchCV): pass it to "
            "fit(X, y, calibration_weights=...), or use a scheme from conformal.weights.",
            FutureWarning,
            stacklevel=4,
        )
        if calibration_weights is None:
            values = np.asarray(weights, dtype=np.float64).ravel()
            if values.shape[0] != n:
                raise ValueError(
                    f"weights has {values.shape[0]} entries but fit got {n} samples; pass "
                    "one weight per sample given to fit."
                )
            calibration_weights = values
        weights = None
    scheme = resolve_weights(weights)
    if scheme is not None and calibration_weights is not None:
        raise ValueError(
            f"calibration_weights was given to fit together with weights={owner.weights!r}; use "
            "one of them (set weights=None to use your own calibration_weights)."
        )
    if X_target is not None and not getattr(scheme, "_learns_from_target", False):
        raise ValueError(
            f"X_target was given to fit but weights={owner.weights!r} does not learn from it; "
            "X_target serves an unfitted LikelihoodRatioWeights(...) passed as weights=."
        )
    fixed = check_sample_weight(calibration_weights, n, "calibration_weights")
    positions = time_positions(X, n, getattr(scheme, "time", None))
    if scheme is not None:
        bound = scheme.bind(X, X_target, seed_from(owner.random_state))
        if X_target is not None and bound is scheme:  # already fitted: X_target would be lost
            raise ValueError(
                f"X_target was given to fit but weights={owner.weights!r} is already fitted, so "
                "it would not be used. Pass the unfitted LikelihoodRatioWeights(...) to learn "
                "the ratio from X and X_target (cross-fitted), or drop X_target."
            )
        # The estimator keeps its own copy: a scheme the user changes later (set_params on a
        # fitted LikelihoodRatioWeights) must not change this estimator's intervals.
        scheme = copy.deepcopy(bound) if bound is scheme else bound
    return FitWeighting(scheme, fixed, positions)


def finish_weighting(
    owner: Any, weighting: FitWeighting, X_cal: Any, calibration: NDArray[np.intp]
) -> Floats | None:
    """Set ``weights_scheme_``, ``calibration_weights_`` and ``effective_sample_size_`` on
    ``owner`` and return the calibration weights (``None``: unweighted).

    Warns
    -----
    ConformalWarning
        When the weights leave fewer effective calibration points than the highest fitted
        level needs for a finite threshold without weights.

    Raises
    ------
    ValueError
        When every calibration row weighs 0.
    """
    n_fit = weighting.positions.shape[0]
    scheme = weighting.scheme
    weights: Floats | None
    if scheme is not None:
        weights = scheme.calibration_weights(X_cal, weighting.positions[calibration], n_fit)
    else:
        weights = None if weighting.fixed is None else weighting.fixed[calibration]
    owner.weights_scheme_ = scheme
    owner.calibration_weights_ = weights
    n_cal = calibration.shape[0]
    if weights is None:
        owner.effective_sample_size_ = float(n_cal)
        return None
    if not weights.any():
        source = "calibration_weights" if scheme is None else f"weights={scheme!r}"
        raise ValueError(
            f"{source} gives weight 0 to all {n_cal} calibration rows: with the test point "
            "weighing 1, every interval would be infinite. Give the calibration rows positive "
            "weight (for drift: the most recent rows, e.g. shuffle=False so that they calibrate)."
        )
    ess = effective_sample_size(weights)
    owner.effective_sample_size_ = ess
    levels, _ = owner._levels(None)
    top = max(levels, key=float)
    needed = min_calibration_size(top)
    if scheme is None or type(scheme).test_weights is WeightScheme.test_weights:
        _warn_fixed_mass(owner, scheme, weights, top)
    if ess < needed:
        warn_conformal(
            f"the calibration weights leave an effective sample size of {ess:.1f} of the {n_cal} "
            f"calibration points ((sum w)^2 / sum w^2): the weighted thresholds are about as "
            f"variable as those of {ess:.1f} unweighted points, fewer than the {needed} that "
            f"confidence_level={float(top):g} needs, so expect wide or infinite intervals. Use "
            "weights that decay more slowly, clip the likelihood ratio, or calibrate on more data "
            "(for time-ordered data, shuffle=False calibrates on the most recent rows)."
        )
    return weights


def _warn_fixed_mass(owner: Any, scheme: WeightScheme | None, weights: Floats, level: Any) -> None:
    """Fixed weights (the test point weighs 1) whose total ``W`` is below ``(1 - a) / a``:
    ``W / (W + 1) < 1 - a``, so every upper threshold is infinite (Barber et al. 2023), whatever
    the test point. More calibration data cannot help a decay that caps ``W``."""
    total = float(weights.sum() / weight_factor(weights, None))
    alpha = 1.0 - float(level)
    if total * alpha >= 1.0 - alpha:
        return
    need = (1.0 - alpha) / alpha
    rho = getattr(scheme, "rho", None)
    if rho is not None:
        fix = (
            f"{scheme!r} caps the total at rho / (1 - rho) = {rho / (1 - rho):.3g}: use rho > "
            f"{float(level):g}"
        )
    elif scheme is not None:
        fix = f"{scheme!r} gives too few rows weight: widen the window"
    else:
        fix = (
            "calibration_weights are used on the scale where the test point weighs 1 (weights "
            "above 1 are divided by their maximum): rescale them, e.g. "
            "calibration_weights / calibration_weights.max()"
        )
    warn_conformal(
        f"the calibration weights total {total:.3g} with the test point weighing 1, and "
        f"confidence_level={float(level):g} needs a total of at least {need:.3g}: every "
        f"interval will be infinite. {fix}."
    )
