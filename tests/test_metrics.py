"""Interval metrics: hand-computed values, shape rules, infinite intervals, reports and errors."""

import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import mean_pinball_loss

from conformal.metrics import (
    GroupCoverage,
    IntervalReport,
    IntervalRow,
    coverage,
    coverage_by_group,
    crps,
    evaluate_intervals,
    interval_score,
    mean_width,
    pinball_loss,
    weighted_interval_score,
)

INF = np.inf

# The running example, worked out by hand:
#   row  y   [lower, upper]  covered        width  IS at level 0.5 (a = 0.5, 2/a = 4)
#   0    1   [0,   2  ]      yes            2      2
#   1    2   [2.5, 3.5]      no (0.5 low)   1      1 + 4 * 0.5 = 3
#   2    3   [3,   3  ]      yes (ends in)  0      0
#   3    7   [4.5, 6  ]      no (1 high)    1.5    1.5 + 4 * 1 = 5.5
# coverage 2/4 = 0.5, mean width 4.5/4 = 1.125, median width (1 + 1.5)/2 = 1.25,
# mean IS 10.5/4 = 2.625.
Y = [1.0, 2.0, 3.0, 7.0]
IV = [[0.0, 2.0], [2.5, 3.5], [3.0, 3.0], [4.5, 6.0]]
GROUPS = ["a", "b", "a", "b"]  # a: rows 0, 2 (both covered); b: rows 1, 3 (none covered)
WIDE = np.array(IV) + np.array([-10.0, 10.0])  # a second level that covers every row


def _crps_standard_normal(y):
    """Closed-form CRPS of N(0, 1) at y (Gneiting and Raftery 2007, eq. 21)."""
    return y * (2 * norm.cdf(y) - 1) + 2 * norm.pdf(y) - 1 / np.sqrt(np.pi)


# ---------------------------------------------------------------- coverage and width


def test_coverage_by_hand():
    assert coverage(Y, IV) == 0.5
    assert isinstance(coverage(Y, IV), float)


def test_coverage_includes_both_ends():
    assert coverage([0.0, 1.0], [[0.0, 1.0], [0.0, 1.0]]) == 1.0
    assert coverage([np.nextafter(1.0, 2.0)], [[0.0, 1.0]]) == 0.0


def test_mean_width_by_hand():
    assert mean_width(IV) == 1.125
    assert isinstance(mean_width(IV), float)


def test_levels_axis_gives_one_value_per_level():
    # sample 0 (y=0): [-1, 1] covers, [-2, 2] covers;  widths 2, 4
    # sample 1 (y=5): [4, 6] covers, [5.5, 9] misses;   widths 2, 3.5
    cube = [[[-1, 1], [-2, 2]], [[4, 6], [5.5, 9]]]
    cov, width = coverage([0.0, 5.0], cube), mean_width(cube)
    assert cov.shape == width.shape == (2,)
    np.testing.assert_array_equal(cov, [1.0, 0.5])
    np.testing.assert_array_equal(width, [2.0, 3.75])


def test_a_single_level_on_the_middle_axis_is_not_squeezed():
    cube = np.array(IV)[:, None, :]
    assert coverage(Y, cube).shape == (1,)
    assert mean_width(cube).shape == (1,)
    assert interval_score(Y, cube, [0.5]).shape == (1,)


def test_levels_axis_matches_one_level_at_a_time():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    half = np.array([0.5, 1.0, 2.0])
    center = rng.normal(size=(50, 1)) * 0.1
    cube = np.stack([center - half, center + half], axis=-1)
    assert cube.shape == (50, 3, 2)
    levels = [0.5, 0.8, 0.95]
    for j, level in enumerate(levels):
        assert coverage(y, cube)[j] == coverage(y, cube[:, j])
        assert mean_width(cube)[j] == pytest.approx(mean_width(cube[:, j]), rel=1e-14)
        got = interval_score(y, cube, levels)[j]
        assert got == pytest.approx(interval_score(y, cube[:, j], level), rel=1e-14)


