"""Agreement of split conformal regression and CQR with the peer libraries MAPIE and crepes.

Both sides get the same fitted models and the same calibration set (real data: the bundled
``concrete`` and ``power_plant`` datasets), so any difference comes from the calibration rule
alone. Where a peer differs, a test below pins the difference down and explains it.

What is compared (ours -> peer):

- ``SplitConformalRegressor`` with a frozen model, scores ``"absolute"``, ``"gamma"``,
  ``"signed"`` and ``NormalizedScore(FrozenEstimator(difficulty))`` -> MAPIE 1.x
  ``SplitConformalRegressor(prefit=True)`` with ``"absolute"``, ``GammaConformityScore(sym=True)``,
  ``AbsoluteConformityScore(sym=False)`` and ``ResidualNormalisedScore(prefit=True)``; and
  ``"absolute"`` / normalized -> crepes ``ConformalRegressor`` without / with ``sigmas``.
- ``ConformalizedQuantileRegressor([lo, hi, median], symmetric=True|False)`` -> MAPIE
  ``ConformalizedQuantileRegressor(prefit=True)`` with ``symmetric_correction=True|False``.

Conventions found (``a = 1 - confidence_level``; ours: the ``ceil((1 - a)(n + 1))``-th smallest
score computed in exact rational arithmetic, ``+inf`` with a ``ConformalWarning`` past ``n``):

- MAPIE uses the same order statistic (``np.quantile(method="lower")`` at level
  ``ceil((1 - a)(n + 1)) / n``, with ``a`` taken through ``Decimal``), and its intervals equal
  ours to the last bit (gamma: to rounding, ``f * (1 + q)`` vs ``f + q * f``), except that:

  * by default it refuses (``ValueError``) calibration sets with ``n < 1/a``, one point more than
    the order statistic needs (``n = 9`` at 0.9, ``n = 19`` at 0.95, where ours is finite);
    ``allow_infinite_bounds=True`` lifts that check and then agrees with us;
  * for symmetric scores it never returns infinite bounds: when the rank exceeds ``n`` it raises
    even with ``allow_infinite_bounds=True`` (the flag is not passed on to the quantile);
  * for asymmetric scores its effective-size check halves ``n`` (``n // 2 >= 1/a``);
  * its asymmetric split path computes the one-sided level as ``1 - a + a/2`` in floating point
    (``0.9500000000000001`` at 0.9), which at ``n = 59, 119, 219, 239, 259, ...`` rounds the
    rank up by one: one order statistic wider than ours on each side;
  * its CQR checks ``n >= 1/a`` (symmetric) or ``n >= 2/a`` (asymmetric) and has no
    ``allow_infinite_bounds`` at all; its default ``"gamma"`` score is not our gamma score but
    an asymmetric one (signed relative residuals, each side at level ``1 - a/2``).

- crepes computes the index ``int((1 - confidence) * (n + 1)) - 1`` into the descending scores,
  the same order statistic in exact arithmetic. In floating point ``1 - 0.9`` and ``1 - 0.8``
  round *below* ``a``, so whenever ``a (n + 1)`` is an integer (``n = 9, 19, ..., 99`` at 0.9;
  ``n = 4, 9, 14, ...`` at 0.8) crepes takes the next larger order statistic, or returns infinite
  intervals where ours are finite (``n = 9`` at 0.9). Too small a calibration set gives
  ``(-inf, inf)`` with a warning in crepes as in ours: crepes does not clamp to the largest score.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge

from conformal import (
    ConformalizedQuantileRegressor,
    ConformalWarning,
    SplitConformalRegressor,
    conformal_quantile,
    conformal_rank,
)
from conformal.datasets import load_dataset
from conformal.scores import NormalizedScore, RegressionScore
from tests._outward import assert_outward_equal

mapie_regression = pytest.importorskip("mapie.regression")
mapie_scores = pytest.importorskip("mapie.conformity_scores")
crepes = pytest.importorskip("crepes")

LEVELS = [0.8, 0.9, 0.95]
RTOL = 1e-12


# ---------------------------------------------------------------- data and models


class Concrete:
    """Concrete strength (1030 rows): 500 training, 330 calibration pool, 200 test rows."""

    def __init__(self) -> None:
        X, y = load_dataset("concrete")
        order = np.random.default_rng(0).permutation(y.shape[0])
        train, self.pool, test = order[:500], order[500:830], order[830:]
        self.X, self.y = X, y
        self.X_test = X[test]
        self.model = GradientBoostingRegressor(n_estimators=50, max_depth=3, random_state=0)
        self.model.fit(X[train], y[train])
        residuals = np.abs(y[train] - self.model.predict(X[train]))
        self.difficulty = GradientBoostingRegressor(n_estimators=30, max_depth=2, random_state=0)
        self.difficulty.fit(X[train], residuals)
        fitted: dict[float, GradientBoostingRegressor] = {}
        for q in {q for level in (0.8, 0.9) for q in _cqr_quantiles(level)}:
            fitted[q] = self._quantile_model(X[train], y[train], q)
        self.quantile_models = {
            level: [fitted[q] for q in _cqr_quantiles(level)] for level in (0.8, 0.9)
        }

    @staticmethod
    def _quantile_model(X, y, q):
        gbr = GradientBoostingRegressor(
            loss="quantile", alpha=q, n_estimators=40, max_depth=3, random_state=0
        )
        return gbr.fit(X, y)

    def calibration(self, n: int):
        rows = self.pool[:n]
        return self.X[rows], self.y[rows]


def _cqr_quantiles(level: float) -> list[float]:
    """[a/2, 1 - a/2, 0.5] as MAPIE's prefit CQR expects them (lower, upper, median)."""
    a = 1 - Fraction(repr(level))
    return [float(a / 2), float(1 - a / 2), 0.5]


