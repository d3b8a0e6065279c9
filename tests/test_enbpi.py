"""EnbPIRegressor (Xu and Xie 2021): agreement with MAPIE's EnbPI (same bootstrap draws), with
the naive ``(n_test, n)`` leave-one-out matrix, the sliding residual window, validity on a
stationary AR(1) series, memory, scikit-learn use, errors.

MAPIE conventions found (MAPIE 1.6 ``mapie.regression.TimeSeriesRegressor(method="enbpi")``):

- Bootstrap draws: ``Subsample(B, random_state=seed)`` and ``BlockBootstrap(B, length=L,
  overlapping=..., random_state=seed)`` are reproduced exactly (same out-of-bag mask).
- Centre: MAPIE aggregates (``agg_function``) the ``(n_test, n)`` matrix of leave-one-out
  predictions over the training rows; ``predict(X, ensemble=True)`` is that centre too. Ours is
  the same number computed without the matrix.
- Score: MAPIE's default is ``AbsoluteConformityScore(sym=False)`` (signed residuals, each tail
  at ``a/2``): our ``symmetric=False``. ``AbsoluteConformityScore(sym=True)``: ours
  ``symmetric=True``.
- ``update(X, y, ensemble=True)`` rolls the residual window as our ``partial_fit``.
- Differences, explained and tested: MAPIE computes ``a = 1 - level`` in floating point, so when
  ``(1 - a/2)(n + 1)`` is an integer its rank is one higher than the exact one (one order
  statistic more conservative); rows in every bootstrap sample keep a NaN slot in MAPIE's window
  and are left out of ours.
"""

import pickle
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from scipy.stats import norm
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from conformal import ConformalWarning
from conformal._enbpi import EnbPIRegressor, block_bootstrap_bags
from conformal.regression._bootstrap import bootstrap_bags

B = 20


def _series(n, seed=0, n_features=3):
    """Rows in time order: features and a linear target with AR(1) noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    noise = np.zeros(n)
    shocks = rng.standard_t(5, size=n)
    for t in range(1, n):
        noise[t] = 0.5 * noise[t - 1] + shocks[t]
    return X, X @ np.linspace(1.0, -1.0, n_features) + noise


def _mapie_model(block, overlapping, aggregation, symmetric, seed=3):
    pytest.importorskip("mapie")
    from mapie.conformity_scores import AbsoluteConformityScore
    from mapie.regression import TimeSeriesRegressor
    from mapie.subsample import BlockBootstrap, Subsample

    if block is None:
        cv = Subsample(B, random_state=seed)
    else:
        cv = BlockBootstrap(B, length=block, overlapping=overlapping, random_state=seed)
    score = AbsoluteConformityScore(sym=True) if symmetric else None
    return TimeSeriesRegressor(
        LinearRegression(), method="enbpi", cv=cv, agg_function=aggregation, conformity_score=score
    )


def _mapie_intervals(model, X, level=0.9):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, pis = model.predict(X, ensemble=True, confidence_level=level)
    return pis[:, :, 0]


# ---------------------------------------------------------------------- bootstrap draws


@pytest.mark.parametrize("block, overlapping", [(None, False), (7, False), (7, True), (1, False)])
def test_out_of_bag_mask_is_mapies(block, overlapping):
    """Same integer seed, same bootstrap samples as MAPIE's Subsample / BlockBootstrap."""
    X, y = _series(103)
    mapie = _mapie_model(block, overlapping, "mean", True).fit(X, y)
    ours = EnbPIRegressor(
        n_resamplings=B, block_length=block, overlapping_blocks=overlapping, random_state=3
    ).fit(X, y)
    np.testing.assert_array_equal(~np.isnan(mapie.estimator_.k_), ours.oob_)


