"""QuantileAggregator: exact global weights, local gating, baselines, rearrangement, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import QuantileRegressor, Ridge
from sklearn.model_selection import GroupKFold, KFold

from conformal.aggregation._aggregator import QuantileAggregator
from conformal.aggregation._global_weights import (
    block_problems,
    combine,
    fit_global_weights,
    solve_simplex_lp,
)
from conformal.aggregation._rearrangement import rearrange_quantiles

LEVELS = [0.1, 0.3, 0.5, 0.7, 0.9]


class GaussianQuantiles(RegressorMixin, BaseEstimator):
    """A protocol model: quantiles ``slope * x0 + bias + scale * z_t`` (+ the training mean of
    y when ``learn_mean``), so tests know every prediction and which model is right."""

    def __init__(self, slope=2.0, bias=0.0, scale=1.0, learn_mean=False, crossing=False):
        self.slope = slope
        self.bias = bias
        self.scale = scale
        self.learn_mean = learn_mean
        self.crossing = crossing

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.n_features_in_ = X.shape[1]
        self.offset_ = float(np.mean(y)) if self.learn_mean else 0.0
        return self

    def predict_quantiles(self, X, quantiles=None):
        X = np.asarray(X, dtype=float)
        z = norm.ppf(np.asarray(quantiles if quantiles is not None else [0.5]))
        if self.crossing:
            z = -z
        center = self.slope * X[:, 0] + self.bias + self.offset_
        return center[:, None] + self.scale * z[None, :]

    def predict(self, X):
        return self.predict_quantiles(X, [0.5])[:, 0]


class WrongShape(GaussianQuantiles):
    def predict_quantiles(self, X, quantiles=None):
        return super().predict_quantiles(X, quantiles)[:, :1]


def make_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = 2 * X[:, 0] + rng.normal(size=n)
    return X, y


def noisy_library():
    """Three imperfect models whose best mixture is interior (none dominates)."""
    return [
        GaussianQuantiles(slope=1.5, scale=0.6),
        GaussianQuantiles(slope=2.5, bias=0.4, scale=1.6),
        GaussianQuantiles(slope=2.0, bias=-0.5, scale=1.0),
    ]


def total_loss(y, predictions, levels):
    return _summed_pinball(y, predictions, levels)


def primal_lp(F, y, taus):
    """The textbook primal LP (weights + positive/negative residual slacks), for reference."""
    n, m, T = F.shape
    N = n * T
    A = F.transpose(0, 2, 1).reshape(N, m)
    eye = sp.identity(N, format="csr")
    A_eq = sp.vstack(
        [
            sp.hstack([sp.csr_matrix(A), eye, -eye]),
            sp.hstack([sp.csr_matrix(np.ones((1, m))), sp.csr_matrix((1, 2 * N))]),
        ]
    )
    b_eq = np.concatenate([np.repeat(y, T), [1.0]])
    tau_rows = np.tile(taus, n)
    cost = np.concatenate([np.zeros(m), tau_rows, 1 - tau_rows])
    result = linprog(cost, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    return result.x[:m], result.fun


# ---------------------------------------------------------------------- exact global weights


@pytest.mark.parametrize("family", ["coarse", "medium", "fine"])
def test_dual_lp_matches_primal_lp(family):
    """The dual solve gives the primal optimum's objective, block by block."""
    rng = np.random.default_rng(1)
    n, p, Q = 40, 3, 3
    taus = np.array([0.2, 0.5, 0.8])
    P = rng.normal(size=(n, p, Q)) + np.sort(rng.normal(size=Q))
    y = rng.normal(size=n)
    for F, block_taus, _ in block_problems(family, P, taus):
        w = solve_simplex_lp(F, y, block_taus)
        _, optimum = primal_lp(F, y, block_taus)
        ours = _summed_pinball(y, np.einsum("ikt,k->it", F, w), block_taus)
        assert ours == pytest.approx(optimum, rel=1e-8, abs=1e-9)


def test_coarse_lp_beats_every_point_of_a_simplex_grid():
    rng = np.random.default_rng(2)
    n, Q = 60, 3
    taus = np.array([0.1, 0.5, 0.9])
    P = rng.normal(size=(n, 3, Q)) + norm.ppf(taus)
    y = rng.normal(size=n)
    w = fit_global_weights("coarse", P, y, taus)
    best = total_loss(y, combine("coarse", P, w), taus)
    grid = np.linspace(0, 1, 51)
    for a, b in itertools.product(grid, grid):
        if a + b <= 1:
            candidate = np.array([a, b, 1 - a - b])
            assert best <= total_loss(y, combine("coarse", P, candidate), taus) + 1e-9


