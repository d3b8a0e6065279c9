"""Benchmark conformal methods: methods x datasets x seeds -> a tidy results table.

A *method* is a named factory ``random_state -> estimator`` kept in a registry; every estimator
it builds has ``fit`` and ``predict_interval``. :func:`run_benchmark` splits each dataset into a
fit part and a test part with each seed, fits a fresh estimator (built with the same seed, so its
own training/calibration split is reproducible too) on the fit part, and scores its intervals on
the test part. :func:`summarize` averages the rows over seeds, :func:`format_table` prints them
and :func:`write_csv` saves them. The command line runs all of it:
``python -m conformal benchmark``.

Add a method with :func:`register_method`, as a decorator on its factory::

    from sklearn.linear_model import LinearRegression
    from conformal import SplitConformalRegressor
    from conformal.benchmark import register_method

    @register_method("split-linear", description="split CP around OLS")
    def split_linear(random_state):
        return SplitConformalRegressor(LinearRegression(), random_state=random_state)

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

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split

from .classification import CrossConformalClassifier, SplitConformalClassifier
from .datasets import describe_dataset, list_datasets, load_dataset
from .metrics import coverage, coverage_by_class, mean_set_size, mean_width, set_coverage
from .regression import (
    ConformalizedQuantileRegressor,
    CrossConformalizedQuantileRegressor,
    CrossConformalRegressor,
    JackknifeAfterBootstrapRegressor,
    SplitConformalRegressor,
)
from .scores import NormalizedScore

__all__ = [
    "RAW_COLUMNS",
    "Method",
    "format_table",
    "get_method",
    "list_methods",
    "register_method",
    "run_benchmark",
    "summarize",
    "write_csv",
]

Factory = Callable[[int], Any]

#: The columns of a row of :func:`run_benchmark`, in order.
RAW_COLUMNS = (
    "dataset",
    "method",
    "seed",
    "n_train",
    "n_test",
    "confidence_level",
    "coverage",
    "mean_width",
    "normalized_width",
    "fit_seconds",
    "predict_seconds",
)
#: The per-seed measurements of each task, which :func:`summarize` averages.
TASK_METRICS = {
    "regression": ("coverage", "mean_width", "normalized_width", "fit_seconds", "predict_seconds"),
    "classification": (
        "coverage",
        "mean_set_size",
        "class_coverage_gap",
        "worst_class_coverage",
        "fit_seconds",
        "predict_seconds",
    ),
}
METRICS = tuple(dict.fromkeys(m for metrics in TASK_METRICS.values() for m in metrics))


@dataclass(frozen=True)
class Method:
    """A registered benchmark method.

    Attributes
    ----------
    name : str
        The name used on the command line and in result tables.
    factory : callable
        ``factory(random_state) -> estimator``, an unfitted estimator with ``predict_interval``.
    description : str
        One line saying what the method is (written into ``summary.md``).
    task : str
        ``"regression"``; the kind of data and scoring the method needs.
    default : bool
        Part of the default set that ``run_benchmark(methods=None)`` and the CLI run.
    """

    name: str
    factory: Factory
    description: str = ""
    task: str = "regression"
    default: bool = False


def _evaluate_regression(
    estimator: Any,
    X_fit: Any,
    y_fit: np.ndarray,
    X_test: Any,
    y_test: np.ndarray,
    confidence_level: float,
) -> dict[str, Any]:
    """Fit, predict and score one regression estimator."""
    if "confidence_level" in estimator.get_params(deep=False):
        # Set at construction: CQR fits its quantile models for this level.
        estimator.set_params(confidence_level=confidence_level)
    start = time.perf_counter()
    estimator.fit(X_fit, y_fit)
    fitted = time.perf_counter()
    intervals = np.asarray(estimator.predict_interval(X_test, confidence_level=confidence_level))
    predicted = time.perf_counter()
    width = float(mean_width(intervals))
    spread = float(np.std(y_test))
    return {
        "coverage": float(coverage(y_test, intervals)),
        "mean_width": width,
        "normalized_width": width / spread if spread > 0 else math.nan,
        "fit_seconds": fitted - start,
        "predict_seconds": predicted - fitted,
    }


def _evaluate_classification(
    estimator: Any,
    X_fit: Any,
    y_fit: np.ndarray,
    X_test: Any,
    y_test: np.ndarray,
    confidence_level: float,
) -> dict[str, Any]:
    """Fit, predict sets and score one classification estimator.

    ``class_coverage_gap`` is the mean over classes of ``|coverage within the class - level|``
    (the CovGap of Ding et al. 2023), ``worst_class_coverage`` the smallest class coverage.
    """
    start = time.perf_counter()
    estimator.fit(X_fit, y_fit)
    fitted = time.perf_counter()
    sets = np.asarray(estimator.predict_set(X_test, confidence_level=confidence_level))
    predicted = time.perf_counter()
    classes = estimator.classes_
    by_class = [float(c.coverage) for c in coverage_by_class(y_test, sets, classes).values()]
    return {
        "coverage": float(set_coverage(y_test, sets, classes)),
        "mean_set_size": float(mean_set_size(sets)),
        "class_coverage_gap": float(np.mean(np.abs(np.array(by_class) - confidence_level))),
        "worst_class_coverage": min(by_class),
        "fit_seconds": fitted - start,
        "predict_seconds": predicted - fitted,
    }


#: task -> ``evaluate(estimator, X_fit, y_fit, X_test, y_test, confidence_level)``, which fits,
#: predicts and returns the measurements of one row. A new kind of task adds its evaluator here.
_EVALUATORS: dict[str, Callable[..., dict[str, Any]]] = {
    "regression": _evaluate_regression,
    "classification": _evaluate_classification,
}


_REGISTRY: dict[str, Method] = {}


def register_method(
    name: str,
    factory: Factory | None = None,
    *,
    description: str = "",
    task: str = "regression",
    default: bool = False,
    replace: bool = False,
) -> Any:
    """Add a method to the registry; usable as a decorator or as a plain call.

    Parameters
    ----------
    name : str
        Unique name of the method.
    factory : callable, default=None
        ``factory(random_state) -> estimator``. ``None`` returns a decorator taking it.
    description : str, default=""
        One line for reports.
    task : {"regression", "classification"}, default="regression"
        Kind of data the method runs on: a method only runs on datasets of its task.
    default : bool, default=False
        Whether the method is in the default set.
    replace : bool, default=False
        Allow overwriting a method of the same name.

    Returns
    -------
    factory or decorator
        The factory, unchanged (so decorated functions stay usable).
    """
    if task not in _EVALUATORS:
        raise ValueError(f"Unknown task {task!r}. Valid tasks are {sorted(_EVALUATORS)}.")

    def add(func: Factory) -> Factory:
        if name in _REGISTRY and not replace:
            raise ValueError(
                f"A benchmark method named {name!r} is already registered; pass replace=True "
                "to overwrite it or choose another name."
            )
        _REGISTRY[name] = Method(name, func, description, task, default)
        return func

    return add if factory is None else add(factory)


def list_methods(*, default_only: bool = False) -> list[str]:
    """Names of the registered methods, in registration order."""
    return [m.name for m in _REGISTRY.values() if m.default or not default_only]


def get_method(name: str) -> Method:
    """The registered method called ``name``; a ``ValueError`` lists the valid names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"Unknown benchmark method {name!r}. Valid names are {list_methods()}."
        ) from None


