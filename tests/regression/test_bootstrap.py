"""JackknifeAfterBootstrapRegressor: agreement with MAPIE (same bootstrap draws) and with the naive
(n_test, n) matrix, validity, scikit-learn use, errors.

MAPIE conventions found (MAPIE 1.6 ``mapie.regression.JackknifeAfterBootstrapRegressor``):

- For an integer ``random_state`` our bootstrap samples are those of MAPIE's
  ``Subsample(n_resamplings, random_state=seed)`` (one ``RandomState(seed)``, ``randint(0, n, n)``
  bag after bag), so both fit the same models. The out-of-bag scores and the "plus" and
  "minmax" bounds then agree to rounding (``rtol=1e-12``; the mean is a matrix product in both).
- A sample in every bag: MAPIE warns ("at least one point of training set belongs to every
  resamplings"), keeps a NaN score and ignores NaN in its quantiles; we drop the sample with a
  ConformalWarning. Both "plus" intervals are then equal. MAPIE's "minmax" bounds become NaN
  (``np.min`` over a matrix with NaN columns); ours stay finite.
- MAPIE's point prediction is the mean over the ``n`` out-of-bag aggregates ``agg_{-i}(x)``;
  ours is the aggregate (mean or median) of all ``B`` models, the bagged prediction.
- MAPIE refuses ``n < 1/a`` unless ``allow_infinite_bounds=True`` (see test_cross.py).
"""

import pickle
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from sklearn.base import clone
from sklearn.dummy import DummyRegressor
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conformal import ConformalWarning, JackknifeAfterBootstrapRegressor
from conformal.regression._bootstrap import bootstrap_bags
from tests import _reference as ref
from tests import _validity as v
from tests.regression._naive import plus_intervals

LEVELS = [0.8, 0.9]


@pytest.fixture
def data():
    return v.draw(120, np.random.default_rng(0), n_features=2)


def _test_points(m=40, n_features=2):
    return np.random.default_rng(99).uniform(0, 5, size=(m, n_features))