@pytest.mark.parametrize("family", ["coarse", "medium", "fine"])
def test_weights_on_simplex(family):
    X, y = make_data()
    model = QuantileAggregator(noisy_library(), LEVELS, family=family, cv=4, random_state=0).fit(
        X, y
    )
    w = model.weights_
    assert w.shape == {"coarse": (3,), "medium": (5, 3), "fine": (5, 3, 5)}[family]
    assert (w >= 0).all()
    sums = w.sum() if family == "coarse" else w.reshape(5, -1).sum(axis=1)
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)


def test_families_nest_on_out_of_fold_loss():
    """fine contains medium contains coarse contains every single model and the average, so the
    fitted out-of-fold loss is ordered."""
    X, y = make_data(300)
    losses = {}
    for family in ["coarse", "medium", "fine", "best", "average"]:
        model = QuantileAggregator(
            noisy_library(), LEVELS, family=family, cv=4, random_state=0, rearrangement=None
        ).fit(X, y)
        oof = model._aggregate(model.oof_predictions_, X)
        losses[family] = total_loss(y, oof, LEVELS)
    P = model.oof_predictions_
    singles = [total_loss(y, P[:, j], LEVELS) for j in range(3)]
    tol = 1e-8 * losses["best"]
    assert losses["fine"] <= losses["medium"] + tol
    assert losses["medium"] <= losses["coarse"] + tol
    assert losses["coarse"] <= losses["best"] + tol
    assert losses["coarse"] <= losses["average"] + tol
    assert losses["best"] == pytest.approx(min(singles))
    assert losses["coarse"] < losses["best"] - tol  # an interior mixture strictly helps here


@pytest.mark.parametrize("family", ["coarse", "medium"])
def test_one_perfect_model_is_selected(family):
    """(Not fine: with 15 candidates per level it can fit the out-of-fold noise better than the
    true quantiles in sample; its nesting is checked above.)"""
    X, y = make_data(400)
    library = [
        GaussianQuantiles(slope=2.0, bias=3.0),
        GaussianQuantiles(slope=2.0),  # the data's own conditional quantiles
        GaussianQuantiles(slope=-2.0, scale=3.0),
    ]
    model = QuantileAggregator(library, LEVELS, family=family, cv=4, random_state=0).fit(X, y)
    w = model.weights_
    on_perfect = w[1] if family == "coarse" else w[:, 1]
    assert np.all(on_perfect > 0.85)


# ---------------------------------------------------------------------- fit mechanics


def test_oof_predictions_are_out_of_fold_and_models_refit_on_all_rows():
    X, y = make_data(50)
    cv = KFold(5, shuffle=True, random_state=3)
    model = QuantileAggregator(
        [GaussianQuantiles(learn_mean=True)], LEVELS, family="coarse", cv=cv
    ).fit(X, y)
    for k, (train, test) in enumerate(cv.split(X)):
        expected = GaussianQuantiles(learn_mean=True).fit(X[train], y[train])
        np.testing.assert_allclose(
            model.oof_predictions_[test, 0], expected.predict_quantiles(X[test], LEVELS)
        )
        assert (model.fold_of_[test] == k).all()
    assert model.estimators_[0].offset_ == pytest.approx(y.mean())
    assert model.oof_predictions_.shape == (50, 1, 5)


def test_user_estimators_are_not_fitted_or_changed_and_clone_works():
    X, y = make_data(60)
    library = [GaussianQuantiles(), QuantileRegressor(alpha=0.0)]
    before = [est.get_params() for est in library]
    model = QuantileAggregator(library, [0.2, 0.8], cv=3, random_state=0)
    model.fit(X, y)
    assert [est.get_params() for est in library] == before
    assert not hasattr(library[0], "offset_") and not hasattr(library[1], "coef_")
    assert model.estimators_[0] is not library[0]
    fresh = clone(model)
    assert not hasattr(fresh, "estimators_")
    np.testing.assert_allclose(fresh.fit(X, y).predict(X), model.predict(X))


