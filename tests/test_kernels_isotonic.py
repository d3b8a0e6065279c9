"""Row-wise rearrangement kernels against their references: scikit-learn's IsotonicRegression row
by row, Python's sorted; ties, sorted and reversed rows, +-inf, no rows, one column, threads."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conformal._kernels import _config
from conformal._kernels import isotonic as kernels
from tests import _reference as ref


def _ones(q):
    return np.ones(q, dtype=np.float64)


def _isotonic(values, weights=None):
    values = np.ascontiguousarray(values, dtype=np.float64)
    w = _ones(values.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    return kernels.isotonic_rows(values, w)


finite_rows = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 12), st.integers(1, 15)),
    elements=st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
        st.sampled_from([0.0, 1.0, -1.0]),  # ties
    ),
)


@settings(max_examples=200, deadline=None)
@given(finite_rows)
def test_isotonic_matches_sklearn_row_by_row(values):
    np.testing.assert_allclose(_isotonic(values), ref.isotonic_rows(values), rtol=1e-12, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(finite_rows, st.data())
def test_weighted_isotonic_matches_sklearn_row_by_row(values, data):
    weights = data.draw(
        hnp.arrays(np.float64, values.shape[1], elements=st.floats(0.01, 100.0)), label="weights"
    )
    np.testing.assert_allclose(
        _isotonic(values, weights), ref.isotonic_rows(values, weights), rtol=1e-10, atol=1e-9
    )


@pytest.mark.parametrize("q", [1, 2, 3, 7, 99, 250])
def test_isotonic_and_sort_on_random_matrices(q):
    rng = np.random.default_rng(q)
    base = np.sort(rng.normal(size=(300, q)), axis=1)
    crossed = base + rng.normal(scale=0.3, size=base.shape)
    np.testing.assert_allclose(
        _isotonic(crossed), ref.isotonic_rows(crossed), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(kernels.sort_rows(crossed), ref.sort_rows(crossed))


def test_isotonic_ties_and_plateaus():
    rows = np.array(
        [
            [1.0, 1.0, 1.0, 1.0],  # all tied: unchanged
            [2.0, 1.0, 1.0, 0.0],  # a decreasing run with ties inside: one block
            [0.0, 2.0, 2.0, 1.0],  # a tie, then a violation pooling the tie
            [3.0, 3.0, 0.0, 0.0],  # two tied blocks in the wrong order
        ]
    )
    want = np.array(
        [
            [1.0, 1.0, 1.0, 1.0],
            [1.0, 1.0, 1.0, 1.0],
            [0.0, 5 / 3, 5 / 3, 5 / 3],
            [1.5, 1.5, 1.5, 1.5],
        ]
    )
    np.testing.assert_allclose(_isotonic(rows), want, rtol=1e-15)
    np.testing.assert_allclose(ref.isotonic_rows(rows), want, rtol=1e-15)


def test_sorted_rows_come_back_bit_for_bit():
    """Equal neighbours are never pooled, so a sorted row, with ties and with values whose mean
    would round (0.1 + 0.2 + 0.3 ...), is returned exactly."""
    rng = np.random.default_rng(0)
    rows = np.sort(rng.normal(size=(50, 20)), axis=1)
    rows[:, 5:9] = rows[:, [5]]
    rows[0] = np.cumsum(np.full(20, 0.1))
    np.testing.assert_array_equal(_isotonic(rows), rows)
    np.testing.assert_array_equal(kernels.sort_rows(rows), rows)


def test_decreasing_rows_become_their_mean():
    rows = np.array([[5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 0.0, -1.0, -2.0, -3.0]])
    np.testing.assert_allclose(_isotonic(rows), [[3.0] * 5, [-1.0] * 5], rtol=1e-15)
    np.testing.assert_allclose(
        _isotonic(rows, [1.0, 1.0, 1.0, 1.0, 6.0]), [[2.0] * 5, [-2.0] * 5], rtol=1e-15
    )
    np.testing.assert_array_equal(kernels.sort_rows(rows), rows[:, ::-1])


def test_infinite_entries():
    """An infinite entry in sorted position stays; pooled with finite values it is the limit of a
    large finite value (the block is infinite); pooled with the opposite infinity it is NaN, which
    the public function turns into an error."""
    inf = np.inf
    rows = np.array(
        [
            [-inf, -1.0, 0.0, inf],  # sorted: unchanged
            [inf, 1.0, 2.0, 3.0],  # +inf first pools everything: +inf
            [0.0, 1.0, 2.0, -inf],  # -inf last pools everything: -inf
            [-inf, 2.0, 1.0, inf],  # the finite crossing pools alone
        ]
    )
    want = np.array(
        [
            [-inf, -1.0, 0.0, inf],
            [inf, inf, inf, inf],
            [-inf, -inf, -inf, -inf],
            [-inf, 1.5, 1.5, inf],
        ]
    )
    np.testing.assert_array_equal(_isotonic(rows), want)
    assert np.isnan(_isotonic(np.array([[inf, -inf]]))).all()
    np.testing.assert_array_equal(kernels.sort_rows(rows), ref.sort_rows(rows))


@pytest.mark.parametrize("shape", [(0, 5), (0, 0), (4, 0), (3, 1)])
def test_empty_and_single_column(shape):
    values = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)[:, ::-1].copy()
    iso = _isotonic(values)
    assert iso.shape == shape and iso.dtype == np.float64
    np.testing.assert_array_equal(iso, values)  # nothing to pool with 0 or 1 column
    np.testing.assert_array_equal(kernels.sort_rows(values), values)


def test_kernels_do_not_touch_input():
    values = np.array([[3.0, 1.0, 2.0]])
    kernels.isotonic_rows(values, _ones(3))
    kernels.sort_rows(values)
    np.testing.assert_array_equal(values, [[3.0, 1.0, 2.0]])


def test_threads_give_what_one_thread_gives(monkeypatch):
    """With a small work threshold, three threads split the rows; the result is the same."""
    rng = np.random.default_rng(1)
    values = rng.normal(size=(1001, 9))
    monkeypatch.setattr(kernels, "_ENTRIES", 9 * 10)
    monkeypatch.setattr(_config, "n_threads", lambda: 1)
    one = _isotonic(values)
    monkeypatch.setattr(_config, "n_threads", lambda: 3)
    three = _isotonic(values)
    np.testing.assert_array_equal(one, three)
    np.testing.assert_allclose(three, ref.isotonic_rows(values), rtol=1e-12, atol=1e-12)
