"""Venn-ABERS calibration: the precomputed isotonic fits against refitting, the estimator."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joblib import parallel_config
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from conformal import VennAbersClassifier
from conformal.calibration._venn_abers import VennAbersCalibrator as _VennAbersCalibrator
from conformal.datasets import list_datasets, load_dataset
from conformal.metrics import expected_calibration_error
from tests import _reference

EXACT = {"rtol": 0, "atol": 1e-12}


def _pair(scores, labels, tests):
    return _VennAbersCalibrator(np.asarray(scores, float), np.asarray(labels) == 1).predict(
        np.asarray(tests, float)
    )


def _probe_scores(scores):
    """Every calibration score, every gap between two, and both outer sides."""
    u = np.unique(scores)
    gaps = (u[:-1] + u[1:]) / 2 if u.shape[0] > 1 else u[:0]
    return np.concatenate([u, gaps, [u[0] - 1.0, u[-1] + 1.0]])


# ---------------------------------------------------------------------------------------------
# The isotonic step against its definition (refit per test point)


@pytest.mark.parametrize("seed", range(40))
def test_pair_equals_isotonic_refit_on_tied_scores(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 25))
    scores = rng.integers(0, int(rng.integers(1, 8)), size=n).astype(float)  # many ties
    labels = rng.integers(0, 2, size=n)
    if seed % 5 == 0:
        labels[:] = seed % 2  # one label only
    tests = _probe_scores(scores)
    p0, p1 = _pair(scores, labels, tests)
    r0, r1 = _reference.venn_abers_pair(scores, labels, tests)
    np.testing.assert_allclose(p0, r0, **EXACT)
    np.testing.assert_allclose(p1, r1, **EXACT)


@pytest.mark.parametrize("seed", range(4))
def test_pair_equals_isotonic_refit_on_a_noisy_score(seed):
    """Continuous scores with a logistic link, a few exact ties, n = 150."""
    rng = np.random.default_rng(100 + seed)
    scores = np.round(rng.normal(size=150), 2)
    labels = (rng.uniform(size=150) < 1 / (1 + np.exp(-2 * scores))).astype(int)
    tests = np.concatenate([scores[:20], rng.normal(size=20), [-9.0, 9.0]])
    p0, p1 = _pair(scores, labels, tests)
    r0, r1 = _reference.venn_abers_pair(scores, labels, tests)
    np.testing.assert_allclose(p0, r0, **EXACT)
    np.testing.assert_allclose(p1, r1, **EXACT)


def test_pair_edge_cases_by_hand():
    # One calibration point labelled 1 at score 0.
    p0, p1 = _pair([0.0], [1], [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(p0, [0.0, 0.5, 1 / 2])  # below: the test 0 stands alone
    np.testing.assert_array_equal(p1, [1.0, 1.0, 1.0])
    # All calibration labels 0: p0 is 0 everywhere; p1 pools the test point with what lies above.
    p0, p1 = _pair([1.0, 2.0, 3.0], [0, 0, 0], [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(p0, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(p1, [1 / 4, 1 / 3, 1.0])
    # +-inf scores are ordinary (extreme) scores.
    p0, p1 = _pair([-np.inf, 0.0, np.inf], [0, 1, 1], [-np.inf, np.inf])
    r0, r1 = _reference.venn_abers_pair([-1e300, 0.0, 1e300], [0, 1, 1], [-1e300, 1e300])
    np.testing.assert_allclose(p0, r0, **EXACT)
    np.testing.assert_allclose(p1, r1, **EXACT)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=1, max_size=60),
    st.lists(st.integers(-2, 14), min_size=1, max_size=20),
)
def test_pair_is_ordered_monotone_and_inside_the_unit_interval(points, tests):
    scores = np.array([s for s, _ in points], float)
    labels = np.array([int(b) for _, b in points])
    probes = np.sort(np.asarray(tests, float) / 2)
    p0, p1 = _pair(scores, labels, probes)
    assert (p0 <= p1).all()
    assert (p0 >= 0).all() and (p0 < 1).all() and (p1 > 0).all() and (p1 <= 1).all()
    assert (np.diff(p0) >= 0).all() and (np.diff(p1) >= 0).all()  # increasing in the score


def test_pair_is_fast_on_a_large_calibration_set():
    """The precomputation is linear after the sort: no isotonic refit per test point."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=200_000)
    labels = rng.uniform(size=200_000) < 1 / (1 + np.exp(-scores))
    _pair(scores[:10], labels[:10], scores[:5])  # compile
    import time

    start = time.perf_counter()
    p0, p1 = _pair(scores, labels, rng.normal(size=100_000))
    assert time.perf_counter() - start < 5.0  # ~0.1 s; a refit per point would take hours
    assert (p0 <= p1).all() and np.median(p1 - p0) < 0.01


