"""The classifiers on the calibration layer v2: sample_weight routed to the wrapped model, CV
groups routed to the splitter, the ``mondrian`` parameter (and its old name ``groups``),
p-values from :class:`~conformal.calibration.Calibrator`, and the full-set warning of bounded
scores."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier

from conformal import (
    ConformalWarning,
    CrossConformalClassifier,
    SplitConformalClassifier,
    VennAbersClassifier,
)
from conformal.calibration import Calibrator, MondrianCells, TestContext
from tests.classification.test_split import _Fixed


@pytest.fixture
def data():
    X, y = make_classification(
        300, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=0
    )
    X[:, 0] = np.arange(300)  # the row id, so that a model can say which rows it saw
    return X, y


class Recorder(GaussianNB):
    """Gaussian naive Bayes that records the rows (by id, column 0) and sample_weight it got."""

    def fit(self, X, y, sample_weight=None):
        self.rows_ = np.asarray(X)[:, 0].astype(int)
        self.sample_weight_ = None if sample_weight is None else np.asarray(sample_weight)
        return super().fit(X, y, sample_weight=sample_weight)


def _check_recorded(model, weights, n):
    assert model.sample_weight_ is not None
    assert 0 < model.rows_.shape[0] < n  # a training part, never all the rows
    np.testing.assert_array_equal(model.sample_weight_, weights[model.rows_])


# ---------------------------------------------------------------- sample_weight


def test_split_routes_the_training_part_of_sample_weight(data):
    X, y = data
    w = np.arange(1.0, 301.0)
    model = SplitConformalClassifier(Recorder(), random_state=0).fit(X, y, sample_weight=w)
    _check_recorded(model.estimator_, w, 300)
    plain = SplitConformalClassifier(Recorder(), random_state=0).fit(X, y)
    assert plain.estimator_.sample_weight_ is None
    np.testing.assert_array_equal(plain.estimator_.rows_, model.estimator_.rows_)
    calibration = np.setdiff1d(np.arange(300), model.estimator_.rows_)
    assert model.conformity_scores_.shape == calibration.shape


def test_cross_routes_each_folds_training_rows(data):
    X, y = data
    w = np.arange(1.0, 301.0)
    model = CrossConformalClassifier(Recorder(), cv=4, random_state=0).fit(X, y, sample_weight=w)
    for k, fold_model in enumerate(model.estimators_):
        _check_recorded(fold_model, w, 300)
        np.testing.assert_array_equal(
            np.sort(fold_model.rows_), np.flatnonzero(model.fold_of_ != k)
        )


@pytest.mark.parametrize("method", ["inductive", "cross"])
def test_venn_abers_routes_sample_weight(data, method):
    X, y = data
    w = np.arange(1.0, 301.0)
    model = VennAbersClassifier(Recorder(), method=method, cv=3, random_state=0)
    model.fit(X, y, sample_weight=w)
    assert len(model.estimators_) == (1 if method == "inductive" else 3)
    for fitted in model.estimators_:
        _check_recorded(fitted, w, 300)


@pytest.mark.parametrize(
    "model",
    [
        SplitConformalClassifier(KNeighborsClassifier(), random_state=0),
        CrossConformalClassifier(KNeighborsClassifier(), cv=3, random_state=0),
        VennAbersClassifier(KNeighborsClassifier(), random_state=0),
        VennAbersClassifier(KNeighborsClassifier(), method="cross", cv=3, random_state=0),
    ],
    ids=["split", "cross", "venn-abers", "venn-abers-cross"],
)
def test_a_model_without_sample_weight_is_a_clear_error(data, model):
    X, y = data
    with pytest.raises(
        ValueError, match=r"sample_weight was given but KNeighborsClassifier.fit does not accept"
    ):
        model.fit(X, y, sample_weight=np.ones(300))


@pytest.mark.parametrize("cls", [SplitConformalClassifier, VennAbersClassifier])
def test_frozen_model_with_sample_weight_is_a_clear_error(data, cls):
    X, y = data
    frozen = FrozenEstimator(LogisticRegression().fit(X[:, 1:], y))
    with pytest.raises(ValueError, match=rf"{cls.__name__} got sample_weight with a Frozen"):
        cls(frozen).fit(X[:, 1:], y, sample_weight=np.ones(300))


def test_bad_sample_weight_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="sample_weight"):
        SplitConformalClassifier(random_state=0).fit(X, y, sample_weight=np.ones(299))


# ---------------------------------------------------------------- CV groups


@pytest.mark.parametrize(
    "model",
    [
        CrossConformalClassifier(GaussianNB(), cv=GroupKFold(3)),
        VennAbersClassifier(GaussianNB(), method="cross", cv=GroupKFold(3)),
    ],
    ids=["cross", "venn-abers"],
)
def test_group_kfold_uses_the_groups_given_to_fit(data, model):
    X, y = data
    groups = np.arange(300) // 10  # 30 groups of 10 consecutive rows
    model.fit(X, y, groups=groups)
    if isinstance(model, CrossConformalClassifier):
        for g in np.unique(groups):  # every group lies in one fold
            assert np.unique(model.fold_of_[groups == g]).shape[0] == 1
    with pytest.raises(ValueError, match=r"splits by groups and needs them: pass groups=\.\.\."):
        model.fit(X, y)


def test_venn_abers_cross_folds_keep_groups_together(data):
    X, y = data
    groups = np.arange(300) // 10
    model = VennAbersClassifier(Recorder(), method="cross", cv=GroupKFold(3)).fit(
        X, y, groups=groups
    )
    for fitted in model.estimators_:
        trained = np.unique(groups[fitted.rows_])
        held_out = np.setdiff1d(np.arange(300), fitted.rows_)
        assert not np.isin(groups[held_out], trained).any()


def test_venn_abers_inductive_refuses_cv_groups(data):
    X, y = data
    with pytest.raises(ValueError, match=r"groups are CV groups for method='cross'"):
        VennAbersClassifier(random_state=0).fit(X, y, groups=np.arange(300) // 10)


# ---------------------------------------------------------------- mondrian


def _sign(Z):
    return np.asarray(Z)[:, 1] > 0


def test_groups_is_the_old_name_of_mondrian(data):
    X, y = data[0][:, 1:], data[1]
    new = SplitConformalClassifier(mondrian=_sign, random_state=0).fit(X, y)
    with pytest.warns(FutureWarning, match=r"SplitConformalClassifier\(groups=\.\.\.\) is renamed"):
        old = SplitConformalClassifier(groups=_sign, random_state=0).fit(X, y)
    np.testing.assert_array_equal(old.predict_set(X), new.predict_set(X))
    np.testing.assert_array_equal(old.calibration_groups_, new.calibration_groups_)
    with pytest.raises(ValueError, match=r"mondrian and groups were both given"):
        SplitConformalClassifier(mondrian=_sign, groups=_sign).fit(X, y)


@pytest.mark.parametrize(
    ("mondrian", "match"),
    [
        (lambda Z: [0, 1], r"mondrian\(X\) has 2 entries; expected 90, one label per row"),
        (lambda Z: np.asarray(Z)[:, :2], r"mondrian\(X\) must give one label per row: a 1-D"),
        (
            lambda Z: np.where(np.asarray(Z)[:, 1] > 0, np.nan, 1.0),
            r"mondrian\(X\) contains NaN at \d+ position\(s\)",
        ),
    ],
    ids=["length", "2-D", "NaN"],
)
def test_bad_mondrian_outputs_are_clear_errors_at_fit(data, mondrian, match):
    X, y = data[0][:, 1:], data[1]
    with pytest.raises(ValueError, match=match):
        SplitConformalClassifier(mondrian=mondrian, random_state=0).fit(X, y)


def test_bad_mondrian_output_at_predict_time(data):
    X, y = data[0][:, 1:], data[1]
    calls = []

    def shrinking(Z):
        calls.append(1)
        labels = _sign(Z)
        return labels if len(calls) == 1 else labels[:-1]

    model = SplitConformalClassifier(mondrian=shrinking, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"mondrian\(X\) has 9 entries; expected 10"):
        model.predict_set(X[:10])


def test_cross_val_score_and_grid_search_with_mondrian(data):
    X, y = data
    model = SplitConformalClassifier(mondrian=_sign, class_conditional=True, random_state=0)
    assert cross_val_score(model, X[:, 1:], y, cv=3).mean() > 0.5
    grid = GridSearchCV(
        SplitConformalClassifier(mondrian=_sign, random_state=0),
        {"class_conditional": [False, True]},
        cv=3,
    ).fit(X[:, 1:], y)
    assert grid.best_estimator_.predict_set(X[:4, 1:]).shape == (4, 3)


# ---------------------------------------------------------------- p-values


@pytest.mark.parametrize("cells", ["marginal", "class", "group", "pair"])
def test_pvalues_are_the_calibrators(data, cells):
    X, y = data
    X = X[:, 1:]
    params = {
        "marginal": {},
        "class": {"class_conditional": True},
        "group": {"mondrian": _sign},
        "pair": {"mondrian": _sign, "class_conditional": True},
    }[cells]
    model = SplitConformalClassifier(random_state=0, **params).fit(X, y)
    scores = 1 - model.predict_proba(X)  # LAC scores of every class
    m, k = scores.shape
    labels, groups = model.calibration_labels_, model.calibration_groups_
    if cells == "marginal":
        calibrator, test = Calibrator(model.conformity_scores_), None
    elif cells == "class":
        calibrator = Calibrator(model.conformity_scores_, groups=labels)
        test = TestContext(groups=np.broadcast_to(model.classes_, (m, k)))
    elif cells == "group":
        calibrator = Calibrator(model.conformity_scores_, groups=groups)
        test = TestContext(groups=_sign(X)[:, np.newaxis])
    else:
        pairs = np.char.add(groups.astype(str), np.char.add("|", labels.astype(str)))
        calibrator = Calibrator(model.conformity_scores_, groups=MondrianCells(pairs))
        grid = np.char.add(
            _sign(X).astype(str)[:, np.newaxis], np.char.add("|", model.classes_.astype(str))
        )
        test = TestContext(groups=grid)
    np.testing.assert_array_equal(model.predict_pvalues(X), calibrator.pvalues(scores, test=test))


# ---------------------------------------------------------------- bounded scores


def test_a_threshold_at_the_largest_score_warns_that_every_set_is_full():
    # 50 calibration points of class 1, 10 of them given probability 0: the 46th smallest LAC
    # score (rank ceil(0.9 * 51)) is 1, the largest LAC score
    X = np.r_[np.zeros(10), np.full(40, 0.8)][:, np.newaxis]
    y = np.ones(50, dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)  # class 0 has no calibration points
        model = SplitConformalClassifier(FrozenEstimator(_Fixed().fit())).fit(X, y)
    with pytest.warns(
        ConformalWarning,
        match=r"the threshold at confidence_level=0.9 is 1, the largest value LACScore\(\) can "
        r"take: every prediction set holds every class",
    ):
        assert model.predict_set([[0.0], [1.0]]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not model.predict_set([[0.0]], confidence_level=0.5).all()


@pytest.mark.parametrize("method", ["plus", "mean"])
def test_the_cross_classifier_warns_too_when_sets_are_full(data, method):
    X, y = data
    model = CrossConformalClassifier(
        GaussianNB(), conformity_score="top_k", method=method, random_state=0
    )
    model.fit(X[:, 1:], y)  # 11 of the 300 out-of-fold true classes are ranked last
    with pytest.warns(ConformalWarning, match=r"is 3, the largest value TopKScore\(\) can take"):
        assert model.predict_set(X[:5, 1:], confidence_level=0.97).all()
