"""Straightforward CP-MDA: one imputer call and one model call per calibration/test pair.

The reference the batched implementation must equal (and the speed benchmark's baseline). It
uses the fitted estimator's imputer, models and score, and nothing of its mask bookkeeping.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from conformal.calibration import exact_level


def _row(model, x, mask, index):
    """The band (or prediction) of one row masked by ``mask``: one imputer, one model call."""
    z = model._design(x[np.newaxis], mask[np.newaxis])
    return model._band(z, index)


def _ranks(n, level):
    a = 1 - exact_level(level)
    return math.floor(a * (n + 1)), math.ceil((1 - a) * (n + 1))


def naive_intervals(model, X, method, level=0.9, index=0):
    """``(m, 2)`` intervals by the definitions of Zaffran et al. (2023), pair by pair."""
    level = Fraction(level) if isinstance(level, Fraction) else level
    X = np.asarray(X, dtype=np.float64)
    masks = np.isnan(X)
    cal_X, cal_y = model.calibration_X_, model.calibration_y_
    cal_m = np.isnan(cal_X)
    score = model.score_
    out = np.empty((X.shape[0], 2))
    for i, (x, m) in enumerate(zip(X, masks, strict=True)):
        if method == "exact":
            scores = [
                score.score(cal_y[k : k + 1], _row(model, cal_X[k], m, index))[0]
                for k in range(cal_X.shape[0])
                if not (cal_m[k] & ~m).any()
            ]
            n = len(scores)
            rank = _ranks(n, level)[1]
            q = np.inf if rank > n else np.sort(scores)[rank - 1]
            out[i] = score.inverse(_row(model, x, m, index), q)[0, 0]
        else:
            lows, highs = [], []
            for k in range(cal_X.shape[0]):
                augmented = cal_m[k] | m
                s_k = score.score(cal_y[k : k + 1], _row(model, cal_X[k], augmented, index))[0]
                lo, hi = score.inverse(_row(model, x, augmented, index), s_k)[0, 0]
                lows.append(lo)
                highs.append(hi)
            n = len(lows)
            lo_rank, hi_rank = _ranks(n, level)
            out[i, 0] = -np.inf if lo_rank < 1 else np.sort(lows)[lo_rank - 1]
            out[i, 1] = np.inf if hi_rank > n else np.sort(highs)[hi_rank - 1]
    return out