def test_names_default_from_class_names_and_pairs_are_kept():
    X, y = make_data(40)
    model = QuantileAggregator(
        [GaussianQuantiles(), GaussianQuantiles(bias=1.0), ("qr", QuantileRegressor(alpha=0.0))],
        [0.5],
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert list(model.named_estimators_) == ["gaussianquantiles-1", "gaussianquantiles-2", "qr"]
    assert model.named_estimators_["qr"] is model.estimators_[2]


def test_predict_quantiles_subset_and_predict_is_middle_level():
    X, y = make_data(80)
    model = QuantileAggregator(noisy_library(), LEVELS, cv=4, random_state=0).fit(X, y)
    full = model.predict_quantiles(X[:7])
    np.testing.assert_allclose(model.predict_quantiles(X[:7], [0.3, 0.9]), full[:, [1, 4]])
    np.testing.assert_allclose(model.predict(X[:7]), full[:, 2])
    assert full.shape == (7, 5)


def test_same_seed_same_output_and_group_folds():
    X, y = make_data(60)
    groups = np.repeat(np.arange(6), 10)
    first = QuantileAggregator(noisy_library(), LEVELS, cv=3, random_state=5).fit(X, y)
    second = QuantileAggregator(noisy_library(), LEVELS, cv=3, random_state=5).fit(X, y)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    grouped = QuantileAggregator(noisy_library(), LEVELS, cv=GroupKFold(3)).fit(X, y, groups=groups)
    for g in range(6):
        assert len(set(grouped.fold_of_[groups == g])) == 1


def test_dataframe_features_are_passed_through():
    pd = pytest.importorskip("pandas")
    X, y = make_data(60)
    frame = pd.DataFrame(X, columns=["a", "b"])
    model = QuantileAggregator([QuantileRegressor(alpha=0.0)], [0.5], cv=3, random_state=0)
    model.fit(frame, y)
    assert list(model.feature_names_in_) == ["a", "b"]
    assert model.predict(frame.iloc[:3]).shape == (3,)


def test_max_rows_subsamples_the_weight_fit():
    X, y = make_data(120)
    full = QuantileAggregator(noisy_library(), LEVELS, cv=3, random_state=0).fit(X, y)
    same = QuantileAggregator(noisy_library(), LEVELS, cv=3, random_state=0, max_rows=500)
    np.testing.assert_array_equal(same.fit(X, y).weights_, full.weights_)
    sub = QuantileAggregator(noisy_library(), LEVELS, cv=3, random_state=0, max_rows=30)
    sub.fit(X, y)
    assert sub.oof_predictions_.shape[0] == 120
    np.testing.assert_allclose(sub.weights_.sum(axis=1), 1.0)
    assert not np.allclose(sub.weights_, full.weights_)


# ---------------------------------------------------------------------- local weights


def two_regime_data(n=400, seed=0):
    """Model 0 is right for x0 < 0, model 1 for x0 > 0: only x-dependent weights fit both."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 1))
    y = np.where(X[:, 0] < 0, 2 * X[:, 0], -2 * X[:, 0]) + 0.3 * rng.normal(size=n)
    library = [GaussianQuantiles(slope=2.0, scale=0.3), GaussianQuantiles(slope=-2.0, scale=0.3)]
    return X, y, library


@pytest.mark.parametrize("family", ["coarse", "medium", "fine"])
def test_local_weights_beat_global_weights_when_the_best_model_depends_on_x(family):
    X, y, library = two_regime_data()
    kwargs = dict(family=family, cv=4, random_state=0, rearrangement=None)
    glob = QuantileAggregator(library, LEVELS, **kwargs).fit(X, y)
    local = QuantileAggregator(library, LEVELS, weighting="local", alpha=1e-4, **kwargs)
    local.fit(X, y)
    oof_global = total_loss(y, glob._aggregate(glob.oof_predictions_, X), LEVELS)
    oof_local = total_loss(y, local._aggregate(local.oof_predictions_, X), LEVELS)
    assert oof_local < 0.7 * oof_global
    assert local.gate_coef_.shape[0] == (1 if family == "coarse" else len(LEVELS))


@pytest.mark.parametrize("family", ["coarse", "medium", "fine"])
def test_predict_weights_are_on_the_simplex_and_aggregate_to_predictions(family):
    X, y, library = two_regime_data(200)
    model = QuantileAggregator(
        library, LEVELS, family=family, weighting="local", cv=3, rearrangement=None
    ).fit(X, y)
    weights = model.predict_weights(X[:9])
    assert weights.shape == (9, *model.weights_.shape)
    assert (weights >= 0).all()
    candidate_axes = (-2, -1) if family == "fine" else (-1,)
    np.testing.assert_allclose(weights.sum(axis=candidate_axes), 1.0)
    base = np.stack([m.predict_quantiles(X[:9], LEVELS) for m in model.estimators_], axis=1)
    subscripts = {"coarse": "ijt,ij->it", "medium": "ijt,itj->it", "fine": "ijv,itjv->it"}
    np.testing.assert_allclose(
        np.einsum(subscripts[family], base, weights), model.predict_quantiles(X[:9])
    )
    glob = clone(model).set_params(weighting="global").fit(X, y)
    np.testing.assert_allclose(glob.predict_weights(X[:2])[1], glob.weights_)
    with pytest.raises(ValueError, match="family='qra' has no simplex weights"):
        clone(glob).set_params(family="qra").fit(X, y).predict_weights(X)


@pytest.mark.parametrize("family", ["coarse", "medium"])
def test_local_weights_reduce_to_global_when_alpha_is_huge(family):
    X, y = make_data(200)
    kwargs = dict(family=family, cv=4, random_state=0)
    glob = QuantileAggregator(noisy_library(), LEVELS, **kwargs).fit(X, y)
    local = QuantileAggregator(noisy_library(), LEVELS, weighting="local", alpha=1e8, **kwargs)
    local.fit(X, y)
    np.testing.assert_allclose(local.gate_coef_[:, 1:], 0.0, atol=1e-6)
    # Same weights up to the softplus smoothing of the pinball loss (0.01 sd of y).
    spread = np.ptp(y)
    np.testing.assert_allclose(
        local.predict_quantiles(X), glob.predict_quantiles(X), atol=0.02 * spread
    )


# ---------------------------------------------------------------------- baselines


def test_baselines_by_hand():
    X, y = make_data(150)
    kwargs = dict(cv=3, random_state=0, rearrangement=None)
    fitted = {
        family: QuantileAggregator(noisy_library(), LEVELS, family=family, **kwargs).fit(X, y)
        for family in ["best", "average", "median", "qra"]
    }
    X_test = make_data(20, seed=9)[0]
    base = np.stack(
        [m.fit(X, y).predict_quantiles(X_test, LEVELS) for m in noisy_library()], axis=1
    )
    P = fitted["best"].oof_predictions_
    best = int(np.argmin([total_loss(y, P[:, j], LEVELS) for j in range(3)]))
    np.testing.assert_allclose(fitted["best"].predict_quantiles(X_test), base[:, best])
    np.testing.assert_allclose(fitted["average"].predict_quantiles(X_test), base.mean(axis=1))
    np.testing.assert_allclose(fitted["median"].predict_quantiles(X_test), np.median(base, 1))
    assert fitted["median"].weights_ is None
    qra = fitted["qra"]
    for t, tau in enumerate(LEVELS):
        reference = QuantileRegressor(quantile=tau, alpha=0.0, solver="highs").fit(P[:, :, t], y)
        np.testing.assert_allclose(qra.weights_[t], reference.coef_, atol=1e-8)
        np.testing.assert_allclose(
            qra.predict_quantiles(X_test)[:, t], reference.predict(base[:, :, t]), atol=1e-8
        )


# ---------------------------------------------------------------------- rearrangement


@pytest.mark.parametrize("method", ["sort", "isotonic"])
def test_rearrangement_is_applied_after_aggregation(method):
    X, y = make_data(60)
    library = [GaussianQuantiles(crossing=True), GaussianQuantiles(bias=0.5, crossing=True)]
    raw = QuantileAggregator(library, LEVELS, family="average", rearrangement=None, cv=3)
    raw.fit(X, y)
    crossing = raw.predict_quantiles(X)
    assert (np.diff(crossing, axis=1) < 0).any()
    model = clone(raw).set_params(rearrangement=method).fit(X, y)
    np.testing.assert_allclose(model.predict_quantiles(X), rearrange_quantiles(crossing, method))
    assert (np.diff(model.predict_quantiles(X), axis=1) >= 0).all()


# ---------------------------------------------------------------------- errors


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        QuantileAggregator([QuantileRegressor()]).predict_quantiles([[0.0]])


def test_empty_estimators():
    X, y = make_data(20)
    with pytest.raises(ValueError, match=r"estimators=\[\] is empty.*at least one"):
        QuantileAggregator([]).fit(X, y)


@pytest.mark.parametrize(
    ("estimator", "match"),
    [
        (Ridge(), r"estimators\[1\] \(Ridge\) has no predict_quantiles.*quantile_param"),
        (
            HistGradientBoostingRegressor(),
            r"estimators\[1\] \(HistGradientBoostingRegressor\).*loss='quantile'",
        ),
    ],
)
def test_model_without_quantiles(estimator, match):
    X, y = make_data(20)
    with pytest.raises(ValueError, match=match):
        QuantileAggregator([GaussianQuantiles(), estimator], cv=2).fit(X, y)


def test_not_an_estimator_and_bad_pairs_and_duplicate_names():
    X, y = make_data(20)
    with pytest.raises(ValueError, match=r"estimators\[0\]='ridge' is not an estimator"):
        QuantileAggregator(["ridge"], cv=2).fit(X, y)
    with pytest.raises(ValueError, match=r"estimators\[0\]=.* must be an estimator or a \(name"):
        QuantileAggregator([(1, GaussianQuantiles())], cv=2).fit(X, y)
    with pytest.raises(ValueError, match="names must be unique; got 'a' 2 times"):
        QuantileAggregator([("a", GaussianQuantiles()), ("a", GaussianQuantiles())]).fit(X, y)


@pytest.mark.parametrize(
    ("quantiles", "match"),
    [
        ([0.0, 0.5], "strictly between 0 and 1; got \\[0.0\\]"),
        ([0.5, 1.2], "strictly between 0 and 1; got \\[1.2\\]"),
        ([0.9, 0.1], "strictly increasing; got unsorted"),
        ([0.1, 0.1, 0.5], "strictly increasing; got duplicated"),
        ([], "non-empty"),
    ],
)
def test_bad_quantiles(quantiles, match):
    X, y = make_data(20)
    with pytest.raises(ValueError, match=match):
        QuantileAggregator([GaussianQuantiles()], quantiles, cv=2).fit(X, y)


def test_more_folds_than_rows():
    X, y = make_data(4)
    with pytest.raises(ValueError, match=r"cv=5 folds need at least 5 samples.*got 4 samples"):
        QuantileAggregator([GaussianQuantiles()]).fit(X, y)


def test_cv_must_partition_rows():
    X, y = make_data(20)
    splits = [(np.arange(10), np.arange(10, 20)), (np.arange(5, 20), np.arange(5))]
    with pytest.raises(ValueError, match="cv must put every sample in exactly one test fold"):
        QuantileAggregator([GaussianQuantiles()], cv=splits).fit(X, y)


def test_local_weighting_for_a_baseline():
    X, y = make_data(20)
    with pytest.raises(ValueError, match="weighting='local' is not available for the baseline"):
        QuantileAggregator([GaussianQuantiles()], family="qra", weighting="local").fit(X, y)


def test_local_weighting_needs_numeric_features():
    X, y = make_data(20)
    X = X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"weighting='local' .* needs numeric, finite X"):
        QuantileAggregator([GaussianQuantiles()], weighting="local", cv=2).fit(X, y)


def test_invalid_parameters_use_sklearn_messages():
    X, y = make_data(20)
    with pytest.raises(ValueError, match="The 'family' parameter of QuantileAggregator"):
        QuantileAggregator([GaussianQuantiles()], family="huge").fit(X, y)
    with pytest.raises(ValueError, match="The 'alpha' parameter of QuantileAggregator"):
        QuantileAggregator([GaussianQuantiles()], alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="The 'cv' parameter of QuantileAggregator"):
        QuantileAggregator([GaussianQuantiles()], cv=1).fit(X, y)
    with pytest.raises(ValueError, match=r"The 'cv' parameter .* Got 'kfold' instead"):
        QuantileAggregator([GaussianQuantiles()], cv="kfold").fit(X, y)


def test_leave_one_out():
    X, y = make_data(12)
    model = QuantileAggregator([GaussianQuantiles(learn_mean=True)], [0.5], cv="loo").fit(X, y)
    np.testing.assert_array_equal(np.sort(model.fold_of_), np.arange(12))


def test_unfitted_level_at_predict():
    X, y = make_data(20)
    model = QuantileAggregator([GaussianQuantiles()], [0.1, 0.9], cv=2).fit(X, y)
    with pytest.raises(ValueError, match=r"fitted at quantiles \[0.1, 0.9\] and cannot predict"):
        model.predict_quantiles(X, [0.5])


def test_base_model_with_wrong_output_shape():
    X, y = make_data(20)
    with pytest.raises(ValueError, match=r"'wrongshape' \(WrongShape\) returned predict_quant"):
        QuantileAggregator([WrongShape()], [0.1, 0.9], cv=2).fit(X, y)


def test_y_none():
    with pytest.raises(ValueError, match="requires y to be passed"):
        QuantileAggregator([GaussianQuantiles()]).fit([[0.0]] * 5, None)


# ---------------------------------------------------------------------- user report (issue 15)


class NonFiniteQuantiles(GaussianQuantiles):
    """Quantiles that are ``value`` (NaN or inf) wherever ``x0 > threshold``."""

    def __init__(self, value=np.nan, threshold=0.5):
        super().__init__()
        self.value = value
        self.threshold = threshold

    def predict_quantiles(self, X, quantiles=None):
        values = super().predict_quantiles(X, quantiles)
        values[np.asarray(X, dtype=float)[:, 0] > self.threshold] = self.value
        return values


def test_default_names_skip_given_names_and_every_model_is_kept():
    X, y = make_data(60)
    library = [
        GaussianQuantiles(),
        ("gaussianquantiles-1", GaussianQuantiles(bias=1.0)),
        GaussianQuantiles(bias=-1.0),
    ]
    model = QuantileAggregator(library, LEVELS, family="median", cv=3, random_state=0).fit(X, y)
    names = ["gaussianquantiles-2", "gaussianquantiles-1", "gaussianquantiles-3"]
    assert list(model.named_estimators_) == names
    assert len(model.named_estimators_) == len(model.estimators_) == 3
    for name, fitted in zip(names, model.estimators_, strict=True):
        assert model.named_estimators_[name] is fitted
    # The median of all three models, not of two.
    base = np.stack([est.predict_quantiles(X, LEVELS) for est in model.estimators_], axis=1)
    np.testing.assert_allclose(model.predict_quantiles(X), np.median(base, axis=1))
    single = QuantileAggregator(
        [("gaussianquantiles", GaussianQuantiles()), GaussianQuantiles(bias=1.0)], [0.5], cv=2
    ).fit(X, y)
    assert list(single.named_estimators_) == ["gaussianquantiles", "gaussianquantiles-1"]


def test_user_report_names_with_package_models():
    from conformal.aggregation import KNeighborsQuantileRegressor, QuantileForestRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(200, 3))
    y = X[:, 0] + rng.normal(scale=0.2, size=200)
    library = [
        KNeighborsQuantileRegressor(n_neighbors=5),
        ("kneighborsquantileregressor-1", QuantileForestRegressor(n_estimators=10)),
        KNeighborsQuantileRegressor(n_neighbors=50),
    ]
    model = QuantileAggregator(library, family="median", cv=3, random_state=0).fit(X, y)
    assert len(model.named_estimators_) == len(model.estimators_) == 3


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("a__b", r"estimator name 'a__b' contains '__'.*rename the pair \(e.g. 'a_b'\)"),
        ("cv", r"estimator name 'cv' is also a parameter of QuantileAggregator.*'cv_model'"),
    ],
)
def test_invalid_estimator_names(name, match):
    X, y = make_data(20)
    with pytest.raises(ValueError, match=match):
        QuantileAggregator([(name, GaussianQuantiles())], cv=2).fit(X, y)


@pytest.mark.parametrize(
    ("value", "counts"), [(np.nan, r"\d+ with NaN, 0 with \+-inf"), (np.inf, r"0 with NaN, \d+")]
)
def test_non_finite_base_predictions_at_fit(value, counts):
    X, y = make_data(60)
    library = [GaussianQuantiles(), NonFiniteQuantiles(value)]
    with pytest.raises(
        ValueError,
        match=(
            r"base model 'nonfinitequantiles' \(NonFiniteQuantiles\) predicted non-finite "
            rf"quantiles out of fold \(fold \d\) in \d+ of \d+ rows \({counts}.*cannot use NaN "
            r"or infinite values. Fix the base model.*or remove it from estimators"
        ),
    ):
        QuantileAggregator(library, LEVELS, cv=3, random_state=0).fit(X, y)


def test_non_finite_base_predictions_at_predict():
    X, y = make_data(60)
    library = [GaussianQuantiles(), ("nan", NonFiniteQuantiles(np.nan, threshold=2.0))]
    model = QuantileAggregator(library, LEVELS, cv=3, random_state=0).fit(X, y)
    X_far = np.array([[0.0, 0.0], [3.0, 0.0], [4.0, 0.0]])
    with pytest.raises(
        ValueError,
        match=r"'nan' \(NonFiniteQuantiles\) predicted non-finite quantiles at predict in 2 of "
        r"3 rows \(2 with NaN, 0 with \+-inf, first: row 1\)",
    ):
        model.predict(X_far)


def test_set_params_of_base_models_by_name():
    from conformal.aggregation import KNeighborsQuantileRegressor

    X, y = make_data(120)
    knn = KNeighborsQuantileRegressor(n_neighbors=3)
    model = QuantileAggregator(
        [("knn", knn), GaussianQuantiles(bias=0.5)], LEVELS, family="coarse", cv=3, random_state=0
    )
    params = model.get_params()
    assert params["knn"] is knn and params["knn__n_neighbors"] == 3
    assert params["gaussianquantiles__bias"] == 0.5  # default names work too
    assert "knn" not in model.get_params(deep=False)
    before = model.fit(X, y).predict_quantiles(X)
    assert model.set_params(knn__n_neighbors=40, gaussianquantiles__bias=0.0) is model
    assert knn.n_neighbors == 40 and model.estimators[1].bias == 0.0
    after = model.fit(X, y).predict_quantiles(X)
    assert model.estimators_[0].n_neighbors == 40
    assert not np.allclose(before, after)
    # Replacing a model keeps its name, also for an unnamed one.
    model.set_params(knn=GaussianQuantiles(slope=1.0), gaussianquantiles=QuantileRegressor())
    assert model.estimators[0][0] == "knn" and model.estimators[0][1].slope == 1.0
    assert model.estimators[1][0] == "gaussianquantiles"
    assert isinstance(model.estimators[1][1], QuantileRegressor)
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        model.set_params(nope__n_neighbors=3)


def test_clone_and_grid_search_over_a_base_model_parameter():
    from sklearn.model_selection import GridSearchCV

    from conformal.aggregation import KNeighborsQuantileRegressor

    X, y = make_data(120)
    model = QuantileAggregator(
        [("knn", KNeighborsQuantileRegressor(n_neighbors=3)), GaussianQuantiles()],
        [0.1, 0.5, 0.9],
        cv=3,
        random_state=0,
    )
    fresh = clone(model).set_params(knn__n_neighbors=7)
    assert fresh.estimators[0][1] is not model.estimators[0][1]
    assert model.get_params()["knn__n_neighbors"] == 3
    search = GridSearchCV(model, {"knn__n_neighbors": [3, 30]}, cv=2).fit(X, y)
    best = search.best_params_["knn__n_neighbors"]
    assert best in (3, 30)
    assert search.best_estimator_.estimators_[0].n_neighbors == best


def test_frozen_base_model_warns():
    from sklearn.frozen import FrozenEstimator

    from conformal.aggregation import KNeighborsQuantileRegressor
    from conformal.exceptions import ConformalWarning

    X, y = make_data(60)
    frozen = FrozenEstimator(KNeighborsQuantileRegressor(n_neighbors=5).fit(X, y))
    model = QuantileAggregator([GaussianQuantiles(), frozen], LEVELS, cv=3, random_state=0)
    with pytest.warns(
        ConformalWarning,
        match=(
            r"estimators\[1\] \('frozenestimator'\) is a FrozenEstimator around "
            r"KNeighborsQuantileRegressor: a frozen model is not refitted per fold, so its "
            r"out-of-fold predictions are in-sample.*weights favour it. Pass the unfitted "
            r"KNeighborsQuantileRegressor"
        ),
    ):
        model.fit(X, y)


def test_predict_breaks_ties_towards_the_lower_level():
    X, y = make_data(40)
    model = QuantileAggregator(noisy_library(), [0.1, 0.9], cv=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict(X), model.predict_quantiles(X, [0.1])[:, 0])
    assert "the lower one" in QuantileAggregator.predict.__doc__


def test_max_rows_must_exceed_the_number_of_base_models():
    X, y = make_data(60)
    with pytest.raises(
        ValueError,
        match=r"max_rows=1 is too few rows to fit the weights of 3 base models: use "
        r"max_rows >= 4 .* or max_rows=None",
    ):
        QuantileAggregator(noisy_library(), LEVELS, cv=3, max_rows=1).fit(X, y)
    model = QuantileAggregator(noisy_library(), LEVELS, cv=3, max_rows=4, random_state=0)
    np.testing.assert_allclose(model.fit(X, y).weights_.sum(axis=1), 1.0)


def test_pipeline_ending_in_a_quantile_model_is_a_base_model():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from conformal.aggregation import KNeighborsQuantileRegressor

    X, y = make_data(90)
    pipe = make_pipeline(StandardScaler(), KNeighborsQuantileRegressor(n_neighbors=10))
    splits = list(KFold(3).split(X))
    model = QuantileAggregator([pipe, GaussianQuantiles()], LEVELS, cv=splits).fit(X, y)
    assert list(model.named_estimators_) == ["pipeline", "gaussianquantiles"]
    for train, test in splits:
        expected = clone(pipe).set_params(kneighborsquantileregressor__quantiles=LEVELS)
        expected.fit(X[train], y[train])
        scaled = expected[:-1].transform(X[test])
        np.testing.assert_allclose(
            model.oof_predictions_[test, 0], expected[-1].predict_quantiles(scaled, LEVELS)
        )
    assert model.predict_quantiles(X[:5]).shape == (5, 5)
    assert model.get_params()["pipeline__kneighborsquantileregressor__n_neighbors"] == 10


@pytest.mark.parametrize(
    ("family", "weighting"),
    [("coarse", "global"), ("fine", "global"), ("medium", "local"), ("qra", "global")],
)
def test_refit_weights_equals_a_fresh_fit_without_refitting_the_base_models(family, weighting):
    from sklearn.base import clone

    from conformal.aggregation import KNeighborsQuantileRegressor, QuantileAggregator

    rng = np.random.default_rng(3)
    X = rng.uniform(size=(160, 2))
    y = X[:, 0] + rng.normal(scale=0.1 + X[:, 1] / 5, size=160)
    models = [KNeighborsQuantileRegressor(n_neighbors=k) for k in (5, 30)]
    first = QuantileAggregator(models, [0.1, 0.5, 0.9], cv=3, random_state=0).fit(X, y)
    other = first.refit_weights(X, y, family=family, weighting=weighting)
    fresh = clone(first).set_params(family=family, weighting=weighting).fit(X, y)
    assert other.estimators_ is first.estimators_ and first.family == "medium"
    np.testing.assert_allclose(other.predict_quantiles(X), fresh.predict_quantiles(X))


def test_refit_weights_errors():
    from conformal.aggregation import KNeighborsQuantileRegressor, QuantileAggregator

    rng = np.random.default_rng(3)
    X, y = rng.uniform(size=(60, 2)), rng.normal(size=60)
    fitted = QuantileAggregator([KNeighborsQuantileRegressor(n_neighbors=5)], cv=3).fit(X, y)
    with pytest.raises(ValueError, match=r"X or y differ from the data this QuantileAggregator"):
        fitted.refit_weights(X, y + 1.0)
    with pytest.raises(ValueError, match=r"X or y differ from the data"):
        fitted.refit_weights(X[::-1], y)
    with pytest.raises(ValueError, match=r"y has 59 values but this QuantileAggregator was fitted"):
        fitted.refit_weights(X, y[1:])
    with pytest.raises(ValueError, match="features"):
        fitted.refit_weights(X[:, :1], y)
    with pytest.raises(ValueError, match=r"max_rows=1 is too few rows"):
        fitted.set_params(max_rows=1).refit_weights(X, y)
    fitted.set_params(max_rows=None, quantiles=[0.1, 0.9])
    with pytest.raises(ValueError, match=r"parameters changed since fit .* Call fit again"):
        fitted.refit_weights(X, y)
    fitted.set_params(quantiles=(0.05, 0.5, 0.95))
    fitted.refit_weights(X, y)  # back to the fitted parameters: allowed
    local = QuantileAggregator(
        [KNeighborsQuantileRegressor(n_neighbors=5)], cv=3, weighting="local"
    ).fit(X, y)
    with pytest.raises(ValueError, match=r"this aggregator's, kept since weighting=None"):
        local.refit_weights(X, y, family="best")
    with pytest.raises(ValueError, match="not available for the baseline"):
        fitted.refit_weights(X, y, family="average", weighting="local")
    with pytest.raises(ValueError, match="family"):
        fitted.refit_weights(X, y, family="finest")


def _summed_pinball(y, predictions, levels):
    """Summed pinball loss over rows and levels, from the package's metric."""
    from conformal.metrics import mean_pinball_loss

    per_level = mean_pinball_loss(y, predictions, levels, multioutput="raw_values")
    return float(np.sum(per_level) * len(y))
