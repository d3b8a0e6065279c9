"""Every error message of batch inference, matched."""

from __future__ import annotations

import numpy as np
import pytest

from conformal.batch import (
    batch_lower_rank,
    batch_mean_bound,
    batch_quantile_bound,
    batch_quantile_rank,
    batch_rank_law,
    batch_rank_sum_law,
    batch_selection_threshold,
    batch_simultaneous_rank,
    batch_simultaneous_threshold,
    bonferroni_rank,
    min_batch_calibration_size,
)
from conformal.calibration import Calibrator

SCORES = np.arange(1.0, 101.0)


@pytest.mark.parametrize("m", [0, -3, 2.5, True, "10"])
def test_batch_size(m):
    match = r"m \(the batch size\) must be an int >= 1\. Got .* instead\. A batch has at least"
    for call in (
        lambda: batch_rank_law(10, m, 1),
        lambda: batch_rank_sum_law(10, m),
        lambda: batch_simultaneous_rank(10, m, 0.9),
        lambda: bonferroni_rank(10, m, 0.9),
        lambda: min_batch_calibration_size(m, 1, 0.9),
        lambda: batch_mean_bound(SCORES, m, 0.9, score_bound=200.0),
        lambda: batch_quantile_bound(SCORES, m, 0.9),
        lambda: batch_simultaneous_threshold(SCORES, m, 0.9),
        lambda: batch_selection_threshold(SCORES, m, 0.9),
    ):
        with pytest.raises(ValueError, match=match):
            call()


@pytest.mark.parametrize("n", [-1, 1.5, None])
def test_calibration_size(n):
    with pytest.raises(
        ValueError, match=r"n \(the number of calibration scores\) must be an int >= 0\. Got"
    ):
        batch_rank_law(n, 5, 1)


@pytest.mark.parametrize("zeta", [0, 6, -1, 2.0])
def test_zeta(zeta):
    match = (
        r"zeta \(the rank of the batch order statistic\) must be an int in \[1, 5\]\. Got .* "
        r"instead\. zeta=1 is the smallest of the m=5 test scores, zeta=5 the largest\."
    )
    for call in (
        lambda: batch_rank_law(10, 5, zeta),
        lambda: batch_quantile_rank(10, 5, zeta, 0.9),
        lambda: batch_lower_rank(10, 5, zeta, 0.9),
        lambda: min_batch_calibration_size(5, zeta, 0.9),
    ):
        with pytest.raises(ValueError, match=match):
            call()


@pytest.mark.parametrize("delta", [-0.1, 1.0, 1.5, "0.1", None])
def test_delta(delta):
    match = (
        r"delta \(the fraction of the batch allowed to be uncovered\) must be a float in \[0, 1\)"
    )
    with pytest.raises(ValueError, match=match):
        batch_simultaneous_rank(100, 10, 0.9, delta=delta)
    with pytest.raises(ValueError, match=match):
        batch_simultaneous_threshold(SCORES, 10, 0.9, delta=delta)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, "0.9"])
def test_level(level):
    with pytest.raises(ValueError, match=r"The 'confidence_level' parameter must be a float"):
        batch_quantile_rank(100, 10, 5, level)
    with pytest.raises(ValueError, match=r"The 'confidence_level' parameter must be a float"):
        batch_mean_bound(SCORES, 10, level, score_bound=200.0)


def test_one_level():
    with pytest.raises(
        ValueError, match=r"confidence_level must be one level here\. Got \[0\.8, 0\.9\]"
    ):
        batch_quantile_rank(100, 10, 5, [0.8, 0.9])


@pytest.mark.parametrize("quantile", [0.0, 1.5, -0.5, "median"])
def test_quantile(quantile):
    with pytest.raises(
        ValueError, match=r"quantile \(which quantile of the batch to bound\) must be a float in"
    ):
        batch_quantile_bound(SCORES, 10, 0.9, quantile=quantile)


def test_side():
    with pytest.raises(ValueError, match=r"side must be 'upper' or 'lower'\. Got 'both'"):
        min_batch_calibration_size(10, 5, 0.9, side="both")


@pytest.mark.parametrize("bound", [np.inf, np.nan, None, "1"])
def test_mean_needs_a_finite_score_bound(bound):
    with pytest.raises(
        ValueError, match=r"score_bound must be a finite number .* Without it the bound on the"
    ):
        batch_mean_bound(SCORES, 10, 0.9, score_bound=bound)


def test_mean_score_above_bound():
    with pytest.raises(
        ValueError, match=r"a calibration score \(100\) exceeds score_bound=50\.0; the bound must"
    ):
        batch_mean_bound(SCORES, 10, 0.9, score_bound=50.0)


def test_scores_one_column():
    with pytest.raises(ValueError, match=r"scores must be a 1-D array of conformity scores for"):
        batch_quantile_bound(np.ones((10, 2)), 5, 0.9)
    with pytest.raises(ValueError, match=r"scores contains NaN"):
        batch_simultaneous_threshold([1.0, np.nan], 5, 0.9)


@pytest.mark.parametrize("eta", [-1, 10, 1.5])
def test_max_false(eta):
    with pytest.raises(
        ValueError,
        match=r"max_false \(the number of false selections tolerated\) must be an int in "
        r"\[0, 9\]\. Got .* With m=10 test points at most 9",
    ):
        batch_selection_threshold(SCORES, 10, 0.9, max_false=eta)


def test_order_statistics_errors():
    with pytest.raises(ValueError, match=r"order_statistics needs an unweighted calibrator"):
        Calibrator(SCORES, weights=np.ones(100)).order_statistics([1])
    with pytest.raises(ValueError, match=r"ranks must lie in \[0, 101\]\. Got 0\.\.102 instead"):
        Calibrator(SCORES).order_statistics([0, 102])
    with pytest.raises(ValueError, match=r"two-column scores need one rank per column"):
        Calibrator(np.ones((5, 2))).order_statistics([1, 2, 3])


def test_selector_is_unchanged_by_a_shift_of_units_and_takes_small_batches():
    # Found by a new user: with scores mu * 1{y <= c}, points with y > c scored 0, above every
    # negative prediction, so nothing was selected once predictions were negative.
    import numpy as np

    from conformal.batch import BatchSelector

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 4, (2000, 1))
    y = X[:, 0] + rng.normal(size=2000)
    counts = []
    for shift in (0.0, -10.0, 10.0):
        selector = BatchSelector(threshold=2.0 + shift, max_false=5, random_state=0)
        counts.append(int(selector.fit(X, y + shift).select(X[:100]).sum()))
    assert counts[0] > 0 and counts == [counts[0]] * 3
    small = selector.select(X[:3])  # m <= max_false: every claim mu > c is safe
    assert small.shape == (3,)
    np.testing.assert_array_equal(small, selector.predict(X[:3]) > selector.threshold)


def test_two_sided_scores_warn_with_the_per_side_size():
    import numpy as np
    import pytest
    from sklearn.linear_model import LinearRegression

    from conformal import ConformalWarning, SplitConformalRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    y = X[:, 0] + rng.normal(size=2000)
    model = SplitConformalRegressor(
        LinearRegression(), conformity_score="signed", calibration_size=450, random_state=0
    ).fit(X, y)
    with pytest.warns(
        ConformalWarning, match=r"\(each side is calibrated at 0\.95\) needs at least 950"
    ):
        model.predict_batch_interval(X[:50])
