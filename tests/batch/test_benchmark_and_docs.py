"""The batch benchmark methods and the docstrings of conformal.batch."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import conformal.batch as batch
from conformal.batch import batch_simultaneous_rank, bonferroni_rank
from conformal.benchmark import run_benchmark
from conformal.benchmark._methods_batch import (
    BatchIntervals,
    batch_threshold,
    partition_threshold,
    predict_batches,
    score_batches,
)

SCORES = np.random.default_rng(0).random(1000)


def test_thresholds_and_when_they_are_finite():
    """n = 1000, a = 0.1: Bonferroni is finite up to m = 100 (n >= m / a - 1), partitioning up to
    m = 111 (floor(n / m) >= 9), the exact all-at-once rank up to m = 111 (n >= 9 m)."""
    for m in (100, 101, 111, 112):
        exact = batch_threshold("exact", SCORES, m, 0.9)
        bonferroni = batch_threshold("bonferroni", SCORES, m, 0.9)
        assert math.isfinite(exact) == (m <= 111)
        assert math.isfinite(bonferroni) == (m <= 100)
        assert math.isfinite(partition_threshold(SCORES, m, 0.9)) == (m <= 111)
        assert exact <= bonferroni
    assert batch_simultaneous_rank(1000, 50, 0.9)[0] <= bonferroni_rank(1000, 50, 0.9)
    # PAC (delta = 0.1): finite where the others are not
    assert math.isfinite(batch_threshold("exact", SCORES, 200, 0.9, 0.1))
    assert math.isinf(batch_threshold("partition", SCORES, 200, 0.9, 0.1))
    with pytest.raises(ValueError, match=r"kind must be one of \('exact', 'bonferroni',"):
        batch_threshold("max", SCORES, 10, 0.9)


def test_scorer_counts_allowed_misses():
    y = np.zeros(20)
    intervals = np.tile([-1.0, 1.0], (20, 1))
    intervals[[0, 1, 12]] = [2.0, 3.0]  # batch 0 misses 2, batch 1 misses 1
    estimator = BatchIntervals(batch_size=10, delta=0.1)
    batches = np.arange(20) // 10
    predicted = np.column_stack([intervals, batches, np.ones(20)])  # 1 miss allowed per batch
    scores = score_batches(estimator, y, predicted, 0.9)
    assert scores["batch_coverage"] == 0.5
    assert scores["coverage"] == pytest.approx(17 / 20)


def test_runner_batch_task():
    rows = run_benchmark(["yacht"], ["batch-exact", "batch-pointwise"], seeds=1, progress=False)
    assert [r["method"] for r in rows] == ["batch-exact", "batch-pointwise"]
    assert {"batch_coverage", "coverage", "mean_width"} <= set(rows[0])
    assert rows[0]["mean_width"] >= rows[1]["mean_width"]
    assert callable(predict_batches)


PUBLIC = [getattr(batch, name) for name in batch.__all__]
METHODS = [
    getattr(cls, name)
    for cls in (batch.BatchIntervalMixin, batch.BatchSetMixin, batch.BatchSelector)
    for name, _ in inspect.getmembers(cls, inspect.isfunction)
    if not name.startswith("_") and name in cls.__dict__ and "<locals>" not in _.__qualname__
]


@pytest.mark.parametrize("obj", PUBLIC + METHODS, ids=lambda o: o.__qualname__)
def test_numpydoc(obj):
    """The codes tests/test_docstrings.py checks for the public modules."""
    validate = pytest.importorskip("numpydoc.validate")
    result = validate.validate(f"{obj.__module__}.{obj.__qualname__}")
    errors = [e for e in result["errors"] if e[0] in {"GL08", "PR01", "PR02", "PR03", "RT01"}]
    assert not errors, errors
