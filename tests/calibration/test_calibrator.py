"""The v2 calibration layer: Calibrator, TestContext, weights, cells, p-values, levels."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from conformal import ConformalWarning, conformal_quantile
from conformal.calibration import Calibrator, TestContext, parse_levels
from conformal.calibration._distribution import ConformalPredictiveDistribution


def _reference_weighted(scores, weights, test_weight, level):
    """Plain NumPy: smallest score whose cumulative normalized weight reaches the level, the
    test mass sitting at +inf."""
    order = np.argsort(scores, kind="stable")
    s, w = scores[order], weights[order]
    total = w.sum() + test_weight
    cumulative = np.cumsum(w) / total
    hit = np.flatnonzero(cumulative >= level - 1e-12)
    return s[hit[0]] if hit.size else np.inf


@pytest.mark.parametrize("seed", range(5))
def test_per_test_point_weights_with_groups_match_a_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    n, m = 120, 40
    scores = rng.integers(0, 15, size=n).astype(float)  # ties
    weights = rng.uniform(0, 1, size=n)
    groups = rng.integers(0, 3, size=n)
    test_groups = rng.integers(0, 3, size=m)
    test_weights = rng.uniform(0.2, 3.0, size=m)
    cal = Calibrator(scores, weights=weights, groups=groups)
    got = cal.threshold([0.8, 0.9], test=TestContext(weights=test_weights, groups=test_groups))
    assert got.shape == (m, 2)
    top = max(weights.max(), test_weights.max())
    for j in range(m):
        in_group = groups == test_groups[j]
        for k, level in enumerate([0.8, 0.9]):
            want = _reference_weighted(
                scores[in_group], weights[in_group] / top, test_weights[j] / top, level
            )
            assert got[j, k] == want


def test_conformal_quantile_takes_per_test_weights_with_groups():
    s = np.arange(20.0)
    g = np.repeat([0, 1], 10)
    got = conformal_quantile(
        s, 0.5, weights=np.ones(20), test_weights=[1.0, 1.0], groups=g, test_groups=[0, 1]
    )
    np.testing.assert_array_equal(
        got, [conformal_quantile(s[:10], 0.5), conformal_quantile(s[10:], 0.5)]
    )


def test_huge_weights_do_not_overflow():
    """Issue 9: weights whose sum overflows float64 collapsed the threshold to 1.0."""
    assert conformal_quantile(np.arange(1.0, 31.0), 0.9, weights=np.full(30, 1e307)) == 28.0
    got = conformal_quantile(
        np.arange(1.0, 31.0), 0.9, weights=np.full(30, 1e307), test_weights=[1e307]
    )
    assert got[0] == 28.0


def test_fixed_weights_above_one_are_rescaled_to_keep_the_guarantee():
    """Issue 9: weights of 10 on 21 scores gave the 19th score; the guarantee needs the 20th."""
    assert conformal_quantile(np.arange(1.0, 22.0), 0.9, weights=np.full(21, 10.0)) == 20.0
    # weights in [0, 1] are used as given (the test point weighs 1)
    assert conformal_quantile(np.arange(1.0, 22.0), 0.9, weights=np.full(21, 1.0)) == 20.0


@pytest.mark.parametrize("seed", range(3))
def test_power_of_two_rescaling_is_exact(seed):
    rng = np.random.default_rng(seed)
    s, w, tw = rng.normal(size=60), rng.uniform(0, 1, size=60), rng.uniform(0.1, 1, size=9)
    base = conformal_quantile(s, [0.7, 0.9], weights=w, test_weights=tw)
    scaled = conformal_quantile(s, [0.7, 0.9], weights=w * 2.0**600, test_weights=tw * 2.0**600)
    np.testing.assert_array_equal(base, scaled)


def test_zero_total_mass_is_an_error():
    with pytest.raises(ValueError, match="calibration weights sum to 0 and a test point's weight"):
        conformal_quantile(np.arange(5.0), 0.9, weights=np.zeros(5), test_weights=[0.0])


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (np.array([1.0, np.inf, 1.0]), r"weights\[1\] = inf"),
        (np.array([1.0, 1.0, -2.0]), r"weights\[2\] = -2.0"),
        (np.array([np.nan, 1.0, 1.0]), r"weights\[0\] = nan"),
    ],
)
def test_bad_weights_name_the_entry(weights, match):
    with pytest.raises(ValueError, match=match):
        Calibrator(np.arange(3.0), weights=weights)


def test_two_column_scores_warn_once_in_the_users_level():
    """Issue 9: signed scores at 0.98 with 48 points warned twice about 0.99."""
    scores = np.random.default_rng(0).normal(size=(48, 2))
    with pytest.warns(ConformalWarning) as record:
        Calibrator(scores).threshold([0.98])
    messages = [str(r.message) for r in record if issubclass(r.category, ConformalWarning)]
    assert len(messages) == 1
    assert "confidence_level=0.98 needs at least 99" in messages[0]
    assert "each tail is calibrated at 0.99" in messages[0]


@pytest.mark.parametrize(
    "value", [0.9, Fraction(9, 10), Decimal("0.9"), np.float64(0.9), np.array(0.9), np.float32(0.5)]
)
def test_numbers_are_one_level(value):
    levels, scalar = parse_levels(value)
    assert scalar and len(levels) == 1


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([], r"is empty; pass at least one level"),
        ("0.9", r"Got '0.9' instead"),
        (["0.9"], r"Got \['0.9'\] instead"),
        (1.0, r"Got 1.0 instead"),
        (None, r"Got None instead"),
    ],
)
def test_level_parser_refuses(value, match):
    with pytest.raises(ValueError, match=match):
        parse_levels(value)


@pytest.mark.parametrize(
    "call",
    [
        lambda lv: conformal_quantile(np.arange(10.0), lv),
        lambda lv: Calibrator(np.arange(10.0)).threshold(lv),
    ],
)
def test_string_and_empty_levels_are_refused_everywhere(call):
    for bad in ("0.9", [], ["0.9"]):
        with pytest.raises(ValueError, match="confidence_level"):
            call(bad)


def test_decimal_and_zero_d_levels_keep_the_scalar_shape():
    s = np.arange(1.0, 10.0)
    assert np.ndim(conformal_quantile(s, Decimal("0.9"))) == 0
    assert np.ndim(conformal_quantile(s, np.array(0.9))) == 0


def test_pvalues_equal_across_cpd_and_calibrator():
    """One p-value formula: the CPD's upper p-value of y is the calibrator's p-value of the
    score y - f; classification uses the calibrator too."""
    rng = np.random.default_rng(1)
    residuals = rng.integers(-5, 6, size=50).astype(float)
    f = np.array([0.0, 1.0, 2.5])
    y = np.array([3.0, -2.0, 2.5])
    cpd = ConformalPredictiveDistribution(residuals)
    plain = cpd.pvalues(f, y, alternative="greater")
    cal = Calibrator(residuals)
    np.testing.assert_array_equal(plain, cal.pvalues(y - f))
    tau = rng.uniform(size=3)
    smoothed = 1.0 - cpd.pvalues(f, y, alternative="less", tau=tau)
    # the randomized CPD Q(y, tau) and the calibrator's smoothed p-value of -(y - f) with u = tau
    q = cpd.cdf(f, y[:, None], tau=tau)[:, 0]
    np.testing.assert_array_equal(q, Calibrator(-residuals).pvalues(-(y - f), smoothed=True, u=tau))
    assert smoothed.shape == (3,)


def test_weighted_pvalues_with_unit_weights_equal_plain():
    rng = np.random.default_rng(2)
    s, t = rng.integers(0, 9, size=40).astype(float), rng.integers(0, 9, size=7).astype(float)
    plain = Calibrator(s).pvalues(t)
    weighted = Calibrator(s, weights=np.ones(40)).pvalues(t)
    np.testing.assert_allclose(weighted, plain, rtol=0, atol=1e-15)


def test_append_keeps_the_sorted_view():
    cal = Calibrator(np.array([3.0, 1.0, 2.0]))
    cal.pvalues(np.array([2.0]))
    cal.threshold(0.5)
    cal.append(np.array([0.5, 2.5]))
    np.testing.assert_array_equal(
        cal.threshold([0.5]), conformal_quantile([3, 1, 2, 0.5, 2.5], [0.5])
    )
    np.testing.assert_array_equal(
        cal.pvalues(np.array([2.0])),
        Calibrator(np.array([3.0, 1.0, 2.0, 0.5, 2.5])).pvalues(np.array([2.0])),
    )


def test_mondrian_nan_labels_are_refused():
    with pytest.raises(ValueError, match="groups contains NaN at 1 position"):
        Calibrator(np.arange(3.0), groups=np.array([0.0, np.nan, 1.0]))


# ---------------------------------------------------------------- sweeps (issue 9, items 3, 8)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    exponent=st.integers(-600, 600),
    seed=st.integers(0, 2**31 - 1),
    level=st.sampled_from([0.5, 0.8, 0.9, 0.95]),
)
def test_weighted_thresholds_depend_only_on_weight_ratios(n, exponent, seed, level):
    """Scaling every weight (calibration and test) by 2**k changes nothing, however large or
    small: no overflow, no underflow of the sums, no rounding."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=n).astype(float)
    weights = rng.uniform(0.0, 1.0, size=n)
    test_weights = rng.uniform(0.01, 1.0, size=3)
    base = conformal_quantile(scores, level, weights=weights, test_weights=test_weights)
    factor = 2.0**exponent
    scaled = conformal_quantile(
        scores, level, weights=weights * factor, test_weights=test_weights * factor
    )
    np.testing.assert_array_equal(base, scaled)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), top=st.floats(1.0, 1e300), seed=st.integers(0, 2**31 - 1))