# --------------------------------------------------------------------------------------------
# The built-in methods. All use scikit-learn's HistGradientBoostingRegressor with its defaults
# (100 boosting iterations); its random_state is set too, because it draws a validation split
# for early stopping on data sets of more than 10,000 rows.


def _hgb(random_state: int, **params: Any) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(random_state=random_state, **params)


@register_method(
    "split-absolute",
    default=True,
    description="split CP, |y - f(x)| around HistGradientBoostingRegressor",
)
def _split_absolute(random_state: int) -> SplitConformalRegressor:
    return SplitConformalRegressor(
        _hgb(random_state), conformity_score="absolute", random_state=random_state
    )


@register_method(
    "split-normalized",
    default=True,
    description=(
        "split CP, |y - f(x)| / sigma(x) around HistGradientBoostingRegressor; sigma is a "
        "shallower HistGradientBoostingRegressor(max_iter=50, max_leaf_nodes=15, "
        "min_samples_leaf=40) fitted on 3-fold out-of-fold absolute residuals"
    ),
)
def _split_normalized(random_state: int) -> SplitConformalRegressor:
    difficulty = _hgb(random_state, max_iter=50, max_leaf_nodes=15, min_samples_leaf=40)
    return SplitConformalRegressor(
        _hgb(random_state),
        conformity_score=NormalizedScore(difficulty, cv=3),
        random_state=random_state,
    )