def test_block_bags_layout():
    """Non-overlapping blocks start at multiples of L, moving blocks anywhere; n // L + 1 blocks
    per sample; the last n % L rows are in no non-overlapping block."""
    n, length = 23, 5
    for overlapping in (False, True):
        bags = block_bootstrap_bags(n, 50, length, overlapping, seed=0)
        assert all(bag.shape == ((n // length + 1) * length,) for bag in bags)
        starts = np.concatenate([bag[::length] for bag in bags])
        np.testing.assert_array_equal(
            np.concatenate([bag.reshape(-1, length) - bag[::length, None] for bag in bags]),
            np.tile(np.arange(length), (len(bags) * (n // length + 1), 1)),
        )
        if overlapping:
            assert starts.max() <= n - length and len(np.unique(starts)) > n // length
        else:
            assert set(starts.tolist()) <= {0, 5, 10, 15}
            assert np.concatenate(bags).max() < 20  # rows 20, 21, 22 in no bag


def test_iid_bags_are_the_bootstrap_draws_of_jackknife_after_bootstrap():
    X, y = _series(50)
    ours = EnbPIRegressor(n_resamplings=B, random_state=11).fit(X, y)
    expected = np.ones((50, B), dtype=bool)
    for b, bag in enumerate(bootstrap_bags(50, B, 11)):
        expected[bag, b] = False
    np.testing.assert_array_equal(ours.oob_, expected)


# ---------------------------------------------------------------------- agreement with MAPIE


@pytest.mark.parametrize("block, overlapping", [(None, False), (7, False), (7, True)])
@pytest.mark.parametrize("aggregation", ["mean", "median"])
@pytest.mark.parametrize("symmetric", [True, False])
def test_equal_to_mapie_before_and_after_updates(block, overlapping, aggregation, symmetric):
    """Same draws: the same intervals as MAPIE's EnbPI, after fit and after two window updates
    (``update(..., ensemble=True)`` / ``partial_fit``), and the same point predictions as
    ``predict(..., ensemble=True)``. n = 120 rows, none in every sample, (1 - a/2)(n + 1) not an
    integer (see the test of that case below)."""
    X, y = _series(120 + 30 + 25 + 40, seed=1)
    train, first, second, test = np.split(np.arange(len(y)), [120, 150, 175])
    mapie = _mapie_model(block, overlapping, aggregation, symmetric).fit(X[train], y[train])
    assert not np.isnan(mapie.conformity_scores_).any()
    ours = EnbPIRegressor(
        n_resamplings=B,
        block_length=block,
        overlapping_blocks=overlapping,
        aggregation=aggregation,
        symmetric=symmetric,
        random_state=3,
    ).fit(X[train], y[train])
    for update in (None, first, second):
        if update is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mapie.update(X[update], y[update], ensemble=True)
            ours.partial_fit(X[update], y[update])
        for level in (0.8, 0.9):
            np.testing.assert_allclose(
                ours.predict_interval(X[test], confidence_level=level),
                _mapie_intervals(mapie, X[test], level),
                rtol=1e-12,
                atol=1e-12,
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapie_centre = mapie.predict(X[test], ensemble=True)
    np.testing.assert_allclose(ours.predict(X[test]), mapie_centre, rtol=1e-12, atol=1e-12)


def test_mapie_is_one_order_statistic_wider_when_the_rank_is_an_integer():
    """Explained difference. With n = 119 scored rows, (1 - a/2)(n + 1) = 0.95 * 120 = 114
    exactly: the upper bound is the 114th smallest signed residual and the lower the 6th
    (floor(0.05 * 120)). MAPIE computes a = 1 - 0.9 = 0.09999999999999998 in floating point, so
    its rank rounds up to 115 (and down to 5 below): its interval holds one residual more on
    each side."""
    X, y = _series(119 + 10, seed=1)
    mapie = _mapie_model(None, False, "mean", False).fit(X[:119], y[:119])
    assert not np.isnan(mapie.conformity_scores_).any()
    ours = EnbPIRegressor(n_resamplings=B, symmetric=False, random_state=3).fit(X[:119], y[:119])
    residuals = np.sort(ours.conformity_scores_[:, 1])  # y - f, ascending
    centre = ours.predict(X[119:])
    np.testing.assert_allclose(
        ours.predict_interval(X[119:]),
        np.column_stack([centre + residuals[5], centre + residuals[113]]),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        _mapie_intervals(mapie, X[119:]),
        np.column_stack([centre + residuals[4], centre + residuals[114]]),
        rtol=1e-12,
    )


def test_rows_in_every_sample_are_left_out_with_a_warning():
    """MAPIE keeps a NaN residual for such a row (its quantiles and its mean over rows ignore
    it); ours drops it with a warning, so the intervals after fit agree and our window is that
    much shorter. (Seed chosen so that 0.9 (n + 1) is not an integer: see the test above.)"""
    X, y = _series(40, seed=2)
    for seed in range(200):
        oob = np.ones((30, 3), dtype=bool)
        for b, bag in enumerate(bootstrap_bags(30, 3, seed)):
            oob[bag, b] = False
        missing = int((~oob.any(axis=1)).sum())
        if missing > 0 and (30 - missing + 1) % 10 != 0:
            break
    with pytest.warns(ConformalWarning, match=rf"{missing} of 30 rows are in every bootstrap"):
        ours = EnbPIRegressor(n_resamplings=3, random_state=seed).fit(X[:30], y[:30])
    assert ours.conformity_scores_.shape == (30 - missing,)
    np.testing.assert_array_equal(ours.scored_, oob.any(axis=1))
    pytest.importorskip("mapie")
    from mapie.conformity_scores import AbsoluteConformityScore
    from mapie.regression import TimeSeriesRegressor
    from mapie.subsample import Subsample

    mapie = TimeSeriesRegressor(
        LinearRegression(),
        method="enbpi",
        cv=Subsample(3, random_state=seed),
        conformity_score=AbsoluteConformityScore(sym=True),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapie.fit(X[:30], y[:30])
    assert np.isnan(mapie.conformity_scores_).sum() == missing
    np.testing.assert_allclose(
        ours.predict_interval(X[30:]), _mapie_intervals(mapie, X[30:]), rtol=1e-12, atol=1e-12
    )


# ---------------------------------------------------------------------- the naive matrix


def _naive(model, X_train, X_test):
    """The (n_test, n) matrix of leave-one-out aggregates and their aggregate over rows."""
    predictions = np.column_stack([m.predict(X_test) for m in model.estimators_])
    train = np.column_stack([m.predict(X_train) for m in model.estimators_])
    oob = model.oob_[model.scored_]
    agg = np.mean if model.aggregation == "mean" else np.median
    loo_test = np.array([[agg(row[mask]) for mask in oob] for row in predictions])
    loo_train = np.array(
        [agg(row[mask]) for row, mask in zip(train[model.scored_], oob, strict=True)]
    )
    return loo_train, agg(loo_test, axis=1)


@pytest.mark.parametrize("aggregation", ["mean", "median"])
@pytest.mark.parametrize("block", [None, 4])
def test_centre_and_residuals_equal_the_naive_matrix(aggregation, block):
    """Residuals are y_i - f_{-i}(x_i); the centre is agg_i f_{-i}(x) over the (n_test, n)
    matrix: for the median, the weighted median over distinct out-of-bag sets is exact."""
    X, y = _series(90, seed=4)
    model = EnbPIRegressor(
        n_resamplings=9,
        block_length=block,
        aggregation=aggregation,
        symmetric=False,
        random_state=0,
    ).fit(X[:60], y[:60])
    loo_train, centre = _naive(model, X[:60], X[60:])
    np.testing.assert_allclose(model.conformity_scores_[:, 1], y[:60] - loo_train, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X[60:]), centre, rtol=1e-12, atol=1e-13)


def test_symmetric_interval_is_the_centre_plus_minus_the_exact_order_statistic():
    X, y = _series(80, seed=2)
    model = EnbPIRegressor(n_resamplings=B, random_state=0).fit(X[:59], y[:59])
    residuals = np.sort(model.conformity_scores_)
    n = residuals.shape[0]
    q = residuals[int(np.ceil(0.9 * (n + 1))) - 1]
    centre = model.predict(X[59:])
    intervals = model.predict_interval(X[59:])
    np.testing.assert_allclose(intervals, np.column_stack([centre - q, centre + q]), rtol=1e-12)
    assert np.all((intervals[:, 0] <= centre - q) & (intervals[:, 1] >= centre + q))


# ---------------------------------------------------------------------- sliding window


def test_partial_fit_slides_the_window_without_refitting():
    X, y = _series(200, seed=5)
    model = EnbPIRegressor(n_resamplings=B, block_length=5, random_state=0).fit(X[:100], y[:100])
    before = model.conformity_scores_.copy()
    coefs = [m.coef_.copy() for m in model.estimators_]
    new = np.abs(y[100:130] - model.predict(X[100:130]))
    model.partial_fit(X[100:130], y[100:130])
    np.testing.assert_array_equal(model.conformity_scores_, np.concatenate([before[30:], new]))
    assert model.n_updates_ == 30
    for m, c in zip(model.estimators_, coefs, strict=True):
        np.testing.assert_array_equal(m.coef_, c)
    # one row at a time: the same window as one call
    one_by_one = EnbPIRegressor(n_resamplings=B, block_length=5, random_state=0).fit(
        X[:100], y[:100]
    )
    for t in range(100, 130):
        one_by_one.partial_fit(X[t : t + 1], y[t : t + 1])
    np.testing.assert_allclose(one_by_one.conformity_scores_, model.conformity_scores_)
    # more new rows than the window: the newest ones only
    window = model.conformity_scores_.shape[0]
    model.partial_fit(X[:150], y[:150])
    np.testing.assert_array_equal(
        model.conformity_scores_, np.abs(y[:150] - model.predict(X[:150]))[-window:]
    )
    # no rows: nothing changes
    kept = model.conformity_scores_.copy()
    model.partial_fit(X[:0], y[:0])
    np.testing.assert_array_equal(model.conformity_scores_, kept)


def test_signed_window_keeps_both_sides():
    X, y = _series(150, seed=6)
    model = EnbPIRegressor(n_resamplings=B, symmetric=False, random_state=0).fit(X[:100], y[:100])
    model.partial_fit(X[100:], y[100:])
    residual = y[100:] - model.predict(X[100:])
    np.testing.assert_array_equal(model.conformity_scores_[-50:, 1], residual)
    np.testing.assert_array_equal(model.conformity_scores_[-50:, 0], -residual)


# ---------------------------------------------------------------------- validity


def _ar_coverage(seed, *, n, n_test, phi, online, block_length=None):
    """Exact coverage of EnbPI's intervals on a stationary AR(1) series y_t = phi y_{t-1} + e_t,
    e_t ~ N(0, 1), feature x_t = y_{t-1}: y_t | x_t ~ N(phi x_t, 1), so each interval's
    coverage is known exactly and only the series varies across repetitions."""
    rng = np.random.default_rng(seed)
    total = n + n_test + 1
    y = np.empty(total)
    y[0] = rng.normal() / np.sqrt(1 - phi**2)  # the stationary law
    shocks = rng.normal(size=total)
    for t in range(1, total):
        y[t] = phi * y[t - 1] + shocks[t]
    X, target = y[:-1, None], y[1:]
    model = EnbPIRegressor(n_resamplings=B, block_length=block_length, random_state=seed).fit(
        X[:n], target[:n]
    )
    if online:  # predict one step, observe it, slide the window
        rows = []
        for t in range(n, n + n_test):
            rows.append(model.predict_interval(X[t : t + 1])[0])
            model.partial_fit(X[t : t + 1], target[t : t + 1])
        intervals = np.array(rows)
    else:
        intervals = model.predict_interval(X[n:])
    mean = phi * X[n:, 0]
    return float(np.mean(norm.cdf(intervals[:, 1] - mean) - norm.cdf(intervals[:, 0] - mean)))


def _assert_near(coverages, target, tolerance):
    mean = np.mean(coverages)
    se = np.std(coverages, ddof=1) / np.sqrt(len(coverages))
    assert abs(mean - target) <= tolerance + 3.5 * se, (
        f"mean coverage {mean:.4f} (se {se:.4f}) not within {tolerance} + 3.5 se of {target}"
    )


def test_coverage_near_the_target_on_a_stationary_ar_series():
    """EnbPI is approximately valid (Xu and Xie 2021, Theorem 1), not exactly: the mean exact
    coverage over 100 seeded series (n = 150 rows, 50 test rows each) must lie within 0.02 of 0.9
    (plus 3.5 Monte Carlo standard errors). Batch and block-bootstrap intervals. (Measured:
    0.893 and 0.893, standard error 0.003.)"""
    batch = [_ar_coverage(s, n=150, n_test=50, phi=0.6, online=False) for s in range(100)]
    _assert_near(batch, 0.9, 0.02)
    blocks = [
        _ar_coverage(s, n=150, n_test=50, phi=0.6, online=False, block_length=10)
        for s in range(100)
    ]
    _assert_near(blocks, 0.9, 0.02)


@pytest.mark.slow
def test_online_coverage_near_the_target_with_window_updates():
    """One step at a time with partial_fit after each outcome (the online use of EnbPI): mean
    exact coverage over 30 series of 50 steps within 0.02 (+ 3.5 se) of 0.9. (Measured over 40
    series: 0.900, standard error 0.004.)"""
    online = [_ar_coverage(s, n=150, n_test=50, phi=0.6, online=True) for s in range(30)]
    _assert_near(online, 0.9, 0.02)


# ---------------------------------------------------------------------- memory


def test_no_test_by_train_matrix_is_built():
    """At n = n_test = 4,000 the (n_test, n) float64 matrix would take 128 MB; predicting the
    intervals and sliding the window over 4,000 rows must allocate under a twentieth of it
    (measured: 1.3 MiB, the (n_test, B) predictions and the intervals)."""
    X, y = _series(12_000, seed=7)
    model = EnbPIRegressor(n_resamplings=B, random_state=0, symmetric=False)
    model.fit(X[:4000], y[:4000])
    model.predict_interval(X[:10])  # compiled kernels loaded before measuring
    tracemalloc.start()
    model.predict_interval(X[4000:8000])
    model.partial_fit(X[4000:8000], y[4000:8000])
    model.predict_interval(X[8000:])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * 4000 * 4000 / 20, f"peak {peak / 2**20:.1f} MiB"


# ---------------------------------------------------------------------- scikit-learn use


_PARTIAL_FIT = (
    "partial_fit slides the residual window of a fitted ensemble and never fits models (EnbPI "
    "does not refit); before fit it raises NotFittedError instead of fitting"
)
_REPEAT = (
    "a row with weight 2 is fitted like two copies, but repeating it changes the bootstrap "
    "draws and adds a residual, so weighting is not repetition for EnbPI"
)


def _expected_failures(estimator):
    return {
        "check_estimators_partial_fit_n_features": _PARTIAL_FIT,
        "check_n_features_in_after_fitting": _PARTIAL_FIT,
        "check_dataframe_column_names_consistency": _PARTIAL_FIT,
        "check_sample_weight_equivalence_on_dense_data": _REPEAT,
        "check_sample_weight_equivalence_on_sparse_data": _REPEAT,
    }


@parametrize_with_checks(
    [EnbPIRegressor(n_resamplings=10, random_state=0)], expected_failed_checks=_expected_failures
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_shapes_pickle_clone_pandas_and_seeds():
    X, y = _series(120, seed=8)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = EnbPIRegressor(n_resamplings=B, block_length=6, random_state=0).fit(
        frame[:100], pd.Series(y[:100], index=np.arange(100) + 7)
    )
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    assert model.predict_interval(frame[100:]).shape == (20, 2)
    assert model.predict_interval(frame[100:], confidence_level=[0.8, 0.9]).shape == (20, 2, 2)
    assert model.predict(frame[100:]).shape == (20,)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        restored.predict_interval(frame[100:]), model.predict_interval(frame[100:])
    )
    again = clone(model).fit(frame[:100], y[:100])
    np.testing.assert_array_equal(
        again.predict_interval(frame[100:]), model.predict_interval(frame[100:])
    )
    generator = np.random.default_rng(5)
    state = generator.bit_generator.state
    EnbPIRegressor(n_resamplings=B, random_state=generator).fit(X[:50], y[:50])
    assert generator.bit_generator.state == state
    levels = model.predict_interval(frame[100:], confidence_level=[0.8, 0.9])
    assert np.all(levels[:, 0, 0] >= levels[:, 1, 0]) and np.all(levels[:, 0, 1] <= levels[:, 1, 1])


def test_parallel_fits_give_the_same_intervals():
    X, y = _series(120, seed=9)
    serial = EnbPIRegressor(n_resamplings=B, random_state=0).fit(X[:100], y[:100])
    with parallel_config(backend="threading"):  # no worker processes to start in a test
        parallel = EnbPIRegressor(n_resamplings=B, n_jobs=2, random_state=0).fit(X[:100], y[:100])
    np.testing.assert_array_equal(
        serial.predict_interval(X[100:]), parallel.predict_interval(X[100:])
    )


# ---------------------------------------------------------------------- errors and warnings


def test_partial_fit_before_fit():
    X, y = _series(20)
    with pytest.raises(NotFittedError, match="partial_fit slides the residual window"):
        EnbPIRegressor().partial_fit(X, y)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        EnbPIRegressor().predict_interval(X)


def test_partial_fit_bad_inputs():
    X, y = _series(60)
    model = EnbPIRegressor(n_resamplings=B, random_state=0).fit(X[:40], y[:40])
    bad = y[40:].copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN or infinity at 1 position\(s\)"):
        model.partial_fit(X[40:], bad)
    with pytest.raises(ValueError, match="X has 2 features, but EnbPIRegressor is expecting 3"):
        model.partial_fit(X[40:, :2], y[40:])
    with pytest.raises(ValueError, match="X has 20 rows but y has 19"):
        model.partial_fit(X[40:], y[41:])


def test_block_length_errors():
    X, y = _series(30)
    with pytest.raises(ValueError, match=r"block_length=31 exceeds the 30 rows given to fit"):
        EnbPIRegressor(block_length=31).fit(X, y)
    with pytest.raises(ValueError, match="overlapping_blocks=True asks EnbPIRegressor for a"):
        EnbPIRegressor(overlapping_blocks=True).fit(X, y)


def test_no_row_ever_out_of_sample():
    X, y = _series(1)
    with pytest.raises(ValueError, match="No row is ever out of sample in the 2 bootstrap"):
        EnbPIRegressor(n_resamplings=2).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"aggregation": "mode"}, "'aggregation' parameter of EnbPIRegressor must be"),
        ({"block_length": 0}, "'block_length' parameter of EnbPIRegressor must be"),
        ({"n_resamplings": 0}, "'n_resamplings' parameter of EnbPIRegressor must be"),
        ({"symmetric": "yes"}, "'symmetric' parameter of EnbPIRegressor must be"),
        ({"overlapping_blocks": 2}, "'overlapping_blocks' parameter of EnbPIRegressor must be"),
    ],
)
def test_bad_parameters(params, match):
    X, y = _series(20)
    with pytest.raises(InvalidParameterError, match=match):
        EnbPIRegressor(**params).fit(X, y)


def test_wrong_models_and_targets():
    X, y = _series(30)
    with pytest.raises(ValueError, match="EnbPIRegressor is a regressor but estimator="):
        EnbPIRegressor(LogisticRegression()).fit(X, (y > 0).astype(int))
    frozen = FrozenEstimator(LinearRegression().fit(X, y))
    with pytest.raises(ValueError, match="refits the estimator on each bootstrap sample"):
        EnbPIRegressor(frozen).fit(X, y)
    bad = y.copy()
    bad[0] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        EnbPIRegressor().fit(X, bad)
    with pytest.raises(ValueError, match="confidence_level"):
        EnbPIRegressor(confidence_level=1.5).fit(X, y)


def test_small_window_gives_infinite_bounds_with_a_warning():
    X, y = _series(25)
    model = EnbPIRegressor(n_resamplings=B, random_state=0).fit(X[:10], y[:10])
    with pytest.warns(ConformalWarning, match=r"confidence_level=0.95 needs at least 19"):
        intervals = model.predict_interval(X[10:], confidence_level=0.95)
    assert np.isinf(intervals).all()
