"""What the interval and set reports share: one row per level, the worst stratum, and the
rendering of the rows as text, HTML, ``repr`` and a pandas DataFrame.

A report is a frozen dataclass of per-level statistics plus tuples of rows (NamedTuples, one per
stratum and level). Everything here reads those rows through a few class attributes, so the two
reports differ only in their statistics and their strata.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ._validation import Floats

if TYPE_CHECKING:
    import pandas as pd

#: A statistic of a row: per-sample values of shape (n, L) and how to reduce one level's column.
Stat = tuple[NDArray[Any], Callable[[NDArray[Any]], Any]]


def _number(value: float, digits: int = 4) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def _short(value: Any) -> str:
    """A statistic for ``repr``: a float or an array of floats in 4 significant digits."""
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(_number(float(v)) for v in value) + "]"
    if isinstance(value, float):
        return _number(value)
    return repr(value)


def _frozen(values: list[float], scalar: bool) -> float | Floats:
    """The shape rule for a report attribute: a float, or a read-only ``(L,)`` array (a report
    is immutable, so its arrays are too)."""
    if scalar:
        return float(values[0])
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _level_rows(
    make: Callable[..., Any],
    levels: Sequence[float] | None,
    stats: Mapping[str, Stat | None],
    only: int | None = None,
) -> list[Any]:
    """One row per level for the samples given (``only``: that level alone).

    Parameters
    ----------
    make : callable
        Builds a row from keywords: the row type with its stratum fields already bound.
    levels : sequence of float or None
        The nominal level of each position on the level axis, or ``None`` when not given.
    stats : mapping
        ``{field: (values, reduce)}`` with ``values`` of shape (n, L), reduced per level column;
        ``{field: None}`` leaves that field ``None`` in every row. At least one is not ``None``.
    only : int, default=None
        Make the row of this level alone.

    Returns
    -------
    rows : list
        ``make(level=j, confidence_level=..., n=n, **{field: float(reduce(values[:, j]))})``.
    """
    n, n_levels = next(stat[0].shape for stat in stats.values() if stat is not None)
    return [
        make(
            level=j,
            confidence_level=None if levels is None else levels[j],
            n=int(n),
            **{
                key: None if stat is None else float(stat[1](stat[0][:, j]))
                for key, stat in stats.items()
            },
        )
        for j in (range(n_levels) if only is None else [only])
    ]


def _level_columns(level_rows: Sequence[Any], keys: Sequence[str], scalar: bool) -> dict[str, Any]:
    """The report attributes over all samples: each key's values across the level rows, under
    the shape rule; ``None`` for a statistic the rows do not have (no level given)."""
    out: dict[str, Any] = {}
    for key in keys:
        values = [getattr(row, key) for row in level_rows]
        out[key] = None if values[0] is None else _frozen(values, scalar)
    return out


def _given_levels(levels: Sequence[float] | None, scalar: bool) -> float | tuple[float, ...] | None:
    """The ``confidence_level`` attribute: the float, the tuple of floats, or ``None``."""
    if levels is None:
        return None
    return levels[0] if scalar else tuple(levels)


def _worst(
    rows: Sequence[Any],
    label: str,
    name: str,
    levels: Sequence[float] | None,
    level_rows: Sequence[Any],
    scalar: bool,
) -> dict[str, Any]:
    """The stratum with the lowest coverage at each level (the first in row order on ties).

    Returns ``{f"worst_{name}": labels, f"worst_{name}_coverage": ..., f"worst_{name}_gap": ...}``
    with the gap measured below the nominal level, or below the coverage over all samples when
    no level is given (positive means under-coverage); ``{}`` when there are no rows.
    """
    if not rows:
        return {}
    reference = list(levels) if levels is not None else [float(row.coverage) for row in level_rows]
    names, coverages, gaps = [], [], []
    for j, target in enumerate(reference):
        worst = min((row for row in rows if row.level == j), key=lambda row: row.coverage)
        names.append(getattr(worst, label))
        coverages.append(worst.coverage)
        gaps.append(float(target) - worst.coverage)
    return {
        f"worst_{name}": names[0] if scalar else tuple(names),
        f"worst_{name}_coverage": _frozen(coverages, scalar),
        f"worst_{name}_gap": _frozen(gaps, scalar),
    }


class _TableReport:
    """What the report classes share: equality on their rows, ``repr``, the plain-text table, the
    HTML table, the DataFrame and the "worst stratum" lines.

    A subclass is a frozen dataclass (``eq=False, repr=False``, so that these methods are used)
    that sets the class attributes below and defines ``rows``.
    """

    _row_type: ClassVar[Any]
    """The NamedTuple of the rows; its fields are the DataFrame's columns."""
    _columns: ClassVar[tuple[tuple[str, str], ...]]
    """(row field, title) of each column of the text and HTML tables."""
    _label: ClassVar[str]
    """The row field that names the stratum (``None`` for the rows over all samples)."""
    _text_keys: ClassVar[tuple[str, ...]]
    """Row fields written as they are."""
    _fraction_keys: ClassVar[tuple[str, ...]]
    """Row fields written with 3 decimals; the other numbers get 4 significant digits."""
    _repr_keys: ClassVar[tuple[str, ...]]
    """Attributes shown by ``repr`` after ``n``."""
    _strata: ClassVar[tuple[tuple[str, str, str], ...]]
    """(rows attribute, singular, plural) of the strata counted in the title."""
    _worst_kinds: ClassVar[tuple[str, ...]]
    """For each ``name``, the attributes ``worst_{name}``, ``worst_{name}_coverage`` and
    ``worst_{name}_gap``."""

    n: int
    confidence_level: float | tuple[float, ...] | None
    level_rows: tuple[Any, ...]
    group_rows: tuple[Any, ...]

    @property
    def rows(self) -> tuple[Any, ...]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _key(self) -> tuple[Any, ...]:
        return (self.n, self.confidence_level, self.rows)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _TableReport) or type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = [f"n={self.n}"]
        parts += [f"{key}={_short(getattr(self, key))}" for key in self._repr_keys]
        if self.confidence_level is not None:
            parts.append(f"confidence_level={_short(self.confidence_level)}")
        if self.group_rows:
            parts.append(f"n_groups={len(self.group_rows) // len(self.level_rows)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    @property
    def _several(self) -> bool:
        return len(self.level_rows) > 1

    def _format(self, row: Any, key: str) -> str:
        """One table cell; a level without a nominal value shows as its position (``#1``) when
        there are several levels, as ``-`` otherwise."""
        value = getattr(row, key)
        if key == "confidence_level":
            if value is None:
                return f"#{row.level}" if self._several else "-"
            return f"{value:g}"
        if key == self._label:
            return "(all)" if value is None else str(value)
        if key in self._text_keys:
            return str(value)
        if value is None:
            return "-"
        if key in self._fraction_keys:
            return f"{value:.3f}"
        return _number(value)

    def _title(self) -> str:
        levels = len(self.level_rows)
        parts = [_count(self.n, "sample", "samples"), _count(levels, "level", "levels")]
        for attribute, one, many in self._strata:
            # every stratum has one row per level
            count = len(getattr(self, attribute)) // levels
            if count:
                parts.append(_count(count, one, many))
        return ", ".join(parts)

    def _worst_lines(self) -> list[str]:
        reference = "nominal level" if self.confidence_level is not None else "overall coverage"
        lines = []
        for name in self._worst_kinds:
            label = getattr(self, f"worst_{name}")
            if label is None:
                continue
            labels = label if self._several else (label,)
            coverages = np.atleast_1d(np.asarray(getattr(self, f"worst_{name}_coverage")))
            gaps = np.atleast_1d(np.asarray(getattr(self, f"worst_{name}_gap")))
            for row, worst, cov, gap in zip(self.level_rows, labels, coverages, gaps, strict=True):
                level = self._format(row, "confidence_level")
                where = "" if level == "-" else f" at level {level}"
                lines.append(
                    f"worst {name}{where}: {worst} (coverage {cov:.3f}; gap to the {reference} "
                    f"{gap:+.3f})"
                )
        return lines

    def summary(self) -> str:
        """The report as a plain-text table.

        Returns
        -------
        text : str
            A title line, one line per row of :attr:`rows` (in that order), then one line per
            level for each worst stratum. See the Examples of the report class.
        """
        header = [title for _, title in self._columns]
        body = [[self._format(row, key) for key, _ in self._columns] for row in self.rows]
        widths = [max(len(line[j]) for line in [header, *body]) for j in range(len(header))]
        lines = [f"{type(self).__name__}: {self._title()}"]
        for line in [header, *body]:
            lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        return "\n".join(lines + self._worst_lines())

    def _repr_html_(self) -> str:
        """An HTML table for notebooks."""
        head = "".join(f"<th>{html.escape(title)}</th>" for _, title in self._columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(self._format(row, key))}</td>" for key, _ in self._columns)
            + "</tr>"
            for row in self.rows
        )
        notes = "".join(f"<p>{html.escape(line)}</p>" for line in self._worst_lines())
        return (
            f"<div><p><b>{type(self).__name__}</b>: {html.escape(self._title())}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</div>"
        )

    def to_frame(self) -> pd.DataFrame:
        """The rows as a tidy pandas DataFrame, one line per row of :attr:`rows`.

        The columns are the fields of the row type (:class:`IntervalRow` or :class:`SetRow`), in
        order. The stratum label (``group`` or ``stratum``) has object dtype, so labels stay as
        they are, and is ``None`` on the rows over all samples; a missing number (a level or a
        score that was not given) is NaN. The columns are the same with or without groups and
        levels, so reports of several methods or datasets can be concatenated. See the Examples
        of the report class.

        Returns
        -------
        frame : pandas.DataFrame of shape (len(rows), n_fields)

        Raises
        ------
        ImportError
            When pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_frame() needs pandas: pip install pandas") from None
        # A missing number is NaN, so every report has the same numeric columns and reports of
        # several methods concatenate; the label column keeps None for "all samples".
        records = [
            {
                key: math.nan if value is None and key != self._label else value
                for key, value in row._asdict().items()
            }
            for row in self.rows
        ]
        frame = pd.DataFrame.from_records(records, columns=list(self._row_type._fields))
        # object dtype keeps the labels as they are (ints stay ints next to the missing ones)
        frame[self._label] = pd.Series(
            [getattr(row, self._label) for row in self.rows], dtype=object
        )
        return frame
