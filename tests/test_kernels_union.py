"""Cross-conformal kernels against the naive (n_test, n) matrix: random inputs, ties, +-inf,
empty and length-1 folds, ranks outside [1, n]."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformal._kernels.quantile import (
    _GATHER,
    _INSERTION,
    oob_medians,
    shifted_order_statistics,
    union_order_statistics,
)
from tests import _reference as ref


def _fold_blocks(scores, fold_of, n_folds):
    """What the estimators pass to the union kernel: scores sorted within folds, fold starts."""
    order = np.lexsort((scores, fold_of))
    starts = np.searchsorted(fold_of[order], np.arange(n_folds + 1)).astype(np.int64)
    return np.ascontiguousarray(scores[order]), starts


def _check(scores, fold_of, centers, ranks):
    n_folds = centers.shape[1]
    sorted_scores, starts = _fold_blocks(scores, fold_of, n_folds)
    ranks = np.asarray(ranks, dtype=np.int64)
    for sign in (1.0, -1.0):
        union = union_order_statistics(sorted_scores, starts, centers, sign, ranks)
        streamed = shifted_order_statistics(centers, fold_of, scores, sign, ranks)
        want = np.array(
            [
                [ref.plus_order_statistic(scores, fold_of, row, sign, r) for r in ranks]
                for row in centers
            ]
        ).reshape(centers.shape[0], len(ranks))
        np.testing.assert_array_equal(union, want)
        np.testing.assert_array_equal(streamed, want)


score_values = st.one_of(
    st.integers(-3, 3).map(float),  # ties
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([np.inf, -np.inf]),
)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(score_values, st.integers(0, 5)), max_size=50),
    st.integers(1, 6),
    st.lists(st.floats(-10, 10).map(lambda x: round(x, 1)), min_size=6, max_size=18),
)
def test_match_sorted_matrix_rows(pairs, n_folds, center_values):
    """Random scores with ties and +-inf, random (possibly empty) folds, every rank."""
    scores = np.array([p[0] for p in pairs], dtype=np.float64)
    fold_of = np.array([p[1] % n_folds for p in pairs], dtype=np.int64)
    m = len(center_values) // 6
    centers = np.array(center_values[: 6 * m], dtype=np.float64).reshape(m, 6)[:, :n_folds]
    n = len(scores)
    _check(scores, fold_of, np.ascontiguousarray(centers), range(-1, n + 3))


def test_infinite_centers_with_finite_scores():
    scores = np.array([0.5, 1.0, 1.0, 2.0, 3.0])
    fold_of = np.array([0, 1, 2, 0, 1], dtype=np.int64)
    centers = np.array([[np.inf, 0.0, -np.inf], [0.0, 0.0, 0.0], [-np.inf, -np.inf, 1.0]])
    _check(scores, fold_of, centers, range(0, 7))


def test_empty_and_length_one_folds():
    scores = np.array([4.0, 1.0, 2.0, 2.0])
    fold_of = np.array([1, 3, 3, 4], dtype=np.int64)  # folds 0 and 2 are empty, 1 and 4 singletons
    centers = np.array([[9.0, 0.5, 9.0, -1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    _check(scores, fold_of, centers, range(0, 6))


def test_no_scores_at_all():
    centers = np.zeros((3, 2))
    _check(np.empty(0), np.empty(0, dtype=np.int64), centers, [0, 1, 2])


@pytest.mark.parametrize(
    ("n", "n_folds", "spread", "integer"),
    [
        (3000, 10, 1e-3, False),  # fold models that agree: a narrow bracket
        (3000, 10, 2.0, False),  # folds that disagree: many selection rounds
        (3000, 7, 0.0, True),  # integer scores and centres: heavy ties at every pivot
        (2000, _INSERTION + 9, 0.5, False),  # more folds than the insertion sort handles
        (500, 500, 0.3, False),  # leave-one-out shape through the union kernel
    ],
)
def test_large_inputs_exercise_every_path(n, n_folds, spread, integer):
    rng = np.random.default_rng(n + n_folds)
    scores = np.abs(rng.normal(size=n))
    centers = rng.normal(size=(40, 1)) + spread * rng.normal(size=(40, n_folds))
    if integer:
        scores = rng.integers(0, 3, size=n).astype(np.float64)
        centers = rng.integers(-1, 2, size=(40, n_folds)).astype(np.float64)
    fold_of = rng.permutation(np.arange(n) % n_folds).astype(np.int64)
    assert n > _GATHER
    _check(scores, fold_of, np.ascontiguousarray(centers), [1, 2, n // 10, n // 2, n - 3, n])


def test_several_levels_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(1)
    scores = rng.exponential(size=800)
    fold_of = (np.arange(800) % 5).astype(np.int64)
    sorted_scores, starts = _fold_blocks(scores, fold_of, 5)
    centers = rng.normal(size=(30, 5))
    ranks = np.array([720, 80, 400], dtype=np.int64)
    together = union_order_statistics(sorted_scores, starts, centers, 1.0, ranks)
    for t, r in enumerate(ranks):
        alone = union_order_statistics(sorted_scores, starts, centers, 1.0, ranks[t : t + 1])
        np.testing.assert_array_equal(together[:, t], alone[:, 0])
        assert r > 0


def test_inputs_are_not_modified():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=300)
    fold_of = (np.arange(300) % 3).astype(np.int64)
    centers = rng.normal(size=(5, 3))
    copies = scores.copy(), centers.copy()
    shifted_order_statistics(centers, fold_of, scores, -1.0, np.array([10], dtype=np.int64))
    np.testing.assert_array_equal(scores, copies[0])
    np.testing.assert_array_equal(centers, copies[1])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 9), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_oob_medians_match_numpy(n_models, n, seed):
    rng = np.random.default_rng(seed)
    predictions = rng.integers(-3, 4, size=(4, n_models)).astype(np.float64) / 3
    oob = rng.random((n, n_models)) < 0.4
    oob[np.arange(n), rng.integers(0, n_models, size=n)] = True  # at least one model per point
    got = oob_medians(predictions, oob)
    for j in range(predictions.shape[0]):
        for i in range(n):
            assert got[j, i] == ref.oob_median(predictions[j], oob[i])
    masked = np.where(oob[np.newaxis], predictions[:, np.newaxis, :], np.nan)
    np.testing.assert_array_equal(got, np.nanmedian(masked, axis=2))
