"""Prediction-set metrics: hand-computed values, shape rules, the report, and errors."""

import numpy as np
import pandas as pd
import pytest

from conformal.metrics import (
    SetCoverage,
    SetReport,
    SetRow,
    coverage_by_class,
    coverage_by_set_size,
    empty_set_fraction,
    evaluate_sets,
    mean_set_size,
    set_coverage,
    singleton_fraction,
)

# The running example, worked out by hand (classes a, b, c):
#   row  y  set        covered  size
#   0    a  {a}        yes      1
#   1    b  {a, b}     yes      2
#   2    b  {c}        no       1
#   3    c  {}         no       0
#   4    c  {a, b, c}  yes      3
# coverage 3/5, mean size 7/5, empty 1/5, singleton 2/5
# by class: a 1/1 (size 1), b 1/2 (sizes 2, 1), c 1/2 (sizes 0, 3)
# by size: 0 -> 0/1, 1 -> 1/2, 2 -> 1/1, 3 -> 1/1
Y = ["a", "b", "b", "c", "c"]
CLASSES = ["a", "b", "c"]
SETS = np.array(
    [
        [True, False, False],
        [True, True, False],
        [False, False, True],
        [False, False, False],
        [True, True, True],
    ]
)
GROUPS = ["x", "x", "y", "y", "y"]  # x: rows 0, 1 (both covered); y: rows 2-4 (one of three)
CODES = [0, 1, 1, 2, 2]


def test_hand_computed_values():
    assert set_coverage(Y, SETS, classes=CLASSES) == pytest.approx(0.6)
    assert set_coverage(CODES, SETS) == pytest.approx(0.6)
    assert mean_set_size(SETS) == pytest.approx(1.4)
    assert empty_set_fraction(SETS) == pytest.approx(0.2)
    assert singleton_fraction(SETS) == pytest.approx(0.4)
    by_class = coverage_by_class(Y, SETS, classes=CLASSES)
    assert list(by_class) == ["a", "b", "c"]
    assert by_class["b"] == SetCoverage(coverage=0.5, mean_size=1.5, n=2)
    assert by_class["c"] == SetCoverage(coverage=0.5, mean_size=1.5, n=2)
    by_size = coverage_by_set_size(Y, SETS, classes=CLASSES)
    assert {s: (r.coverage, r.n) for s, r in by_size.items()} == {
        0: (0.0, 1),
        1: (0.5, 2),
        2: (1.0, 1),
        3: (1.0, 1),
    }


def test_several_levels_give_one_value_per_level():
    wide = np.ones_like(SETS)
    cube = np.stack([SETS, wide], axis=1)  # (5, 2, 3)
    np.testing.assert_allclose(set_coverage(CODES, cube), [0.6, 1.0])
    np.testing.assert_allclose(mean_set_size(cube), [1.4, 3.0])
    np.testing.assert_allclose(empty_set_fraction(cube), [0.2, 0.0])
    np.testing.assert_allclose(singleton_fraction(cube), [0.4, 0.0])
    np.testing.assert_allclose(coverage_by_class(CODES, cube)[1].coverage, [0.5, 1.0])
    with pytest.raises(ValueError, match=r"takes sets of one level, .* pass sets\[:, j\]"):
        coverage_by_set_size(CODES, cube)


