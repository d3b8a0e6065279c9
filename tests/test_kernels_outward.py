"""The compiled outward rounding equals the NumPy one (conformal._outward._round_side_outward)
bound for bound: every score code, integer grids, reals of every magnitude, bounds near 0 (long
runs of floats sharing one score), infinite thresholds, shared and per-point thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from conformal import _outward
from conformal._kernels.intervals import fill_intervals

SIDES = {
    "absolute": (_outward._absolute, _outward._absolute),
    "scaled": (_outward._scaled_absolute, _outward._scaled_absolute),
    "signed": (_outward._below, _outward._above),
    "band": (_outward._outside_band, _outward._outside_band),
}


def _case(kind, regime, rng, n=2000, n_levels=3):
    if regime == "integers":
        lo = rng.integers(-50, 50, size=n).astype(float)
        q = rng.integers(0, 20, size=(1, n_levels)).astype(float)
    elif regime == "near zero":  # bounds close to 0 relative to f and q: long runs
        lo = rng.uniform(0.5, 2.0, size=n)
        q = lo[:, None] * (1 + rng.integers(-2, 3, size=(n, n_levels)) * 2.0**-52)
    else:
        magnitude = 10.0 ** rng.uniform(-9, 150)
        lo = rng.normal(size=n) * magnitude
        q = np.abs(rng.normal(size=(1, n_levels))) * magnitude
    hi = lo + (np.abs(rng.normal(size=n)) if kind == "band" else 0.0)
    if kind != "band":
        hi = lo
    scale = np.abs(rng.normal(size=n)) + 0.1 if kind == "scaled" else np.ones(1)
    if kind == "scaled" and regime == "near zero":
        q = q / scale[:, None]
    q = np.ascontiguousarray(q)
    q[..., -1] = np.inf if rng.random() < 0.3 else q[..., -1]
    return lo, np.ascontiguousarray(hi), q, scale


@pytest.mark.parametrize("regime", ["integers", "near zero", "reals"])
@pytest.mark.parametrize("kind", list(SIDES))
@pytest.mark.parametrize("seed", range(4))
def test_kernel_and_numpy_move_every_bound_to_the_same_float(kind, regime, seed):
    rng = np.random.default_rng(seed)
    lo, hi, q, scale = _case(kind, regime, rng)
    lower, upper = SIDES[kind]
    written = np.empty((lo.shape[0], q.shape[1], 2))
    fill_intervals(lo, hi, q, q, scale, written)
    compiled, reference = written.copy(), written.copy()
    for side, score in ((0, lower), (1, upper)):
        _outward._round_side(compiled, side, q, score, lo, hi, scale)
        _outward._round_side_outward(reference, side, q, score, lo, hi, scale)
    np.testing.assert_array_equal(compiled, reference)
    assert (compiled[..., 0] <= written[..., 0]).all() and (
        compiled[..., 1] >= written[..., 1]
    ).all()


def test_next_float_is_nextafter():
    from conformal._kernels.outward import _next_float

    rng = np.random.default_rng(0)
    edges = [0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1.7e308, -1.7e308, 2.2250738585072014e-308]
    values = list(rng.normal(size=500) * 10.0 ** rng.uniform(-300, 300, size=500)) + edges
    for x in values:
        for up in (True, False):
            want = np.nextafter(x, np.inf if up else -np.inf)
            assert _next_float(x, up) == want
