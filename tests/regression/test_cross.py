"""CrossConformalRegressor: agreement with MAPIE and with the naive (n_test, n) matrix, validity,
scikit-learn use, errors.

MAPIE conventions found (MAPIE 1.6 ``mapie.regression.CrossConformalRegressor``; ``a = 1 -
confidence_level``):

- Given the same splits and model, its bounds equal ours to the last bit for ``"base"``,
  ``"plus"`` and ``"minmax"``, with K-fold and leave-one-out, wherever its float ranks are exact.
- Its plus lower bound takes the rank ``n + 1 - ceil(((1 - 2a) + a)(n + 1))`` in floating point.
  At ``confidence_level=0.95`` ``(1 - 0.1) + 0.05`` is ``0.9500000000000001``, so for
  ``n = 59, 119, 219, 239, 259, ...`` the lower bound is the ``floor(a(n + 1)) - 1``-th smallest
  instead of the ``floor(a(n + 1))``-th: one order statistic lower (wider) than ours. Its upper
  bound (rank ``ceil((1 - a)(n + 1))`` at level ``1 - a`` computed as ``1 - a``) is exact.
- With asymmetric scores (``AbsoluteConformityScore(sym=False)``, our ``"signed"``) each side's
  level is ``1 - a + a/2`` in floating point: at 0.9 and ``n = 59, 119, 219, ...`` both bounds
  are one order statistic wider than ours.
- It refuses ``n < 1/a`` (``n = 9`` at 0.9, where ours is finite) unless
  ``allow_infinite_bounds=True``; then "plus" agrees with us (finite at ``n = 9``, infinite at
  ``n = 8``) while "base" and "minmax" raise at ``n = 8`` instead of returning infinite bounds.
- Its point prediction with the default ``aggregate_point_predictions="mean"`` is the mean over
  the ``n`` columns of the expanded (n_test, n) matrix, i.e. the fold models weighted by fold
  size; ours (``predict_mode="mean"``) is the plain mean over folds. They agree when the folds
  have equal sizes.
"""

import pickle
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
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    LeaveOneOut,
    ShuffleSplit,
    cross_val_score,
)
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conformal import ConformalWarning, CrossConformalRegressor
from conformal.calibration._plus import PlusCalibration
from conformal.scores import GammaScore, SignedScore
from tests import _reference as ref
from tests import _validity as v
from tests._outward import assert_outward_equal
from tests.regression._naive import plus_intervals

LEVELS = [0.8, 0.9, 0.95]


@pytest.fixture
def data():
    return v.draw(200, np.random.default_rng(0), n_features=3)


def _test_points(m=40, n_features=3):
    return np.random.default_rng(99).uniform(0, 5, size=(m, n_features))


def _alpha(level):
    a = 1 - Fraction(repr(level))
    return a.numerator, a.denominator


# ---------------------------------------------------------------- agreement with MAPIE


def _mapie(cv, method, x, y, x_test, levels=LEVELS, score="absolute", **predict_kwargs):
    """MAPIE's points and intervals, transposed from (n_test, 2, L) to our (n_test, L, 2)."""
    mapie_regression = pytest.importorskip("mapie.regression")
    reg = mapie_regression.CrossConformalRegressor(
        LinearRegression(), confidence_level=levels, method=method, cv=cv, conformity_score=score
    ).fit_conformalize(x, y)
    points, intervals = reg.predict_interval(x_test, **predict_kwargs)
    return reg, points, np.transpose(intervals, (0, 2, 1))


@pytest.mark.parametrize("method", ["base", "plus", "minmax"])
@pytest.mark.parametrize(
    ("cv", "n"),
    [(KFold(5, shuffle=True, random_state=0), 120), (LeaveOneOut(), 60)],
    ids=["kfold", "loo"],
)
def test_equal_to_mapie_bit_for_bit(method, cv, n):
    x, y = v.draw(n, np.random.default_rng(n), n_features=3)
    x_test = _test_points()
    ours = CrossConformalRegressor(method=method, cv=cv, confidence_level=LEVELS).fit(x, y)
    reg, points, theirs = _mapie(cv, method, x, y, x_test)
    np.testing.assert_array_equal(ours.conformity_scores_, reg.conformity_scores)
    assert_outward_equal(ours.predict_interval(x_test, LEVELS), theirs)
    # equal fold sizes (120 / 5, 60 / 1): MAPIE's size-weighted fold mean is the plain mean
    np.testing.assert_allclose(ours.predict(x_test), points, rtol=1e-12)


