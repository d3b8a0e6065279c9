"""Weighted calibration of ConformalizedQuantileRegressor and SplitConformalClassifier.

- exactness: unit calibration weights (and ``ExponentialDecayWeights(1.0)``) give bit for bit the
  unweighted intervals, sets and p-values;
- a NumPy reference, one loop per test point, for the weighted thresholds with a likelihood ratio
  (ties, zero weights, a test weight heavier than all the calibration mass);
- the ordered split (``shuffle=False``) calibrates on the last rows, and the calibration weights
  stay aligned with the scores (RAPS tuning slice, prefit models);
- validity of the classifier under covariate shift with the true likelihood ratio;
- bad inputs.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, QuantileRegressor
from sklearn.utils._param_validation import InvalidParameterError

from conformal import ConformalizedQuantileRegressor, ConformalWarning, SplitConformalClassifier
from conformal.scores import APSScore, RAPSScore
from conformal.weights import ExponentialDecayWeights, LikelihoodRatioWeights
from tests import _validity as v
from tests.classification import _data as cd

SCORES = [
    "lac",
    "aps",
    "raps",
    "top_k",
    APSScore(randomized=False),
    RAPSScore(k_reg=1, lam=0.05, randomized=False),
]
SCORE_IDS = ["lac", "aps", "raps", "top_k", "aps_plain", "raps_fixed"]


def _classification_data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return cd.draw(n, np.random.default_rng(seed))


def _by_half(X):
    return (np.asarray(X)[:, 1] > 0).astype(int)


def _quantile_model() -> QuantileRegressor:
    return QuantileRegressor(alpha=0.0, solver="highs")


# ------------------------------------------------------------------------------ exactness


@pytest.mark.parametrize("score", SCORES, ids=SCORE_IDS)
@pytest.mark.parametrize("class_conditional", [False, True])
@pytest.mark.parametrize("mondrian", [None, _by_half], ids=["marginal", "mondrian"])
def test_classifier_unit_weights_are_bit_for_bit_unweighted(score, class_conditional, mondrian):
    X, y = _classification_data()
    params = dict(
        conformity_score=score,
        class_conditional=class_conditional,
        mondrian=mondrian,
        confidence_level=[0.8, 0.9],
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)  # small (group, class) cells
        plain = SplitConformalClassifier(**params).fit(X, y)
        unit = SplitConformalClassifier(**params).fit(X, y, calibration_weights=np.ones(len(y)))
        decay = SplitConformalClassifier(weights=ExponentialDecayWeights(1.0), **params).fit(X, y)
        expected = plain.predict_set(X)
        expected_p = plain.predict_pvalues(X)
        expected_smoothed = plain.predict_pvalues(X, smoothed=True)
        for model in (unit, decay):
            np.testing.assert_array_equal(model.conformity_scores_, plain.conformity_scores_)
            np.testing.assert_array_equal(model.predict_set(X), expected)
            np.testing.assert_array_equal(model.predict_pvalues(X), expected_p)
            np.testing.assert_array_equal(
                model.predict_pvalues(X, smoothed=True), expected_smoothed
            )
    assert plain.calibration_weights_ is None and plain.weights_scheme_ is None
    assert (
        plain.effective_sample_size_ == unit.effective_sample_size_ == len(plain.conformity_scores_)
    )


@pytest.mark.parametrize("symmetric", [True, False])
def test_cqr_unit_weights_are_bit_for_bit_unweighted(symmetric):
    X, y = v.draw(300, np.random.default_rng(0))
    params = dict(confidence_level=[0.8, 0.9], symmetric=symmetric, random_state=0)
    plain = ConformalizedQuantileRegressor(_quantile_model(), **params).fit(X, y)
    unit = ConformalizedQuantileRegressor(_quantile_model(), **params).fit(
        X, y, calibration_weights=np.ones(300)
    )
    decay = ConformalizedQuantileRegressor(
        _quantile_model(), weights=ExponentialDecayWeights(1.0), **params
    ).fit(X, y)
    levels = [0.8, 0.85, 0.9]  # 0.85 borrows the models of a fitted level
    expected = plain.predict_interval(X, levels)
    for model in (unit, decay):
        np.testing.assert_array_equal(model.predict_interval(X, levels), expected)
        np.testing.assert_array_equal(
            model.predict_interval(X, 0.9), plain.predict_interval(X, 0.9)
        )
    assert len(plain.calibrators_) == 2 and plain.calibration_weights_ is None


def test_cqr_keeps_one_calibrator_per_fitted_pair_across_calls():
    X, y = v.draw(300, np.random.default_rng(1))
    model = ConformalizedQuantileRegressor(
        _quantile_model(), confidence_level=[0.8, 0.9], random_state=0
    ).fit(X, y, calibration_weights=np.linspace(0.5, 1.0, 300))
    calibrators = list(model.calibrators_)
    first = model.predict_interval(X[:5])
    np.testing.assert_array_equal(model.predict_interval(X[:5]), first)
    assert all(a is b for a, b in zip(model.calibrators_, calibrators, strict=True))
    assert all(c.weights is not None for c in calibrators)


# ------------------------------------------------------------------------------ NumPy reference


def reference_threshold(scores, weights, test_weight, level):
    """``inf{t : sum_{s_i <= t} p_i >= level}`` with ``p_i = w_i / (sum w + w_test)`` and the
    test point's mass at ``+inf``: a plain loop, one test point at a time."""
    order = np.argsort(scores, kind="stable")
    total = weights.sum() + test_weight
    running = 0.0
    for i in order:
        running += weights[i]
        if running >= level * total * (1 - 1e-12):
            return scores[i]
    return np.inf


