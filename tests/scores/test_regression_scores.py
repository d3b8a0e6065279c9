"""Regression scores: intervals rounded outward (issue 9, item 1), the residual API and the names
(issue 8, item 6).

The guarantee under test (``conformal._outward``, used by every regression score): every float64
``y`` whose score, computed by the score's own ``score`` in float64, is at most the threshold lies
in the interval;
a bound is moved only when the float just outside it is inside, and then to the last such float,
so a bound that is already the outermost one is returned bit for bit as ``f - q * s`` computes it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.dummy import DummyRegressor
from sklearn.frozen import FrozenEstimator

from conformal import SplitConformalRegressor, _outward, conformal_quantile
from conformal.scores import (
    AbsoluteScore,
    CQRAsymmetricScore,
    CQRScore,
    GammaScore,
    NormalizedScore,
    RegressionScore,
    RelativeScore,
    SignedScore,
)

SCORES = [
    AbsoluteScore(),
    SignedScore(),
    NormalizedScore(),
    GammaScore(),
    CQRScore(),
    CQRAsymmetricScore(),
]


def _const(c: float) -> FrozenEstimator:
    return FrozenEstimator(DummyRegressor(strategy="constant", constant=c).fit([[0.0]], [0.0]))


# ---------------------------------------------------------------- helpers


def _side_scores(score, y, y_pred, scale):
    """(lower-side, upper-side) scores of candidates y through the public ``score``."""
    s = score.score(y, y_pred, scale=scale)
    return (s[:, 0], s[:, 1]) if score.asymmetric else (s, s)


def _thresholds(score, q):
    """Per-point thresholds (n,) or (n, 2) as inverse's (n, 1) or (n, 1, 2)."""
    return q[:, np.newaxis] if not score.asymmetric else q[:, np.newaxis, :]


def _naive(score, y_pred, q, scale):
    """``[lo - q_lo * s, hi + q_hi * s]`` as the interval writer computes it, unrounded."""
    p = np.asarray(y_pred, dtype=np.float64)
    lo, hi = (p[:, 0], p[:, 1]) if score.needs_quantiles else (p, p)
    if isinstance(score, GammaScore):
        s = np.abs(p)
    elif score.needs_scale:
        s = np.asarray(scale, dtype=np.float64)
    else:
        s = np.ones_like(lo)
    q_lo, q_hi = (q[:, 0], q[:, 1]) if score.asymmetric else (q, q)
    return lo - q_lo * s, hi + q_hi * s


def _check_outermost(score, y_pred, q, scale, intervals):
    """Each finite bound is the outermost float whose score is at most its threshold, or the
    naive bound left alone because it is already outside; never inside the naive bound."""
    naive_lo, naive_hi = _naive(score, y_pred, q, scale)
    q_lo, q_hi = (q[:, 0], q[:, 1]) if score.asymmetric else (q, q)
    lower, upper = intervals[:, 0, 0], intervals[:, 0, 1]
    assert (lower <= naive_lo).all() and (upper >= naive_hi).all()
    with np.errstate(all="ignore"):
        for side, bound, threshold, naive, direction in (
            (0, lower, q_lo, naive_lo, -np.inf),
            (1, upper, q_hi, naive_hi, np.inf),
        ):
            finite = np.isfinite(bound)
            own = _side_scores(score, bound, y_pred, scale)[side]
            beyond = _side_scores(score, np.nextafter(bound, direction), y_pred, scale)[side]
            assert not (finite & (beyond <= threshold)).any(), "a float outside is inside"
            moved = bound != naive
            assert (own[moved] <= threshold[moved]).all(), "a bound moved beyond the set"
            outside = finite & (own > threshold)  # possible only for the naive bound itself
            assert (bound[outside] == naive[outside]).all()


