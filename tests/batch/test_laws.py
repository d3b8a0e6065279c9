"""Exact laws of batch predictive inference: published numbers, brute force, Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from conformal.batch import (
    batch_lower_rank,
    batch_mean_bound,
    batch_quantile_bound,
    batch_quantile_rank,
    batch_rank_law,
    batch_rank_sum_law,
    batch_simultaneous_rank,
    batch_simultaneous_threshold,
    bonferroni_rank,
    min_batch_calibration_size,
)
from conformal.calibration import conformal_rank
from conformal.exceptions import ConformalWarning

from ._reference import mean_bound_brute, rank_law_exact, rank_sum_exact


def test_published_pac_rank():
    """Lee, Tchetgen Tchetgen and Dobriban (2024), arXiv:2409.13990 (and the spec's check):
    n = 200, m = 100, delta = 0.1, a = 0.1 gives k* = 188 with exact probability 0.9020, while
    the per-point split-conformal rank 181 = ceil(0.9 * 201) reaches 0.5876 for the event
    "at least 90 of the 100 test points covered"."""
    k, p = batch_simultaneous_rank(200, 100, 0.9, delta=0.1)
    assert (k, round(p, 4)) == (188, 0.9020)
    assert conformal_rank(200, 0.9) == 181
    cdf = np.cumsum(batch_rank_law(200, 100, 90))
    assert round(cdf[181 - 1], 4) == 0.5876
    assert cdf[187 - 1] < 0.9 <= cdf[188 - 1]  # 188 is the smallest such rank
    assert batch_quantile_rank(200, 100, 90, 0.9) == (k, p)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 2), (4, 3), (5, 5), (7, 4), (2, 6)])
def test_rank_law_matches_enumeration(n, m):
    for zeta in range(1, m + 1):
        exact = np.array([float(p) for p in rank_law_exact(n, m, zeta)])
        np.testing.assert_allclose(batch_rank_law(n, m, zeta), exact, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("n", "m", "zeta"), [(200, 100, 90), (10**5, 10**3, 500), (50, 1, 1)])
def test_rank_law_sums_to_one(n, m, zeta):
    pmf = batch_rank_law(n, m, zeta)
    assert pmf.shape == (n + 1,)
    assert (pmf >= 0).all()
    assert abs(pmf.sum() - 1.0) < 1e-12


def test_rank_law_one_test_point_is_uniform():
    np.testing.assert_allclose(batch_rank_law(9, 1, 1), np.full(10, 0.1))


def _check_against_simulation(pmf: np.ndarray, draws: np.ndarray) -> None:
    """Every P(R_(zeta) <= k) within 3 standard errors of the simulated frequency."""
    reps = draws.shape[0]
    cdf = np.cumsum(pmf)
    freq = np.array([(draws <= k).mean() for k in range(1, pmf.shape[0] + 1)])
    se = np.sqrt(np.maximum(cdf * (1 - cdf), 1e-12) / reps)
    assert (np.abs(freq - cdf) <= 3 * se + 1e-9).mean() >= 0.99
    assert np.abs(freq - cdf).max() <= 4.5 * se.max()


def test_rank_law_matches_uniform_rank_simulation():
    """Sorted test ranks of n continuous calibration scores and m test scores (uniforms)."""
    n, m, zeta, reps = 30, 12, 9, 20000
    rng = np.random.default_rng(0)
    values = rng.random((reps, n + m))
    cal, test = values[:, :n], values[:, n:]
    ranks = 1 + (cal[:, np.newaxis, :] < test[:, :, np.newaxis]).sum(axis=2)
    draws = np.sort(ranks, axis=1)[:, zeta - 1]
    _check_against_simulation(batch_rank_law(n, m, zeta), draws)


def test_rank_law_matches_real_scores_with_ties_broken_at_random():
    """Real exchangeable scores (absolute residuals of wine quality, an integer target: many
    ties), calibration and batch drawn at random from the pool, ties broken at random."""
    from conformal.datasets import load_dataset

    _, y = load_dataset("wine_red")
    scores = np.abs(y - y.mean())  # a fixed function of the data: exchangeable scores
    assert np.unique(scores).size < 20  # heavily tied
    n, m, zeta, reps = 25, 10, 7, 20000
    rng = np.random.default_rng(1)
    draws = np.empty(reps, dtype=np.int64)
    for r in range(reps):
        pick = rng.choice(scores.shape[0], n + m, replace=False)
        s = scores[pick]
        noise = rng.random(n + m)  # random tie-breaking
        cal_s, cal_u, test_s, test_u = s[:n], noise[:n], s[n:], noise[n:]
        below = (cal_s[np.newaxis, :] < test_s[:, np.newaxis]) | (
            (cal_s[np.newaxis, :] == test_s[:, np.newaxis])
            & (cal_u[np.newaxis, :] < test_u[:, np.newaxis])
        )
        draws[r] = np.sort(1 + below.sum(axis=1))[zeta - 1]
    _check_against_simulation(batch_rank_law(n, m, zeta), draws)


@pytest.mark.parametrize("n", [1, 5, 9, 19, 20, 100, 999])
@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95])
def test_one_test_point_is_split_conformal(n, level):
    """m = 1 gives the package's split-conformal ranks (conformal_rank), both sides."""
    with pytest.warns(ConformalWarning) if conformal_rank(n, level) > n else _no_warning():
        assert batch_quantile_rank(n, 1, 1, level)[0] == min(conformal_rank(n, level), n + 1)
    assert batch_lower_rank(n, 1, 1, level, warn=False)[0] == conformal_rank(n, level, side="lower")


class _no_warning:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error", ConformalWarning)

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


def test_lower_rank_is_largest_valid():
    n, m, zeta, level = 200, 100, 50, 0.95
    rank, prob = batch_lower_rank(n, m, zeta, level)
    cdf = np.cumsum(batch_rank_law(n, m, zeta))
    assert prob == pytest.approx(1 - cdf[rank - 1])
    assert prob >= level > 1 - cdf[rank]


def test_two_sided_median_bounds():
    scores = np.arange(1.0, 401.0)
    lower, upper = batch_quantile_bound(scores, 50, 0.9, quantile=0.5, two_sided=True)
    lo_rank, _ = batch_lower_rank(400, 50, 25, 0.95)
    up_rank, _ = batch_quantile_rank(400, 50, 25, 0.95)
    assert (lower, upper) == (scores[lo_rank - 1], scores[up_rank - 1])
    assert lower < 200.5 < upper  # around the median of the calibration scores
    assert batch_quantile_bound(scores, 50, 0.9, quantile=0.5) < upper  # one side: a, not a/2


def test_min_calibration_size_is_the_threshold():
    for m, zeta, level in [(100, 100, 0.9), (100, 90, 0.9), (20, 10, 0.95), (7, 3, 0.8)]:
        needed = min_batch_calibration_size(m, zeta, level)
        assert batch_quantile_rank(needed, m, zeta, level, warn=False)[0] <= needed
        if needed > 0:
            assert batch_quantile_rank(needed - 1, m, zeta, level, warn=False)[0] == needed
        low = min_batch_calibration_size(m, zeta, level, side="lower")
        assert batch_lower_rank(low, m, zeta, level, warn=False)[0] >= 1
        assert batch_lower_rank(low - 1, m, zeta, level, warn=False)[0] == 0
    assert min_batch_calibration_size(100, 100, 0.9) == 900  # m / (n + m) <= 0.1


def test_simultaneous_beats_bonferroni():
    """All of m points at once: finite from n = 9 m (batch) but only from m / a - 1 (Bonferroni),
    and never a larger rank."""
    for n in [100, 500, 900, 1000, 2000, 5000]:
        k, _ = batch_simultaneous_rank(n, 100, 0.9, warn=False)
        assert k <= bonferroni_rank(n, 100, 0.9)
    assert batch_simultaneous_rank(900, 100, 0.9)[0] == 900
    assert bonferroni_rank(900, 100, 0.9) == 901


def test_too_few_points_warns_and_is_infinite():
    with pytest.warns(
        ConformalWarning,
        match=r"calibration set has 50 points; covering all of them in a batch of m=20 at "
        r"confidence_level=0.9 needs at least 180 \(or returns an infinite threshold\)",
    ):
        assert batch_simultaneous_threshold(np.arange(50.0), 20, 0.9) == np.inf
    with pytest.warns(
        ConformalWarning,
        match=r"bounding the 20-th smallest of m=20 test scores at confidence_level=0.9 needs "
        r"at least 180",
    ):
        assert batch_quantile_rank(50, 20, 20, 0.9) == (51, 1.0)
    with pytest.warns(ConformalWarning, match=r"a lower bound on the 1-th smallest .* -inf"):
        assert batch_lower_rank(5, 3, 1, 0.9)[0] == 0


# ---------------------------------------------------------------------- rank sum and mean


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 4), (3, 3), (5, 2), (6, 4), (4, 6), (8, 3)])
def test_rank_sum_law_matches_enumeration(n, m):
    exact = np.array([float(p) for p in rank_sum_exact(n, m)])
    np.testing.assert_allclose(batch_rank_sum_law(n, m), exact, rtol=1e-12, atol=1e-16)