def test_infinite_intervals_are_kept_not_dropped():
    iv = [[-INF, INF], [0.0, 1.0]]
    assert coverage([5.0, 0.5], iv) == 1.0
    assert mean_width(iv) == INF
    assert interval_score([5.0, 0.5], iv, 0.9) == INF
    # half-infinite: [-inf, 2] misses y = 3 from above; the width is infinite anyway
    assert coverage([3.0, 0.5], [[-INF, 2.0], [0.0, 1.0]]) == 0.5
    assert mean_width([[-INF, 2.0], [0.0, 1.0]]) == INF


def test_degenerate_intervals_have_zero_width_even_at_infinity():
    # [inf, inf] would give inf - inf = NaN; an interval with lower == upper has width 0.
    assert mean_width([[INF, INF], [-INF, -INF], [1.0, 1.0]]) == 0.0
    assert coverage([0.0, 0.0, 1.0], [[INF, INF], [-INF, -INF], [1.0, 1.0]]) == pytest.approx(1 / 3)
    # ... but a miss by an infinite distance is an infinite interval score, never NaN
    assert interval_score([0.0], [[INF, INF]], 0.9) == INF
    assert interval_score([0.0], [[-INF, -INF]], 0.9) == INF


def test_inputs_accept_lists_pandas_and_are_not_mutated():
    y = np.array(Y)
    iv = np.array(IV)
    y_before, iv_before = y.copy(), iv.copy()
    frame = pd.DataFrame(iv, columns=["lower", "upper"], index=[10, 11, 12, 13])
    series = pd.Series(y, index=[3, 2, 1, 0])  # the index is ignored: positions count
    assert coverage(series, frame) == 0.5
    assert interval_score(series, frame, 0.5) == 2.625
    assert coverage(y.reshape(-1, 1), iv) == 0.5  # a column vector is accepted
    evaluate_intervals(y, iv, groups=pd.Series(GROUPS), confidence_level=0.5)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(iv, iv_before)
    assert y.flags.writeable and iv.flags.writeable


def test_integer_inputs_are_accepted():
    assert coverage([1, 2, 3, 7], [[0, 2], [2, 3], [3, 3], [4, 6]]) == 0.75


# ---------------------------------------------------------------- interval score


def test_interval_score_by_hand():
    assert interval_score(Y, IV, 0.5) == 2.625
    assert isinstance(interval_score(Y, IV, 0.5), float)


def test_interval_score_several_levels_by_hand():
    # y = 0, intervals [-1, 1] at 0.9 (covered: width 2) and [1, 2] at 0.5
    # (a = 0.5, misses by 1 from below: 1 + 4 * 1 = 5)
    got = interval_score([0.0], [[[-1.0, 1.0], [1.0, 2.0]]], [0.9, 0.5])
    np.testing.assert_allclose(got, [2.0, 5.0])


def test_interval_score_uses_the_exact_miscoverage():
    # a = 1 - 0.9 must be 0.1 (2/a = 20), not 0.09999999999999998: y misses by 1 -> 0 + 20
    assert interval_score([1.0], [[0.0, 0.0]], 0.9) == 20.0


def test_interval_score_is_proper_for_a_normal():
    """The expected score is minimised by the true central interval (Gneiting-Raftery 2007)."""
    y = np.random.default_rng(1).normal(size=200_000)
    z = norm.ppf(0.95)

    def expected(scale):
        iv = np.column_stack([np.full_like(y, -scale * z), np.full_like(y, scale * z)])
        return interval_score(y, iv, 0.9)

    assert expected(1.0) < expected(0.8)
    assert expected(1.0) < expected(1.25)


# ---------------------------------------------------------------- weighted interval score


def _wis_direct(y, lower, upper, alphas, median):
    """The defining formula of Bracher et al. (2021), one sample at a time, with plain loops."""
    out = []
    for i in range(len(y)):
        total = 0.0 if median is None else 0.5 * abs(y[i] - median[i])
        for k, a in enumerate(alphas):
            lo, hi = lower[i][k], upper[i][k]
            score = (
                (hi - lo)
                + (2 / a) * (lo - y[i]) * (y[i] < lo)
                + (2 / a) * (y[i] - hi) * (y[i] > hi)
            )
            total += a / 2 * score
        k_levels = len(alphas)
        out.append(total / (k_levels + 0.5) if median is not None else total / k_levels)
    return np.mean(out)


