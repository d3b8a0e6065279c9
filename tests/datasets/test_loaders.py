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
        ValueError,
        match=r"Unknown dataset 'boston'. Valid names are \['airquality', 'beijing_aotizhongxin', "
        r"'bike_hourly'",
    ):
        load_dataset("boston")


# ---------------------------------------------------------------------------------------------
# Classification datasets

# name -> (features, {label: count}), counted from the bundled files (PMLB copies of UCI data).
CLASSIFICATION = {
    "pendigits": (
        16,
        {0: 1143, 1: 1143, 2: 1144, 3: 1055, 4: 1144, 5: 1055, 6: 1056, 7: 1142, 8: 1055, 9: 1055},
    ),
    "satimage": (36, {1: 1533, 2: 703, 3: 1358, 4: 626, 5: 707, 7: 1508}),
    "segmentation": (19, dict.fromkeys(range(7), 330)),
    "yeast": (8, {0: 244, 1: 429, 2: 463, 3: 44, 4: 35, 5: 51, 6: 163, 7: 30, 8: 20}),
}


def test_list_datasets_filters_by_task_and_keeps_the_regression_default():
    classification = list_datasets(task="classification")
    regression = list_datasets(task="regression")
    assert classification == sorted(CLASSIFICATION)
    assert list_datasets() == regression and len(regression) == 11  # existing callers unchanged
    assert not set(classification) & set(regression)
    timeseries = list_datasets(task="timeseries")
    assert timeseries == ["co2_weekly", "elec2", "tetouan_power"]
    missing = list_datasets(task="missing")
    assert missing == ["airquality", "beijing_aotizhongxin", "star_raw"]
    assert list_datasets(task=None) == sorted(regression + classification + timeseries + missing)


def test_unknown_task_lists_valid_tasks():
    with pytest.raises(
        ValueError,
        match=r"Unknown task 'clustering'. Valid tasks are \['regression', 'classification', "
        r"'timeseries', 'missing'\], "
        r"or None for all datasets.",
    ):
        list_datasets(task="clustering")


@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
def test_classification_dataset_shapes_labels_and_manifest(name):
    n_features, counts = CLASSIFICATION[name]
    X, y = load_dataset(name)
    info = describe_dataset(name)
    assert X.shape == (int(info["rows"]), n_features) == (sum(counts.values()), n_features)
    assert int(info["columns"]) == n_features + 1  # the file's columns include the target
    assert X.dtype == np.float64 and not np.isnan(X).any()
    assert y.dtype == np.int64  # labels kept as the file stores them, not re-encoded
    labels, n = np.unique(y, return_counts=True)
    assert dict(zip(labels.tolist(), n.tolist(), strict=True)) == counts
    assert info["task"] == "classification" and int(info["n_classes"]) == len(counts)
    assert info["target"] == "target" and "PMLB" in info["licence"]
    assert "UCI" in info["source"]


def test_regression_datasets_describe_their_task():
    info = describe_dataset("concrete")
    assert info["task"] == "regression" and info["n_classes"] == ""
    assert info["rows"] == "1030" and info["licence"] == "CC BY 4.0 (UCI)"


def test_classification_as_frame_keeps_column_names_and_labels():
    X, y = load_dataset("segmentation", as_frame=True)
    X_np, y_np = load_dataset("segmentation")
    assert X.shape == (2310, 19) and y.shape == (2310,)
    assert "region-centroid-col" in X.columns and "hue-mean" in X.columns
    assert y.name == "target" and y.dtype == np.int64
    np.testing.assert_array_equal(X.to_numpy(), X_np)
    np.testing.assert_array_equal(y.to_numpy(), y_np)


def test_string_labels_stay_strings():
    from conformal.datasets._base import _labels

    assert _labels(["3", "1", "3"]).tolist() == [3, 1, 3]
    labels = _labels(["CYT", "NUC", "CYT"])
    assert labels.dtype == object and labels.tolist() == ["CYT", "NUC", "CYT"]


def test_classification_files_ship_as_package_data():
    from importlib import resources

    data = resources.files("conformal.datasets").joinpath("data")
    for name in CLASSIFICATION:
        assert data.joinpath(f"{name}.csv.gz").is_file()


def test_timeseries_datasets_follow_the_data_notes():
    # elec2: nexCP's preparation (Barber et al. 2023) gives 3,444 time points and 4 predictors.
    X, y = load_dataset("elec2", as_frame=True)
    assert X.shape == (3444, 4) and y.name == "transfer"
    assert list(X.columns) == ["nswprice", "nswdemand", "vicprice", "vicdemand"]
    # The first 17,760 rows (constant transfer) are gone: the target varies.
    assert np.unique(y).size > 1000
    X, y = load_dataset("tetouan_power", as_frame=True)
    assert X.shape == (52416, 5) and not any("Zone" in c for c in X.columns)
    X, y = load_dataset("co2_weekly", as_frame=True)
    assert X.shape == (2284 - 59, 1) and np.isfinite(y).all()
    assert np.all(np.diff(X["years"]) > 0)  # time order, strictly increasing
    for name in ("co2_weekly", "elec2", "tetouan_power"):
        assert describe_dataset(name)["task"] == "timeseries"


# ---------------------------------------------------------------------------------------------
# Real missing covariates: NaN kept in X, rows with a missing target dropped.

# name -> (rows kept, rows in the file, features), counted from the bundled files.
MISSING = {
    "airquality": (116, 153, 5),
    "beijing_aotizhongxin": (34139, 35064, 30),
    "star_raw": (6077, 11598, 106),
}


@pytest.mark.parametrize("name", sorted(MISSING))
def test_missing_datasets_keep_nan_and_drop_rows_without_target(name):
    X, y = load_dataset(name)
    kept, in_file, features = MISSING[name]
    info = describe_dataset(name)
    assert info["task"] == "missing" and int(info["rows"]) == in_file
    assert X.shape == (kept, features) and y.shape == (kept,)
    assert np.isfinite(y).all()
    assert np.isnan(X).any()  # the missing values are the point
    assert not np.isinf(X).any()


def test_missing_categories_are_nan_in_every_indicator():
    X, _ = load_dataset("beijing_aotizhongxin", as_frame=True)
    wind = X[[c for c in X.columns if c.startswith("wd=")]]
    assert wind.shape[1] == 16
    absent = wind.isna().any(axis=1)
    assert absent.sum() > 0 and wind[absent].isna().all(axis=1).all()
    assert (wind[~absent].sum(axis=1) == 1).all()
    X, y = load_dataset("star_raw", as_frame=True)
    assert y.name == "math3" and not {"rowid", "read3", "schoolid3"} & set(X.columns)