@pytest.fixture(scope="module")
def concrete() -> Concrete:
    return Concrete()


@pytest.fixture(scope="module")
def power_plant():
    """Combined cycle power plant (9568 rows): a linear model, 4567 calibration rows."""
    X, y = load_dataset("power_plant")
    order = np.random.default_rng(1).permutation(y.shape[0])
    train, pool, test = order[:3000], order[3000:7567], order[7567:8567]
    model = Ridge().fit(X[train], y[train])
    return model, X[pool], y[pool], X[test]


# ---------------------------------------------------------------- helpers


def _ours(model, X_cal, y_cal, X_test, levels, score="absolute"):
    """Our intervals, (n_test, L, 2), from a frozen model and a calibration set."""
    reg = SplitConformalRegressor(
        FrozenEstimator(model), confidence_level=list(levels), conformity_score=score
    )
    return reg.fit(X_cal, y_cal).predict_interval(X_test)


def _mapie(model, X_cal, y_cal, X_test, levels, score="absolute", **predict_kwargs):
    """MAPIE's intervals, transposed from (n_test, 2, L) to our (n_test, L, 2)."""
    reg = mapie_regression.SplitConformalRegressor(
        model, confidence_level=list(levels), conformity_score=score, prefit=True
    )
    points, intervals = reg.conformalize(X_cal, y_cal).predict_interval(X_test, **predict_kwargs)
    np.testing.assert_array_equal(points, model.predict(X_test))
    return np.transpose(intervals, (0, 2, 1))


def _crepes(residuals, y_hat, level, sigmas=None, test_sigmas=None):
    """crepes' (n_test, 2) intervals from calibration residuals y - f(x)."""
    cr = crepes.ConformalRegressor().fit(residuals, sigmas=sigmas)
    return cr.predict_int(y_hat, sigmas=test_sigmas, confidence=level)


def _mapie_cqr(models, X_cal, y_cal, X_test, level, symmetric):
    reg = mapie_regression.ConformalizedQuantileRegressor(
        models, confidence_level=level, prefit=True
    )
    points, intervals = reg.conformalize(X_cal, y_cal).predict_interval(
        X_test, symmetric_correction=symmetric
    )
    return points, intervals[:, :, 0]


def _ours_cqr(models, X_cal, y_cal, X_test, level, symmetric):
    reg = ConformalizedQuantileRegressor(
        [FrozenEstimator(m) for m in models], confidence_level=level, symmetric=symmetric
    ).fit(X_cal, y_cal)
    return reg.predict(X_test), reg.predict_interval(X_test)


def _kth(scores, k):
    """The k-th smallest score (1-based), +inf past the end."""
    return np.sort(scores)[k - 1] if k <= len(scores) else np.inf


