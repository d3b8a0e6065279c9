"""Conformal predictive distributions: exact uniformity, a naive reference, crepes, intervals.

Definitions (Vovk, Shen, Manokhin, Xie 2019; split and cross forms: Vovk, Nouretdinov, Manokhin,
Gammerman 2018): with residuals ``r_i`` and
``C_i = c_{k(i)}(x) + s(x) r_i``, ``Q(y, tau) = (#{C_i < y} + tau (#{C_i = y} + 1)) / (n + 1)``.
The naive references below build the ``n_test x n`` matrix of ``C_i`` on purpose.
"""

from __future__ import annotations

import math
import pickle
import warnings
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import kstest
from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyRegressor
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor

from conformal import (
    ConformalPredictiveDistribution,
    ConformalWarning,
    SplitConformalRegressor,
    conformal_rank,
)
from conformal.metrics import crps
from conformal.regression._predictive import (
    PredictiveDistributionMixin,
    residual_scale,
    signed_residuals,
)
from conformal.scores import AbsoluteScore, CQRScore, NormalizedScore
from tests import _validity as v
from tests._outward import assert_outward_equal

# ---------------------------------------------------------------- naive references


def naive_support(residuals, fold_of, centers, scale):
    """(m, n) matrix of C_i = centers[j, fold_of[i]] + scale[j] * r_i."""
    c = np.asarray(centers, dtype=float).reshape(len(centers), -1)
    s = np.ones(len(c)) if scale is None else np.asarray(scale, dtype=float)
    return c[:, fold_of] + s[:, None] * np.asarray(residuals)[None, :]


def naive_cdf(residuals, fold_of, centers, scale, y, tau):
    matrix = naive_support(residuals, fold_of, centers, scale)
    out = np.empty(y.shape)
    for j in range(y.shape[0]):
        for g in range(y.shape[1]):
            below = np.sum(matrix[j] < y[j, g])
            ties = np.sum(matrix[j] == y[j, g])
            out[j, g] = (below + tau[j] * (ties + 1)) / (len(residuals) + 1)
    return out


def naive_quantile(values, p, upper):
    """The ceil(p(n+1))-th (upper) or floor(p(n+1))-th (lower) smallest, +-inf past the ends."""
    n = len(values)
    exact = Fraction(repr(p)) * (n + 1)
    rank = math.ceil(exact) if upper else math.floor(exact)
    padded = np.concatenate([[-np.inf], np.sort(values), [np.inf]])
    return padded[rank]


def integrated_crps(atoms, weights, y, points=400_001):
    """Midpoint-rule integral of (F(z) - 1{z >= y})^2 over a range that holds every jump."""
    lo = min(atoms.min(), y) - 1.0
    hi = max(atoms.max(), y) + 1.0
    step = (hi - lo) / points
    z = lo + step * (np.arange(points) + 0.5)
    order = np.argsort(atoms)
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    F = cumulative[np.searchsorted(atoms[order], z, side="right")]
    return float(np.sum((F - (z >= y)) ** 2) * step)


def integer_case(rng, n, n_folds, m):
    """Integer residuals and centres, so ties are frequent and the arithmetic is exact."""
    residuals = rng.integers(-4, 5, size=n).astype(float)
    fold_of = rng.integers(0, n_folds, size=n)
    centers = rng.integers(-3, 4, size=(m, n_folds)).astype(float)
    return residuals, fold_of, centers


# ---------------------------------------------------------------- (b) naive reference


@pytest.mark.parametrize("n_folds", [1, 3, 7])
@pytest.mark.parametrize("scaled", [False, True])
def test_cdf_equals_naive_reference_with_ties(n_folds, scaled):
    rng = np.random.default_rng(n_folds + 10 * scaled)
    n, m = 41, 13
    residuals, fold_of, centers = integer_case(rng, n, n_folds, m)
    scale = 2.0 ** rng.integers(-2, 3, size=m) if scaled else None  # exact products
    cpd = ConformalPredictiveDistribution(residuals, fold_of, n_folds=n_folds)
    grid = np.arange(-20.0, 21.0, 0.5)  # hits many C_i exactly
    tau = rng.random(m)
    shared = cpd.cdf(centers if n_folds > 1 else centers[:, 0], grid, tau=tau, scale=scale)
    expected = naive_cdf(residuals, fold_of, centers, scale, np.tile(grid, (m, 1)), tau)
    np.testing.assert_array_equal(shared, expected)
    per_point = rng.integers(-20, 21, size=(m, 9)).astype(float)
    np.testing.assert_array_equal(
        cpd.cdf(centers, per_point, tau=tau, scale=scale),
        naive_cdf(residuals, fold_of, centers, scale, per_point, tau),
    )
    for envelope in (0.0, 1.0):
        np.testing.assert_array_equal(
            cpd.cdf(centers, per_point, tau=envelope, scale=scale),
            naive_cdf(residuals, fold_of, centers, scale, per_point, np.full(m, envelope)),
        )


