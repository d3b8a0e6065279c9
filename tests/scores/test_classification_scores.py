"""Classification scores: zero-probability classes in APS / RAPS (issue 9, item 4) and the
largest value of each score (``max_score``)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from conformal import SplitConformalClassifier, conformal_quantile
from conformal.datasets import load_dataset
from conformal.scores import APSScore, LACScore, RAPSScore, TopKScore

ONE_PLUS = np.nextafter(1.0, np.inf)  # the score of a class of probability 0


def _old_aps(proba):
    """Deterministic APS before the fix: the mass ranked at or above each class, zero-probability
    classes included (they tie with the class that completes the mass)."""
    order = np.argsort(-proba, axis=1, kind="stable")
    out = np.empty_like(proba)
    np.put_along_axis(out, order, np.cumsum(np.take_along_axis(proba, order, 1), 1), 1)
    return out


# ---------------------------------------------------------------- the zero-probability rule


def test_zero_probability_classes_enter_only_beyond_the_full_mass():
    proba = np.array([[1.0, 0.0, 0.0], [0.6, 0.4, 0.0], [0.0, 0.3, 0.7]])
    score = APSScore(randomized=False)
    np.testing.assert_array_equal(
        score.score_all(proba),
        [[1.0, ONE_PLUS, ONE_PLUS], [0.6, 1.0, ONE_PLUS], [ONE_PLUS, 1.0, 0.7]],
    )
    np.testing.assert_array_equal(
        score.predict_set(proba, 1.0),
        [[True, False, False], [True, True, False], [False, True, True]],
    )
    assert score.predict_set(proba, ONE_PLUS).all() and score.predict_set(proba, np.inf).all()
    # randomized: u * 0 changes nothing for a zero-probability class
    randomized = APSScore().score_all(proba, u=[0.5, 0.5, 0.5])
    np.testing.assert_array_equal(randomized[proba == 0], ONE_PLUS)
    np.testing.assert_allclose(randomized[proba > 0], [0.5, 0.3, 0.8, 0.85, 0.35])


def test_rows_summing_to_one_up_to_rounding_share_the_zero_probability_score():
    """Rows of probabilities sum to 1 only up to rounding (0.9999999999999999,
    1.0000000000000002, about 1e-7 off for float32 probabilities): their cumulative mass is
    capped at 1 and their zero-probability classes all score nextafter(1), so one threshold
    treats every row alike. A row of weights summing to more keeps its own sum."""
    rows = np.array(
        [
            [0.1, 0.2, 0.7 - 1e-16, 0.0],  # sums to 0.9999999999999999
            [0.5, 0.5 + 2e-16, 0.0, 0.0],  # sums to 1.0000000000000002
            [0.5, 0.5 + 1e-7, 0.0, 0.0],  # float32-like rounding
            [2.0, 1.0, 0.0, 0.0],  # not probabilities: full mass 3
        ]
    )
    every = APSScore(randomized=False).score_all(rows)
    np.testing.assert_array_equal(every[:3][rows[:3] == 0], ONE_PLUS)
    assert every[1].max() == ONE_PLUS and every[1, 0] == 1.0 and every[2, 0] == 1.0  # capped
    np.testing.assert_array_equal(
        every[3], [2.0, 3.0, np.nextafter(3.0, np.inf), np.nextafter(3.0, np.inf)]
    )
    np.testing.assert_array_equal(
        APSScore(randomized=False).predict_set(rows[:3], 1.0), rows[:3] > 0
    )


def test_raps_gives_zero_probability_classes_the_same_treatment_plus_their_penalty():
    proba = np.array([[1.0, 0.0, 0.0], [0.6, 0.4, 0.0]])
    no_penalty = RAPSScore(k_reg=3, lam=0.5, randomized=False)  # every rank below k_reg
    np.testing.assert_array_equal(
        no_penalty.score_all(proba), [[1.0, ONE_PLUS, ONE_PLUS], [0.6, 1.0, ONE_PLUS]]
    )
    assert no_penalty.predict_set(proba, 1.0).sum() == 3
    penalized = RAPSScore(k_reg=1, lam=0.1, randomized=False).score_all(proba)
    np.testing.assert_array_equal(penalized[:, 2], ONE_PLUS + 0.2)
    assert penalized[0, 1] == ONE_PLUS + 0.1


@pytest.mark.parametrize(
    "score",
    [
        APSScore(),
        APSScore(randomized=False),
        RAPSScore(k_reg=2, lam=0.05),
        RAPSScore(k_reg=9, lam=0.0),
    ],
    ids=repr,
)
def test_sets_stay_nested_in_the_level_and_prefixes_of_the_rank_order(score):
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.full(6, 0.3), size=500)
    proba[proba < 0.05] = 0.0  # many exact zeros, rows renormalized
    proba /= proba.sum(axis=1, keepdims=True)
    proba[:50] = np.eye(6)[rng.integers(0, 6, size=50)]  # one-hot rows
    u = rng.uniform(size=500)
    thresholds = np.r_[np.linspace(0.0, 1.0, 21), ONE_PLUS, np.inf]
    sets = score.predict_set(proba, thresholds, u)
    assert (np.diff(sets.astype(int), axis=1) >= 0).all()  # nested as the threshold grows
    order = np.argsort(-proba, axis=1, kind="stable")
    ranked = np.take_along_axis(sets, order[:, None, :], axis=2)
    assert (np.diff(ranked.astype(int), axis=2) <= 0).all()  # prefixes of the rank order
    if isinstance(score, APSScore) and not isinstance(score, RAPSScore):
        at_one = sets[:, thresholds.tolist().index(1.0)]
        assert not (at_one & (proba == 0)).any()  # no zero-probability class at q = 1
        assert (at_one | (proba == 0) | ~score.randomized).any()


# ---------------------------------------------------------------- the guarantee


def test_coverage_with_one_hot_probabilities_and_zero_probability_true_classes():
    """A classifier that puts all its mass on one class, right with probability 0.93: the
    deterministic APS calibration scores are 1 (right) or just above 1 (wrong: the true class
    had probability 0). At 0.8 the threshold is 1: the sets hold the predicted class only and
    cover 0.93 (before the fix they held all 5 classes); at 0.97 (more than 3% wrong) the
    threshold is just above 1 and every set is full. Mean coverage over 30 seeded draws of 500
    calibration and 2,000 test points must reach the level up to 0.01 (the Monte Carlo
    standard error is below 0.002)."""
    k, score = 5, APSScore(randomized=False)
    coverage: dict[float, list[float]] = {0.8: [], 0.97: []}
    sizes: dict[float, list[float]] = {0.8: [], 0.97: []}

    def draw(rng, n):
        predicted = rng.integers(0, k, size=n)
        wrong = rng.uniform(size=n) > 0.93
        truth = np.where(wrong, (predicted + rng.integers(1, k, size=n)) % k, predicted)
        return np.eye(k)[predicted], truth

    for seed in range(30):
        rng = np.random.default_rng(seed)
        proba_cal, y_cal = draw(rng, 500)
        proba_test, y_test = draw(rng, 2000)
        for level in coverage:
            q = conformal_quantile(score.score(proba_cal, y_cal), level)
            sets = score.predict_set(proba_test, q)
            coverage[level].append(sets[np.arange(2000), y_test].mean())
            sizes[level].append(sets.sum(axis=1).mean())
            old_q = conformal_quantile(
                np.take_along_axis(_old_aps(proba_cal), y_cal[:, None], 1)[:, 0], level
            )
            assert (_old_aps(proba_test) <= old_q).all()  # before: every class in every set
    assert np.mean(coverage[0.8]) >= 0.8 - 0.01 and np.mean(sizes[0.8]) == 1.0
    assert np.mean(coverage[0.8]) == pytest.approx(0.93, abs=0.01)
    assert np.mean(coverage[0.97]) == 1.0 and np.mean(sizes[0.97]) == k


def test_segmentation_random_forest_sets_are_no_longer_all_full():
    """Issue 9: a random forest on the bundled ``segmentation`` data (7 classes) gives many
    one-hot calibration rows; their deterministic APS score was exactly 1, the threshold was 1
    at 0.9, 0.95 and 0.99, and zero-probability classes tied with the class completing the
    mass: every set held all 7 classes. Zero-probability classes now enter only beyond the
    full mass: the sets hold the classes of positive probability (about 1.9 on average here)
    and still cover."""
    X, y = load_dataset("segmentation")
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.5, random_state=0)
    X_cal, X_test, y_cal, y_test = train_test_split(X_rest, y_rest, test_size=0.5, random_state=0)
    forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(X_train, y_train)
    levels = [0.9, 0.95, 0.99]
    model = SplitConformalClassifier(
        FrozenEstimator(forest),
        confidence_level=levels,
        conformity_score=APSScore(randomized=False),
    ).fit(X_cal, y_cal)
    sets = model.predict_set(X_test)
    sizes = sets.sum(axis=2).mean(axis=0)
    assert (sizes < 3.0).all()
    truth = np.searchsorted(model.classes_, y_test)
    covered = sets[np.arange(len(y_test)), :, truth].mean(axis=0)
    assert (covered >= np.array(levels) - 0.03).all()
    # before the fix: the same calibration gave q = 1 and full sets at every level
    proba_cal, proba_test = forest.predict_proba(X_cal), forest.predict_proba(X_test)
    old_cal = np.take_along_axis(
        _old_aps(proba_cal), np.searchsorted(forest.classes_, y_cal)[:, None], 1
    )
    old_q = conformal_quantile(old_cal[:, 0], levels)
    np.testing.assert_array_equal(old_q, 1.0)
    old_sizes = (_old_aps(proba_test)[:, None, :] <= old_q[None, :, None]).sum(axis=2)
    assert (old_sizes.mean(axis=0) > 6.9).all()  # 7 classes, minus rows summing above 1
    assert np.mean(old_cal == 1.0) > 0.3


# ---------------------------------------------------------------- max_score


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (LACScore(), 1.0),
        (TopKScore(), 7.0),
        (APSScore(), ONE_PLUS),
        (APSScore(randomized=False), ONE_PLUS),
        (RAPSScore(k_reg=2, lam=0.1), ONE_PLUS + 0.1 * 5),
        (RAPSScore(k_reg=9, lam=0.1), ONE_PLUS),
    ],
    ids=repr,
)
def test_max_score_is_the_largest_score_and_fills_every_set(score, expected):
    assert score.max_score(7) == expected
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.full(7, 0.3), size=300)
    proba[proba < 0.03] = 0.0
    proba /= proba.sum(axis=1, keepdims=True)
    proba[:20] = np.eye(7)[rng.integers(0, 7, size=20)]
    u = rng.uniform(size=300)
    every = score.score_all(proba, u)
    assert every.max() <= expected
    assert score.predict_set(proba, expected, u).all()
    # below it, some set is not full (a one-hot row's last class scores exactly max_score)
    assert not score.predict_set(proba, np.nextafter(expected, -np.inf), u).all()


def test_max_score_errors_and_the_unbounded_default():
    with pytest.raises(ValueError, match=r"has no k_reg and lam yet"):
        RAPSScore().max_score(4)
    with pytest.raises(ValueError, match=r"n_classes must be at least 1. Got 0"):
        APSScore().max_score(0)
    assert APSScore().max_score(1) == 1.0  # one class: it always has probability 1

    class Unbounded(LACScore):
        max_score = LACScore.__bases__[0].max_score

    assert Unbounded().max_score(3) == np.inf