def _zero_model():
    """A fitted model predicting 0, so that y itself is the residual (rank sweeps)."""
    return DummyRegressor(strategy="constant", constant=0.0).fit(np.zeros((2, 1)), [0.0, 0.0])


class SignedRelativeScore(RegressionScore):
    """MAPIE's default ``"gamma"`` in our framework: ``[(f - y) / f, (y - f) / f]``, each side at
    level ``1 - a/2``; interval ``[f - q_lo f, f + q_hi f]`` (positive predictions)."""

    name = "signed_relative"
    asymmetric = True

    def score(self, y, y_pred, scale=None):  # type: ignore[no-untyped-def]
        f = self._point(y_pred)
        t = np.asarray(y, dtype=np.float64)
        return np.column_stack([(f - t) / f, (t - f) / f])

    def inverse(self, y_pred, threshold, scale=None):  # type: ignore[no-untyped-def]
        f = self._point(y_pred)[:, np.newaxis]
        q = np.asarray(threshold, dtype=np.float64)
        return np.stack(np.broadcast_arrays(f - q[..., 0] * f, f + q[..., 1] * f), axis=-1)


# ---------------------------------------------------------------- 1. split absolute vs MAPIE


@pytest.mark.parametrize("n", [99, 250, 330])
def test_split_absolute_matches_mapie(concrete, n):
    """Identical intervals at 0.8 / 0.9 / 0.95. n = 99 puts every level on an exact rank
    boundary ((1 - a)(n + 1) = 80, 90, 95 are integers); 250 and 330 are generic sizes."""
    X_cal, y_cal = concrete.calibration(n)
    ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, LEVELS)
    peer = _mapie(concrete.model, X_cal, y_cal, concrete.X_test, LEVELS)
    assert_outward_equal(ours, peer)


@pytest.mark.parametrize("n", [3999, 4567])
def test_split_absolute_matches_mapie_on_power_plant(power_plant, n):
    """Same on a larger set: n = 3999 is a rank boundary at every level, 4567 is generic."""
    model, X_pool, y_pool, X_test = power_plant
    ours = _ours(model, X_pool[:n], y_pool[:n], X_test, LEVELS)
    assert_outward_equal(ours, _mapie(model, X_pool[:n], y_pool[:n], X_test, LEVELS))


@pytest.mark.parametrize(("n", "levels"), [(19, [0.8, 0.9, 0.95]), (9, [0.8, 0.9])])
def test_mapie_refuses_n_below_one_over_alpha_where_our_rank_is_finite(concrete, n, levels):
    """MAPIE requires ``n >= 1/a`` (``_check_alpha_and_n_samples``), one point more than the
    order statistic needs: at n = 19, 0.95 (and n = 9, 0.9) the rank ceil((1-a)(n+1)) = n is
    the largest score, finite. MAPIE raises by default; ``allow_infinite_bounds=True`` skips the
    check and then gives exactly our (finite) intervals."""
    X_cal, y_cal = concrete.calibration(n)
    with pytest.raises(ValueError, match="Number of samples of the score is too low"):
        _mapie(concrete.model, X_cal, y_cal, concrete.X_test, levels)
    ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, levels)
    assert np.isfinite(ours).all()
    peer = _mapie(concrete.model, X_cal, y_cal, concrete.X_test, levels, allow_infinite_bounds=True)
    assert_outward_equal(ours, peer)


def test_rank_sweep_matches_mapie_for_every_n():
    """For n = 1..120 and levels 0.8 / 0.9 / 0.95, MAPIE's symmetric order statistic is ours
    wherever ours is finite (``allow_infinite_bounds=True`` to lift the ``n >= 1/a`` check),
    and its default check fails exactly when ``n < 1/a``."""
    rng = np.random.default_rng(3)
    zero = _zero_model()
    for n in range(1, 121):
        y = rng.normal(size=n)
        X = np.zeros((n, 1))
        finite = [lv for lv in LEVELS if conformal_rank(n, lv) <= n]
        if finite:
            peer = _mapie(zero, X, y, X[:1], finite, allow_infinite_bounds=True)
            expected = [_kth(np.abs(y), conformal_rank(n, lv)) for lv in finite]
            np.testing.assert_array_equal(peer[0, :, 1], expected)
            np.testing.assert_array_equal(peer[0, :, 0], np.negative(expected))
        for lv in LEVELS:
            a = 1 - Fraction(repr(lv))
            if n < 1 / a:
                with pytest.raises(ValueError, match="too low"):
                    _mapie(zero, X, y, X[:1], [lv])


