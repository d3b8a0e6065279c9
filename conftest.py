"""Test-session setup: one OpenMP / BLAS / numba thread per xdist worker, numpy in doctests.

With two xdist workers on two cores, oversubscribed OpenMP barriers made scikit-learn's gradient
boosting up to 10x slower on this kind of machine. The variables must be set before numpy,
scikit-learn or numba are imported, hence at the top of the root conftest.
"""

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_name] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _doctest_numpy(doctest_namespace):
    doctest_namespace["np"] = np
