"""Real regression and classification datasets bundled with the package (no download at run time).

Each dataset is a gzip CSV shipped as package data and prepared as documented in the package's
data notes: leaks and second targets dropped, string columns one-hot encoded, missing cells kept
as NaN. ``load_dataset(name)`` returns numeric ``X`` and the target ``y``: a float array for the
regression datasets, the class labels exactly as the file stores them for the classification
datasets (integers here; a file with string labels would give strings).
``list_datasets()`` names the regression datasets, as it always has;
``list_datasets(task="classification")`` the classification ones, ``list_datasets(task=None)``
all of them.

Sources (please cite them when you publish results on these data):

- UCI Machine Learning Repository (Dua and Graff; CC BY 4.0), with the datasets' donors:
  Concrete Compressive Strength (I-Cheng Yeh, 1998); Energy Efficiency (Tsanas and Xifara, 2012);
  Yacht Hydrodynamics (Gerritsma, Onnink and Versluis, 1981); Wine Quality (Cortez et al., 2009);
  Combined Cycle Power Plant (Tufekci, 2014); Condition Based Maintenance of Naval Propulsion
  Plants (Coraddu et al., 2016); Physicochemical Properties of Protein Tertiary Structure
  (Rana, 2013); Communities and Crime (Redmond, 2009); Bike Sharing (Fanaee-T and Gama, 2013).
- UCI classification datasets: Pen-Based Recognition of Handwritten Digits (Alpaydin and
  Alimoglu, 1998); Statlog (Landsat Satellite) (Srinivasan, 1993); Statlog (Image Segmentation)
  (Brodley, 1990; Vision Group, University of Massachusetts); Yeast (Nakai, 1996).
- kin8nm: the Delve collection (University of Toronto), robot-arm simulation.
- California housing: Pace and Barry (1997), StatLib, as in ``sklearn.datasets``.
- The copies were taken from the experiment repositories of Gal and Ghahramani (2016,
  UCI_Datasets), Romano, Patterson and Candes (2019, CQR), PMLB (Olson et al., 2017; all four
  classification datasets) and ISLP (James et al., 2023); ``describe_dataset(name)`` gives each
  file's exact origin and licence.

Classification labels, as PMLB stores them:

- ``pendigits``: the digits 0-9 (10 classes, balanced).
- ``satimage``: the UCI codes 1, 2, 3, 4, 5 and 7 (6 classes; UCI has no class 6).
- ``segmentation``: PMLB's integer codes 0-6 for the 7 image-region classes (330 rows each); the
  file does not keep the region names.
- ``yeast``: PMLB's integer codes 0-8 for 9 localisation sites (imbalanced, 20 to 463 rows);
  matched by class size to the UCI names they are 0 MIT, 1 NUC, 2 CYT, 3 ME1, 4 EXC, 5 ME2,
  6 ME3, 7 VAC, 8 POX. PMLB dropped the 5 rows of UCI's class ERL.

Examples
--------
>>> from conformal.datasets import list_datasets, load_dataset
>>> "concrete" in list_datasets()
True
>>> X, y = load_dataset("concrete")
>>> X.shape, y.shape
((1030, 8), (1030,))
>>> list_datasets(task="classification")
['pendigits', 'satimage', 'segmentation', 'yeast']
>>> X, y = load_dataset("yeast")
>>> X.shape, y.dtype, sorted(set(y.tolist()))
((1479, 8), dtype('int64'), [0, 1, 2, 3, 4, 5, 6, 7, 8])
"""

from __future__ import annotations

import csv
import gzip
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["describe_dataset", "list_datasets", "load_dataset"]

TASKS = ("regression", "classification")

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
}

# Classification datasets -> number of classes (the data notes' table, checked by the tests).
_N_CLASSES: dict[str, int] = {"pendigits": 10, "satimage": 6, "segmentation": 7, "yeast": 9}


def _task(name: str) -> str:
    return "classification" if name in _N_CLASSES else "regression"


def list_datasets(task: str | None = "regression") -> list[str]:
    """Names of the bundled datasets of one task, sorted.

    Parameters
    ----------
    task : {"regression", "classification"} or None, default="regression"
        Which datasets to list; ``None`` lists all of them. The default keeps the meaning
        ``list_datasets()`` had before classification datasets were bundled.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from conformal.datasets import list_datasets
    >>> list_datasets("classification")
    ['pendigits', 'satimage', 'segmentation', 'yeast']
    >>> len(list_datasets()), len(list_datasets(task=None))
    (11, 15)
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

    Returns
    -------
    info : dict of str to str
        ``file``, ``rows``, ``columns`` (of the file, target included), ``target``, ``source``,
        ``licence`` and ``note`` from the bundled ``MANIFEST.csv``, plus ``task``
        (``"regression"`` or ``"classification"``) and ``n_classes`` (the number of classes as
        a string; empty for regression). Every value is a string, as in the CSV.

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
    with resources.files(__name__).joinpath("data/MANIFEST.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["file"] == f"{task}/{name}.csv.gz":
                info = dict(row)
                info["task"] = task
                info["n_classes"] = str(_N_CLASSES[name]) if name in _N_CLASSES else ""
                return info
    raise LookupError(f"{name} is missing from the bundled MANIFEST.csv")  # pragma: no cover


@cache
def _read(name: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    raw = resources.files(__name__).joinpath(f"data/{name}.csv.gz").read_bytes()
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
    header, rows = _read(name)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    features: list[NDArray[np.float64]] = []
    names: list[str] = []
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
        levels = sorted(set(cells))
        for level in levels:  # one-hot encoding of a string column, one column per level
            features.append((np.asarray(cells) == level).astype(np.float64))
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
        cells NaN (only ``communities_crime`` has them).
    y : ndarray of shape (n_samples,) or Series
        Regression: the float64 target. Classification: the class labels as the file stores
        them, not re-encoded (int64 for the four bundled datasets, whose codes the module
        docstring lists; a file with string labels would give an object array of str). The
        Series is named after the target column (``"target"`` for classification).

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
