"""RCPS upper confidence bounds and Learn-then-Test: closed forms, validity over seeded
repetitions (P(risk > alpha) <= delta), and every error message."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from conformal import ConformalWarning
from conformal.risk import (
    hoeffding_bentkus_pvalues,
    learn_then_test,
    rcps,
    risk_upper_confidence_bound,
)

GRID = np.linspace(0, 1, 101)


def miscoverage(scores, grid=GRID):
    return (scores[:, None] > grid[None, :]).astype(float)


def test_hoeffding_and_bernstein_closed_form():
    losses = np.tile([[1.0, 0.5], [0.0, 0.5]], (50, 1))
    h = risk_upper_confidence_bound(losses, 0.1, method="hoeffding")
    np.testing.assert_allclose(h, 0.5 + np.sqrt(np.log(10) / 200))
    b = risk_upper_confidence_bound(losses, 0.1, method="bernstein")
    var = 100 / 99 * 0.25
    expected0 = 0.5 + np.sqrt(2 * var * np.log(20) / 100) + 7 * np.log(20) / (3 * 99)
    np.testing.assert_allclose(b, [expected0, 0.5 + 7 * np.log(20) / (3 * 99)])
    # a loss bound B scales every bound
    np.testing.assert_allclose(
        risk_upper_confidence_bound(2 * losses, 0.1, method="hoeffding", bound=2.0), 2 * h
    )


def test_wsr_is_tighter_and_valid_bound_of_the_mean():
    rng = np.random.default_rng(0)
    losses = (rng.uniform(size=(500, 3)) < [0.05, 0.2, 0.5]).astype(float)
    w = risk_upper_confidence_bound(losses, 0.1, method="wsr")
    h = risk_upper_confidence_bound(losses, 0.1, method="hoeffding")
    assert (w >= losses.mean(axis=0)).all() and (w < h).all()
    assert risk_upper_confidence_bound(np.zeros((2000, 1)), 0.1)[0] < 0.01
    assert risk_upper_confidence_bound(np.ones((3, 1)), 0.1)[0] == 1.0


def test_hoeffding_bentkus_pvalue_closed_form():
    """p = min(exp(-n h(r, a)), e * BinomCDF(ceil(n r); n, a)) (Angelopoulos et al. 2021)."""
    losses = np.r_[np.ones(5), np.zeros(95)][:, None]
    r, a, n = 0.05, 0.2, 100
    h = r * np.log(r / a) + (1 - r) * np.log((1 - r) / (1 - a))
    expected = min(np.exp(-n * h), np.e * binom.cdf(5, n, a))
    np.testing.assert_allclose(hoeffding_bentkus_pvalues(losses, a), [expected])
    np.testing.assert_allclose(
        hoeffding_bentkus_pvalues(losses, a, binary=True), [min(np.exp(-n * h), binom.cdf(5, n, a))]
    )
    # risks above alpha: the Hoeffding term is 1
    assert hoeffding_bentkus_pvalues(np.ones((10, 1)), 0.2)[0] == 1.0


@pytest.mark.parametrize("method", ["hoeffding", "bernstein", "wsr"])
def test_rcps_validity(method):
    """P(R(lambda_hat) > alpha) <= delta over 150 seeded calibration draws, with the true risk
    known: uniform scores, miscoverage loss, R(lambda) = 1 - lambda. Tolerance: the binomial
    upper 3.5-sigma point of 150 draws at rate delta."""
    alpha, delta, n, reps = 0.1, 0.1, 300, 150
    fails = 0
    for seed in range(reps):
        scores = np.random.default_rng(seed).uniform(size=n)
        lam = rcps(miscoverage(scores), GRID, alpha, delta, method=method)
        fails += (1 - lam) > alpha + 1e-12
    assert fails / reps <= delta + 3.5 * np.sqrt(delta * (1 - delta) / reps)


@pytest.mark.parametrize("fwer", ["fixed_sequence", "bonferroni"])
def test_ltt_validity_family_wise(fwer):
    """P(some certified lambda has R(lambda) > alpha) <= delta, same design as RCPS, with a
    non-monotone loss too (the grid reversed on one half: LTT needs no monotonicity)."""
    alpha, delta, n, reps = 0.2, 0.1, 300, 150
    fails = 0
    true = 1 - GRID
    for seed in range(reps):
        scores = np.random.default_rng(seed).uniform(size=n)
        valid = learn_then_test(miscoverage(scores), alpha, delta, fwer=fwer)
        fails += bool((true[valid] > alpha + 1e-12).any())
    assert fails / reps <= delta + 3.5 * np.sqrt(delta * (1 - delta) / reps)
    # a non-monotone risk: Bonferroni still certifies only lambdas with a small risk
    rng = np.random.default_rng(9)
    bumps = (rng.uniform(size=(2000, 1)) < np.abs(np.sin(6 * GRID))[None, :]).astype(float)
    valid = learn_then_test(bumps, 0.2, 0.1, fwer="bonferroni")
    assert valid.any() and (np.abs(np.sin(6 * GRID))[valid] < 0.2).all()


def test_rcps_no_lambda_warns():
    with pytest.warns(ConformalWarning, match=r"upper confidence bound at the largest lambda"):
        assert rcps(np.ones((20, 2)) * [1.0, 0.5], [0.0, 1.0], 0.1, 0.1) == np.inf
    assert rcps(np.zeros((2000, 2)), [0.0, 1.0], 0.1, 0.1, method="hoeffding") == 0.0


def test_errors():
    ok = np.array([[1.0, 0.0], [0.5, 0.0]])
    with pytest.raises(ValueError, match=r"delta must be a float in the range \(0, 1\). Got 1.0"):
        rcps(ok, [0.0, 1.0], 0.1, 1.0)
    with pytest.raises(ValueError, match=r"delta must be a float in the range .* Got None"):
        learn_then_test(ok, 0.1, None)
    with pytest.raises(ValueError, match=r"method must be one of \('hoeffding'"):
        risk_upper_confidence_bound(ok, 0.1, method="bentkus")
    with pytest.raises(ValueError, match=r"bound must be positive for losses in"):
        risk_upper_confidence_bound(ok, 0.1, bound=-1.0)
    with pytest.raises(ValueError, match=r"losses must lie in \[0, bound\] .* = -0.5"):
        risk_upper_confidence_bound([[-0.5]], 0.1)
    with pytest.raises(ValueError, match=r"the Bernstein bound needs at least 2"):
        risk_upper_confidence_bound([[0.5]], 0.1, method="bernstein")
    with pytest.raises(ValueError, match=r"alpha=0.6 is not below bound=0.5"):
        hoeffding_bentkus_pvalues([[0.2]], 0.6, bound=0.5)
    with pytest.raises(ValueError, match=r"fwer must be one of \('fixed_sequence'"):
        learn_then_test(ok, 0.1, 0.1, fwer="holm")
    with pytest.raises(ValueError, match=r"alpha must be a float in the range \(0, 1\)"):
        learn_then_test(ok, 0.0, 0.1)
    with pytest.raises(ValueError, match=r"start must be 'last' or 'first'. Got 'middle'"):
        learn_then_test(ok, 0.1, 0.1, start="middle")
