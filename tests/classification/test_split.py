"""SplitConformalClassifier: validity, exact edges, p-values, Mondrian cells, scikit-learn use,
reproducibility and errors."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from conformal import ConformalWarning, SplitConformalClassifier
from conformal.scores import APSScore, RAPSScore
from tests import _validity as v
from tests.classification import _data as d


@pytest.fixture
def data():
    X, y = make_classification(
        500, n_features=6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return X, y


def _column(model, y):
    return np.searchsorted(model.classes_, y)


# ---------------------------------------------------------------- validity

# Rare classes of the 8-class mixture may miss a small calibration set: expected, and warned.
_MISSING = "ignore:class\\(es\\) .* have no calibration points:conformal.ConformalWarning"


def _repeated(score, *, n_fit, repetitions=200, n_test=500, mixture=None, **kwargs):
    """Exact marginal coverage of each repetition (its own calibration draw and seed), and the
    calibration size, with the true class probabilities as the model."""
    mixture = mixture or {}
    model = d.true_model(**mixture)
    coverages, sizes = np.empty(repetitions), np.empty(repetitions)
    for seed in range(repetitions):
        rng = np.random.default_rng(seed)
        X, y = d.draw(n_fit, rng, **mixture)
        clf = SplitConformalClassifier(
            model, conformity_score=score, random_state=seed, **kwargs
        ).fit(X, y)
        X_test, _ = d.draw(n_test, rng, **mixture)
        coverages[seed] = d.exact_coverage(X_test, clf.predict_set(X_test), **mixture).mean()
        sizes[seed] = clf.conformity_scores_.shape[0]
    return coverages, sizes


@pytest.mark.slow
@pytest.mark.filterwarnings(_MISSING)
@pytest.mark.parametrize(
    ("score", "n_fit"),
    [
        ("lac", 100),
        ("aps", 100),
        (APSScore(randomized=False), 100),
        ("raps", 143),  # 43 points tune k_reg and lam, 100 calibrate
        (RAPSScore(k_reg=1, lam=0.05), 100),
    ],
    ids=["lac", "aps-randomized", "aps-deterministic", "raps-tuned", "raps-fixed"],
)
def test_coverage_band_over_200_splits(score, n_fit):
    """Mean exact coverage in [1 - a, 1 - a + 1/(n + 1)] with n = 100 calibration points, up to
    3.5 standard errors of the mean over 200 repetitions (scores without ties: continuous
    probabilities, or randomized)."""
    mixture = d.many_classes(8)
    cov, n = _repeated(score, n_fit=n_fit, mixture=mixture)
    assert (n == 100).all()
    v.assert_in_band(cov, 0.9, 0.9 + 1 / 101)


@pytest.mark.slow
@pytest.mark.filterwarnings(_MISSING)
def test_top_k_covers_at_least_the_level():
    """Top-k scores are ranks, full of ties: only the lower bound 1 - a holds (the set jumps by
    whole classes), and the coverage sits well above it."""
    cov, _ = _repeated("top_k", n_fit=100, mixture=d.many_classes(8))
    v.assert_in_band(cov, 0.9, 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("score", ["lac", "aps"])
def test_class_conditional_coverage_holds_in_every_class(score):
    """With class_conditional=True each class's coverage is in [1 - a, 1 - a + E 1/(n_c + 1)],
    including the rare class (prior 0.1, about 60 calibration points)."""
    model = d.true_model()
    coverage = {c: [] for c in range(3)}
    bound = {c: [] for c in range(3)}
    for seed in range(200):
        rng = np.random.default_rng(seed)
        X, y = d.draw(600, rng)
        clf = SplitConformalClassifier(
            model, conformity_score=score, class_conditional=True, random_state=seed
        ).fit(X, y)
        for c in range(3):
            X_c, _ = d.draw(400, rng, label=c)
            coverage[c].append(clf.predict_set(X_c)[:, c].mean())
            bound[c].append(1 / ((clf.calibration_labels_ == c).sum() + 1))
    for c in range(3):
        v.assert_in_band(np.array(coverage[c]), 0.9, 0.9 + float(np.mean(bound[c])))


@pytest.mark.slow
def test_without_class_conditional_the_rare_class_is_under_covered():
    """The reason for class_conditional: marginal calibration covers the common classes more
    than 1 - a and the rare one far less (about 0.3 here), though the average is right."""
    model = d.true_model()
    rare, common, marginal = [], [], []
    for seed in range(50):
        rng = np.random.default_rng(seed)
        X, y = d.draw(600, rng)
        clf = SplitConformalClassifier(model, random_state=seed).fit(X, y)
        X_rare, _ = d.draw(400, rng, label=2)
        X_common, _ = d.draw(400, rng, label=0)
        X_test, _ = d.draw(400, rng)
        rare.append(clf.predict_set(X_rare)[:, 2].mean())
        common.append(clf.predict_set(X_common)[:, 0].mean())
        marginal.append(d.exact_coverage(X_test, clf.predict_set(X_test)).mean())
    assert np.mean(rare) < 0.5 < 0.9 < np.mean(common)
    assert abs(np.mean(marginal) - 0.9) < 0.01


@pytest.mark.slow
@pytest.mark.filterwarnings(_MISSING)
def test_smoothed_pvalues_of_the_true_class_are_uniform():
    """P(p(Y) <= t) = t exactly for smoothed p-values, <= t (and >= t - 1/(n+1)) otherwise."""
    model = d.true_model(**d.many_classes(5))
    mixture = d.many_classes(5)
    below_smooth, below_plain = [], []
    levels = np.array([0.05, 0.1, 0.3, 0.5])
    for seed in range(200):
        rng = np.random.default_rng(seed)
        X, y = d.draw(100, rng, **mixture)
        clf = SplitConformalClassifier(model, random_state=seed).fit(X, y)
        X_test, y_test = d.draw(200, rng, **mixture)
        rows = np.arange(200)
        smooth = clf.predict_pvalues(X_test, smoothed=True)[rows, y_test]
        plain = clf.predict_pvalues(X_test)[rows, y_test]
        assert (smooth <= plain + 1e-12).all()
        below_smooth.append((smooth[:, None] <= levels).mean(axis=0))
        below_plain.append((plain[:, None] <= levels).mean(axis=0))
    for j, t in enumerate(levels):
        v.assert_in_band(np.array(below_smooth)[:, j], t, t)
        v.assert_in_band(np.array(below_plain)[:, j], t - 1 / 101, t)


# ---------------------------------------------------------------- exact edges


class _Fixed(LogisticRegression):
    """A two-class model whose probability of class 1 is the first feature."""

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = np.asarray(X, dtype=float)[:, :1]
        return np.hstack([1 - p, p])


def _prefit():
    return FrozenEstimator(_Fixed().fit())


@pytest.mark.filterwarnings(_MISSING)  # every calibration point is of class 1
def test_nine_calibration_points_use_the_ninth_smallest_score():
    # LAC scores of class 1: 1 - p = 0.05, 0.15, ..., 0.85; the 9th smallest is 0.85
    X = (1 - np.arange(0.05, 0.9, 0.1))[:, None]
    model = SplitConformalClassifier(_prefit()).fit(X, np.ones(9, dtype=int))
    np.testing.assert_allclose(np.sort(model.conformity_scores_), np.arange(0.05, 0.9, 0.1))
    # class 1 is in the set when 1 - p <= 0.85, i.e. p >= 0.15
    sets = model.predict_set([[0.16], [0.14]])
    np.testing.assert_array_equal(sets[:, 1], [True, False])


@pytest.mark.filterwarnings(_MISSING)
def test_eight_calibration_points_give_full_sets_and_a_warning():
    model = SplitConformalClassifier(_prefit()).fit(np.full((8, 1), 0.9), np.ones(8, dtype=int))
    with pytest.warns(ConformalWarning, match="8 points; confidence_level=0.9 needs at least 9"):
        sets = model.predict_set([[0.5], [0.99]])
    assert sets.all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.predict_set([[0.5]], confidence_level=0.8).shape == (1, 2)


# ---------------------------------------------------------------- p-values and sets


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"conformity_score": "aps"},
        {"conformity_score": "top_k"},
        {"class_conditional": True},
        {"groups": lambda X: np.asarray(X)[:, 0] > 0},
        {"groups": lambda X: np.asarray(X)[:, 0] > 0, "class_conditional": True},
    ],
    ids=["lac", "aps", "top_k", "class", "groups", "groups-class"],
)
def test_sets_are_the_classes_whose_pvalue_exceeds_alpha(data, params):
    X, y = data
    model = SplitConformalClassifier(random_state=0, **params).fit(X, y)
    p = model.predict_pvalues(X)
    for level in (0.8, 0.9):
        sets = model.predict_set(X, confidence_level=level)
        # p > a in exact arithmetic: (count + 1) > a (n + 1) on the integer counts
        assert np.array_equal(sets, p > 1 - level + 1e-12) or np.array_equal(sets, p > 1 - level)
    smooth = model.predict_pvalues(X, smoothed=True)
    assert ((smooth > 0) & (smooth <= p + 1e-12)).all()


def test_pvalues_equal_a_brute_force_count(data):
    X, y = data
    model = SplitConformalClassifier(class_conditional=True, random_state=0).fit(X, y)
    scores = 1 - model.predict_proba(X[:50])
    cal, labels = model.conformity_scores_, model.calibration_labels_
    want = np.empty_like(scores)
    for i in range(50):
        for c in range(3):
            own = cal[labels == model.classes_[c]]
            want[i, c] = ((own >= scores[i, c]).sum() + 1) / (own.shape[0] + 1)
    np.testing.assert_allclose(model.predict_pvalues(X[:50]), want, rtol=1e-12)


def test_class_with_too_few_points_is_in_every_set_under_class_conditional():
    X, y = d.draw(300, np.random.default_rng(0))
    y = y.copy()
    rare = np.flatnonzero(y == 2)
    y[rare[5:]] = 0  # keep 5 points of class 2
    model = SplitConformalClassifier(d.true_model(), class_conditional=True).fit(X, y)
    with pytest.warns(ConformalWarning, match=r"class 2 has 5 points; confidence_level=0.9 needs"):
        sets = model.predict_set(X[:20])
    assert sets[:, 2].all() and not sets[:, 0].all()


def test_class_missing_from_calibration_warns_and_is_always_in_under_class_conditional():
    X, y = d.draw(200, np.random.default_rng(1))
    keep = y != 1
    with pytest.warns(ConformalWarning, match=r"class\(es\) 1 have no calibration points; with"):
        model = SplitConformalClassifier(d.true_model(), class_conditional=True)
        model.fit(X[keep], y[keep])
    with pytest.warns(ConformalWarning, match=r"class 1 has 0"):
        assert model.predict_set(X)[:, 1].all()
    np.testing.assert_array_equal(model.predict_pvalues(X)[:, 1], 1.0)
    with pytest.warns(ConformalWarning, match=r"say nothing about coverage within these"):
        SplitConformalClassifier(d.true_model()).fit(X[keep], y[keep])


def test_groups_calibrate_within_each_group_and_unseen_groups_get_full_sets():
    X, y = d.draw(1000, np.random.default_rng(2))

    def side(Z):
        return np.where(np.asarray(Z)[:, 1] > 0, "top", "bottom")

    model = SplitConformalClassifier(d.true_model(), groups=side).fit(X, y)
    top = model.calibration_groups_ == "top"
    for group in ("top", "bottom"):
        alone = SplitConformalClassifier(d.true_model()).fit(
            X[side(X) == group], y[side(X) == group]
        )
        rows = side(X) == group
        np.testing.assert_array_equal(model.predict_set(X[rows]), alone.predict_set(X[rows]))
    assert top.sum() + (~top).sum() == 1000
    odd = SplitConformalClassifier(d.true_model(), groups=lambda Z: np.asarray(Z)[:, 0] > 10)
    odd.fit(X, y)
    with pytest.warns(ConformalWarning, match=r"test group\(s\) \[True\] have no calibration"):
        sets = odd.predict_set([[11.0, 0.0], [-3.0, 0.0]])
    assert sets[0].all() and not sets[1].all()
    far = np.asarray(X)[:, 0] > 3.3
    with pytest.warns(ConformalWarning, match=rf"group True has {far.sum()} points; confidence_"):
        SplitConformalClassifier(d.true_model(), groups=lambda Z: np.asarray(Z)[:, 0] > 3.3).fit(
            X, y
        ).predict_set([[3.5, 0.0]])


def test_allow_empty_false_adds_the_top_class_to_empty_sets_only(data):
    X, y = data
    base = SplitConformalClassifier(confidence_level=0.5, random_state=0).fit(X, y)
    sets = base.predict_set(X)
    assert (~sets.any(axis=1)).any()  # LAC at 0.5 gives empty sets here
    full = clone(base).set_params(allow_empty=False).fit(X, y).predict_set(X)
    empty = ~sets.any(axis=1)
    np.testing.assert_array_equal(full[~empty], sets[~empty])
    top = np.argmax(base.predict_proba(X), axis=1)
    np.testing.assert_array_equal(full[empty].sum(axis=1), 1)
    np.testing.assert_array_equal(np.argmax(full[empty], axis=1), top[empty])


# ---------------------------------------------------------------- shapes and levels


def test_shapes_follow_the_type_of_the_level(data):
    X, y = data
    model = SplitConformalClassifier(random_state=0).fit(X, y)
    assert model.predict_set(X[:5]).shape == (5, 3)
    assert model.predict_set(X[:5], confidence_level=[0.9]).shape == (5, 1, 3)
    multi = model.predict_set(X[:5], confidence_level=[0.5, 0.8, 0.95])
    assert multi.shape == (5, 3, 3) and multi.dtype == bool
    assert (np.diff(multi.sum(axis=2), axis=1) >= 0).all()  # nested in the level
    np.testing.assert_array_equal(multi[:, 1], model.predict_set(X[:5], confidence_level=0.8))
    assert model.predict_pvalues(X[:5]).shape == (5, 3)


@pytest.mark.parametrize("n_classes", [2, 40])
def test_binary_and_many_classes(n_classes):
    X, y = make_classification(
        3000,
        n_features=20,
        n_informative=12,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=0,
    )
    fitted = FrozenEstimator(LogisticRegression(max_iter=500).fit(X[:1000], y[:1000]))
    for score in ("lac", "aps", "raps", "top_k"):
        model = SplitConformalClassifier(fitted, conformity_score=score, random_state=0)
        model.fit(X[1000:2000], y[1000:2000])
        sets = model.predict_set(X[2000:])
        assert sets.shape == (1000, n_classes)
        coverage = sets[np.arange(1000), _column(model, y[2000:])].mean()
        assert coverage > 0.85


# ---------------------------------------------------------------- scikit-learn use


def test_pipeline_grid_search_cross_val_clone_pickle(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), SplitConformalClassifier(random_state=0))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.6  # accuracy of the wrapped model
    grid = GridSearchCV(
        SplitConformalClassifier(random_state=0),
        {"estimator": [None, LogisticRegression(C=0.1)]},
        cv=3,
    ).fit(X, y)
    assert grid.best_estimator_.predict_set(X[:3]).shape == (3, 3)
    fitted = SplitConformalClassifier(conformity_score="raps", random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_set(X), fitted.predict_set(X))
    np.testing.assert_array_equal(again.predict_pvalues(X), fitted.predict_pvalues(X))
    twin = clone(fitted).fit(X, y)
    np.testing.assert_array_equal(twin.predict_set(X), fitted.predict_set(X))


def test_pandas_and_string_labels(data):
    X, y = data
    animals = np.array(["bird", "cat", "dog"])
    names = animals[y]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)], index=np.arange(500)[::-1] + 7)
    series = pd.Series(names, index=frame.index)
    model = SplitConformalClassifier(random_state=0).fit(frame, series)
    assert list(model.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(model.classes_, ["bird", "cat", "dog"])
    plain = SplitConformalClassifier(random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.predict_set(frame), plain.predict_set(X))
    np.testing.assert_array_equal(model.predict(frame[:5]), animals[plain.predict(X[:5])])
    np.testing.assert_array_equal(model.calibration_labels_, animals[plain.calibration_labels_])
    categorical = pd.Series(pd.Categorical(names), index=frame.index)
    cat_model = SplitConformalClassifier(random_state=0).fit(frame, categorical)
    np.testing.assert_array_equal(cat_model.predict_set(frame), plain.predict_set(X))


def test_same_seed_same_output_and_generator_not_advanced(data):
    X, y = data
    gen = np.random.default_rng(5)
    state = gen.bit_generator.state
    a = SplitConformalClassifier(conformity_score="aps", random_state=gen).fit(X, y)
    b = SplitConformalClassifier(conformity_score="aps", random_state=gen).fit(X, y)
    np.testing.assert_array_equal(a.predict_set(X), b.predict_set(X))
    np.testing.assert_array_equal(a.predict_set(X), a.predict_set(X))  # same X, same sets
    np.testing.assert_array_equal(a.predict_set(X[:7]), a.predict_set(X)[:7])
    assert gen.bit_generator.state == state
    unseeded = SplitConformalClassifier(conformity_score="aps").fit(X, y)
    np.testing.assert_array_equal(unseeded.predict_set(X), unseeded.predict_set(X))


def test_user_objects_are_not_mutated(data):
    X, y = data
    score = RAPSScore()
    base = LogisticRegression()
    X0, y0 = X.copy(), y.copy()
    model = SplitConformalClassifier(base, conformity_score=score, random_state=0).fit(X, y)
    assert not hasattr(score, "k_reg_") and not hasattr(base, "coef_")
    assert model.score_ is not score and hasattr(model.score_, "k_reg_")
    model.predict_set(X)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_prefit_model_calibrates_on_all_the_data(data):
    X, y = data
    model = LogisticRegression().fit(X[:300], y[:300])
    clf = SplitConformalClassifier(FrozenEstimator(model)).fit(X[300:], y[300:])
    assert clf.conformity_scores_.shape == (200,)
    np.testing.assert_allclose(
        np.sort(clf.conformity_scores_),
        np.sort(1 - model.predict_proba(X[300:])[np.arange(200), y[300:]]),
    )
    np.testing.assert_array_equal(clf.predict(X), model.predict(X))


def test_classes_missing_from_the_training_part_get_probability_zero():
    X, y = d.draw(300, np.random.default_rng(3))
    y = y.copy()
    y[:2] = 7  # two samples of a fourth class: both land in one part or split
    model = SplitConformalClassifier(calibration_size=0.5, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (300, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"confidence_level": 1.5}, r"'confidence_level' parameter of SplitConformalClassifier"),
        ({"confidence_level": [0.5, 1.0]}, r"Got \[0.5, 1.0\] instead"),
        ({"conformity_score": "softmax"}, r"'conformity_score' parameter .* must be a str among"),
        ({"calibration_size": 0.0}, r"'calibration_size' parameter"),
        ({"class_conditional": "yes"}, r"'class_conditional' parameter"),
        ({"estimator": SVC()}, r"'estimator' parameter .* implementing 'fit', 'predict' and "),
        ({"groups": lambda X: [0, 1]}, r"mondrian\(X\) has 2 entries; expected 150"),
    ],
)
def test_bad_parameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        SplitConformalClassifier(random_state=0, **params).fit(X, y)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.r_[np.nan, np.zeros(499)], r"y contains missing labels .* \(first: index 0\)"),
        (np.array([None] + ["a"] * 499, dtype=object), r"missing labels \(NaN, None or inf"),
        (np.array(["a", 1] * 250, dtype=object), r"y mixes label types \['int', 'str'\]"),
        (np.linspace(0, 1, 500), r"Unknown label type: continuous"),
        (np.zeros(499), r"X has 500 rows but y has 499"),
    ],
)
def test_bad_labels(data, labels, match):
    X, _ = data
    with pytest.raises(ValueError, match=match):
        SplitConformalClassifier(random_state=0).fit(X, labels)


def test_prefit_model_must_know_the_calibration_labels(data):
    X, y = data
    model = FrozenEstimator(LogisticRegression().fit(X[y < 2], y[y < 2]))
    with pytest.raises(ValueError, match=r"label\(s\) \[2\] that the prefit estimator does not"):
        SplitConformalClassifier(model).fit(X, y)


def test_predict_proba_with_nan_is_rejected(data):
    X, y = data

    class Broken(LogisticRegression):
        def predict_proba(self, X):
            p = super().predict_proba(X)
            p[0] = np.nan
            return p

    with pytest.raises(ValueError, match=r"predict_proba of the wrapped estimator returned NaN"):
        SplitConformalClassifier(Broken(), random_state=0).fit(X, y)


def test_unfitted_and_feature_mismatch(data):
    X, y = data
    model = SplitConformalClassifier()
    for method in (model.predict_set, model.predict_pvalues, model.predict, model.predict_proba):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            method(X)
    model.fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but SplitConformalClassifier is"):
        model.predict_set(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"Got -0.1 instead"):
        model.predict_set(X, confidence_level=-0.1)


def test_raps_needs_two_calibration_points():
    X, y = d.draw(1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"needs at least 2 calibration points; got 1"):
        SplitConformalClassifier(d.true_model(), conformity_score="raps").fit(X, y)
