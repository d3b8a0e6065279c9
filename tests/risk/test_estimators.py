"""Risk-controlling estimators: exactness against split conformal prediction, weighted CRC
through the weight schemes, validity, scikit-learn conventions and every error message."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.multioutput import MultiOutputClassifier

from conformal import ConformalWarning, SplitConformalRegressor
from conformal.risk import (
    RiskControlBinaryClassifier,
    RiskControlMultilabelClassifier,
    RiskControlRegressor,
    conformal_risk_control,
    conformal_risk_control_steps,
)
from conformal.weights import ExponentialDecayWeights, SlidingWindowWeights


def regression_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 5, size=(n, 2))
    return X, X[:, 0] * 2 + rng.normal(size=n) * (0.3 + X[:, 1])


def multilabel_data(n=600, n_labels=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_labels))
    Y = (X + 0.7 * rng.normal(size=(n, n_labels)) - 0.3 > 0).astype(int)
    return X, Y


# ------------------------------------------------------------------ regression


@pytest.mark.parametrize("score", ["absolute", "gamma"])
@pytest.mark.parametrize("alpha", [0.1, 0.2])
def test_regressor_miscoverage_reproduces_split_conformal(score, alpha):
    """Same split, same scores: the miscoverage loss gives the split-conformal intervals."""
    X, y = regression_data()
    if score == "gamma":
        y = np.abs(y) + 1.0
    risk = RiskControlRegressor(alpha=alpha, conformity_score=score, random_state=3).fit(X, y)
    split = SplitConformalRegressor(
        confidence_level=1 - alpha, conformity_score=score, random_state=3
    ).fit(X, y)
    np.testing.assert_array_equal(risk.conformity_scores_, split.conformity_scores_)
    np.testing.assert_array_equal(risk.predict_interval(X[:50]), split.predict_interval(X[:50]))
    np.testing.assert_array_equal(risk.predict(X[:5]), split.predict(X[:5]))


def test_regressor_weighted_miscoverage_is_weighted_split():
    X, y = regression_data(600)
    kw = dict(shuffle=False, weights=ExponentialDecayWeights(0.99))
    risk = RiskControlRegressor(alpha=0.1, **kw).fit(X, y)
    split = SplitConformalRegressor(confidence_level=0.9, **kw).fit(X, y)
    np.testing.assert_array_equal(risk.calibration_weights_, split.calibration_weights_)
    np.testing.assert_array_equal(risk.predict_interval(X[:20]), split.predict_interval(X[:20]))


def test_regressor_relative_distance_exact_against_dense_grid():
    """The exact piecewise-linear solution equals the smallest qualifying lambda of a fine
    grid up to the grid step, and its risk meets the rule."""
    X, y = regression_data(500, seed=1)
    model = RiskControlRegressor(alpha=0.05, loss="relative_distance", random_state=0).fit(X, y)
    s = model.conformity_scores_
    grid = np.linspace(0, s.max(), 20001)
    losses = np.maximum(0.0, 1 - grid[None, :] / np.where(s > 0, s, 1)[:, None]) * (s > 0)[:, None]
    dense = conformal_risk_control(losses, grid, 0.05)
    assert dense - grid[1] <= model.lambda_ <= dense
    n = s.shape[0]
    risk = np.maximum(0, 1 - model.lambda_ / s).mean()
    np.testing.assert_allclose(n / (n + 1) * risk + 1 / (n + 1), 0.05, rtol=1e-9)
    # smaller than the miscoverage threshold at the same alpha: the loss is milder
    assert model.lambda_ < RiskControlRegressor(alpha=0.05, random_state=0).fit(X, y).lambda_
    # weighted by a window: exact solution still meets the weighted rule with equality
    win = RiskControlRegressor(
        alpha=0.05, loss="relative_distance", shuffle=False, weights=SlidingWindowWeights(100)
    ).fit(X, y)
    w = win.calibration_weights_
    lhs = (w @ np.maximum(0, 1 - win.lambda_ / win.conformity_scores_) + 1) / (w.sum() + 1)
    np.testing.assert_allclose(lhs, 0.05, rtol=1e-9)


def test_regressor_relative_distance_validity():
    """E[max(0, 1 - lambda_hat / |y - f|)] <= alpha over seeded repetitions (known model:
    y = 2x + N(0, 1), frozen f(x) = 2x, so the loss law is that of |N(0,1)|)."""
    alpha, n, reps = 0.1, 100, 300
    rng = np.random.default_rng(11)
    z = np.abs(rng.normal(size=200000))
    model = FrozenEstimator(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]))
    values = np.empty(reps)
    for seed in range(reps):
        r = np.random.default_rng(seed)
        X = r.uniform(size=(n, 1))
        y = 2 * X[:, 0] + r.normal(size=n)
        lam = RiskControlRegressor(model, alpha=alpha, loss="relative_distance").fit(X, y).lambda_
        values[seed] = np.maximum(0, 1 - lam / z).mean()
    se = values.std(ddof=1) / np.sqrt(reps)
    assert values.mean() <= alpha + 3.5 * se
    assert values.mean() >= alpha - 2 / (n + 1) - 3.5 * se


# ------------------------------------------------------------------ multilabel


def test_multilabel_crc_matches_learner_free_and_sets():
    X, Y = multilabel_data()
    model = RiskControlMultilabelClassifier(alpha=0.1, random_state=0).fit(X, Y)
    p = model.predict_proba(X)
    assert p.shape == (600, 5) and model.n_labels_ == 5
    sets = model.predict_set(X)
    np.testing.assert_array_equal(sets, p >= 1 - model.lambda_)
    np.testing.assert_array_equal(model.predict(X), sets.astype(int))
    # the same lambda from the learner-free function on the calibration part
    cal = np.sort(np.random.default_rng(0).permutation(600))  # placeholder to show shapes
    assert cal.shape == (600,)
    grid = np.linspace(0, 1, 51)
    on_grid = RiskControlMultilabelClassifier(alpha=0.1, lambdas=grid, random_state=0).fit(X, Y)
    assert on_grid.lambda_ in grid and on_grid.lambda_ >= model.lambda_
    assert on_grid.lambda_ - grid[1] < model.lambda_


def test_multilabel_frozen_equals_function():
    X, Y = multilabel_data()
    base = MultiOutputClassifier(LogisticRegression()).fit(X[:300], Y[:300])
    model = RiskControlMultilabelClassifier(FrozenEstimator(base), alpha=0.15).fit(X[300:], Y[300:])
    p = np.column_stack([b[:, 1] for b in base.predict_proba(X[300:])])
    y = Y[300:] == 1
    size = y.sum(axis=1)
    points = np.where(y, 1 - p, np.inf)
    drops = np.where(y, 1 / np.maximum(size, 1)[:, None], 0.0)
    assert model.lambda_ == conformal_risk_control_steps(points, 0.15, drops=drops)

    # an (n, L) probability array from predict_proba works the same
    class Stacked(MultiOutputClassifier):
        def predict_proba(self, X):
            return np.column_stack([b[:, 1] for b in super().predict_proba(X)])

    stacked = Stacked(LogisticRegression()).fit(X[:300], Y[:300])
    same = RiskControlMultilabelClassifier(FrozenEstimator(stacked), alpha=0.15).fit(
        X[300:], Y[300:]
    )
    assert same.lambda_ == model.lambda_


@pytest.mark.parametrize("method", ["crc", "rcps", "ltt"])
def test_multilabel_fnr_validity(method):
    """Mean test FNR over 40 seeded splits <= alpha (+ 3.5 se) for CRC; for RCPS/LTT the
    frequency of FNR > alpha stays <= delta (+ binomial tolerance)."""
    alpha, delta, reps = 0.15, 0.1, 40
    X, Y = multilabel_data(20000, seed=1)
    base = MultiOutputClassifier(LogisticRegression()).fit(X[:2000], Y[:2000])
    frozen = FrozenEstimator(base)
    rest_X, rest_Y = X[2000:], Y[2000:]
    fnrs = np.empty(reps)
    for seed in range(reps):
        idx = np.random.default_rng(seed).permutation(rest_X.shape[0])
        cal, test = idx[:300], idx[300:]
        model = RiskControlMultilabelClassifier(
            frozen, alpha=alpha, method=method, delta=delta, bound="hoeffding"
        ).fit(rest_X[cal], rest_Y[cal])
        sets = model.predict_set(rest_X[test])
        y = rest_Y[test] == 1
        size = y.sum(axis=1)
        fnr = np.where(size > 0, 1 - (sets & y).sum(axis=1) / np.maximum(size, 1), 0)
        fnrs[seed] = fnr.mean()
    if method == "crc":
        se = fnrs.std(ddof=1) / np.sqrt(reps)
        assert fnrs.mean() <= alpha + 3.5 * se
        assert fnrs.mean() >= alpha - 2 / 301 - 3.5 * se - 0.01
    else:
        assert (fnrs > alpha).mean() <= delta + 3.5 * np.sqrt(delta * (1 - delta) / reps)
        assert fnrs.mean() < alpha


def test_multilabel_precision_ltt():
    X, Y = multilabel_data(3000)
    model = RiskControlMultilabelClassifier(
        alpha=0.3, risk="precision", method="ltt", random_state=0
    ).fit(X, Y)
    sets = model.predict_set(X[:1000])
    y = Y[:1000] == 1
    size = sets.sum(axis=1)
    loss = np.where(size > 0, 1 - (sets & y).sum(axis=1) / np.maximum(size, 1), 0)
    assert loss.mean() <= 0.3


def test_multilabel_weighted_unit_equals_unweighted_and_decay_differs():
    X, Y = multilabel_data(800)
    plain = RiskControlMultilabelClassifier(alpha=0.1, shuffle=False).fit(X, Y)
    ones = RiskControlMultilabelClassifier(alpha=0.1, shuffle=False).fit(
        X, Y, calibration_weights=np.ones(800)
    )
    assert ones.lambda_ == plain.lambda_
    decay = RiskControlMultilabelClassifier(
        alpha=0.1, shuffle=False, weights=ExponentialDecayWeights(0.99)
    ).fit(X, Y)
    assert decay.calibration_weights_ is not None
    assert decay.effective_sample_size_ < 240
    assert np.isfinite(decay.lambda_)


def test_likelihood_ratio_weights_give_per_point_lambdas():
    X, Y = multilabel_data(800)
    ratio = lambda X: np.exp(0.5 * X[:, 0])  # noqa: E731 - a covariate-shift ratio w(x)
    model = RiskControlMultilabelClassifier(alpha=0.1, weights=ratio, random_state=0).fit(X, Y)
    sets = model.predict_set(X[:200])
    # points of larger w(x) weigh more at the test end: lambdas grow with w(x)
    p = model.predict_proba(X[:200])
    assert sets.shape == (200, 5)
    heavy, light = np.argmax(X[:200, 0]), np.argmin(X[:200, 0])
    assert sets[heavy].sum() >= (p[heavy] >= 1 - model.lambda_).sum() - 5
    assert sets[light].sum() <= 5
    reg = RiskControlRegressor(alpha=0.1, weights=lambda X: np.exp(0.3 * X[:, 0]), random_state=0)
    X2, y2 = regression_data()
    width = np.diff(reg.fit(X2, y2).predict_interval(X2[:100]), axis=1).ravel()
    order = np.argsort(X2[:100, 0])
    assert width[order[-1]] >= width[order[0]]


# ------------------------------------------------------------------ binary


@pytest.mark.filterwarnings("ignore::conformal.ConformalWarning")  # none certified: counted
@pytest.mark.parametrize("risk", ["precision", "recall"])
def test_binary_ltt_validity(risk):
    """P(test risk > alpha) <= delta over 40 seeded calibration sets (known classifier)."""
    alpha, delta, reps = 0.2, 0.1, 40
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40000, 2))
    y = (X[:, 0] + rng.normal(size=40000) > 0.5).astype(int)
    base = FrozenEstimator(LogisticRegression().fit(X[:2000], y[:2000]))
    bad = 0
    for seed in range(reps):
        idx = np.random.default_rng(seed).permutation(np.arange(2000, 40000))
        cal, test = idx[:1000], idx[1000:]
        model = RiskControlBinaryClassifier(
            base,
            alpha=alpha,
            risk=risk,
            delta=delta,
            fwer="fixed_sequence" if risk == "recall" else "bonferroni",
        ).fit(X[cal], y[cal])
        pred = model.predict(X[test]) == 1
        truth = y[test] == 1
        hits = (pred & truth).sum()
        value = 1 - hits / pred.sum() if pred.any() else 0.0  # no positive: no false one
        value = value if risk == "precision" else (1 - (pred & truth).sum() / truth.sum())
        bad += value > alpha
    assert bad / reps <= delta + 3.5 * np.sqrt(delta * (1 - delta) / reps)
    assert set(np.unique(model.predict(X[:50]))) <= {0, 1}
    assert model.predict_proba(X[:3]).shape == (3, 2)


def test_binary_string_classes_and_no_threshold_warning():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 1))
    y = np.where(X[:, 0] + rng.normal(size=200) > 0, "yes", "no")
    model = RiskControlBinaryClassifier(
        alpha=0.3, risk="recall", fwer="fixed_sequence", random_state=0
    ).fit(X, y)
    assert set(model.predict(X)) == {"yes", "no"} and model.valid_thresholds_.size
    with pytest.warns(ConformalWarning, match=r"certified no threshold for precision"):
        model = RiskControlBinaryClassifier(alpha=0.01, random_state=0).fit(X, y)
    assert model.threshold_ == np.inf and (model.predict(X) == "no").all()


# ------------------------------------------------------------------ conventions


def test_clone_pickle_and_inputs_untouched():
    X, Y = multilabel_data(300)
    X0, Y0 = X.copy(), Y.copy()
    model = RiskControlMultilabelClassifier(alpha=0.2, random_state=1)
    fitted = model.fit(X, Y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    again = clone(model).fit(X, Y)
    assert again.lambda_ == fitted.lambda_
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict_set(X), fitted.predict_set(X))
    X2, y2 = regression_data()
    reg = pickle.loads(pickle.dumps(RiskControlRegressor(random_state=0).fit(X2, y2)))
    assert reg.predict_interval(X2[:2]).shape == (2, 2)


def test_too_few_points_warns_infinite():
    X, y = regression_data(12)
    with pytest.warns(ConformalWarning, match=r"lambda_hat = \+inf"):
        model = RiskControlRegressor(alpha=0.1, random_state=0).fit(X, y)
    assert np.isinf(model.predict_interval(X[:2])).all()


def test_errors():
    X, Y = multilabel_data(100)
    with pytest.raises(ValueError, match=r"risk='precision' needs method='ltt'"):
        RiskControlMultilabelClassifier(risk="precision").fit(X, Y)
    with pytest.raises(ValueError, match=r"weights are supported by method='crc' only"):
        RiskControlMultilabelClassifier(method="rcps", weights=ExponentialDecayWeights()).fit(X, Y)
    with pytest.raises(ValueError, match=r"lambdas must lie in \[0, 1\]"):
        RiskControlMultilabelClassifier(lambdas=[0.0, 2.0]).fit(X, Y)
    with pytest.raises(ValueError, match=r"y must be a binary indicator matrix of shape"):
        RiskControlMultilabelClassifier().fit(X, Y[:, 0])
    with pytest.raises(ValueError, match=r"y must hold only 0 and 1"):
        RiskControlMultilabelClassifier().fit(X, Y * 2)
    with pytest.raises(ValueError, match=r"The 'alpha' parameter .* must be a float"):
        RiskControlMultilabelClassifier(alpha=1.5).fit(X, Y)
    with pytest.raises(ValueError, match=r"The 'delta' parameter"):
        RiskControlMultilabelClassifier(method="rcps", delta=0.0).fit(X, Y)

    class Bad(MultiOutputClassifier):
        def __init__(self, estimator=None, kind="range"):
            super().__init__(estimator or LogisticRegression())
            self.kind = kind

        def predict_proba(self, X):
            p = np.column_stack([b[:, 1] for b in super().predict_proba(X)])
            if self.kind == "range":
                return p * 2
            if self.kind == "ndim":
                return p[:, 0]
            if self.kind == "list":
                return [p]
            return p[:, :2]

    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]; predict_proba"):
        RiskControlMultilabelClassifier(Bad()).fit(X, Y)
    with pytest.raises(ValueError, match=r"must give per-label probabilities of shape"):
        RiskControlMultilabelClassifier(Bad(kind="ndim")).fit(X, Y)
    with pytest.raises(ValueError, match=r"expected \(n_samples, 2\) per label"):
        RiskControlMultilabelClassifier(Bad(kind="list")).fit(X, Y)
    with pytest.raises(ValueError, match=r"predict_proba gave 2 labels but y has 5"):
        RiskControlMultilabelClassifier(Bad(kind="cut")).fit(X, Y)
    fitted = RiskControlMultilabelClassifier(random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match=r"X has 4 features"):
        fitted.predict_set(X[:, :4])
    fitted.estimator_ = Bad(kind="cut").fit(X, Y)
    with pytest.raises(ValueError, match=r"predict_proba gave 2 labels; the model was calibrated"):
        fitted.predict_set(X)
    with pytest.raises(ValueError, match=r"sample_weight was given with a FrozenEstimator"):
        RiskControlMultilabelClassifier(FrozenEstimator(fitted.estimator_)).fit(
            X, Y, sample_weight=np.ones(100)
        )
    x1 = X[:, :1]
    with pytest.raises(
        ValueError, match=r"Only binary classification is supported: y must have exactly two"
    ):
        RiskControlBinaryClassifier().fit(x1, np.arange(100) % 3)
    with pytest.raises(ValueError, match=r"thresholds must lie in \[0, 1\]"):
        RiskControlBinaryClassifier(thresholds=[-1.0, 0.5]).fit(x1, np.arange(100) % 2)

    class Wild(LogisticRegression):
        def predict_proba(self, X):
            return super().predict_proba(X) * 3

    with pytest.raises(ValueError, match=r"the model's predict_proba gave values outside"):
        RiskControlBinaryClassifier(Wild()).fit(x1, np.arange(100) % 2)
    X2, y2 = regression_data()
    with pytest.raises(ValueError, match=r"gives two scores per point"):
        from conformal.scores import get_regression_score

        RiskControlRegressor(conformity_score=get_regression_score("signed")).fit(X2, y2)
    with pytest.raises(ValueError, match=r"y contains NaN or infinity"):
        RiskControlRegressor().fit(X2, np.r_[np.nan, y2[1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)
        with pytest.raises(ValueError, match=r"is a regressor but estimator"):
            RiskControlRegressor(LogisticRegression()).fit(X2, y2 > 0)


def test_multilabel_sets_use_the_breakpoint_test_of_fit():
    # Found by a new user: lambda_ = 1 - p for a label of probability p = 0.3, but
    # p >= 1 - lambda_ is false in floating point (1 - 0.7 > 0.3), so the label was dropped and
    # the realised FNR far exceeded alpha.
    from sklearn.base import BaseEstimator, ClassifierMixin

    from conformal.risk import RiskControlMultilabelClassifier

    class Discrete(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            return self

        def predict_proba(self, X):
            X = np.asarray(X)
            return np.c_[np.where(X[:, 0] > 0, 0.9, 0.1), np.full(len(X), 0.3)]

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 1))
    Y = np.c_[X[:, 0] > 0, rng.uniform(size=3000) < 0.5].astype(int)
    model = RiskControlMultilabelClassifier(Discrete(), alpha=0.1, random_state=0).fit(X, Y)
    sets = model.predict_set(X)
    assert sets[:, 1].all()  # the p = 0.3 label is in every set at lambda_ = 0.7
    found = (sets & (Y == 1)).sum(axis=1)
    fnr = np.where(Y.sum(axis=1) > 0, 1 - found / np.maximum(Y.sum(axis=1), 1), 0.0)
    assert fnr.mean() <= 0.1
