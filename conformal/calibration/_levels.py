"""Levels and ranks: the one level parser, the exact order-statistic ranks, the one warning.

Levels are read as the decimal the user typed (``0.9`` is exactly 9/10, ``Decimal("0.9")`` and
``Fraction(9, 10)`` too), so ranks carry no floating-point error: ``n = 9`` at
``confidence_level=0.9`` gives rank 9, not 10.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from ..exceptions import warn_conformal

__all__ = [
    "Level",
    "conformal_rank",
    "exact_level",
    "min_calibration_size",
    "one_sided_level",
    "parse_levels",
    "quantile_rank",
    "warn_too_few",
]

Level = float | Fraction
Side = Literal["upper", "lower"]


def exact_level(confidence_level: Any) -> Fraction:
    """``confidence_level`` as an exact fraction (a float as the shortest decimal that
    round-trips; a ``Decimal`` or ``Fraction`` as it is).

    Parameters
    ----------
    confidence_level : float, Decimal or Fraction
        A level, e.g. ``0.9``.

    Returns
    -------
    Fraction
        The level as typed, e.g. ``Fraction(9, 10)`` for ``0.9``.
    """
    if isinstance(confidence_level, Fraction):
        return confidence_level
    if isinstance(confidence_level, Decimal):
        return Fraction(confidence_level)
    return Fraction(repr(float(confidence_level)))


def one_sided_level(confidence_level: Level) -> Fraction:
    """The level of each side when the miscoverage ``a`` is split evenly: ``1 - a / 2``.

    Parameters
    ----------
    confidence_level : float or Fraction
        The two-sided level ``1 - a``.

    Returns
    -------
    Fraction
        The one-sided level ``1 - a / 2``, exact.
    """
    return 1 - (1 - exact_level(confidence_level)) / 2


def _is_number(value: Any) -> bool:
    """A single level: Python and NumPy numbers, ``Decimal``, ``Fraction``, 0-d arrays."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0
    return isinstance(value, (numbers.Real, Decimal))


def parse_levels(
    value: Any, *, name: str = "confidence_level", owner: str | None = None
) -> tuple[list[Fraction], bool]:
    """The package's one level parser: levels as exact fractions, and whether one was given.

    Numbers (float, int, ``Fraction``, ``Decimal``, NumPy scalars, 0-d arrays) are a single
    level; a non-empty sequence of numbers is several. Strings are refused, alone or inside a
    sequence. Every level must lie strictly between 0 and 1.

    Parameters
    ----------
    value : number or sequence of numbers
    name : str, default="confidence_level"
        The parameter's name, for the error message.
    owner : str, default=None
        The class or function whose parameter it is, for the error message.

    Returns
    -------
    levels : list of Fraction
    scalar : bool
        ``True`` for a single number: callers then drop the level axis of their output.

    Raises
    ------
    ValueError
        For a string, an empty sequence, a non-number or a level outside (0, 1), naming the
        parameter and the value.

    Examples
    --------
    >>> from conformal.calibration._levels import parse_levels
    >>> parse_levels(0.9)
    ([Fraction(9, 10)], True)
    >>> parse_levels([0.8, 0.9])[0]
    [Fraction(4, 5), Fraction(9, 10)]
    """
    where = f"The '{name}' parameter" + (f" of {owner}" if owner else "")
    if _is_number(value):
        items: list[Any] = [value.item() if isinstance(value, np.ndarray) else value]
        scalar = True
    elif isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise ValueError(
            f"{where} must be a float in the range (0.0, 1.0) or a sequence of such floats. "
            f"Got {value!r} instead."
        )
    else:
        array = np.asarray(value, dtype=object)
        if array.ndim > 1:
            raise ValueError(
                f"{where} must be a float in the range (0.0, 1.0) or a flat sequence of such "
                f"floats. Got a nested sequence of shape {array.shape} instead."
            )
        items = list(array.ravel())
        scalar = False
        if not items:
            raise ValueError(f"{where} is empty; pass at least one level, e.g. {name}=0.9.")
    levels = []
    for item in items:
        if not _is_number(item):
            raise ValueError(
                f"{where} must be a float in the range (0.0, 1.0) or a sequence of such floats. "
                f"Got {value!r} instead."
            )
        number = float(item)
        if not 0.0 < number < 1.0:
            # An estimator's parameter is shown whole (as scikit-learn does), a function's
            # argument by its offending entry.
            shown = value if owner else item
            raise ValueError(
                f"{where} must be a float in the range (0.0, 1.0) or a sequence of such floats. "
                f"Got {shown!r} instead."
            )
        levels.append(exact_level(item))
    return levels, scalar


