"""Classification scores: hand-computed values, the rank order on ties, the exact inverse, RAPS
tuning, and errors."""

import numpy as np
import pytest

from conformal import conformal_quantile
from conformal.scores import (
    APSScore,
    ClassificationScore,
    LACScore,
    RAPSScore,
    TopKScore,
    get_classification_score,
)
from conformal.scores._classification import true_ranks

PROBA = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])


def _dirichlet(n, k, seed=0):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(k, 0.7), size=n)
    return proba, rng.uniform(size=n), rng


def _reference_aps(proba, u, lam=0.0, k_reg=0, randomized=True):
    """Row by row, class by class: the mass of the classes ranked at or above y (ties: lower
    column first), minus u * p_y, plus lam * max(0, rank - k_reg)."""
    n, k = proba.shape
    out = np.empty((n, k))
    for i in range(n):
        order = sorted(range(k), key=lambda c: (-proba[i, c], c))
        mass = 0.0
        for rank, c in enumerate(order, start=1):
            mass += proba[i, c]
            out[i, c] = (
                mass - (u[i] * proba[i, c] if randomized else 0.0) + lam * max(0, rank - k_reg)
            )
    return out


# ---------------------------------------------------------------- values


def test_hand_computed_scores():
    np.testing.assert_allclose(LACScore().score(PROBA, [0, 2]), [0.5, 0.7])
    np.testing.assert_allclose(APSScore(randomized=False).score(PROBA, [0, 2]), [0.5, 0.9])
    np.testing.assert_allclose(APSScore().score(PROBA, [0, 2], u=[0.5, 1.0]), [0.25, 0.6])
    np.testing.assert_array_equal(TopKScore().score(PROBA, [0, 2]), [1.0, 2.0])
    raps = RAPSScore(k_reg=1, lam=0.5, randomized=False)
    np.testing.assert_allclose(raps.score(PROBA, [2, 0]), [1.0 + 2 * 0.5, 1.0 + 2 * 0.5])


@pytest.mark.parametrize("randomized", [True, False])
def test_aps_and_raps_match_a_row_by_row_reference(randomized):
    proba, u, _ = _dirichlet(300, 7)
    proba[:20, 1] = proba[:20, 4]  # ties between columns 1 and 4
    got = APSScore(randomized=randomized).score_all(proba, u)
    np.testing.assert_allclose(got, _reference_aps(proba, u, randomized=randomized), rtol=1e-12)
    raps = RAPSScore(k_reg=2, lam=0.07, randomized=randomized).score_all(proba, u)
    want = _reference_aps(proba, u, lam=0.07, k_reg=2, randomized=randomized)
    np.testing.assert_allclose(raps, want, rtol=1e-12)


def test_ties_are_ranked_by_column_lower_first():
    proba = [[0.4, 0.4, 0.2], [0.25, 0.25, 0.5]]
    np.testing.assert_array_equal(true_ranks(proba, [0, 1]), [1, 3])
    np.testing.assert_array_equal(TopKScore().score_all(proba), [[1, 2, 3], [2, 3, 1]])
    np.testing.assert_allclose(
        APSScore(randomized=False).score_all(proba), [[0.4, 0.8, 1.0], [0.75, 1.0, 0.5]]
    )
    # top-1 keeps exactly one of two tied classes: the lower column
    np.testing.assert_array_equal(
        TopKScore().predict_set(proba, 1.0), [[True, False, False], [False, False, True]]
    )


# ---------------------------------------------------------------- the inverse


SCORES = [
    LACScore(),
    APSScore(),
    APSScore(randomized=False),
    RAPSScore(k_reg=2, lam=0.05),
    RAPSScore(k_reg=1, lam=0.2, randomized=False),
    TopKScore(),
]


@pytest.mark.parametrize("score", SCORES, ids=repr)
def test_a_class_is_in_the_set_exactly_when_its_score_is_at_most_the_threshold(score):
    proba, u, _ = _dirichlet(400, 6, seed=1)
    every = score.score_all(proba, u)
    thresholds = np.r_[np.quantile(every, [0.1, 0.5, 0.9]), every[3, 2], np.inf]
    sets = score.predict_set(proba, thresholds, u)
    assert sets.shape == (400, 5, 6)
    for y in range(6):
        s = score.score(proba, np.full(400, y), u)
        np.testing.assert_array_equal(sets[:, :, y], s[:, None] <= thresholds[None, :])
    assert sets[:, -1].all()  # an infinite threshold holds every class
    assert sets[3, 3, 2]  # a score equal to the threshold is in


@pytest.mark.parametrize("score", SCORES[1:], ids=repr)
def test_adaptive_sets_are_prefixes_of_the_rank_order(score):
    proba, u, _ = _dirichlet(300, 6, seed=2)
    sets = score.predict_set(proba, 0.8, u)
    order = np.argsort(-proba, axis=1, kind="stable")
    ordered = np.take_along_axis(sets, order, axis=1)
    assert (np.diff(ordered.astype(int), axis=1) <= 0).all()