# ---------------------------------------------------------------- 2. gamma and signed vs MAPIE


@pytest.mark.parametrize("n", [99, 330])
def test_split_gamma_matches_mapie_symmetric_gamma(concrete, n):
    """Our gamma score |y - f| / |f| is MAPIE's ``GammaConformityScore(sym=True)`` (concrete
    strength and its predictions are positive). MAPIE builds f * (1 -+ q), we build f -+ q f:
    equal up to rounding (max abs difference about 1e-14)."""
    X_cal, y_cal = concrete.calibration(n)
    ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, LEVELS, "gamma")
    peer = _mapie(
        concrete.model,
        X_cal,
        y_cal,
        concrete.X_test,
        LEVELS,
        mapie_scores.GammaConformityScore(sym=True),
    )
    np.testing.assert_allclose(ours, peer, rtol=RTOL)


@pytest.mark.parametrize("n", [99, 330])
def test_mapie_default_gamma_is_asymmetric_signed_relative_score(concrete, n):
    """MAPIE's ``conformity_score="gamma"`` is ``GammaConformityScore(sym=False)``: signed relative
    residuals (y - f) / f, the lower and upper side each calibrated at level 1 - a/2. It is
    not our symmetric gamma score (the intervals differ by several MPa), but it is exactly our
    framework with that asymmetric score (:class:`SignedRelativeScore`)."""
    X_cal, y_cal = concrete.calibration(n)
    peer = _mapie(concrete.model, X_cal, y_cal, concrete.X_test, LEVELS, "gamma")
    ours_gamma = _ours(concrete.model, X_cal, y_cal, concrete.X_test, LEVELS, "gamma")
    assert np.max(np.abs(peer - ours_gamma)) > 1.0
    ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, LEVELS, SignedRelativeScore())
    np.testing.assert_allclose(ours, peer, rtol=RTOL)


@pytest.mark.parametrize("n", [99, 330])
def test_split_signed_matches_mapie_asymmetric_absolute(concrete, n):
    """Our ``"signed"`` score is MAPIE's ``AbsoluteConformityScore(sym=False)``."""
    X_cal, y_cal = concrete.calibration(n)
    ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, LEVELS, "signed")
    peer = _mapie(
        concrete.model,
        X_cal,
        y_cal,
        concrete.X_test,
        LEVELS,
        mapie_scores.AbsoluteConformityScore(sym=False),
    )
    assert_outward_equal(ours, peer)


@pytest.mark.parametrize("relative", [False, True], ids=["signed", "signed_relative"])
def test_mapie_asymmetric_one_sided_level_rounds_up_at_n59(concrete, relative):
    """MAPIE's asymmetric split path computes the one-sided level as ``1 - a + a/2`` in floating
    point: 1 - 0.1 + 0.05 = 0.9500000000000001 at confidence 0.9. At n = 59,
    0.9500000000000001 * 60 = 57.00000000000001, whose ceiling is 58: MAPIE takes the 58th
    smallest score of each side where the exact rank ceil(0.95 * 60) is 57. We check MAPIE
    against the 58th order statistics computed by hand (for our ``"signed"`` vs MAPIE's
    ``AbsoluteConformityScore(sym=False)`` and for the signed relative score vs MAPIE's default
    ``"gamma"``); at n = 60 both agree again."""
    if relative:
        ours_score, peer_score = SignedRelativeScore(), "gamma"
    else:
        ours_score, peer_score = "signed", mapie_scores.AbsoluteConformityScore(sym=False)
    X_cal, y_cal = concrete.calibration(59)
    f_cal, f_test = concrete.model.predict(X_cal), concrete.model.predict(concrete.X_test)
    assert conformal_rank(59, Fraction(19, 20)) == 57
    ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, [0.9], ours_score)[:, 0]
    peer = _mapie(concrete.model, X_cal, y_cal, concrete.X_test, [0.9], peer_score)[:, 0]
    unit_cal, unit_test = (f_cal, f_test) if relative else (1.0, 1.0)
    q_lo = _kth((f_cal - y_cal) / unit_cal, 58)
    q_hi = _kth((y_cal - f_cal) / unit_cal, 58)
    expected = np.column_stack([f_test - q_lo * unit_test, f_test + q_hi * unit_test])
    np.testing.assert_allclose(peer, expected, rtol=RTOL)
    assert (peer[:, 0] < ours[:, 0]).all() and (peer[:, 1] > ours[:, 1]).all()
    X60, y60 = concrete.calibration(60)
    np.testing.assert_allclose(
        _ours(concrete.model, X60, y60, concrete.X_test, [0.9], ours_score),
        _mapie(concrete.model, X60, y60, concrete.X_test, [0.9], peer_score),
        rtol=RTOL,
    )


