"""The learner-free layer: exact ranks, infinite edges, weights, groups and error messages."""

import numpy as np
import pytest

from conformal import ConformalWarning, conformal_quantile, conformal_rank, min_calibration_size
from tests import _reference as ref


def test_nine_points_at_ninety_percent_give_the_ninth_smallest():
    scores = np.random.default_rng(0).permutation(np.arange(1.0, 10.0))
    assert conformal_quantile(scores, 0.9) == 9.0


def test_eight_points_at_ninety_percent_give_inf_and_name_the_needed_size():
    with pytest.warns(
        ConformalWarning, match=r"has 8 points; confidence_level=0.9 needs at least 9"
    ):
        q = conformal_quantile(np.arange(1.0, 9.0), 0.9)
    assert q == np.inf


def test_lower_side_gives_minus_inf_when_too_few():
    with pytest.warns(ConformalWarning, match="needs at least 9"):
        assert conformal_quantile(np.arange(8.0), 0.9, side="lower") == -np.inf
    assert conformal_quantile(np.arange(1.0, 10.0), 0.9, side="lower") == 1.0


@pytest.mark.parametrize("num", range(1, 20))
@pytest.mark.parametrize("n", [1, 9, 10, 19, 20, 99, 100, 1001])
def test_ranks_are_exact_for_decimal_levels(n, num):
    """0.95 * 20 must be 19, not 19.000000000000004 rounded up to 20."""
    level = round(1 - num / 20, 2)
    assert conformal_rank(n, level) == ref.upper_rank(n, num, 20)
    assert conformal_rank(n, level, side="lower") == ref.lower_rank(n, num, 20)


def test_min_calibration_size():
    assert [min_calibration_size(x) for x in (0.5, 0.8, 0.9, 0.95, 0.99)] == [1, 4, 9, 19, 99]


def test_several_levels_at_once_match_one_at_a_time():
    s = np.random.default_rng(1).normal(size=501)
    levels = [0.5, 0.8, 0.9, 0.95]
    np.testing.assert_array_equal(
        conformal_quantile(s, levels), [conformal_quantile(s, lv) for lv in levels]
    )
    assert conformal_quantile(s, (0.9,)).shape == (1,)
    assert conformal_quantile(s, 0.9).shape == ()


def test_unit_weights_equal_unweighted():
    s = np.random.default_rng(2).normal(size=99)
    assert conformal_quantile(s, 0.9, weights=np.ones(99)) == conformal_quantile(s, 0.9)


def test_per_test_point_weights_match_fixed_weight_calls():
    rng = np.random.default_rng(4)
    s, w = rng.normal(size=300), rng.uniform(0.1, 2, size=300)
    tw = rng.uniform(0, 3, size=40)
    got = conformal_quantile(s, [0.8, 0.9], weights=w, test_weights=tw)
    assert got.shape == (40, 2)
    for j in range(40):
        np.testing.assert_array_equal(
            got[j], conformal_quantile(s, [0.8, 0.9], weights=w, test_weights=tw[j])
        )


def test_weighted_lower_side_mirrors_upper():
    rng = np.random.default_rng(5)
    s, w = rng.normal(size=50), rng.uniform(size=50)
    assert conformal_quantile(s, 0.9, side="lower", weights=w) == -conformal_quantile(
        -s, 0.9, weights=w
    )


def test_groups_calibrate_each_group_alone():
    rng = np.random.default_rng(6)
    s = rng.normal(size=200)
    g = rng.integers(0, 3, size=200)
    test_g = np.array([2, 0, 1, 1])
    got = conformal_quantile(s, 0.8, groups=g, test_groups=test_g)
    for j, label in enumerate(test_g):
        assert got[j] == conformal_quantile(s[g == label], 0.8)


def test_unseen_group_is_infinite_with_warning():
    with pytest.warns(ConformalWarning, match=r"test group\(s\) \['c'\] have no calibration"):
        got = conformal_quantile(
            np.arange(20.0), 0.8, groups=["a"] * 10 + ["b"] * 10, test_groups=["a", "c"]
        )
    assert np.isfinite(got[0]) and got[1] == np.inf


def test_small_group_warning_names_the_group():
    with pytest.warns(ConformalWarning, match="group 'b' has 3 points"):
        conformal_quantile(np.arange(13.0), 0.9, groups=["a"] * 10 + ["b"] * 3, test_groups=["a"])


def test_weights_within_groups():
    rng = np.random.default_rng(7)
    s, w, g = rng.normal(size=100), rng.uniform(size=100), rng.integers(0, 2, size=100)
    got = conformal_quantile(s, 0.7, weights=w, groups=g, test_groups=[0, 1])
    assert got[1] == conformal_quantile(s[g == 1], 0.7, weights=w[g == 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"confidence_level": 1.5}, r"must be a float in the range \(0.0, 1.0\).*Got 1.5"),
        ({"confidence_level": 0.0}, r"Got 0.0 instead"),
        ({"confidence_level": [0.9, float("nan")]}, r"Got nan instead"),
        ({"side": "middle"}, r"'side' parameter must be 'upper' or 'lower'. Got 'middle'"),
        ({"weights": np.ones(3)}, r"weights has 3 entries; expected 5"),
        ({"weights": -np.ones(5)}, r"weights must be finite and non-negative"),
        ({"test_weights": np.ones(2)}, r"test_weights was given without weights"),
        ({"groups": np.zeros(5)}, r"groups and test_groups must be given together"),
        ({"groups": np.zeros(4), "test_groups": [0]}, r"groups has 4 entries; expected 5"),
    ],
)
def test_errors_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conformal_quantile(np.arange(5.0), **kwargs)


def test_scores_must_be_one_dimensional_and_not_nan():
    with pytest.raises(ValueError, match=r"1-D array of conformity scores. Got shape \(2, 2\)"):
        conformal_quantile(np.ones((2, 2)))
    with pytest.raises(ValueError, match="scores contains NaN"):
        conformal_quantile([1.0, np.nan])


def test_infinite_scores_are_allowed():
    """n = 19 at 0.9 takes the 18th smallest: one infinite score is not reached, two are."""
    assert conformal_quantile([1.0] * 18 + [np.inf], 0.9) == 1.0
    assert conformal_quantile([1.0] * 17 + [np.inf] * 2, 0.9) == np.inf
