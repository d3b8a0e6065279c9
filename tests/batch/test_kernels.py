"""The batch kernels against their plain references (tests/batch/_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from conformal._kernels.batch import mean_bound_knapsack, rank_sum_law
from conformal.batch import batch_mean_bound, batch_rank_sum_law

from ._reference import mean_bound_dp


def _starts(values: np.ndarray) -> np.ndarray:
    keep = np.concatenate([[True], values[1:] > values[:-1]])
    return (np.flatnonzero(keep) + 1).astype(np.int64)


@pytest.mark.parametrize("seed", range(30))
def test_knapsack_matches_dp_as_written(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 40)), int(rng.integers(1, 12))
    scores = np.sort(rng.normal(size=n))
    if seed % 3 == 0:
        scores = np.round(scores)  # ties
    values = np.append(scores, scores[-1] + rng.uniform(0, 5))
    capacity = int(rng.integers(m, m * (n + 1) + 1))
    expected = mean_bound_dp(values, m, capacity)
    got = mean_bound_knapsack(values, _starts(values), m, capacity)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # every rank as a candidate gives the same answer as the tie-block starts
    every = np.arange(1, n + 2, dtype=np.int64)
    assert mean_bound_knapsack(values, every, m, capacity) == pytest.approx(got, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_knapsack_pruning_is_exact_at_realistic_sizes(seed):
    """The branch and bound against the full programme, at the rank-sum quantile, for score
    shapes whose concave envelope is far from the scores (heavy tails, steps, a large B)."""
    from conformal.batch import _rank_sum_quantile

    rng = np.random.default_rng(100 + seed)
    n, m = 120, 15
    shapes = [
        np.abs(rng.standard_cauchy(n)),
        np.round(rng.exponential(size=n), 1),
        rng.random(n) ** 4,
    ]
    scores = np.sort(shapes[seed % 3])
    values = np.append(scores, scores[-1] * (1 + 3 * rng.random()))
    capacity, _ = _rank_sum_quantile(n, m, [0.5, 0.9, 0.99][seed % 3])  # type: ignore[arg-type]
    expected = mean_bound_dp(values, m, capacity)
    got = mean_bound_knapsack(values, _starts(values), m, capacity)
    assert got == pytest.approx(expected, rel=1e-12)


def test_knapsack_edges():
    values = np.array([1.0, 2.0, 5.0])
    starts = np.arange(1, 4, dtype=np.int64)
    assert mean_bound_knapsack(values, starts, 3, 2) == -np.inf  # rank sum below m: none
    assert mean_bound_knapsack(values, starts, 3, 3) == 3.0  # only (1, 1, 1)
    assert mean_bound_knapsack(values, starts, 1, 3) == 5.0
    assert mean_bound_knapsack(np.array([7.0]), np.array([1], dtype=np.int64), 4, 4) == 28.0


def test_empty_calibration_set_gives_the_score_bound():
    assert batch_mean_bound([], 5, 0.9, score_bound=3.0) == 3.0
    assert batch_mean_bound([1.0], 1, 0.5, score_bound=3.0) == 1.0  # rank 1 of 2 at 0.5


@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 1), (1, 7), (13, 5), (30, 30)])
def test_rank_sum_kernel_sums_to_one_and_is_symmetric(n, m):
    law = rank_sum_law(n, m)
    assert law.shape == (m * n + 1,)
    assert law.sum() == pytest.approx(1.0, abs=1e-13)
    np.testing.assert_allclose(law, law[::-1], rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(batch_rank_sum_law(n, m), law)
    assert batch_rank_sum_law(0, m).tolist() == [1.0]
