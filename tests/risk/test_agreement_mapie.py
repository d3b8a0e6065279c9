"""Agreement with MAPIE 1.6 (mapie.risk_control) on the same probabilities.

MAPIE's multilabel sets are ``{j : p_j > t}``, shrinking in its threshold ``t``; ours are
``{j : p_j >= 1 - lambda}``, growing in ``lambda``. On MAPIE's own per-sample risk matrix, with
``lambda = 1 - t`` (columns reversed), the selected thresholds agree:

- CRC and RCPS with the Hoeffding and Bernstein bounds: MAPIE keeps the largest ``t`` whose
  smaller thresholds all have a bound ``< alpha``; we keep the smallest ``lambda`` whose bound is
  ``<= alpha`` (CRC) or from which all bounds are ``< alpha`` (RCPS). They differ only when a
  bound equals ``alpha`` exactly (not the case in these draws; asserted);
- the Waudby-Smith-Ramdas bound is a different statistic in MAPIE: it evaluates the
  betting wealth only at the values of its threshold grid (it reuses ``predict_params`` as the
  candidate risks) and adds the maxima over two halves of the data, we solve for the bound
  with ``brentq`` (asserted: at most 0.05 apart; 0.008 typically);
- Learn-then-Test: the Hoeffding-Bentkus p-values equal MAPIE's, and Bonferroni and
  fixed-sequence testing (MAPIE's ascending order = our ``start="first"``) reject the same
  hypotheses.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

mapie_rc = pytest.importorskip("mapie.risk_control")
methods = pytest.importorskip("mapie.risk_control.methods")

from conformal.risk import (  # noqa: E402
    conformal_risk_control,
    hoeffding_bentkus_pvalues,
    learn_then_test,
    rcps,
    risk_upper_confidence_bound,
)


def _data(seed, n=200, labels=5):
    rng = np.random.default_rng(seed)
    proba = rng.uniform(size=(n, labels))
    y = (rng.uniform(size=(n, labels)) < proba).astype(int)
    y[y.sum(axis=1) == 0, 0] = 1  # MAPIE needs at least one label per row
    return proba, y


def _mapie(proba, y, **kw):
    controller = mapie_rc.MultiLabelClassificationController(
        predict_function=lambda X: proba[np.asarray(X, dtype=int).ravel()], **kw
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller.calibrate(np.arange(len(proba))[:, None], y)
    return controller


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("alpha", [0.1, 0.2])
def test_crc_and_rcps_agree(seed, alpha):
    proba, y = _data(seed)
    t_grid = np.arange(0, 1, 0.01)
    grid = (1 - t_grid)[::-1]
    crc = _mapie(proba, y, risk="recall", method="crc", target_level=1 - alpha)
    losses = crc._risks[:, ::-1]
    assert not np.isclose(crc.r_hat_plus, alpha, rtol=0, atol=1e-12).any()
    ours = conformal_risk_control(losses, grid, alpha)
    np.testing.assert_allclose(1 - ours, crc.best_predict_param[0], atol=1e-12)
    # RCPS: MAPIE's bound and selection functions on the same risk matrix (the controller
    # calls exactly these after computing the risks)
    for bound in ("hoeffding", "bernstein", "wsr"):
        _, r_hat_plus = methods.get_r_hat_plus(crc._risks, t_grid, "rcps", bound, 0.1, 0.25)
        ucb = risk_upper_confidence_bound(losses, 0.1, method=bound)
        if bound == "wsr":
            # MAPIE evaluates the WSR wealth only at the grid values 0, 0.01, ... (and sums
            # the maxima of two halves of the data, not the maximum over all): within 0.05
            assert np.abs(ucb - r_hat_plus[::-1]).max() <= 0.05
            continue
        np.testing.assert_allclose(ucb, r_hat_plus[::-1])
        assert not np.isclose(r_hat_plus, alpha, rtol=0, atol=1e-12).any()
        best = methods.find_best_predict_param(t_grid, r_hat_plus, np.array([alpha]))
        lam = rcps(losses, grid, alpha, 0.1, method=bound)
        np.testing.assert_allclose(1 - lam, best[0], atol=1e-12)


@pytest.mark.parametrize("seed", range(2))
def test_ltt_pvalues_and_fwer_agree(seed):
    proba, y = _data(seed)
    t_grid = np.arange(0, 1, 0.01)
    losses = _mapie(proba, y, risk="recall", method="crc", target_level=0.8)._risks
    for alpha in (0.15, 0.3):
        ours = hoeffding_bentkus_pvalues(losses, alpha)
        theirs = methods.compute_hoeffding_bentkus_p_value(losses.mean(axis=0), len(losses), alpha)
        np.testing.assert_allclose(ours, theirs[:, 0], rtol=1e-10)
        for fwer in ("bonferroni", "fixed_sequence"):
            valid = learn_then_test(losses, alpha, 0.1, fwer=fwer, start="first")
            index = mapie_rc.control_fwer(theirs[:, 0], 0.1, fwer_method=fwer)
            np.testing.assert_array_equal(np.flatnonzero(valid), np.sort(index))
    assert t_grid.shape == (100,)
