"""The Venn-ABERS isotonic kernel against refitting isotonic regression, exhaustively on small
inputs: every label sequence and every grouping of tied scores."""

import itertools

import numpy as np
import pytest

from conformal._kernels.venn_abers import upper_isotonic_values
from tests import _reference


def _kernel(counts, positives):
    num, den = upper_isotonic_values(
        np.asarray(counts, dtype=np.int64), np.asarray(positives, dtype=np.int64)
    )
    return num / den


def _compositions(n):
    """Every way of cutting n ordered points into consecutive groups of tied scores."""
    for cuts in itertools.product([False, True], repeat=n - 1):
        sizes, size = [], 1
        for cut in cuts:
            if cut:
                sizes.append(size)
                size = 0
            size += 1
        yield [*sizes, size]


@pytest.mark.parametrize("n", range(1, 6))
def test_every_labelling_and_grouping_of_up_to_five_points(n):
    for sizes in _compositions(n):
        for labels in itertools.product([0, 1], repeat=n):
            bounds = np.cumsum([0, *sizes])
            positives = [sum(labels[a:b]) for a, b in itertools.pairwise(bounds)]
            got = _kernel(sizes, positives)
            np.testing.assert_allclose(
                got, _reference.venn_abers_upper(sizes, positives), rtol=0, atol=1e-12
            )


def test_every_labelling_of_seven_distinct_scores():
    for labels in itertools.product([0, 1], repeat=7):
        got = _kernel([1] * 7, labels)
        np.testing.assert_allclose(got, _reference.venn_abers_upper([1] * 7, labels), atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_large_random_groups(seed):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 30, size=200)
    positives = rng.binomial(counts, np.linspace(0.05, 0.95, 200) ** (seed + 1) / 1.0)
    np.testing.assert_allclose(
        _kernel(counts, positives), _reference.venn_abers_upper(counts, positives), atol=1e-12
    )


def test_empty_and_single_group():
    assert _kernel([], []).shape == (0,)
    np.testing.assert_array_equal(_kernel([3], [1]), [2 / 4])
    np.testing.assert_array_equal(_kernel([1], [0]), [1 / 2])
    np.testing.assert_array_equal(_kernel([4], [4]), [1.0])


def test_answers_are_exact_fractions():
    """Integer coordinates: numerator / denominator is a pooled count, no rounding."""
    num, den = upper_isotonic_values(np.array([2, 1, 3], np.int64), np.array([1, 0, 3], np.int64))
    # Test point at group 0: pools {1, 0 | test 1} then group 1's 0: (1 + 1 + 0) / (2 + 1 + 1).
    assert (num[0], den[0]) == (2, 4)
    assert den.dtype == np.int64 and (den > 0).all()