def test_int_cv_and_seed_give_mapie_folds(data):
    x, y = data
    x_test = _test_points()
    ours = CrossConformalRegressor(cv=5, random_state=7).fit(x, y)
    mapie_regression = pytest.importorskip("mapie.regression")
    reg = mapie_regression.CrossConformalRegressor(LinearRegression(), cv=5, random_state=7)
    _, theirs = reg.fit_conformalize(x, y).predict_interval(x_test)
    np.testing.assert_array_equal(ours.predict_interval(x_test), theirs[:, :, 0])


def test_mapie_point_prediction_weights_folds_by_size():
    """122 points in 5 folds (25, 25, 24, 24, 24): MAPIE's "mean" is sum_k |k|/n f_k(x)."""
    x, y = v.draw(122, np.random.default_rng(3), n_features=3)
    x_test = _test_points()
    cv = KFold(5, shuffle=True, random_state=0)
    ours = CrossConformalRegressor(cv=cv).fit(x, y)
    _, points, _ = _mapie(cv, "plus", x, y, x_test, levels=0.9)
    fold_predictions = np.column_stack([m.predict(x_test) for m in ours.estimators_])
    sizes = np.bincount(ours.fold_of_)
    np.testing.assert_allclose(points, fold_predictions @ (sizes / 122), rtol=1e-12)
    np.testing.assert_allclose(ours.predict(x_test), fold_predictions.mean(axis=1), rtol=1e-12)
    assert np.abs(points - ours.predict(x_test)).max() > 1e-9


def test_mapie_plus_lower_bound_is_one_rank_lower_at_n59_level095():
    n = 59
    x, y = v.draw(n, np.random.default_rng(5), n_features=3)
    x_test = _test_points()
    cv = KFold(5, shuffle=True, random_state=0)
    ours = CrossConformalRegressor(cv=cv, confidence_level=0.95).fit(x, y)
    _, _, theirs = _mapie(cv, "plus", x, y, x_test, levels=0.95)
    centers = np.column_stack([m.predict(x_test) for m in ours.estimators_])
    scores, fold_of = ours.conformity_scores_, ours.fold_of_
    assert ref.lower_rank(n, 1, 20) == 3  # floor(0.05 * 60), exactly
    mapie_lower = [
        -ref.plus_order_statistic(scores, fold_of, row, -1.0, n + 1 - 2) for row in centers
    ]
    got = ours.predict_interval(x_test)
    np.testing.assert_array_equal(theirs[:, 0, 0], mapie_lower)  # the 2nd smallest
    np.testing.assert_array_equal(got, plus_intervals(scores, fold_of, centers, (1, 20)))
    np.testing.assert_array_equal(theirs[:, 0, 1], got[:, 1])
    assert (theirs[:, 0, 0] < got[:, 0]).all()


@pytest.mark.parametrize(("n", "shift"), [(60, 0), (59, 1)])
def test_mapie_signed_score_agrees_except_float_ranks(n, shift):
    """Asymmetric scores: each side at 1 - a/2. MAPIE's ``1 - 0.1 + 0.05`` rounds up at
    n = 59: both of its bounds are one order statistic wider there, equal at n = 60."""
    scores_module = pytest.importorskip("mapie.conformity_scores")
    x, y = v.draw(n, np.random.default_rng(n), n_features=3)
    x_test = _test_points()
    cv = KFold(5, shuffle=True, random_state=0)
    ours = CrossConformalRegressor(cv=cv, conformity_score="signed").fit(x, y)
    score = scores_module.AbsoluteConformityScore(sym=False)
    _, _, theirs = _mapie(cv, "plus", x, y, x_test, 0.9, score, allow_infinite_bounds=True)
    centers = np.column_stack([m.predict(x_test) for m in ours.estimators_])
    below, above = ours.conformity_scores_[:, 0], ours.conformity_scores_[:, 1]
    fold_of = ours.fold_of_
    low, up = ref.lower_rank(n, 1, 20) - shift, ref.upper_rank(n, 1, 20) + shift
    mapie_like = np.array(
        [
            [
                ref.order_statistic(row[fold_of] - below, low),
                ref.plus_order_statistic(above, fold_of, row, 1.0, up),
            ]
            for row in centers
        ]
    )
    np.testing.assert_array_equal(theirs[:, 0], mapie_like)
    exact = plus_intervals(above, fold_of, centers, (1, 20), lower_scores=below)
    np.testing.assert_array_equal(ours.predict_interval(x_test), exact)


