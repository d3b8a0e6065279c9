"""conformal.metrics is a package; its public names stay importable, old names warn."""

import numpy as np
import pytest

import conformal.metrics as metrics


def test_public_names_are_exported():
    for name in metrics.__all__:
        assert getattr(metrics, name).__name__ == name


def test_crps_is_the_old_name_of_mean_crps():
    with pytest.warns(FutureWarning, match=r"crps is renamed mean_crps \(it returns the mean"):
        old = metrics.crps([0.0, 3.0], [[-1.0, 1.0], [-1.0, 1.0]])
    assert old == metrics.mean_crps([0.0, 3.0], [[-1.0, 1.0], [-1.0, 1.0]]) == 1.5
    assert np.isfinite(old)