def test_nan_scores_are_rejected():
    with pytest.raises(ValueError, match=r"the calibration scores contain NaN \(1 of 3\)"):
        _pair([0.0, np.nan, 1.0], [0, 1, 1], [0.5])
    with pytest.raises(ValueError, match=r"the test scores contain NaN \(1 of 2\)"):
        _pair([0.0, 1.0], [0, 1], [0.5, np.nan])
    with pytest.raises(ValueError, match="needs at least one calibration point"):
        _pair([], [], [0.5])


# ---------------------------------------------------------------------------------------------
# The estimator against the definition


def _binary(n=400, seed=0):
    return make_classification(n_samples=n, n_features=5, random_state=seed)


def test_inductive_binary_is_the_definition_on_the_model_scores():
    X, y = _binary()
    model = LogisticRegression().fit(X[:200], y[:200])
    va = VennAbersClassifier(FrozenEstimator(model)).fit(X[200:350], y[200:350])
    cal = model.predict_proba(X[200:350])[:, 1]
    test = model.predict_proba(X[350:])[:, 1]
    r0, r1 = _reference.venn_abers_pair(cal, y[200:350], test)
    interval = va.predict_proba_interval(X[350:])
    assert interval.shape == (50, 2, 2)
    np.testing.assert_allclose(interval[:, 1, 0], r0, **EXACT)
    np.testing.assert_allclose(interval[:, 1, 1], r1, **EXACT)
    np.testing.assert_allclose(interval[:, 0], 1 - r1[:, None] * [1, 0] - r0[:, None] * [0, 1])
    proba = va.predict_proba(X[350:])
    np.testing.assert_allclose(proba[:, 1], r1 / (1 - r0 + r1), **EXACT)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (interval[:, :, 0] <= proba).all() and (proba <= interval[:, :, 1]).all()
    np.testing.assert_array_equal(va.predict(X[350:]), (proba[:, 1] > 0.5).astype(int))


def test_decision_function_and_predict_proba_give_the_same_pairs():
    """Only the order of the scores matters, and the logistic link keeps it."""
    X, y = _binary(seed=1)
    by_proba = VennAbersClassifier(random_state=0).fit(X[:300], y[:300])
    by_decision = VennAbersClassifier(response_method="decision_function", random_state=0)
    by_decision.fit(X[:300], y[:300])
    assert by_proba.response_method_ == "predict_proba"
    assert by_decision.response_method_ == "decision_function"
    np.testing.assert_allclose(
        by_proba.predict_proba_interval(X[300:]), by_decision.predict_proba_interval(X[300:])
    )


def test_multiclass_is_one_vs_rest_then_normalised():
    X, y = make_classification(
        n_samples=600, n_features=6, n_informative=4, n_classes=3, random_state=2
    )
    model = GaussianNB().fit(X[:300], y[:300])
    va = VennAbersClassifier(FrozenEstimator(model)).fit(X[300:500], y[300:500])
    interval = va.predict_proba_interval(X[500:])
    assert interval.shape == (100, 3, 2)
    merged = np.empty((100, 3))
    for k in range(3):
        r0, r1 = _reference.venn_abers_pair(
            model.predict_proba(X[300:500])[:, k],
            y[300:500] == k,
            model.predict_proba(X[500:])[:, k],
        )
        np.testing.assert_allclose(interval[:, k, 0], r0, **EXACT)
        np.testing.assert_allclose(interval[:, k, 1], r1, **EXACT)
        merged[:, k] = r1 / (1 - r0 + r1)
    proba = va.predict_proba(X[500:])
    np.testing.assert_allclose(proba, merged / merged.sum(axis=1, keepdims=True), **EXACT)
    np.testing.assert_array_equal(va.predict(X[500:]), np.argmax(proba, axis=1))


