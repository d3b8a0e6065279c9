"""MissingDataConformalRegressor: agreement with the pair-by-pair definition, the calibration
work it does, infinite / finite intervals, inputs, and scikit-learn conventions."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.frozen import FrozenEstimator
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.linear_model import LinearRegression, QuantileRegressor, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conformal.exceptions import ConformalWarning
from conformal.missing import MissingDataConformalRegressor, make_gaussian_missing

from ._naive import naive_intervals


def _fit(method="exact", score="cqr", imputer=None, n=140, cal=60, seed=0, rate=0.2, **kw):
    X, y = make_gaussian_missing(
        n, random_state=seed, beta=[1.0, 2.0, -1.0, 3.0], missing_rate=rate
    )
    model = QuantileRegressor(alpha=0.0, solver="highs") if score == "cqr" else LinearRegression()
    return MissingDataConformalRegressor(
        model,
        method=method,
        imputer=imputer if imputer is not None else SimpleImputer(),
        conformity_score=score,
        calibration_size=cal,
        random_state=seed,
        **kw,
    ).fit(X, y)


class CountingImputer(SimpleImputer):
    """SimpleImputer counting the rows and calls of ``transform``."""

    calls: list[int] = []

    def transform(self, X):
        CountingImputer.calls.append(np.shape(X)[0])
        return super().transform(X)


@pytest.mark.parametrize("method", ["exact", "nested"])
@pytest.mark.parametrize("score", ["cqr", "absolute"])
@pytest.mark.parametrize("iterative", [False, True])
def test_equals_the_pair_by_pair_definition(method, score, iterative):
    imputer = IterativeImputer(estimator=Ridge(), max_iter=3, random_state=0) if iterative else None
    model = _fit(method, score, imputer, n=100, cal=40)
    X_test, _ = make_gaussian_missing(8, random_state=5, beta=[1.0, 2.0, -1.0, 3.0])
    X_test[0] = np.nan  # a row with every feature missing
    X_test[1, :3] = np.nan
    ours = model.predict_interval(X_test)
    np.testing.assert_allclose(ours, naive_intervals(model, X_test, method), rtol=0, atol=1e-12)


def test_exact_thresholds_once_per_distinct_mask_in_one_batch():
    model = _fit("exact", imputer=CountingImputer())
    X_test, _ = make_gaussian_missing(300, random_state=3, beta=[1.0, 2.0, -1.0, 3.0])
    CountingImputer.calls.clear()
    model.predict_interval(X_test)
    calib = model.mask_calibration_
    unique = np.unique(np.isnan(X_test), axis=0)
    compatible = sum(calib.compatible(m).shape[0] for m in unique)
    # one call for every augmented calibration point of every distinct mask, one for the test
    assert CountingImputer.calls == [compatible, 300]
    assert compatible < 300 * calib.n_calibration


def test_nested_deduplicates_augmented_masks_and_batches_groups():
    model = _fit("nested", imputer=CountingImputer())
    X_test, _ = make_gaussian_missing(200, random_state=3, beta=[1.0, 2.0, -1.0, 3.0])
    CountingImputer.calls.clear()
    model.predict_interval(X_test)
    calib = model.mask_calibration_
    masks = np.isnan(X_test)
    unique, counts = np.unique(masks, axis=0, return_counts=True)
    expected = sum(
        calib.n_calibration + g * calib.augmented(m)[0].shape[0]
        for m, g in zip(unique, counts, strict=True)
    )
    assert CountingImputer.calls == [expected]  # one imputer call for every group here
    assert expected < 200 * calib.n_calibration  # fewer test rows than pairs


def test_nested_blocks_stay_within_memory_and_agree(monkeypatch):
    import conformal.missing as missing

    model = _fit("nested", imputer=CountingImputer())
    X_test, _ = make_gaussian_missing(60, random_state=4, beta=[1.0, 2.0, -1.0, 3.0])
    whole = model.predict_interval(X_test)
    monkeypatch.setattr(missing, "_BATCH_ROWS", 1)  # one group per call
    CountingImputer.calls.clear()
    np.testing.assert_allclose(model.predict_interval(X_test), whole, rtol=0, atol=1e-12)
    assert len(CountingImputer.calls) == np.unique(np.isnan(X_test), axis=0).shape[0]


def test_exact_too_few_compatible_points_is_infinite_with_a_warning_nested_stays_finite():
    model = _fit("exact", cal=30, n=80, rate=0.5)
    x = np.full((1, 4), np.nan)
    x[0, 2] = 0.5  # three features missing: every calibration point is compatible (finite)
    complete = np.array([[1.0, 1.0, 1.0, 1.0]])  # nothing missing: few compatible points
    n_complete = model.mask_calibration_.compatible(np.zeros(4, dtype=bool)).shape[0]
    assert n_complete < 9
    with pytest.warns(
        ConformalWarning,
        match=rf"CP-MDA-Exact: the mask with no feature missing has {n_complete} compatible "
        r"calibration points?; confidence_level=0.9 needs at least 9 .*method='nested'",
    ):
        interval = model.predict_interval(complete)
    assert np.isinf(interval).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(model.predict_interval(x)).all()
        assert np.isfinite(model.predict_interval(complete, method="nested")).all()


def test_exact_warning_names_features_by_name():
    pd = pytest.importorskip("pandas")
    X, y = make_gaussian_missing(80, random_state=0, beta=[1.0, 2.0, -1.0, 3.0])
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = MissingDataConformalRegressor(
        LinearRegression(),
        imputer=SimpleImputer(),
        conformity_score="absolute",
        calibration_size=10,
        random_state=0,
    ).fit(frame, y)
    test = pd.DataFrame([[np.nan, 1.0, 1.0, 1.0]], columns=["a", "b", "c", "d"])
    with pytest.warns(ConformalWarning, match=r"the mask with features \['a'\] missing has"):
        model.predict_interval(test)


def test_nested_warns_when_the_calibration_set_is_too_small():
    model = _fit("nested", cal=5, n=60)
    with pytest.warns(ConformalWarning, match=r"calibration set has 5 points"):
        out = model.predict_interval(np.ones((2, 4)))
    assert np.isinf(out).all()


def test_nested_reduces_to_impute_without_missing_values():
    X, y = make_gaussian_missing(200, missing_rate=0.0, random_state=1)
    X_test, _ = make_gaussian_missing(50, missing_rate=0.0, random_state=2)
    model = MissingDataConformalRegressor(
        LinearRegression(),
        imputer=SimpleImputer(keep_empty_features=True),
        conformity_score="absolute",
        random_state=0,
    ).fit(X, y)
    impute = model.predict_interval(X_test, method="impute")
    np.testing.assert_allclose(model.predict_interval(X_test, method="nested"), impute)
    np.testing.assert_allclose(model.predict_interval(X_test, method="exact"), impute)


def test_levels_shapes_and_point_predictions():
    model = _fit("exact", confidence_level=[0.8, 0.9])
    X_test, _ = make_gaussian_missing(7, random_state=9, beta=[1.0, 2.0, -1.0, 3.0])
    for method in ("impute", "exact", "nested"):
        both = model.predict_interval(X_test, method=method)
        assert both.shape == (7, 2, 2)
        assert model.predict_interval(X_test, 0.9, method=method).shape == (7, 2)
        assert model.predict_interval(X_test, [0.9], method=method).shape == (7, 1, 2)
    assert model.predict(X_test).shape == (7,)
    assert set(model.estimators_) == {0.05, 0.1, 0.5, 0.9, 0.95}


def test_default_estimator_and_imputer_fit_and_are_seeded():
    from sklearn.ensemble import HistGradientBoostingRegressor

    default = MissingDataConformalRegressor()._default_estimator()
    assert type(default).__name__ == "HistGradientBoostingRegressor"
    assert default.get_params()["loss"] == "quantile"
    absolute = MissingDataConformalRegressor(conformity_score="absolute")._default_estimator()
    assert absolute.get_params()["loss"] == "squared_error"
    X, y = make_gaussian_missing(120, random_state=0)
    small = HistGradientBoostingRegressor(loss="quantile", max_iter=5)  # default imputer
    a = MissingDataConformalRegressor(small, random_state=0).fit(X, y)
    b = MissingDataConformalRegressor(small, random_state=0).fit(X, y)
    X_test, _ = make_gaussian_missing(5, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)
        np.testing.assert_array_equal(a.predict_interval(X_test), b.predict_interval(X_test))
    assert type(a.imputer_).__name__ == "IterativeImputer"
    assert type(a.imputer_.estimator).__name__ == "Ridge"
    assert a.estimators_[0.5].n_features_in_ == 20  # [Phi(X), M]


def test_imputer_is_fitted_on_the_training_part_only():
    model = _fit("impute", n=100, cal=40)
    X, _ = make_gaussian_missing(100, random_state=0, beta=[1.0, 2.0, -1.0, 3.0])
    from conformal._validation import split_indices

    train, _ = split_indices(100, 40, 0)
    np.testing.assert_allclose(model.imputer_.statistics_, np.nanmean(X[train], axis=0))


def test_all_missing_rows_are_allowed_in_fit_and_predict():
    X, y = make_gaussian_missing(150, random_state=0, beta=[1.0, 2.0, -1.0, 3.0])
    X[:5] = np.nan
    model = MissingDataConformalRegressor(
        LinearRegression(),
        imputer=SimpleImputer(),
        conformity_score="absolute",
        random_state=0,
    ).fit(X, y)
    for method in ("impute", "exact", "nested"):
        assert np.isfinite(model.predict_interval(np.full((2, 4), np.nan), method=method)).all()


def test_pipeline_with_a_scaler_keeps_nan_and_pickles():
    X, y = make_gaussian_missing(150, random_state=0, beta=[1.0, 2.0, -1.0, 3.0])
    pipe = make_pipeline(
        StandardScaler(),
        MissingDataConformalRegressor(
            LinearRegression(),
            imputer=SimpleImputer(),
            conformity_score="absolute",
            random_state=0,
        ),
    ).fit(X, y)
    assert pipe.predict(X[:4]).shape == (4,)
    step = pipe[-1]
    restored = pickle.loads(pickle.dumps(step))
    Z = StandardScaler().fit(X).transform(X[:4])
    np.testing.assert_array_equal(restored.predict_interval(Z), step.predict_interval(Z))
    assert clone(step).get_params()["method"] == "exact"
    assert step.__sklearn_tags__().input_tags.allow_nan


def test_column_transformer_with_categorical_columns():
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    X, y = make_gaussian_missing(160, random_state=0, beta=[1.0, 2.0, -1.0, 3.0])
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["city"] = np.where(np.arange(160) % 2 == 0, "x", "y")
    pipe = make_pipeline(
        ColumnTransformer(
            [
                ("num", "passthrough", ["a", "b", "c", "d"]),
                ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["city"]),
            ],
            verbose_feature_names_out=False,
        ),
        MissingDataConformalRegressor(
            LinearRegression(),
            imputer=SimpleImputer(),
            conformity_score="absolute",
            random_state=0,
        ),
    ).fit(frame, y)
    assert pipe[-1].n_features_in_ == 6
    assert pipe.predict(frame.iloc[:3]).shape == (3,)


# ------------------------------------------------------------------------------ bad input


class IdentityImputer(BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float)


class FixedWidthRegressor(RegressorMixin, BaseEstimator):
    """A model that only takes ``width`` columns (e.g. trained elsewhere on the features)."""

    def __init__(self, width=4):
        self.width = width

    def fit(self, X, y):
        if np.shape(X)[1] != self.width:
            raise ValueError(f"expects {self.width} columns, got {np.shape(X)[1]}")
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(np.shape(X)[0], self.mean_)


def _data():
    return make_gaussian_missing(60, random_state=0, beta=[1.0, 2.0, -1.0, 3.0])


def _absolute(**kw):
    kw.setdefault("imputer", SimpleImputer())
    return MissingDataConformalRegressor(
        LinearRegression(), conformity_score="absolute", random_state=0, **kw
    )


def test_nan_in_y_is_an_error():
    X, y = _data()
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN or infinity at 1 position\(s\) .*drop"):
        _absolute().fit(X, y)


def test_feature_missing_in_every_training_row_is_an_error():
    X, y = _data()
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"feature\(s\) \[2\] are missing in every training row"):
        _absolute().fit(X, y)


def test_imputer_that_leaves_nan_is_an_error():
    X, y = _data()
    with pytest.raises(ValueError, match=r"imputer=IdentityImputer\(\) left NaN in \d+ entries"):
        _absolute(imputer=IdentityImputer()).fit(X, y)


def test_imputer_that_adds_columns_is_an_error():
    X, y = _data()
    with pytest.raises(ValueError, match=r"returned 8 columns for 4 features; .*add_indicator"):
        _absolute(imputer=SimpleImputer(add_indicator=True)).fit(X, y)


def test_model_that_cannot_take_the_mask_columns_is_an_error_with_the_fix():
    X, y = _data()
    model = MissingDataConformalRegressor(
        FixedWidthRegressor(4), conformity_score="absolute", imputer=SimpleImputer()
    )
    with pytest.raises(
        ValueError,
        match=r"FixedWidthRegressor could not be fitted .* \(\[Phi\(X\), M\], 8 columns for 4 "
        r"features\): expects 4 columns, got 8. Pass concatenate_mask=False",
    ):
        model.fit(X, y)
    model.set_params(concatenate_mask=False).fit(X, y)
    assert model.estimator_.width == 4
    with pytest.raises(ValueError, match=r"expects 3 columns, got 4"):
        model.set_params(estimator=FixedWidthRegressor(3)).fit(X, y)


def test_infinity_in_x_is_an_error():
    X, y = _data()
    X[1, 1] = np.inf
    with pytest.raises(ValueError, match=r"X contains infinity at 1 position\(s\) \(first: row 1"):
        _absolute().fit(X, y)


def test_unknown_method_at_predict_time_lists_the_options():
    X, y = _data()
    model = _absolute().fit(X, y)
    with pytest.raises(ValueError, match=r"Unknown method 'full'. Valid options are \['impute'"):
        model.predict_interval(X, method="full")


def test_bad_parameters_are_named():
    X, y = _data()
    with pytest.raises(ValueError, match=r"The 'method' parameter of MissingDataConformal"):
        _absolute(method="full").fit(X, y)
    with pytest.raises(ValueError, match=r"The 'conformity_score' parameter of MissingData"):
        MissingDataConformalRegressor(conformity_score="gamma").fit(X, y)


def test_frozen_model_is_refused():
    X, y = _data()
    frozen = FrozenEstimator(LinearRegression().fit(np.ones((3, 4)), [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"refits the model on the imputed features .*Frozen"):
        MissingDataConformalRegressor(frozen, conformity_score="absolute").fit(X, y)


def test_cqr_needs_a_quantile_model():
    X, y = _data()
    with pytest.raises(ValueError, match=r"Cannot tell which parameter of LinearRegression"):
        MissingDataConformalRegressor(LinearRegression(), imputer=SimpleImputer()).fit(X, y)


def test_predict_before_fit_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MissingDataConformalRegressor().predict_interval(np.ones((1, 4)))


def test_quantile_param_names_the_level_of_a_pipeline_and_sample_posterior_is_refused():
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import IterativeImputer, SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from conformal.missing import MissingDataConformalRegressor, make_gaussian_missing

    X, y = make_gaussian_missing(300, random_state=0)
    model = MissingDataConformalRegressor(
        make_pipeline(
            StandardScaler(), HistGradientBoostingRegressor(loss="quantile", max_iter=20)
        ),
        imputer=SimpleImputer(),
        quantile_param="histgradientboostingregressor__quantile",
        random_state=0,
    ).fit(X, y)
    intervals = model.predict_interval(X[:5])
    assert intervals.shape == (5, 2) and (intervals[:, 0] <= intervals[:, 1]).all()
    with pytest.raises(ValueError, match=r"IterativeImputer\(sample_posterior=True\) draws at"):
        MissingDataConformalRegressor(
            imputer=IterativeImputer(sample_posterior=True), random_state=0
        ).fit(X, y)
