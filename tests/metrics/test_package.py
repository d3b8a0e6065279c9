"""conformal.metrics is a package; its public names and the CRPS alias stay importable."""

import conformal.metrics as metrics
from conformal.calibration._crps import crps_sorted


def test_public_names_are_exported():
    for name in metrics.__all__:
        assert getattr(metrics, name).__name__ == name


def test_crps_sorted_alias_for_the_predictive_distributions():
    from conformal.metrics import _crps_sorted

    assert _crps_sorted is crps_sorted