def test_wis_by_hand():
    # sample 0: y = 0, median 1, [0.5, 1.5] at 0.5 and [-1, 3] at 0.8
    #   (0.5/2) * (1 + 4 * 0.5) = 0.75;  (0.2/2) * 4 = 0.4;  0.5 * |0 - 1| = 0.5
    #   with median (0.5 + 0.75 + 0.4) / 2.5 = 0.66; without (0.75 + 0.4) / 2 = 0.575
    # sample 1: y = 2, median 2, [1, 3] at 0.5 and [0, 4] at 0.8
    #   0.25 * 2 = 0.5;  0.1 * 4 = 0.4;  0
    #   with median 0.9 / 2.5 = 0.36; without 0.9 / 2 = 0.45
    y = [0.0, 2.0]
    iv = [[[0.5, 1.5], [-1.0, 3.0]], [[1.0, 3.0], [0.0, 4.0]]]
    assert weighted_interval_score(y, iv, [0.5, 0.8], median=[1.0, 2.0]) == pytest.approx(0.51)
    assert weighted_interval_score(y, iv, [0.5, 0.8]) == pytest.approx(0.5125)
    assert isinstance(weighted_interval_score(y, iv, [0.5, 0.8]), float)


def test_wis_matches_the_direct_formula_on_random_inputs():
    rng = np.random.default_rng(2)
    n, alphas = 40, np.array([0.02, 0.1, 0.3, 0.6])
    center = rng.normal(size=n)
    half = np.sort(rng.uniform(0, 3, size=(n, 4)), axis=1)[:, ::-1]
    lower, upper = center[:, None] - half, center[:, None] + half
    y = rng.normal(size=n) * 2
    levels = [float(1 - a) for a in np.round(alphas, 2)]
    iv = np.stack([lower, upper], axis=-1)
    got = weighted_interval_score(y, iv, levels, median=center)
    assert got == pytest.approx(_wis_direct(y, lower, upper, alphas, center), rel=1e-12)
    got = weighted_interval_score(y, iv, levels)
    assert got == pytest.approx(_wis_direct(y, lower, upper, alphas, None), rel=1e-12)


def test_wis_is_a_sum_of_pinball_losses():
    """(a/2) IS_a = pinball_{a/2}(l) + pinball_{1-a/2}(u) and 0.5|y - m| = pinball_{1/2}(m)."""
    rng = np.random.default_rng(3)
    y = rng.normal(size=30)
    lower = -rng.uniform(0.5, 1, size=30)
    upper = rng.uniform(0.5, 1, size=30)
    median = rng.normal(size=30) * 0.1
    iv = np.stack([lower, upper], axis=-1)[:, None, :]
    wis = weighted_interval_score(y, iv, [0.8], median=median)
    quantiles = np.column_stack([lower, median, upper])
    losses = pinball_loss(y, quantiles, [0.1, 0.5, 0.9])
    assert wis == pytest.approx(losses.sum() / 1.5, rel=1e-12)


def test_wis_with_a_single_interval_and_a_float_level():
    # K = 1: (a/2) * IS / 1, the no-median normalisation; a = 0.5 -> 0.25 * 2.625
    assert weighted_interval_score(Y, IV, 0.5) == pytest.approx(0.25 * 2.625)


@pytest.mark.parametrize("y", [-3.0, -1.0, -0.3, 0.0, 0.5, 1.7, 3.0])
def test_wis_approximates_the_crps_of_a_normal(y):
    """Bracher et al. (2021), section 2.3: with many equally spaced quantile levels the WIS
    approximates the CRPS. Quantiles of N(0, 1) at 0.02, 0.04, ..., 0.98 (median + 24 central
    intervals) against the closed-form CRPS; the Riemann sum is off by about 50/49, so ~2%."""
    lower_levels = np.round(np.arange(1, 25) * 0.02, 2)  # 0.02 .. 0.48
    levels = [round(1 - 2 * t, 2) for t in lower_levels]  # 0.96 .. 0.04
    iv = np.stack([norm.ppf(lower_levels), norm.ppf(1 - lower_levels)], axis=-1)[None]
    wis = weighted_interval_score([y], iv, levels, median=[0.0])
    assert wis == pytest.approx(_crps_standard_normal(y), rel=0.025)