def test_cdf_equals_naive_reference_on_continuous_data():
    rng = np.random.default_rng(3)
    n, m, k = 200, 20, 5
    residuals = rng.standard_t(3, size=n)
    fold_of = np.arange(n) % k
    centers = rng.normal(size=(m, k))
    scale = rng.uniform(0.5, 2.0, size=m)
    y = rng.normal(scale=3.0, size=(m, 15))
    tau = rng.random(m)
    cpd = ConformalPredictiveDistribution(residuals, fold_of)
    np.testing.assert_allclose(
        cpd.cdf(centers, y, tau=tau, scale=scale),
        naive_cdf(residuals, fold_of, centers, scale, y, tau),
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize(
    ("n", "n_folds"),
    [(41, 1), (41, 4), (41, 41), (500, 3)],  # streamed kernel for (41, 4|41), union for (500, 3)
)
@pytest.mark.parametrize("side", ["central", "lower", "upper"])
def test_quantiles_equal_naive_order_statistics(n, n_folds, side):
    rng = np.random.default_rng(n_folds)
    m = 11
    residuals, fold_of, centers = integer_case(rng, n, n_folds, m)
    if n_folds == n:
        fold_of = rng.permutation(n)
    levels = [0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99]
    cpd = ConformalPredictiveDistribution(residuals, fold_of, n_folds=n_folds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)  # 0.01 and 0.99: infinite at n=41
        got = cpd.quantiles(centers, levels, side=side)
    support = naive_support(residuals, fold_of, centers, None)
    for j in range(m):
        for col, p in enumerate(levels):
            upper = side == "upper" or (side == "central" and p >= 0.5)
            assert got[j, col] == naive_quantile(support[j], p, upper), (j, p)


@pytest.mark.parametrize("n_folds", [1, 3])
def test_quantiles_with_scale_are_scaled_order_statistics(n_folds):
    rng = np.random.default_rng(5)
    n, m = 60, 8
    residuals = rng.normal(size=n)
    fold_of = rng.integers(0, n_folds, size=n)
    centers = rng.normal(size=(m, n_folds))
    scale = rng.uniform(0.2, 3.0, size=m)
    cpd = ConformalPredictiveDistribution(residuals, fold_of, n_folds=n_folds)
    got = cpd.quantiles(centers, [0.1, 0.5, 0.9], scale=scale)
    support = naive_support(residuals, fold_of, centers, scale)
    for j in range(m):
        expected = [naive_quantile(support[j], p, p >= 0.5) for p in (0.1, 0.5, 0.9)]
        np.testing.assert_allclose(got[j], expected, rtol=1e-13)


def test_quantiles_bracket_the_cdf():
    """The upper quantile is sup{y: Q(y, 0) < p}; the lower one inf{y: Q(y, 1) > p}."""
    rng = np.random.default_rng(8)
    residuals, fold_of, centers = integer_case(rng, 29, 3, 6)
    cpd = ConformalPredictiveDistribution(residuals, fold_of)
    for p in (0.1, 0.25, 0.5, 0.8):
        upper = cpd.quantiles(centers, p, side="upper")
        lower = cpd.quantiles(centers, p, side="lower")
        assert (cpd.cdf(centers, upper[:, None], tau=0.0)[:, 0] < p).all()
        assert (cpd.cdf(centers, upper[:, None] + 0.5, tau=0.0)[:, 0] >= p).all()
        assert (cpd.cdf(centers, lower[:, None], tau=1.0)[:, 0] > p).all()
        assert (cpd.cdf(centers, lower[:, None] - 0.5, tau=1.0)[:, 0] <= p).all()


@pytest.mark.parametrize("n_folds", [1, 3])
def test_pvalues_equal_their_formulas(n_folds):
    rng = np.random.default_rng(9)
    n, m = 35, 10
    residuals, fold_of, centers = integer_case(rng, n, n_folds, m)
    cpd = ConformalPredictiveDistribution(residuals, fold_of, n_folds=n_folds)
    y = rng.integers(-9, 10, size=m).astype(float)
    support = naive_support(residuals, fold_of, centers, None)
    at_or_above = (support >= y[:, None]).sum(axis=1)
    at_or_below = (support <= y[:, None]).sum(axis=1)
    upper = (1 + at_or_above) / (n + 1)
    lower = (1 + at_or_below) / (n + 1)
    np.testing.assert_array_equal(cpd.pvalues(centers, y, alternative="upper"), upper)
    np.testing.assert_array_equal(cpd.pvalues(centers, y, alternative="lower"), lower)
    np.testing.assert_array_equal(
        cpd.pvalues(centers, y), np.minimum(1.0, 2.0 * np.minimum(lower, upper))
    )
    tau = rng.random(m)
    q = naive_cdf(residuals, fold_of, centers, None, y[:, None], tau)[:, 0]
    np.testing.assert_allclose(cpd.pvalues(centers, y, alternative="lower", tau=tau), q)
    np.testing.assert_allclose(cpd.pvalues(centers, y, alternative="upper", tau=tau), 1 - q)
    np.testing.assert_allclose(cpd.pvalues(centers, y, tau=tau), 1 - np.abs(2 * q - 1))
    several = cpd.pvalues(centers, np.column_stack([y, y + 1]))
    assert several.shape == (m, 2)
    np.testing.assert_array_equal(several[:, 0], cpd.pvalues(centers, y))


@pytest.mark.parametrize("n_folds", [1, 4])
def test_support_is_the_sorted_naive_matrix(n_folds):
    rng = np.random.default_rng(11)
    residuals, fold_of, centers = integer_case(rng, 25, n_folds, 7)
    scale = 2.0 ** rng.integers(-1, 2, size=7)
    cpd = ConformalPredictiveDistribution(residuals, fold_of, n_folds=n_folds)
    np.testing.assert_array_equal(
        cpd.support(centers, scale=scale),
        np.sort(naive_support(residuals, fold_of, centers, scale), axis=1),
    )


def test_empty_fold_and_single_residual():
    cpd = ConformalPredictiveDistribution([1.0, 2.0], fold_of=[0, 2], n_folds=3)
    centers = np.array([[0.0, 100.0, 10.0]])  # fold 1 has no residuals
    np.testing.assert_array_equal(cpd.support(centers), [[1.0, 12.0]])
    np.testing.assert_array_equal(cpd.cdf(centers, [0.0, 5.0, 20.0], tau=0.0), [[0, 1 / 3, 2 / 3]])
    one = ConformalPredictiveDistribution([0.5])
    np.testing.assert_array_equal(one.cdf([1.0], [1.5], tau=1.0), [[1.0]])  # (1 + 1) / 2
    with pytest.warns(ConformalWarning, match="needs at least 9"):
        assert one.quantiles([1.0], 0.9)[0] == np.inf


# ---------------------------------------------------------------- (a) validity

KINDS = ("randomized", "lower", "upper")


@pytest.mark.slow
@pytest.mark.parametrize(
    "score",
    ["absolute", "gamma", NormalizedScore(KNeighborsRegressor(10), cv=None)],
    ids=["absolute", "gamma", "normalized"],
)
def test_randomized_cdf_at_the_true_target_is_exactly_uniform(score):
    """P(Q(Y, tau) <= t) = t exactly for split CPDs (calibration in probability, Vovk et al.).

    Each of the R = 1000 repetitions draws its own data (n = 10 calibration points, so a wrong
    denominator or tie rule would shift Q by about 1/(n + 1)), split and test point, so the R values
    are independent draws of Q(Y, tau). Tolerances: the KS test at level 1e-3, and at each of 9
    thresholds the empirical frequency within 4 binomial standard errors of t. The envelopes must
    bracket Q, with P(Q(Y, 0) <= t) >= t >= P(Q(Y, 1) <= t) up to the same tolerance.
    """
    repetitions = 1000
    shift = 10.0 if score == "gamma" else 0.0  # gamma needs predictions away from 0
    values = np.empty((repetitions, 3))
    for seed in range(repetitions):
        rng = np.random.default_rng(seed)
        x, y = v.draw(40, rng)
        x_test, y_test = v.draw(1, rng)
        model = SplitConformalRegressor(
            LinearRegression(),
            conformity_score=score,
            calibration_size=10,
            random_state=seed,
        ).fit(x, y + shift)
        grid = (y_test + shift)[:, None]
        values[seed] = [model.predict_cdf(x_test, grid, kind=k)[0, 0] for k in KINDS]
    randomized, lower, upper = values.T
    assert (lower <= randomized).all() and (randomized <= upper).all()
    assert kstest(randomized, "uniform").pvalue > 1e-3
    for t in np.linspace(0.1, 0.9, 9):
        tolerance = 4 * math.sqrt(t * (1 - t) / repetitions)
        assert abs(np.mean(randomized <= t) - t) <= tolerance, t
        assert np.mean(lower <= t) >= t - tolerance, t
        assert np.mean(upper <= t) <= t + tolerance, t


@pytest.mark.slow
def test_learner_free_cpd_is_exactly_uniform_with_ties():
    """Integer-valued (heavily tied) exchangeable scores: Q(Y, tau) is still exactly uniform,
    the randomization absorbing the ties. 4000 repetitions of n = 9; same tolerances."""
    rng = np.random.default_rng(0)
    repetitions = 4000
    draws = rng.integers(0, 4, size=(repetitions, 10)).astype(float)
    q = np.empty(repetitions)
    for i in range(repetitions):
        cpd = ConformalPredictiveDistribution(draws[i, :9])
        q[i] = cpd.cdf([0.0], [draws[i, 9]], tau=rng.random())[0, 0]
    assert kstest(q, "uniform").pvalue > 1e-3
    for t in np.linspace(0.1, 0.9, 9):
        assert abs(np.mean(q <= t) - t) <= 4 * math.sqrt(t * (1 - t) / repetitions)


# ---------------------------------------------------------------- (d) quantiles = intervals


@pytest.mark.parametrize("calibration_size", [9, 19, 20, 57, 150])
@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95])
def test_central_quantiles_are_the_signed_split_interval(calibration_size, level):
    """[q(a/2), q(1 - a/2)] of the split CPD is exactly SplitConformalRegressor's "signed"
    interval at level 1 - a (including its infinite edge cases), for any residual score's fit
    since all of them keep the same signed residuals y - f(x)."""
    x, y = v.draw(300, np.random.default_rng(1))
    x_test = np.linspace(0, 5, 25)[:, None]
    a = 1 - Fraction(repr(level))
    levels = [float(a / 2), float(1 - a / 2)]
    signed = SplitConformalRegressor(
        conformity_score="signed", calibration_size=calibration_size, random_state=0
    ).fit(x, y)
    absolute = SplitConformalRegressor(calibration_size=calibration_size, random_state=0).fit(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)
        interval = signed.predict_interval(x_test, level)
        assert_outward_equal(interval, signed.predict_quantiles(x_test, levels))
        assert_outward_equal(interval, absolute.predict_quantiles(x_test, levels))