def test_mapie_asymmetric_rank_sweep_differs_exactly_at_listed_n():
    """The n <= 300 where MAPIE's one-sided rank at confidence 0.9 exceeds ours by one (see the
    test above); everywhere else (with ``allow_infinite_bounds=True`` so that its halved
    ``n // 2 >= 1/a`` check does not refuse small n) MAPIE's asymmetric bounds are ours."""
    rng = np.random.default_rng(4)
    zero = _zero_model()
    side_level = Fraction(19, 20)
    differs = []
    for n in range(20, 301):
        y = rng.normal(size=n)
        X = np.zeros((n, 1))
        peer = _mapie(
            zero,
            X,
            y,
            X[:1],
            [0.9],
            mapie_scores.AbsoluteConformityScore(sym=False),
            allow_infinite_bounds=True,
        )[0, 0]
        k = conformal_rank(n, side_level)
        if peer[1] != _kth(y, k):
            differs.append(n)
            assert peer[1] == _kth(y, k + 1)
            assert peer[0] == -_kth(-y, k + 1)
        else:
            assert peer[0] == -_kth(-y, k)
    assert differs == [59, 119, 219, 239, 259]


# ---------------------------------------------------------------- 3. split vs crepes


@pytest.mark.parametrize("n", [250, 330])
def test_split_absolute_matches_crepes(concrete, n):
    """Identical intervals at generic calibration sizes (and at every size at 0.95)."""
    X_cal, y_cal = concrete.calibration(n)
    ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, LEVELS)
    residuals, y_hat = (
        y_cal - concrete.model.predict(X_cal),
        concrete.model.predict(concrete.X_test),
    )
    for j, level in enumerate(LEVELS):
        assert_outward_equal(ours[:, j], _crepes(residuals, y_hat, level))


def test_split_absolute_matches_crepes_on_power_plant(power_plant):
    model, X_pool, y_pool, X_test = power_plant
    ours = _ours(model, X_pool, y_pool, X_test, LEVELS)
    residuals, y_hat = y_pool - model.predict(X_pool), model.predict(X_test)
    for j, level in enumerate(LEVELS):
        assert_outward_equal(ours[:, j], _crepes(residuals, y_hat, level))


@pytest.mark.parametrize("n", [99, 330])
def test_split_normalized_matches_crepes_and_mapie(concrete, n):
    """Normalized score |y - f| / sigma with a frozen difficulty model. Our sigma is the
    difficulty model's prediction floored at ``beta`` times its mean prediction on the
    calibration data; here every prediction is above that floor, so the floor is inactive and
    crepes (given our exact sigmas) and MAPIE's ``ResidualNormalisedScore(prefit=True)``
    (flooring at machine epsilon) see the same sigma.
    crepes is compared at 0.95 only for n = 99 (0.8 and 0.9 are rank boundaries it misses)."""
    X_cal, y_cal = concrete.calibration(n)
    score = NormalizedScore(FrozenEstimator(concrete.difficulty))
    reg = SplitConformalRegressor(
        FrozenEstimator(concrete.model), confidence_level=LEVELS, conformity_score=score
    ).fit(X_cal, y_cal)
    ours = reg.predict_interval(concrete.X_test)
    floor = 0.01 * concrete.difficulty.predict(X_cal).mean()
    assert reg.scale_floor_ == pytest.approx(floor)
    sigma_cal, sigma_test = (
        reg._scale(X_cal),
        reg._scale(concrete.X_test),
    )
    assert sigma_cal.min() > floor and sigma_test.min() > floor
    np.testing.assert_array_equal(sigma_test, concrete.difficulty.predict(concrete.X_test))

    peer = _mapie(
        concrete.model,
        X_cal,
        y_cal,
        concrete.X_test,
        LEVELS,
        mapie_scores.ResidualNormalisedScore(concrete.difficulty, prefit=True),
    )
    np.testing.assert_allclose(ours, peer, rtol=RTOL)

    residuals, y_hat = (
        y_cal - concrete.model.predict(X_cal),
        concrete.model.predict(concrete.X_test),
    )
    for j, level in enumerate(LEVELS):
        if n == 99 and level != 0.95:
            continue
        got = _crepes(residuals, y_hat, level, sigmas=sigma_cal, test_sigmas=sigma_test)
        np.testing.assert_allclose(ours[:, j], got, rtol=RTOL)