def test_wis_converges_to_the_crps_with_more_levels():
    lower_levels = np.arange(1, 250) / 500  # quantile levels 0.002 .. 0.998
    levels = list(1 - 2 * lower_levels)
    iv = np.stack([norm.ppf(lower_levels), norm.ppf(1 - lower_levels)], axis=-1)[None]
    for y in (-2.0, 0.0, 0.8):
        wis = weighted_interval_score([y], iv, levels, median=[0.0])
        assert wis == pytest.approx(_crps_standard_normal(y), rel=0.005)


def test_wis_infinite_intervals():
    assert weighted_interval_score([0.0], [[[-INF, INF]]], [0.9]) == INF
    assert weighted_interval_score([0.0], [[[-1.0, 1.0]]], [0.9], median=[INF]) == INF


# ---------------------------------------------------------------- pinball loss


def test_pinball_loss_by_hand():
    # tau = 0.1, q = 2: y - q = -1, 0, 1 -> 0.9 * 1, 0, 0.1 * 1 -> mean 1/3
    assert pinball_loss([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], 0.1) == pytest.approx(1 / 3)
    # tau = 0.9, q = 0: y - q = 1, 2, 3 -> 0.9 * (1 + 2 + 3) / 3 = 1.8
    got = pinball_loss([1.0, 2.0, 3.0], [[2.0, 0.0]] * 3, [0.1, 0.9])
    assert got.shape == (2,)
    np.testing.assert_allclose(got, [1 / 3, 1.8])
    assert isinstance(pinball_loss([1.0], [2.0], 0.5), float)


@pytest.mark.parametrize("tau", [0.01, 0.1, 0.5, 0.77, 0.99])
def test_pinball_loss_matches_sklearn(tau):
    rng = np.random.default_rng(4)
    y, q = rng.normal(size=300), rng.normal(size=300)
    assert pinball_loss(y, q, tau) == pytest.approx(mean_pinball_loss(y, q, alpha=tau))


def test_pinball_loss_columns_match_sklearn():
    rng = np.random.default_rng(5)
    y, q = rng.normal(size=200), rng.normal(size=(200, 3))
    taus = [0.05, 0.5, 0.95]
    expected = [mean_pinball_loss(y, q[:, j], alpha=t) for j, t in enumerate(taus)]
    np.testing.assert_allclose(pinball_loss(y, q, taus), expected, rtol=1e-12)


def test_pinball_loss_infinite_prediction():
    assert pinball_loss([0.0, 1.0], [INF, 1.0], 0.5) == INF
    assert pinball_loss([0.0, 1.0], [-INF, 1.0], 0.5) == INF


# ---------------------------------------------------------------- by group


def test_coverage_by_group_by_hand():
    # a: rows 0, 2 -> both covered, widths 2, 0; b: rows 1, 3 -> none, widths 1, 1.5
    got = coverage_by_group(Y, IV, GROUPS)
    assert got == {
        "a": GroupCoverage(coverage=1.0, mean_width=1.0, n=2),
        "b": GroupCoverage(coverage=0.0, mean_width=1.25, n=2),
    }
    assert list(got) == ["a", "b"]


def test_coverage_by_group_labels_are_plain_python_values_in_sorted_order():
    got = coverage_by_group(Y, IV, np.array([3, 1, 3, 1]))
    assert list(got) == [1, 3]
    assert all(type(label) is int for label in got)
    categorical = pd.Series(pd.Categorical(GROUPS))
    assert list(coverage_by_group(Y, IV, categorical)) == ["a", "b"]


def test_coverage_by_group_with_levels_axis():
    cube = np.stack([np.array(IV), WIDE], axis=1)
    got = coverage_by_group(Y, cube, GROUPS)
    np.testing.assert_array_equal(got["b"].coverage, [0.0, 1.0])
    np.testing.assert_array_equal(got["a"].coverage, [1.0, 1.0])


def test_group_coverages_average_to_the_marginal_coverage():
    rng = np.random.default_rng(6)
    y = rng.normal(size=100)
    iv = np.column_stack([np.full(100, -1.0), np.full(100, 1.0)])
    groups = rng.integers(0, 4, size=100)
    by_group = coverage_by_group(y, iv, groups)
    total = sum(r.coverage * r.n for r in by_group.values())
    assert total / 100 == pytest.approx(coverage(y, iv))


# ---------------------------------------------------------------- report


