"""Kernels against their NumPy references: random inputs, ties, +-inf, empty and length-1 arrays."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformal._kernels.quantile import (
    grouped_order_statistics,
    order_statistics,
    partitioned_order_statistics,
    weighted_quantiles,
)
from tests import _reference as ref

finite = st.floats(-1e6, 1e6, allow_nan=False)
score_values = st.one_of(finite, st.sampled_from([0.0, 1.0, np.inf, -np.inf]))


@settings(max_examples=300, deadline=None)
@given(st.lists(score_values, min_size=0, max_size=60), st.lists(st.integers(-2, 65), max_size=5))
def test_order_statistics_match_sort(values, ranks):
    v = np.array(values, dtype=np.float64)
    r = np.array(ranks, dtype=np.int64)
    want = [ref.order_statistic(v, k) for k in r]
    np.testing.assert_array_equal(order_statistics(v, r), want)
    np.testing.assert_array_equal(partitioned_order_statistics(v, r), want)


def test_order_statistics_do_not_touch_input():
    v = np.array([3.0, 1.0, 2.0])
    order_statistics(v, np.array([1], dtype=np.int64))
    partitioned_order_statistics(v, np.array([1, 3], dtype=np.int64))
    np.testing.assert_array_equal(v, [3.0, 1.0, 2.0])


@pytest.mark.parametrize("n", [0, 1, 2, 17, 1000, 5001])
def test_order_statistics_heavy_ties_and_sizes(n):
    rng = np.random.default_rng(n)
    v = rng.integers(0, 4, size=n).astype(np.float64)  # many ties
    ranks = np.array([0, 1, n // 3, n // 2, n, n + 1], dtype=np.int64)
    want = [ref.order_statistic(v, k) for k in ranks]
    np.testing.assert_array_equal(order_statistics(v, ranks), want)
    np.testing.assert_array_equal(partitioned_order_statistics(v, ranks), want)


def test_order_statistics_sorted_and_reversed_inputs():
    """Adversarial orders for quickselect still give exact answers."""
    for v in (np.arange(10_000.0), np.arange(10_000.0)[::-1].copy(), np.full(10_000, 7.0)):
        ranks = np.array([1, 5000, 9000, 10_000], dtype=np.int64)
        np.testing.assert_array_equal(
            order_statistics(v, ranks), [ref.order_statistic(v, k) for k in ranks]
        )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(score_values, st.integers(0, 4)), min_size=0, max_size=80),
    st.integers(1, 9),
)
def test_grouped_order_statistics_match_reference(pairs, alpha_num):
    values = np.array([p[0] for p in pairs], dtype=np.float64)
    codes = np.array([p[1] for p in pairs], dtype=np.int64)
    n_groups = 5
    counts = np.bincount(codes, minlength=n_groups)
    ranks = np.array(
        [
            [ref.upper_rank(int(c), alpha_num, 10), ref.lower_rank(int(c), alpha_num, 10)]
            for c in counts
        ],
        dtype=np.int64,
    )
    got = grouped_order_statistics(values, codes, n_groups, ranks)
    for g in range(n_groups):
        v = values[codes == g]
        assert got[g, 0] == ref.order_statistic(v, ranks[g, 0])
        assert got[g, 1] == ref.order_statistic(v, ranks[g, 1])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(finite, st.floats(0, 10)), min_size=0, max_size=50),
    st.lists(st.floats(0, 20), min_size=1, max_size=5),
    st.lists(st.floats(0.01, 0.99), min_size=1, max_size=3),
)
def test_weighted_quantiles_match_loop(pairs, test_weights, levels):
    values = np.array([p[0] for p in pairs], dtype=np.float64)
    weights = np.array([p[1] for p in pairs], dtype=np.float64)
    order = np.argsort(values, kind="stable")
    got = weighted_quantiles(
        values[order], np.cumsum(weights[order]), np.array(test_weights), np.array(levels), 1e-12
    )
    for j, tw in enumerate(test_weights):
        for t, lv in enumerate(levels):
            assert got[j, t] == ref.weighted_quantile(values, weights, tw, lv)


def test_unit_weights_reproduce_order_statistic():
    """With unit weights the weighted quantile is exactly the ceil((1-a)(n+1))-th smallest."""
    rng = np.random.default_rng(3)
    for n in (9, 10, 19, 99, 1000):
        v = np.sort(rng.normal(size=n))
        for num in range(1, 10):
            level = 1 - num / 10
            got = weighted_quantiles(v, np.cumsum(np.ones(n)), np.ones(1), np.array([level]), 1e-12)
            assert got[0, 0] == ref.order_statistic(v, ref.upper_rank(n, num, 10))
