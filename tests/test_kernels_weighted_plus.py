"""Weighted plus kernels (weighted jackknife+ / CV+) against the naive per-row loop: random inputs
with ties, zero and unit weights, +-inf scores, empty and length-1 folds, no scores at all, and the
"+inf when too little mass" edge."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformal._kernels.quantile import (
    shifted_order_statistics,
    union_order_statistics,
    weighted_shifted_quantiles,
    weighted_union_quantiles,
)
from tests import _reference as ref

RTOL = 1e-12


def _fold_blocks(scores, weights, fold_of, n_folds):
    """What a caller passes to the union kernel: scores sorted within folds, each fold's running
    weight sums (restarting at every fold), fold starts."""
    order = np.lexsort((scores, fold_of))
    starts = np.searchsorted(fold_of[order], np.arange(n_folds + 1)).astype(np.int64)
    sorted_weights = weights[order]
    cumulative = np.empty_like(sorted_weights)
    for k in range(n_folds):
        cumulative[starts[k] : starts[k + 1]] = np.cumsum(sorted_weights[starts[k] : starts[k + 1]])
    return np.ascontiguousarray(scores[order]), cumulative, starts


def _both(scores, weights, fold_of, centers, sign, test_weights, levels):
    n_folds = centers.shape[1]
    sorted_scores, cumulative, starts = _fold_blocks(scores, weights, fold_of, n_folds)
    union = weighted_union_quantiles(
        sorted_scores, cumulative, starts, centers, sign, test_weights, levels, RTOL
    )
    streamed = weighted_shifted_quantiles(
        centers, fold_of, scores, weights, sign, test_weights, levels, RTOL
    )
    return union, streamed


def _check(scores, weights, fold_of, centers, test_weights, levels):
    scores = np.asarray(scores, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    fold_of = np.asarray(fold_of, dtype=np.int64)
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    test_weights = np.asarray(test_weights, dtype=np.float64)
    levels = np.asarray(levels, dtype=np.float64)
    results = {}
    for sign in (1.0, -1.0):
        union, streamed = _both(scores, weights, fold_of, centers, sign, test_weights, levels)
        want = np.array(
            [
                [
                    ref.weighted_plus_quantile(scores, weights, fold_of, row, sign, tw, lv, RTOL)
                    for lv in levels
                ]
                for row, tw in zip(centers, test_weights, strict=True)
            ]
        ).reshape(centers.shape[0], levels.shape[0])
        np.testing.assert_array_equal(union, want)
        np.testing.assert_array_equal(streamed, want)
        results[sign] = want
    return results[1.0]


score_values = st.one_of(
    st.integers(-3, 3).map(float),  # ties
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([np.inf, -np.inf]),
)
# Multiples of 1/8 up to 4: every partial sum is exact, so every summation order agrees and the
# kernels must equal the reference exactly. Zero weights included.
dyadic_weights = st.integers(0, 32).map(lambda k: k / 8)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(score_values, st.integers(0, 5), dyadic_weights), max_size=50),
    st.integers(1, 6),
    st.lists(st.floats(-10, 10).map(lambda x: round(x, 1)), min_size=6, max_size=18),
    st.lists(dyadic_weights, min_size=3, max_size=3),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4),
)
def test_match_naive_loop(triples, n_folds, center_values, test_weights, levels):
    """Random scores with ties and +-inf, random (possibly empty) folds, zero weights, any level
    in [0, 1] (level 0: the smallest value; level 1 with a positive test weight: +inf)."""
    scores = [t[0] for t in triples]
    fold_of = [t[1] % n_folds for t in triples]
    weights = [t[2] for t in triples]
    m = len(center_values) // 6
    centers = np.array(center_values[: 6 * m], dtype=np.float64).reshape(m, 6)[:, :n_folds]
    _check(scores, weights, fold_of, centers, test_weights[:m], levels)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_unit_weights_equal_the_unweighted_kernels(n, n_folds, seed):
    """Unit weights, test weight 1, level ``(r - 1/2) / (n + 1)``: the weighted bound is the
    ``r``-th smallest value (``ceil(level (n + 1)) = r`` with no rounding doubt), ``+inf`` for
    ``r = n + 1``, exactly what the unweighted kernels return at rank ``r``."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(-3, 4, size=n).astype(np.float64) / 2  # ties
    fold_of = rng.integers(0, n_folds, size=n).astype(np.int64)
    centers = rng.integers(-2, 3, size=(7, n_folds)).astype(np.float64)
    ranks = np.arange(1, n + 2, dtype=np.int64)
    levels = (ranks - 0.5) / (n + 1)
    sorted_scores, _, starts = _fold_blocks(scores, np.ones(n), fold_of, n_folds)
    for sign in (1.0, -1.0):
        union, streamed = _both(scores, np.ones(n), fold_of, centers, sign, np.ones(7), levels)
        plain_union = union_order_statistics(sorted_scores, starts, centers, sign, ranks)
        plain_streamed = shifted_order_statistics(centers, fold_of, scores, sign, ranks)
        np.testing.assert_array_equal(plain_union, plain_streamed)
        np.testing.assert_array_equal(union, plain_union)
        np.testing.assert_array_equal(streamed, plain_union)