def _mapie(x, y, x_test, **params):
    mapie_regression = pytest.importorskip("mapie.regression")
    reg = mapie_regression.JackknifeAfterBootstrapRegressor(
        LinearRegression(), confidence_level=LEVELS, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its never-out-of-bag warning and NaN-slice warnings
        reg.fit_conformalize(x, y)
        points, intervals = reg.predict_interval(x_test, allow_infinite_bounds=True)
    return reg, points, np.transpose(intervals, (0, 2, 1))


# ---------------------------------------------------------------- agreement with MAPIE


def test_bootstrap_draws_are_mapies_subsample_draws():
    subsample = pytest.importorskip("mapie.subsample")
    bags = bootstrap_bags(50, 7, 11)
    theirs = [train for train, _ in subsample.Subsample(7, random_state=11).split(np.zeros(50))]
    np.testing.assert_array_equal(bags, np.stack(theirs))


@pytest.mark.parametrize("aggregation", ["mean", "median"])
@pytest.mark.parametrize("method", ["plus", "minmax"])
def test_equal_to_mapie_with_the_same_draws(aggregation, method):
    x, y = v.draw(80, np.random.default_rng(1), n_features=2)
    x_test = _test_points()
    ours = JackknifeAfterBootstrapRegressor(
        n_resamplings=25, aggregation=aggregation, method=method, random_state=4
    ).fit(x, y)
    reg, _, theirs = _mapie(
        x, y, x_test, resampling=25, aggregation_method=aggregation, method=method, random_state=4
    )
    assert ours.scored_.all()
    np.testing.assert_allclose(ours.conformity_scores_, reg.conformity_scores, rtol=1e-12)
    np.testing.assert_allclose(ours.predict_interval(x_test, LEVELS), theirs, rtol=1e-12)


@pytest.mark.parametrize("aggregation", ["mean", "median"])
def test_never_out_of_bag_points_dropped_as_mapie_ignores_them(aggregation):
    x, y = v.draw(60, np.random.default_rng(2), n_features=2)
    x_test = _test_points()
    with pytest.warns(ConformalWarning, match=r"\d+ of 60 samples are in every bootstrap sample"):
        ours = JackknifeAfterBootstrapRegressor(
            n_resamplings=3, aggregation=aggregation, random_state=3
        ).fit(x, y)
    dropped = ~ours.scored_
    assert dropped.sum() > 5
    reg, _, theirs = _mapie(
        x, y, x_test, resampling=3, aggregation_method=aggregation, random_state=3
    )
    assert np.isnan(reg.conformity_scores[dropped]).all()
    np.testing.assert_allclose(ours.conformity_scores_, reg.conformity_scores[~dropped], rtol=1e-12)
    np.testing.assert_allclose(ours.predict_interval(x_test, LEVELS), theirs, rtol=1e-12)
    minmax = clone(ours).set_params(method="minmax")
    with pytest.warns(ConformalWarning):
        minmax.fit(x, y)
    _, _, theirs_minmax = _mapie(
        x, y, x_test, resampling=3, method="minmax", aggregation_method=aggregation, random_state=3
    )
    assert np.isnan(theirs_minmax).all() and np.isfinite(minmax.predict_interval(x_test)).all()


def test_mapie_point_prediction_is_the_mean_of_the_out_of_bag_aggregates(data):
    x, y = data
    x_test = _test_points()
    ours = JackknifeAfterBootstrapRegressor(n_resamplings=20, random_state=0).fit(x, y)
    _, points, _ = _mapie(x, y, x_test, resampling=20, random_state=0)
    predictions = np.column_stack([m.predict(x_test) for m in ours.estimators_])
    aggregates = predictions @ (ours.oob_ / ours.oob_.sum(axis=1, keepdims=True)).T
    np.testing.assert_allclose(points, aggregates.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(ours.predict(x_test), predictions.mean(axis=1), rtol=1e-12)


# ---------------------------------------------------------------- the naive matrix


def _naive_centers(predictions, oob, aggregation):
    """(m, n) out-of-bag aggregates by a loop over every (test point, sample) pair."""
    agg = np.mean if aggregation == "mean" else np.median
    return np.array([[agg(row[mask]) for mask in oob] for row in predictions])


@pytest.mark.parametrize("aggregation", ["mean", "median"])
@pytest.mark.parametrize("level", [0.75, 0.9])
def test_equal_to_the_naive_matrix_with_ties(aggregation, level):
    """Integer targets and 1-nearest-neighbour models: integer predictions, many ties."""
    rng = np.random.default_rng(7)
    x = np.round(rng.uniform(0, 5, size=(45, 2)), 1)
    y = np.round(x[:, 0] + rng.normal(size=45))
    x_test = np.round(_test_points(25), 1)
    model = JackknifeAfterBootstrapRegressor(
        KNeighborsRegressor(n_neighbors=1),
        confidence_level=level,
        n_resamplings=16,
        aggregation=aggregation,
        random_state=5,
    ).fit(x, y)
    oob = model.oob_[model.scored_]
    n = oob.shape[0]
    in_sample = np.column_stack([m.predict(x[model.scored_]) for m in model.estimators_])
    own = np.array(
        [_naive_centers(in_sample[i : i + 1], oob[i : i + 1], aggregation)[0, 0] for i in range(n)]
    )
    scores = np.abs(y[model.scored_] - own)
    np.testing.assert_allclose(model.conformity_scores_, scores, rtol=1e-12)
    predictions = np.column_stack([m.predict(x_test) for m in model.estimators_])
    centers = _naive_centers(predictions, oob, aggregation)
    a = 1 - Fraction(repr(level))
    alpha = (a.numerator, a.denominator)
    expected = plus_intervals(scores, np.arange(n), centers, alpha)
    np.testing.assert_allclose(model.predict_interval(x_test), expected, rtol=1e-12)
    q = ref.order_statistic(scores, ref.upper_rank(n, *alpha))
    minmax = clone(model).set_params(method="minmax").fit(x, y)
    expected = np.column_stack([centers.min(axis=1) - q, centers.max(axis=1) + q])
    np.testing.assert_allclose(minmax.predict_interval(x_test), expected, rtol=1e-12)


def test_row_blocks_do_not_change_the_result(data, monkeypatch):
    x, y = data
    x_test = _test_points(100)
    for aggregation in ("mean", "median"):
        model = JackknifeAfterBootstrapRegressor(
            n_resamplings=20, aggregation=aggregation, random_state=0
        ).fit(x, y)
        whole = model.predict_interval(x_test, LEVELS)
        with monkeypatch.context() as patch:
            patch.setattr("conformal._blocks.BLOCK_BYTES", 8 * 120 * 7)  # 7 rows
            blocks = model.predict_interval(x_test, LEVELS)
        # the mean is a matrix product per block: equal up to BLAS summation order
        np.testing.assert_allclose(blocks, whole, rtol=1e-12)


# ---------------------------------------------------------------- edges


def test_nine_scored_points_give_the_ninth_score():
    x, y = np.zeros((9, 1)), np.arange(1.0, 10.0)
    model = JackknifeAfterBootstrapRegressor(
        DummyRegressor(strategy="constant", constant=0.0), n_resamplings=60, random_state=0
    ).fit(x, y)
    assert model.scored_.all()
    np.testing.assert_array_equal(model.predict_interval([[0.0]]), [[-9.0, 9.0]])


@pytest.mark.parametrize("method", ["plus", "minmax"])
def test_eight_points_give_infinite_bounds_and_a_warning(method):
    x, y = np.zeros((8, 1)), np.arange(1.0, 9.0)
    model = JackknifeAfterBootstrapRegressor(
        DummyRegressor(), n_resamplings=60, method=method, random_state=0
    ).fit(x, y)
    with pytest.warns(ConformalWarning, match="8 points; confidence_level=0.9 needs at least 9"):
        got = model.predict_interval([[0.0]])
    np.testing.assert_array_equal(got, [[-np.inf, np.inf]])


def test_no_sample_ever_out_of_bag_is_an_error():
    with pytest.raises(ValueError, match=r"No sample is ever out of bag .*got 1 sample\)"):
        JackknifeAfterBootstrapRegressor(n_resamplings=5).fit([[1.0]], [1.0])


# ---------------------------------------------------------------- validity


def _jab(**params):
    def fit_predict(x, y, x_test, seed):
        model = JackknifeAfterBootstrapRegressor(n_resamplings=20, random_state=seed, **params)
        return model.fit(x, y).predict_interval(x_test)

    return fit_predict


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::conformal.ConformalWarning")  # a rare never-out-of-bag point
@pytest.mark.parametrize("aggregation", ["mean", "median"])
def test_plus_coverage_near_the_target(aggregation):
    """Guarantee 1 - 2a (Kim, Xu, Barber 2020, Theorem 1); on smooth data about 1 - a: mean
    coverage in [1 - a - 0.03, 1 - a + 0.03] over 200 seeded data sets of 100 points."""
    cov = v.repeated_coverage(_jab(aggregation=aggregation), n=100)
    assert cov.mean() >= 0.8
    v.assert_in_band(cov, 0.87, 0.93)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::conformal.ConformalWarning")
def test_minmax_coverage_at_least_the_target():
    v.assert_in_band(v.repeated_coverage(_jab(method="minmax"), n=100), 0.9, 1.0)


# ---------------------------------------------------------------- scikit-learn use


def test_predict_aggregates_all_models(data):
    x, y = data
    x_test = _test_points()
    for aggregation, agg in (("mean", np.mean), ("median", np.median)):
        model = JackknifeAfterBootstrapRegressor(
            n_resamplings=30, aggregation=aggregation, random_state=0
        ).fit(x, y)
        predictions = np.column_stack([m.predict(x_test) for m in model.estimators_])
        np.testing.assert_allclose(model.predict(x_test), agg(predictions, axis=1))


def test_shapes_follow_the_type_of_the_level(data):
    x, y = data
    model = JackknifeAfterBootstrapRegressor(n_resamplings=30, random_state=0).fit(x, y)
    assert model.predict_interval(x[:5]).shape == (5, 2)
    assert model.predict_interval(x[:5], confidence_level=[0.9]).shape == (5, 1, 2)
    multi = model.predict_interval(x[:5], confidence_level=[0.5, 0.8, 0.95])
    assert multi.shape == (5, 3, 2)
    np.testing.assert_array_equal(multi[:, 1], model.predict_interval(x[:5], 0.8))


def test_pipeline_grid_search_clone_pickle_parallel(data):
    x, y = data
    pipe = make_pipeline(
        StandardScaler(), JackknifeAfterBootstrapRegressor(Ridge(), n_resamplings=30)
    )
    assert pipe.fit(x, y).predict(x[:4]).shape == (4,)
    grid = GridSearchCV(
        JackknifeAfterBootstrapRegressor(Ridge(), n_resamplings=30, random_state=0),
        {"estimator__alpha": [0.1, 10.0]},
        cv=3,
    ).fit(x, y)
    assert grid.best_estimator_.predict_interval(x[:3]).shape == (3, 2)
    fitted = JackknifeAfterBootstrapRegressor(n_resamplings=30, random_state=0).fit(x, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_interval(x), fitted.predict_interval(x))
    np.testing.assert_array_equal(
        clone(fitted).fit(x, y).predict_interval(x), fitted.predict_interval(x)
    )
    with parallel_config(backend="threading"):
        parallel = clone(fitted).set_params(n_jobs=2).fit(x, y)
    np.testing.assert_array_equal(parallel.predict_interval(x), fitted.predict_interval(x))


def test_pandas_in_and_user_objects_not_mutated(data):
    x, y = data
    frame = pd.DataFrame(x, columns=["a", "b"], index=np.arange(len(x)) + 500)
    base = LinearRegression()
    x0, y0 = x.copy(), y.copy()
    model = JackknifeAfterBootstrapRegressor(base, n_resamplings=30, random_state=0)
    model.fit(frame, pd.Series(y, index=frame.index))
    assert list(model.feature_names_in_) == ["a", "b"] and not hasattr(base, "coef_")
    plain = clone(model).fit(x, y)
    np.testing.assert_allclose(model.predict_interval(frame), plain.predict_interval(x))
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_same_seed_same_output_and_generator_not_advanced(data):
    x, y = data
    gen = np.random.default_rng(5)
    state = gen.bit_generator.state
    a = JackknifeAfterBootstrapRegressor(n_resamplings=30, random_state=gen).fit(x, y)
    b = JackknifeAfterBootstrapRegressor(n_resamplings=30, random_state=gen).fit(x, y)
    np.testing.assert_array_equal(a.predict_interval(x), b.predict_interval(x))
    assert gen.bit_generator.state == state


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_resamplings": 0}, r"'n_resamplings' parameter of JackknifeAfterBootstrapRegressor"),
        ({"aggregation": "mode"}, r"'aggregation' parameter .* str among"),
        ({"method": "base"}, r"'method' parameter .* str among .*'plus'.* Got 'base'"),
        ({"confidence_level": 0.0}, r"'confidence_level' parameter"),
        ({"confidence_level": [0.9, 2]}, r"Got \[0.9, 2\] instead"),
        ({"n_jobs": "all"}, r"'n_jobs' parameter"),
    ],
)
def test_bad_parameters(data, params, match):
    x, y = data
    with pytest.raises(ValueError, match=match):
        JackknifeAfterBootstrapRegressor(**params).fit(x, y)


def test_frozen_nan_unfitted_and_bad_level(data):
    x, y = data
    frozen = FrozenEstimator(LinearRegression().fit(x, y))
    with pytest.raises(ValueError, match="refits the estimator on each bootstrap sample"):
        JackknifeAfterBootstrapRegressor(frozen).fit(x, y)
    bad = y.copy()
    bad[3] = np.inf
    with pytest.raises(ValueError, match=r"y contains NaN or infinity at 1 position\(s\)"):
        JackknifeAfterBootstrapRegressor().fit(x, bad)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        JackknifeAfterBootstrapRegressor().predict_interval(x)
    model = JackknifeAfterBootstrapRegressor(n_resamplings=30, random_state=0).fit(x, y)
    with pytest.raises(ValueError, match=r"Got 1.0 instead"):
        model.predict_interval(x, confidence_level=1.0)