def test_two_sided_pvalue_inverts_to_the_signed_interval():
    """{y: p(y) > a} is the "signed" interval: checked on integer data (exact, with ties)
    just inside and just outside each end."""
    rng = np.random.default_rng(2)
    X = np.zeros((39, 1))
    y = rng.integers(-6, 7, size=39).astype(float)
    model = FrozenEstimator(DummyRegressor(strategy="constant", constant=0.0).fit(X, y))
    for level in (0.5, 0.8, 0.9):
        fitted = SplitConformalRegressor(model, conformity_score="signed").fit(X, y)
        lower, upper = fitted.predict_interval(X[:1], level)[0]
        candidates = np.array([lower, upper, lower - 0.5, upper + 0.5])
        p = fitted.predict_pvalues(np.zeros((4, 1)), candidates)
        a = 1 - level
        assert (p[:2] > a).all() and (p[2:] <= a).all(), (level, p)


# ---------------------------------------------------------------- (c) crepes


@pytest.fixture(scope="module")
def crepes():
    """The peer library, skipped (for these tests only) when not installed."""
    return pytest.importorskip("crepes")


def _crepes_case(normalized):
    rng = np.random.default_rng(4)
    n, m = 99, 30
    residuals = rng.integers(-5, 6, size=n).astype(float)  # ties with integer y
    sigmas = 2.0 ** rng.integers(-1, 2, size=n) if normalized else None
    y_hat = rng.integers(-3, 4, size=m).astype(float)
    test_sigmas = 2.0 ** rng.integers(-1, 2, size=m) if normalized else None
    y = y_hat + rng.integers(-6, 7, size=m)
    return residuals, sigmas, y_hat, test_sigmas, y