def test_unit_weights_at_the_package_levels():
    """``beta = 1 - a`` for the usual ``a``: the same ranks ``ceil((1 - a)(n + 1))`` as the
    unweighted kernels, the rtol slack absorbing ``0.9 * 10 = 9.000000000000002``."""
    rng = np.random.default_rng(5)
    for n in (9, 10, 19, 99, 1000):
        scores = rng.exponential(size=n)
        fold_of = (np.arange(n) % 5).astype(np.int64)
        centers = rng.normal(size=(6, 5))
        sorted_scores, _, starts = _fold_blocks(scores, np.ones(n), fold_of, 5)
        for num in range(1, 10):
            level = 1 - num / 10
            rank = np.array([ref.upper_rank(n, num, 10)], dtype=np.int64)
            union, streamed = _both(
                scores, np.ones(n), fold_of, centers, 1.0, np.ones(6), np.array([level])
            )
            plain = union_order_statistics(sorted_scores, starts, centers, 1.0, rank)
            np.testing.assert_array_equal(union, plain)
            np.testing.assert_array_equal(streamed, plain)


def test_too_little_mass_gives_inf():
    """The test point's own weight at +inf: once it holds more than ``1 - level`` of the mass, no
    calibration value reaches the level and the bound is +inf (-inf after mirroring)."""
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    fold_of = np.array([0, 1, 0, 1], dtype=np.int64)
    weights = np.ones(4)
    centers = np.zeros((3, 2))
    test_weights = np.array([0.0, 1.0, 4.0])
    levels = np.array([0.5, 0.8, 0.9])
    want = _check(scores, weights, fold_of, centers, test_weights, levels)
    # M = 4: 2, 4 (0.8 * 4 = 3.2), 4 (3.6); M = 5: 3 (2.5), 4, inf (4.5 > 4); M = 8: 4, inf, inf
    np.testing.assert_array_equal(
        want, [[2.0, 4.0, 4.0], [3.0, 4.0, np.inf], [4.0, np.inf, np.inf]]
    )


def test_all_weights_zero():
    scores = np.array([1.0, 2.0])
    fold_of = np.array([0, 1], dtype=np.int64)
    centers = np.zeros((2, 2))
    want = _check(scores, np.zeros(2), fold_of, centers, [0.0, 1.0], [0.0, 0.5])
    # No mass: level 0 (target 0) is met by the smallest value whatever the test weight; level
    # 0.5 is met only when there is no mass at all (target 0).
    np.testing.assert_array_equal(want, [[1.0, 1.0], [1.0, np.inf]])


def test_infinite_scores_and_centres():
    """+-inf scores (folds 0 and 1) and +-inf centres (fold 2, finite scores: no inf - inf)."""
    scores = np.array([np.inf, -np.inf, 0.5, 1.0, 1.0, 2.0])
    fold_of = np.array([0, 1, 2, 0, 1, 2], dtype=np.int64)
    weights = np.array([1.0, 0.5, 2.0, 0.0, 1.5, 0.25])
    centers = np.array([[0.0, 0.0, np.inf], [1.0, 0.0, -np.inf], [0.0, 0.0, 0.0]])
    _check(scores, weights, fold_of, centers, [1.0, 0.5, 0.0], np.linspace(0.0, 1.0, 11))


