"""SplitConformalRegressor: validity, the order-statistic edge, scikit-learn use, errors."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conformal import ConformalWarning, SplitConformalRegressor
from conformal.scores import AbsoluteScore, NormalizedScore
from tests import _validity as v


@pytest.fixture
def data():
    return v.draw(400, np.random.default_rng(0))


# ---------------------------------------------------------------- validity


def _split(score, **kwargs):
    def fit_predict(x, y, x_test, seed):
        model = SplitConformalRegressor(
            LinearRegression(),
            conformity_score=score,
            calibration_size=120,
            random_state=seed,
            **kwargs,
        )
        return model.fit(x, y).predict_interval(x_test)

    return fit_predict


@pytest.mark.slow
@pytest.mark.parametrize(
    ("score", "sides"),
    [
        ("absolute", 1),
        ("signed", 2),
        ("gamma", 1),
        (NormalizedScore(KNeighborsRegressor(20), cv=5), 1),
    ],
    ids=["absolute", "signed", "gamma", "normalized"],
)
def test_coverage_band_over_200_splits(score, sides):
    """Mean coverage in [1-a, 1-a+k/(n+1)] (k = number of calibrated sides), n = 120."""
    cov = v.repeated_coverage(_split(score), n=400)
    v.assert_in_band(cov, 0.9, 0.9 + sides / 121)


@pytest.mark.slow
def test_mondrian_coverage_within_each_group():
    def group(x):
        return np.where(np.asarray(x)[:, 0] < 1.5, "calm", "wild")

    x_test = np.random.default_rng(99).uniform(0, 5, size=(600, 1))
    labels = group(x_test)
    per_group = {"calm": [], "wild": []}
    bound = {"calm": [], "wild": []}
    for seed in range(200):
        x, y = v.draw(600, np.random.default_rng(seed))
        model = SplitConformalRegressor(
            LinearRegression(), groups=group, calibration_size=0.5, random_state=seed
        ).fit(x, y)
        cov = v.exact_coverage(x_test, model.predict_interval(x_test))
        for g in per_group:
            per_group[g].append(cov[labels == g].mean())
            bound[g].append(1 / ((model.calibration_groups_ == g).sum() + 1))
    for g in per_group:
        v.assert_in_band(np.array(per_group[g]), 0.9, 0.9 + float(np.mean(bound[g])))


@pytest.mark.slow
def test_without_groups_the_calm_group_is_over_covered_and_wild_under():
    """The reason Mondrian exists: marginal calibration misses conditional coverage."""
    x_test = np.random.default_rng(99).uniform(0, 5, size=(600, 1))
    wild = x_test[:, 0] >= 1.5
    cov_wild = []
    for seed in range(50):
        x, y = v.draw(600, np.random.default_rng(seed))
        model = SplitConformalRegressor(LinearRegression(), random_state=seed).fit(x, y)
        cov_wild.append(v.exact_coverage(x_test, model.predict_interval(x_test))[wild].mean())
    assert np.mean(cov_wild) < 0.88


# ---------------------------------------------------------------- exact edges


class _Identity(LinearRegression):
    """A model whose prediction is the first feature: calibration scores are |y - x|."""

    def predict(self, X):
        return np.asarray(X, dtype=float)[:, 0]


def _prefit():
    return FrozenEstimator(_Identity().fit([[0.0], [1.0]], [0.0, 1.0]))


def test_nine_calibration_points_use_the_ninth_smallest_score():
    x = np.zeros((9, 1))
    y = np.arange(1.0, 10.0)
    model = SplitConformalRegressor(_prefit(), confidence_level=0.9).fit(x, y)
    np.testing.assert_array_equal(model.predict_interval([[0.0]]), [[-9.0, 9.0]])


def test_eight_calibration_points_give_infinite_interval_and_warning():
    model = SplitConformalRegressor(_prefit(), confidence_level=0.9)
    model.fit(np.zeros((8, 1)), np.arange(1.0, 9.0))
    with pytest.warns(ConformalWarning, match="8 points; confidence_level=0.9 needs at least 9"):
        interval = model.predict_interval([[0.0]])
    np.testing.assert_array_equal(interval, [[-np.inf, np.inf]])


def test_signed_score_uses_each_tail_at_half_alpha():
    x = np.zeros((19, 1))
    y = np.arange(-9.0, 10.0)  # residuals -9..9; each side's 0.95-rank of 19 points is 19
    model = SplitConformalRegressor(_prefit(), conformity_score="signed").fit(x, y)
    np.testing.assert_array_equal(model.predict_interval([[1.0]]), [[-8.0, 10.0]])


# ---------------------------------------------------------------- shapes and levels


def test_shapes_follow_the_type_of_the_level(data):
    x, y = data
    model = SplitConformalRegressor(random_state=0).fit(x, y)
    assert model.predict_interval(x[:5]).shape == (5, 2)
    assert model.predict_interval(x[:5], confidence_level=[0.9]).shape == (5, 1, 2)
    multi = model.predict_interval(x[:5], confidence_level=[0.5, 0.8, 0.95])
    assert multi.shape == (5, 3, 2)
    widths = multi[..., 1] - multi[..., 0]
    assert (np.diff(widths, axis=1) >= 0).all()
    np.testing.assert_array_equal(multi[:, 1], model.predict_interval(x[:5], confidence_level=0.8))


def test_weights_shift_the_quantile_toward_heavy_points():
    x = np.zeros((200, 1))
    y = np.r_[np.full(100, 1.0), np.full(100, 10.0)]  # residuals 1 then 10
    recent = np.r_[np.full(100, 1.0), np.full(100, 1e-3)]
    plain = SplitConformalRegressor(_prefit(), confidence_level=0.8).fit(x, y)
    weighted = SplitConformalRegressor(_prefit(), confidence_level=0.8, weights=recent).fit(x, y)
    assert plain.predict_interval([[0.0]])[0, 1] == 10.0
    assert weighted.predict_interval([[0.0]])[0, 1] == 1.0


# ---------------------------------------------------------------- scikit-learn use


def test_pipeline_grid_search_cross_val_clone_pickle(data):
    x, y = data
    pipe = make_pipeline(StandardScaler(), SplitConformalRegressor(Ridge(), random_state=0))
    plain = make_pipeline(StandardScaler(), Ridge())
    # R^2 of the point model fitted on 70% of each training fold: close to the plain model's
    assert (
        abs(cross_val_score(pipe, x, y, cv=3).mean() - cross_val_score(plain, x, y, cv=3).mean())
        < 0.05
    )
    grid = GridSearchCV(
        SplitConformalRegressor(Ridge(), random_state=0),
        {"estimator__alpha": [0.1, 10.0]},
        cv=3,
    ).fit(x, y)
    assert grid.best_estimator_.predict_interval(x[:3]).shape == (3, 2)
    fitted = SplitConformalRegressor(random_state=0).fit(x, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_interval(x), fitted.predict_interval(x))
    twin = clone(fitted).fit(x, y)
    np.testing.assert_array_equal(twin.predict_interval(x), fitted.predict_interval(x))


def test_pandas_in_keeps_feature_names_and_ignores_index(data):
    x, y = data
    frame = pd.DataFrame(x, columns=["dose"], index=np.arange(len(x))[::-1] + 1000)
    series = pd.Series(y, index=frame.index)
    model = SplitConformalRegressor(random_state=0).fit(frame, series)
    assert list(model.feature_names_in_) == ["dose"]
    plain = SplitConformalRegressor(random_state=0).fit(x, y)
    np.testing.assert_allclose(model.predict_interval(frame), plain.predict_interval(x))


def test_same_seed_same_output_and_generator_not_advanced(data):
    x, y = data
    gen = np.random.default_rng(5)
    state = gen.bit_generator.state
    a = SplitConformalRegressor(random_state=gen).fit(x, y).predict_interval(x)
    b = SplitConformalRegressor(random_state=gen).fit(x, y).predict_interval(x)
    np.testing.assert_array_equal(a, b)
    assert gen.bit_generator.state == state


def test_user_objects_are_not_mutated(data):
    x, y = data
    score = NormalizedScore(KNeighborsRegressor(10), cv=None)
    base = LinearRegression()
    x0, y0 = x.copy(), y.copy()
    model = SplitConformalRegressor(base, conformity_score=score, random_state=0).fit(x, y)
    assert not hasattr(score, "estimator_") and not hasattr(base, "coef_")
    assert model.score_ is not score
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_normalized_intervals_adapt_to_the_noise(data):
    x, y = v.draw(2000, np.random.default_rng(1))
    model = SplitConformalRegressor(
        KNeighborsRegressor(50),
        conformity_score=NormalizedScore(KNeighborsRegressor(50)),
        random_state=0,
    ).fit(x, y)
    widths = np.diff(model.predict_interval([[0.5], [4.5]]), axis=1).ravel()
    assert widths[1] > 3 * widths[0]  # the true ratio of noise scales is 5.4


def test_prefit_normalized_needs_prefit_difficulty(data):
    x, y = data
    frozen = FrozenEstimator(LinearRegression().fit(x, y))
    difficulty = FrozenEstimator(KNeighborsRegressor(10).fit(x, np.abs(y - frozen.predict(x))))
    model = SplitConformalRegressor(frozen, conformity_score=NormalizedScore(difficulty)).fit(x, y)
    assert model.conformity_scores_.shape == (400,)
    with pytest.raises(ValueError, match="needs a prefit difficulty model too"):
        SplitConformalRegressor(frozen, conformity_score="normalized").fit(x, y)


def test_custom_score_object(data):
    x, y = data
    model = SplitConformalRegressor(conformity_score=AbsoluteScore(), random_state=0).fit(x, y)
    assert model.predict_interval(x[:2]).shape == (2, 2)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"confidence_level": 1.5}, r"'confidence_level' parameter of SplitConformalRegressor"),
        ({"confidence_level": [0.5, 1.0]}, r"Got \[0.5, 1.0\] instead"),
        ({"conformity_score": "huber"}, r"'conformity_score' parameter .* must be a str among"),
        ({"calibration_size": 0.0}, r"'calibration_size' parameter"),
        ({"conformity_score": "cqr"}, r"'conformity_score' parameter"),
        ({"weights": np.ones(3)}, r"weights has 3 entries but fit got 400 samples"),
    ],
)
def test_bad_parameters(data, params, match):
    x, y = data
    with pytest.raises(ValueError, match=match):
        SplitConformalRegressor(**params).fit(x, y)


def test_nan_in_y_is_rejected(data):
    x, y = data
    y = y.copy()
    y[7] = np.nan
    with pytest.raises(
        ValueError, match=r"y contains NaN or infinity at 1 position\(s\) \(first: index 7\)"
    ):
        SplitConformalRegressor().fit(x, y)


def test_shape_mismatch(data):
    x, y = data
    with pytest.raises(ValueError, match="X has 400 rows but y has 399"):
        SplitConformalRegressor().fit(x, y[:-1])
    model = SplitConformalRegressor(random_state=0).fit(x, y)
    with pytest.raises(
        ValueError, match="X has 2 features, but SplitConformalRegressor is expecting 1"
    ):
        model.predict_interval(np.ones((3, 2)))


def test_unfitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        SplitConformalRegressor().predict_interval([[1.0]])


def test_bad_level_at_predict_time(data):
    x, y = data
    model = SplitConformalRegressor(random_state=0).fit(x, y)
    with pytest.raises(ValueError, match=r"Got -0.1 instead"):
        model.predict_interval(x, confidence_level=-0.1)


def test_gamma_needs_nonzero_predictions():
    with pytest.raises(ValueError, match="got a prediction of exactly 0"):
        SplitConformalRegressor(_prefit(), conformity_score="gamma").fit(
            np.zeros((20, 1)), np.ones(20)
        )