@register_method(
    "cqr",
    default=True,
    description="conformalized quantile regression, HistGradientBoostingRegressor(loss='quantile')",
)
def _cqr(random_state: int) -> ConformalizedQuantileRegressor:
    return ConformalizedQuantileRegressor(
        _hgb(random_state, loss="quantile"), random_state=random_state
    )


@register_method(
    "split-signed",
    description="split CP, signed residuals y - f(x), each tail at level 1 - a/2",
)
def _split_signed(random_state: int) -> SplitConformalRegressor:
    return SplitConformalRegressor(
        _hgb(random_state), conformity_score="signed", random_state=random_state
    )


@register_method(
    "cqr-asymmetric",
    description="CQR with each tail calibrated separately at level 1 - a/2",
)
def _cqr_asymmetric(random_state: int) -> ConformalizedQuantileRegressor:
    return ConformalizedQuantileRegressor(
        _hgb(random_state, loss="quantile"), symmetric=False, random_state=random_state
    )


@register_method(
    "cv-plus",
    description="CV+ (Barber et al. 2021), 5 folds of HistGradientBoostingRegressor",
)
def _cv_plus(random_state: int) -> CrossConformalRegressor:
    return CrossConformalRegressor(
        _hgb(random_state), method="plus", cv=5, random_state=random_state
    )


@register_method(
    "cv-minmax",
    description="CV-minmax, 5 folds of HistGradientBoostingRegressor (guarantee 1 - a)",
)
def _cv_minmax(random_state: int) -> CrossConformalRegressor:
    return CrossConformalRegressor(
        _hgb(random_state), method="minmax", cv=5, random_state=random_state
    )


@register_method(
    "jackknife-after-bootstrap",
    description=(
        "jackknife+-after-bootstrap (Kim, Xu, Barber 2020), 20 bootstrap "
        "HistGradientBoostingRegressor models, mean aggregation"
    ),
)
def _jackknife_after_bootstrap(random_state: int) -> JackknifeAfterBootstrapRegressor:
    return JackknifeAfterBootstrapRegressor(
        _hgb(random_state), n_resamplings=20, random_state=random_state
    )


@register_method(
    "cv-plus-cqr",
    description="CV+ with CQR scores, 5 folds of HistGradientBoostingRegressor(loss='quantile')",
)
def _cv_plus_cqr(random_state: int) -> CrossConformalizedQuantileRegressor:
    return CrossConformalizedQuantileRegressor(
        _hgb(random_state, loss="quantile"), cv=5, random_state=random_state
    )


# Classification: HistGradientBoostingClassifier with its defaults, one method per score.