@pytest.mark.parametrize("normalized", [False, True])
def test_crepes_pvalues_are_our_cdf_values(crepes, normalized):
    """crepes' smoothed p-value is Q(y, gamma) with gamma = np.random.rand after seeding the
    global generator; its unsmoothed one is Q(y, 1) = (#{C_i <= y} + 1) / (n + 1), i.e. our
    upper envelope (our alternative="lower" p-value). Same numbers, ties included."""
    residuals, sigmas, y_hat, test_sigmas, y = _crepes_case(normalized)
    cps = crepes.ConformalPredictiveSystem().fit(residuals, sigmas=sigmas)
    ours = ConformalPredictiveDistribution(residuals if sigmas is None else residuals / sigmas)
    gammas = np.random.RandomState(7).rand(len(y_hat))
    smoothed = cps.predict(y_hat, sigmas=test_sigmas, y=y, seed=7)
    np.testing.assert_allclose(
        ours.cdf(y_hat, y[:, None], tau=gammas, scale=test_sigmas)[:, 0], smoothed, rtol=1e-15
    )
    plain = cps.predict(y_hat, sigmas=test_sigmas, y=y, smoothing=False)
    np.testing.assert_array_equal(
        ours.pvalues(y_hat, y, alternative="lower", scale=test_sigmas), plain
    )
    _, cpds = cps.predict(y_hat, sigmas=test_sigmas, y=y, return_cpds=True)
    np.testing.assert_array_equal(ours.support(y_hat, scale=test_sigmas), cpds)