def test_threshold_shapes():
    proba, _, _ = _dirichlet(5, 4)
    score = LACScore()
    assert score.predict_set(proba, 0.5).shape == (5, 4)
    assert score.predict_set(proba, [0.5]).shape == (5, 1, 4)
    per_row = score.predict_set(proba, np.linspace(0, 1, 10).reshape(5, 2))
    assert per_row.shape == (5, 2, 4)
    per_class = np.array([[0.0, 1.0, 0.0, 1.0]])[:, None, :]  # (1, 1, K): classes 1 and 3 only
    got = score.predict_set(proba, per_class)
    np.testing.assert_array_equal(got[:, 0], np.tile([False, True, False, True], (5, 1)))


# ---------------------------------------------------------------- RAPS tuning


def test_raps_tuning_picks_the_conformal_rank_quantile_and_the_smallest_sets():
    proba, u, rng = _dirichlet(500, 8, seed=3)
    y = np.array([rng.choice(8, p=row) for row in proba])
    score = RAPSScore()
    tuned = score.tune(proba, y, 0.9, u)
    assert not hasattr(score, "k_reg_") and not hasattr(score, "lam_")  # a copy was tuned
    assert tuned.k_reg_ == int(conformal_quantile(true_ranks(proba, y).astype(float), 0.9))
    sizes = {}
    for lam in score.lambdas:
        trial = RAPSScore(k_reg=tuned.k_reg_, lam=lam)
        q = conformal_quantile(trial.score(proba, y, u), 0.9)
        sizes[lam] = trial.predict_set(proba, q, u).sum(axis=1).mean()
    assert tuned.lam_ == min(sizes, key=lambda lam: (sizes[lam], score.lambdas.index(lam)))


def test_raps_tuning_keeps_given_parameters_and_survives_a_tiny_slice():
    proba, u, _ = _dirichlet(5, 4)
    y = np.zeros(5, dtype=int)
    tuned = RAPSScore(k_reg=2).tune(proba, y, 0.9, u)  # 5 points cannot reach 0.9
    assert tuned.k_reg_ == 2 and tuned.lam_ == 0.001  # every lambda gives full sets: the first
    assert RAPSScore(lam=0.3).tune(proba, y, 0.9, u).k_reg_ == 4  # no finite rank: K
    assert not RAPSScore(k_reg=1, lam=0.1).needs_tuning and RAPSScore().needs_tuning


# ---------------------------------------------------------------- factory and errors


def test_get_classification_score():
    assert isinstance(get_classification_score("lac"), LACScore)
    assert get_classification_score("aps").randomized
    assert isinstance(get_classification_score("top_k"), TopKScore)
    mine = RAPSScore(k_reg=1, lam=0.1)
    copy = get_classification_score(mine)
    assert copy is not mine and isinstance(copy, ClassificationScore) and copy.k_reg_ == 1
    with pytest.raises(ValueError, match=r"Unknown score 'softmax'. Valid options are \['aps'"):
        get_classification_score("softmax")
    assert repr(APSScore(randomized=False)) == "APSScore(randomized=False)"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: LACScore().score([0.5, 0.5], [0]), r"must be a 2-D array .* Got shape \(2,\)"),
        (lambda: LACScore().score([[np.nan, 1.0]], [0]), r"contains NaN in 1 row\(s\)"),
        (lambda: LACScore().score(PROBA, [0, 3]), r"y_index must lie in \[0, 2\]"),
        (lambda: LACScore().score(PROBA, [0.5, 1.0]), r"must be integer column indices"),
        (lambda: LACScore().score(PROBA, [0]), r"one class index per row of proba \(2\)"),
        (lambda: APSScore().score(PROBA, [0, 1]), r"randomized and needs u"),
        (lambda: APSScore().score(PROBA, [0, 1], u=[0.5]), r"u has 1 entries; expected 2"),
        (lambda: APSScore().score(PROBA, [0, 1], u=[0.5, 1.5]), r"u must hold numbers in"),
        (lambda: LACScore().predict_set(PROBA, np.ones((3, 3))), r"does not fit 2 rows"),
        (lambda: RAPSScore().score(PROBA, [0, 1], u=[0, 0]), r"has no k_reg and lam yet"),
        (lambda: RAPSScore(k_reg=-1), r"k_reg must be a non-negative integer"),
        (lambda: RAPSScore(lam=-0.1), r"lam must be a non-negative number"),
        (lambda: RAPSScore(tune_size=1.0), r"tune_size must be in \(0, 1\)"),
        (lambda: RAPSScore(lambdas=[]), r"lambdas must be a non-empty sequence"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