def _residual_model():
    """A constant 0 model: every fold predicts 0 and the out-of-fold scores are |y|."""
    return DummyRegressor(strategy="constant", constant=0.0)


def test_nine_points_give_the_ninth_score_mapie_only_with_infinite_bounds_allowed():
    x, y = np.zeros((9, 1)), np.arange(1.0, 10.0)
    ours = CrossConformalRegressor(_residual_model(), cv="loo").fit(x, y)
    np.testing.assert_array_equal(ours.predict_interval([[0.0]]), [[-9.0, 9.0]])
    mapie_regression = pytest.importorskip("mapie.regression")
    reg = mapie_regression.CrossConformalRegressor(_residual_model(), cv=LeaveOneOut())
    reg.fit_conformalize(x, y)
    with pytest.raises(ValueError, match="Number of samples of the score is too low"):
        reg.predict_interval([[0.0]])
    _, theirs = reg.predict_interval([[0.0]], allow_infinite_bounds=True)
    np.testing.assert_array_equal(theirs[:, :, 0], [[-9.0, 9.0]])


@pytest.mark.parametrize("method", ["plus", "minmax", "base"])
def test_eight_points_give_infinite_bounds_and_a_warning(method):
    x, y = np.zeros((8, 1)), np.arange(1.0, 9.0)
    ours = CrossConformalRegressor(_residual_model(), method=method, cv="loo").fit(x, y)
    with pytest.warns(ConformalWarning, match="8 points; confidence_level=0.9 needs at least 9"):
        got = ours.predict_interval([[0.0]])
    np.testing.assert_array_equal(got, [[-np.inf, np.inf]])
    mapie_regression = pytest.importorskip("mapie.regression")
    reg = mapie_regression.CrossConformalRegressor(
        _residual_model(), method=method, cv=LeaveOneOut()
    ).fit_conformalize(x, y)
    if method == "plus":
        _, theirs = reg.predict_interval([[0.0]], allow_infinite_bounds=True)
        np.testing.assert_array_equal(theirs[:, :, 0], [[-np.inf, np.inf]])
    else:  # MAPIE raises instead of returning infinite bounds
        with pytest.raises(ValueError, match="too low to reach the requested level"):
            reg.predict_interval([[0.0]], allow_infinite_bounds=True)


# ---------------------------------------------------------------- the naive matrix