def _ratio(X):
    """A likelihood ratio with zero weights (x1 < -1.2) and a huge one far away (x0 > 50)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.exp(0.6 * X[:, 0])
    w[X[:, 1] < -1.2] = 0.0
    w[X[:, 0] > 50] = 1e6
    return w


def _test_rows(seed: int = 7) -> np.ndarray:
    X, _ = _classification_data(60, seed)
    X[-1] = [100.0, 0.0]  # weight 1e6: heavier than all the calibration mass
    X[-2, 1] = -3.0  # weight 0
    return X


@pytest.mark.parametrize(
    "score",
    ["lac", "top_k", APSScore(randomized=False), RAPSScore(k_reg=1, lam=0.05, randomized=False)],
    ids=["lac", "top_k", "aps_plain", "raps_fixed"],
)
@pytest.mark.parametrize("class_conditional", [False, True])
@pytest.mark.filterwarnings("ignore:the threshold at confidence_level:conformal.ConformalWarning")
def test_classifier_matches_per_test_point_reference(score, class_conditional):
    X, y = _classification_data(300, seed=3)
    model = SplitConformalClassifier(
        cd.true_model(),
        conformity_score=score,
        class_conditional=class_conditional,
        weights=_ratio,
        confidence_level=[0.8, 0.9],
    ).fit(X, y)
    scores = model.conformity_scores_
    if not isinstance(score, str) or score == "top_k":
        assert np.unique(scores).size < scores.size  # ties
    weights = model.calibration_weights_
    np.testing.assert_array_equal(weights, _ratio(X))  # prefit: every row calibrates
    assert (weights == 0).any()
    X_test = _test_rows()
    test_weights = _ratio(X_test)
    with pytest.warns(ConformalWarning, match="too light for the test row's own weight"):
        sets = model.predict_set(X_test)
    all_scores = model.score_.score_all(model.predict_proba(X_test))
    labels = model.calibration_labels_
    expected = np.empty(sets.shape, dtype=bool)
    for i, tw in enumerate(test_weights):  # one test point at a time
        for j, level in enumerate([0.8, 0.9]):
            for k in range(3):
                cell = labels == k if class_conditional else np.ones(len(labels), dtype=bool)
                q = reference_threshold(scores[cell], weights[cell], tw, level)
                expected[i, j, k] = all_scores[i, k] <= q
    np.testing.assert_array_equal(sets, expected)
    assert sets[-1].all()  # infinite thresholds: full sets
    pvalues = model.predict_pvalues(X_test)
    np.testing.assert_array_equal(sets[:, 1, :], pvalues > 0.1 + 1e-12)


def _frozen_quantile_pair(seed: int = 11) -> list[FrozenEstimator]:
    X, y = v.draw(400, np.random.default_rng(seed))
    lower = QuantileRegressor(quantile=0.1, alpha=0.0, solver="highs").fit(X, y)
    upper = QuantileRegressor(quantile=0.9, alpha=0.0, solver="highs").fit(X, y)
    return [FrozenEstimator(lower), FrozenEstimator(upper)]


def _cqr_ratio(X):
    X = np.asarray(X, dtype=np.float64)
    w = X[:, 0] / 2.5
    w[X[:, 0] < 0.5] = 0.0
    w[X[:, 0] > 50] = 1e6
    return w


@pytest.mark.parametrize("symmetric", [True, False])
def test_cqr_matches_per_test_point_reference(symmetric):
    models = _frozen_quantile_pair()
    X, y = v.draw(150, np.random.default_rng(5))
    y = np.round(y, 1)  # ties among the scores
    model = ConformalizedQuantileRegressor(
        models, confidence_level=0.8, symmetric=symmetric, weights=_cqr_ratio
    ).fit(X, y)
    weights = model.calibration_weights_
    np.testing.assert_array_equal(weights, _cqr_ratio(X))
    X_test = np.vstack([np.random.default_rng(6).uniform(0, 5, size=(40, 1)), [[100.0]]])
    with pytest.warns(ConformalWarning, match="too large for the calibration weights"):
        intervals = model.predict_interval(X_test)
    lo = np.minimum(models[0].predict(X_test), models[1].predict(X_test))
    hi = np.maximum(models[0].predict(X_test), models[1].predict(X_test))
    lo_cal = np.minimum(models[0].predict(X), models[1].predict(X))
    hi_cal = np.maximum(models[0].predict(X), models[1].predict(X))
    thresholds = np.empty((len(X_test), 1, 1 if symmetric else 2))
    for i, tw in enumerate(_cqr_ratio(X_test)):  # one test point at a time
        if symmetric:
            q = reference_threshold(np.maximum(lo_cal - y, y - hi_cal), weights, tw, 0.8)
            thresholds[i, 0] = q
        else:  # each side at 1 - a / 2
            thresholds[i, 0, 0] = reference_threshold(lo_cal - y, weights, tw, 0.9)
            thresholds[i, 0, 1] = reference_threshold(y - hi_cal, weights, tw, 0.9)
    # [lo - q_lo, hi + q_hi], rounded outward by the score as the estimator does
    q = thresholds[..., 0] if symmetric else thresholds
    expected = model.score_.inverse(np.column_stack([lo, hi]), q)[:, 0]
    np.testing.assert_array_equal(intervals, expected)
    assert np.isinf(intervals[-1]).all()


# ------------------------------------------------------------------------------ ordered split


def test_classifier_shuffle_false_calibrates_on_the_last_rows():
    X, y = _classification_data(200)
    weights = np.arange(1.0, 201.0)
    model = SplitConformalClassifier(
        LogisticRegression(), calibration_size=0.3, shuffle=False, random_state=0
    ).fit(X, y, calibration_weights=weights)
    np.testing.assert_array_equal(model.calibration_weights_, weights[140:])
    np.testing.assert_array_equal(model.calibration_labels_, y[140:])
    proba = model.predict_proba(X[140:])
    np.testing.assert_array_equal(model.conformity_scores_, 1.0 - proba[np.arange(60), y[140:]])


def test_classifier_shuffle_false_with_decay_weights_weighs_by_age():
    X, y = _classification_data(200)
    model = SplitConformalClassifier(
        calibration_size=50, shuffle=False, weights=ExponentialDecayWeights(0.95)
    ).fit(X, y)
    np.testing.assert_allclose(model.calibration_weights_, 0.95 ** (200 - np.arange(150, 200)))
    np.testing.assert_array_equal(model.calibration_labels_, y[150:])


def test_raps_tuning_slice_keeps_weights_aligned_with_scores():
    X, y = _classification_data(300)
    weights = np.arange(1.0, 301.0)  # weight - 1 is the row index
    model = SplitConformalClassifier(
        LogisticRegression(),
        conformity_score=RAPSScore(randomized=False),
        calibration_size=100,
        shuffle=False,
        random_state=0,
    ).fit(X, y, calibration_weights=weights)
    rows = model.calibration_weights_.astype(int) - 1
    assert rows.shape == model.conformity_scores_.shape == (70,)  # 30 rows tuned the score
    assert rows.min() >= 200 and np.unique(rows).size == 70
    np.testing.assert_array_equal(model.calibration_labels_, y[rows])
    expected = model.score_.score(model.predict_proba(X[rows]), y[rows])
    np.testing.assert_array_equal(model.conformity_scores_, expected)


@pytest.mark.parametrize("shuffle", [True, False])
def test_cqr_calibration_rows_and_weights_align(shuffle):
    X, y = v.draw(200, np.random.default_rng(2))
    weights = np.arange(1.0, 201.0)
    model = ConformalizedQuantileRegressor(
        _quantile_model(), calibration_size=0.25, shuffle=shuffle, random_state=0
    )
    model.fit(X, y, calibration_weights=weights)
    rows = model.calibration_weights_.astype(int) - 1
    if not shuffle:
        np.testing.assert_array_equal(rows, np.arange(150, 200))
    band = np.column_stack(
        [model.estimators_[0.05].predict(X[rows]), model.estimators_[0.95].predict(X[rows])]
    )
    band.sort(axis=1)
    expected = np.maximum(band[:, 0] - y[rows], y[rows] - band[:, 1])
    np.testing.assert_array_equal(model.conformity_scores_[0], expected)


def test_prefit_classifier_weights_every_row():
    X, y = _classification_data(150)
    weights = np.random.default_rng(0).uniform(size=150)
    model = SplitConformalClassifier(cd.true_model()).fit(X, y, calibration_weights=weights)
    np.testing.assert_array_equal(model.calibration_weights_, weights)


# ------------------------------------------------------------------------------ p-values, cells


@pytest.mark.parametrize("class_conditional", [False, True])
@pytest.mark.parametrize("mondrian", [None, _by_half], ids=["marginal", "mondrian"])
def test_sets_are_pvalues_above_alpha_with_fixed_weights_above_one(class_conditional, mondrian):
    X, y = _classification_data(600, seed=4)
    weights = np.random.default_rng(1).uniform(0.0, 5.0, size=600)  # divided by their maximum
    model = SplitConformalClassifier(
        cd.true_model(), class_conditional=class_conditional, mondrian=mondrian
    ).fit(X, y, calibration_weights=weights)
    X_test, _ = _classification_data(200, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)
        sets = model.predict_set(X_test, confidence_level=[0.8, 0.9])
        pvalues = model.predict_pvalues(X_test)
    np.testing.assert_array_equal(sets[:, 0], pvalues > 0.2 + 1e-12)
    np.testing.assert_array_equal(sets[:, 1], pvalues > 0.1 + 1e-12)


def test_likelihood_ratio_with_mondrian_groups_gives_per_row_thresholds():
    X, y = _classification_data(600, seed=4)
    model = SplitConformalClassifier(cd.true_model(), mondrian=_by_half, weights=_ratio).fit(X, y)
    X_test, _ = _classification_data(100, seed=5)
    sets = model.predict_set(X_test, confidence_level=[0.8, 0.9])
    pvalues = model.predict_pvalues(X_test)
    np.testing.assert_array_equal(sets[:, 1], pvalues > 0.1 + 1e-12)
    groups = _by_half(X)
    scores, weights = model.conformity_scores_, model.calibration_weights_
    all_scores = model.score_.score_all(model.predict_proba(X_test))
    for i, tw in enumerate(_ratio(X_test)):
        cell = groups == _by_half(X_test[i : i + 1])[0]
        q = reference_threshold(scores[cell], weights[cell], tw, 0.9)
        np.testing.assert_array_equal(sets[i, 1], all_scores[i] <= q)


def test_cell_without_mass_and_test_weight_zero_gives_full_class():
    """Class 2's calibration rows all weigh 0 and so does the test row: no weighted quantile
    exists; the class is in the set (infinite threshold) and its p-value is 1."""
    X, y = _classification_data(300, seed=6)
    X = np.column_stack([X, (y == 2).astype(float)])  # a feature that reveals class 2
    means = np.column_stack([cd.MEANS, [0.0, 0.0, 0.0]])

    class _Proba(cd.TrueProba):
        def predict_proba(self, X):
            return cd.posterior(np.asarray(X)[:, :2], self.means[:, :2], self.prior)

    model = SplitConformalClassifier(
        FrozenEstimator(_Proba(means=means).fit()),
        class_conditional=True,
        weights=lambda X: 1.0 - np.asarray(X)[:, 2],
    ).fit(X, y)
    assert model.calibration_weights_[y == 2].sum() == 0
    X_test = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])  # weights 0 and 1
    with pytest.warns(ConformalWarning, match="too light"):
        sets = model.predict_set(X_test)
    assert sets[:, 2].all()
    pvalues = model.predict_pvalues(X_test)
    np.testing.assert_array_equal(pvalues[:, 2], [1.0, 1.0])
    assert np.isfinite(pvalues).all()


def test_fixed_weights_too_light_warn_and_give_full_sets():
    X, y = _classification_data(200)
    with pytest.warns(ConformalWarning, match=r"the weighted threshold at confidence_level=0\.9"):
        sets = (
            SplitConformalClassifier(cd.true_model())
            .fit(X, y, calibration_weights=np.full(200, 0.01))
            .predict_set(X[:5])
        )
    assert sets.all()
    model = SplitConformalClassifier(cd.true_model(), class_conditional=True)
    weights = np.where(y == 2, 0.01, 1.0)
    model.fit(X, y, calibration_weights=weights)
    with pytest.warns(ConformalWarning, match=r"the weighted threshold of class 2 at"):
        sets = model.predict_set(X[:5])
    assert sets[:, 2].all()


def test_small_effective_sample_size_warns_at_fit():
    X, y = _classification_data(200)
    with pytest.warns(ConformalWarning, match="effective sample size"):
        SplitConformalClassifier(weights=ExponentialDecayWeights(0.5), shuffle=False).fit(X, y)


def test_estimated_likelihood_ratio_cross_fitted_on_target_rows():
    X, y = _classification_data(300)
    X_target = X[:100] + 0.5
    model = SplitConformalClassifier(weights=LikelihoodRatioWeights(cv=2), random_state=0).fit(
        X, y, X_target=X_target
    )
    assert model.weights_scheme_ is not model.weights
    assert model.calibration_weights_.shape == model.conformity_scores_.shape
    assert model.predict_set(X[:4], confidence_level=[0.8, 0.9]).shape == (4, 2, 3)


# ------------------------------------------------------------------------------ validity


def _shift_weight(X):
    """The density ratio of the test distribution (up to a constant): concentrated where
    |x0| ~ 1.2, where the unweighted LAC sets cover least (about 0.85 at level 0.9)."""
    x0 = np.asarray(X, dtype=np.float64)[:, 0]
    return np.exp(-((np.abs(x0) - 1.2) ** 2) / (2 * 0.3**2))


def _shifted_test_rows(n: int) -> np.ndarray:
    """Draws from p_train(x) w(x) / E[w] by rejection (w <= 1)."""
    rng = np.random.default_rng(2024)
    X, _ = cd.draw(20 * n, rng)
    keep = rng.uniform(size=len(X)) < _shift_weight(X)
    return X[keep][:n]


@pytest.mark.slow
def test_classifier_covers_the_shifted_distribution_with_the_true_ratio():
    """Tibshirani et al. (2019), Corollary 1: with the true likelihood ratio the weighted sets
    cover the shifted test distribution at least ``1 - a``. The mean exact coverage over 200
    calibration draws of 300 points must be at least 0.9 minus 3.5 standard errors
    (tests/_validity.py); the unweighted sets, on the same draws, under-cover."""
    start = time.perf_counter()
    X_test = _shifted_test_rows(1000)
    results = {}
    for name, weights, conditional in [
        ("weighted", _shift_weight, False),
        ("weighted_by_class", _shift_weight, True),
        ("plain", None, False),
    ]:
        coverage = np.empty(200)
        for seed in range(200):
            X, y = cd.draw(300, np.random.default_rng(seed))
            model = SplitConformalClassifier(
                cd.true_model(), weights=weights, class_conditional=conditional
            ).fit(X, y)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConformalWarning)
                sets = model.predict_set(X_test, confidence_level=0.9)
            coverage[seed] = cd.exact_coverage(X_test, sets).mean()
        results[name] = coverage
    v.assert_in_band(results["weighted"], 0.9, 1.0)
    v.assert_in_band(results["weighted_by_class"], 0.9, 1.0)
    assert results["plain"].mean() < 0.88 < results["weighted"].mean()
    assert time.perf_counter() - start < 60


# ------------------------------------------------------------------------------ bad inputs


def _estimators():
    return [
        (SplitConformalClassifier(cd.true_model()), _classification_data(100)),
        (
            ConformalizedQuantileRegressor(_frozen_quantile_pair()),
            v.draw(100, np.random.default_rng(0)),
        ),
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["classifier", "cqr"])
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"calibration_weights": np.ones(5)}, "calibration_weights has 5 entries; expected 100"),
        (
            {"calibration_weights": np.r_[1.0, 1.0, 1.0, -1.0, np.ones(96)]},
            r"calibration_weights must be finite and non-negative; "
            r"calibration_weights\[3\] = -1\.0",
        ),
        (
            {"calibration_weights": np.r_[np.nan, np.ones(99)]},
            r"calibration_weights\[0\] = nan",
        ),
        ({"calibration_weights": np.zeros(100)}, "calibration_weights gives weight 0 to all 100"),
        ({"X_target": np.zeros((10, 2))}, "X_target was given to fit but weights=None does not"),
    ],
    ids=["length", "negative", "nan", "all_zero", "x_target"],
)
def test_bad_fit_inputs(which, kwargs, match):
    model, (X, y) = _estimators()[which]
    if "X_target" in kwargs:
        kwargs = {"X_target": np.zeros((10, X.shape[1]))}
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, **kwargs)


@pytest.mark.parametrize("which", [0, 1], ids=["classifier", "cqr"])
def test_scheme_and_calibration_weights_together_are_refused(which):
    model, (X, y) = _estimators()[which]
    model.set_params(weights=ExponentialDecayWeights(0.99))
    with pytest.raises(ValueError, match="calibration_weights was given to fit together with"):
        model.fit(X, y, calibration_weights=np.ones(len(y)))
    model.set_params(weights=ExponentialDecayWeights(0.99))
    with pytest.raises(ValueError, match="X_target was given to fit but weights=Exponential"):
        model.fit(X, y, X_target=X[:5])


@pytest.mark.parametrize("which", [0, 1], ids=["classifier", "cqr"])
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"weights": np.ones(100)}, "The 'weights' parameter of"),
        ({"shuffle": "no"}, "The 'shuffle' parameter of"),
    ],
    ids=["weights_array", "shuffle"],
)
def test_bad_parameters(which, params, match):
    model, (X, y) = _estimators()[which]
    model.set_params(**params)
    with pytest.raises(InvalidParameterError, match=match):
        model.fit(X, y)
