"""Coverage by mask, the oracle length in closed form, the synthetic data, the plot."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from conformal.metrics import (
    coverage_by_group,
    coverage_by_mask,
    evaluate_intervals,
    missing_groups,
)
from conformal.missing import (
    PAPER_BETA,
    make_gaussian_missing,
    mean_oracle_length,
    oracle_interval_length,
    paper_covariance,
)


def test_oracle_reproduces_the_papers_numbers():
    assert oracle_interval_length(np.zeros(10, bool)) == pytest.approx(3.2897, abs=5e-5)
    assert mean_oracle_length(3) == pytest.approx(4.9374, abs=5e-5)
    assert mean_oracle_length(0) == pytest.approx(3.2897, abs=5e-5)


def test_oracle_matches_the_conditional_variance_by_simulation():
    rng = np.random.default_rng(0)
    mask = np.zeros(10, bool)
    mask[[1, 3, 7]] = True
    X = rng.multivariate_normal(np.ones(10), paper_covariance(), size=200_000)
    y = X @ PAPER_BETA + rng.standard_normal(200_000)
    obs = np.column_stack([np.ones(200_000), X[:, ~mask]])
    residual = y - obs @ np.linalg.lstsq(obs, y, rcond=None)[0]
    empirical = 2 * 1.6448536269514722 * residual.std()
    assert oracle_interval_length(mask) == pytest.approx(empirical, rel=5e-3)


def test_oracle_shapes_and_errors():
    masks = np.array(list(combinations(range(10), 2)))
    rows = np.zeros((len(masks), 10), bool)
    rows[np.arange(len(masks))[:, None], masks] = True
    assert oracle_interval_length(rows).shape == (45,)
    assert mean_oracle_length(2) == pytest.approx(oracle_interval_length(rows).mean())
    assert oracle_interval_length(np.ones(10, bool), confidence_level=0.5) < 10
    with pytest.raises(ValueError, match=r"mask has 3 entries per row; expected 10"):
        oracle_interval_length(np.zeros(3, bool))
    with pytest.raises(ValueError, match=r"cov must be a \(10, 10\) matrix"):
        oracle_interval_length(np.zeros(10, bool), cov=np.eye(3))


def test_synthetic_data_masks():
    X, _ = make_gaussian_missing(4000, random_state=0)
    assert np.isnan(X).mean() == pytest.approx(0.2, abs=0.01)
    X, _ = make_gaussian_missing(50, n_missing=9, random_state=1)
    assert (np.isnan(X).sum(axis=1) == 9).all()
    with pytest.raises(ValueError, match=r"n_missing must be an int from 0 to 10. Got 11"):
        make_gaussian_missing(5, n_missing=11)


def test_coverage_by_mask_matches_coverage_by_group_and_the_report():
    X = np.array([[1.0, np.nan], [np.nan, np.nan], [1.0, 2.0], [0.0, np.nan], [3.0, 4.0]])
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    intervals = np.array([[0, 2], [3, 4], [2, 4], [3, 5], [6, 7]], dtype=float)
    by_size = coverage_by_mask(y, intervals, X)
    assert by_size == coverage_by_group(y, intervals, [1, 2, 0, 1, 0])
    assert {k: r.coverage for k, r in by_size.items()} == {0: 0.5, 1: 1.0, 2: 0.0}
    by_pattern = coverage_by_mask(y, intervals, np.isnan(X), by="pattern")
    assert list(by_pattern) == ["00", "01", "11"]
    report = evaluate_intervals(y, intervals, groups=missing_groups(X))
    assert [row.group for row in report.group_rows] == [0, 1, 2]


def test_missing_groups_reads_frames_and_object_arrays():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, None], "b": ["x", None]})
    assert missing_groups(frame).tolist() == [0, 2]
    objects = np.array([[1.0, None], ["x", 2.0]], dtype=object)
    assert missing_groups(objects, by="pattern").tolist() == ["01", "00"]


def test_metrics_errors():
    with pytest.raises(ValueError, match=r"Unknown by='size'. Valid options are \['n_missing'"):
        missing_groups(np.zeros((2, 2)), by="size")
    with pytest.raises(ValueError, match=r"X must be 2-D, one row per sample"):
        missing_groups(np.zeros(3))
    with pytest.raises(ValueError, match=r"X has 2 rows but y has 3; pass the features"):
        coverage_by_mask([1.0, 2.0, 3.0], [[0, 1]] * 3, np.zeros((2, 2)))


def test_plot_coverage_by_missing():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from conformal.missing import plot_coverage_by_missing

    ax = plot_coverage_by_missing({"exact": {0: 0.9, 2: 0.91}}, confidence_level=None)
    assert ax.get_ylabel() == "coverage" and len(ax.lines) == 1


def test_oracle_and_generator_arguments_are_checked():
    import numpy as np
    import pytest

    from conformal.missing import make_gaussian_missing, mean_oracle_length, oracle_interval_length

    with pytest.raises(ValueError, match=r"n_missing must be an int from 0 to 10\. Got 11"):
        mean_oracle_length(11)
    with pytest.raises(ValueError, match=r"confidence_level must be in \(0, 1\); got 1\.5"):
        oracle_interval_length(np.zeros(10, bool), confidence_level=1.5)
    with pytest.raises(ValueError, match=r"missing_rate must be in \[0, 1\)"):
        make_gaussian_missing(5, missing_rate=1.5)
    with pytest.raises(ValueError, match=r"mask must be booleans"):
        oracle_interval_length([0.5] * 10)
    assert oracle_interval_length(np.zeros(10, int)) == oracle_interval_length(np.zeros(10, bool))