def test_cross_merges_folds_by_geometric_means():
    X, y = _binary(n=300, seed=3)
    va = VennAbersClassifier(GaussianNB(), method="cross", cv=4, random_state=0).fit(X, y)
    X_test, _ = _binary(n=40, seed=4)
    assert len(va.estimators_) == len(va.calibrators_) == 4
    # Rebuild the folds: StratifiedKFold(4, shuffle=True, random_state=0) on the labels.
    from sklearn.model_selection import StratifiedKFold

    p0s, p1s = [], []
    folds = StratifiedKFold(4, shuffle=True, random_state=0).split(X, y)
    for model, (_, held_out) in zip(va.estimators_, folds, strict=True):
        r0, r1 = _reference.venn_abers_pair(
            model.predict_proba(X[held_out])[:, 1], y[held_out], model.predict_proba(X_test)[:, 1]
        )
        p0s.append(r0)
        p1s.append(r1)
    p0s, p1s = np.array(p0s), np.array(p1s)
    gm_p1 = np.exp(np.log(p1s).mean(axis=0))
    gm_q0 = np.exp(np.log(1 - p0s).mean(axis=0))
    np.testing.assert_allclose(va.predict_proba(X_test)[:, 1], gm_p1 / (gm_q0 + gm_p1), rtol=1e-12)
    interval = va.predict_proba_interval(X_test)[:, 1]
    np.testing.assert_allclose(interval[:, 0], p0s.min(axis=0), **EXACT)
    np.testing.assert_allclose(interval[:, 1], p1s.max(axis=0), **EXACT)
    p = va.predict_proba(X_test)[:, 1]
    assert (interval[:, 0] <= p).all() and (p <= interval[:, 1]).all()


def test_a_fold_model_missing_a_class_scores_it_lowest():
    X, y = make_classification(
        n_samples=90, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=5
    )
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    index = np.arange(90)
    # The first fold holds out all of class 2 (and some of class 1): its model never sees it.
    splits = [(index[index < 55], index[index >= 55]), (index[index >= 30], index[index < 30])]
    va = VennAbersClassifier(GaussianNB(), method="cross", cv=splits).fit(X, y)
    assert va.estimators_[0].classes_.tolist() == [0, 1]
    proba = va.predict_proba(X)
    assert proba.shape == (90, 3) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# ---------------------------------------------------------------------------------------------
# Calibration on the bundled classification datasets


@pytest.mark.slow
@pytest.mark.parametrize("name", list_datasets(task="classification"))
@pytest.mark.parametrize("method", ["inductive", "cross"])
def test_venn_abers_improves_log_loss_and_ece_of_naive_bayes(name, method):
    """GaussianNB is overconfident (log loss 1.3 to 8.7 on these data); Venn-ABERS brings its log
    loss below 1.4 and at least halves its expected calibration error on average."""
    X, y = load_dataset(name)
    raw_loss, raw_ece, va_loss, va_ece = [], [], [], []
    for seed in range(3):
        X_fit, X_test, y_fit, y_test = train_test_split(
            X, y, test_size=0.3, random_state=seed, stratify=y
        )
        raw = GaussianNB().fit(X_fit, y_fit)
        va = VennAbersClassifier(GaussianNB(), method=method, random_state=seed).fit(X_fit, y_fit)
        for model, loss, ece in ((raw, raw_loss, raw_ece), (va, va_loss, va_ece)):
            proba = model.predict_proba(X_test)
            loss.append(log_loss(y_test, proba, labels=model.classes_))
            ece.append(expected_calibration_error(y_test, proba, classes=model.classes_))
    assert all(v < r for v, r in zip(va_loss, raw_loss, strict=True))
    assert all(v < r for v, r in zip(va_ece, raw_ece, strict=True))
    assert max(va_loss) < 1.4
    assert np.mean(va_ece) < 0.65 * np.mean(raw_ece)


