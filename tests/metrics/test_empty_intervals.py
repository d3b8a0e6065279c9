"""An interval with lower > upper is the empty set: it covers nothing, has width 0, and scores as
width 0 plus both miss terms of the interval score. Conformalized quantile regression returns
such intervals when its correction is negative, so no metric may refuse them or swap their bounds.

The running example, worked out by hand (level 0.5, so a = 0.5 and 2/a = 4):

    row  y    [lower, upper]  empty  covered  width  IS = width + 4 (l - y)_+ + 4 (y - u)_+
    0    1.5  [2, 1]          yes    no       0      0 + 4 * 0.5 + 4 * 0.5 = 4   (u < y < l)
    1    0    [2, 1]          yes    no       0      0 + 4 * 2             = 8   (y < u)
    2    3    [0, 4]          no     yes      4      4
    3    1    [1, 1]          no     yes      0      0

coverage 2/4, mean width 4/4 = 1, median width 0, mean IS 16/4 = 4.
"""

import numpy as np
import pytest

from conformal.metrics import (
    GroupCoverage,
    coverage,
    coverage_by_group,
    evaluate_intervals,
    interval_score,
    mean_width,
    weighted_interval_score,
)

INF = np.inf
Y = [1.5, 0.0, 3.0, 1.0]
IV = [[2.0, 1.0], [2.0, 1.0], [0.0, 4.0], [1.0, 1.0]]
GROUPS = ["e", "e", "f", "f"]  # e: the two empty intervals; f: the two that cover


# ---------------------------------------------------------------- coverage and width


def test_coverage_counts_an_empty_interval_as_a_miss():
    assert coverage(Y, IV) == 0.5
    # a target on a bound of an empty interval, or between its bounds, is still missed
    assert coverage([1.0, 2.0, 1.5], [[2.0, 1.0]] * 3) == 0.0


def test_mean_width_of_an_empty_interval_is_zero():
    assert mean_width(IV) == 1.0
    assert mean_width([[2.0, 1.0]]) == 0.0  # not the negative upper - lower = -1


def test_empty_intervals_with_infinite_bounds_have_width_zero_and_cover_nothing():
    crossed = [[INF, -INF], [INF, 5.0], [5.0, -INF]]
    assert mean_width(crossed) == 0.0
    assert coverage([0.0, 0.0, 0.0], crossed) == 0.0


def test_shape_rule_with_one_empty_level():
    # level 0 is empty for both samples, level 1 covers both
    iv = [[[1.0, -1.0], [-1.0, 1.0]], [[1.0, -1.0], [-2.0, 2.0]]]
    assert coverage([0.0, 0.0], iv).tolist() == [0.0, 1.0]
    assert mean_width(iv).tolist() == [0.0, 3.0]


def test_coverage_by_group_with_empty_intervals():
    assert coverage_by_group(Y, IV, GROUPS) == {
        "e": GroupCoverage(coverage=0.0, mean_width=0.0, n=2),
        "f": GroupCoverage(coverage=1.0, mean_width=2.0, n=2),
    }


# ---------------------------------------------------------------- interval score


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        (1.5, 4.0),  # between the bounds: (2/a) (l - u)
        (1.0, 4.0),  # on the upper bound: (2/a) (l - u), never 0
        (2.0, 4.0),  # on the lower bound: (2/a) (l - u), never 0
        (0.0, 8.0),  # below both: (2/a) (l - y)
        (3.0, 8.0),  # above both: (2/a) (y - u)
    ],
)
def test_interval_score_of_an_empty_interval(y, expected):
    assert interval_score([y], [[2.0, 1.0]], 0.5) == expected


def test_interval_score_running_example():
    assert interval_score(Y, IV, 0.5) == 4.0


def test_interval_score_of_an_empty_interval_is_at_least_that_of_a_point_at_either_bound():
    rng = np.random.default_rng(0)
    upper = rng.normal(size=200)
    lower = upper + rng.exponential(size=200)  # lower > upper: empty
    y = rng.normal(scale=2.0, size=200)
    for k in range(200):
        empty = interval_score([y[k]], [[lower[k], upper[k]]], 0.8)
        for bound in (lower[k], upper[k]):
            assert empty >= interval_score([y[k]], [[bound, bound]], 0.8)


def test_interval_score_of_an_empty_interval_is_the_raw_formula_plus_the_crossing():
    # The Gneiting-Raftery formula on the raw bounds has the negative width u - l; the
    # convention replaces it by 0, which adds exactly l - u.
    rng = np.random.default_rng(1)
    upper = rng.normal(size=50)
    lower = upper + rng.exponential(size=50)
    y = rng.normal(scale=2.0, size=50)
    a = 0.2
    raw = (
        (upper - lower)
        + (2 / a) * np.maximum(lower - y, 0.0)
        + (2 / a) * np.maximum(y - upper, 0.0)
    )
    got = [interval_score([y[k]], [[lower[k], upper[k]]], 0.8) for k in range(50)]
    np.testing.assert_allclose(got, raw + (lower - upper), rtol=1e-12)