def test_fixed_weights_above_one_equal_the_weights_divided_by_their_maximum(n, top, seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=n)
    weights = rng.uniform(0.0, 1.0, size=n)
    weights[rng.integers(n)] = 1.0
    want = conformal_quantile(scores, 0.9, weights=weights)
    got = conformal_quantile(scores, 0.9, weights=weights * top)
    assert got == want or np.isclose(got, want)


_BAD_LEVELS = [
    ([], "is empty"),
    ("0.9", "Got '0.9' instead"),
    (["0.9"], "Got"),
    (0.0, "Got"),
    (1.0, "Got"),
    (np.nan, "Got"),
    ([0.9, 1.5], "Got"),
]


def _entry_points():
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from conformal import SplitConformalClassifier, SplitConformalRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    regressor = SplitConformalRegressor(LinearRegression(), random_state=0).fit(X, X[:, 0])
    classifier = SplitConformalClassifier(LogisticRegression(), random_state=0).fit(
        X, (X[:, 0] > 0).astype(int)
    )
    return {
        "conformal_quantile": lambda lv: conformal_quantile(np.arange(10.0), lv),
        "Calibrator.threshold": lambda lv: Calibrator(np.arange(10.0)).threshold(lv),
        "predict_interval": lambda lv: regressor.predict_interval(X[:2], lv),
        "predict_set": lambda lv: classifier.predict_set(X[:2], lv),
        "predict_quantiles": lambda lv: regressor.predict_quantiles(X[:2], lv),
        "constructor": lambda lv: SplitConformalRegressor(confidence_level=lv).fit(X, X[:, 0]),
    }


