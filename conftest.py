"""Doctests run with warnings shown, not raised; numpy prints in its modern legacy-free style."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _doctest_numpy(doctest_namespace):
    doctest_namespace["np"] = np
