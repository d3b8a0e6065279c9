"""Figures for prediction intervals (matplotlib is optional and imported only when plotting)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["plot_intervals"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib: pip install 'conformal[plot]' (or matplotlib)"
        ) from err
    return plt


def plot_intervals(
    y: ArrayLike,
    intervals: ArrayLike,
    y_pred: ArrayLike | None = None,
    *,
    order_by: ArrayLike | None = None,
    max_points: int = 200,
    ax: Any = None,
    random_state: int = 0,
) -> Any:
    """Intervals against the truth: covered points in one colour, missed points in another.

    Parameters
    ----------
    y : array-like of shape (n,)
        Observed targets.
    intervals : array-like of shape (n, 2)
        ``[lower, upper]`` for each point.
    y_pred : array-like of shape (n,), default=None
        Point predictions, drawn as small ticks.
    order_by : array-like of shape (n,), default=None
        Sort key along the x axis (default: the interval centre, so widths are easy to compare).
    max_points : int, default=200
        Plot a random subset of at most this many points (seeded by ``random_state``).
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when ``None``.
    random_state : int, default=0

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from conformal.plotting import plot_intervals
    >>> y = np.array([0.0, 1.0, 3.0])
    >>> ax = plot_intervals(y, np.array([[-1.0, 1.0], [0.0, 2.0], [0.0, 2.0]]))
    >>> ax.get_title()
    'Prediction intervals: 2 of 3 points covered (66.7%)'
    >>> many = np.linspace(0.0, 1.0, 500)
    >>> plot_intervals(many, np.column_stack([many - 1, many + 1]), max_points=50).get_title()
    'Prediction intervals: 500 of 500 points covered (100.0%); 50 drawn at random'
    """
    plt = _pyplot()
    target = np.asarray(y, dtype=np.float64).ravel()
    bounds = np.asarray(intervals, dtype=np.float64)
    if bounds.shape != (target.shape[0], 2):
        raise ValueError(
            f"intervals must have shape (n, 2) = ({target.shape[0]}, 2). Got {bounds.shape}; "
            "for several levels pass intervals[:, j] for one level j."
        )
    covered = (bounds[:, 0] <= target) & (target <= bounds[:, 1])
    index = np.arange(target.shape[0])
    if target.shape[0] > max_points:
        index = np.sort(
            np.random.default_rng(random_state).choice(index, max_points, replace=False)
        )
    key = bounds[index].mean(axis=1) if order_by is None else np.asarray(order_by)[index]
    index = index[np.argsort(key, kind="stable")]
    x = np.arange(index.shape[0])
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    ax.vlines(
        x, bounds[index, 0], bounds[index, 1], color="tab:blue", alpha=0.45, lw=2, label="interval"
    )
    if y_pred is not None:
        ax.plot(
            x,
            np.asarray(y_pred, dtype=np.float64).ravel()[index],
            "_",
            color="tab:blue",
            ms=6,
            label="prediction",
        )
    hit = covered[index]
    ax.plot(x[hit], target[index][hit], ".", color="black", ms=4, label="covered")
    ax.plot(x[~hit], target[index][~hit], "x", color="tab:red", ms=5, label="missed")
    ax.set_xlabel("test points, sorted" if order_by is not None else "test points, by centre")
    ax.set_ylabel("y")
    drawn = "" if index.shape[0] == target.shape[0] else f"; {index.shape[0]} drawn at random"
    ax.set_title(
        f"Prediction intervals: {int(covered.sum())} of {covered.size} points covered "
        f"({100 * covered.mean():.1f}%){drawn}"
    )
    ax.legend(loc="upper left", frameon=False)
    return ax