# ---------------------------------------------------------------------------------------------
# scikit-learn conventions


def test_pandas_string_labels_pipeline_clone_and_pickle():
    pd = pytest.importorskip("pandas")
    X, y = load_dataset("yeast", as_frame=True)
    names = np.array(["MIT", "NUC", "CYT", "ME1", "EXC", "ME2", "ME3", "VAC", "POX"])
    labels = pd.Series(names[y.to_numpy()], index=X.index + 1000)  # the index is ignored
    pipe = make_pipeline(
        StandardScaler(), VennAbersClassifier(LogisticRegression(max_iter=500), random_state=0)
    )
    pipe.fit(X, labels)
    va = pipe[-1]
    assert va.classes_.tolist() == sorted(names.tolist())
    assert va.n_features_in_ == 8
    proba = pipe.predict_proba(X.iloc[:7])
    assert proba.shape == (7, 9) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(pipe.predict(X.iloc[:50])) <= set(names)
    assert va.predict_proba_interval(pipe[:-1].transform(X.iloc[:7])).shape == (7, 9, 2)
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.predict_proba(X.iloc[:7]), proba)
    refit = clone(pipe).fit(X, labels)
    np.testing.assert_array_equal(refit.predict_proba(X.iloc[:7]), proba)


def test_dataframe_feature_names_are_kept():
    pd = pytest.importorskip("pandas")
    X, y = _binary()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    va = VennAbersClassifier(random_state=0).fit(frame, y)
    assert va.feature_names_in_.tolist() == list(frame.columns)
    assert va.estimators_[0].feature_names_in_.tolist() == list(frame.columns)


def test_cross_val_score_and_sparse_input():
    import scipy.sparse as sp

    X, y = _binary()
    scores = cross_val_score(VennAbersClassifier(random_state=0), X, y, cv=3)
    assert scores.mean() > 0.8
    dense = VennAbersClassifier(random_state=0).fit(X, y).predict_proba(X[:10])
    sparse = VennAbersClassifier(random_state=0).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X[:10])), dense, atol=1e-6)


def test_same_seed_same_output_and_generator_not_advanced():
    X, y = _binary()
    rng = np.random.default_rng(7)
    state = rng.bit_generator.state
    a = VennAbersClassifier(method="cross", random_state=rng).fit(X, y).predict_proba(X[:20])
    assert rng.bit_generator.state == state
    b = VennAbersClassifier(method="cross", random_state=rng).fit(X, y).predict_proba(X[:20])
    np.testing.assert_array_equal(a, b)


