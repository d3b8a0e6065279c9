"""The learner-free calibration layer: conformity scores in; thresholds, ranks, p-values out.

Nothing here knows about models. Estimators compute scores and compose a :class:`Calibrator`
(sorted once, queried with a per-call :class:`TestContext`); a user with scores of their own can
call :func:`conformal_quantile` directly.

Modules: ``_levels`` (the one level parser, exact ranks, the one too-few-points warning),
``_weights`` (weight arithmetic), ``_cells`` (Mondrian cells), ``_pvalues`` (the one p-value
formula), ``_calibrator`` (:class:`Calibrator`, :class:`TestContext`), ``_quantile``
(:func:`conformal_quantile`), ``_plus`` (cross-conformal plus bounds), ``_distribution``
(conformal predictive distributions), ``_venn_abers`` (the Venn-ABERS calibrator).
"""

from ._calibrator import Calibrator, TestContext
from ._cells import MondrianCells, plain
from ._distribution import ConformalPredictiveDistribution
from ._levels import (
    Level,
    conformal_rank,
    exact_level,
    min_calibration_size,
    one_sided_level,
    parse_levels,
    quantile_rank,
    warn_too_few,
)
from ._plus import PlusCalibration
from ._quantile import conformal_quantile
from ._venn_abers import VennAbersCalibrator

__all__ = [
    "Calibrator",
    "ConformalPredictiveDistribution",
    "Level",
    "MondrianCells",
    "PlusCalibration",
    "TestContext",
    "VennAbersCalibrator",
    "conformal_quantile",
    "conformal_rank",
    "exact_level",
    "min_calibration_size",
    "one_sided_level",
    "parse_levels",
    "plain",
    "quantile_rank",
    "warn_too_few",
]
