"""Conformal risk control, learner-free: exactness against split conformal prediction and by
hand, weighted = unweighted with unit weights, streaming = batch, validity over seeded
repetitions, and every error message."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from conformal import ConformalWarning
from conformal.calibration import conformal_quantile, conformal_rank
from conformal.risk import (
    StreamingRiskControl,
    conformal_risk_control,
    conformal_risk_control_steps,
)

Z = 3.5  # tolerance in standard errors of a Monte Carlo mean


def miscoverage(scores: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return (scores[:, None] > grid[None, :]).astype(float)


# ------------------------------------------------------------------ exactness


@pytest.mark.parametrize("n", [1, 5, 9, 19, 50, 99, 1000])
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2, 0.5])
def test_miscoverage_reproduces_split_conformal(n, alpha):
    """CRC with the loss 1{s > lambda} is the ceil((1-a)(n+1))-th smallest score (+inf when
    that exceeds n): the steps form, and the dense form on the grid of the sorted scores."""
    scores = np.random.default_rng(n).exponential(size=n)
    k = conformal_rank(n, 1 - alpha) if math.ceil((1 - alpha) * (n + 1) - 1e-9) <= n else n + 1
    expected = np.sort(scores)[k - 1] if k <= n else np.inf
    split = float(conformal_quantile(scores, 1 - alpha)) if k <= n else np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)
        steps = conformal_risk_control_steps(scores, alpha)
        grid = np.sort(scores)
        dense = conformal_risk_control(miscoverage(scores, grid), grid, alpha)
    assert steps == expected == dense == split


@pytest.mark.parametrize("rho", [0.9, 0.99])
def test_weighted_miscoverage_is_nexcp(rho):
    """With fixed weights, CRC on the miscoverage loss is the weighted split-conformal (nexCP)
    threshold of Barber et al. (2023)."""
    rng = np.random.default_rng(1)
    for n in (30, 200, 1000):
        scores = rng.normal(size=n) ** 2
        w = rho ** np.arange(n, 0, -1)
        for alpha in (0.12, 0.2):  # 0.1 with rho = 0.9 is the knife edge N + 1 = 10
            expected = float(conformal_quantile(scores, 1 - alpha, weights=w))
            got = conformal_risk_control_steps(scores, alpha, weights=w)
            assert got == expected


def test_unit_weights_equal_unweighted():
    rng = np.random.default_rng(2)
    proba = rng.uniform(size=(300, 6))
    y = rng.uniform(size=(300, 6)) < proba
    grid = np.linspace(0, 1, 51)
    losses = fnr_losses(proba, y, grid)
    for alpha in (0.05, 0.1, 0.3):
        plain = conformal_risk_control(losses, grid, alpha)
        assert conformal_risk_control(losses, grid, alpha, weights=np.ones(300)) == plain
        # weights above 1 are divided by their max: constant weights 3 are unit weights
        assert conformal_risk_control(losses, grid, alpha, weights=np.full(300, 3.0)) == plain
        points, drops = fnr_steps(proba, y)
        assert conformal_risk_control_steps(points, alpha, drops=drops, lambdas=grid) == plain
        exact = conformal_risk_control_steps(points, alpha, drops=drops)
        assert (
            conformal_risk_control_steps(points, alpha, drops=drops, weights=np.ones(300)) == exact
        )
        assert exact <= plain


def test_closed_form_by_hand():
    """Three points, losses on a grid of 4, B = 1, alpha = 0.3: sums S = (3, 2, 0.5, 0);
    (S + 1)/4 = (1, 0.75, 0.375, 0.25), so lambda_hat = 3 (the first at most 0.3); with
    alpha = 0.4, lambda_hat = 2. Weights (1, 1, 0.5): N = 2.5, S = (2.5, 1.5, 0.5, 0) for
    losses below; (S + 1)/3.5 = (1, 0.714, 0.429, 0.286): 0.3 gives 3, 0.45 gives 2."""
    losses = np.array([[1.0, 1.0, 0.5, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    assert conformal_risk_control(losses, grid, 0.3) == 3.0
    assert conformal_risk_control(losses, grid, 0.4) == 2.0
    w = np.array([1.0, 1.0, 0.5])
    assert conformal_risk_control(losses, grid, 0.3, weights=w) == 3.0
    assert conformal_risk_control(losses, grid, 0.45, weights=w) == 2.0
    # exact boundary: (S + B) / (N + 1) == alpha qualifies (<=): (0.5 + 1) / 4 = 0.375
    assert conformal_risk_control(losses, grid, 0.375) == 2.0
    # a test point of weight 3 (likelihood ratio): (S + 3) / 6 <= 0.3 needs S <= -1.2: none
    with pytest.warns(ConformalWarning, match=r"no lambda on the grid meets"):
        out = conformal_risk_control(losses, grid, 0.3, test_weights=[1.0, 3.0])
    assert out[0] == 3.0 and out[1] == np.inf


def test_steps_equal_dense_on_grid_and_exact_infimum():
    rng = np.random.default_rng(3)
    proba = rng.uniform(size=(200, 5))
    y = rng.uniform(size=(200, 5)) < 0.5
    points, drops = fnr_steps(proba, y)
    w = rng.uniform(size=200)
    exact = conformal_risk_control_steps(points, 0.15, drops=drops, weights=w)
    # the exact answer is a breakpoint, and a grid holding it gives it back
    assert exact in points
    grid = np.unique(np.r_[points[np.isfinite(points)], 0.0, 1.0])
    dense = conformal_risk_control(fnr_losses(proba, y, grid), grid, 0.15, weights=w)
    assert dense == exact
    # the grid path (bisection over the grid) gives the dense answer on any grid
    for coarse in (np.linspace(0, 1, 7), np.linspace(0.2, 0.9, 101)):
        want = conformal_risk_control(fnr_losses(proba, y, coarse), coarse, 0.15, weights=w)
        got = conformal_risk_control_steps(points, 0.15, drops=drops, weights=w, lambdas=coarse)
        assert got == want


def test_all_qualify_and_none_qualifies():
    scores = np.zeros(0)
    assert conformal_risk_control_steps(np.full(50, np.inf), 0.1, drops=0.0) == -np.inf
    grid = np.array([0.0, 1.0])
    assert conformal_risk_control(np.zeros((50, 2)), grid, 0.1) == 0.0
    with pytest.warns(ConformalWarning, match=r"needs N >= B / alpha - 1 = 9"):
        assert conformal_risk_control(np.zeros((5, 2)), grid, 0.1) == np.inf
    with pytest.warns(ConformalWarning, match=r"no lambda meets"):
        assert conformal_risk_control_steps(np.arange(5.0), 0.1) == np.inf
    with pytest.warns(ConformalWarning, match=r"on the grid"):
        assert conformal_risk_control_steps(np.arange(50.0), 0.1, lambdas=[1.0, 2.0]) == np.inf
    assert scores.size == 0


def test_streaming_equals_batch():
    rng = np.random.default_rng(4)
    grid = np.linspace(0, 2, 41)
    stream = StreamingRiskControl(grid, 0.2, rho=0.95)
    rows = []
    for t in range(1, 301):
        row = miscoverage(rng.uniform(size=1) * (1 + t / 300), grid)[0]
        rows.append(row)
        stream.update(row)
        if t % 37 == 0 or t == 300:
            w = 0.95 ** np.arange(t, 0, -1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConformalWarning)
                batch = conformal_risk_control(np.array(rows), grid, 0.2, weights=w)
            assert stream.lambda_ == batch
    np.testing.assert_allclose(stream.total_weight_, (0.95 - 0.95**301) / 0.05)
    # several rows at once, and rho = 1 is unweighted CRC
    flat = StreamingRiskControl(grid, 0.2, rho=1.0).update(np.array(rows))
    assert flat.n_updates_ == 300
    assert flat.lambda_ == conformal_risk_control(np.array(rows), grid, 0.2)


# ------------------------------------------------------------------ validity


def fnr_losses(proba, y, grid):
    size = y.sum(axis=1)
    found = (proba[:, :, None] >= 1 - grid[None, None, :]) & y[:, :, None]
    return np.where(size[:, None] > 0, 1 - found.sum(axis=1) / np.maximum(size, 1)[:, None], 0)


def fnr_steps(proba, y):
    size = y.sum(axis=1)
    points = np.where(y, 1 - proba, np.inf)
    drops = np.where(y, 1 / np.maximum(size, 1)[:, None], 0.0)
    return points, drops


def test_crc_validity_exchangeable():
    """E[FNR_test(lambda_hat)] lies in [alpha - 2/(n+1), alpha] (Angelopoulos et al. 2022,
    Theorems 1-2, continuous losses) up to Z Monte Carlo standard errors; the expected loss at
    lambda is computed on a large fixed test sample (its noise is far below the tolerance)."""
    n, alpha, reps = 100, 0.2, 400
    rng = np.random.default_rng(5)

    def draw(m):
        proba = rng.uniform(size=(m, 8))
        return proba, rng.uniform(size=(m, 8)) < proba

    test_p, test_y = draw(20000)
    grid = np.linspace(0, 1, 401)
    curve = fnr_losses(test_p, test_y, grid).mean(axis=0)
    risks = np.empty(reps)
    for r in range(reps):
        points, drops = fnr_steps(*draw(n))
        lam = conformal_risk_control_steps(points, alpha, drops=drops, lambdas=grid)
        risks[r] = curve[np.searchsorted(grid, lam)]
    se = risks.std(ddof=1) / np.sqrt(reps)
    assert alpha - 2 / (n + 1) - Z * se <= risks.mean() <= alpha + Z * se


# ------------------------------------------------------------------ errors


def test_errors():
    grid = np.array([0.0, 1.0])
    ok = np.array([[1.0, 0.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"alpha must be a float in the range \(0, 1\). Got 1.5"):
        conformal_risk_control(ok, grid, 1.5)
    with pytest.raises(ValueError, match=r"alpha must be a float in the range .* Got 'a'"):
        conformal_risk_control(ok, grid, "a")
    with pytest.raises(ValueError, match=r"bound must be a finite number. Got 'x'"):
        conformal_risk_control(ok, grid, 0.1, bound="x")
    with pytest.raises(ValueError, match=r"bound must be a finite number .* Got inf"):
        conformal_risk_control(ok, grid, 0.1, bound=np.inf)
    with pytest.raises(ValueError, match=r"losses must be a 2-D array"):
        conformal_risk_control(np.ones(3), grid, 0.1)
    with pytest.raises(ValueError, match=r"losses must be finite \(no NaN, no \+-inf\)"):
        conformal_risk_control([[np.nan, 0.0]], grid, 0.1)
    with pytest.raises(ValueError, match=r"at most bound=1.0; losses\[0, 0\] = 2.0"):
        conformal_risk_control([[2.0, 0.0]], grid, 0.1)
    with pytest.raises(ValueError, match=r"non-increasing in lambda .* losses\[1, 0\] = 0.0 <"):
        conformal_risk_control([[1.0, 0.0], [0.0, 1.0]], grid, 0.1)
    with pytest.raises(ValueError, match=r"lambdas must be a non-empty 1-D array"):
        conformal_risk_control(ok, [], 0.1)
    with pytest.raises(ValueError, match=r"lambdas has 3 entries but losses has 2 columns"):
        conformal_risk_control(ok, [0.0, 1.0, 2.0], 0.1)
    with pytest.raises(ValueError, match=r"lambdas must be finite"):
        conformal_risk_control(ok, [0.0, np.inf], 0.1)
    with pytest.raises(ValueError, match=r"strictly increasing order; lambdas\[0\] = 1.0"):
        conformal_risk_control(ok, [1.0, 0.0], 0.1)
    with pytest.raises(ValueError, match=r"weights has 3 entries; expected 2"):
        conformal_risk_control(ok, grid, 0.1, weights=np.ones(3))
    with pytest.raises(ValueError, match=r"test_weights must be finite and non-negative"):
        conformal_risk_control(ok, grid, 0.1, test_weights=[-1.0])
    with pytest.raises(ValueError, match=r"breakpoints must be a 1-D or 2-D array"):
        conformal_risk_control_steps(np.ones((2, 2, 2)), 0.1)
    with pytest.raises(ValueError, match=r"breakpoints must not be NaN"):
        conformal_risk_control_steps([np.nan], 0.1)
    with pytest.raises(ValueError, match=r"drops must be finite and non-negative"):
        conformal_risk_control_steps([1.0], 0.1, drops=[-1.0])
    with pytest.raises(ValueError, match=r"the loss of row 0 starts at the sum of its drops, 2.0"):
        conformal_risk_control_steps([[1.0, 2.0]], 0.1)
    with pytest.raises(ValueError, match=r"rho must be a float in the range \(0, 1\]. Got 0"):
        StreamingRiskControl(grid, 0.1, rho=0)
    with pytest.raises(ValueError, match=r"losses has 3 columns but lambdas has 2 entries"):
        StreamingRiskControl(grid, 0.1).update([1.0, 0.5, 0.0])


def test_grid_path_counts_steps_that_never_drop_and_refuses_minus_inf():
    # Found by a new user: with drops or weights, the grid path left out the loss of steps at
    # +inf (it never drops), so it returned a finite lambda where the exact path gives +inf.
    s, grid = np.arange(1.0, 10.0), np.arange(0.0, 11.0)
    breakpoints = np.c_[s, np.full(9, np.inf)]
    with pytest.warns(ConformalWarning):
        assert conformal_risk_control_steps(breakpoints, 0.3, drops=0.5) == np.inf
    with pytest.warns(ConformalWarning):
        assert conformal_risk_control_steps(breakpoints, 0.3, drops=0.5, lambdas=grid) == np.inf
    with pytest.warns(ConformalWarning):
        assert (
            conformal_risk_control_steps(
                breakpoints, 0.3, bound=2, weights=np.ones(9), lambdas=grid
            )
            == np.inf
        )
    with pytest.raises(ValueError, match=r"breakpoints must not be -inf"):
        conformal_risk_control_steps(np.r_[-np.inf, s], 0.2)
    with pytest.raises(ValueError, match=r"losses must be finite"):
        conformal_risk_control(np.full((3, 2), -np.inf), np.array([0.0, 1.0]), 0.2)