def conformal_rank(n: int, confidence_level: Level, *, side: Side = "upper") -> int:
    """Rank (1-based) of the order statistic that calibrates ``n`` scores at a level.

    Parameters
    ----------
    n : int
        Number of calibration scores.
    confidence_level : float
        Target coverage ``1 - a`` in (0, 1).
    side : {"upper", "lower"}, default="upper"
        ``"upper"`` gives ``ceil((1 - a)(n + 1))`` (``n + 1`` or more means ``+inf``);
        ``"lower"`` gives ``floor(a (n + 1))`` (0 means ``-inf``).

    Returns
    -------
    int

    Examples
    --------
    >>> from conformal.calibration import conformal_rank
    >>> conformal_rank(9, 0.9), conformal_rank(8, 0.9), conformal_rank(19, 0.9, side="lower")
    (9, 9, 2)
    """
    level = exact_level(confidence_level)
    if side == "upper":
        return math.ceil(level * (n + 1))
    if side == "lower":
        return math.floor((1 - level) * (n + 1))
    raise ValueError(f"The 'side' parameter must be 'upper' or 'lower'. Got {side!r} instead.")


def quantile_rank(n: int, p: Level, side: Literal["central", "lower", "upper"]) -> int:
    """Rank (0 means ``-inf``, ``n + 1`` means ``+inf``) of the ``p``-quantile of ``n`` values
    with the conformal rounding: ``"upper"`` ``ceil(p (n + 1))``, ``"lower"``
    ``floor(p (n + 1))``, ``"central"`` lower below 1/2 and upper from 1/2 on.

    Parameters
    ----------
    n : int
        Number of values.
    p : float or Fraction
        Probability of the quantile, in (0, 1).
    side : {"central", "lower", "upper"}
        Rounding of the rank, as above.

    Returns
    -------
    int
        The 1-based rank, in ``[0, n + 1]``.
    """
    p = exact_level(p)
    if side == "upper" or (side == "central" and p >= Fraction(1, 2)):
        return conformal_rank(n, p, side="upper")
    return conformal_rank(n, 1 - p, side="lower")


def min_calibration_size(confidence_level: Level) -> int:
    """Smallest calibration set whose threshold at ``confidence_level`` is finite.

    Parameters
    ----------
    confidence_level : float or Fraction
        The level, in (0, 1).

    Returns
    -------
    int
        ``ceil(level / (1 - level))``: the smallest ``n`` with ``ceil(level (n + 1)) <= n``.

    Examples
    --------
    >>> from conformal.calibration import min_calibration_size
    >>> min_calibration_size(0.9), min_calibration_size(0.95)
    (9, 19)
    """
    level = exact_level(confidence_level)
    return math.ceil(level / (1 - level))


def warn_too_few(
    n: int,
    levels: Sequence[Level],
    *,
    where: str = "",
    tails: int = 1,
    what: str = "infinite intervals",
    name: str = "confidence_level",
    shown: Sequence[Level] | None = None,
) -> None:
    """One :class:`~conformal.ConformalWarning` for all levels that ``n`` points cannot reach.

    Parameters
    ----------
    n : int
        Number of calibration points.
    levels : sequence of Level
        The levels the user asked for (never the per-tail levels).
    where : str, default=""
        Which calibration set, e.g. ``" of group 'b'"``.
    tails : {1, 2}, default=1
        2 when each tail is calibrated at ``1 - a / 2`` (signed and asymmetric scores): the
        needed size is that of the one-sided level, the message names the user's level.
    what : str, default="infinite intervals"
        What the user gets instead ("full prediction sets", "infinite quantiles").
    name : str, default="confidence_level"
        The parameter the levels came from.
    shown : sequence of Level, default=None
        The values to name in the message, one per level (default: the levels themselves),
        e.g. the quantile level ``p`` whose lower quantile needs the coverage ``1 - p``.
    """
    effective = {lv: (one_sided_level(lv) if tails == 2 else lv) for lv in levels}
    short = [lv for lv in levels if n < min_calibration_size(effective[lv])]
    if not short:
        return
    shown_of = dict(zip(levels, levels if shown is None else shown, strict=True))
    parts = []
    for lv in sorted(set(short), key=lambda lv: min_calibration_size(effective[lv])):
        needed = min_calibration_size(effective[lv])
        part = f"{name}={float(shown_of[lv]):g} needs at least {needed}"
        if tails == 2:
            part += f" (each tail is calibrated at {float(effective[lv]):g})"
        parts.append(part)
    warn_conformal(
        f"calibration set{where} has {n} point{'s' if n != 1 else ''}; {', '.join(parts)} "
        f"(or returns {what})"
    )
