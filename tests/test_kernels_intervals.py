"""The interval-writing kernel against its NumPy reference."""

import numpy as np
import pytest

from conformal._kernels.intervals import fill_intervals
from tests import _reference


@pytest.mark.parametrize("per_row_q", [False, True])
@pytest.mark.parametrize("per_row_scale", [False, True])
def test_fill_intervals_matches_broadcasting(per_row_q, per_row_scale):
    rng = np.random.default_rng(3)
    n, n_levels = 57, 4
    lo = rng.normal(size=n)
    hi = lo + rng.exponential(size=n)
    rows = n if per_row_q else 1
    q_lo = rng.exponential(size=(rows, n_levels))
    q_hi = rng.exponential(size=(rows, n_levels))
    q_lo[0, 0], q_hi[-1, -1] = np.inf, -np.inf  # the too-small-calibration answers pass through
    scale = rng.uniform(0.5, 2.0, size=n if per_row_scale else 1)
    got = np.full((n, n_levels, 2), np.nan)
    fill_intervals(lo, hi, q_lo, q_hi, scale, got)
    expected = _reference.fill_intervals(lo, hi, q_lo, q_hi, scale)
    assert got.shape == (n, n_levels, 2)
    np.testing.assert_array_equal(got, expected)
    assert got[0, 0, 0] == -np.inf
