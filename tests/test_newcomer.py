"""Newcomer friction (issue 10) that is not the CLI's: a normalized score around a Pipeline with
string columns, packaging metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from conformal import SplitConformalRegressor
from conformal.scores import NormalizedScore

ROOT = Path(__file__).parent.parent


def _mixed(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], size=n)})
    noise = rng.normal(size=n) * (1 + 2 * (X["c"] == "z"))
    return X, 2 * X["a"] + 3 * (X["c"] == "x") + noise


def test_default_difficulty_model_reuses_the_pipelines_preprocessing():
    X, y = _mixed()
    encode = make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough")
    model = SplitConformalRegressor(
        make_pipeline(encode, LinearRegression()), conformity_score="normalized", random_state=0
    ).fit(X, y)
    assert model.difficulty_estimator_.steps[0][0] == "columntransformer"
    widths = np.diff(model.predict_interval(X), axis=1).ravel()
    noisy = (X["c"] == "z").to_numpy()
    assert widths[noisy].mean() > 1.5 * widths[~noisy].mean()  # it sees the noisy category


class _StringTolerant(RegressorMixin, BaseEstimator):
    """A point model that ignores its features (so it accepts strings)."""

    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_default_difficulty_model_that_cannot_read_X_names_the_fix():
    X, y = _mixed()
    with pytest.raises(ValueError, match=r"NormalizedScore\(difficulty_estimator=make_pipeline"):
        SplitConformalRegressor(
            _StringTolerant(), conformity_score="normalized", random_state=0
        ).fit(X, y)
    # a difficulty model of the user's is used as given, its own error unchanged
    with pytest.raises(ValueError, match="could not convert string to float"):
        SplitConformalRegressor(
            _StringTolerant(),
            conformity_score=NormalizedScore(LinearRegression()),
            random_state=0,
        ).fit(X, y)


def test_license_is_an_spdx_string_and_the_distribution_name_is_free():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "BSD-3-Clause"  # not the deprecated table form
    assert any(r.startswith("setuptools>=77") for r in project["build-system"]["requires"])
    assert project["project"]["name"] == "conformal-learn"


def test_plot_title_says_how_many_points_are_drawn():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from conformal.plotting import plot_intervals

    y = np.linspace(0.0, 1.0, 300)
    ax = plot_intervals(y, np.column_stack([y - 1, y + 1]), max_points=40)
    assert ax.get_title().endswith("300 of 300 points covered (100.0%); 40 drawn at random")
    assert len(ax.collections[0].get_segments()) == 40


def test_committed_notebooks_carry_no_machine_paths():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        text = path.read_text()
        for fragment in ("/tmp/", "/work/", "/root/", "/home/", "site-packages"):
            assert fragment not in text, f"{path.name} shows {fragment}"