def test_crepes_percentiles_are_our_lower_and_upper_quantiles(crepes):
    """crepes' lower_percentiles are our side="lower" (rank floor(p (n + 1))), its
    higher_percentiles our side="upper" (rank ceil(p (n + 1))), and both give +-inf past the
    ends. The one difference: crepes computes p / 100 * (n + 1) in floating point, so at n = 99
    its higher percentile 7 takes rank ceil(7.000000000000001) = 8 and its lower percentile 29
    rank int(28.999999999999996) = 28, where the exact ranks (ours) are 7 and 29."""
    residuals, _, y_hat, _, _ = _crepes_case(False)
    residuals = residuals + np.linspace(0, 0.5, len(residuals))  # distinct order statistics
    cps = crepes.ConformalPredictiveSystem().fit(residuals)
    ours = ConformalPredictiveDistribution(residuals)
    agree = [2.5, 5.0, 10.0, 25.0, 50.0, 90.0, 95.0]
    levels = [p / 100 for p in agree]
    np.testing.assert_array_equal(
        cps.predict(y_hat, lower_percentiles=agree), ours.quantiles(y_hat, levels, side="lower")
    )
    np.testing.assert_array_equal(
        cps.predict(y_hat, higher_percentiles=agree),
        ours.quantiles(y_hat, levels, side="upper"),
    )
    order = np.sort(residuals)
    assert 0.07 * 100 > 7 and 0.29 * 100 < 29  # the floating-point products crepes forms
    np.testing.assert_array_equal(cps.predict(y_hat, higher_percentiles=7.0), y_hat + order[7])
    np.testing.assert_array_equal(ours.quantiles(y_hat, 0.07, side="upper"), y_hat + order[6])
    np.testing.assert_array_equal(cps.predict(y_hat, lower_percentiles=29.0), y_hat + order[27])
    np.testing.assert_array_equal(ours.quantiles(y_hat, 0.29, side="lower"), y_hat + order[28])
    with pytest.warns(UserWarning, match="too small"):
        edge = cps.predict(y_hat, lower_percentiles=0.5, higher_percentiles=99.5)
    with pytest.warns(ConformalWarning, match="needs at least"):
        np.testing.assert_array_equal(ours.quantiles(y_hat, [0.005, 0.995]), edge)
    assert np.isneginf(edge[:, 0]).all() and np.isposinf(edge[:, 1]).all()


def test_crepes_crps_is_our_crps(crepes):
    """crepes' evaluate(metrics=["CRPS"]) scores the empirical distribution of the C_i (mass
    1/n each), our convention, and agrees to rounding. Only without sigmas: with sigmas,
    crepes (0.9) multiplies the partial interval around y, already in y units, by sigma once
    more (get_crps: ``lower_errors[i] * (y - cpd[i]) * sigma``), so its normalized CRPS differs
    from the integral whenever sigma != 1 (shown below against numerical integration)."""
    rng = np.random.default_rng(6)
    residuals = rng.normal(size=80)
    y_hat = rng.normal(size=40)
    y = y_hat + rng.normal(scale=1.5, size=40)
    cps = crepes.ConformalPredictiveSystem().fit(residuals)
    theirs = cps.evaluate(y_hat, y, metrics=["CRPS"])["CRPS"]
    ours = ConformalPredictiveDistribution(residuals).crps(y_hat, y)
    assert ours.mean() == pytest.approx(theirs, rel=1e-12)
    sigma = np.full(1, 3.0)
    y_inside = y_hat[:1] + sigma * 0.3  # strictly between two atoms
    normalized = crepes.ConformalPredictiveSystem().fit(residuals, sigmas=np.ones(80))
    their_scaled = normalized.evaluate(y_hat[:1], y_inside, sigmas=sigma, metrics=["CRPS"])
    ours_scaled = ConformalPredictiveDistribution(residuals).crps(y_hat[:1], y_inside, scale=sigma)
    truth = integrated_crps(y_hat[0] + sigma[0] * residuals, np.full(80, 1 / 80), y_inside[0])
    assert ours_scaled[0] == pytest.approx(truth, abs=1e-4)
    assert abs(their_scaled["CRPS"] - truth) > 1e-3


# ---------------------------------------------------------------- (e) CRPS


