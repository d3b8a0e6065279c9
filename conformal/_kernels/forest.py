"""Leaf- and neighbour-weighted quantiles (quantile regression forests, k-nearest neighbours).

One kernel serves both models. The training targets are sorted once (``sorted_values``) and each
training entry is named by its *rank* in that order. A test row points at G groups of entries
(a forest: the leaf it falls in, in each of the G trees; kNN: its k neighbours, each a group of
one entry); an entry carries a weight inside its group (a forest: its share of the leaf), and a
group can be scaled per test row (kNN: inverse distance). The test row's distribution puts the
summed weight of each rank on that rank's value; its quantiles are read in one sweep over the
touched ranks in increasing order, all levels at once.

Per test row the cost is O(S) for S gathered entries (a radix sort of their ranks, a few
passes, then one sweep) with buffers of O(S) per thread: no (n_test, n_train) matrix and no
O(n_train) work or memory per test row.
"""

from __future__ import annotations

import numpy as np

from ._config import jit, parallel_rows

_ROWS = 256  # rows per thread below which the calling thread does everything (O(S) per row)
_BLOCK = 64  # test rows gathered together, group by group (see _grouped_rows)


@jit
def _grouped_rows(
    groups, scale, starts, ranks, weights, sorted_values, levels, rtol, out, begin, end
):  # pragma: no cover - compiled
    n = sorted_values.shape[0]
    n_groups = groups.shape[1]
    n_levels = levels.shape[0]
    scaled = scale.shape[0] > 0
    lo = np.empty((_BLOCK, n_groups), dtype=np.int64)
    hi = np.empty((_BLOCK, n_groups), dtype=np.int64)
    offset = np.empty(_BLOCK + 1, dtype=np.int64)
    position = np.empty(_BLOCK, dtype=np.int64)
    gathered_ranks = np.empty(1024, dtype=np.int64)
    gathered_weights = np.empty(1024, dtype=np.float64)
    keys = np.empty((2, 1024), dtype=np.int64)
    masses = np.empty((2, 1024), dtype=np.float64)
    counts = np.empty(257, dtype=np.int64)
    for first in range(begin, end, _BLOCK):
        size = min(_BLOCK, end - first)
        # Gather group by group (tree by tree) for a block of rows: one tree's nodes and entries
        # are contiguous, so the block's lookups stay in cache, where row by row each of the G
        # lookups would land in another tree's part of the table (a cache miss each).
        for g in range(n_groups):
            for b in range(size):
                group = groups[first + b, g]
                lo[b, g] = starts[group]
                hi[b, g] = starts[group + 1]
        offset[0] = 0
        longest = 0
        for b in range(size):
            count = 0
            for g in range(n_groups):
                count += hi[b, g] - lo[b, g]
            offset[b + 1] = offset[b] + count
            position[b] = offset[b]
            longest = max(longest, count)
        if offset[size] > gathered_ranks.shape[0]:
            gathered_ranks = np.empty(2 * offset[size], dtype=np.int64)
            gathered_weights = np.empty(2 * offset[size], dtype=np.float64)
        if longest > keys.shape[1]:
            keys = np.empty((2, 2 * longest), dtype=np.int64)
            masses = np.empty((2, 2 * longest), dtype=np.float64)
        for g in range(n_groups):
            for b in range(size):
                factor = scale[first + b, g] if scaled else 1.0
                p = position[b]
                for e in range(lo[b, g], hi[b, g]):
                    gathered_ranks[p] = ranks[e]
                    gathered_weights[p] = weights[e] * factor
                    p += 1
                position[b] = p
        for b in range(size):
            j = first + b
            count = offset[b + 1] - offset[b]
            for i in range(count):
                keys[0, i] = gathered_ranks[offset[b] + i]
                masses[0, i] = gathered_weights[offset[b] + i]
            # Least-significant-digit radix sort of the ranks, 8 bits a pass, back and forth
            # between the two rows of keys / masses: O(count + 256) a pass, ceil(log2(n) / 8)
            # passes; stable, so a rank's weights stay in group order and their sum below is the
            # one a dense accumulator (the reference) would hold. No np.sort: it would compile
            # a large generic implementation into the kernel (see :mod:`.quantile`).
            src = 0
            shift = 0
            while (n - 1) >> shift > 0 and count > 1:
                for d in range(257):
                    counts[d] = 0
                for i in range(count):
                    counts[((keys[src, i] >> shift) & 255) + 1] += 1
                for d in range(256):
                    counts[d + 1] += counts[d]
                dst = 1 - src
                for i in range(count):
                    digit = (keys[src, i] >> shift) & 255
                    keys[dst, counts[digit]] = keys[src, i]
                    masses[dst, counts[digit]] = masses[src, i]
                    counts[digit] += 1
                src = dst
                shift += 8
            total = 0.0
            for i in range(count):
                w = masses[src, i]
                if w > 0.0:  # (a zero-weight neighbour adds nothing)
                    total += w
            if not total > 0.0:  # no weight at all: no distribution to take a quantile of
                for t in range(n_levels):
                    out[j, t] = np.nan
                continue
            # Accumulate rank by rank. The slack absorbs rounding of the levels and sums
            # (0.07 * 100 is 7.000000000000001), as in :func:`.quantile.weighted_quantiles`.
            t = 0
            running = 0.0
            last = -1
            i = 0
            while i < count:
                r = keys[src, i]
                mass = 0.0
                while i < count and keys[src, i] == r:
                    w = masses[src, i]
                    if w > 0.0:
                        mass += w
                    i += 1
                if mass > 0.0:
                    last = r
                    running += mass
                    while t < n_levels and running >= levels[t] * total - rtol * total:
                        out[j, t] = sorted_values[r]
                        t += 1
            while t < n_levels:  # rounding only: the largest value with weight
                out[j, t] = sorted_values[last]
                t += 1


