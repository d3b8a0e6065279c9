"""Comparing our intervals with a peer's (or a naive formula's) that does not round outward.

Since issue 9, every bound is moved outward to the last float whose score is still at most the
threshold; peers compute ``f -+ q`` and stop there. The two then agree except where the rounded
bound fell inside that float: there ours is wider by a few units in the last place.
"""

from __future__ import annotations

import numpy as np


def assert_outward_equal(ours, theirs, *, ulps: int = 16) -> None:
    """``ours`` is ``theirs`` rounded outward: the same shape and infinities, no finite lower
    bound above theirs, no finite upper bound below theirs, and no bound further than ``ulps``
    units in the last place of the largest finite magnitude involved."""
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
    np.testing.assert_array_equal(ours[np.isinf(ours)], theirs[np.isinf(theirs)])
    finite = np.isfinite(theirs)
    lower, upper = finite[..., 0], finite[..., 1]
    assert (ours[..., 0][lower] <= theirs[..., 0][lower]).all(), "a lower bound moved inward"
    assert (ours[..., 1][upper] >= theirs[..., 1][upper]).all(), "an upper bound moved inward"
    scale = np.max(np.abs(theirs[finite]), initial=1.0)
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=0, atol=ulps * np.spacing(scale))
