"""Loaders of the bundled datasets: the preparation table, the manifest, the CSV reader.

The package face, :mod:`conformal.datasets`, re-exports the public names and documents the data
(sources, licences, label codes).
"""

from __future__ import annotations

import csv
import gzip
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: The tasks a bundled dataset serves: the valid ``task`` values of :func:`list_datasets`.
TASKS = ("regression", "classification", "timeseries", "missing")

# The data files are package data of the package, not of this module.
_PACKAGE = __name__.rpartition(".")[0]

# name -> (target column, columns to drop): the preparation of the data notes.
_PREPARATION: dict[str, tuple[str, tuple[str, ...]]] = {
    "bike_hourly": ("bikers", ("casual", "registered")),  # they sum to the target: a leak
    "california_housing": ("target", ()),
    "communities_crime": (
        "ViolentCrimesPerPop",
        ("state", "county", "community", "communityname", "fold"),  # identifiers, not features
    ),
    "concrete": ("compressive_strength", ()),
    "energy_heating": ("heating_load", ()),
    "kin8nm": ("y", ()),
    "naval_propulsion": (
        "compressor_decay",
        ("turbine_decay", "T1", "P1"),
    ),  # 2nd target; constants
    "power_plant": ("PE", ()),
    "protein_casp": ("RMSD", ()),
    "wine_red": ("quality", ()),
    "yacht": ("residuary_resistance", ()),
    # Classification: the data notes ask for no preparation; every feature is numeric.
    "pendigits": ("target", ()),
    "satimage": ("target", ()),
    "segmentation": ("target", ()),
    "yeast": ("target", ()),
    # Time-ordered data, rows in time order (the non-exchangeable methods' benchmarks).
    "co2_weekly": ("co2", ("date",)),  # a time feature is derived from the date (below)
    "elec2": ("transfer", ("date", "day", "period", "class")),  # nexCP's four predictors
    "tetouan_power": (
        "Zone 1 Power Consumption",
        ("DateTime", "Zone 2  Power Consumption", "Zone 3  Power Consumption"),  # other targets
    ),
    # Real missing values (NaN kept in X; rows whose target is missing are dropped).
    "airquality": ("Ozone", ()),
    "beijing_aotizhongxin": ("PM2.5", ("No", "station")),  # row number; one station
    "star_raw": (
        "math3",
        ("rowid", "read3", "schoolidk", "schoolid1", "schoolid2", "schoolid3"),  # id; co-outcome
    ),
}

_TIMESERIES = ("co2_weekly", "elec2", "tetouan_power")
_MISSING = ("airquality", "beijing_aotizhongxin", "star_raw")

# Classification datasets -> number of classes (the data notes' table, checked by the tests).
_N_CLASSES: dict[str, int] = {"pendigits": 10, "satimage": 6, "segmentation": 7, "yeast": 9}


def _task(name: str) -> str:
    if name in _MISSING:
        return "missing"
    if name in _TIMESERIES:
        return "timeseries"
    return "classification" if name in _N_CLASSES else "regression"