@pytest.mark.parametrize(
    ("dataset", "n", "level", "ours_rank"),
    [
        ("concrete", 99, 0.9, 90),
        ("concrete", 99, 0.8, 80),
        ("concrete", 19, 0.9, 18),
        ("power_plant", 3999, 0.9, 3600),
    ],
)
def test_crepes_takes_next_order_statistic_on_rank_boundaries(
    request, dataset, n, level, ours_rank
):
    """crepes reads the threshold at index ``int((1 - confidence) * (n + 1)) - 1`` of the scores
    sorted in decreasing order. In floating point 1 - 0.9 = 0.09999999999999998 and
    1 - 0.8 = 0.19999999999999996 fall below a, so when a (n + 1) is an integer the product
    truncates one short (9.999999999999998 -> 9 at n = 99) and crepes uses the
    (ours_rank + 1)-th smallest score: a wider interval than the exact rule asks for. With sigmas
    (normalized) the same index is used. 1 - 0.95 = 0.050000000000000044 rounds up, so 0.95 is
    never affected."""
    if dataset == "concrete":
        data = request.getfixturevalue("concrete")
        model, (X_cal, y_cal), X_test = data.model, data.calibration(n), data.X_test
    else:
        model, X_pool, y_pool, X_test = request.getfixturevalue("power_plant")
        X_cal, y_cal = X_pool[:n], y_pool[:n]
    assert conformal_rank(n, level) == ours_rank
    residuals, y_hat = y_cal - model.predict(X_cal), model.predict(X_test)
    ours = _ours(model, X_cal, y_cal, X_test, [level])[:, 0]
    peer = _crepes(residuals, y_hat, level)
    abs_residuals = np.abs(residuals)
    np.testing.assert_array_equal(ours[:, 1], y_hat + _kth(abs_residuals, ours_rank))
    np.testing.assert_array_equal(peer[:, 1], y_hat + _kth(abs_residuals, ours_rank + 1))
    np.testing.assert_array_equal(peer[:, 0], y_hat - _kth(abs_residuals, ours_rank + 1))
    assert _kth(abs_residuals, ours_rank + 1) > _kth(abs_residuals, ours_rank)


def test_crepes_returns_infinite_intervals_at_n9_where_ours_are_finite(concrete):
    """At n = 9 and 0.9 the exact rank is ceil(0.9 * 10) = 9: the largest score. crepes computes
    int(0.09999999999999998 * 10) - 1 = -1 and returns (-inf, inf) with a warning."""
    X_cal, y_cal = concrete.calibration(9)
    ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, [0.9])[:, 0]
    residuals, y_hat = (
        y_cal - concrete.model.predict(X_cal),
        concrete.model.predict(concrete.X_test),
    )
    np.testing.assert_array_equal(ours[:, 1], y_hat + np.abs(residuals).max())
    with pytest.warns(UserWarning, match="too small"):
        peer = _crepes(residuals, y_hat, 0.9)
    assert np.isneginf(peer[:, 0]).all() and np.isposinf(peer[:, 1]).all()