def test_report_by_hand():
    report = evaluate_intervals(Y, IV, groups=GROUPS, confidence_level=0.5)
    assert isinstance(report, IntervalReport)
    assert report.n == 4
    assert report.coverage == 0.5
    assert report.mean_width == 1.125
    assert report.median_width == 1.25
    assert report.infinite_fraction == 0.0
    assert report.interval_score == 2.625
    assert report.confidence_level == 0.5
    # group a: IS 2, 0 -> 1; group b: IS 3, 5.5 -> 4.25
    assert report.group_rows == (
        IntervalRow("a", 0, 0.5, 2, 1.0, 1.0, 1.0, 0.0, 1.0),
        IntervalRow("b", 0, 0.5, 2, 0.0, 1.25, 1.25, 0.0, 4.25),
    )
    assert report.worst_group == "b"
    assert report.worst_group_coverage == 0.0
    assert report.worst_group_gap == 0.5  # nominal 0.5 - worst 0.0


def test_report_without_level_or_groups():
    report = evaluate_intervals(Y, IV)
    assert report.interval_score is None
    assert report.confidence_level is None
    assert report.group_rows == ()
    assert report.worst_group is None and report.worst_group_gap is None
    assert len(report.level_rows) == 1
    assert "-" in report.summary().splitlines()[2].split()  # no interval score


def test_report_gap_is_against_the_marginal_coverage_without_a_level():
    report = evaluate_intervals(Y, IV, groups=GROUPS)
    assert report.worst_group_gap == 0.5  # overall 0.5 - worst 0.0
    assert "worst group: b (coverage 0.000; gap to the overall coverage +0.500)" in (
        report.summary()
    )


def test_report_counts_infinite_intervals():
    report = evaluate_intervals([0.0, 1.0, 2.0, 3.0], [[-INF, INF], [0, 2], [0, INF], [2, 4]])
    assert report.infinite_fraction == 0.5
    assert report.mean_width == INF
    assert report.median_width == INF  # median of 2, 2, inf, inf
    assert report.coverage == 1.0


def test_report_with_levels_axis():
    cube = np.stack([np.array(IV), WIDE], axis=1)
    report = evaluate_intervals(Y, cube, groups=GROUPS, confidence_level=[0.5, 0.9])
    np.testing.assert_array_equal(report.coverage, [0.5, 1.0])
    assert report.interval_score.shape == (2,)
    assert report.interval_score[0] == 2.625
    assert report.confidence_level == (0.5, 0.9)
    assert [(r.group, r.level) for r in report.group_rows] == [
        ("a", 0),
        ("a", 1),
        ("b", 0),
        ("b", 1),
    ]
    assert report.worst_group == ("b", "a")  # a tie at level 0.9 goes to the first label
    np.testing.assert_allclose(report.worst_group_gap, [0.5, -0.1])
    with pytest.raises(ValueError, match="read-only"):
        report.coverage[0] = 0.0


def test_report_levels_axis_without_confidence_level_uses_positions():
    cube = np.stack([np.array(IV), np.array(IV)], axis=1)
    report = evaluate_intervals(Y, cube)
    assert report.confidence_level is None
    assert [r.level for r in report.level_rows] == [0, 1]
    assert "#1" in report.summary()


def test_report_is_immutable_and_comparable():
    report = evaluate_intervals(Y, IV, groups=GROUPS, confidence_level=0.5)
    with pytest.raises(AttributeError):
        report.coverage = 1.0
    assert report == evaluate_intervals(Y, IV, groups=GROUPS, confidence_level=0.5)
    assert report != evaluate_intervals(Y, IV, confidence_level=0.5)
    assert hash(report) == hash(evaluate_intervals(Y, IV, groups=GROUPS, confidence_level=0.5))


def test_report_summary_contains_the_numbers():
    text = evaluate_intervals(Y, IV, groups=GROUPS, confidence_level=0.5).summary()
    for number in ("0.500", "1.125", "1.25", "2.625", "4.25"):
        assert number in text
    assert "(all)" in text
    assert "worst group at level 0.5: b (coverage 0.000; gap to the nominal level +0.500)" in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_report_repr_is_short():
    report = evaluate_intervals(Y, IV, groups=GROUPS, confidence_level=0.5)
    assert repr(report) == (
        "IntervalReport(n=4, coverage=0.5, mean_width=1.125, confidence_level=0.5, n_groups=2)"
    )
    cube = np.stack([np.array(IV), np.array(IV)], axis=1)
    assert "coverage=[0.5, 0.5]" in repr(evaluate_intervals(Y, cube))