def grouped_weighted_quantiles(
    groups: np.ndarray,
    scale: np.ndarray,
    starts: np.ndarray,
    ranks: np.ndarray,
    weights: np.ndarray,
    sorted_values: np.ndarray,
    levels: np.ndarray,
    rtol: float = 1e-12,
) -> np.ndarray:
    """Weighted quantiles of each test row's gathered entries, all levels in one sweep.

    Parameters
    ----------
    groups : int64 (m, G)
        ``groups[j, g]``: the g-th group (a forest's leaf, numbered across trees; a neighbour) of
        test row j.
    scale : float64 (m, G) or (0, 0)
        Non-negative factor of every entry of group ``groups[j, g]`` for row j (kNN's distance
        weights); an empty array means 1 everywhere.
    starts : int64 (n_groups + 1,)
        Group ``k`` owns entries ``[starts[k], starts[k + 1])``.
    ranks : int64 (n_entries,)
        The rank (position in ``sorted_values``) of each entry.
    weights : float64 (n_entries,)
        Non-negative weight of each entry within its group.
    sorted_values : float64 (n,)
        The training targets, sorted increasingly.
    levels : float64 (L,)
        Strictly increasing levels in (0, 1).
    rtol : float, default=1e-12
        Relative slack of the target mass.

    Returns
    -------
    float64 (m, L)
        ``out[j, l]``: the smallest value ``v`` with ``C_j(v) >= levels[l] * W_j - rtol * W_j``,
        where ``C_j(v)`` is the weight row j gathered on values ``<= v`` and ``W_j`` all of it
        (the inverse of the weighted empirical CDF: no interpolation). NaN for a row with no
        positive weight.
    """
    m = groups.shape[0]
    out = np.empty((m, levels.shape[0]), dtype=np.float64)
    args = (groups, scale, starts, ranks, weights, sorted_values, levels, float(rtol), out)
    parallel_rows(_grouped_rows, m, args, _ROWS)
    return out
