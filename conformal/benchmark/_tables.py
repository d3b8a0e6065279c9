"""Result tables: what each task measures, averaging over seeds, text/Markdown tables and CSV.

:data:`TASK_METRICS` is the one place that says which measurements a task's rows carry; the
summary columns, the raw column order and the grouping of rows by task all derive from it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

_TIMINGS = ("fit_seconds", "predict_seconds")

#: task -> the per-seed measurements of its rows, in display order; :func:`summarize` averages
#: them and :func:`format_summary` shows them. A new kind of task adds its entry here (and its
#: evaluator in ``_runner.py``).
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "regression": ("coverage", "mean_width", "normalized_width", *_TIMINGS),
    "classification": (
        "coverage",
        "mean_set_size",
        "class_coverage_gap",
        "worst_class_coverage",
        *_TIMINGS,
    ),
    "timeseries": (
        "coverage",
        "mean_width",
        "normalized_width",
        "worst_window_coverage",
        *_TIMINGS,
    ),
    "missing": (
        "coverage",
        "mean_width",
        "normalized_width",
        "worst_mask_coverage",
        *_TIMINGS,
    ),
    "batch": ("coverage", "batch_coverage", "mean_width", "normalized_width", *_TIMINGS),
    "risk": ("risk", "coverage", "mean_width", "normalized_width", *_TIMINGS),
    "quantile": (
        "wis",
        "wis_unsorted",
        "pinball",
        "crossing_rate",
        "coverage",
        "mean_width",
        "normalized_width",
        *_TIMINGS,
    ),
}
#: Every measurement of every task, each once, in first-seen order.
METRICS = tuple(dict.fromkeys(m for metrics in TASK_METRICS.values() for m in metrics))

# What identifies a row of run_benchmark: the run, then the sizes and the level.
_RUN_COLUMNS = ("dataset", "method", "seed", "n_train", "n_test", "confidence_level")
#: The columns of a regression row of :func:`run_benchmark`, in order.
RAW_COLUMNS = (*_RUN_COLUMNS, *TASK_METRICS["regression"])
# What the printed and Markdown summaries show before the task's measurements.
_SUMMARY_KEYS = ("dataset", "method", "n_train", "n_test")


def summarize(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds for each (dataset, method, confidence level).

    Parameters
    ----------
    rows : iterable of dict
        Raw rows of :func:`run_benchmark`.

    Returns
    -------
    summary : list of dict
        One row per group with ``dataset``, ``method``, ``confidence_level``, ``n_seeds``,
        ``n_train``, ``n_test`` and, for each measurement ``m`` of :data:`METRICS` the rows
        carry, ``m_mean`` and ``m_std`` (sample standard deviation; NaN with a single seed).
        Groups keep the order in which they first appear.
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


def _task_of(row: Mapping[str, Any]) -> str | None:
    """The task whose measurements a raw or summary row holds, exactly; ``None`` if none."""
    held = {m for m in METRICS if m in row or f"{m}_mean" in row}
    return next((task for task, metrics in TASK_METRICS.items() if held == set(metrics)), None)


def format_summary(summary: Sequence[Mapping[str, Any]], *, markdown: bool = False) -> str:
    """Summary rows as one table per task, in the order of :data:`TASK_METRICS`.

    Parameters
    ----------
    summary : sequence of dict
        Rows of :func:`summarize`.
    markdown : bool, default=False
        Markdown tables instead of plain text.

    Returns
    -------
    str
        The tables of the tasks present, separated by a blank line: ``dataset``, ``method``,
        ``n_train``, ``n_test``, then the task's measurements as ``mean ± std``. A row whose
        measurements match no task is left out.
    """
    by_task: dict[str, list[Mapping[str, Any]]] = {task: [] for task in TASK_METRICS}
    for row in summary:
        task = _task_of(row)
        if task is not None:
            by_task[task].append(row)
    return "\n\n".join(
        format_table(rows, (*_SUMMARY_KEYS, *TASK_METRICS[task]), markdown=markdown)
        for task, rows in by_task.items()
        if rows
    )


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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


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


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write rows to a CSV file (columns in first-seen order; parent folders are created).

    Floats are written in full (round-trip) precision.

    Parameters
    ----------
    rows : sequence of dict
        Raw or summary rows.
    path : str or Path
        The file to write; an existing file is overwritten.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    OSError
        If the folder cannot be created or the file cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return path