@pytest.mark.parametrize("n_folds", [1, 3])
@pytest.mark.parametrize("scaled", [False, True])
def test_crps_equals_numerical_integration(n_folds, scaled):
    rng = np.random.default_rng(12)
    n, m = 15, 6
    residuals, fold_of, centers = integer_case(rng, n, n_folds, m)
    scale = rng.uniform(0.5, 2.0, size=m) if scaled else None
    cpd = ConformalPredictiveDistribution(residuals, fold_of, n_folds=n_folds)
    y = np.array([-30.0, -2.0, 0.0, 1.5, 3.0, 30.0])  # outside, on atoms, between atoms
    got = cpd.crps(centers, y, scale=scale)
    support = naive_support(residuals, fold_of, centers, scale)
    for j in range(m):
        truth = integrated_crps(support[j], np.full(n, 1 / n), y[j])
        assert got[j] == pytest.approx(truth, abs=2e-3)
        assert got[j] == pytest.approx(crps([y[j]], support[j : j + 1]), rel=1e-12, abs=1e-12)


def test_crps_of_one_residual_is_the_absolute_error():
    cpd = ConformalPredictiveDistribution([0.5])
    np.testing.assert_allclose(cpd.crps([1.0, 1.0], [0.0, 2.0]), [1.5, 0.5])


def test_crps_survives_a_large_offset():
    """Centring keeps digits: residuals far from 0 (a biased model) give the same CRPS as the
    same distribution near 0."""
    rng = np.random.default_rng(13)
    residuals = rng.normal(size=500)
    y = rng.normal(size=50)
    near = ConformalPredictiveDistribution(residuals).crps(np.zeros(50), y)
    far = ConformalPredictiveDistribution(residuals + 1e8).crps(np.full(50, -1e8), y)
    np.testing.assert_allclose(far, near, atol=1e-6)


# ---------------------------------------------------------------- estimator methods


@pytest.fixture(scope="module")
def fitted():
    x, y = v.draw(300, np.random.default_rng(0))
    return SplitConformalRegressor(random_state=3).fit(x, y), x


def test_estimator_methods_use_the_calibration_residuals(fitted):
    model, x = fitted
    X = x[:7]
    f = model.predict(X)
    cpd = ConformalPredictiveDistribution(model.signed_residuals_)
    residual = model.signed_residuals_
    assert residual.shape == model.conformity_scores_.shape
    np.testing.assert_allclose(np.abs(residual), model.conformity_scores_)
    grid = np.linspace(-3, 10, 11)
    np.testing.assert_array_equal(model.predict_cdf(X, grid, kind="upper"), cpd.cdf(f, grid, tau=1))
    np.testing.assert_array_equal(model.predict_cdf(X, grid, kind="lower"), cpd.cdf(f, grid, tau=0))
    np.testing.assert_array_equal(
        model.predict_quantiles(X, [0.2, 0.6]), cpd.quantiles(f, [0.2, 0.6])
    )
    assert model.predict_quantiles(X, 0.6).shape == (7,)
    assert model.predict_cdf(X, np.tile(grid, (7, 1))).shape == (7, 11)
    y = f + 0.3
    np.testing.assert_array_equal(model.predict_pvalues(X, y), cpd.pvalues(f, y))
    np.testing.assert_array_equal(model.crps(X, y), cpd.crps(f, y))


def test_normalized_and_gamma_scores_scale_the_residuals():
    x, y = v.draw(300, np.random.default_rng(1))
    y = y + 10.0
    X = x[:5]
    for score in ("normalized", "gamma"):
        model = SplitConformalRegressor(conformity_score=score, random_state=0).fit(x, y)
        f = model.predict(X)
        s = model._scale(X) if score == "normalized" else np.abs(f)
        cpd = ConformalPredictiveDistribution(model.signed_residuals_)
        np.testing.assert_array_equal(
            model.predict_quantiles(X, [0.05, 0.95]), cpd.quantiles(f, [0.05, 0.95], scale=s)
        )
        np.testing.assert_array_equal(
            model.predict_cdf(X, [9.0, 10.0], kind="lower"),
            cpd.cdf(f, [9.0, 10.0], tau=0.0, scale=s),
        )


def test_randomized_cdf_is_reproducible(fitted):
    model, x = fitted
    grid = np.linspace(0, 8, 5)
    first = model.predict_cdf(x[:20], grid)
    np.testing.assert_array_equal(first, model.predict_cdf(x[:20], grid))
    lower = model.predict_cdf(x[:20], grid, kind="lower")
    upper = model.predict_cdf(x[:20], grid, kind="upper")
    assert (lower <= first).all() and (first <= upper).all()
    assert (np.diff(first, axis=1) >= 0).all()  # one tau per point keeps the CDF monotone
    other = clone(model).set_params(random_state=4)
    other.fit(*v.draw(300, np.random.default_rng(0)))
    assert not np.array_equal(other.predict_cdf(x[:20], grid), first)
    generator = np.random.default_rng(5)
    state = generator.bit_generator.state
    seeded = (
        clone(model).set_params(random_state=generator).fit(*v.draw(300, np.random.default_rng(0)))
    )
    np.testing.assert_array_equal(seeded.predict_cdf(x[:3], grid), seeded.predict_cdf(x[:3], grid))
    assert generator.bit_generator.state == state


