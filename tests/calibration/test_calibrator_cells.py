"""Calibrator.cell_thresholds: the per-cell threshold table of a Mondrian calibrator."""

import warnings

import numpy as np
import pytest

from conformal import ConformalWarning
from conformal.calibration import Calibrator, MondrianCells, TestContext


def _cells(labels, **kwargs):
    return MondrianCells(np.asarray(labels), **kwargs)


def test_each_row_is_the_threshold_of_its_cell_alone():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=300)
    labels = rng.integers(0, 4, size=300)
    levels = [0.5, 0.8, 0.9]
    cal = Calibrator(scores, groups=labels)
    table = cal.cell_thresholds(levels)
    assert table.shape == (4, 3)
    for cell in range(4):
        alone = Calibrator(scores[labels == cell]).threshold(levels)
        np.testing.assert_array_equal(table[cell], alone)
    # the same numbers as threshold() with one test point per cell
    per_point = cal.threshold(levels, test=TestContext(groups=np.arange(4)))
    np.testing.assert_array_equal(table, per_point)
    lower = cal.cell_thresholds(levels, side="lower")
    for cell in range(4):
        alone = Calibrator(scores[labels == cell]).threshold(levels, side="lower")
        np.testing.assert_array_equal(lower[cell], alone)


def test_empty_and_small_cells_are_infinite_with_one_warning_naming_them():
    scores = np.arange(1.0, 13.0)
    cells = _cells(
        [0] * 9 + [2] * 3,
        unit="class",
        names=["class 'a'", "class 'b'", "class 'c'"],
        categories=np.arange(3),
    )
    cal = Calibrator(scores, groups=cells, outcome="infinite thresholds")
    with pytest.warns(ConformalWarning) as record:
        table = cal.cell_thresholds([0.5, 0.9], consequence=": these classes are always in")
    assert len(record) == 1
    message = str(record[0].message)
    assert message == (
        "too few calibration points: class 'b' has 0 points, class 'c' has 3 points; "
        "confidence_level=0.9 needs at least 9 per class (or returns infinite thresholds): "
        "these classes are always in"
    )
    np.testing.assert_array_equal(table, [[5.0, 9.0], [np.inf, np.inf], [11.0, np.inf]])


def test_used_restricts_the_warning_not_the_table():
    scores = np.arange(1.0, 13.0)
    cal = Calibrator(scores, groups=[0] * 9 + [1] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = cal.cell_thresholds([0.9], used=[True, False])
    np.testing.assert_array_equal(table, [[9.0], [np.inf]])
    with pytest.warns(ConformalWarning, match=r"group 1 has 3 points; confidence_level=0.9"):
        cal.cell_thresholds([0.9], used=np.array([False, True]))


def test_two_column_scores_add_a_last_axis_at_the_one_sided_level():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(200, 2))
    labels = np.repeat([0, 1], 100)
    table = Calibrator(scores, groups=labels).cell_thresholds([0.8])
    assert table.shape == (2, 1, 2)
    for cell in range(2):
        alone = Calibrator(scores[labels == cell]).threshold([0.8])
        np.testing.assert_array_equal(table[cell], alone)


def test_errors():
    with pytest.raises(ValueError, match=r"cell_thresholds needs an unweighted Mondrian"):
        Calibrator(np.arange(5.0)).cell_thresholds([0.9])
    weighted = Calibrator(np.arange(4.0), weights=np.ones(4), groups=[0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"cell_thresholds needs an unweighted Mondrian"):
        weighted.cell_thresholds([0.9])
    cal = Calibrator(np.arange(4.0), groups=[0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"used must be a boolean mask of shape \(2,\)"):
        cal.cell_thresholds([0.5], used=[True])
    with pytest.raises(ValueError, match=r"The 'side' parameter must be 'upper' or 'lower'"):
        cal.cell_thresholds([0.5], side="both")