def test_rank_sweep_crepes_differs_exactly_on_float_boundaries():
    """For n = 1..200 at 0.8 / 0.9 / 0.95, crepes' threshold is our order statistic except where
    a (n + 1) is an integer and the float 1 - confidence is below a: there it is the next one
    (or +inf past n). Our learner-free ``conformal_quantile`` is the reference."""
    rng = np.random.default_rng(5)
    boundaries = {lv: [] for lv in LEVELS}
    for n in range(1, 201):
        residuals = rng.normal(size=n)
        scores = np.abs(residuals)
        for level in LEVELS:
            a = 1 - Fraction(repr(level))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ours = float(conformal_quantile(scores, level))
                peer = _crepes(residuals, np.zeros(1), level)[0, 1]
            shifted = (a * (n + 1)).denominator == 1 and Fraction(1 - level) < a
            k = conformal_rank(n, level) + (1 if shifted else 0)
            assert peer == _kth(scores, k), (n, level)
            assert ours == _kth(scores, conformal_rank(n, level))
            if shifted:
                boundaries[level].append(n)
    assert boundaries[0.9] == list(range(9, 201, 10))
    assert boundaries[0.8] == list(range(4, 201, 5))
    assert boundaries[0.95] == []


# ---------------------------------------------------------------- 4. CQR vs MAPIE


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("level", [0.8, 0.9])
@pytest.mark.parametrize("n", [99, 250, 330])
def test_cqr_matches_mapie(concrete, n, level, symmetric):
    """Prefit quantile models [a/2, 1 - a/2, 0.5]: identical intervals and point predictions
    (symmetric: one score max(lo - y, y - hi) at 1 - a; asymmetric: each side at 1 - a/2)."""
    models = concrete.quantile_models[level]
    X_cal, y_cal = concrete.calibration(n)
    ours_point, ours = _ours_cqr(models, X_cal, y_cal, concrete.X_test, level, symmetric)
    peer_point, peer = _mapie_cqr(models, X_cal, y_cal, concrete.X_test, level, symmetric)
    np.testing.assert_array_equal(ours_point, peer_point)
    np.testing.assert_array_equal(ours, peer)


@pytest.mark.parametrize(("n", "symmetric"), [(9, True), (19, False)])
def test_mapie_cqr_refuses_sizes_whose_rank_is_finite(concrete, n, symmetric):
    """MAPIE's CQR checks ``n >= 1/a`` at conformalize and ``n >= 1/alpha_side`` at predict,
    with alpha_side = a/2 when ``symmetric_correction=False``: at 0.9 it needs n >= 10
    (symmetric) and n >= 20 (asymmetric), while the order statistics exist from n = 9
    (rank ceil(0.9 * 10) = 9) and n = 19 (rank ceil(0.95 * 20) = 19). There is no
    ``allow_infinite_bounds`` escape: predict ignores the flag."""
    models = concrete.quantile_models[0.9]
    X_cal, y_cal = concrete.calibration(n)
    _, ours = _ours_cqr(models, X_cal, y_cal, concrete.X_test, 0.9, symmetric)
    assert np.isfinite(ours).all()
    reg = mapie_regression.ConformalizedQuantileRegressor(models, confidence_level=0.9, prefit=True)
    with pytest.raises(ValueError, match="Number of samples of the score is too low"):
        reg.conformalize(X_cal, y_cal).predict_interval(
            concrete.X_test, symmetric_correction=symmetric, allow_infinite_bounds=True
        )


# ---------------------------------------------------------------- 5. too small (n = 8 at 0.9)


def test_ours_too_small_calibration_set_gives_infinite_intervals(concrete):
    """Our reference behaviour at n = 8, 0.9 (rank 9 > 8): +-inf and a ConformalWarning that
    names the size needed, for the split estimator and both CQR variants."""
    X_cal, y_cal = concrete.calibration(8)
    with pytest.warns(
        ConformalWarning, match="has 8 points; confidence_level=0.9 needs at least 9"
    ):
        split = _ours(concrete.model, X_cal, y_cal, concrete.X_test, [0.9])
    assert np.isneginf(split[..., 0]).all() and np.isposinf(split[..., 1]).all()
    for symmetric in (True, False):
        with pytest.warns(ConformalWarning, match="has 8 points"):
            _, cqr = _ours_cqr(
                concrete.quantile_models[0.9], X_cal, y_cal, concrete.X_test, 0.9, symmetric
            )
        assert np.isneginf(cqr[:, 0]).all() and np.isposinf(cqr[:, 1]).all()