def test_interval_score_is_continuous_as_an_interval_uncrosses():
    # [c + e, c] -> [c, c] as e -> 0: the empty interval's score tends to the point's
    for y in (-1.0, 0.0, 2.0):
        point = interval_score([y], [[0.5, 0.5]], 0.9)
        assert interval_score([y], [[0.5 + 1e-9, 0.5]], 0.9) == pytest.approx(point, abs=1e-7)


def test_interval_score_of_an_empty_interval_with_an_infinite_bound_is_infinite():
    assert interval_score([0.0], [[INF, -INF]], 0.9) == INF
    assert interval_score([0.0], [[INF, 5.0]], 0.9) == INF


def test_weighted_interval_score_with_an_empty_level():
    # level 0.5: [1.5, 0.5] is empty, y = 0 below it: IS = 4 * 1.5 = 6, (a/2) IS = 1.5;
    # level 0.8: [-1, 3] covers, IS = 4, (a/2) IS = 0.4. Median term 0.5 * |0 - 1| = 0.5.
    iv = [[[1.5, 0.5], [-1.0, 3.0]]]
    assert weighted_interval_score([0.0], iv, [0.5, 0.8]) == pytest.approx(1.9 / 2, abs=1e-15)
    got = weighted_interval_score([0.0], iv, [0.5, 0.8], median=[1.0])
    assert got == pytest.approx(2.4 / 2.5, abs=1e-15)


def test_weighted_interval_score_exceeds_the_pinball_form_by_the_crossings():
    # For non-empty intervals WIS = pinball losses of the 2K + 1 quantiles; each crossed level
    # adds (a_k / 2) (l_k - u_k) before the normalisation.
    rng = np.random.default_rng(2)
    n, levels = 40, [0.5, 0.8, 0.9]
    alphas = 1 - np.array(levels)
    lower = rng.normal(size=(n, 3))
    upper = lower + rng.normal(size=(n, 3))  # about half crossed
    y, median = rng.normal(size=n), rng.normal(size=n)

    def pinball(q, tau):
        return np.maximum(tau * (y - q), (tau - 1) * (y - q))

    quantile_sum = sum(
        (2 / a) * (pinball(lower[:, k], a / 2) + pinball(upper[:, k], 1 - a / 2)) * (a / 2)
        for k, a in enumerate(alphas)
    )
    crossing = sum(
        (a / 2) * np.maximum(lower[:, k] - upper[:, k], 0.0) for k, a in enumerate(alphas)
    )
    expected = np.mean((0.5 * np.abs(y - median) + quantile_sum + crossing) / 3.5)
    iv = np.stack([lower, upper], axis=-1)
    got = weighted_interval_score(y, iv, levels, median=median)
    assert got == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- report


def test_evaluate_intervals_with_empty_intervals():
    report = evaluate_intervals(Y, IV, groups=GROUPS, confidence_level=0.5)
    assert report.coverage == 0.5
    assert report.mean_width == 1.0
    assert report.median_width == 0.0
    assert report.infinite_fraction == 0.0
    assert report.interval_score == 4.0
    assert report.worst_group == "e"
    assert report.worst_group_coverage == 0.0
    assert report.worst_group_gap == 0.5
    by_group = {row.group: row for row in report.group_rows}
    assert (by_group["e"].mean_width, by_group["e"].interval_score) == (0.0, 6.0)  # (4 + 8) / 2
    assert (by_group["f"].mean_width, by_group["f"].interval_score) == (2.0, 2.0)  # (4 + 0) / 2


def test_evaluate_intervals_never_counts_an_empty_interval_as_infinite():
    report = evaluate_intervals([0.0, 0.0], [[INF, -INF], [-INF, INF]])
    assert report.infinite_fraction == 0.5
    assert report.coverage == 0.5
    assert report.median_width == INF  # median of [0, inf]


# ---------------------------------------------------------------- NaN bounds stay errors

NAN_IV = [[0.0, 1.0], [np.nan, 1.0]]
NAN_MESSAGE = r"intervals contains NaN in 1 interval\(s\) \(first: row 1\); bounds must be numbers"


@pytest.mark.parametrize(
    "metric",
    [
        lambda: coverage([0.0, 0.0], NAN_IV),
        lambda: mean_width(NAN_IV),
        lambda: interval_score([0.0, 0.0], NAN_IV, 0.9),
        lambda: weighted_interval_score([0.0, 0.0], NAN_IV, 0.9),
        lambda: coverage_by_group([0.0, 0.0], NAN_IV, ["a", "b"]),
        lambda: evaluate_intervals([0.0, 0.0], NAN_IV),
    ],
    ids=["coverage", "mean_width", "interval_score", "wis", "by_group", "evaluate"],
)
def test_nan_bound_is_an_error(metric):
    with pytest.raises(ValueError, match=NAN_MESSAGE):
        metric()


def test_nan_bound_error_names_the_level():
    with pytest.raises(ValueError, match=r"first: row 0, level 1\)"):
        coverage([0.0], [[[1.0, 0.0], [np.nan, np.nan]]])
