"""Bundled datasets: shapes from the manifest, the documented preparation, no mutation via cache."""

import numpy as np
import pytest

from conformal.datasets import describe_dataset, list_datasets, load_dataset


@pytest.mark.parametrize("name", list_datasets())
def test_every_dataset_loads_with_manifest_rows(name):
    X, y = load_dataset(name)
    info = describe_dataset(name)
    assert X.shape[0] == y.shape[0] == int(info["rows"])
    assert X.dtype == np.float64 and np.isfinite(y).all()


def test_preparation_drops_leaks_second_targets_and_constants():
    X, _ = load_dataset("bike_hourly", as_frame=True)
    assert not {"casual", "registered"} & set(X.columns)
    assert {"mnth=Jan", "weathersit=clear"} <= set(X.columns)
    X, _ = load_dataset("naval_propulsion", as_frame=True)
    assert not {"turbine_decay", "T1", "P1"} & set(X.columns)
    X, y = load_dataset("communities_crime", as_frame=True)
    assert not {"state", "communityname", "fold"} & set(X.columns)
    assert y.name == "ViolentCrimesPerPop"
    assert 0.8 < X.isna().mean().max() < 0.9  # the 84% block of police columns stays missing


def test_returned_arrays_are_copies():
    X, y = load_dataset("yacht")
    X[:] = 0
    y[:] = 0
    X2, y2 = load_dataset("yacht")
    assert X2.any() and y2.any()


def test_unknown_name_lists_valid_names():
    with pytest.raises(
        ValueError, match=r"Unknown dataset 'boston'. Valid names are \['bike_hourly'"
    ):
        load_dataset("boston")