def _tied_data(n, seed):
    """Integer targets for a 1-nearest-neighbour model: integer centres and scores, many ties."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 5, size=(n, 2))
    y = np.round(x[:, 0] + rng.normal(size=n))
    return x, y


@pytest.mark.parametrize(
    ("n", "cv", "union"),
    [(400, 3, True), (60, 5, False), (50, "loo", False)],
    ids=["kfold-union", "kfold-streamed", "loo"],
)
@pytest.mark.parametrize("level", [0.75, 0.9])
def test_equal_to_the_naive_matrix_with_ties(n, cv, union, level):
    x, y = _tied_data(n, seed=n)
    x_test = np.round(_test_points(30, 2), 1)
    knn = KNeighborsRegressor(n_neighbors=1)
    plus = CrossConformalRegressor(knn, cv=cv, confidence_level=level, random_state=1).fit(x, y)
    scores, fold_of = plus.conformity_scores_, plus.fold_of_
    n_folds = len(plus.estimators_)
    assert PlusCalibration(scores, fold_of, n_folds).union is union
    assert len(np.unique(scores)) < n // 4  # ties
    centers = np.column_stack([m.predict(x_test) for m in plus.estimators_])
    alpha = _alpha(level)
    np.testing.assert_array_equal(
        plus.predict_interval(x_test), plus_intervals(scores, fold_of, centers, alpha)
    )
    q = ref.order_statistic(scores, ref.upper_rank(n, *alpha))
    minmax = clone(plus).set_params(method="minmax").fit(x, y)
    expected = np.column_stack([centers.min(axis=1) - q, centers.max(axis=1) + q])
    assert_outward_equal(minmax.predict_interval(x_test), expected)
    base = clone(plus).set_params(method="base").fit(x, y)
    full = base.estimator_.predict(x_test)
    assert_outward_equal(base.predict_interval(x_test), np.column_stack([full - q, full + q]))


def test_signed_score_equal_to_the_naive_matrix():
    x, y = _tied_data(80, seed=3)
    x_test = _test_points(20, 2)
    model = CrossConformalRegressor(
        KNeighborsRegressor(n_neighbors=1), cv=4, conformity_score=SignedScore()
    ).fit(x, y)
    centers = np.column_stack([m.predict(x_test) for m in model.estimators_])
    scores = model.conformity_scores_
    expected = plus_intervals(
        scores[:, 1], model.fold_of_, centers, (1, 20), lower_scores=scores[:, 0]
    )
    np.testing.assert_array_equal(model.predict_interval(x_test), expected)


def test_row_blocks_do_not_change_the_result(data, monkeypatch):
    """Fold predictions are computed in row blocks bounded in bytes; tiny blocks agree."""
    x, y = data
    x_test = _test_points(100)
    model = CrossConformalRegressor(cv="loo").fit(x[:60], y[:60])
    whole, points = model.predict_interval(x_test, [0.8, 0.9]), model.predict(x_test)
    monkeypatch.setattr("conformal._blocks.BLOCK_BYTES", 8 * 60 * 7)  # 7 rows a block
    np.testing.assert_array_equal(model.predict_interval(x_test, [0.8, 0.9]), whole)
    np.testing.assert_array_equal(model.predict(x_test), points)


# ---------------------------------------------------------------- validity


def _cross(**params):
    def fit_predict(x, y, x_test, seed):
        model = CrossConformalRegressor(LinearRegression(), random_state=seed, **params)
        return model.fit(x, y).predict_interval(x_test)

    return fit_predict


@pytest.mark.slow
@pytest.mark.parametrize(
    ("params", "n"),
    [
        ({"cv": 5}, 100),
        ({"cv": "loo"}, 40),
        ({"cv": 5, "conformity_score": "signed"}, 100),
    ],
    ids=["cv+", "jackknife+", "cv+signed"],
)
def test_plus_coverage_near_the_target(params, n):
    """Guarantee 1 - 2a (Barber et al. 2021, Theorems 1 and 4); on smooth data about 1 - a:
    mean coverage in [1 - a - 0.03, 1 - a + 0.03] over 200 seeded data sets."""
    cov = v.repeated_coverage(_cross(**params), n=n)
    assert cov.mean() >= 0.8
    v.assert_in_band(cov, 0.87, 0.93)


@pytest.mark.slow
def test_minmax_coverage_at_least_the_target():
    """CV-minmax covers with probability at least 1 - a (Barber et al. 2021, Theorem 5)."""
    v.assert_in_band(v.repeated_coverage(_cross(cv=5, method="minmax"), n=100), 0.9, 1.0)


# ---------------------------------------------------------------- options and shapes


def test_predict_modes(data):
    x, y = data
    x_test = _test_points()
    plus = CrossConformalRegressor(cv=4, random_state=0).fit(x, y)
    assert plus.estimator_ is None and len(plus.estimators_) == 4
    fold_predictions = np.column_stack([m.predict(x_test) for m in plus.estimators_])
    np.testing.assert_allclose(plus.predict(x_test), fold_predictions.mean(axis=1))
    median = clone(plus).set_params(predict_mode="median").fit(x, y)
    np.testing.assert_allclose(median.predict(x_test), np.median(fold_predictions, axis=1))
    full = clone(plus).set_params(predict_mode="full").fit(x, y)
    reference = LinearRegression().fit(x, y).predict(x_test)
    np.testing.assert_allclose(full.predict(x_test), reference)
    base = clone(plus).set_params(method="base").fit(x, y)
    np.testing.assert_allclose(base.predict(x_test), reference)  # auto: the full model
    np.testing.assert_array_equal(full.predict_interval(x_test), plus.predict_interval(x_test))


def test_shapes_follow_the_type_of_the_level(data):
    x, y = data
    model = CrossConformalRegressor(cv=5, random_state=0).fit(x, y)
    assert model.predict_interval(x[:5]).shape == (5, 2)
    assert model.predict_interval(x[:5], confidence_level=[0.9]).shape == (5, 1, 2)
    multi = model.predict_interval(x[:5], confidence_level=[0.5, 0.8, 0.95])
    assert multi.shape == (5, 3, 2)
    assert (np.diff(multi[..., 1] - multi[..., 0], axis=1) >= 0).all()
    np.testing.assert_array_equal(multi[:, 1], model.predict_interval(x[:5], 0.8))


def test_iterable_of_splits_and_splitter_are_used_as_given(data):
    x, y = data
    splitter = KFold(4, shuffle=True, random_state=3)
    listed = list(splitter.split(x))
    a = CrossConformalRegressor(cv=splitter).fit(x, y)
    b = CrossConformalRegressor(cv=listed).fit(x, y)
    np.testing.assert_array_equal(a.predict_interval(x), b.predict_interval(x))
    for k, (_, test) in enumerate(listed):
        assert (a.fold_of_[test] == k).all()


def test_parallel_fits_equal_sequential_fits(data):
    x, y = data
    sequential = CrossConformalRegressor(cv=5, random_state=0, method="base").fit(x, y)
    with parallel_config(backend="threading"):
        parallel = CrossConformalRegressor(cv=5, random_state=0, method="base", n_jobs=2)
        parallel.fit(x, y)
    np.testing.assert_array_equal(parallel.predict_interval(x), sequential.predict_interval(x))


# ---------------------------------------------------------------- scikit-learn use


def test_pipeline_grid_search_cross_val_clone_pickle(data):
    x, y = data
    pipe = make_pipeline(StandardScaler(), CrossConformalRegressor(Ridge(), random_state=0))
    plain = make_pipeline(StandardScaler(), Ridge())
    assert (
        abs(cross_val_score(pipe, x, y, cv=3).mean() - cross_val_score(plain, x, y, cv=3).mean())
        < 0.02
    )
    grid = GridSearchCV(
        CrossConformalRegressor(Ridge(), cv=3, random_state=0),
        {"estimator__alpha": [0.1, 10.0]},
        cv=3,
    ).fit(x, y)
    assert grid.best_estimator_.predict_interval(x[:3]).shape == (3, 2)
    fitted = CrossConformalRegressor(random_state=0).fit(x, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_interval(x), fitted.predict_interval(x))
    twin = clone(fitted).fit(x, y)
    np.testing.assert_array_equal(twin.predict_interval(x), fitted.predict_interval(x))


def test_pandas_in_keeps_feature_names_and_ignores_index(data):
    x, y = data
    frame = pd.DataFrame(x, columns=["a", "b", "c"], index=np.arange(len(x))[::-1] + 1000)
    series = pd.Series(y, index=frame.index)
    model = CrossConformalRegressor(cv="loo").fit(frame, series)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    plain = CrossConformalRegressor(cv="loo").fit(x, y)
    np.testing.assert_allclose(model.predict_interval(frame), plain.predict_interval(x))
    np.testing.assert_allclose(model.predict(frame), plain.predict(x))


def test_same_seed_same_output_and_generator_not_advanced(data):
    x, y = data
    gen = np.random.default_rng(5)
    state = gen.bit_generator.state
    a = CrossConformalRegressor(random_state=gen).fit(x, y).predict_interval(x)
    b = CrossConformalRegressor(random_state=gen).fit(x, y).predict_interval(x)
    np.testing.assert_array_equal(a, b)
    assert gen.bit_generator.state == state


def test_user_objects_are_not_mutated(data):
    x, y = data
    base = LinearRegression()
    score = SignedScore()
    x0, y0 = x.copy(), y.copy()
    model = CrossConformalRegressor(base, conformity_score=score, method="base").fit(x, y)
    assert not hasattr(base, "coef_") and model.score_ is not score
    assert all(m is not base for m in model.estimators_)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "naive"}, r"'method' parameter of CrossConformalRegressor must be a str among"),
        ({"cv": 1}, r"'cv' parameter of CrossConformalRegressor"),
        ({"cv": "kfold"}, r"'cv' parameter of CrossConformalRegressor"),
        ({"cv": 500}, r"cv=500 folds need at least 500 samples; got 200 samples"),
        ({"cv": ShuffleSplit(3, random_state=0)}, r"exactly one test fold .* sample \d+ is in"),
        ({"cv": [(np.arange(200), np.arange(200))]}, r"split 0 trains on samples it holds out"),
        ({"confidence_level": 1.5}, r"'confidence_level' parameter of CrossConformalRegressor"),
        ({"confidence_level": [0.5, 1.0]}, r"Got \[0.5, 1.0\] instead"),
        ({"conformity_score": "huber"}, r"'conformity_score' parameter .* str among"),
        ({"conformity_score": "gamma"}, r"'conformity_score' parameter .* str among"),
        ({"conformity_score": GammaScore()}, r"not supported by CrossConformalRegressor.*"),
        ({"predict_mode": "max"}, r"'predict_mode' parameter"),
        ({"n_jobs": 1.5}, r"'n_jobs' parameter"),
    ],
)
def test_bad_parameters(data, params, match):
    x, y = data
    with pytest.raises(ValueError, match=match):
        CrossConformalRegressor(**params).fit(x, y)


def test_unsupported_score_lists_the_supported_ones(data):
    x, y = data
    with pytest.raises(ValueError, match=r"Supported: \['absolute', 'signed'\]"):
        CrossConformalRegressor(conformity_score=GammaScore()).fit(x, y)


def test_frozen_estimator_is_rejected(data):
    x, y = data
    frozen = FrozenEstimator(LinearRegression().fit(x, y))
    with pytest.raises(ValueError, match=r"refits the estimator on each fold.*SplitConformal"):
        CrossConformalRegressor(frozen).fit(x, y)


def test_nan_in_y_is_rejected(data):
    x, y = data
    y = y.copy()
    y[7] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN or infinity at 1 position\(s\)"):
        CrossConformalRegressor().fit(x, y)


def test_shape_mismatch_and_unfitted(data):
    x, y = data
    with pytest.raises(ValueError, match="X has 200 rows but y has 199"):
        CrossConformalRegressor().fit(x, y[:-1])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        CrossConformalRegressor().predict_interval(x)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        CrossConformalRegressor().predict(x)
    model = CrossConformalRegressor(random_state=0).fit(x, y)
    with pytest.raises(ValueError, match="X has 2 features, but CrossConformalRegressor is"):
        model.predict_interval(np.ones((3, 2)))


def test_bad_level_at_predict_time(data):
    x, y = data
    model = CrossConformalRegressor(random_state=0).fit(x, y)
    with pytest.raises(ValueError, match=r"Got -0.1 instead"):
        model.predict_interval(x, confidence_level=-0.1)


def test_full_prediction_needs_the_full_model(data):
    x, y = data
    model = CrossConformalRegressor(random_state=0).fit(x, y)
    model.set_params(predict_mode="full")
    with pytest.raises(ValueError, match="set predict_mode='full' before calling fit"):
        model.predict(x)


# ---------------------------------------------------------------- predictive distributions


@pytest.mark.parametrize("cv", [KFold(4, shuffle=True, random_state=1), LeaveOneOut()])
def test_central_cpd_quantiles_are_the_signed_plus_interval(cv):
    """The cross-conformal predictive system's quantiles at a/2 and 1 - a/2 are exactly the
    CV+ / jackknife+ interval of the signed score at 1 - a: both are order statistics of
    ``f_{-k(i)}(x) + y_i - f_{-k(i)}(x_i)``."""
    x, y = v.draw(79, np.random.default_rng(11))
    x_test = _test_points(25, x.shape[1])
    signed = CrossConformalRegressor(conformity_score="signed", cv=cv).fit(x, y)
    absolute = CrossConformalRegressor(cv=cv).fit(x, y)
    # The tails written out: 1 - 0.8 in floating point is 0.19999999999999996.
    for level, tails in ((0.8, [0.1, 0.9]), (0.9, [0.05, 0.95])):
        np.testing.assert_array_equal(
            absolute.predict_quantiles(x_test, tails), signed.predict_interval(x_test, level)
        )


def test_cross_cdf_is_the_naive_cross_cdf(data):
    x, y = data
    model = CrossConformalRegressor(cv=KFold(5, shuffle=True, random_state=0)).fit(x, y)
    x_test = _test_points(12, x.shape[1])
    centers = np.column_stack([m.predict(x_test) for m in model.estimators_])
    support = centers[:, model.fold_of_] + model.signed_residuals_  # the (n_test, n) matrix
    grid = np.linspace(y.min(), y.max(), 15)
    below = (support[:, :, None] < grid).sum(axis=1)
    ties = (support[:, :, None] == grid).sum(axis=1)
    n = y.shape[0]
    np.testing.assert_array_equal(model.predict_cdf(x_test, grid, kind="lower"), below / (n + 1))
    np.testing.assert_array_equal(
        model.predict_cdf(x_test, grid, kind="upper"), (below + ties + 1) / (n + 1)
    )
    assert pickle.loads(pickle.dumps(model)).predict_cdf(x_test, grid, kind="lower").shape == (
        12,
        15,
    )