def test_n_jobs_gives_the_same_folds():
    X, y = _binary()
    one = VennAbersClassifier(method="cross", random_state=0).fit(X, y)
    with parallel_config(backend="threading"):  # what a dask or ray backend would also run
        two = VennAbersClassifier(method="cross", n_jobs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


def test_tiny_classes_fall_back_to_an_unstratified_split():
    X, y = _binary(n=40)
    y = y.copy()
    y[0] = 2  # a class with one sample cannot be on both sides of a stratified split
    va = VennAbersClassifier(random_state=0).fit(X, y)
    assert va.predict_proba(X).shape == (40, 3)
    va = VennAbersClassifier(method="cross", cv=3, random_state=0).fit(X, y)
    assert va.predict_proba(X).shape == (40, 3)
    # Two calibration points cannot hold three classes: stratification gives way.
    y[1] = 2
    va = VennAbersClassifier(calibration_size=2, random_state=0).fit(X, y)
    assert va.predict_proba(X).shape == (40, 3)


# ---------------------------------------------------------------------------------------------
# Errors


def test_errors():
    X, y = _binary()
    with pytest.raises(
        ValueError,
        match=r"The 'method' parameter of VennAbersClassifier must be a str among "
        r"\{('inductive', 'cross'|'cross', 'inductive')\}. Got 'full' instead.",
    ):
        VennAbersClassifier(method="full").fit(X, y)
    with pytest.raises(ValueError, match=r"The 'estimator' parameter of VennAbersClassifier"):
        VennAbersClassifier(StandardScaler()).fit(X, y)
    frozen = FrozenEstimator(LogisticRegression().fit(X, y))
    with pytest.raises(ValueError, match="method='cross' refits the estimator on every fold"):
        VennAbersClassifier(frozen, method="cross").fit(X, y)
    with pytest.raises(ValueError, match=r"y has label\(s\) \[5\] that the prefit estimator"):
        VennAbersClassifier(frozen).fit(X[:3], [0, 1, 5])
    with pytest.raises(
        ValueError,
        match=r"VennAbersClassifier needs samples of at least 2 classes; the data has only one "
        r"class: 1.",
    ):
        VennAbersClassifier().fit(X[:10], np.ones(10, dtype=int))
    with pytest.raises(ValueError, match="the data has no sample"):
        VennAbersClassifier().fit(np.empty((0, 5)), [])
    with pytest.raises(
        ValueError,
        match=r"response_method='predict_proba' but LinearSVC has no predict_proba; use "
        r"response_method='auto' or one of \['decision_function'\].",
    ):
        VennAbersClassifier(LinearSVC(), response_method="predict_proba").fit(X, y)
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        VennAbersClassifier().fit(X[:10], y[:9])
    with pytest.raises(NotFittedError):
        VennAbersClassifier().predict_proba_interval(X)


def test_scores_without_a_score_method_or_with_nan_are_explained():
    X, y = _binary()

    class Voter(LogisticRegression):  # neither score method visible
        def __getattribute__(self, name):
            if name in ("predict_proba", "decision_function"):
                raise AttributeError(name)
            return super().__getattribute__(name)

    va = VennAbersClassifier()
    with pytest.raises(ValueError, match="Voter has neither predict_proba nor decision_function"):
        va._resolve_response_method(Voter())

    class Broken(LogisticRegression):
        def predict_proba(self, X):
            proba = super().predict_proba(X)
            proba[0] = np.nan
            return proba

    with pytest.raises(ValueError, match="the calibration scores contain NaN"):
        VennAbersClassifier(Broken(), random_state=0).fit(X, y)


def test_expected_calibration_error():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    # Bins of width 0.5: (0.5, 1] holds all four; accuracy 3/4, mean confidence 0.75.
    assert expected_calibration_error(y, proba, n_bins=2) == pytest.approx(0.0)
    # Width 0.2: |1 - 0.9| + |1 - 0.75| * 2 ... per bin, weighted by its share of samples.
    assert expected_calibration_error(y, proba, n_bins=5) == pytest.approx(0.25)
    assert expected_calibration_error(["a", "b"], [[1.0, 0.0], [0.0, 1.0]]) == 0.0
    strings = expected_calibration_error(["b", "a"], [[0.2, 0.8], [0.6, 0.4]], classes=["a", "b"])
    assert strings == pytest.approx((0.2 + 0.4) / 2)
    with pytest.raises(ValueError, match=r"y_proba has 3 columns but there are 2 classes"):
        expected_calibration_error([0, 1], np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"y_proba must have shape \(n_samples, n_classes\)"):
        expected_calibration_error([0, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match=r"y_true has label\(s\) \[2\] that are not among"):
        expected_calibration_error([0, 2], [[0.5, 0.5]] * 2, classes=[0, 1])
    with pytest.raises(ValueError, match="n_bins must be a positive integer; got 0"):
        expected_calibration_error([0, 1], [[0.5, 0.5]] * 2, n_bins=0)
    with pytest.raises(ValueError, match="needs at least one sample"):
        expected_calibration_error(np.array([], dtype=int), np.empty((0, 2)), classes=[0, 1])