def _hgb_classifier(random_state: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(random_state=random_state)


def _register_split_classifier(name: str, description: str, **params: Any) -> None:
    def factory(random_state: int) -> SplitConformalClassifier:
        return SplitConformalClassifier(
            _hgb_classifier(random_state), random_state=random_state, **params
        )

    register_method(name, factory, description=description, task="classification")


_register_split_classifier(
    "split-lac", "split CP, LAC score 1 - p_y(x), HistGradientBoostingClassifier"
)
_register_split_classifier("split-aps", "split CP, randomized APS score", conformity_score="aps")
_register_split_classifier(
    "split-raps",
    "split CP, randomized RAPS score (k_reg and lambda tuned on a slice of the calibration set)",
    conformity_score="raps",
)
_register_split_classifier("split-top-k", "split CP, top-k score", conformity_score="top_k")
_register_split_classifier(
    "split-lac-class-conditional",
    "split CP, LAC score calibrated within each class (Mondrian by label)",
    class_conditional=True,
)


@register_method(
    "cross-lac",
    task="classification",
    description="cross-conformal LAC, 5 folds of HistGradientBoostingClassifier",
)
def _cross_lac(random_state: int) -> CrossConformalClassifier:
    return CrossConformalClassifier(_hgb_classifier(random_state), random_state=random_state)


# --------------------------------------------------------------------------------------------
# Running


def _resolve_datasets(datasets: Any, tasks: set[str]) -> dict[str, tuple[Any, str | None]]:
    """Names -> (a loader of ``(X, y)``, the dataset's task); a mapping brings its own data
    (task ``None``: every chosen method runs on it). ``None`` means every bundled dataset of
    the chosen methods' tasks."""
    if datasets is None:
        datasets = [name for task in sorted(tasks) for name in list_datasets(task=task)]
    if isinstance(datasets, str):
        datasets = [datasets]
    if isinstance(datasets, Mapping):
        return {str(name): ((lambda data=data: data), None) for name, data in datasets.items()}
    valid = list_datasets(task=None)
    unknown = [name for name in datasets if name not in valid]
    if unknown:
        raise ValueError(f"Unknown dataset(s) {unknown}. Valid names are {valid}.")
    return {
        name: ((lambda name=name: load_dataset(name)), describe_dataset(name)["task"])
        for name in dict.fromkeys(datasets)
    }


def _resolve_methods(methods: Any) -> list[Method]:
    if methods is None:
        return [_REGISTRY[name] for name in list_methods(default_only=True)]
    if isinstance(methods, str):
        methods = [methods]
    if isinstance(methods, Mapping):
        return [Method(str(name), factory) for name, factory in methods.items()]
    unknown = [name for name in methods if name not in _REGISTRY]
    if unknown:
        raise ValueError(
            f"Unknown benchmark method(s) {unknown}. Valid names are {list_methods()}."
        )
    return [_REGISTRY[name] for name in dict.fromkeys(methods)]


def _progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar when asked for and tqdm (the optional ``progress`` extra) is installed."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="benchmark", unit="fit")


def _warm_up(method: Method, confidence_level: float) -> None:
    """One untimed fit on small synthetic data, so that loading the compiled kernels and
    starting thread pools is not counted in the first timed fit."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y: np.ndarray = X[:, 0] + rng.normal(size=300)
    if method.task == "classification":
        y = np.digitize(y, [-0.5, 0.5]).astype(np.int64)  # three classes
    _EVALUATORS[method.task](
        method.factory(0), X[:240], y[:240], X[240:], y[240:], confidence_level
    )


def run_benchmark(
    datasets: Sequence[str] | Mapping[str, tuple[Any, Any]] | None = None,
    methods: Sequence[str] | Mapping[str, Factory] | None = None,
    seeds: int | Iterable[int] = 3,
    confidence_level: float = 0.9,
    test_size: float = 0.2,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Fit and score each method on each dataset with each seed.

    For every seed the dataset is split into a fit part and a test part
    (``train_test_split(test_size=test_size, random_state=seed)``); the method's factory builds
    the estimator with ``random_state=seed``, so the estimator's own training/calibration split
    of the fit part uses the same seed. All methods see the same split for a given seed.

    Parameters
    ----------
    datasets : sequence of str or mapping of str to (X, y), default=None
        Names of bundled datasets (:func:`conformal.datasets.list_datasets`; the default is all
        of them of the chosen methods' tasks), or your own data by name. A bundled dataset runs
        the chosen methods of its task; your own data runs all of them.
    methods : sequence of str or mapping of str to factory, default=None
        Registered method names (:func:`list_methods`; ``None`` is the default set), or
        ``{name: factory}`` for methods not in the registry.
    seeds : int or iterable of int, default=3
        An int ``n`` means seeds ``0, ..., n - 1``.
    confidence_level : float, default=0.9
        Target coverage.
    test_size : float, default=0.2
        Fraction of each dataset held out for testing.
    progress : bool, default=True
        Show a progress bar (needs tqdm; without it, runs silently).

    Returns
    -------
    rows : list of dict
        One row per (dataset, method, seed) of the same task. Regression rows have the keys
        of :data:`RAW_COLUMNS`; classification rows replace the widths with ``mean_set_size``,
        ``class_coverage_gap`` (mean over classes of ``|class coverage - level|``) and
        ``worst_class_coverage``, and ``coverage`` is that of the sets. ``n_train``
        is the number of rows given to ``fit`` (training plus calibration), ``coverage`` the
        fraction of test targets inside their interval, ``normalized_width`` the mean width over
        the standard deviation of the test targets, and the two timings are wall-clock seconds.
    """
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(
            f"confidence_level must be a float in the range (0.0, 1.0). Got {confidence_level!r}."
        )
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a float in the range (0.0, 1.0). Got {test_size!r}.")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("seeds must give at least one seed; got none.")
    chosen = _resolve_methods(methods)
    for method in chosen:
        if method.task not in _EVALUATORS:
            raise ValueError(f"Method {method.name!r} has unknown task {method.task!r}.")
    loaders = _resolve_datasets(datasets, {m.task for m in chosen})
    # Each dataset runs the methods of its task (all methods on data passed in by the caller).
    pairs = {
        name: [m for m in chosen if task is None or m.task == task]
        for name, (_, task) in loaders.items()
    }
    for method in {m.name: m for runs in pairs.values() for m in runs}.values():
        _warm_up(method, confidence_level)
    bar = _progress_bar(sum(len(runs) for runs in pairs.values()) * len(seed_list), progress)
    rows: list[dict[str, Any]] = []
    try:
        for dataset, (load, task) in loaders.items():
            if not pairs[dataset]:
                continue
            X, y = load()
            X = np.asarray(X)
            y = np.asarray(y) if task == "classification" else np.asarray(y, dtype=np.float64)
            stratify = y if task == "classification" else None
            for seed in seed_list:
                X_fit, X_test, y_fit, y_test = train_test_split(
                    X, y, test_size=test_size, random_state=seed, stratify=stratify
                )
                for method in pairs[dataset]:
                    if bar is not None:
                        bar.set_postfix_str(f"{dataset} {method.name} seed={seed}")
                    scores = _EVALUATORS[method.task](
                        method.factory(seed), X_fit, y_fit, X_test, y_test, confidence_level
                    )
                    rows.append(
                        {
                            "dataset": dataset,
                            "method": method.name,
                            "seed": seed,
                            "n_train": len(y_fit),
                            "n_test": len(y_test),
                            "confidence_level": float(confidence_level),
                            **scores,
                        }
                    )
                    if bar is not None:
                        bar.update()
    finally:
        if bar is not None:
            bar.close()
    dataset_order = {name: i for i, name in enumerate(loaders)}
    method_order = {m.name: i for i, m in enumerate(chosen)}
    rows.sort(key=lambda r: (dataset_order[r["dataset"]], method_order[r["method"]], r["seed"]))
    return rows


# --------------------------------------------------------------------------------------------
# Reporting


def summarize(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds for each (dataset, method, confidence level).

    Returns rows with ``dataset``, ``method``, ``confidence_level``, ``n_seeds``, ``n_train``,
    ``n_test`` and, for each measurement ``m`` (coverage, widths, timings), ``m_mean`` and
    ``m_std`` (sample standard deviation; NaN with a single seed). Groups keep the order in which
    they first appear.
    """
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        key = (row["dataset"], row["method"], row["confidence_level"])
        groups.setdefault(key, []).append(row)
    out: list[dict[str, Any]] = []
    for (dataset, method, level), members in groups.items():
        summary: dict[str, Any] = {
            "dataset": dataset,
            "method": method,
            "confidence_level": level,
            "n_seeds": len(members),
            "n_train": members[0]["n_train"],
            "n_test": members[0]["n_test"],
        }
        for metric in METRICS:
            if metric not in members[0]:
                continue
            values = np.array([float(r[metric]) for r in members])
            with np.errstate(invalid="ignore"):  # inf - inf in the std of infinite widths
                summary[f"{metric}_mean"] = float(np.mean(values))
                summary[f"{metric}_std"] = (
                    float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
                )
        out.append(summary)
    return out


_FORMATS = {
    "coverage": ".3f",
    "confidence_level": ".3g",
    "fit_seconds": ".2f",
    "predict_seconds": ".3f",
}


def _format_value(column: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (float, np.floating)):
        return str(value)
    return format(float(value), _FORMATS.get(column, ".4g"))


def _cell(row: Mapping[str, Any], column: str) -> str:
    """``column`` as text; a pair ``column_mean`` / ``column_std`` becomes ``mean ± std``."""
    if column in row:
        return _format_value(column, row[column])
    mean = row.get(f"{column}_mean")
    if mean is None:
        return ""
    text = _format_value(column, mean)
    std = row.get(f"{column}_std")
    if std is not None and not math.isnan(float(std)):
        # Two significant digits are all a standard deviation over a few seeds can support.
        spread = _format_value(column, std) if column in _FORMATS else format(float(std), ".2g")
        text += f" ± {spread}"
    return text


def _default_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        for key in row:
            base = key.removesuffix("_mean").removesuffix("_std")
            paired = base != key and f"{base}_mean" in row and f"{base}_std" in row
            columns[base if paired else key] = None
    return list(columns)


def format_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    markdown: bool = False,
) -> str:
    """Rows as an aligned text table (or a Markdown table).

    Parameters
    ----------
    rows : sequence of dict
        Raw rows of :func:`run_benchmark` or summary rows of :func:`summarize`.
    columns : sequence of str, default=None
        Columns to show, in order; ``None`` shows all. In summary rows a name ``m`` shows
        ``m_mean ± m_std``.
    markdown : bool, default=False
        A GitHub-flavoured Markdown table instead of plain text.

    Returns
    -------
    str
        Text columns left-aligned, numbers right-aligned.

    Examples
    --------
    >>> rows = [{"method": "cqr", "coverage": 0.9012}, {"method": "x", "coverage": 1.0}]
    >>> print(format_table(rows))
    method  coverage
    ------  --------
    cqr        0.901
    x          1.000
    """
    rows = list(rows)
    columns = list(columns) if columns is not None else _default_columns(rows)
    cells = [[_cell(row, c) for c in columns] for row in rows]
    numeric = [
        all(_is_number(row.get(c, row.get(f"{c}_mean"))) for row in rows) and bool(rows)
        for c in columns
    ]
    widths = [max([len(c)] + [len(line[j]) for line in cells]) for j, c in enumerate(columns)]

    def line(values: Sequence[str], fill: str = " ") -> str:
        parts = [
            v.rjust(w, fill) if num else v.ljust(w, fill)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return ("| " + " | ".join(parts) + " |") if markdown else "  ".join(parts).rstrip()

    rule = [
        ("-" * (w - 1) + ":") if num and markdown else "-" * w
        for w, num in zip(widths, numeric, strict=True)
    ]
    lines = [line(columns), line(rule)] + [line(values) for values in cells]
    return "\n".join(lines)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write rows to a CSV file (columns in first-seen order; parent folders are created).

    Floats are written in full (round-trip) precision. Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return path
