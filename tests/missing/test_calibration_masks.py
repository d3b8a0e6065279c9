"""The learner-free mask calibration (conformal.calibration._masks) and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from conformal.calibration import TestContext
from conformal.calibration._masks import (
    MaskCalibration,
    check_masks,
    describe_mask,
    mask_groups,
    row_blocks,
)
from conformal.exceptions import ConformalWarning


def test_compatible_and_augmented_masks_follow_inclusion():
    rng = np.random.default_rng(0)
    masks = rng.random((50, 5)) < 0.3
    cal = MaskCalibration(masks)
    for m in rng.random((10, 5)) < 0.4:
        expected = [k for k in range(50) if all(m[j] or not masks[k, j] for j in range(5))]
        assert cal.compatible(m).tolist() == expected
        unique, inverse = cal.augmented(m)
        np.testing.assert_array_equal(unique[inverse], masks | m)
        assert len({tuple(r) for r in unique}) == unique.shape[0]


def test_exact_threshold_is_the_conformal_order_statistic():
    cal = MaskCalibration(np.zeros((3, 2), dtype=bool))
    scores = [np.arange(19.0, 0.0, -1.0), np.arange(1.0, 10.0), np.arange(8.0)]
    with pytest.warns(ConformalWarning, match=r"test mask 2 has 8 compatible calibration points"):
        out = cal.exact_thresholds(scores, [0.5, 0.9])
    np.testing.assert_array_equal(out, [[10.0, 18.0], [5.0, 9.0], [4.0, np.inf]])


def test_nested_bounds_ranks_and_infinite_edges():
    cal = MaskCalibration(np.zeros((9, 1), dtype=bool))
    lower = np.arange(9.0)[::-1][np.newaxis]
    upper = np.arange(10.0, 19.0)[np.newaxis]
    out = cal.nested_bounds(lower, upper, [0.5, 0.9])
    # a = 0.5: floor(0.5 * 10) = 5th smallest lower, ceil(0.5 * 10) = 5th smallest upper;
    # a = 0.1: floor(1) = 1st smallest lower, ceil(9) = 9th smallest upper
    np.testing.assert_array_equal(out[0], [[4.0, 14.0], [0.0, 18.0]])
    with pytest.warns(ConformalWarning, match=r"calibration set has 9 points; .*0.95 needs"):
        far = cal.nested_bounds(lower, upper, 0.95)
    assert far[0, 0, 0] == -np.inf and far[0, 0, 1] == np.inf


def test_groups_and_errors():
    cal = MaskCalibration([[0, 1], [1, 1]], feature_names=["a", "b"])
    unique, inverse = cal.groups(TestContext(masks=np.array([[1, 0], [0, 0], [1, 0]], bool)))
    assert unique.astype(int).tolist() == [[0, 0], [1, 0]] and inverse.tolist() == [1, 0, 1]
    assert repr(cal) == "MaskCalibration(n_calibration=2, n_features=2)"
    assert describe_mask(np.array([True, False]), ["a", "b"]) == (
        "the mask with features ['a'] missing"
    )
    assert describe_mask(np.ones(10, bool)).endswith("[0, 1, 2, 3, 4, 5, 6, 7] and 2 more missing")
    with pytest.raises(ValueError, match=r"mask calibration needs the test masks"):
        cal.groups(TestContext())
    with pytest.raises(ValueError, match=r"test masks has 3 columns; expected 2, one per feature"):
        cal.groups(TestContext(masks=np.zeros((1, 3), bool)))
    with pytest.raises(ValueError, match=r"masks must be a 2-D boolean array.* Got shape \(3,\)"):
        check_masks(np.zeros(3))
    with pytest.raises(ValueError, match=r"scores contains NaN; conformity scores must be"):
        cal.exact_thresholds([np.array([np.nan])], 0.9)
    with pytest.raises(ValueError, match=r"lower_values and upper_values must both have shape"):
        cal.nested_bounds(np.zeros((1, 2)), np.zeros((1, 3)), 0.9)
    assert mask_groups(np.zeros((0, 2)))[0].shape == (0, 2)


def test_row_blocks_cover_the_rows_within_the_budget():
    blocks = list(row_blocks(10, 300, budget=1000))
    assert [(b.start, b.stop) for b in blocks] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert [(b.start, b.stop) for b in row_blocks(2, 10**9, budget=10)] == [(0, 1), (1, 2)]