def test_report_html():
    page = evaluate_intervals(Y, IV, groups=["<b>", "b", "<b>", "b"])._repr_html_()
    assert "<table>" in page and "</table>" in page
    assert "<td>1.125</td>" in page
    assert "&lt;b&gt;" in page  # labels are escaped


def test_report_to_frame():
    frame = evaluate_intervals(Y, IV, groups=GROUPS, confidence_level=0.5).to_frame()
    assert list(frame.columns) == [
        "group",
        "level",
        "confidence_level",
        "n",
        "coverage",
        "mean_width",
        "median_width",
        "infinite_fraction",
        "interval_score",
    ]
    assert len(frame) == 3
    assert frame["group"].isna().tolist() == [True, False, False]
    assert frame["coverage"].tolist() == [0.5, 1.0, 0.0]
    assert frame["interval_score"].tolist() == [2.625, 1.0, 4.25]


def test_report_to_frame_keeps_label_types():
    frame = evaluate_intervals(Y, IV, groups=[1, 2, 1, 2]).to_frame()
    assert frame["group"].tolist() == [None, 1, 2]
    assert [type(g) for g in frame["group"][1:]] == [int, int]


def test_report_to_frame_without_level_has_nan_levels():
    frame = evaluate_intervals(Y, IV).to_frame()
    assert frame["confidence_level"].isna().all()
    assert frame["interval_score"].isna().all()