def _data(score, rng, n, magnitude, integer):
    """Targets, predictions and scales: integer grids (with predictions k/41, scales k/10) or
    continuous reals of the given magnitude."""
    if integer:
        y = rng.integers(-30, 31, size=n).astype(float) * magnitude
        f = rng.integers(-400, 401, size=n) / 41 * magnitude
        s = rng.integers(1, 30, size=n) / 10 * magnitude
    else:
        y = rng.normal(size=n) * magnitude
        f = rng.normal(size=n) * magnitude
        s = rng.uniform(0.01, 3.0, size=n) * magnitude
    f[f == 0] = magnitude  # gamma divides by |f|
    if score.needs_quantiles:
        width = np.abs(rng.normal(size=n)) * magnitude
        if integer:
            width = np.round(width)
        f = np.column_stack([f - width, f + width * rng.uniform(0.0, 2.0, size=n)])
    return y, f, (s if score.needs_scale else None)


# ---------------------------------------------------------------- the issue's examples


def test_gamma_example_of_the_issue_covers_y_at_the_threshold():
    """Issue 9: f = 247/41, q = the score of y = 3; the lower bound f - q |f| rounds to
    3.0000000000000004 and left y = 3 out. The outermost float whose gamma score is at most q
    is 3.0 (the next one down, 2.9999999999999996, scores above q); the upper bound was
    already the outermost."""
    y = [3, 5, 5, 6, 6, 6, 7, 7, 6]
    model = SplitConformalRegressor(_const(247 / 41), conformity_score="gamma").fit(
        np.zeros((9, 1)), y
    )
    got = model.predict_interval([[0.0]])[0]
    assert got.tolist() == [3.0, 9.048780487804878]
    q = model.conformity_scores_.max()
    assert GammaScore().score([3.0], [247 / 41])[0] == q  # y = 3 is the threshold's point
    assert 247 / 41 - q * abs(247 / 41) == 3.0000000000000004  # the naive bound
    assert GammaScore().score([np.nextafter(3.0, -np.inf)], [247 / 41])[0] > q


def test_normalized_example_of_the_issue_covers_y_at_the_threshold():
    """Issue 9: f = 0.5, sigma = 0.7, q = the score of y = 2; the upper bound f + q sigma
    rounds to 1.9999999999999998 and left y = 2 out (the lower bound had the same fault)."""
    model = SplitConformalRegressor(_const(0.5), conformity_score=NormalizedScore(_const(0.7))).fit(
        np.zeros((9, 1)), [0, 0, 1, 1, 1, 0, 1, 0, 2]
    )
    got = model.predict_interval([[0.0]])[0]
    assert got.tolist() == [-1.0, 2.0]
    q = model.conformity_scores_.max()
    assert 0.5 + q * 0.7 == 1.9999999999999998 and 0.5 - q * 0.7 == -0.9999999999999998
    assert NormalizedScore().score([2.0, -1.0], [0.5, 0.5], scale=[0.7, 0.7]).max() <= q


# ---------------------------------------------------------------- sweeps


@pytest.mark.parametrize("score", SCORES, ids=repr)
@pytest.mark.parametrize("integer", [True, False], ids=["integers", "reals"])
@pytest.mark.parametrize("magnitude", [1e-9, 1.0, 1e7, 1e150])
def test_every_calibration_point_lies_in_its_own_interval(score, integer, magnitude):
    """A calibration point used as the test point at a threshold equal to its own score(s) is
    inside, and every bound is the outermost float of the set (or the naive bound, already
    outside)."""
    rng = np.random.default_rng(int(magnitude > 1) + 2 * integer)
    y, f, s = _data(score, rng, 4000, magnitude, integer)
    q = score.score(y, f, scale=s)
    intervals = score.inverse(f, _thresholds(score, q), scale=s)
    assert ((intervals[:, 0, 0] <= y) & (y <= intervals[:, 0, 1])).all()
    _check_outermost(score, f, q, s, intervals)


_finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(SCORES) - 1),
    y=_finite,
    f=_finite.filter(lambda v: abs(v) > 1e-6),
    width=st.floats(0, 1e6),
    s=st.floats(1e-6, 1e6),
)
def test_hypothesis_point_at_its_own_threshold_is_inside(index, y, f, width, s):
    score = SCORES[index]
    pred = np.array([[f - width, f + width]]) if score.needs_quantiles else np.array([f])
    scale = np.array([s]) if score.needs_scale else None
    q = score.score([y], pred, scale=scale)
    intervals = score.inverse(pred, _thresholds(score, q), scale=scale)
    assert intervals[0, 0, 0] <= y <= intervals[0, 0, 1]
    _check_outermost(score, pred, q, scale, intervals)


@pytest.mark.parametrize("score", SCORES, ids=repr)
def test_shared_thresholds_and_several_levels_are_outermost(score):
    """The path estimators use: one threshold per level shared by all test points."""
    rng = np.random.default_rng(5)
    y, f, s = _data(score, rng, 3000, 1.0, False)
    q = score.score(y, f, scale=s)
    levels = [0.5, 0.8, 0.9]
    if score.asymmetric:
        shared = np.stack([np.quantile(q[:, j], levels) for j in (0, 1)], axis=-1)
    else:
        shared = np.quantile(q, levels)
    got = score.inverse(f, shared, scale=s)
    for j in range(len(levels)):
        per_point = np.broadcast_to(shared[j], q.shape).copy()
        _check_outermost(score, f, per_point, s, got[:, j : j + 1])


def test_a_bound_that_is_already_outermost_is_bit_for_bit_the_naive_one():
    """Where the float just outside the naive bound scores above the threshold, the output is
    the naive bound itself, bit for bit; only the others move, outward. With the absolute score
    and f/2 <= f -+ q <= 2 f (here f in [100, 200), q <= 10.25) every bound is such a case."""
    f, q = np.arange(100.0, 200.0, 0.25), np.array([0.5, 1.0, 10.25])
    naive = np.stack([f[:, None] - q, f[:, None] + q], axis=-1)
    np.testing.assert_array_equal(AbsoluteScore().inverse(f, q), naive)
    rng = np.random.default_rng(0)
    f = rng.uniform(100.0, 200.0, size=5000)  # inexact, but f/2 <= f -+ q <= 2 f
    np.testing.assert_array_equal(
        AbsoluteScore().inverse(f, q), np.stack([f[:, None] - q, f[:, None] + q], axis=-1)
    )
    for score in SCORES:
        y, pred, s = _data(score, rng, 5000, 1.0, False)
        q = score.score(y, pred, scale=s)
        q = np.quantile(q, 0.9, axis=0) * np.ones_like(q)  # a threshold no point sits on
        got = score.inverse(pred, _thresholds(score, q), scale=s)[:, 0]
        naive_lo, naive_hi = _naive(score, pred, q, s)
        q_lo, q_hi = (q[:, 0], q[:, 1]) if score.asymmetric else (q, q)
        lo_out = _side_scores(score, np.nextafter(naive_lo, -np.inf), pred, s)[0] > q_lo
        hi_out = _side_scores(score, np.nextafter(naive_hi, np.inf), pred, s)[1] > q_hi
        assert lo_out.mean() > 0.5 and hi_out.mean() > 0.5
        np.testing.assert_array_equal(got[lo_out, 0], naive_lo[lo_out])
        np.testing.assert_array_equal(got[hi_out, 1], naive_hi[hi_out])
        assert (got[~lo_out, 0] < naive_lo[~lo_out]).all()  # the others moved, outward
        assert (got[~hi_out, 1] > naive_hi[~hi_out]).all()