def _keep_rows(name: str, header: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> Any:
    """The rows the data notes keep, in time order."""
    if name == "elec2":
        # Barber et al. (2023): drop the first 17,760 rows (transfer is constant there) and keep
        # 9am-12pm: ``period`` is k/47 for the k-th half hour, so periods 18..23 (3,444 rows).
        period = header.index("period")
        return [r for r in rows[17760:] if 18 <= round(float(r[period]) * 47) <= 23]
    if name == "co2_weekly":
        target = header.index("co2")
        return [r for r in rows if r[target] != ""]  # 59 missing weeks: no target, no row
    if name in _MISSING:
        target = header.index(_PREPARATION[name][0])
        return [r for r in rows if r[target] != ""]  # a missing target: no row (NaN X kept)
    return rows


def _time_feature(name: str, header: tuple[str, ...], rows: Any) -> tuple[str, Any] | None:
    """co2_weekly has no covariate but time: years since the first week, as a feature."""
    if name != "co2_weekly":
        return None
    dates = np.array([r[header.index("date")] for r in rows], dtype="datetime64[D]")
    return "years", (dates - dates[0]).astype(np.float64) / 365.25


def list_datasets(task: str | None = "regression") -> list[str]:
    """Names of the bundled datasets of one task, sorted.

    Parameters
    ----------
    task : {"regression", "classification", "timeseries", "missing"} or None, \
default="regression"
        Which datasets to list (``"timeseries"``: rows in time order, for drift and online
        methods; ``"missing"``: real missing covariates, NaN in ``X``, for
        :class:`~conformal.missing.MissingDataConformalRegressor`; the regression dataset
        ``communities_crime`` has missing values too); ``None`` lists all of them. The default
        keeps the meaning
        ``list_datasets()`` had before classification datasets were bundled.

    Returns
    -------
    names : list of str

    Raises
    ------
    ValueError
        If ``task`` is not in :data:`TASKS` nor ``None``.

    Examples
    --------
    >>> from conformal.datasets import list_datasets
    >>> list_datasets("classification")
    ['pendigits', 'satimage', 'segmentation', 'yeast']
    >>> list_datasets("timeseries")
    ['co2_weekly', 'elec2', 'tetouan_power']
    >>> list_datasets("missing")
    ['airquality', 'beijing_aotizhongxin', 'star_raw']
    >>> len(list_datasets()), len(list_datasets(task=None))
    (11, 21)
    """
    if task is None:
        return sorted(_PREPARATION)
    if task not in TASKS:
        raise ValueError(
            f"Unknown task {task!r}. Valid tasks are {list(TASKS)}, or None for all datasets."
        )
    return sorted(name for name in _PREPARATION if _task(name) == task)


def _check_name(name: str) -> None:
    if name not in _PREPARATION:
        raise ValueError(f"Unknown dataset {name!r}. Valid names are {list_datasets(None)}.")


def describe_dataset(name: str) -> dict[str, str]:
    """The manifest row of a dataset, with its task and number of classes.

    Parameters
    ----------
    name : str
        A bundled dataset (see :func:`list_datasets`).

    Returns
    -------
    info : dict of str to str
        ``file``, ``rows``, ``columns`` (of the file, target included), ``target``, ``source``,
        ``licence`` and ``note`` from the bundled ``MANIFEST.csv``, plus ``task``
        (``"regression"``, ``"classification"``, ``"timeseries"`` or ``"missing"``) and
        ``n_classes`` (the
        number of classes as a string; empty for the other tasks). Every value is a string, as
        in the CSV.

    Raises
    ------
    ValueError
        If ``name`` is not a bundled dataset; the message lists the valid names.

    Examples
    --------
    >>> from conformal.datasets import describe_dataset
    >>> info = describe_dataset("satimage")
    >>> info["task"], info["n_classes"], info["rows"]
    ('classification', '6', '6435')
    >>> info["licence"]
    'CC BY 4.0 (UCI); PMLB wrapper MIT'
    """
    _check_name(name)
    task = _task(name)
    with resources.files(_PACKAGE).joinpath("data/MANIFEST.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["file"] == f"{task}/{name}.csv.gz":
                info = dict(row)
                info["task"] = task
                info["n_classes"] = str(_N_CLASSES[name]) if name in _N_CLASSES else ""
                return info
    raise LookupError(f"{name} is missing from the bundled MANIFEST.csv")  # pragma: no cover


@cache
def _read(name: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    raw = resources.files(_PACKAGE).joinpath(f"data/{name}.csv.gz").read_bytes()
    reader = csv.reader(gzip.decompress(raw).decode("utf-8").splitlines())
    header = tuple(next(reader))
    return header, tuple(tuple(row) for row in reader)


def _numeric(cells: list[str]) -> NDArray[np.float64] | None:
    """Cells as floats (empty -> NaN), or None when the column holds strings."""
    try:
        return np.array([float(c) if c != "" else np.nan for c in cells], dtype=np.float64)
    except ValueError:
        return None


def _labels(cells: list[str]) -> NDArray[Any]:
    """Class labels as the file stores them: int64 when every cell is an integer, else str."""
    try:
        return np.array([int(c) for c in cells], dtype=np.int64)
    except ValueError:
        return np.array(cells, dtype=object)


def _prepare(name: str) -> tuple[NDArray[np.float64], NDArray[Any], list[str]]:
    target, dropped = _PREPARATION[name]
    header, all_rows = _read(name)
    rows = _keep_rows(name, header, all_rows)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    features: list[NDArray[np.float64]] = []
    names: list[str] = []
    derived = _time_feature(name, header, rows)
    if derived is not None:
        names.append(derived[0])
        features.append(derived[1])
    y = None
    for col, cells in zip(header, columns, strict=True):
        if col in dropped:
            continue
        if col == target:
            y = _labels(list(cells)) if name in _N_CLASSES else _numeric(list(cells))
            continue
        values = _numeric(list(cells))
        if values is not None:
            features.append(values)
            names.append(col)
            continue
        levels = sorted(set(cells) - {""})
        absent = np.asarray(cells) == ""
        for level in levels:  # one-hot encoding of a string column, one column per level
            column = (np.asarray(cells) == level).astype(np.float64)
            column[absent] = np.nan  # a missing category is missing in every indicator
            features.append(column)
            names.append(f"{col}={level}")
    assert y is not None
    return np.column_stack(features), y, names


def load_dataset(name: str, *, as_frame: bool = False) -> tuple[Any, Any]:
    """Load a bundled dataset, prepared for modelling.

    Parameters
    ----------
    name : str
        One of ``list_datasets(task=None)``.
    as_frame : bool, default=False
        Return a pandas DataFrame and Series (needs pandas) instead of NumPy arrays.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or DataFrame
        Numeric float64 features; string columns one-hot encoded as ``column=level``; missing
        cells NaN (``communities_crime`` and the ``"missing"`` task; a missing category is NaN
        in all of its indicator columns). For the ``"missing"`` datasets the rows whose target
        is missing are dropped (airquality: 116 of 153 rows; beijing_aotizhongxin: 34,139 of
        35,064; star_raw: 6,077 of 11,598, target ``math3``).
    y : ndarray of shape (n_samples,) or Series
        Regression: the float64 target. Classification: the class labels as the file stores
        them, not re-encoded (int64 for the four bundled datasets, whose codes the module
        docstring lists; a file with string labels would give an object array of str). The
        Series is named after the target column (``"target"`` for classification).

    Raises
    ------
    ValueError
        If ``name`` is not a bundled dataset; the message lists the valid names.
    ImportError
        If ``as_frame=True`` and pandas is not installed.

    Examples
    --------
    >>> from conformal.datasets import load_dataset
    >>> X, y = load_dataset("bike_hourly", as_frame=True)
    >>> "weathersit=clear" in X.columns, y.name
    (True, 'bikers')
    >>> X, y = load_dataset("satimage")
    >>> X.shape, sorted(set(y.tolist()))
    ((6435, 36), [1, 2, 3, 4, 5, 7])
    """
    _check_name(name)
    X, y, names = _prepare(name)
    if not as_frame:
        return X.copy(), y.copy()
    import pandas as pd

    return pd.DataFrame(X, columns=names), pd.Series(y, name=_PREPARATION[name][0])