def test_to_frame_without_pandas(monkeypatch):
    report = evaluate_intervals(Y, IV)
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` raise ImportError
    with pytest.raises(ImportError, match=r"to_frame\(\) needs pandas: pip install pandas"):
        report.to_frame()


def test_the_module_works_without_pandas():
    """pandas is optional: with it blocked, the module imports and only to_frame() fails."""
    import subprocess

    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "from conformal.metrics import evaluate_intervals\n"
        "report = evaluate_intervals([1.0, 2.0], [[0, 2], [3, 4]], groups=['a', 'b'])\n"
        "print(report.summary())\n"
        "report.to_frame()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "worst group" in result.stdout, result.stderr
    assert "ImportError: to_frame() needs pandas: pip install pandas" in result.stderr


# ---------------------------------------------------------------- errors


def test_error_rows_mismatch():
    with pytest.raises(ValueError, match="y has 4 entries but intervals has 3 rows"):
        coverage(Y, IV[:3])


@pytest.mark.parametrize("shape", [(4,), (4, 3), (4, 2, 3), (4, 1, 1, 2)])
def test_error_intervals_shape(shape):
    with pytest.raises(ValueError, match=r"intervals must have shape \(n, 2\) or \(n, n_levels"):
        coverage(Y, np.zeros(shape))


def test_error_intervals_shape_names_the_shape_and_the_fix():
    with pytest.raises(ValueError, match=r"Got shape \(2, 4\) instead .*np.column_stack"):
        mean_width([[0, 1, 2, 3], [0, 1, 2, 3]])


def test_lower_above_upper_is_the_empty_interval_not_an_error():
    # lower > upper is the empty set (CQR with a negative correction): it covers nothing and has
    # width 0; see tests/metrics/test_empty_intervals.py for every metric.
    assert coverage([0.0, 0.0], [[0.0, 1.0], [3.0, 2.0]]) == 0.5
    assert mean_width([[[0.0, 1.0], [1.0, 0.0]]]).tolist() == [1.0, 0.0]


def test_error_nan_in_y():
    with pytest.raises(ValueError, match=r"y contains NaN or infinity at 1 position\(s\) "):
        coverage([1.0, np.nan, 3.0, 7.0], IV)
    with pytest.raises(ValueError, match=r"first: index 0"):
        coverage([np.inf, 2.0, 3.0, 7.0], IV)


def test_error_nan_in_intervals():
    with pytest.raises(ValueError, match=r"intervals contains NaN in 1 interval\(s\) \(first: row"):
        mean_width([[0.0, 1.0], [np.nan, 1.0]])


def test_error_non_numeric():
    with pytest.raises(ValueError, match="y must be numeric"):
        coverage(["a", "b"], [[0, 1], [0, 1]])
    with pytest.raises(ValueError, match="intervals must be numeric"):
        mean_width([["a", "b"]])
    with pytest.raises(ValueError, match="intervals must be a numeric array; its rows have"):
        mean_width([[0.0, 1.0], [0.0]])


def test_error_y_not_1d():
    with pytest.raises(
        ValueError, match=r"y must be 1-D, one value per sample. Got shape \(2, 2\)"
    ):
        coverage([[1.0, 2.0], [3.0, 4.0]], [[0, 1], [0, 1]])


def test_error_empty():
    with pytest.raises(ValueError, match="intervals is empty; metrics need at least one sample"):
        coverage([], np.zeros((0, 2)))
    with pytest.raises(ValueError, match="y is empty"):
        pinball_loss([], [], 0.5)


@pytest.mark.parametrize("bad", [1.5, 0.0, 1.0, -0.1, float("nan"), "0.9", True])
def test_error_confidence_level_out_of_range(bad):
    with pytest.raises(
        ValueError,
        match=r"The 'confidence_level' parameter must be a float in the range \(0.0, 1.0\). "
        rf"Got {repr(bad)[:3]}",
    ):
        interval_score(Y, IV, bad)


def test_error_confidence_level_message_is_exact():
    with pytest.raises(ValueError) as info:
        interval_score(Y, IV, 1.5)
    assert str(info.value) == (
        "The 'confidence_level' parameter must be a float in the range (0.0, 1.0). Got 1.5 instead."
    )
    with pytest.raises(ValueError, match=r"Got 1.5 instead"):  # numpy scalars shown plainly
        evaluate_intervals(Y, IV, confidence_level=np.float64(1.5))


def test_error_level_sequence_out_of_range():
    cube = np.stack([np.array(IV)] * 2, axis=1)
    with pytest.raises(
        ValueError,
        match=r"The 'confidence_levels' parameter must be a sequence of floats in the range "
        r"\(0.0, 1.0\). Got \[0.5, 1.5\] instead; 1.5 is not in \(0.0, 1.0\)",
    ):
        weighted_interval_score(Y, cube, [0.5, 1.5])
    with pytest.raises(ValueError, match="non-empty sequence"):
        weighted_interval_score(Y, cube, [])


def test_error_level_type_must_follow_the_intervals_shape():
    cube = np.stack([np.array(IV)] * 2, axis=1)
    with pytest.raises(ValueError, match=r"'confidence_level' must be a sequence of 2 floats"):
        interval_score(Y, cube, 0.9)
    with pytest.raises(ValueError, match=r"'confidence_level' must be a single float. Got \[0.9\]"):
        interval_score(Y, IV, [0.9])
    with pytest.raises(ValueError, match="confidence_level has 3 levels but intervals has 2"):
        interval_score(Y, cube, [0.5, 0.8, 0.9])
    with pytest.raises(ValueError, match="confidence_levels has 1 levels but intervals has 2"):
        weighted_interval_score(Y, cube, [0.5])
    with pytest.raises(ValueError, match="confidence_level has 1 levels but intervals has 2"):
        evaluate_intervals(Y, cube, confidence_level=[0.5])


def test_error_median():
    cube = np.array(IV)[:, None, :]
    with pytest.raises(ValueError, match="median has 3 entries but y has 4"):
        weighted_interval_score(Y, cube, [0.5], median=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"median contains NaN at 1 position\(s\)"):
        weighted_interval_score(Y, cube, [0.5], median=[0.0, np.nan, 0.0, 0.0])


def test_error_pinball_inputs():
    y = [1.0, 2.0]
    with pytest.raises(ValueError, match="y has 2 entries but quantile_predictions has 3 rows"):
        pinball_loss(y, [1.0, 2.0, 3.0], 0.5)
    with pytest.raises(ValueError, match=r"quantile_predictions must have shape \(n,\) or"):
        pinball_loss(y, np.zeros((2, 2, 2)), [0.5, 0.6])
    with pytest.raises(ValueError, match=r"quantile_predictions contains NaN at 1 position"):
        pinball_loss(y, [1.0, np.nan], 0.5)
    with pytest.raises(
        ValueError,
        match=r"The 'quantile_levels' parameter must be a float in the range \(0.0, 1.0\). "
        "Got 0.0 instead",
    ):
        pinball_loss(y, [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match="'quantile_levels' must be a single float"):
        pinball_loss(y, [1.0, 2.0], [0.5])
    with pytest.raises(ValueError, match="'quantile_levels' must be a sequence of 2 floats"):
        pinball_loss(y, [[1.0, 2.0], [1.0, 2.0]], 0.5)
    with pytest.raises(ValueError, match="quantile_levels has 3 levels but quantile_predictions"):
        pinball_loss(y, [[1.0, 2.0], [1.0, 2.0]], [0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"Got \[0.5, 1.0\] instead; 1.0 is not in"):
        pinball_loss(y, [[1.0, 2.0], [1.0, 2.0]], [0.5, 1.0])


def test_error_groups():
    with pytest.raises(ValueError, match="groups has 3 entries but y has 4"):
        coverage_by_group(Y, IV, ["a", "b", "a"])
    with pytest.raises(ValueError, match=r"groups must be 1-D, one label per sample"):
        evaluate_intervals(Y, IV, groups=np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"groups labels cannot be sorted: they mix types"):
        coverage_by_group(Y, IV, np.array(["a", 1, "b", 2], dtype=object))


# ---------------------------------------------------------------- CRPS of step distributions


def _integrated_crps(atoms, weights, y, points=400_001):
    """Midpoint-rule integral of (F(z) - 1{z >= y})^2 over a range holding every jump."""
    lo, hi = min(atoms.min(), y) - 1.0, max(atoms.max(), y) + 1.0
    step = (hi - lo) / points
    z = lo + step * (np.arange(points) + 0.5)
    order = np.argsort(atoms)
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    F = cumulative[np.searchsorted(atoms[order], z, side="right")]
    return float(np.sum((F - (z >= y)) ** 2) * step)


def test_crps_by_hand():
    assert crps([0.0], [[0.0]]) == 0.0
    assert crps([2.0], [[0.5]]) == 1.5  # a point forecast: |x - y|
    assert crps([0.0, 3.0], [[-1.0, 1.0], [1.0, -1.0]]) == 1.5  # order of atoms is irrelevant
    assert crps([0.0], [[-1.0, 1.0]], weights=[[0.25, 0.75]]) == 0.625
    assert crps([0.0, 3.0], [-1.0, 1.0]) == 1.5  # one support shared by all targets


@pytest.mark.parametrize("seed", range(4))
def test_crps_equals_numerical_integration_with_ties_and_weights(seed):
    rng = np.random.default_rng(seed)
    atoms = rng.integers(-3, 4, size=12).astype(float)  # ties
    weights = rng.dirichlet(np.ones(12))
    for y in (-10.0, -1.0, 0.5, atoms[0], 10.0):
        expected = _integrated_crps(atoms, weights, y)
        assert crps([y], atoms[None], weights[None]) == pytest.approx(expected, abs=2e-4)


def test_crps_of_normal_quantiles_approaches_the_normal_crps():
    atoms = norm.ppf((np.arange(2000) + 0.5) / 2000)
    y = np.array([-2.0, 0.0, 0.7, 3.0])
    expected = np.mean(_crps_standard_normal(y))
    assert crps(y, atoms) == pytest.approx(expected, rel=2e-3)


def test_crps_errors():
    with pytest.raises(ValueError, match="support must have shape"):
        crps([0.0, 1.0], [[0.0]])
    with pytest.raises(ValueError, match="support contains NaN or infinity"):
        crps([0.0], [[0.0, INF]])
    with pytest.raises(ValueError, match="weights must sum to 1 for every sample; row 0"):
        crps([0.0], [[0.0, 1.0]], weights=[0.5, 0.6])
    with pytest.raises(ValueError, match="weights must have the shape of support"):
        crps([0.0], [[0.0, 1.0]], weights=[1.0])
    with pytest.raises(ValueError, match="weights must be finite and non-negative"):
        crps([0.0], [[0.0, 1.0]], weights=[1.5, -0.5])
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        crps([np.nan], [[0.0]])
    with pytest.raises(ValueError, match="y is empty"):
        crps([], [[0.0]])
