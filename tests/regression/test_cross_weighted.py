"""Weighted jackknife+ / CV+ under covariate shift (JAWS; Prinster, Liu and Saria 2022).

- Exactness: unit weights (a callable returning ones, or ``calibration_weights=np.ones(n)``)
  give the unweighted CV+ / jackknife+ intervals bit for bit, ties and infinite bounds included.
- The weighted bounds equal a NumPy reference written from the paper's definition, one test
  point at a time: the weighted quantile of ``{mu_{-i}(x) +- R_i}`` with probabilities
  ``p_i(x) = w(X_i) / (sum_j w(X_j) + w(x))`` and ``p_{n+1}(x)`` at ``+-inf`` (ties, zero
  weights, zero test weights, and a test weight larger than the calibration mass allows:
  infinite bound with a ConformalWarning), for both kernels (union across folds, streamed).
- Validity under covariate shift with the true likelihood ratio (seeded repetitions, exact
  conditional coverage; see tests/_validity.py).
- Bad inputs: every error message, matched.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

import conformal._blocks
from conformal import ConformalWarning, CrossConformalRegressor
from conformal.calibration import Calibrator, TestContext
from conformal.weights import ExponentialDecayWeights, LikelihoodRatioWeights
from tests import _validity as v

LEVELS = [0.5, 0.8, 0.9, 0.95, 0.99]


def _data(n, seed=0, integer=False):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 5, size=(n, 2))
    y = 2 * X[:, 0] + rng.normal(size=n) * (0.5 + X[:, 0])
    if integer:  # integer targets and a median model: tied scores and tied centres
        y = np.round(y)
    return X, y


def _ones(X):
    return np.ones(np.asarray(X).shape[0])


def _ratio(X):
    return np.exp(np.asarray(X, dtype=float)[:, 0] - 2.5)


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)
        return func(*args, **kwargs)


# ---------------------------------------------------------------- (a) unit weights, bit for bit


@pytest.mark.parametrize("cv", [3, 10, "loo"])
@pytest.mark.parametrize("score", ["absolute", "signed"])
@pytest.mark.parametrize("ties", [False, True], ids=["linear", "ties"])
@pytest.mark.parametrize("how", ["callable", "calibration_weights"])
def test_unit_weights_equal_unweighted_bit_for_bit(cv, score, ties, how):
    # n = 39: (n + 1) * level is an integer at 0.5, 0.8, 0.9 and 0.95 (rank boundaries), and
    # 0.99 needs rank 40 > n: infinite bounds on both paths.
    X, y = _data(39, integer=ties)
    X_test = np.random.default_rng(1).uniform(-1, 6, size=(300, 2))
    estimator = DummyRegressor(strategy="median") if ties else LinearRegression()
    common = dict(cv=cv, conformity_score=score, random_state=0)
    plain = CrossConformalRegressor(estimator, **common).fit(X, y)
    if how == "callable":
        weighted = CrossConformalRegressor(estimator, weights=_ones, **common).fit(X, y)
    else:
        weighted = CrossConformalRegressor(estimator, **common).fit(
            X, y, calibration_weights=np.ones(39)
        )
    want = _quiet(plain.predict_interval, X_test, LEVELS)
    got = _quiet(weighted.predict_interval, X_test, LEVELS)
    assert np.isinf(want[:, -1]).all() and np.isfinite(want[:, :-1]).all()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(weighted.predict(X_test), plain.predict(X_test))
    assert weighted.effective_sample_size_ == 39.0


def test_unit_weights_on_the_union_kernel_bit_for_bit():
    # 3 folds of 400 points: the weighted and unweighted bounds come from the union kernels.
    assert conformal._blocks.use_union(400, 3)
    X, y = _data(400, integer=True)
    X_test = np.random.default_rng(1).uniform(-1, 6, size=(500, 2))
    plain = CrossConformalRegressor(DummyRegressor(strategy="median"), cv=3, random_state=0)
    weighted = CrossConformalRegressor(
        DummyRegressor(strategy="median"), cv=3, random_state=0, weights=_ones
    )
    np.testing.assert_array_equal(
        weighted.fit(X, y).predict_interval(X_test, LEVELS[:-1]),
        plain.fit(X, y).predict_interval(X_test, LEVELS[:-1]),
    )


# ---------------------------------------------------------------- (b) NumPy reference


def _weighted_quantile(values, weights, test_weight, level):
    """Q_level of sum_i p_i delta_{values_i} + p_{n+1} delta_{+inf}, p_i = w_i / (sum w + w(x)):
    the smallest value whose cumulative probability reaches ``level`` (a 1e-12 slack on the
    normalised sums, the calibration layer's), ``+inf`` when only the test mass reaches it."""
    p = np.asarray(weights, dtype=float) / (np.sum(weights) + test_weight)
    order = np.argsort(values, kind="stable")
    reached = np.flatnonzero(np.cumsum(p[order]) >= level - 1e-12)
    return values[order][reached[0]] if reached.size else np.inf


def _jaws_reference(centers, fold_of, scores, weights, test_weights, levels):
    """The weighted plus interval of every test point (JAWS, eq. of the JAW interval), built
    from the (n_test, n) values one row at a time: the upper bound is Q_{1-a} of
    ``mu_{-i}(x) + R_i`` with the test mass at +inf, the lower bound Q_a of ``mu_{-i}(x) - R_i``
    with the test mass at -inf, taken as ``-Q_{1-a}(-(mu_{-i}(x) - R_i))`` (jackknife+'s
    ``q-``). Two-column (signed) scores: lower from column 0, upper from column 1, each at
    ``1 - a/2``."""
    scores = np.asarray(scores, dtype=float)
    lower_scores = scores if scores.ndim == 1 else scores[:, 0]
    upper_scores = scores if scores.ndim == 1 else scores[:, 1]
    out = np.empty((centers.shape[0], len(levels), 2))
    for j, (row, tw) in enumerate(zip(centers, test_weights, strict=True)):
        mu = row[fold_of]
        for t, level in enumerate(levels):
            beta = level if scores.ndim == 1 else 1 - (1 - level) / 2
            out[j, t, 0] = -_weighted_quantile(-(mu - lower_scores), weights, tw, beta)
            out[j, t, 1] = _weighted_quantile(mu + upper_scores, weights, tw, beta)
    return out


def _reference_case(n, n_folds, seed):
    """Integer scores and centres (ties), dyadic weights with zeros, test weights from 0 to
    far above the calibration mass."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=n).astype(float)
    fold_of = np.arange(n) % n_folds
    weights = rng.integers(0, 9, size=n) / 8.0
    weights[:3] = 0.0
    centers = rng.integers(-3, 4, size=(40, n_folds)).astype(float)
    test_weights = rng.integers(0, 17, size=40) / 4.0
    test_weights[:4] = [0.0, 1e3, 1e6, weights.sum()]
    return scores, fold_of, weights, centers, test_weights


@pytest.mark.parametrize(
    "n, n_folds", [(400, 3), (60, 4), (50, 50)], ids=["union", "streamed", "loo"]
)
@pytest.mark.parametrize("seed", range(3))
def test_calibrator_weighted_plus_equals_numpy_reference(n, n_folds, seed):
    scores, fold_of, weights, centers, test_weights = _reference_case(n, n_folds, seed)
    calibrator = Calibrator(scores, weights=weights, folds=fold_of, n_folds=n_folds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = calibrator.plus(centers, LEVELS, test=TestContext(weights=test_weights))
    assert any(
        issubclass(w.category, ConformalWarning)
        and "the test point's own weight is too large" in str(w.message)
        for w in caught
    )
    want = _jaws_reference(centers, fold_of, scores, weights, test_weights, LEVELS)
    np.testing.assert_array_equal(got, want)
    # A test weight far above the calibration mass: both bounds infinite at every level
    # (w(x) >= a / (1 - a) * sum w makes the +-inf mass alone reach 1 - a).
    assert np.isneginf(got[1:3, :, 0]).all() and np.isposinf(got[1:3, :, 1]).all()
    # ... and a zero test weight never is (the calibration mass reaches every level < 1).
    assert np.isfinite(got[0]).all()


@pytest.mark.parametrize("cv", [5, "loo"])
@pytest.mark.parametrize("score", ["absolute", "signed"])
def test_estimator_weighted_intervals_equal_numpy_reference(cv, score):
    X, y = _data(60, seed=3)
    X_test = np.random.default_rng(4).uniform(0, 6, size=(80, 2))
    model = CrossConformalRegressor(cv=cv, conformity_score=score, weights=_ratio, random_state=0)
    model.fit(X, y)
    np.testing.assert_array_equal(model.calibration_weights_, _ratio(X))
    centers = np.column_stack([m.predict(X_test) for m in model.estimators_])
    want = _jaws_reference(
        centers,
        model.fold_of_,
        model.conformity_scores_,
        model.calibration_weights_,
        _ratio(X_test),
        [0.8, 0.9],
    )
    got = _quiet(model.predict_interval, X_test, [0.8, 0.9])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert np.isinf(got).any() and np.isfinite(got).any()  # the far right test rows: infinite


def test_dominating_test_weight_warns_once_across_row_blocks(monkeypatch):
    X, y = _data(30, seed=5)
    X_test = np.vstack([np.full((3, 2), 20.0), np.full((10, 2), 1.0)])  # w(20) = e^17.5
    model = CrossConformalRegressor(cv="loo", weights=_ratio).fit(X, y)
    whole = _quiet(model.predict_interval, X_test)
    monkeypatch.setattr(conformal._blocks, "BLOCK_BYTES", 8 * 30 * 2)  # blocks of 2 rows
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        blocked = model.predict_interval(X_test)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConformalWarning)]
    assert len(messages) == 1
    assert "for 3 of 13 test points" in messages[0]
    np.testing.assert_array_equal(blocked, whole)
    assert np.isinf(blocked[:3]).all() and np.isfinite(blocked[3:]).all()


@pytest.mark.parametrize("top", [0.8, 2.0])
def test_fixed_calibration_weights_test_point_weighs_one(top):
    # Fixed weights (Barber et al. 2023): the test point weighs 1 on the scale where the
    # heaviest calibration point weighs at most 1 (weights above 1 are divided by their max).
    X, y = _data(50, seed=6)
    w = np.random.default_rng(0).uniform(0.1, top, size=50)
    model = CrossConformalRegressor(cv=5, random_state=0).fit(X, y, calibration_weights=w)
    X_test = np.random.default_rng(1).uniform(0, 5, size=(20, 2))
    centers = np.column_stack([m.predict(X_test) for m in model.estimators_])
    test_weight = np.full(20, max(1.0, w.max()))
    want = _jaws_reference(centers, model.fold_of_, model.conformity_scores_, w, test_weight, [0.9])
    np.testing.assert_allclose(model.predict_interval(X_test, [0.9]), want, rtol=1e-12)
    assert model.weights_scheme_ is None
    np.testing.assert_array_equal(model.calibration_weights_, w)


def test_drift_scheme_weighs_rows_by_age():
    X, y = _data(50, seed=7)
    model = CrossConformalRegressor(cv=5, weights=ExponentialDecayWeights(0.9)).fit(X, y)
    # every row calibrates, weighted by its age (the newest 1 step old, the test point 0)
    np.testing.assert_allclose(model.calibration_weights_, 0.9 ** np.arange(50, 0, -1))
    assert np.isfinite(_quiet(model.predict_interval, X[:5], 0.5)).all()


def test_likelihood_ratio_weights_are_cross_fitted_on_all_rows():
    rng = np.random.default_rng(8)
    X, y = _data(300, seed=8)
    X_target = rng.uniform(2, 5, size=(300, 2))
    scheme = LikelihoodRatioWeights()
    model = CrossConformalRegressor(cv=5, weights=scheme, random_state=0)
    model.fit(X, y, X_target=X_target)
    assert model.weights_scheme_ is not scheme and not hasattr(scheme, "classifiers_")
    assert model.calibration_weights_.shape == (300,)
    assert 1.0 < model.effective_sample_size_ < 300.0
    # the estimated ratio favours the target's region
    assert (
        model.calibration_weights_[X[:, 0] > 3].mean()
        > model.calibration_weights_[X[:, 0] < 2].mean()
    )
    assert np.isfinite(model.predict_interval(X_target[:20])).all()


# ---------------------------------------------------------------- (c) validity under shift


def _shifted_test_points(n):
    """Test x_0 with density 2x/25 on [0, 5] (training x_0 is uniform): likelihood ratio 2x/5."""
    u = np.random.default_rng(999).uniform(size=n)
    return (5.0 * np.sqrt(u))[:, None]


def _true_ratio(X):
    return 2.0 * np.asarray(X, dtype=float)[:, 0] / 5.0


def _shift_coverages(weights, cv, n, repetitions):
    x_test = _shifted_test_points(500)
    out = np.empty(repetitions)
    for seed in range(repetitions):
        x, y = v.draw(n, np.random.default_rng(seed))
        model = CrossConformalRegressor(cv=cv, weights=weights, random_state=seed)
        intervals = model.fit(x, y).predict_interval(x_test, 0.9)
        out[seed] = v.exact_coverage(x_test, intervals).mean()
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "cv, n, repetitions", [(10, 200, 150), ("loo", 60, 50)], ids=["cv+", "jackknife+"]
)
def test_true_likelihood_ratio_covers_the_shifted_distribution(cv, n, repetitions):
    # JAWS: at least 1 - 2a = 0.8 for the true ratio; in practice about 1 - a (as
    # the unweighted jackknife+ / CV+), which is checked too, within Z = 3.5 standard errors.
    weighted = _shift_coverages(_true_ratio, cv, n, repetitions)
    v.assert_in_band(weighted, 0.8, 1.0)
    v.assert_in_band(weighted, 0.9, 1.0)
    plain = _shift_coverages(None, cv, n, repetitions)
    assert plain.mean() < 0.88 < weighted.mean()  # the unweighted interval under-covers


# ---------------------------------------------------------------- (d) bad inputs


@pytest.mark.parametrize("method", ["minmax", "base"])
def test_weights_need_method_plus(method):
    X, y = _data(30)
    model = CrossConformalRegressor(method=method, weights=_ratio)
    with pytest.raises(ValueError, match=rf"weights were given with method='{method}'.*'plus'"):
        model.fit(X, y)
    with pytest.raises(ValueError, match=rf"calibration_weights were given with method='{method}'"):
        CrossConformalRegressor(method=method).fit(X, y, calibration_weights=np.ones(30))


def test_weights_must_be_a_scheme_or_callable():
    X, y = _data(30)
    with pytest.raises(ValueError, match="The 'weights' parameter of CrossConformalRegressor"):
        CrossConformalRegressor(weights=np.ones(30)).fit(X, y)


def test_predictive_distributions_refuse_weights():
    X, y = _data(30)
    model = CrossConformalRegressor(weights=_ratio).fit(X, y)
    assert model.predictive_distribution_ is None
    with pytest.raises(ValueError, match="predictive distributions with weights are not supported"):
        model.predict_cdf(X[:2], [1.0])


def test_scheme_and_calibration_weights_are_exclusive():
    X, y = _data(30)
    with pytest.raises(ValueError, match="calibration_weights was given to fit together with"):
        CrossConformalRegressor(weights=_ratio).fit(X, y, calibration_weights=np.ones(30))


def test_x_target_needs_a_learning_scheme():
    X, y = _data(30)
    with pytest.raises(ValueError, match="X_target was given to fit but weights=None"):
        CrossConformalRegressor().fit(X, y, X_target=X)


@pytest.mark.parametrize(
    "weights, match",
    [
        (np.ones(29), "calibration_weights"),
        (-np.ones(30), "calibration_weights"),
        (np.zeros(30), "calibration_weights gives weight 0 to all 30 calibration rows"),
    ],
    ids=["length", "negative", "all-zero"],
)
def test_bad_calibration_weights(weights, match):
    X, y = _data(30)
    with pytest.raises(ValueError, match=match):
        CrossConformalRegressor().fit(X, y, calibration_weights=weights)


def test_bad_test_weights_name_the_callable():
    X, y = _data(30)
    model = CrossConformalRegressor(weights=lambda X: X[:, 0] - 2.5)
    with pytest.raises(ValueError, match=r"weights\(X\)"):
        model.fit(X, y)  # negative on some training rows


def test_small_effective_sample_size_warns():
    X, y = _data(30)
    with pytest.warns(ConformalWarning, match="effective sample size"):
        CrossConformalRegressor(weights=lambda X: np.exp(20 * X[:, 0])).fit(X, y)
