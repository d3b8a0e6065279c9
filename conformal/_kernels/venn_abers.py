"""The isotonic step of Venn-ABERS prediction: one isotonic fit per possible test position.

An inductive Venn-ABERS predictor needs, for a test score ``s``, the isotonic (increasing)
regression of the calibration labels on the calibration scores with one more point ``(s, 1)``,
evaluated at ``s`` (the "upper" probability ``p1``; ``p0`` uses ``(s, 0)``). Refitting for every
test point costs ``O(n)`` each. Vovk, Petej and Fedorova (2015) compute the answer for every
*distinct* calibration score at once from the cumulative sum diagram (CSD) and its greatest
convex minorant (GCM); a test score then costs one binary search.

The CSD of the calibration data, grouped by distinct score ``j = 1..k`` with ``w_j`` points of
which ``y_j`` are labelled 1, is ``P_0 = (0, 0)``, ``P_j = (w_1 + ... + w_j, y_1 + ... + y_j)``.
The isotonic regression at score ``j`` is the slope of the GCM over ``[P_{j-1}, P_j]``. Putting
the test point labelled 1 first, the diagram starts at ``P_{-1} = (-1, -1)``; putting it after
group ``i - 1`` moves its increment ``(1, 1)`` right, which replaces one corner of the diagram by
its mirror image in the parallelogram of the two increments. The test point's fitted value is
the slope of the GCM edge over its increment, and it only grows as the test point moves right,
so a single stack, built by a Graham scan and then updated corner by corner, gives all ``k``
answers in ``O(k)`` after the sort.

Coordinates are integers (counts), so every orientation test is exact; the kernel returns each
answer as an exact fraction ``numerator / denominator``. ``p0`` follows from the same kernel by
symmetry (reverse the score order and swap the labels), see
:mod:`conformal.classification._venn_abers`.
"""

from __future__ import annotations

import numpy as np

from ._config import jit


@jit
def upper_isotonic_values(counts, positives):  # pragma: no cover - compiled
    """Isotonic fit at every distinct score when a test point labelled 1 joins that score.

    Parameters
    ----------
    counts : int64 (k,)
        Number of calibration points at each distinct score, in increasing score order (>= 1).
    positives : int64 (k,)
        How many of them are labelled 1 (``0 <= positives <= counts``).

    Returns
    -------
    numerator, denominator : int64 (k,)
        ``numerator[j] / denominator[j]`` is the isotonic regression, evaluated at score ``j``,
        of the calibration labels plus a test point labelled 1 with score ``j``; the same value
        holds for a test score strictly between scores ``j - 1`` and ``j``.
    """
    k = counts.shape[0]
    # Corners P_{-1}, P_0, ..., P_k of the CSD, P_m stored at index m + 1.
    px = np.empty(k + 2, dtype=np.int64)
    py = np.empty(k + 2, dtype=np.int64)
    px[0], py[0], px[1], py[1] = -1, -1, 0, 0
    for j in range(k):
        px[j + 2] = px[j + 1] + counts[j]
        py[j + 2] = py[j + 1] + positives[j]
    # GCM of all corners by a left-to-right Graham scan (collinear middle corners dropped).
    gx = np.empty(k + 2, dtype=np.int64)
    gy = np.empty(k + 2, dtype=np.int64)
    size = 0
    for m in range(k + 2):
        x, y = px[m], py[m]
        while size > 1 and (
            (gx[size - 1] - gx[size - 2]) * (y - gy[size - 1])
            - (gy[size - 1] - gy[size - 2]) * (x - gx[size - 1])
            <= 0
        ):
            size -= 1
        gx[size], gy[size] = x, y
        size += 1
    # The same chain as a stack whose top (index top) is its leftmost corner.
    sx = np.empty(k + 2, dtype=np.int64)
    sy = np.empty(k + 2, dtype=np.int64)
    for t in range(size):
        sx[t], sy[t] = gx[size - 1 - t], gy[size - 1 - t]
    top = size - 1
    numerator = np.empty(k, dtype=np.int64)
    denominator = np.empty(k, dtype=np.int64)
    for i in range(1, k + 1):
        # The test point's increment lies under the first edge of the stack.
        numerator[i - 1] = sy[top - 1] - sy[top]
        denominator[i - 1] = sx[top - 1] - sx[top]
        # Move the test point after group i: corner P_{i-1} becomes P_{i-2} + P_i - P_{i-1}.
        nx = px[i - 1] + px[i + 1] - px[i]
        ny = py[i - 1] + py[i + 1] - py[i]
        px[i], py[i] = nx, ny
        # A corner on or above the first edge changes nothing; one below it starts the chain.
        ax, ay, bx, by = sx[top], sy[top], sx[top - 1], sy[top - 1]
        if (bx - ax) * (ny - ay) - (by - ay) * (nx - ax) >= 0:
            continue
        top -= 1
        while top > 0 and (
            (sx[top] - nx) * (sy[top - 1] - sy[top]) - (sy[top] - ny) * (sx[top - 1] - sx[top]) <= 0
        ):
            top -= 1
        top += 1
        sx[top], sy[top] = nx, ny
    return numerator, denominator
