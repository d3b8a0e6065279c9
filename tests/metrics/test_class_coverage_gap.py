"""class_coverage_gap: the mean over classes of |class coverage - level| (Ding et al. 2023)."""

import numpy as np
import pytest

from conformal.metrics import class_coverage_gap, coverage_by_class

SETS = [[True, False], [True, True], [True, False], [False, True]]
# class 0: row 0, covered -> 1; class 1: rows 1, 2, 3, covered 1 and 3 -> 2/3


def test_hand_computed():
    expected = (abs(1.0 - 0.8) + abs(2 / 3 - 0.8)) / 2
    assert class_coverage_gap([0, 1, 1, 1], SETS, confidence_level=0.8) == pytest.approx(
        expected, abs=1e-15
    )


def test_labels_and_absent_classes():
    # class "z" has no target: it has no coverage and does not count
    sets = [[True, False, True], [False, True, False]]
    got = class_coverage_gap(["x", "y"], sets, ["x", "y", "z"], confidence_level=0.5)
    assert got == 0.5  # both present classes covered: (|1 - 0.5| + |1 - 0.5|) / 2


def test_one_value_per_level():
    sets = np.stack([SETS, [[True, True]] * 4], axis=1)  # level 1 covers everything
    got = class_coverage_gap([0, 1, 1, 1], sets, confidence_level=[0.8, 0.9])
    assert got.shape == (2,)
    assert got[0] == class_coverage_gap([0, 1, 1, 1], SETS, confidence_level=0.8)
    assert got[1] == pytest.approx(0.1, abs=1e-15)


def test_matches_the_benchmark_formula():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, size=300)
    sets = rng.random((300, 5)) < 0.6
    by_class = [float(c.coverage) for c in coverage_by_class(y, sets).values()]
    assert class_coverage_gap(y, sets, confidence_level=0.9) == float(
        np.mean(np.abs(np.array(by_class) - 0.9))
    )


def test_level_must_match_the_shape():
    with pytest.raises(ValueError, match="must be a single float"):
        class_coverage_gap([0, 1, 1, 1], SETS, confidence_level=[0.8, 0.9])
    with pytest.raises(TypeError):
        class_coverage_gap([0, 1, 1, 1], SETS, None, 0.8)  # the level is keyword-only
