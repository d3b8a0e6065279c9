"""Running a benchmark: resolve names, warm up, then fit, predict and score every run."""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from sklearn.model_selection import train_test_split

from ..datasets import describe_dataset, list_datasets, load_dataset
from ..metrics import (
    class_coverage_gap,
    coverage,
    coverage_by_class,
    mean_set_size,
    mean_width,
    set_coverage,
)
from ._methods_batch import predict_batches, score_batches
from ._methods_missing import predict_with_masks, score_by_mask
from ._methods_quantile import predict_quantile_grid, score_quantiles
from ._methods_risk import predict_risk_intervals, score_risk
from ._registry import Factory, Method, get_method, list_methods
from ._tables import TASK_METRICS


def _predict_intervals(estimator: Any, X: Any, confidence_level: float) -> np.ndarray:
    return np.asarray(estimator.predict_interval(X, confidence_level=confidence_level))


def _score_intervals(
    estimator: Any, y: np.ndarray, intervals: np.ndarray, confidence_level: float
) -> dict[str, float]:
    """``normalized_width`` is the mean width over the standard deviation of ``y``."""
    width = float(mean_width(intervals))
    spread = float(np.std(y))
    return {
        "coverage": float(coverage(y, intervals)),
        "mean_width": width,
        "normalized_width": width / spread if spread > 0 else math.nan,
    }


def _predict_sets(estimator: Any, X: Any, confidence_level: float) -> np.ndarray:
    return np.asarray(estimator.predict_set(X, confidence_level=confidence_level))


def _score_sets(
    estimator: Any, y: np.ndarray, sets: np.ndarray, confidence_level: float
) -> dict[str, float]:
    """``worst_class_coverage`` is the smallest coverage within a class."""
    classes = estimator.classes_
    return {
        "coverage": float(set_coverage(y, sets, classes)),
        "mean_set_size": float(mean_set_size(sets)),
        "class_coverage_gap": float(
            class_coverage_gap(y, sets, classes, confidence_level=confidence_level)
        ),
        "worst_class_coverage": min(
            float(c.coverage) for c in coverage_by_class(y, sets, classes).values()
        ),
    }


class _Evaluator(NamedTuple):
    """How a task predicts (timed) and scores (untimed) a fitted estimator on test data."""

    predict: Callable[[Any, Any, float], np.ndarray]
    score: Callable[[Any, np.ndarray, np.ndarray, float], dict[str, float]]


#: task -> its evaluator. A new kind of task adds one here and its columns to ``TASK_METRICS``.
_EVALUATORS: dict[str, _Evaluator] = {
    "regression": _Evaluator(_predict_intervals, _score_intervals),
    "classification": _Evaluator(_predict_sets, _score_sets),
    "missing": _Evaluator(predict_with_masks, score_by_mask),
    "batch": _Evaluator(predict_batches, score_batches),
    "risk": _Evaluator(predict_risk_intervals, score_risk),
    "quantile": _Evaluator(predict_quantile_grid, score_quantiles),
}

#: A task whose methods run on the bundled datasets of another task (default: its own).
_DATA_TASK: dict[str, str] = {
    "batch": "regression",
    "risk": "regression",
    "quantile": "regression",
}


def data_task(task: str) -> str:
    """The task of the bundled datasets that the methods of ``task`` run on."""
    return _DATA_TASK.get(task, task)


def _evaluate(
    task: str,
    estimator: Any,
    X_fit: Any,
    y_fit: np.ndarray,
    X_test: Any,
    y_test: np.ndarray,
    confidence_level: float,
) -> dict[str, Any]:
    """Fit, predict and score one estimator: the measurements of one row, timings last."""
    if task == "timeseries":
        return _evaluate_sequential(estimator, X_fit, y_fit, X_test, y_test, confidence_level)
    evaluator = _EVALUATORS[task]
    start = time.perf_counter()
    estimator.fit(X_fit, y_fit)
    fitted = time.perf_counter()
    prediction = evaluator.predict(estimator, X_test, confidence_level)
    predicted = time.perf_counter()
    return {
        **evaluator.score(estimator, y_test, prediction, confidence_level),
        "fit_seconds": fitted - start,
        "predict_seconds": predicted - fitted,
    }


#: Time points of a time-series test period at most: the online methods update after each one.
MAX_SEQUENTIAL_TEST = 2000
#: Windows of the test period for ``worst_window_coverage``, and refits of the static methods.
N_WINDOWS = 10


def _sequential_split(
    X: Any, y: np.ndarray, test_size: float
) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """Time-ordered data: the last ``test_size`` of the rows (at most
    :data:`MAX_SEQUENTIAL_TEST`) are the test period; never shuffled."""
    n_test = min(int(np.ceil(test_size * len(y))), MAX_SEQUENTIAL_TEST)
    split = len(y) - n_test
    return X[:split], X[split:], y[:split], y[split:]


