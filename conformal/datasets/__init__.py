"""Real regression datasets bundled with the package (no download at run time).

Each dataset is a gzip CSV shipped as package data and prepared as documented in the package's
data notes: leaks and second targets dropped, string columns one-hot encoded, missing cells kept
as NaN. ``load_dataset(name)`` returns numeric ``X`` and ``y``.

Sources (please cite them when you publish results on these data):

- UCI Machine Learning Repository (Dua and Graff; CC BY 4.0), with the datasets' donors:
  Concrete Compressive Strength (I-Cheng Yeh, 1998); Energy Efficiency (Tsanas and Xifara, 2012);
  Yacht Hydrodynamics (Gerritsma, Onnink and Versluis, 1981); Wine Quality (Cortez et al., 2009);
  Combined Cycle Power Plant (Tufekci, 2014); Condition Based Maintenance of Naval Propulsion
  Plants (Coraddu et al., 2016); Physicochemical Properties of Protein Tertiary Structure
  (Rana, 2013); Communities and Crime (Redmond, 2009); Bike Sharing (Fanaee-T and Gama, 2013).
- kin8nm: the Delve collection (University of Toronto), robot-arm simulation.
- California housing: Pace and Barry (1997), StatLib, as in ``sklearn.datasets``.
- The copies were taken from the experiment repositories of Gal and Ghahramani (2016,
  UCI_Datasets), Romano, Patterson and Candes (2019, CQR), PMLB (Olson et al., 2017) and ISLP
  (James et al., 2023); ``describe_dataset(name)`` gives each file's exact origin and licence.

Examples
--------
>>> from conformal.datasets import list_datasets, load_dataset
>>> "concrete" in list_datasets()
True
>>> X, y = load_dataset("concrete")
>>> X.shape, y.shape
((1030, 8), (1030,))
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
}


def list_datasets() -> list[str]:
    """Names of the bundled regression datasets, sorted."""
    return sorted(_PREPARATION)


def _check_name(name: str) -> None:
    if name not in _PREPARATION:
        raise ValueError(f"Unknown dataset {name!r}. Valid names are {list_datasets()}.")


def describe_dataset(name: str) -> dict[str, str]:
    """The manifest row of a dataset: rows, columns, target, source and licence."""
    _check_name(name)
    with resources.files(__name__).joinpath("data/MANIFEST.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["file"] == f"regression/{name}.csv.gz":
                return dict(row)
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


def _prepare(name: str) -> tuple[NDArray[np.float64], NDArray[np.float64], list[str]]:
    target, dropped = _PREPARATION[name]
    header, rows = _read(name)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    features: list[NDArray[np.float64]] = []
    names: list[str] = []
    y = None
    for col, cells in zip(header, columns, strict=True):
        if col in dropped:
            continue
        values = _numeric(list(cells))
        if col == target:
            y = values
            continue
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
    """Load a bundled regression dataset, prepared for modelling.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.
    as_frame : bool, default=False
        Return a pandas DataFrame and Series (needs pandas) instead of NumPy arrays.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or DataFrame
        Numeric features; string columns one-hot encoded as ``column=level``; missing cells NaN
        (only ``communities_crime`` has them).
    y : ndarray of shape (n_samples,) or Series
        The target.

    Examples
    --------
    >>> from conformal.datasets import load_dataset
    >>> X, y = load_dataset("bike_hourly", as_frame=True)
    >>> "weathersit=clear" in X.columns, y.name
    (True, 'bikers')
    """
    _check_name(name)
    X, y, names = _prepare(name)
    if not as_frame:
        return X.copy(), y.copy()
    import pandas as pd

    return pd.DataFrame(X, columns=names), pd.Series(y, name=_PREPARATION[name][0])