_ENTRY_NAMES = [
    "conformal_quantile",
    "Calibrator.threshold",
    "predict_interval",
    "predict_set",
    "predict_quantiles",
    "constructor",
]


@pytest.mark.parametrize("entry", _ENTRY_NAMES)
@pytest.mark.parametrize(("value", "match"), _BAD_LEVELS, ids=repr)
def test_one_level_parser_behind_every_entry_point(entry, value, match):
    """Issue 9 item 8: empty lists, strings and out-of-range levels are refused the same way
    everywhere, naming the parameter."""
    with pytest.raises(ValueError, match=match):
        _entry_points()[entry](value)


@pytest.mark.parametrize(
    "value", [0.9, Decimal("0.9"), Fraction(9, 10), np.float64(0.9), np.array(0.9)]
)
def test_numbers_keep_the_scalar_shape_at_every_entry_point(value):
    shapes = {
        name: np.shape(call(value))
        for name, call in _entry_points().items()
        if name != "constructor"
    }
    assert shapes["conformal_quantile"] == ()
    assert shapes["Calibrator.threshold"] == (1,)  # the calibrator always keeps the level axis
    assert shapes["predict_interval"] == (2, 2)
    assert shapes["predict_set"] == (2, 2)
    assert shapes["predict_quantiles"] == (2,)