def _evaluate_sequential(
    estimator: Any,
    X_fit: Any,
    y_fit: np.ndarray,
    X_test: Any,
    y_test: np.ndarray,
    confidence_level: float,
) -> dict[str, Any]:
    """Walk forward through the test period, as a deployed model would.

    An online estimator (with ``partial_fit``) predicts each time point's interval and then
    learns its outcome, one point at a time. A static estimator predicts the test period in
    :data:`N_WINDOWS` consecutive blocks and is refitted on every row seen before each block.
    ``worst_window_coverage`` is the smallest coverage over those blocks: drift shows there.
    """
    start = time.perf_counter()
    estimator.fit(X_fit, y_fit)
    fitted = time.perf_counter()
    n = len(y_test)
    intervals = np.empty((n, 2))
    if hasattr(estimator, "partial_fit"):
        for t in range(n):
            intervals[t] = estimator.predict_interval(X_test[t : t + 1], confidence_level)[0]
            estimator.partial_fit(X_test[t : t + 1], y_test[t : t + 1])
    else:
        for block in np.array_split(np.arange(n), N_WINDOWS):
            if block.size == 0:
                continue
            if block[0] > 0:
                seen = block[0]
                estimator.fit(
                    np.concatenate([X_fit, X_test[:seen]]),
                    np.concatenate([y_fit, y_test[:seen]]),
                )
            intervals[block] = estimator.predict_interval(X_test[block], confidence_level)
    predicted = time.perf_counter()
    scores = _score_intervals(estimator, y_test, intervals, confidence_level)
    inside = (intervals[:, 0] <= y_test) & (y_test <= intervals[:, 1])
    scores["worst_window_coverage"] = min(
        float(inside[block].mean()) for block in np.array_split(np.arange(n), N_WINDOWS)
    )
    return {**scores, "fit_seconds": fitted - start, "predict_seconds": predicted - fitted}


def _resolve_datasets(datasets: Any, tasks: set[str]) -> dict[str, tuple[Any, str | None]]:
    """Names -> (a loader of ``(X, y)``, the dataset's task).

    A mapping brings its own data (task ``None``: every chosen method runs on it). ``None``
    means every bundled dataset of the chosen methods' tasks.
    """
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
        return [get_method(name) for name in list_methods(default_only=True)]
    if isinstance(methods, str):
        methods = [methods]
    if isinstance(methods, Mapping):
        return [Method(str(name), factory) for name, factory in methods.items()]
    valid = list_methods()
    unknown = [name for name in methods if name not in valid]
    if unknown:
        raise ValueError(f"Unknown benchmark method(s) {unknown}. Valid names are {valid}.")
    return [get_method(name) for name in dict.fromkeys(methods)]


def _progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar when asked for and tqdm (the optional ``progress`` extra) is installed."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="benchmark", unit="fit")


def _report(bar: Any, message: str) -> None:
    """Print a line to stderr without breaking the progress bar (through tqdm when it runs)."""
    if bar is not None:
        bar.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr, flush=True)


def _unit_warnings(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    """``Category: message`` of each warning caught, each distinct one once, in order."""
    return list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))