@pytest.mark.parametrize("score", SCORES, ids=repr)
@pytest.mark.parametrize("path", ["closed form for every move", "search instead of closed form"])
def test_the_three_ways_of_moving_a_bound_agree(score, path, monkeypatch):
    """Single ulp steps, the closed form for long runs and the doubling-and-bisection search
    find the same outermost float: forcing every moved bound through the closed form (no ulp
    steps), or through the search (closed form disabled), changes nothing."""
    rng = np.random.default_rng(7)
    y, f, s = _data(score, rng, 3000, 1.0, False)  # bounds near 0: many long runs
    q = score.score(y, f, scale=s)
    default = score.inverse(f, _thresholds(score, q), scale=s)
    if path == "closed form for every move":
        monkeypatch.setattr(_outward, "_ULP_STEPS", 0)
    else:
        monkeypatch.setattr(
            _outward, "_jump", lambda bound, *args: (bound.copy(), np.zeros(bound.shape, bool))
        )
    np.testing.assert_array_equal(score.inverse(f, _thresholds(score, q), scale=s), default)


def test_infinite_thresholds_and_bounds_are_never_moved():
    f = np.array([-1.0, 0.0, 3.0])
    got = AbsoluteScore().inverse(f, [np.inf, 1.0])
    assert np.isneginf(got[:, 0, 0]).all() and np.isposinf(got[:, 0, 1]).all()
    signed = SignedScore().inverse(f, [[-np.inf, np.inf]])[:, 0]
    assert np.isposinf(signed[:, 0]).all() and np.isposinf(signed[:, 1]).all()
    assert np.isfinite(got[:, 1]).all()


def test_a_bound_at_zero_moves_through_the_long_run_of_floats_with_the_threshold_score():
    """Gamma score, f = 5, y = 0: q = 1 and the naive lower bound is exactly 0, but every y
    with |y| below half an ulp of 5 has fl(|y - 5|) = 5, hence score 1: the set reaches
    2**62 floats below 0 (found by doubling and bisection, not ulp by ulp)."""
    got = GammaScore().inverse([5.0], [[1.0]])[0, 0]
    assert got[0] < 0 and GammaScore().score([got[0]], [5.0])[0] == 1.0
    assert GammaScore().score([np.nextafter(got[0], -np.inf)], [5.0])[0] > 1.0
    assert got[0] == -(2.0**-51)  # the tie at -2**-51 rounds |y - 5| to the even 5.0


# ---------------------------------------------------------------- coverage with ties


def test_integer_targets_tied_at_the_threshold_are_covered():
    """Issue 9: "with 1,000 calibration points and 15% of targets equal to the threshold's y,
    test coverage was 0.85 at a 0.9 target". Integer targets 3..9 around a constant prediction
    f = 247/41; y = 3 (15%) has the largest gamma score, so the 0.9 threshold is its score and
    the naive lower bound 3.0000000000000004 left every y = 3 out. Over 20 seeded
    calibration/test draws (2,000 test points each) the mean coverage of the naive intervals
    is about 0.85; rounded outward it must be at least 0.9 up to a Monte Carlo tolerance of
    0.01 (the standard error of the mean coverage is about 0.0015 at 0.9)."""
    f = 247 / 41
    values = np.arange(3, 10)
    p = np.r_[0.15, np.full(6, 0.85 / 6)]
    covered, naive_covered = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        y_cal, y_test = rng.choice(values, 1000, p=p), rng.choice(values, 2000, p=p)
        model = SplitConformalRegressor(_const(f), conformity_score="gamma").fit(
            np.zeros((1000, 1)), y_cal
        )
        lower, upper = model.predict_interval([[0.0]])[0]
        covered.append(((lower <= y_test) & (y_test <= upper)).mean())
        q = conformal_quantile(model.conformity_scores_, 0.9)
        naive_lower, naive_upper = f - q * abs(f), f + q * abs(f)
        naive_covered.append(((naive_lower <= y_test) & (y_test <= naive_upper)).mean())
    assert np.mean(naive_covered) < 0.87  # the issue, reproduced
    assert np.mean(covered) >= 0.9 - 0.01


# ---------------------------------------------------------------- what a score says it is


def test_is_shift():
    assert AbsoluteScore().is_shift and SignedScore().is_shift
    for score in (NormalizedScore(), GammaScore(), CQRScore(), CQRAsymmetricScore()):
        assert not score.is_shift