def test_randomized_pvalues_are_the_randomized_cdf(fitted):
    model, x = fitted
    y = model.predict(x[:10]) + 0.4
    q = model.predict_cdf(x[:10], y[:, None])[:, 0]
    np.testing.assert_allclose(
        model.predict_pvalues(x[:10], y, randomized=True), 1 - np.abs(2 * q - 1)
    )


def test_fit_keeps_its_intervals_and_pickles(fitted):
    model, x = fitted
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        restored.predict_cdf(x[:4], [1.0, 2.0]), model.predict_cdf(x[:4], [1.0, 2.0])
    )
    residuals = model.signed_residuals_
    assert model.conformity_scores_ == pytest.approx(np.abs(residuals))
    threshold = np.sort(np.abs(residuals))[conformal_rank(len(residuals), 0.9) - 1]
    assert_outward_equal(
        model.predict_interval(x[:4]),
        model.predict(x[:4])[:, None] + np.array([-1.0, 1.0]) * threshold,
    )


def test_residual_helpers():
    np.testing.assert_array_equal(
        signed_residuals(NormalizedScore(), [1.0, 4.0], [2.0, 2.0], [2.0, 4.0]), [-0.5, 0.5]
    )
    assert residual_scale(AbsoluteScore(), [1.0], None) is None