def test_crepes_too_small_calibration_set_returns_infinite_like_us(concrete):
    """crepes does not clamp to the largest score: at n = 8, 0.9 it warns and returns
    (-inf, inf), as we do (with or without sigmas)."""
    X_cal, y_cal = concrete.calibration(8)
    residuals, y_hat = (
        y_cal - concrete.model.predict(X_cal),
        concrete.model.predict(concrete.X_test),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConformalWarning)
        ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, [0.9])[:, 0]
    for sigmas in (None, np.ones(8)):
        with pytest.warns(UserWarning, match="too small"):
            peer = _crepes(
                residuals, y_hat, 0.9, sigmas=sigmas, test_sigmas=None if sigmas is None else 1.0
            )
        np.testing.assert_array_equal(peer, ours)


def test_mapie_too_small_symmetric_raises_even_with_allow_infinite_bounds(concrete):
    """MAPIE's symmetric path raises at n = 8, 0.9: by default from the ``n >= 1/a`` check, and
    with ``allow_infinite_bounds=True`` from the quantile itself, which the symmetric branch of
    ``BaseRegressionScore.get_bounds`` calls without ``unbounded=...``. It never returns the
    infinite interval we return (and never clamps)."""
    X_cal, y_cal = concrete.calibration(8)
    with pytest.raises(ValueError, match="Number of samples of the score is too low"):
        _mapie(concrete.model, X_cal, y_cal, concrete.X_test, [0.9])
    with pytest.raises(ValueError, match=r"calibration samples \(8\) is too low"):
        _mapie(concrete.model, X_cal, y_cal, concrete.X_test, [0.9], allow_infinite_bounds=True)


def test_mapie_too_small_asymmetric_with_allow_infinite_bounds_matches_us(concrete):
    """MAPIE's asymmetric path does pass ``unbounded`` on: at n = 8, 0.9 (one-sided rank
    ceil(0.95 * 9) = 9 > 8) ``allow_infinite_bounds=True`` gives +-inf, as we do; by default it
    raises (its check halves n: 8 // 2 = 4 < 1/a = 10)."""
    X_cal, y_cal = concrete.calibration(8)
    score = mapie_scores.AbsoluteConformityScore(sym=False)
    with pytest.raises(ValueError, match="Number of samples of the score is too low"):
        _mapie(concrete.model, X_cal, y_cal, concrete.X_test, [0.9], score)
    peer = _mapie(
        concrete.model, X_cal, y_cal, concrete.X_test, [0.9], score, allow_infinite_bounds=True
    )
    with pytest.warns(ConformalWarning):
        ours = _ours(concrete.model, X_cal, y_cal, concrete.X_test, [0.9], "signed")
    np.testing.assert_array_equal(peer, ours)


def test_mapie_cqr_too_small_raises_at_conformalize(concrete):
    """MAPIE's CQR refuses n = 8 at 0.9 as soon as ``conformalize`` is called."""
    X_cal, y_cal = concrete.calibration(8)
    reg = mapie_regression.ConformalizedQuantileRegressor(
        concrete.quantile_models[0.9], confidence_level=0.9, prefit=True
    )
    with pytest.raises(ValueError, match="Number of samples of the score is too low"):
        reg.conformalize(X_cal, y_cal)


# ---------------------------------------------------------------- our normalized floor


def test_normalized_with_frozen_difficulty_model_is_unit_invariant(concrete):
    """Expressing y in other units (MPa -> GPa) and refitting the same models on y / 1000
    scales the normalized intervals by 1 / 1000, as crepes does with the raw sigmas. (A floor
    fixed in absolute units once flattened every sigma here; the floor is now relative to the
    frozen difficulty model's mean prediction.)"""
    X, y = concrete.X, concrete.y / 1000.0
    order = np.random.default_rng(0).permutation(y.shape[0])
    train, cal, test = order[:500], order[500:830], order[830:]
    model = GradientBoostingRegressor(n_estimators=50, max_depth=3, random_state=0)
    model.fit(X[train], y[train])
    difficulty = GradientBoostingRegressor(n_estimators=30, max_depth=2, random_state=0)
    difficulty.fit(X[train], np.abs(y[train] - model.predict(X[train])))
    ours = _ours(
        model, X[cal], y[cal], X[test], [0.9], NormalizedScore(FrozenEstimator(difficulty))
    )[:, 0]
    peer = _crepes(
        y[cal] - model.predict(X[cal]),
        model.predict(X[test]),
        0.9,
        sigmas=difficulty.predict(X[cal]),
        test_sigmas=difficulty.predict(X[test]),
    )
    np.testing.assert_allclose(ours, peer, rtol=RTOL)
