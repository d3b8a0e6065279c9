"""Benchmark conformal methods: methods x datasets x seeds -> a tidy results table.

A *method* is a named factory ``random_state -> estimator`` kept in a registry; every estimator
it builds has ``fit`` and ``predict_interval`` (regression) or ``predict_set``
(classification). :func:`run_benchmark` splits each dataset into a fit part and a test part with
each seed, fits a fresh estimator (built with the same seed, so its own training/calibration
split is reproducible too) on the fit part, and scores its intervals or sets on the test part.
:func:`summarize` averages the rows over seeds, :func:`format_table` and :func:`format_summary`
print them and :func:`write_csv` saves them. :data:`TASK_METRICS` says which measurements each
task's rows carry. The command line runs all of it: ``python -m conformal benchmark``.

Adding a method
---------------
A built-in method is one decorated factory in ``conformal/benchmark/_methods.py``; your own is
the same anywhere, after importing :func:`register_method`::

    from sklearn.linear_model import LinearRegression
    from conformal import SplitConformalRegressor
    from conformal.benchmark import register_method

    @register_method("split-linear", description="split CP around OLS")
    def split_linear(random_state):
        return SplitConformalRegressor(LinearRegression(), random_state=random_state)

Pass ``task="classification"`` for a method that predicts sets, ``default=True`` to put it in
the default set, and ``needs_level=True`` when the estimator's ``fit`` depends on the level it is
built with (as CQR's does): the factory is then called as
``factory(random_state, confidence_level)``.

Examples
--------
>>> from conformal.benchmark import run_benchmark, summarize, format_table
>>> rows = run_benchmark(["yacht"], ["split-absolute"], seeds=2, progress=False)
>>> len(rows), sorted(rows[0])[:4]
(2, ['confidence_level', 'coverage', 'dataset', 'fit_seconds'])
>>> summary = summarize(rows)
>>> summary[0]["n_seeds"], summary[0]["method"]
(2, 'split-absolute')
"""

# Importing the methods modules registers the built-in methods, one module per family.
from . import (  # noqa: F401
    _methods,
    _methods_batch,
    _methods_missing,
    _methods_quantile,
    _methods_risk,
)
from ._registry import Method, get_method, list_methods, register_method
from ._runner import run_benchmark
from ._tables import (
    METRICS,
    RAW_COLUMNS,
    TASK_METRICS,
    format_summary,
    format_table,
    summarize,
    write_csv,
)

__all__ = [
    "METRICS",
    "RAW_COLUMNS",
    "TASK_METRICS",
    "Method",
    "format_summary",
    "format_table",
    "get_method",
    "list_methods",
    "register_method",
    "run_benchmark",
    "summarize",
    "write_csv",
]