class _ToyCrossRegressor(PredictiveDistributionMixin, BaseEstimator):
    """The hook as a cross-conformal estimator implements it: K fold models, out-of-fold
    signed residuals with their folds, and centres yielded in two row blocks."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y, n_folds=3):
        self.fold_of_ = np.arange(len(y)) % n_folds
        self.estimators_ = []
        residuals = np.empty(len(y))
        for k in range(n_folds):
            out = self.fold_of_ == k
            model = LinearRegression().fit(X[~out], y[~out])
            residuals[out] = y[out] - model.predict(X[out])
            self.estimators_.append(model)
        self.predictive_distribution_ = ConformalPredictiveDistribution(residuals, self.fold_of_)
        self.signed_residuals_ = residuals
        return self

    def _check_features(self, X, *, reset):
        return np.asarray(X, dtype=float)

    def _predictive_distribution(self):
        return self.predictive_distribution_

    def _predictive_blocks(self, X):
        half = len(X) // 2
        for rows in (slice(0, half), slice(half, len(X))):
            yield rows, np.column_stack([m.predict(X[rows]) for m in self.estimators_]), None


def test_cross_hook_gives_the_naive_cross_cpd():
    x, y = v.draw(90, np.random.default_rng(7))
    model = _ToyCrossRegressor().fit(x, y)
    X = np.linspace(0, 5, 9)[:, None]
    centers = np.column_stack([m.predict(X) for m in model.estimators_])
    support = naive_support(model.signed_residuals_, model.fold_of_, centers, None)
    grid = np.linspace(-2, 9, 12)
    expected = naive_cdf(
        model.signed_residuals_, model.fold_of_, centers, None, np.tile(grid, (9, 1)), np.ones(9)
    )
    np.testing.assert_array_equal(model.predict_cdf(X, grid, kind="upper"), expected)
    quantiles = model.predict_quantiles(X, [0.1, 0.5, 0.9])
    for j in range(9):
        for col, p in enumerate((0.1, 0.5, 0.9)):
            assert quantiles[j, col] == naive_quantile(support[j], p, p >= 0.5)
    y_test = centers.mean(axis=1) + 0.25
    at_or_above = (support >= y_test[:, None]).sum(axis=1)
    np.testing.assert_array_equal(
        model.predict_pvalues(X, y_test, alternative="upper"), (1 + at_or_above) / 91
    )
    np.testing.assert_allclose(
        model.crps(X, y_test),
        [crps([y_test[j]], support[j : j + 1]) for j in range(9)],
        rtol=1e-12,
    )


# ---------------------------------------------------------------- (f) errors


def test_unfitted_raises(fitted):
    model = SplitConformalRegressor()
    for call in (
        lambda: model.predict_cdf([[1.0]], [0.0]),
        lambda: model.predict_quantiles([[1.0]], 0.5),
        lambda: model.predict_pvalues([[1.0]], [0.0]),
        lambda: model.crps([[1.0]], [0.0]),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


def test_cqr_and_custom_scores_are_not_residual_scores():
    with pytest.raises(ValueError, match="'cqr' is a CQR score, not a residual"):
        residual_scale(CQRScore(), [[0.0, 1.0]], None)

    class Custom(AbsoluteScore):
        name = "custom"

    x, y = v.draw(60, np.random.default_rng(0))
    model = SplitConformalRegressor(conformity_score=Custom(), random_state=0).fit(x, y)
    assert model.signed_residuals_ is None and model.predictive_distribution_ is None
    with pytest.raises(ValueError, match="need a residual score; Custom"):
        model.predict_cdf(x[:2], [0.0])


def test_groups_and_weights_are_refused():
    x, y = v.draw(80, np.random.default_rng(0))
    grouped = SplitConformalRegressor(groups=lambda X: X[:, 0] > 2, random_state=0).fit(x, y)
    with pytest.raises(ValueError, match="with groups are not supported yet"):
        grouped.predict_quantiles(x[:2], 0.5)
    weighted = SplitConformalRegressor(weights=np.ones(80), random_state=0).fit(x, y)
    with pytest.raises(ValueError, match="with weights are not supported yet"):
        weighted.predict_pvalues(x[:2], [0.0, 1.0])


@pytest.mark.parametrize(
    "levels", [0.0, 1.0, 1.5, -0.1, [0.5, 1.0], "high", "0.5", None, float("nan")]
)
def test_bad_levels(fitted, levels):
    model, x = fitted
    with pytest.raises(ValueError, match="'levels' parameter of predict_quantiles must be a float"):
        model.predict_quantiles(x[:2], levels)


def test_empty_levels_and_bad_side(fitted):
    model, x = fitted
    with pytest.raises(ValueError, match="is empty; pass at least one level"):
        model.predict_quantiles(x[:2], [])
    with pytest.raises(ValueError, match=r"side must be one of \['central', 'lower', 'upper'\]"):
        model.predict_quantiles(x[:2], 0.5, side="middle")


def test_bad_y_grid(fitted):
    model, x = fitted
    with pytest.raises(ValueError, match=r"y_grid must have shape \(n_grid,\) .* \(3, n_grid\)"):
        model.predict_cdf(x[:3], np.zeros((4, 2)))
    with pytest.raises(ValueError, match="y_grid must have shape"):
        model.predict_cdf(x[:3], 1.0)
    with pytest.raises(ValueError, match="y_grid contains NaN"):
        model.predict_cdf(x[:3], [0.0, np.nan])
    with pytest.raises(ValueError, match=r"kind must be one of \['lower', 'randomized', 'upper'\]"):
        model.predict_cdf(x[:3], [0.0], kind="smoothed")


def test_bad_pvalue_and_crps_inputs(fitted):
    model, x = fitted
    with pytest.raises(ValueError, match=r"y must have shape \(n_samples,\) = \(3,\)"):
        model.predict_pvalues(x[:3], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"alternative must be one of \['greater', 'less', 'two"):
        model.predict_pvalues(x[:3], [0.0, 1.0, 2.0], alternative="bigger")
    with pytest.raises(ValueError, match="y has 2 entries but X has 3 rows"):
        model.crps(x[:3], [0.0, 1.0])
    with pytest.raises(ValueError, match="y must hold 1 finite targets"):
        ConformalPredictiveDistribution([0.0]).crps([0.0], [np.inf])


def test_bad_construction_and_queries():
    with pytest.raises(ValueError, match="needs at least one calibration residual"):
        ConformalPredictiveDistribution([])
    with pytest.raises(ValueError, match="residuals must be finite"):
        ConformalPredictiveDistribution([0.0, np.nan])
    with pytest.raises(ValueError, match="fold_of must hold 2 integer fold indices"):
        ConformalPredictiveDistribution([0.0, 1.0], fold_of=[0.0, 1.0])
    with pytest.raises(ValueError, match=r"fold_of must lie in \[0, 2\)"):
        ConformalPredictiveDistribution([0.0, 1.0], fold_of=[0, 2], n_folds=2)
    cpd = ConformalPredictiveDistribution([0.0, 1.0], fold_of=[0, 1])
    with pytest.raises(ValueError, match=r"centers must have shape \(n_test, 2\)"):
        cpd.cdf([0.0, 1.0], [0.0], tau=0.5)
    with pytest.raises(ValueError, match="centers must be finite"):
        cpd.cdf([[0.0, np.nan]], [0.0], tau=0.5)
    with pytest.raises(ValueError, match=r"tau must be a number in \[0, 1\]"):
        cpd.cdf([[0.0, 1.0]], [0.0], tau=1.5)
    with pytest.raises(ValueError, match="scale must be positive and finite"):
        cpd.cdf([[0.0, 1.0]], [0.0], tau=0.5, scale=[0.0])
    with pytest.raises(ValueError, match="scale has 2 entries; expected 1"):
        cpd.quantiles([[0.0, 1.0]], 0.5, scale=[1.0, 1.0])
