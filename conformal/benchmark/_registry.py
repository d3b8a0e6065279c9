"""The method registry: named estimator factories, and the functions that add and find them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._tables import TASK_METRICS

#: ``factory(random_state) -> estimator``, or ``factory(random_state, confidence_level)`` for a
#: method registered with ``needs_level=True``.
Factory = Callable[..., Any]


@dataclass(frozen=True)
class Method:
    """A registered benchmark method.

    Each parameter is stored as the attribute of that name.

    Parameters
    ----------
    name : str
        The name used on the command line and in result tables.
    factory : callable
        ``factory(random_state) -> estimator``, an unfitted estimator with ``predict_interval``
        (regression) or ``predict_set`` (classification); with ``needs_level``,
        ``factory(random_state, confidence_level)``.
    description : str
        One line saying what the method is (written into ``summary.md``).
    task : str
        A key of :data:`TASK_METRICS`: the kind of data and scoring the method needs.
    default : bool
        Part of the default set that ``run_benchmark(methods=None)`` and the CLI run.
    needs_level : bool
        The estimator must be built for the target level, because ``fit`` depends on it (CQR
        fits one pair of quantile models per construction-time level).
    on_request : bool
        Run only when named: left out of a task's methods when ``--task`` runs them all (a
        costly variant, e.g. CV+ around an aggregator).
    """

    name: str
    factory: Factory
    description: str = ""
    task: str = "regression"
    default: bool = False
    needs_level: bool = False
    on_request: bool = False

    def build(self, random_state: int, confidence_level: float) -> Any:
        """An unfitted estimator for one run, seeded, and built for the level if it needs it.

        Parameters
        ----------
        random_state : int
            The run's seed.
        confidence_level : float
            The run's target coverage; passed on only when :attr:`needs_level` is set.

        Returns
        -------
        estimator
            What the factory returns.
        """
        if self.needs_level:
            return self.factory(random_state, confidence_level)
        return self.factory(random_state)


_REGISTRY: dict[str, Method] = {}


def register_method(
    name: str,
    factory: Factory | None = None,
    *,
    description: str = "",
    task: str = "regression",
    default: bool = False,
    needs_level: bool = False,
    on_request: bool = False,
    replace: bool = False,
) -> Any:
    """Add a method to the registry; usable as a decorator or as a plain call.

    Parameters
    ----------
    name : str
        Unique name of the method.
    factory : callable, default=None
        ``factory(random_state) -> estimator``. ``None`` returns a decorator taking it.
    description : str, default=""
        One line for reports.
    task : {"regression", "classification", "timeseries"}, default="regression"
        Kind of data the method runs on (a key of :data:`TASK_METRICS`): a method only runs on
        datasets of its task. A time-series method is a regressor walked forward through the
        test period: with ``partial_fit`` it learns each outcome after predicting it, without
        it is refitted on the rows seen before each tenth of the period.
    default : bool, default=False
        Whether the method is in the default set.
    needs_level : bool, default=False
        Call the factory as ``factory(random_state, confidence_level)``, for estimators whose
        ``fit`` depends on the level they are built with (CQR).
    on_request : bool, default=False
        Run the method only when it is named: ``--task`` without ``--methods`` leaves it out.
    replace : bool, default=False
        Allow overwriting a method of the same name.

    Returns
    -------
    factory or decorator
        The factory, unchanged (so decorated functions stay usable).

    Raises
    ------
    ValueError
        If ``task`` is unknown, or ``name`` is taken and ``replace`` is false.
    """
    if task not in TASK_METRICS:
        raise ValueError(f"Unknown task {task!r}. Valid tasks are {sorted(TASK_METRICS)}.")

    def add(func: Factory) -> Factory:
        if name in _REGISTRY and not replace:
            raise ValueError(
                f"A benchmark method named {name!r} is already registered; pass replace=True "
                "to overwrite it or choose another name."
            )
        _REGISTRY[name] = Method(name, func, description, task, default, needs_level, on_request)
        return func

    return add if factory is None else add(factory)


def list_methods(*, default_only: bool = False) -> list[str]:
    """Names of the registered methods, in registration order.

    Parameters
    ----------
    default_only : bool, default=False
        Only the methods of the default set.

    Returns
    -------
    names : list of str
    """
    return [m.name for m in _REGISTRY.values() if m.default or not default_only]


def get_method(name: str) -> Method:
    """The registered method called ``name``.

    Parameters
    ----------
    name : str
        A registered method (see :func:`list_methods`).

    Returns
    -------
    Method
        Its registry entry.

    Raises
    ------
    ValueError
        If no method has that name; the message lists the valid names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"Unknown benchmark method {name!r}. Valid names are {list_methods()}."
        ) from None