def test_report_rows_and_worst_strata():
    report = evaluate_sets(Y, SETS, classes=CLASSES, groups=GROUPS, confidence_level=0.9)
    assert isinstance(report, SetReport)
    assert report.coverage == pytest.approx(0.6) and report.mean_size == pytest.approx(1.4)
    assert report.worst_class == "b" and report.worst_class_gap == pytest.approx(0.4)
    assert report.worst_group == "y"
    assert report.worst_group_coverage == pytest.approx(1 / 3)
    assert [row.stratum for row in report.class_rows] == ["a", "b", "c"]
    assert [(row.stratum, row.n) for row in report.size_rows] == [(0, 1), (1, 2), (2, 1), (3, 1)]
    assert all(isinstance(row, SetRow) for row in report.rows)
    assert len(report.rows) == 1 + 3 + 4 + 2
    assert repr(report) == (
        "SetReport(n=5, coverage=0.6, mean_size=1.4, confidence_level=0.9, n_groups=2)"
    )
    text = report.summary()
    assert text.splitlines()[0] == "SetReport: 5 samples, 1 level, 3 classes, 2 groups"
    assert "worst class at level 0.9: b (coverage 0.500; gap to the nominal level +0.400)" in text
    assert "worst group at level 0.9: y" in text
    html = report._repr_html_()
    assert html.startswith("<div><p><b>SetReport</b>") and html.count("<tr>") == 11
    assert report == evaluate_sets(Y, SETS, classes=CLASSES, groups=GROUPS, confidence_level=0.9)
    assert hash(report) == hash(
        evaluate_sets(Y, SETS, classes=CLASSES, groups=GROUPS, confidence_level=0.9)
    )


def test_report_with_levels_and_to_frame():
    cube = np.stack([SETS, np.ones_like(SETS)], axis=1)
    report = evaluate_sets(CODES, cube, confidence_level=[0.5, 0.9])
    np.testing.assert_allclose(report.coverage, [0.6, 1.0])
    assert report.worst_class == (1, 0) and report.confidence_level == (0.5, 0.9)
    with pytest.raises(ValueError, match="read-only"):
        report.coverage[0] = 1.0
    frame = report.to_frame()
    assert list(frame.columns) == list(SetRow._fields)
    assert frame["by"].tolist()[:2] == ["all", "all"]
    assert frame["stratum"].tolist()[:2] == [None, None]
    assert frame.loc[(frame["by"] == "size") & (frame["level"] == 1), "stratum"].tolist() == [3]
    plain = evaluate_sets(CODES, SETS).to_frame()
    assert plain["confidence_level"].isna().all()
    assert "worst class: 1 (coverage 0.500; gap to the overall coverage +0.100)" in (
        evaluate_sets(CODES, SETS).summary()
    )


def test_inputs_are_not_modified_and_pandas_works():
    sets = SETS.copy()
    y = pd.Series(Y, index=[10, 11, 12, 13, 14])
    report = evaluate_sets(y, pd.DataFrame(sets).to_numpy(), classes=pd.Index(CLASSES))
    np.testing.assert_array_equal(sets, SETS)
    assert report.coverage == pytest.approx(0.6)
    assert set_coverage(CODES, sets.astype(int)) == pytest.approx(0.6)  # 0/1 integers


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: set_coverage(CODES, SETS[:, 0]), r"sets must have shape \(n, n_classes\)"),
        (lambda: set_coverage([], np.zeros((0, 3), bool)), r"sets is empty"),
        (lambda: set_coverage(CODES, SETS * 2), r"sets must be boolean \(or 0/1\)"),
        (lambda: set_coverage(CODES, [[True], [True, False]]), r"rows have different lengths"),
        (lambda: set_coverage(Y, SETS), r"without classes, y must hold column indices"),
        (lambda: set_coverage([0, 1, 1, 2, 3], SETS), r"integers in \[0, 2\]"),
        (lambda: set_coverage(Y, SETS, classes=["a", "b"]), r"must list the 3 class labels"),
        (lambda: set_coverage(["a", "z", "b", "c", "c"], SETS, classes=CLASSES), r"\['z'\]"),
        (lambda: set_coverage(CODES[:4], SETS), r"y has 4 entries but sets has 5 rows"),
        (lambda: set_coverage(np.zeros((5, 2), int), SETS), r"y must be 1-D"),
        (lambda: evaluate_sets(CODES, SETS, groups=[0, 1]), r"groups has 2 entries"),
        (lambda: evaluate_sets(CODES, SETS, confidence_level=[0.9]), r"must be a single float"),
        (lambda: evaluate_sets(CODES, SETS, confidence_level=1.2), r"Got 1.2 instead"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
