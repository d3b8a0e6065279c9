"""Warnings issued by the package."""

from __future__ import annotations

import warnings


class ConformalWarning(UserWarning):
    """A result is valid but degenerate, e.g. an infinite interval from too few calibration points.

    Filter it like any warning::

        import warnings
        from conformal import ConformalWarning
        warnings.simplefilter("ignore", ConformalWarning)
    """


def warn_conformal(message: str) -> None:
    """Issue a :class:`ConformalWarning` attributed to the user's line, not the package's.

    The stack level is found by walking out of the ``conformal`` package, so the warning points at
    the user's call however deep inside the package it was raised.
    """
    import sys

    frame = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith("conformal."):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, ConformalWarning, stacklevel=level)
