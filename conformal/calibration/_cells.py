"""Mondrian cells: calibration points grouped by a taxonomy (a group, a class, a mask pattern).

A cell is the set of calibration points a test point is compared with: all of them (marginal
calibration), those of one group, of one class, or of one (group, class) pair. Labels are
encoded once; a test label never seen in calibration maps to the cell ``-1``, whose threshold is
infinite (Vovk et al. 2003; the crepes library calls the taxonomy a Mondrian categorizer).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..exceptions import warn_conformal

__all__ = ["MondrianCells", "plain"]


def plain(label: object) -> object:
    """A label as the user wrote it (``0``, not ``np.int64(0)``).

    Parameters
    ----------
    label : object
        A label, possibly a NumPy scalar.

    Returns
    -------
    object
        The Python scalar of a NumPy scalar, else ``label`` unchanged.
    """
    return label.item() if isinstance(label, np.generic) else label


def _has_nan(labels: NDArray) -> NDArray[np.bool_]:
    if labels.dtype.kind == "f":
        return np.isnan(labels)
    if labels.dtype.kind == "O":
        return np.array([isinstance(v, float) and v != v for v in labels], dtype=bool)
    return np.zeros(labels.shape, dtype=bool)


def check_labels(labels: ArrayLike, n: int, name: str, where: str = "") -> NDArray:
    """``labels`` as a 1-D array of ``n`` entries without NaN, or a ValueError naming them."""
    values = np.asarray(labels)
    if values.ndim != 1:
        raise ValueError(
            f"{name} must give one label per row: a 1-D array of {n} labels. Got shape "
            f"{values.shape} instead."
        )
    if values.shape[0] != n:
        raise ValueError(
            f"{name} has {values.shape[0]} entries; expected {n}, one label per row{where}."
        )
    nan = _has_nan(values)
    if nan.any():
        raise ValueError(
            f"{name} contains NaN at {int(nan.sum())} position(s) (first: index "
            f"{int(np.flatnonzero(nan)[0])}); NaN never equals itself, so it cannot name a "
            "Mondrian cell: give missing values a label of their own (e.g. -1 or 'missing')."
        )
    return values


class MondrianCells:
    """Calibration points encoded by cell.

    Parameters
    ----------
    labels : array-like of shape (n,)
        The cell label of each calibration point (any sortable labels, no NaN).
    name : str, default="groups"
        The parameter the labels came from, for error messages.
    unit : str, default="group"
        What a cell is, for warnings ("group", "class", "(group, class) pair").
    names : sequence of str, default=None
        Display name of each cell in the order of :attr:`known` (sorted labels); default
        ``"{unit} {label!r}"``.
    categories : array-like of shape (n_cells,), default=None
        The sorted labels of every cell, when cells may be empty (every class of a classifier,
        seen in calibration or not). ``None``: the distinct labels present.

    Attributes
    ----------
    known : ndarray of shape (n_cells,)
        The sorted distinct labels.
    codes : ndarray of int64 of shape (n,)
        The cell of each point, in ``[0, n_cells)``.
    counts : ndarray of int64 of shape (n_cells,)
    """

    def __init__(
        self,
        labels: ArrayLike,
        *,
        name: str = "groups",
        unit: str = "group",
        names: list[str] | None = None,
        categories: ArrayLike | None = None,
    ) -> None:
        values = np.asarray(labels)
        values = check_labels(values, values.shape[0] if values.ndim else 0, name)
        if categories is not None:
            # Every cell is known in advance (e.g. every class), empty ones included.
            self.known = np.asarray(categories)
            codes = np.searchsorted(self.known, values)
            if (
                values.size
                and not (self.known[np.minimum(codes, len(self.known) - 1)] == values).all()
            ):
                raise ValueError(f"{name} holds labels outside its categories.")
        else:
            try:
                self.known, codes = np.unique(values, return_inverse=True)
            except TypeError:
                kinds = sorted({type(v).__name__ for v in values})
                raise ValueError(
                    f"{name} labels cannot be sorted: they mix types ({kinds}); use labels of "
                    "one type."
                ) from None
        self.codes = codes.astype(np.int64).ravel()
        self.n_cells = int(self.known.shape[0])
        self.counts = np.bincount(self.codes, minlength=self.n_cells).astype(np.int64)
        self.name = name
        self.unit = unit
        self.names = names or [f"{unit} {plain(label)!r}" for label in self.known]

    def lookup(self, test_labels: ArrayLike, *, warn: bool = True) -> NDArray[np.int64]:
        """The cell of each test label (any shape), ``-1`` for labels never calibrated (with
        one :class:`~conformal.ConformalWarning` naming them).

        Parameters
        ----------
        test_labels : array-like of any shape
            Labels of the test points.
        warn : bool, default=True
            Whether to warn about labels never seen in calibration.

        Returns
        -------
        ndarray of int64, same shape as ``test_labels``
            Cell index of each label in ``[0, n_cells)``, or ``-1`` if never calibrated.

        Raises
        ------
        ValueError
            If a test label is NaN or cannot be compared with the calibration labels.
        """
        labels = np.asarray(test_labels)
        nan = _has_nan(labels.ravel())
        if nan.any():
            raise ValueError(
                f"{self.name} of the test rows contains NaN at {int(nan.sum())} position(s); "
                "give missing values a label of their own (e.g. -1 or 'missing')."
            )
        if self.n_cells == 0:
            position = np.zeros(labels.shape, dtype=np.int64)
            seen = np.zeros(labels.shape, dtype=bool)
        else:
            try:
                position = np.minimum(np.searchsorted(self.known, labels), self.n_cells - 1)
                seen = self.known[position] == labels
            except TypeError:
                raise ValueError(
                    f"{self.name} of the test rows cannot be compared with the calibration "
                    f"labels {[plain(v) for v in self.known[:5]]!r}: use labels of one type."
                ) from None
        codes = np.where(seen, position, -1).astype(np.int64)
        if warn and not np.all(seen):
            unseen = np.unique(labels[~seen])
            warn_conformal(
                f"test group(s) {[plain(u) for u in unseen[:5]]!r} have no calibration points; "
                "their intervals are infinite (calibrate on data that covers every group)"
            )
        return codes

    def describe(self, cell: int) -> str:
        """The display name of a cell (e.g. ``"group 'a'"``).

        Parameters
        ----------
        cell : int
            Cell index in ``[0, n_cells)``.

        Returns
        -------
        str
            The name of the cell, as given by ``names`` or built from its label.
        """
        return self.names[cell]