def _warm_up(method: Method, confidence_level: float) -> None:
    """One untimed fit on small synthetic data.

    Loading the compiled kernels and starting thread pools then does not count in the first
    timed fit. Its warnings are dropped (they concern the synthetic data); its errors propagate.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y: np.ndarray = X[:, 0] + rng.normal(size=300)
    if method.task == "classification":
        y = np.digitize(y, [-0.5, 0.5]).astype(np.int64)  # three classes
    estimator = method.build(0, confidence_level)
    _evaluate(method.task, estimator, X[:240], y[:240], X[240:], y[240:], confidence_level)


def run_benchmark(
    datasets: Sequence[str] | Mapping[str, tuple[Any, Any]] | None = None,
    methods: Sequence[str] | Mapping[str, Factory] | None = None,
    seeds: int | Iterable[int] = 3,
    confidence_level: float = 0.9,
    test_size: float = 0.2,
    progress: bool = True,
    failures: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Fit and score each method on each dataset with each seed.

    For every seed the dataset is split into a fit part and a test part
    (``train_test_split(test_size=test_size, random_state=seed)``, stratified by class for
    classification; for time series the last ``test_size`` of the rows, at most 2,000, in time
    order, the same for every seed, walked forward: online methods predict each point and
    then ``partial_fit`` its outcome, static ones are refitted on all rows seen before each
    tenth of the test period); the method's factory builds the estimator with
    ``random_state=seed``, so the estimator's own training/calibration split of the fit part
    uses the same seed. All methods see the same split for a given seed.

    A *unit* is one (dataset, method, seed). The warnings a unit raises are printed to stderr
    (through tqdm when the progress bar runs, so the bar stays intact) as one line each,
    ``warning: <dataset>, <method>, seed <seed>: <Category>: <message>``, each distinct warning
    once per unit; the warning filters in force still apply (``-W error`` makes a warning an
    error of the unit).

    Parameters
    ----------
    datasets : sequence of str or mapping of str to (X, y), default=None
        Names of bundled datasets (:func:`conformal.datasets.list_datasets`; the default is all
        of them of the chosen methods' tasks), or your own data by name. A bundled dataset runs
        the chosen methods of its task; your own data runs all of them.
    methods : sequence of str or mapping of str to factory, default=None
        Registered method names (:func:`list_methods`; ``None`` is the default set), or
        ``{name: factory}`` for regression methods not in the registry, each called as
        ``factory(random_state)`` (register a method with ``needs_level=True`` to have its
        factory receive the level).
    seeds : int or iterable of int, default=3
        An int ``n`` means seeds ``0, ..., n - 1``.
    confidence_level : float, default=0.9
        Target coverage.
    test_size : float, default=0.2
        Fraction of each dataset held out for testing.
    progress : bool, default=True
        Show a progress bar (the progress bar needs tqdm, the ``progress`` extra; without
        tqdm, none is shown).
    failures : list, default=None
        ``None``: an error in a unit propagates and ends the run. A list: a unit that raises
        (an ``Exception``) is appended to it as ``{"dataset", "method", "seed", "error_type",
        "error"}`` (the exception's class name and message), reported on stderr, and the run
        goes on with the other units; the unit has no row. A method whose warm-up fit raises
        is still tried on every unit.

    Returns
    -------
    rows : list of dict
        One row per (dataset, method, seed) of the same task, ordered by dataset and method
        as given, then by seed. A row has the run's keys (``dataset`` … ``confidence_level``)
        followed by its task's measurements in :data:`TASK_METRICS`; regression rows thus have
        the keys of :data:`RAW_COLUMNS`. ``n_train`` is the number of rows given to ``fit``
        (training plus calibration), ``coverage`` the fraction of test targets inside their
        interval or set, ``normalized_width`` the mean width over the standard deviation of
        the test targets, ``class_coverage_gap`` the mean over classes of ``|class coverage -
        level|``, ``worst_class_coverage`` the smallest class coverage, and the two timings are
        wall-clock seconds.

    Raises
    ------
    ValueError
        If ``confidence_level`` or ``test_size`` is outside (0, 1), ``seeds`` gives no seed, or
        a dataset or method name is unknown (the message lists the valid names).
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
        if method.task not in TASK_METRICS:
            raise ValueError(f"Method {method.name!r} has unknown task {method.task!r}.")
    loaders = _resolve_datasets(datasets, {_DATA_TASK.get(m.task, m.task) for m in chosen})
    # Each dataset runs the methods of its task (all methods on data passed in by the caller).
    pairs = {
        name: [m for m in chosen if task is None or _DATA_TASK.get(m.task, m.task) == task]
        for name, (_, task) in loaders.items()
    }
    for method in {m.name: m for runs in pairs.values() for m in runs}.values():
        try:
            with warnings.catch_warnings(record=True):
                _warm_up(method, confidence_level)
        except Exception:
            if failures is None:
                raise
    first_failure = len(failures) if failures is not None else 0
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
                if task == "timeseries":
                    X_fit, X_test, y_fit, y_test = _sequential_split(X, y, test_size)
                else:
                    X_fit, X_test, y_fit, y_test = train_test_split(
                        X, y, test_size=test_size, random_state=seed, stratify=stratify
                    )
                for method in pairs[dataset]:
                    if bar is not None:
                        bar.set_postfix_str(f"{dataset} {method.name} seed={seed}")
                    unit = f"{dataset}, {method.name}, seed {seed}"
                    failure: Exception | None = None
                    with warnings.catch_warnings(record=True) as caught:
                        try:
                            estimator = method.build(seed, confidence_level)
                            scores = _evaluate(
                                method.task, estimator, X_fit, y_fit, X_test, y_test,
                                confidence_level,
                            )  # fmt: skip
                        except Exception as error:
                            if failures is None:
                                raise
                            failure = error
                    for text in _unit_warnings(caught):
                        _report(bar, f"warning: {unit}: {text}")
                    if failure is not None:
                        assert failures is not None
                        failures.append(
                            {
                                "dataset": dataset,
                                "method": method.name,
                                "seed": seed,
                                "error_type": type(failure).__name__,
                                "error": str(failure),
                            }
                        )
                        _report(bar, f"failed: {unit}: {type(failure).__name__}: {failure}")
                        if bar is not None:
                            bar.update()
                        continue
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

    def order(r: Mapping[str, Any]) -> tuple[int, int, int]:
        return (dataset_order[r["dataset"]], method_order[r["method"]], r["seed"])

    rows.sort(key=order)
    if failures is not None:
        failures[first_failure:] = sorted(failures[first_failure:], key=order)
    return rows
