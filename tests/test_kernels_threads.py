"""Kernels split their rows over threads (``_config.parallel_rows``): several threads give exactly
what one thread gives, and every row is written once. Test sessions often run with one numba
thread per worker, so the thread count is forced here."""

import threading

import numpy as np
import pytest

from conformal._kernels import _config
from conformal._kernels.intervals import fill_intervals
from conformal._kernels.quantile import (
    grouped_order_statistics,
    oob_medians,
    shifted_order_statistics,
    union_order_statistics,
    weighted_quantiles,
    weighted_shifted_quantiles,
    weighted_union_quantiles,
)


@pytest.fixture
def threads(monkeypatch):
    """Call ``run()`` with one thread, then with three: both results."""

    def both(run):
        monkeypatch.setattr(_config, "n_threads", lambda: 1)
        one = run()
        monkeypatch.setattr(_config, "n_threads", lambda: 3)
        three = run()
        return one, three

    return both


def _assert_same(pair):
    one, three = pair
    if isinstance(one, tuple):
        for a, b in zip(one, three, strict=True):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_array_equal(one, three)


def test_parallel_rows_covers_every_row_once(monkeypatch):
    monkeypatch.setattr(_config, "n_threads", lambda: 4)
    seen = np.zeros(1003, dtype=np.int64)
    names = set()
    lock = threading.Lock()

    def worker(out, begin, end):
        with lock:
            names.add(threading.current_thread().name)
        out[begin:end] += 1

    _config.parallel_rows(worker, 1003, (seen,), 10)
    np.testing.assert_array_equal(seen, 1)
    # The caller takes the first range, the pool the others (an idle pool thread may take two).
    assert threading.current_thread().name in names
    assert len(names) >= 2
    seen[:] = 0
    _config.parallel_rows(worker, 15, (seen,), 10)  # under 2 * min_rows: the caller alone
    np.testing.assert_array_equal(seen[:15], 1)


def test_parallel_rows_raises_what_a_worker_raises(monkeypatch):
    monkeypatch.setattr(_config, "n_threads", lambda: 2)

    def worker(begin, end):
        if begin > 0:
            raise ValueError("second range")

    with pytest.raises(ValueError, match="second range"):
        _config.parallel_rows(worker, 100, (), 1)


def test_plus_kernels(threads):
    rng = np.random.default_rng(0)
    n, m, n_folds = 3000, 1000, 10
    scores = np.abs(rng.normal(size=n))
    weights = rng.exponential(size=n)
    fold_of = (np.arange(n) % n_folds).astype(np.int64)
    centers = rng.normal(size=(m, n_folds))
    order = np.lexsort((scores, fold_of))
    sorted_scores = scores[order]
    starts = np.searchsorted(fold_of[order], np.arange(n_folds + 1)).astype(np.int64)
    cumulative = np.concatenate(
        [np.cumsum(weights[order][starts[k] : starts[k + 1]]) for k in range(n_folds)]
    )
    ranks = np.array([30, 1500, 2700], dtype=np.int64)
    levels = np.array([0.1, 0.9])
    test_weights = rng.exponential(size=m)
    _assert_same(
        threads(
            lambda: (
                union_order_statistics(sorted_scores, starts, centers, -1.0, ranks),
                shifted_order_statistics(centers, fold_of, scores, 1.0, ranks),
                weighted_union_quantiles(
                    sorted_scores, cumulative, starts, centers, 1.0, test_weights, levels, 1e-12
                ),
                weighted_shifted_quantiles(
                    centers, fold_of, scores, weights, -1.0, test_weights, levels, 1e-12
                ),
            )
        )
    )


def test_oob_medians(threads):
    rng = np.random.default_rng(1)
    predictions = rng.normal(size=(900, 12))
    oob = rng.random((50, 12)) < 0.4
    oob[:, 0] = True
    _assert_same(threads(lambda: oob_medians(predictions, oob)))


def test_weighted_and_grouped_quantiles(threads):
    rng = np.random.default_rng(2)
    n = 70_000
    values = rng.normal(size=n)
    codes = rng.integers(0, 5, size=n).astype(np.int64)
    ranks = np.tile(np.array([[10, 1000, 13_000]], dtype=np.int64), (5, 1))
    sorted_values = np.sort(values)
    cumulative = np.cumsum(rng.exponential(size=n))
    test_weights = rng.exponential(size=13_000)
    _assert_same(
        threads(
            lambda: (
                grouped_order_statistics(values, codes, 5, ranks),
                weighted_quantiles(
                    sorted_values, cumulative, test_weights, np.array([0.5, 0.9]), 1e-12
                ),
            )
        )
    )


def test_fill_intervals(threads):
    rng = np.random.default_rng(3)
    n = 200_000
    lo = rng.normal(size=n)
    q = np.array([[1.0, 2.0]])

    def run():
        out = np.empty((n, 2, 2))
        fill_intervals(lo, lo + 1.0, q, q, np.array([2.0]), out)
        return out

    one, three = threads(run)
    np.testing.assert_array_equal(one, three)
    np.testing.assert_array_equal(one[:, 1, 1], lo + 1.0 + 4.0)
