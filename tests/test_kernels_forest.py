"""The grouped weighted-quantile kernel (forests, kNN) against its NumPy reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformal._kernels.forest import grouped_weighted_quantiles
from tests import _reference as ref

NO_SCALE = np.empty((0, 0))


def _random_problem(rng, n, n_groups, n_rows, width, ties=False, zeros=False):
    """Random groups of entries (ranks with weights), as a forest's leaf table would be."""
    values = rng.integers(0, 5, size=n).astype(float) if ties else rng.normal(size=n)
    sorted_values = np.sort(values)
    sizes = rng.integers(0, 6, size=n_groups)  # empty groups too
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    ranks = rng.integers(0, n, size=starts[-1]).astype(np.int64)  # a rank may repeat
    weights = rng.uniform(0.1, 1.0, size=starts[-1])
    if zeros:
        weights[rng.uniform(size=weights.shape) < 0.3] = 0.0
    groups = rng.integers(0, n_groups, size=(n_rows, width)).astype(np.int64)
    return groups, starts, ranks, weights, sorted_values


def _reference(groups, scale, starts, ranks, weights, sorted_values, levels):
    return np.array(
        [
            ref.grouped_quantiles_row(
                groups[j],
                None if scale.size == 0 else scale[j],
                starts,
                ranks,
                weights,
                sorted_values,
                levels,
            )
            for j in range(groups.shape[0])
        ]
    ).reshape(groups.shape[0], len(levels))


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("zeros", [False, True])
@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("n", [50, 3000])  # rows of up to ~35 entries: insertion or radix sort
def test_kernel_matches_reference(ties, zeros, scaled, n):
    rng = np.random.default_rng(int(ties) + 2 * int(zeros) + 4 * int(scaled) + n)
    groups, starts, ranks, weights, values = _random_problem(rng, n, 40, 300, 7, ties, zeros)
    scale = rng.uniform(0, 2, size=groups.shape) if scaled else NO_SCALE
    if scaled:
        scale[rng.uniform(size=scale.shape) < 0.2] = 0.0
    levels = np.sort(rng.uniform(0, 1, size=9))
    got = grouped_weighted_quantiles(groups, scale, starts, ranks, weights, values, levels)
    np.testing.assert_array_equal(
        got, _reference(groups, scale, starts, ranks, weights, values, levels)
    )


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 30),
    st.integers(0, 2**32 - 1),
    st.lists(st.floats(0.001, 0.999), min_size=1, max_size=6, unique=True),
)
def test_kernel_matches_reference_hypothesis(n, seed, levels):
    rng = np.random.default_rng(seed)
    groups, starts, ranks, weights, values = _random_problem(rng, n, 5, 4, 3)
    levels = np.sort(np.array(levels))
    if np.any(np.diff(levels) <= 1e-9):
        return
    got = grouped_weighted_quantiles(groups, NO_SCALE, starts, ranks, weights, values, levels)
    want = _reference(groups, NO_SCALE, starts, ranks, weights, values, levels)
    np.testing.assert_array_equal(got, want)


def test_rows_without_weight_are_nan_and_empty_inputs():
    starts = np.array([0, 0, 1], dtype=np.int64)  # group 0 empty, group 1 one entry
    ranks = np.array([0], dtype=np.int64)
    values = np.array([3.0])
    levels = np.array([0.1, 0.9])
    groups = np.array([[0], [1]], dtype=np.int64)
    got = grouped_weighted_quantiles(groups, NO_SCALE, starts, ranks, np.ones(1), values, levels)
    np.testing.assert_array_equal(got, [[np.nan, np.nan], [3.0, 3.0]])
    scale = np.zeros((2, 1))
    got = grouped_weighted_quantiles(groups, scale, starts, ranks, np.ones(1), values, levels)
    assert np.isnan(got).all()
    empty = grouped_weighted_quantiles(
        np.empty((0, 3), dtype=np.int64), NO_SCALE, starts, ranks, np.ones(1), values, levels
    )
    assert empty.shape == (0, 2)


def test_infinite_values_and_exact_steps():
    """+-inf targets are returned as they are; a level on a step (0.07 * 100) takes the step
    (the inverse CDF), where NumPy's float index 7.000000000000001 would take the next value."""
    values = np.concatenate(([-np.inf], np.arange(1.0, 99.0), [np.inf]))
    starts = np.arange(101, dtype=np.int64)
    groups = np.arange(100, dtype=np.int64)[None, :]
    levels = np.array([0.005, 0.07, 0.5, 0.995])
    got = grouped_weighted_quantiles(
        groups, NO_SCALE, starts, np.arange(100, dtype=np.int64), np.ones(100), values, levels
    )
    np.testing.assert_array_equal(got, [[-np.inf, 6.0, 49.0, np.inf]])
    assert np.quantile(values, 0.07, method="inverted_cdf") == 7.0


# ~100 entries a row, radix-sorted in 2 passes (n = 400, 5000) or 3 (n = 70000: odd)
@pytest.mark.parametrize("n", [400, 5000, 70000])
def test_large_gather_and_threads(n):
    rng = np.random.default_rng(5)
    groups, starts, ranks, weights, values = _random_problem(rng, n, 300, 1200, 40)
    levels = np.linspace(0.01, 0.99, 99)
    got = grouped_weighted_quantiles(groups, NO_SCALE, starts, ranks, weights, values, levels)
    want = _reference(groups[:50], NO_SCALE, starts, ranks, weights, values, levels)
    np.testing.assert_array_equal(got[:50], want)
    assert (np.diff(got, axis=1) >= 0).all()