def test_signed_residual():
    y, f = [1.0, 4.0], [2.0, 2.0]
    np.testing.assert_array_equal(AbsoluteScore().signed_residual(y, f), [-1.0, 2.0])
    np.testing.assert_array_equal(SignedScore().signed_residual(y, f), [-1.0, 2.0])
    np.testing.assert_array_equal(
        NormalizedScore().signed_residual(y, f, scale=[2.0, 4.0]), [-0.5, 0.5]
    )
    np.testing.assert_allclose(
        GammaScore().signed_residual([11.0, 18.0], [10.0, 20.0]), [0.1, -0.1]
    )
    # its absolute value is the score, bit for bit
    rng = np.random.default_rng(1)
    y, f, s = rng.normal(size=50), rng.normal(size=50), rng.uniform(0.1, 2, size=50)
    for score, scale in ((AbsoluteScore(), None), (NormalizedScore(), s), (GammaScore(), None)):
        np.testing.assert_array_equal(
            np.abs(score.signed_residual(y, f, scale=scale)), score.score(y, f, scale=scale)
        )


class _Custom(RegressionScore):
    name = "custom"


@pytest.mark.parametrize(
    ("score", "args", "match"),
    [
        (CQRScore(), ([0.0], [[1.0, 2.0]]), r"CQRScore \(conformity_score='cqr'\) is a CQR score"),
        (
            CQRAsymmetricScore(),
            ([0.0], [[1.0, 2.0]]),
            r"conformity_score='cqr_asymmetric'\) is a CQR score.*Residual scores: \['absolute'",
        ),
        (_Custom(), ([0.0], [1.0]), r"_Custom \(conformity_score='custom'\) is not a residual"),
        (GammaScore(), ([1.0], [0.0]), r"exactly 0; use conformity_score='absolute'"),
        (NormalizedScore(), ([1.0], [0.0]), r"needs scale=sigma\(x\)"),
    ],
)
def test_signed_residual_errors(score, args, match):
    with pytest.raises(ValueError, match=match):
        score.signed_residual(*args)


def test_gamma_zero_prediction_error_names_the_estimator_parameter():
    with pytest.raises(ValueError, match=r"use conformity_score='absolute'"):
        GammaScore().score([1.0], [0.0])


def test_relative_score_is_gamma_score():
    """``RelativeScore`` is the same class as ``GammaScore`` (so predictive distributions and
    every ``type(score) is GammaScore`` check treat them alike)."""
    assert RelativeScore is GammaScore
    assert RelativeScore().name == "gamma"
    assert "relative residual |y - f(x)| / |f(x)|" in GammaScore.__doc__


def test_normalized_min_scale_and_the_deprecated_beta():
    assert NormalizedScore().min_scale == 0.01
    assert repr(NormalizedScore(min_scale=0.1)) == (
        "NormalizedScore(difficulty_estimator=None, cv=5, min_scale=0.1)"
    )
    with pytest.warns(FutureWarning, match=r"beta=\.\.\.\) is deprecated.*min_scale=0\.05"):
        old = NormalizedScore(beta=0.05)
    assert old.min_scale == 0.05
    with pytest.warns(FutureWarning, match=r"NormalizedScore\.beta is deprecated.*min_scale"):
        assert old.beta == 0.05
    with pytest.raises(ValueError, match=r"both min_scale=0\.2 and its deprecated spelling"):
        NormalizedScore(min_scale=0.2, beta=0.05)
    difficulty = _const(2.0)
    model = SplitConformalRegressor(
        _const(0.0), conformity_score=NormalizedScore(difficulty, min_scale=0.25)
    ).fit(np.zeros((4, 1)), np.arange(4.0))
    assert model.scale_floor_ == 0.5  # min_scale times the mean prediction of the frozen model
    assert model.difficulty_estimator_.predict(np.zeros((2, 1))).tolist() == [2.0, 2.0]
    assert not hasattr(model.score_, "estimator_")  # the score holds no model
