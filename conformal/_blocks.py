"""Row blocks: the one memory policy for work that builds an (n_rows, n_columns) matrix.

Fold predictions, plus bounds and predictive distributions are computed a block of rows at a
time so that no float64 block exceeds :data:`BLOCK_BYTES`; no ``n_test x n_calibration`` matrix
is ever built whole.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

__all__ = ["BLOCK_BYTES", "block_slices", "use_union"]

# Upper bound on the bytes of the (rows, columns) float64 blocks built at predict time.
BLOCK_BYTES = 64 * 2**20


def block_slices(n_rows: int, n_columns: int) -> Iterator[slice]:
    """Slices of rows such that a float64 block of ``n_columns`` columns stays under
    :data:`BLOCK_BYTES`."""
    step = max(1, BLOCK_BYTES // (8 * max(n_columns, 1)))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def use_union(n: int, n_folds: int) -> bool:
    """Whether selecting across the folds' sorted scores (O(K log^2 n) per test point) beats
    streaming the n values (O(n))."""
    return n_folds * math.log2(n + 2) ** 2 < n