def test_empty_and_length_one_folds():
    scores = np.array([4.0, 1.0, 2.0, 2.0])
    fold_of = np.array([1, 3, 3, 4], dtype=np.int64)  # folds 0 and 2 empty, 1 and 4 singletons
    weights = np.array([0.5, 1.0, 0.25, 2.0])
    centers = np.array([[9.0, 0.5, 9.0, -1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    _check(scores, weights, fold_of, centers, [1.0, 0.0], np.linspace(0.0, 1.0, 9))


def test_single_point_and_no_points():
    _check([3.0], [2.0], [0], np.array([[1.0]]), [1.0], [0.0, 0.5, 0.66, 0.67, 1.0])
    centers = np.zeros((3, 2))
    out = _check([], [], [], centers, [1.0, 0.0, 2.0], [0.0, 0.5, 1.0])
    assert np.isposinf(out).all()


@pytest.mark.parametrize(
    ("n", "n_folds", "spread", "integer"),
    [
        (3000, 10, 1e-3, False),  # fold models that agree
        (3000, 10, 2.0, False),  # folds that disagree: many rounds
        (3000, 7, 0.0, True),  # integer scores, centres and weights: heavy ties at every pivot
        (2000, 41, 0.5, False),  # more folds than the insertion sort of the pivots handles
        (500, 500, 0.3, False),  # leave-one-out shape
    ],
)
def test_large_inputs_exercise_every_path(n, n_folds, spread, integer):
    """Continuous random weights (sums rounded differently by each kernel and by the reference,
    far from any target at this precision) and integer ones (exact)."""
    rng = np.random.default_rng(n + n_folds)
    scores = np.abs(rng.normal(size=n))
    centers = rng.normal(size=(40, 1)) + spread * rng.normal(size=(40, n_folds))
    weights = rng.exponential(size=n)
    if integer:
        scores = rng.integers(0, 3, size=n).astype(np.float64)
        centers = rng.integers(-1, 2, size=(40, n_folds)).astype(np.float64)
        weights = rng.integers(0, 4, size=n).astype(np.float64)
    fold_of = rng.permutation(np.arange(n) % n_folds).astype(np.int64)
    test_weights = rng.exponential(size=40) * (n / 50)
    _check(scores, weights, fold_of, centers, test_weights, [0.05, 0.5, 0.9, 0.99])


def test_adversarial_orders_for_the_streamed_selection():
    """Sorted, reversed and constant values: the selection's partitions degenerate, and the
    fallback (heapsort of the rest) still gives the exact answer."""
    n = 5000
    for values in (np.arange(n, dtype=np.float64), np.arange(n, 0, -1.0), np.full(n, 7.0)):
        fold_of = np.arange(n, dtype=np.int64)  # leave-one-out: centre 0 for every fold
        centers = np.zeros((2, n))
        weights = np.where(np.arange(n) % 3 == 0, 1.0, 0.5)
        _check(values, weights, fold_of, centers, [1.0, 100.0], [0.001, 0.3, 0.97])


def test_levels_are_independent():
    """Several levels at once give what each gives alone."""
    rng = np.random.default_rng(1)
    n = 800
    scores = rng.exponential(size=n)
    weights = rng.uniform(0.2, 2.0, size=n)
    fold_of = (np.arange(n) % 5).astype(np.int64)
    centers = rng.normal(size=(30, 5))
    test_weights = rng.uniform(0.5, 3.0, size=30)
    levels = np.array([0.9, 0.1, 0.5])
    together = _both(scores, weights, fold_of, centers, 1.0, test_weights, levels)
    for t in range(3):
        alone = _both(scores, weights, fold_of, centers, 1.0, test_weights, levels[t : t + 1])
        for a, b in zip(together, alone, strict=True):
            np.testing.assert_array_equal(a[:, t], b[:, 0])


def test_inputs_are_not_modified():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=300)
    weights = rng.uniform(size=300)
    fold_of = (np.arange(300) % 3).astype(np.int64)
    centers = rng.normal(size=(5, 3))
    sorted_scores, cumulative, _ = _fold_blocks(scores, weights, fold_of, 3)
    copies = [a.copy() for a in (scores, weights, centers, sorted_scores, cumulative)]
    _both(scores, weights, fold_of, centers, -1.0, np.ones(5), np.array([0.9]))
    for a, b in zip((scores, weights, centers, sorted_scores, cumulative), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_nan_centres_return_instead_of_hanging():
    """NaN is not supported (a model that predicts NaN), but the union kernels must still return:
    a NaN pivot makes no progress, and they stop there instead of looping."""
    rng = np.random.default_rng(4)
    n, n_folds = 2000, 4
    scores = np.abs(rng.normal(size=n))
    fold_of = (np.arange(n) % n_folds).astype(np.int64)
    sorted_scores, cumulative, starts = _fold_blocks(scores, np.ones(n), fold_of, n_folds)
    centers = np.full((3, n_folds), np.nan)
    centers[1, 0] = 0.0
    ranks = np.array([1, n // 2, n], dtype=np.int64)
    union_order_statistics(sorted_scores, starts, centers, 1.0, ranks)
    weighted_union_quantiles(
        sorted_scores, cumulative, starts, centers, 1.0, np.ones(3), np.array([0.5, 0.9]), RTOL
    )
    weighted_shifted_quantiles(
        centers, fold_of, scores, np.ones(n), 1.0, np.ones(3), np.array([0.5]), RTOL
    )


def test_infinite_test_weight_gives_inf():
    """An infinite test weight holds all the mass: the target is NaN (inf - inf) and the bound
    +inf, whatever the level."""
    scores = np.array([1.0, 2.0, 3.0])
    fold_of = np.array([0, 1, 0], dtype=np.int64)
    centers = np.zeros((1, 2))
    union, streamed = _both(
        scores, np.ones(3), fold_of, centers, 1.0, np.array([np.inf]), np.array([0.1, 0.9])
    )
    np.testing.assert_array_equal(union, [[np.inf, np.inf]])
    np.testing.assert_array_equal(streamed, [[np.inf, np.inf]])
