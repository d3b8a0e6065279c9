"""Metrics for prediction intervals: coverage, width, interval and quantile scores, reports;
the mean CRPS of step predictive distributions (:func:`mean_crps`); and metrics for prediction
sets of classifiers: :func:`set_coverage`, :func:`mean_set_size`, :func:`empty_set_fraction`,
:func:`singleton_fraction`, :func:`coverage_by_class`, :func:`class_coverage_gap`,
:func:`coverage_by_set_size` and the report :func:`evaluate_sets` (sets are boolean ``(n,
n_classes)`` or ``(n, n_levels, n_classes)`` arrays as ``predict_set`` returns them, columns in
``classes`` order); and the expected calibration error of predicted probabilities
(:func:`expected_calibration_error`); coverage by missingness (:func:`coverage_by_mask`, by the
number of missing values or the mask pattern; :func:`missing_groups` gives the labels for
``evaluate_intervals(..., groups=)``).

Every function takes targets ``y`` of shape ``(n,)`` and intervals shaped as
``predict_interval`` returns them: ``(n, 2)`` rows of ``[lower, upper]``, or ``(n, L, 2)`` with one
interval per confidence level. The estimators' shape rule carries over: ``(n, 2)`` intervals give
a float, ``(n, L, 2)`` intervals an array of shape ``(L,)``, one value per level.

Conventions:

- an interval covers ``y`` when ``lower <= y <= upper`` (both ends included);
- infinite bounds are kept, never dropped: an unbounded interval covers every ``y`` and has
  infinite width and infinite interval score, so a mean over intervals with one infinite interval
  is infinite (see :attr:`IntervalReport.infinite_fraction` for how many there are);
  ``[inf, inf]`` and every other interval with ``lower == upper`` has width 0;
- an interval with ``lower > upper`` is the empty set (conformalized quantile regression returns
  one when its correction is negative): it covers nothing, has width 0, and its interval score is
  ``(2 / a) * ((lower - y)_+ + (y - upper)_+)``, the width term 0 plus both miss terms (see
  :func:`interval_score`); its bounds are never swapped;
- ``y`` must be finite; NaN bounds are errors;
- inputs are never modified; lists, NumPy arrays and pandas Series / DataFrames are accepted.

pandas is needed only by :meth:`IntervalReport.to_frame` and :meth:`SetReport.to_frame` and is
imported there.
"""

from ._interval_report import IntervalReport, IntervalRow, evaluate_intervals
from ._intervals import GroupCoverage, coverage, coverage_by_group, mean_width
from ._missing import coverage_by_mask, missing_groups
from ._probability import expected_calibration_error
from ._quantile import mean_pinball_loss, quantile_weighted_interval_score
from ._scorers import (
    coverage_width_scorer,
    crps_scorer,
    interval_scorer,
    set_size_scorer,
    wis_scorer,
)
from ._scoring_rules import (
    crps,
    interval_score,
    mean_crps,
    pinball_loss,
    weighted_interval_score,
)
from ._set_report import SetReport, SetRow, evaluate_sets
from ._sets import (
    SetCoverage,
    class_coverage_gap,
    coverage_by_class,
    coverage_by_set_size,
    empty_set_fraction,
    mean_set_size,
    set_coverage,
    singleton_fraction,
)

__all__ = [
    "GroupCoverage",
    "IntervalReport",
    "IntervalRow",
    "SetCoverage",
    "SetReport",
    "SetRow",
    "class_coverage_gap",
    "coverage",
    "coverage_by_class",
    "coverage_by_group",
    "coverage_by_mask",
    "coverage_by_set_size",
    "coverage_width_scorer",
    "crps",
    "crps_scorer",
    "empty_set_fraction",
    "evaluate_intervals",
    "evaluate_sets",
    "expected_calibration_error",
    "interval_score",
    "interval_scorer",
    "mean_crps",
    "mean_pinball_loss",
    "mean_set_size",
    "mean_width",
    "missing_groups",
    "pinball_loss",
    "quantile_weighted_interval_score",
    "set_coverage",
    "set_size_scorer",
    "singleton_fraction",
    "weighted_interval_score",
    "wis_scorer",
]