def test_rank_sum_law_is_mann_whitney():
    """The rank sum minus m is the Mann-Whitney U of m test against n calibration points: its
    exact null law (scipy) agrees at sizes where enumeration is out of reach."""
    from scipy.stats import mannwhitneyu

    n, m = 40, 25
    pmf = batch_rank_sum_law(n, m)
    cdf = np.cumsum(pmf)
    rng = np.random.default_rng(0)
    for u in rng.integers(0, m * n, size=10):
        # U = #{(test, cal) pairs with cal < test}; P(U <= u) from scipy's exact test
        p = mannwhitneyu(*_samples_with_u(int(u), n, m), alternative="less", method="exact").pvalue
        assert p == pytest.approx(cdf[int(u)], rel=1e-9), u
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(pmf, pmf[::-1], rtol=1e-12)  # the law is symmetric


def _samples_with_u(u: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """A test sample of size m and a calibration sample of size n whose Mann-Whitney U
    (pairs with calibration < test) is exactly u."""
    counts = []  # number of calibration points below each test point, nondecreasing
    left = u
    for j in range(m):
        c = min(n, left) if j == m - 1 else min(n, left // (m - j))
        counts.append(c)
        left -= c
    counts = sorted(counts)
    assert sum(counts) == u
    cal = np.arange(n, dtype=float)
    test = np.array([c - 0.5 for c in counts])
    return test, cal


def test_rank_sum_law_large_is_accurate():
    """n = 1000, m = 100: the mean and variance of the Mann-Whitney law."""
    n, m = 1000, 100
    pmf = batch_rank_sum_law(n, m)
    s = np.arange(pmf.shape[0])
    mean = (pmf * s).sum()
    var = (pmf * (s - mean) ** 2).sum()
    assert mean == pytest.approx(m * n / 2, rel=1e-12)
    assert var == pytest.approx(m * n * (n + m + 1) / 12, rel=1e-9)


@pytest.mark.parametrize("seed", range(40))
def test_mean_bound_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 8)), int(rng.integers(1, 5))
    scores = np.round(rng.normal(size=n), 1)  # ties on purpose
    bound = float(scores.max() + rng.uniform(0, 2))
    level = float(rng.choice([0.5, 0.8, 0.9]))
    cdf = np.cumsum(batch_rank_sum_law(n, m))
    q = m + int(np.flatnonzero(cdf >= level - 1e-12)[0])
    values = np.append(np.sort(scores), bound)
    expected = mean_bound_brute(values, m, q) / m
    assert batch_mean_bound(scores, m, level, score_bound=bound) == pytest.approx(expected)


def test_mean_bound_single_point_is_split_conformal():
    """m = 1: the rank sum is the rank, the bound is the split-conformal threshold."""
    scores = np.arange(1.0, 20.0)
    assert batch_mean_bound(scores, 1, 0.9, score_bound=100.0) == 18.0  # ceil(0.9 * 20) = 18
    assert batch_mean_bound(scores[:5], 1, 0.9, score_bound=100.0) == 100.0  # rank n + 1: B


def test_mean_bound_shrinks_with_more_data():
    rng = np.random.default_rng(3)
    small = batch_mean_bound(rng.random(100), 20, 0.9, score_bound=1.0)
    large = batch_mean_bound(rng.random(600), 20, 0.9, score_bound=1.0)
    assert 0.5 < large < small <= 1.0
